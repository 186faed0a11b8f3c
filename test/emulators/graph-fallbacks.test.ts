import { describe, expect, it } from 'vitest';
import type { PrivateCloud } from '../../emulators/index';
import { CROSS_TENANT_SYNC_TEMPLATE_ID } from '../../emulators/jobs';
import { validateScenario, type Scenario } from '../../emulators/scenario';
import { failure, graphError, graphFor, runPrivateCloud } from './graph-clients';

/**
 * What a reader of Graph must survive and the emulator can now play on demand: the provisioning logs
 * without permission or licence, a secrets read refused in four ways (also inside $batch), a status
 * filter Graph refuses or ignores, a $top it refuses, and events that arrive late.
 */

const CONTOSO = '0d0d2f1e-1111-4a4a-8b8b-000000000001';
const NO_AUDIT = '0d0d2f1e-2222-4a4a-8b8b-000000000002';
const FREE = '0d0d2f1e-3333-4a4a-8b8b-000000000003';
const SP = '5d5d5d5d-0000-4000-8000-000000000001';
const SP_REFUSED = '5d5d5d5d-0000-4000-8000-000000000002';
const JOB = 'Azure2Azure.0d0d2f1e11114a4a8b8b000000000001.9d9d9d9d-0000-4000-8000-000000000001';
const JOB_2 = 'Azure2Azure.0d0d2f1e11114a4a8b8b000000000001.9d9d9d9d-0000-4000-8000-000000000002';
const ALL_GRANTS = ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'];

const sp = (id: string, jobId: string, extra: Record<string, unknown> = {}) => ({
  id,
  appId: id.replace(/^5d/, '6d'),
  displayName: `Fabrikam ${id.slice(-1)}`,
  applicationTemplateId: CROSS_TENANT_SYNC_TEMPLATE_ID,
  jobs: [{ id: jobId, templateId: 'Azure2Azure', state: 'healthy' as const }],
  ...extra,
});

const scenario: Scenario = {
  name: 'fallbacks',
  app: { clientId: 'c4c4c4c4-0000-4000-8000-00000000c11e', clientSecret: 'fallbacks-secret~123' },
  reportsRateLimit: { requests: 1000, windowSeconds: 1 },
  tenants: [
    {
      id: CONTOSO,
      displayName: 'Contoso',
      grants: ALL_GRANTS,
      licence: 'p2',
      servicePrincipals: [sp(SP, JOB), sp(SP_REFUSED, JOB_2, { secretsPolicy: '403' })],
      provisioningEvents: [
        { job: JOB, count: 5, status: 'failure', errorCode: 'EntryConflict', minutesAgo: 2, spreadMinutes: 4 },
        { job: JOB, count: 3, status: 'success', minutesAgo: 1 },
      ],
    },
    {
      id: NO_AUDIT,
      displayName: 'Litware',
      grants: ['Application.Read.All', 'Synchronization.Read.All'],
      servicePrincipals: [],
    },
    { id: FREE, displayName: 'Tailspin', grants: ALL_GRANTS, licence: 'free', servicePrincipals: [] },
  ],
  timeline: [
    {
      name: 'secrets-closed',
      changes: [{ tenant: CONTOSO, secretsPolicy: '404' }],
    },
    {
      name: 'late-events',
      description: 'Graph delivers events that happened 40 minutes ago',
      changes: [{ tenant: CONTOSO, provisioningEvents: [{ job: JOB, count: 4, status: 'failure', minutesAgo: 40 }] }],
    },
    { name: 'filters-ignored', changes: [{ tenant: CONTOSO, provisioningLogs: { statusFilter: 'ignored' } }] },
    { name: 'licence-lapsed', changes: [{ tenant: CONTOSO, licence: 'free' }] },
  ],
};

let cloud: PrivateCloud;
runPrivateCloud(scenario, (started) => (cloud = started));

const control = async (path: string, body: unknown) => {
  const response = await fetch(`${cloud.graphEndpoint}/_emulator/${path}`, {
    method: 'PUT',
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const logs = (tenantId: string, query = '') => graphFor(cloud, tenantId).api(`/auditLogs/provisioning${query}`).get();
const statuses = (page: { value: Array<{ provisioningStatusInfo: { status: string } }> }) =>
  [...new Set(page.value.map((e) => e.provisioningStatusInfo.status))].sort();

describe('provisioning logs without permission or licence', () => {
  it("answers Graph's own 403 without AuditLog.Read.All", async () => {
    expect(failure(await graphError(logs(NO_AUDIT)))).toEqual({
      status: 403,
      code: 'Authentication_MSGraphPermissionMissing',
      message: 'Calling principal does not have required MSGraph permissions AuditLog.Read.All',
    });
  });

  it('answers the licence 403 for a free tenant, and follows the licence set by scenario, control and timeline', async () => {
    const licence403 = {
      status: 403,
      code: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant',
      message: "Neither tenant is B2C or tenant doesn't have premium license",
    };
    expect(failure(await graphError(logs(FREE)))).toEqual(licence403);
    expect(await control(`licence/${FREE}`, { licence: 'p1' })).toMatchObject({ status: 200 });
    expect((await logs(FREE)).value).toEqual([]);
    expect(await control(`licence/${FREE}`, { licence: 'p3' })).toMatchObject({
      status: 400,
      body: { error: { message: 'licence: expected one of free, p1, p2, got "p3"' } },
    });
    expect((await logs(CONTOSO)).value).toHaveLength(8);
    cloud.control.step('licence-lapsed');
    expect(failure(await graphError(logs(CONTOSO)))).toEqual(licence403);
    cloud.control.setPremium(CONTOSO, true);
    expect((await logs(CONTOSO)).value).toHaveLength(8);
  });

  it('validates the licence field, naming it', () => {
    const withTenant = (extra: Record<string, unknown>) =>
      validateScenario({ ...scenario, tenants: [{ ...scenario.tenants[0]!, ...extra }], timeline: [] });
    expect(() => withTenant({ licence: 'enterprise' })).toThrow(
      'tenants[0].licence: expected one of free, p1, p2, got "enterprise"',
    );
    expect(() => withTenant({ licence: 'free', premium: true })).toThrow(
      'tenants[0].premium: true contradicts licence free (give one of them)',
    );
  });
});

describe('synchronization secrets by policy', () => {
  const secretsOf = (spId: string) => `/servicePrincipals/${spId}/synchronization/secrets`;
  const REFUSALS = {
    '403': {
      status: 403,
      code: 'Authorization_RequestDenied',
      message: 'Insufficient privileges to complete the operation.',
    },
    '404': { status: 404, code: 'ResourceNotFound', message: "Resource not found for the segment 'secrets'." },
    '400': { status: 400, code: 'BadRequest', message: "Resource not found for the segment 'secrets'." },
  } as const;

  /** The same read inside a $batch: the sub-response's status, code and message. */
  async function inBatch(spId: string): Promise<{ status: number; code?: string; message?: string }> {
    const answer = (await graphFor(cloud, CONTOSO)
      .api('/$batch')
      .post({ requests: [{ id: '1', method: 'GET', url: secretsOf(spId) }] })) as {
      responses: Array<{ status: number; body: { error?: { code: string; message: string } } }>;
    };
    const [response] = answer.responses;
    return response!.body.error
      ? { status: response!.status, code: response!.body.error.code, message: response!.body.error.message }
      : { status: response!.status };
  }

  it('lists the secrets when allowed, at the top level and in $batch', async () => {
    const secrets = await graphFor(cloud, CONTOSO).api(secretsOf(SP)).get();
    expect(secrets.value.map((s: { key: string }) => s.key)).toEqual(['SyncNotificationSettings']);
    expect(await inBatch(SP)).toEqual({ status: 200 });
  });

  it('refuses with 403, 404 or 400 by tenant policy, the same inside $batch', async () => {
    for (const policy of ['403', '404', '400'] as const) {
      expect(await control(`secrets-policy/${CONTOSO}`, { policy })).toMatchObject({ status: 200 });
      expect(failure(await graphError(graphFor(cloud, CONTOSO).api(secretsOf(SP)).get()))).toEqual(REFUSALS[policy]);
      expect(await inBatch(SP)).toEqual(REFUSALS[policy]);
    }
    cloud.control.setSecretsPolicy(CONTOSO, 'allowed');
    expect(await inBatch(SP)).toEqual({ status: 200 });
  });

  it("lets a service principal's policy override its tenant's, and null hand it back", async () => {
    expect(await inBatch(SP_REFUSED)).toEqual(REFUSALS['403']);
    cloud.control.setSecretsPolicy(CONTOSO, '400');
    expect(await inBatch(SP_REFUSED)).toEqual(REFUSALS['403']);
    expect(await control(`secrets-policy/${CONTOSO}/${SP_REFUSED}`, { policy: null })).toMatchObject({ status: 200 });
    expect(await inBatch(SP_REFUSED)).toEqual(REFUSALS['400']);
    cloud.control.step('secrets-closed');
    expect(await inBatch(SP)).toEqual(REFUSALS['404']);
    expect(await control(`secrets-policy/${CONTOSO}`, { policy: 'maybe' })).toMatchObject({ status: 400 });
  });
});

describe('provisioning-log fallbacks', () => {
  const FAILURES = "?$filter=provisioningStatusInfo/status eq 'failure'";

  it('refuses the status filter with 400 Invalid filter clause, and still runs the other filters', async () => {
    cloud.control.setProvisioningLogModes(CONTOSO, { statusFilter: 'refused' });
    expect(failure(await graphError(logs(CONTOSO, FAILURES)))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: 'Invalid filter clause',
    });
    expect(failure(await graphError(logs(CONTOSO, `${FAILURES} and jobId eq '${JOB}'`)))).toMatchObject({
      status: 400,
    });
    expect((await logs(CONTOSO, `?$filter=jobId eq '${JOB}'`)).value).toHaveLength(8);
  });

  it('ignores the status filter on demand: events of every status come back', async () => {
    expect(statuses(await logs(CONTOSO, FAILURES))).toEqual(['failure']);
    cloud.control.step('filters-ignored');
    const page = await logs(CONTOSO, FAILURES);
    expect(page.value).toHaveLength(8);
    expect(statuses(page)).toEqual(['failure', 'success']);
  });

  it('refuses $top with 400 on demand, and pages at the default size without it', async () => {
    cloud.control.addProvisioningEvents(CONTOSO, [{ job: JOB, count: 60, minutesAgo: 3 }]);
    expect(await control(`provisioning-modes/${CONTOSO}`, { top: 'refused' })).toMatchObject({ status: 200 });
    expect(failure(await graphError(logs(CONTOSO, '?$top=20')))).toEqual({
      status: 400,
      code: 'BadRequest',
      message:
        "Query option 'Top' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.",
    });
    const first = await logs(CONTOSO);
    expect(first.value).toHaveLength(50);
    expect(first['@odata.nextLink']).toMatch(/\$skiptoken=/);
    expect(new URL(first['@odata.nextLink']).searchParams.has('$top')).toBe(false);
    const second = await graphFor(cloud, CONTOSO).api(first['@odata.nextLink']).get();
    expect(second.value).toHaveLength(18);
    expect(await control(`provisioning-modes/${CONTOSO}`, { top: 'sometimes' })).toMatchObject({
      status: 400,
      body: { error: { message: 'provisioningLogs.top: expected one of supported, refused, got "sometimes"' } },
    });
  });

  it('delivers late events: timestamped 40 minutes back, visible only once their step is applied', async () => {
    const start = cloud.control.now();
    const since = (minutes: number) =>
      logs(CONTOSO, `${FAILURES} and activityDateTime gt ${new Date(start - minutes * 60_000).toISOString()}`);
    expect((await since(45)).value).toHaveLength(5); // before the step: only the scenario's own failures
    cloud.control.step('late-events');
    const appliedAt = cloud.control.now();
    const narrow = await since(10); // a reader whose watermark passed 10 minutes ago
    expect(narrow.value).toHaveLength(5);
    const wide = await since(45); // a reader that looks back 45 minutes
    expect(wide.value).toHaveLength(9);
    const late = wide.value.filter(
      (e: { activityDateTime: string }) => Math.round((appliedAt - Date.parse(e.activityDateTime)) / 60_000) === 40,
    );
    expect(late).toHaveLength(4);
  });
});
