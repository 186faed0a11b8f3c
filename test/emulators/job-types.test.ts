import { ClientSecretCredential } from '@azure/identity';
import { Client, GraphError, type PageCollection } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPrivateCloud, type PrivateCloud } from '../../emulators/index';
import {
  buildJob,
  CLOUD_SYNC_TEMPLATE_ID,
  CROSS_TENANT_SYNC_TEMPLATE_ID,
  CUSTOM_SCIM_TEMPLATE_ID,
  DISABLED_INTERVAL,
  SENTINEL_TIME,
} from '../../emulators/jobs';
import { validateScenario, type Scenario } from '../../emulators/scenario';

/**
 * The Graph emulator serves every provisioning job type (cross-tenant, gallery and custom SCIM,
 * HR inbound, Entra Cloud Sync) in every state the detection rules read, the synchronization
 * secrets, and advanced service principal queries the way Graph does (reference §1, §1.12, §1.14).
 */

const TENANT = '0b0c2f1e-5555-4a4a-8b8b-000000000005';
const LIMITED = '0b0c2f1e-6666-4a4a-8b8b-000000000006';
const CLOUD_SYNC_SP = '7a7a7a7a-0000-4000-8000-000000000001';
const SCIM_SP = '7a7a7a7a-0000-4000-8000-000000000002';
const A2A_SP = '7a7a7a7a-0000-4000-8000-000000000003';
const HR_SP = '7a7a7a7a-0000-4000-8000-000000000004';

const scenario: Scenario = {
  name: 'job types',
  app: { clientId: 'c1c1c1c1-0000-4000-8000-00000000c12e', clientSecret: 'test-secret~456' },
  tenants: [
    {
      id: TENANT,
      displayName: 'Fourth Coffee',
      grants: ['Application.Read.All', 'Synchronization.Read.All'],
      servicePrincipals: [
        {
          id: CLOUD_SYNC_SP,
          appId: '8a8a8a8a-0000-4000-8000-000000000001',
          displayName: 'fourthcoffee.local',
          applicationTemplateId: CLOUD_SYNC_TEMPLATE_ID,
          jobs: [
            {
              id: 'AD2AADProvisioning.fc96887f36da47508c935c28a0c0b6da',
              templateId: 'AD2AADProvisioning',
              state: 'stalled',
              lastRunAgo: '5h',
            },
            {
              id: 'AD2AADPasswordHash.fc96887f36da47508c935c28a0c0b6da',
              templateId: 'AD2AADPasswordHash',
              state: 'healthy',
            },
            {
              id: 'AAD2ADExchangeHybridWriteback.fc96887f36da47508c935c28a0c0b6da',
              templateId: 'AAD2ADExchangeHybridWriteback',
              state: 'created',
            },
          ],
        },
        {
          id: SCIM_SP,
          appId: '8a8a8a8a-0000-4000-8000-000000000002',
          displayName: 'Acme SCIM',
          applicationTemplateId: CUSTOM_SCIM_TEMPLATE_ID,
          jobs: [{ id: 'scim.7a7a.1', templateId: 'scim', state: 'failing', escrowed: 12 }],
          secrets: {
            BaseAddress: 'https://scim.acme.example/v2',
            SecretToken: 'a-real-looking-token',
            SyncNotificationSettings: {
              Enabled: false,
              Recipients: '',
              DeleteThresholdEnabled: true,
              DeleteThresholdValue: 500,
            },
            TokenExpiration: 'now+10d',
          },
        },
        {
          id: A2A_SP,
          appId: '8a8a8a8a-0000-4000-8000-000000000003',
          displayName: 'Fabrikam to Fourth Coffee',
          applicationTemplateId: CROSS_TENANT_SYNC_TEMPLATE_ID,
          jobs: [
            {
              id: 'Azure2Azure.7a7a.1',
              templateId: 'Azure2Azure',
              state: 'disabled',
              quarantine: {
                reason: 'EncounteredQuarantineException',
                errorCode: 'AzureDirectoryB2BManagementPolicyCheckFailure',
              },
            },
          ],
        },
        {
          id: HR_SP,
          appId: '8a8a8a8a-0000-4000-8000-000000000004',
          displayName: 'Workday to Entra ID',
          applicationTemplateId: 'd1d1d1d1-0000-4000-8000-00000000aaaa',
          jobs: [{ id: 'Workday2AAD.7a7a.1', templateId: 'Workday2AAD', state: 'healthy' }],
        },
      ],
      generated: { count: 0, plainApps: 30, ssoApps: 5 },
    },
    { id: LIMITED, displayName: 'Limited', grants: ['Application.Read.All'], servicePrincipals: [] },
  ],
};

let cloud: PrivateCloud;
beforeAll(async () => {
  cloud = await startPrivateCloud({ scenario });
});
afterAll(() => cloud?.stop());
beforeEach(() => cloud.control.reset());

function graph(tenantId = TENANT): Client {
  return Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(
      new ClientSecretCredential(tenantId, cloud.clientId, cloud.clientSecret, {
        authorityHost: cloud.authorityHost,
        disableInstanceDiscovery: true,
      }),
      { scopes: [`${cloud.graphEndpoint}/.default`], getTokenOptions: { tenantId } },
    ),
    baseUrl: `${cloud.graphEndpoint}/`,
    customHosts: new Set(['127.0.0.1']),
  });
}

async function graphError(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (error) {
    return error as GraphError;
  }
  throw new Error('expected the Graph call to fail');
}

type Job = {
  id: string;
  templateId: string;
  schedule: { interval: string; state: string };
  status: Record<string, unknown> & { lastExecution: null | Record<string, unknown> };
};
const jobsOf = async (sp: string) =>
  ((await graph().api(`/servicePrincipals/${sp}/synchronization/jobs`).get()) as PageCollection).value as Job[];

describe('advanced service principal queries', () => {
  it('answers applicationTemplateId ne null only with ConsistencyLevel: eventual and $count=true, as Graph does', async () => {
    const plain = await graphError(graph().api('/servicePrincipals').filter('applicationTemplateId ne null').get());
    expect([plain.statusCode, plain.code]).toEqual([400, 'Request_UnsupportedQuery']);
    expect(plain.message).toBe(
      "Unsupported or invalid query filter clause specified for property 'applicationTemplateId' of resource 'ServicePrincipal'.",
    );
    const headerOnly = await graphError(
      graph()
        .api('/servicePrincipals')
        .header('ConsistencyLevel', 'eventual')
        .filter('applicationTemplateId ne null')
        .get(),
    );
    expect(headerOnly.statusCode).toBe(400);
    const countOnly = await graphError(
      graph().api('/servicePrincipals').count(true).filter('applicationTemplateId ne null').get(),
    );
    expect([countOnly.statusCode, countOnly.message]).toEqual([400, '$count is not currently supported.']);

    const page = (await graph()
      .api('/servicePrincipals')
      .header('ConsistencyLevel', 'eventual')
      .count(true)
      .filter('applicationTemplateId ne null')
      .select('id,applicationTemplateId')
      .top(999)
      .get()) as PageCollection & { '@odata.count': number };
    expect(page['@odata.count']).toBe(4 + 5); // the four with provisioning and five gallery SSO apps; not the 30 plain apps
    expect(page.value.every((sp: { applicationTemplateId: string | null }) => sp.applicationTemplateId !== null)).toBe(
      true,
    );
  });

  it('counts with /$count (text/plain) under eventual consistency, and pages through every service principal', async () => {
    const jwt = (await new ClientSecretCredential(TENANT, cloud.clientId, cloud.clientSecret, {
      authorityHost: cloud.authorityHost,
      disableInstanceDiscovery: true,
    }).getToken(`${cloud.graphEndpoint}/.default`))!.token;
    const count = await fetch(`${cloud.graphEndpoint}/v1.0/servicePrincipals/$count`, {
      headers: { authorization: `Bearer ${jwt}`, ConsistencyLevel: 'eventual' },
    });
    expect([count.status, count.headers.get('content-type'), await count.text()]).toEqual([200, 'text/plain', '39']);
    const refused = await fetch(`${cloud.graphEndpoint}/v1.0/servicePrincipals/$count`, {
      headers: { authorization: `Bearer ${jwt}` },
    });
    expect(refused.status).toBe(400);

    let page = (await graph()
      .api('/servicePrincipals')
      .select('id,appId,displayName,applicationTemplateId')
      .top(16)
      .get()) as PageCollection;
    let seen = page.value.length;
    while (page['@odata.nextLink']) {
      page = (await graph().api(page['@odata.nextLink']).get()) as PageCollection;
      seen += page.value.length;
    }
    expect(seen).toBe(39);
  });

  it("takes ConsistencyLevel from an inner $batch request's headers", async () => {
    const result = (await graph()
      .api('/$batch')
      .post({
        requests: [
          {
            id: '1',
            method: 'GET',
            url: '/servicePrincipals?$filter=applicationTemplateId ne null&$count=true&$select=id',
            headers: { ConsistencyLevel: 'eventual' },
          },
          {
            id: '2',
            method: 'GET',
            url: '/servicePrincipals?$filter=applicationTemplateId ne null&$count=true&$select=id',
          },
        ],
      })) as { responses: Array<{ id: string; status: number; body: { '@odata.count'?: number } }> };
    const byId = Object.fromEntries(result.responses.map((r) => [r.id, r]));
    expect([byId['1']!.status, byId['1']!.body['@odata.count']]).toEqual([200, 9]);
    expect(byId['2']!.status).toBe(400);
  });
});

describe('every job type', () => {
  it('Cloud Sync: three jobs every 2 minutes; a created one with lastExecution and troubleshootingUrl null; a stalled one', async () => {
    const [stalled, hash, created] = await jobsOf(CLOUD_SYNC_SP);
    expect(hash!.schedule).toMatchObject({ interval: 'PT2M', state: 'Active' });
    expect(created).toMatchObject({
      templateId: 'AAD2ADExchangeHybridWriteback',
      schedule: { interval: 'PT2M', state: 'Disabled' },
    });
    expect(created!.status).toMatchObject({
      code: 'Paused',
      lastExecution: null,
      lastSuccessfulExecution: null,
      troubleshootingUrl: null,
      steadyStateLastAchievedTime: SENTINEL_TIME,
    });
    expect(stalled!.status.code).toBe('Active');
    const ended = Date.parse(String(stalled!.status.lastExecution!.timeEnded));
    expect(Date.now() - ended).toBeGreaterThan(5 * 3600_000 - 60_000);
    expect(stalled!.status.steadyStateLastAchievedTime).toBe(stalled!.status.lastExecution!.timeEnded);
  });

  it('a failing SCIM job: EntryLevelErrors runs, countEscrowed with system escrows on top in countEscrowedRaw', async () => {
    const [job] = await jobsOf(SCIM_SP);
    expect(job!.status.code).toBe('Active');
    expect(job!.status.lastExecution).toMatchObject({
      state: 'EntryLevelErrors',
      countEscrowed: 12,
      countEscrowedRaw: 15,
      error: null,
    });
    expect(Date.parse(String((job!.status.lastSuccessfulExecution as { timeEnded: string }).timeEnded))).toBeLessThan(
      Date.parse(String(job!.status.lastExecution!.timeEnded)),
    );
  });

  it('a job Entra disabled after four weeks in quarantine: Paused, Disabled with TimeSpan.MaxValue, its last run failed', async () => {
    const [job] = await jobsOf(A2A_SP);
    expect(job!.schedule).toMatchObject({ interval: DISABLED_INTERVAL, state: 'Disabled' });
    expect(job!.status).toMatchObject({ code: 'Paused', quarantine: null, countSuccessiveCompleteFailures: 28 });
    expect(job!.status.lastExecution).toMatchObject({
      state: 'Failed',
      error: { code: 'AzureDirectoryB2BManagementPolicyCheckFailure' },
    });
    const lastGood = Date.parse(String((job!.status.lastSuccessfulExecution as { timeEnded: string }).timeEnded));
    expect(Date.now() - lastGood).toBeGreaterThan(28 * 24 * 3600_000);
  });

  it('a quarantined job that Entra then disables keeps its last error (timeline change)', async () => {
    cloud.control.setJob(TENANT, 'Workday2AAD.7a7a.1', {
      state: 'quarantined',
      quarantine: {
        reason: 'EncounteredQuarantineException',
        errorCode: 'HRConnectionFailed',
        errorMessage: 'Workday refused the credentials.',
      },
    });
    cloud.control.setJob(TENANT, 'Workday2AAD.7a7a.1', { state: 'disabled' });
    const [job] = await jobsOf(HR_SP);
    expect(job!.status).toMatchObject({ code: 'Paused', quarantine: null });
    expect(job!.status.lastExecution).toMatchObject({
      state: 'Failed',
      error: { code: 'HRConnectionFailed', message: 'Workday refused the credentials.' },
    });
  });

  it('a healthy job runs again every interval: its last run moves on with the clock', () => {
    const spec = { id: 'J', templateId: 'AD2AADProvisioning', state: 'healthy' as const };
    const changedAt = Date.parse('2026-11-27T10:00:00Z');
    const at = (minutes: number) =>
      (buildJob(spec, changedAt, changedAt + minutes * 60_000).status as { lastExecution: { timeEnded: string } })
        .lastExecution.timeEnded;
    expect(at(0)).toBe(at(1));
    expect(Date.parse(at(4)) - Date.parse(at(0))).toBe(4 * 60_000);
    const stalled = { ...spec, state: 'stalled' as const };
    expect(
      (buildJob(stalled, changedAt, changedAt + 3600_000).status as { lastExecution: { timeEnded: string } })
        .lastExecution.timeEnded,
    ).toBe((buildJob(stalled, changedAt).status as { lastExecution: { timeEnded: string } }).lastExecution.timeEnded);
  });
});

describe('synchronization secrets', () => {
  it('lists the secrets with credentials masked, settings as JSON text and relative times resolved', async () => {
    const secrets = (await graph().api(`/servicePrincipals/${SCIM_SP}/synchronization/secrets`).get()) as {
      '@odata.context': string;
      value: { key: string; value: string }[];
    };
    expect(secrets['@odata.context']).toContain(`servicePrincipals('${SCIM_SP}')/synchronization/secrets`);
    const byKey = Object.fromEntries(secrets.value.map((s) => [s.key, s.value]));
    expect(byKey.SecretToken).toBe('*');
    expect(JSON.parse(byKey.SyncNotificationSettings!)).toEqual({
      Enabled: false,
      Recipients: '',
      DeleteThresholdEnabled: true,
      DeleteThresholdValue: 500,
    });
    expect(Math.round((Date.parse(byKey.TokenExpiration!) - Date.now()) / 86_400_000)).toBe(10);

    // A configuration without secrets in the scenario has Entra's email on and deletion prevention on.
    const defaults = (await graph().api(`/servicePrincipals/${HR_SP}/synchronization/secrets`).get()) as {
      value: { key: string; value: string }[];
    };
    expect(JSON.parse(defaults.value[0]!.value)).toMatchObject({
      Enabled: true,
      DeleteThresholdEnabled: true,
      DeleteThresholdValue: 500,
    });

    cloud.control.setSecrets(TENANT, HR_SP, {
      SyncNotificationSettings: {
        Enabled: true,
        Recipients: 'hr-it@fourthcoffee.com',
        DeleteThresholdEnabled: false,
      },
    });
    const changed = (await graph().api(`/servicePrincipals/${HR_SP}/synchronization/secrets`).get()) as {
      value: { key: string; value: string }[];
    };
    expect(JSON.parse(changed.value[0]!.value)).toMatchObject({ DeleteThresholdEnabled: false });
  });

  it('refuses a caller without Synchronization.Read.All with 401 UnknownError, as job reads are refused', async () => {
    const error = await graphError(graph(LIMITED).api(`/servicePrincipals/${SCIM_SP}/synchronization/secrets`).get());
    expect([error.statusCode, error.code]).toEqual([401, 'UnknownError']);
  });
});

describe('scenario validation of the new fields', () => {
  const withJob = (job: Record<string, unknown>) => {
    const s = structuredClone(scenario) as unknown as {
      tenants: Array<{ servicePrincipals: Array<{ jobs: unknown[] }> }>;
    };
    s.tenants[0]!.servicePrincipals[0]!.jobs[0] = {
      id: 'x',
      templateId: 'AD2AADProvisioning',
      state: 'stalled',
      ...job,
    };
    return s;
  };

  it('names a bad interval, lastRunAgo, escrow count, secret time or generated count', () => {
    expect(() => validateScenario(withJob({ interval: '40 minutes' }))).toThrow(
      /jobs\[0\]\.interval: expected an ISO 8601 duration/,
    );
    expect(() => validateScenario(withJob({ lastRunAgo: 'yesterday' }))).toThrow(
      /jobs\[0\]\.lastRunAgo: expected a duration/,
    );
    expect(() => validateScenario(withJob({ escrowed: -1 }))).toThrow(/jobs\[0\]\.escrowed: expected a whole number/);
    const badSecret = structuredClone(scenario) as unknown as {
      tenants: Array<{ servicePrincipals: Array<{ secrets?: unknown }> }>;
    };
    badSecret.tenants[0]!.servicePrincipals[1]!.secrets = { TokenExpiration: 'now+soon' };
    expect(() => validateScenario(badSecret)).toThrow(
      /servicePrincipals\[1\]\.secrets\.TokenExpiration: expected now\+<n>/,
    );
    const badGenerated = structuredClone(scenario) as unknown as {
      tenants: Array<{ generated: Record<string, unknown> }>;
    };
    badGenerated.tenants[0]!.generated.plainApps = 'many';
    expect(() => validateScenario(badGenerated)).toThrow(/generated\.plainApps: expected an integer/);
  });
});
