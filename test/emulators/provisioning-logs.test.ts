import { ClientSecretCredential } from '@azure/identity';
import { LogsQueryClient } from '@azure/monitor-query-logs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPrivateCloud, type PrivateCloud } from '../../emulators/index';
import { CROSS_TENANT_SYNC_TEMPLATE_ID } from '../../emulators/jobs';
import { validateScenario, type Scenario } from '../../emulators/scenario';

const CONTOSO = '0c0c2f1e-1111-4a4a-8b8b-000000000001';
const NO_AUDIT = '0c0c2f1e-2222-4a4a-8b8b-000000000002';
const FREE = '0c0c2f1e-3333-4a4a-8b8b-000000000003';
const WORKSPACE = '7a7a7a7a-0000-4000-8000-000000000001';
const SP = '5b5b5b5b-0000-4000-8000-000000000001';
const JOB = 'Azure2Azure.0c0c2f1e11114a4a8b8b000000000001.9f9f9f9f-0000-4000-8000-000000000001';

const tenant = (id: string, grants: string[], extra: Partial<Scenario['tenants'][number]> = {}) => ({
  id,
  displayName: id === CONTOSO ? 'Contoso' : 'Other',
  grants,
  servicePrincipals: [
    {
      id: id === CONTOSO ? SP : id.replace(/^0c0c2f1e/, '5b5b5b5b'),
      appId: id.replace(/^0c0c2f1e/, '6c6c6c6c'),
      displayName: 'Fabrikam to Contoso',
      applicationTemplateId: CROSS_TENANT_SYNC_TEMPLATE_ID,
      jobs: [{ id: id === CONTOSO ? JOB : `Azure2Azure.${id}`, templateId: 'Azure2Azure', state: 'healthy' as const }],
    },
  ],
  ...extra,
});

const scenario: Scenario = {
  name: 'logs',
  app: { clientId: 'c2c2c2c2-0000-4000-8000-00000000c11e', clientSecret: 'logs-secret~123' },
  reportsRateLimit: { requests: 5, windowSeconds: 2 },
  logAnalytics: { workspaceId: WORKSPACE },
  tenants: [
    tenant(CONTOSO, ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'], {
      provisioningEvents: [
        { job: JOB, count: 7, status: 'failure', errorCode: 'InvalidAnchor', minutesAgo: 10, spreadMinutes: 6 },
        { job: JOB, count: 3, status: 'success', action: 'update', minutesAgo: 2, spreadMinutes: 0 },
        {
          job: JOB,
          count: 4,
          action: 'stagedDelete',
          names: ['Adele Vance', 'Alex Wilber', 'Allan Deyoung', 'Christie Cline'],
          minutesAgo: 1,
        },
      ],
    }),
    tenant(NO_AUDIT, ['Application.Read.All', 'Synchronization.Read.All']),
    tenant(FREE, ['AuditLog.Read.All'], { premium: false }),
  ],
};

let cloud: PrivateCloud;

beforeAll(async () => {
  cloud = await startPrivateCloud({ scenario });
});
afterAll(async () => {
  await cloud?.stop();
});
beforeEach(() => {
  cloud.control.reset(); // also clears the reports limit's window
  cloud.logAnalytics.reset();
});

function credential(tenantId: string): ClientSecretCredential {
  return new ClientSecretCredential(tenantId, cloud.clientId, cloud.clientSecret, {
    authorityHost: cloud.authorityHost,
    disableInstanceDiscovery: true,
  });
}

async function get(
  tenantId: string,
  path: string,
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const token = (await credential(tenantId).getToken(`${cloud.graphEndpoint}/.default`))!.token;
  const url = path.startsWith('https://') ? path : `${cloud.graphEndpoint}/v1.0${path}`;
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

type Event = Record<string, unknown> & {
  provisioningStatusInfo: { status: string; errorInformation: Record<string, unknown> | null };
  activityDateTime: string;
};

describe('Graph /auditLogs/provisioning', () => {
  it('serves provisioningObjectSummary as v1.0 documents it', async () => {
    const { status, body } = await get(
      CONTOSO,
      "/auditLogs/provisioning?$filter=provisioningStatusInfo/status eq 'failure'&$top=1",
    );
    expect(status).toBe(200);
    const [event] = body.value as Event[];
    expect(Object.keys(event!).sort()).toEqual(
      [
        'activityDateTime',
        'changeId',
        'cycleId',
        'durationInMilliseconds',
        'id',
        'initiatedBy',
        'jobId',
        'modifiedProperties',
        'provisioningAction',
        'provisioningStatusInfo',
        'provisioningSteps',
        'servicePrincipal',
        'sourceIdentity',
        'sourceSystem',
        'targetIdentity',
        'targetSystem',
        'tenantId',
      ].sort(),
    );
    expect(event).toMatchObject({
      jobId: JOB,
      tenantId: CONTOSO,
      provisioningAction: 'create',
      servicePrincipal: { id: SP, displayName: 'Fabrikam to Contoso' },
      initiatedBy: { initiatorType: 'system' },
      provisioningStatusInfo: {
        status: 'failure',
        errorInformation: { errorCode: 'InvalidAnchor', errorCategory: 'nonServiceFailure', additionalDetails: null },
      },
    });
    expect(event!.activityDateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/);
    expect(
      (event!.provisioningSteps as { provisioningStepType: string; status: string }[]).map(
        (s) => `${s.provisioningStepType}:${s.status}`,
      ),
    ).toEqual(['import:success', 'scoping:success', 'export:failure']);
  });

  it('filters case-sensitively on the documented attributes', async () => {
    expect(
      (
        (await get(CONTOSO, "/auditLogs/provisioning?$filter=provisioningStatusInfo/status eq 'Failure'")).body
          .value as unknown[]
      ).length,
    ).toBe(0);
    expect(
      (
        (await get(CONTOSO, "/auditLogs/provisioning?$filter=provisioningAction eq 'stagedDelete'")).body
          .value as unknown[]
      ).length,
    ).toBe(4);
    expect(
      (
        (
          await get(
            CONTOSO,
            `/auditLogs/provisioning?$filter=contains(jobId,'${JOB.slice(0, 20)}') and provisioningStatusInfo/status eq 'success'`,
          )
        ).body.value as unknown[]
      ).length,
    ).toBe(3);
  });

  it('orders by activityDateTime and pages with an opaque $skiptoken in an absolute nextLink', async () => {
    const seen: Event[] = [];
    let next: string | undefined =
      `/auditLogs/provisioning?$filter=jobId eq '${JOB}' and activityDateTime gt 2020-01-01T00:00:00Z&$orderby=activityDateTime asc&$top=5`;
    while (next) {
      const page = await get(CONTOSO, next);
      seen.push(...(page.body.value as Event[]));
      next = page.body['@odata.nextLink'] as string | undefined;
      if (next) {
        expect(next.startsWith(`${cloud.graphEndpoint}/v1.0/auditLogs/provisioning?`)).toBe(true);
        expect(new URL(next).searchParams.get('$skiptoken')).toMatch(/^[A-Za-z0-9_-]+$/);
      }
    }
    expect(seen).toHaveLength(14);
    expect(new Set(seen.map((e) => e.id)).size).toBe(14);
    const times = seen.map((e) => Date.parse(e.activityDateTime));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const desc = await get(CONTOSO, '/auditLogs/provisioning?$orderby=activityDateTime desc&$top=1');
    expect(Date.parse((desc.body.value as Event[])[0]!.activityDateTime)).toBe(Math.max(...times));
  });

  it('refuses what Graph refuses', async () => {
    expect(await get(CONTOSO, "/auditLogs/provisioning?$filter=displayName eq 'x'")).toMatchObject({
      status: 400,
      body: { error: { code: 'BadRequest' } },
    });
    expect(await get(CONTOSO, '/auditLogs/provisioning?$orderby=jobId')).toMatchObject({ status: 400 });
    expect(await get(CONTOSO, '/auditLogs/provisioning?$top=1001')).toMatchObject({ status: 400 });
    expect(await get(CONTOSO, '/auditLogs/provisioning?$skiptoken=bogus')).toMatchObject({ status: 400 });
  });

  it('answers 403 without AuditLog.Read.All, and 403 naming the licence without P1/P2', async () => {
    expect(await get(NO_AUDIT, '/auditLogs/provisioning')).toMatchObject({
      status: 403,
      body: {
        error: {
          code: 'Authentication_MSGraphPermissionMissing',
          message: 'Calling principal does not have required MSGraph permissions AuditLog.Read.All',
        },
      },
    });
    expect(await get(FREE, '/auditLogs/provisioning')).toMatchObject({
      status: 403,
      body: { error: { code: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant' } },
    });
  });

  it('answers 429 with Retry-After past the reports limit, per tenant', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const r = await get(CONTOSO, '/auditLogs/provisioning?$top=1');
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        expect(r.body).toMatchObject({ error: { code: 'TooManyRequests' } });
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await get(NO_AUDIT, '/servicePrincipals')).status).toBe(200);
  });

  it('adds events from the control API and from a timeline change', async () => {
    const response = await fetch(`${cloud.graphEndpoint}/_emulator/provisioning/${CONTOSO}`, {
      method: 'POST',
      body: JSON.stringify([{ job: JOB, count: 2, status: 'failure', errorCode: 'Timeout' }]),
    });
    expect(await response.json()).toEqual({ added: 2 });
    const bad = await fetch(`${cloud.graphEndpoint}/_emulator/provisioning/${CONTOSO}`, {
      method: 'POST',
      body: JSON.stringify([{ job: 'nope' }]),
    });
    expect(bad.status).toBe(400);
    expect(() =>
      validateScenario({
        ...scenario,
        timeline: [{ name: 's', changes: [{ tenant: CONTOSO, provisioningEvents: [{ job: JOB, status: 'broken' }] }] }],
      }),
    ).toThrow(
      'timeline[0].changes[0].provisioningEvents[0].status: expected one of success, failure, skipped, warning',
    );
  });
});

describe('Log Analytics', () => {
  function client(): LogsQueryClient {
    return new LogsQueryClient(credential(CONTOSO), {
      endpoint: `${cloud.logAnalytics.endpoint}/v1`,
      retryOptions: { maxRetries: 0 },
    });
  }

  it('answers the query API with AADProvisioningLogs rows through the real LogsQueryClient', async () => {
    const result = await client().queryWorkspace(
      WORKSPACE,
      'AADProvisioningLogs | where ResultType == "Failure" | summarize Failures = count() by ResultSignature, JobId',
      { duration: 'PT1H' },
    );
    expect(result.status).toBe('Success');
    if (result.status !== 'Success') return;
    expect(result.tables[0]?.columnDescriptors.map((c) => `${c.name}:${c.type}`)).toEqual([
      'ResultSignature:string',
      'JobId:string',
      'Failures:long',
    ]);
    expect(result.tables[0]?.rows).toEqual([['InvalidAnchor', JOB, 7]]);
    const rows = await client().queryWorkspace(
      WORKSPACE,
      'AADProvisioningLogs | where Action == "StagedDelete" | take 1',
      { duration: 'PT1H' },
    );
    if (rows.status !== 'Success') throw new Error('expected success');
    const names = rows.tables[0]!.columnDescriptors.map((c) => c.name);
    for (const column of [
      'AADTenantId',
      'ChangeId',
      'CycleId',
      'DurationMs',
      'Id',
      'JobId',
      'ProvisioningAction',
      'Action',
      'ProvisioningStatusInfo',
      'ResultSignature',
      'ResultType',
      'ServicePrincipal',
      'SourceIdentity',
      'TenantId',
      'TimeGenerated',
      'Type',
    ])
      expect(names).toContain(column);
    const row = Object.fromEntries(names.map((n, i) => [n, rows.tables[0]!.rows[0]![i]]));
    expect(row).toMatchObject({
      AADTenantId: CONTOSO,
      TenantId: WORKSPACE,
      ProvisioningAction: 'StagedDelete',
      ResultType: 'Skipped',
      Type: 'AADProvisioningLogs',
    });
    expect(row.TimeGenerated).toBeInstanceOf(Date);
    expect(JSON.parse(row.SourceIdentity as string)).toMatchObject({
      displayName: expect.any(String),
      identityType: 'User',
    });
  });

  it("answers a partial result, throttling and refused queries in Log Analytics' shapes", async () => {
    cloud.logAnalytics.injectFault({ kind: 'partial' });
    const partial = await client().queryWorkspace(WORKSPACE, 'AADProvisioningLogs | take 10', { duration: 'PT1H' });
    expect(partial.status).toBe('PartialFailure');
    cloud.logAnalytics.injectFault({ status: 429, retryAfterSeconds: 0 });
    await expect(client().queryWorkspace(WORKSPACE, 'AADProvisioningLogs', { duration: 'PT1H' })).rejects.toMatchObject(
      { statusCode: 429 },
    );
    await expect(
      client().queryWorkspace(WORKSPACE, 'AADProvisioningLogs | render timechart', { duration: 'PT1H' }),
    ).rejects.toMatchObject({ statusCode: 400 });
    await expect(client().queryWorkspace(WORKSPACE, 'SigninLogs | take 1', { duration: 'PT1H' })).rejects.toMatchObject(
      { statusCode: 400 },
    );
    await expect(
      client().queryWorkspace('00000000-0000-4000-8000-000000000000', 'AADProvisioningLogs', { duration: 'PT1H' }),
    ).rejects.toMatchObject({ statusCode: 404 });
    expect(cloud.logAnalytics.queries().map((q) => q.status)).toEqual([200, 429, 400, 400]);
  });

  it('names KQL outside its subset EmulatorUnsupported, apart from the BadArgumentError of a real syntax error', async () => {
    const refusal = async (query: string) => {
      try {
        await client().queryWorkspace(WORKSPACE, query, { duration: 'PT1H' });
      } catch (error) {
        // The SDK's RestError: `code` is the envelope's, `details` the parsed body.
        const e = error as { name: string; statusCode: number; code: string; details?: unknown };
        return { name: e.name, statusCode: e.statusCode, code: e.code, body: e.details };
      }
      throw new Error(`expected ${query} to be refused`);
    };
    expect(await refusal('AADProvisioningLogs | render timechart')).toMatchObject({
      name: 'RestError',
      statusCode: 400,
      code: 'EmulatorUnsupported',
      body: {
        error: {
          code: 'EmulatorUnsupported',
          innererror: {
            code: 'EmulatorUnsupported',
            message: expect.stringMatching(/^The query uses KQL the emulator does not run\. .*'render' operator/),
          },
        },
      },
    });
    expect(await refusal('AADProvisioningLogs | where ResultType == ')).toMatchObject({
      name: 'RestError',
      statusCode: 400,
      code: 'BadArgumentError',
      body: {
        error: {
          code: 'BadArgumentError',
          message: 'The request had some invalid properties',
          innererror: {
            code: 'SyntaxError',
            message: expect.stringMatching(/^A recognition error occurred in the query\. Query could not be parsed at/),
          },
        },
      },
    });
    expect(await refusal('AADProvisioningLogs | where Nope == 1')).toMatchObject({
      code: 'BadArgumentError',
      body: { error: { innererror: { code: 'SemanticError' } } },
    });
  });

  it('wants a token for https://api.loganalytics.io and the reader role', async () => {
    const wrongAudience = new LogsQueryClient(credential(CONTOSO), {
      endpoint: `${cloud.logAnalytics.endpoint}/v1`,
      credentials: { scopes: [`${cloud.graphEndpoint}/.default`] },
      retryOptions: { maxRetries: 0 },
    });
    await expect(
      wrongAudience.queryWorkspace(WORKSPACE, 'AADProvisioningLogs', { duration: 'PT1H' }),
    ).rejects.toMatchObject({ statusCode: 401 });
    const noToken = await fetch(`${cloud.logAnalytics.endpoint}/v1/workspaces/${WORKSPACE}/query`, {
      method: 'POST',
      body: '{"query":"AADProvisioningLogs"}',
    });
    expect(noToken.status).toBe(401);
    cloud.logAnalytics.setReaderAccess(false);
    await expect(client().queryWorkspace(WORKSPACE, 'AADProvisioningLogs', { duration: 'PT1H' })).rejects.toMatchObject(
      { statusCode: 403 },
    );
  });
});
