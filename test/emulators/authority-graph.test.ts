import { ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';
import { Client, GraphError, type PageCollection } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startPrivateCloud, type PrivateCloud } from '../../emulators/index';
import { audienceOf } from '../../emulators/authority';
import { buildJob, CROSS_TENANT_SYNC_TEMPLATE_ID } from '../../emulators/jobs';
import { loadScenario, validateScenario, type Scenario } from '../../emulators/scenario';

const CONTOSO = '0b0c2f1e-1111-4a4a-8b8b-000000000001';
const NO_SYNC = '0b0c2f1e-2222-4a4a-8b8b-000000000002';
const NO_APP_READ = '0b0c2f1e-3333-4a4a-8b8b-000000000003';
const UNCONSENTED = '0b0c2f1e-4444-4a4a-8b8b-000000000004';
const FABRIKAM_SP = '5a5a5a5a-0000-4000-8000-000000000001';
const SCIM_SP = '5a5a5a5a-0000-4000-8000-000000000002';
const HEALTHY_JOB = 'Azure2Azure.0b0c2f1e11114a4a8b8b000000000001.9e9e9e9e-0000-4000-8000-000000000001';
const QUARANTINED_JOB = 'Azure2Azure.0b0c2f1e11114a4a8b8b000000000001.9e9e9e9e-0000-4000-8000-000000000002';
const NEVER_RUN_JOB = 'Azure2Azure.0b0c2f1e11114a4a8b8b000000000001.9e9e9e9e-0000-4000-8000-000000000003';

const sp = (
  id: string,
  displayName: string,
  jobs: Scenario['tenants'][number]['servicePrincipals'][number]['jobs'],
  template: string | null = CROSS_TENANT_SYNC_TEMPLATE_ID,
) => ({
  id,
  appId: id.replace(/^5a/, '6b'),
  displayName,
  applicationTemplateId: template,
  jobs,
});

const scenario: Scenario = {
  name: 'test',
  app: { clientId: 'c1c1c1c1-0000-4000-8000-00000000c11e', clientSecret: 'test-secret~123' },
  tenants: [
    {
      id: CONTOSO,
      displayName: 'Contoso',
      grants: ['Application.Read.All', 'Synchronization.Read.All'],
      servicePrincipals: [
        sp(FABRIKAM_SP, 'Fabrikam to Contoso', [
          { id: HEALTHY_JOB, templateId: 'Azure2Azure', state: 'healthy' },
          {
            id: QUARANTINED_JOB,
            templateId: 'Azure2Azure',
            state: 'quarantined',
            quarantine: { reason: 'EncounteredQuarantineException' },
          },
          { id: NEVER_RUN_JOB, templateId: 'Azure2Azure', state: 'neverRun' },
        ]),
        sp(
          SCIM_SP,
          'ServiceNow',
          [{ id: 'scim.0b0c2f1e11114a4a8b8b000000000001.1', templateId: 'scim', state: 'healthy' }],
          null,
        ),
      ],
      generated: { count: 45, displayNamePrefix: 'Partner', state: 'healthy' },
    },
    {
      id: NO_SYNC,
      displayName: 'Litware',
      grants: ['Application.Read.All'],
      servicePrincipals: [
        sp('5a5a5a5a-0000-4000-8000-000000000003', 'Fabrikam to Litware', [
          { id: 'Azure2Azure.x.1', templateId: 'Azure2Azure', state: 'healthy' },
        ]),
      ],
    },
    {
      id: NO_APP_READ,
      displayName: 'Adatum',
      grants: ['Synchronization.Read.All'],
      servicePrincipals: [],
    },
    { id: UNCONSENTED, displayName: 'Tailspin', consented: false, grants: [], servicePrincipals: [] },
  ],
  timeline: [
    {
      name: 'grants-revoked',
      changes: [{ tenant: CONTOSO, grants: ['Application.Read.All'] }],
    },
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
  cloud.control.reset();
});

function credential(tenantId: string, secret = cloud.clientSecret): ClientSecretCredential {
  return new ClientSecretCredential(tenantId, cloud.clientId, secret, {
    authorityHost: cloud.authorityHost,
    disableInstanceDiscovery: true,
  });
}

function graph(tenantId: string): Client {
  return Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(credential(tenantId), {
      scopes: [`${cloud.graphEndpoint}/.default`],
      getTokenOptions: { tenantId },
    }),
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

async function token(tenantId: string, scope = `${cloud.graphEndpoint}/.default`): Promise<string> {
  const t = await credential(tenantId).getToken(scope);
  return t!.token;
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('authority', () => {
  it('issues a client-credentials token through @azure/identity with aud = scope minus /.default', async () => {
    const jwt = await token(CONTOSO);
    const claims = claimsOf(jwt);
    expect(claims.aud).toBe(cloud.graphEndpoint);
    expect(claims.tid).toBe(CONTOSO);
    expect(claims.appid).toBe(cloud.clientId);
    expect(claims.roles).toEqual(['Application.Read.All', 'Synchronization.Read.All']);
    expect(cloud.control.tokenRequests()).toMatchObject([
      {
        tenantId: CONTOSO,
        clientId: cloud.clientId,
        scope: `${cloud.graphEndpoint}/.default`,
        grantType: 'client_credentials',
        status: 200,
      },
    ]);
    expect(audienceOf('https://communication.azure.com//.default')).toBe('https://communication.azure.com');
    expect(audienceOf('https://127.0.0.1:4431/.default')).toBe('https://127.0.0.1:4431');
  });

  it('answers OpenID and instance discovery for this host', async () => {
    const oidc = (await (
      await fetch(`${cloud.authorityHost}/${CONTOSO}/v2.0/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    expect(oidc.token_endpoint).toBe(`${cloud.authorityHost}/${CONTOSO}/oauth2/v2.0/token`);
    expect(oidc.issuer).toBe(`${cloud.authorityHost}/${CONTOSO}/v2.0`);
    const host = new URL(cloud.authorityHost).host;
    const discovery = (await (
      await fetch(`${cloud.authorityHost}/common/discovery/instance?api-version=1.1&authorization_endpoint=x`)
    ).json()) as {
      metadata: Array<{ aliases: string[] }>;
    };
    expect(discovery.metadata[0]!.aliases).toEqual([host]);
  });

  it('rejects an unconsented tenant with AADSTS700016, a bad secret with AADSTS7000215 and an unknown tenant with AADSTS90002', async () => {
    await expect(credential(UNCONSENTED).getToken(`${cloud.graphEndpoint}/.default`)).rejects.toThrow(
      /AADSTS700016: Application with identifier 'c1c1c1c1-0000-4000-8000-00000000c11e' was not found in the directory 'Tailspin'/,
    );
    await expect(credential(CONTOSO, 'wrong').getToken(`${cloud.graphEndpoint}/.default`)).rejects.toThrow(
      /AADSTS7000215/,
    );
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: cloud.clientId,
      client_secret: cloud.clientSecret,
      scope: 'x/.default',
    });
    const res = await fetch(`${cloud.authorityHost}/9999aaaa-0000-4000-8000-000000000000/oauth2/v2.0/token`, {
      method: 'POST',
      body: form,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'invalid_request', error_codes: [90002] });
    expect(body.error_description).toMatch(/^AADSTS90002: Tenant '9999aaaa-0000-4000-8000-000000000000' not found/);
    expect(Object.keys(body)).toEqual(expect.arrayContaining(['timestamp', 'trace_id', 'correlation_id']));
    expect(cloud.control.tokenRequests().map((r) => [r.status, r.error])).toEqual([
      [400, 'unauthorized_client'],
      [401, 'invalid_client'],
      [400, 'invalid_request'],
    ]);
  });

  it('works for DefaultAzureCredential configured by environment variables', async () => {
    vi.stubEnv('AZURE_TENANT_ID', CONTOSO);
    vi.stubEnv('AZURE_CLIENT_ID', cloud.clientId);
    vi.stubEnv('AZURE_CLIENT_SECRET', cloud.clientSecret);
    vi.stubEnv('AZURE_AUTHORITY_HOST', cloud.authorityHost);
    vi.stubEnv('AZURE_TOKEN_CREDENTIALS', 'EnvironmentCredential');
    try {
      const cred = new DefaultAzureCredential({ disableInstanceDiscovery: true });
      const t = await cred.getToken(`${cloud.graphEndpoint}/.default`);
      expect(claimsOf(t.token).tid).toBe(CONTOSO);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('graph', () => {
  it('lists cross-tenant service principals by applicationTemplateId and their jobs', async () => {
    const client = graph(CONTOSO);
    const page = (await client
      .api('/servicePrincipals')
      .filter(`applicationTemplateId eq '${CROSS_TENANT_SYNC_TEMPLATE_ID}'`)
      .select('id,appId,displayName,applicationTemplateId')
      .top(999)
      .get()) as PageCollection;
    expect(page.value).toHaveLength(46); // Fabrikam + 45 generated; the SCIM app has no template id
    expect(page.value[0]).toEqual({
      id: FABRIKAM_SP,
      appId: '6b5a5a5a-0000-4000-8000-000000000001',
      displayName: 'Fabrikam to Contoso',
      applicationTemplateId: CROSS_TENANT_SYNC_TEMPLATE_ID,
    });
    expect(page['@odata.nextLink']).toBeUndefined();

    const full = (await client.api(`/servicePrincipals/${SCIM_SP}`).get()) as Record<string, unknown>;
    expect(full).toMatchObject({
      servicePrincipalType: 'Application',
      tags: ['WindowsAzureActiveDirectoryIntegratedApp'],
      applicationTemplateId: null,
    });

    const jobs = (await client.api(`/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs/`).get()) as PageCollection;
    expect(jobs['@odata.context']).toContain(`servicePrincipals('${FABRIKAM_SP}')/synchronization/jobs`);
    expect(jobs.value.map((j: { id: string; status: { code: string } }) => [j.id, j.status.code])).toEqual([
      [HEALTHY_JOB, 'Active'],
      [QUARANTINED_JOB, 'Quarantine'],
      [NEVER_RUN_JOB, 'NotRun'],
    ]);
    const one = (await client
      .api(`/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs/${QUARANTINED_JOB}`)
      .get()) as { status: { quarantine: Record<string, unknown> } };
    expect(one.status.quarantine).toMatchObject({
      reason: 'EncounteredQuarantineException',
      seriesCount: 1,
      error: { code: 'AzureDirectoryB2BManagementPolicyCheckFailure', tenantActionable: true },
    });
    expect(String(one.status.quarantine.currentBegan)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);

    const missing = await graphError(
      client.api('/servicePrincipals/5a5a5a5a-0000-4000-8000-0000000000ff/synchronization/jobs').get(),
    );
    expect([missing.statusCode, missing.code]).toEqual([404, 'Request_ResourceNotFound']);
    const missingJob = await graphError(
      client.api(`/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs/nope`).get(),
    );
    expect([missingJob.statusCode, missingJob.code]).toEqual([404, 'ResourceNotFound']);
    const badFilter = await graphError(client.api('/servicePrincipals').filter("tags/any(t:t eq 'x')").get());
    expect([badFilter.statusCode, badFilter.code]).toEqual([400, 'Request_UnsupportedQuery']);
    const badTop = await graphError(client.api('/servicePrincipals').top(1000).get());
    expect(badTop.message).toBe("Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.");
  });

  it('pages with absolute https @odata.nextLink URLs carrying a $skiptoken', async () => {
    const client = graph(CONTOSO);
    let page = (await client
      .api('/servicePrincipals')
      .filter(`applicationTemplateId eq '${CROSS_TENANT_SYNC_TEMPLATE_ID}'`)
      .top(20)
      .get()) as PageCollection;
    const names: string[] = [];
    const links: string[] = [];
    for (;;) {
      names.push(...page.value.map((s: { displayName: string }) => s.displayName));
      const next = page['@odata.nextLink'];
      if (!next) break;
      links.push(next);
      page = (await client.api(next).get()) as PageCollection;
    }
    expect(names).toHaveLength(46);
    expect(new Set(names).size).toBe(46);
    expect(names.at(-1)).toBe('Partner 045');
    expect(links).toHaveLength(2);
    for (const link of links) {
      expect(link.startsWith(`${cloud.graphEndpoint}/v1.0/servicePrincipals?`)).toBe(true);
      expect(link).toContain('$skiptoken=');
      expect(link).toContain('$top=20');
    }
  });

  it('answers 401 InvalidAuthenticationToken without a token or with another audience, with request ids', async () => {
    const res = await fetch(`${cloud.graphEndpoint}/v1.0/servicePrincipals`, {
      headers: { 'client-request-id': 'abc-123' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('client-request-id')).toBe('abc-123');
    expect(res.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await res.json()) as { error: { code: string; message: string; innerError: Record<string, string> } };
    expect(body.error).toMatchObject({ code: 'InvalidAuthenticationToken', message: 'Access token is empty.' });
    expect(body.error.innerError).toMatchObject({
      'request-id': res.headers.get('request-id'),
      'client-request-id': 'abc-123',
    });
    expect(body.error.innerError.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);

    const acsToken = await token(CONTOSO, 'https://communication.azure.com//.default');
    const wrong = await fetch(`${cloud.graphEndpoint}/v1.0/servicePrincipals`, {
      headers: { authorization: `Bearer ${acsToken}` },
    });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe(
      'Access token validation failure. Invalid audience.',
    );
  });

  it('answers 401 UnknownError on jobs without Synchronization.Read.All, 403 on service principals without Application.Read.All', async () => {
    const noSync = await graphError(
      graph(NO_SYNC).api('/servicePrincipals/5a5a5a5a-0000-4000-8000-000000000003/synchronization/jobs').get(),
    );
    expect([noSync.statusCode, noSync.code, noSync.message]).toEqual([401, 'UnknownError', '']);
    const noAppRead = await graphError(graph(NO_APP_READ).api('/servicePrincipals').get());
    expect([noAppRead.statusCode, noAppRead.code, noAppRead.message]).toEqual([
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
    ]);

    // A timeline step withdraws Synchronization.Read.All; the revocation applies to the cached token too.
    const client = graph(CONTOSO);
    await client.api(`/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs`).get();
    cloud.control.step('grants-revoked');
    const revoked = await graphError(client.api(`/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs`).get());
    expect(revoked.statusCode).toBe(401);
  });

  it('retries a top-level 429 with Retry-After: 0 through the Graph client RetryHandler', async () => {
    cloud.control.injectFault({
      status: 429,
      retryAfterSeconds: 0,
      times: 1,
      tenantId: CONTOSO,
      pathIncludes: '/synchronization/jobs',
    });
    const jobs = (await graph(CONTOSO)
      .api(`/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs`)
      .get()) as PageCollection;
    expect(jobs.value).toHaveLength(3);
    const log = cloud.control.requestLog().filter((e) => e.path.endsWith('/synchronization/jobs'));
    expect(log.map((e) => [e.status, e.faulted ?? false, e.retryAttempt])).toEqual([
      [429, true, undefined],
      [200, false, 1],
    ]);
  });

  it('gives the TooManyRequests body and Retry-After header on 429', async () => {
    cloud.control.injectFault({ status: 429, retryAfterSeconds: 7, times: 1 });
    const jwt = await token(CONTOSO);
    const res = await fetch(`${cloud.graphEndpoint}/v1.0/servicePrincipals`, {
      headers: { authorization: `Bearer ${jwt}` },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    const body = (await res.json()) as { error: { code: string; message: string; innerError: Record<string, string> } };
    expect(body.error).toMatchObject({
      code: 'TooManyRequests',
      message: 'Please retry again later.',
      innerError: { code: '429', status: '429' },
    });
  });

  it('serves $batch: reordered responses with a Content-Type key, per-request auth, inner 429, /v1.0 urls, limits', async () => {
    cloud.control.injectFault({
      status: 429,
      retryAfterSeconds: 3,
      times: 1,
      inBatch: true,
      pathIncludes: HEALTHY_JOB,
    });
    const client = graph(CONTOSO);
    const requests = [
      { id: '1', method: 'GET', url: `/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs` },
      { id: '2', method: 'GET', url: `/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs/${HEALTHY_JOB}` },
      { id: '3', method: 'GET', url: `/v1.0/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs` },
      { id: '4', method: 'GET', url: `/servicePrincipals/5a5a5a5a-0000-4000-8000-0000000000ff/synchronization/jobs` },
    ];
    const result = (await client.api('/$batch').post({ requests })) as {
      responses: Array<{
        id: string;
        status: number;
        headers: Record<string, string>;
        body: { value?: unknown[]; error?: { code: string; message: string } };
      }>;
    };
    expect(result.responses.map((r) => r.id)).toEqual(['4', '3', '2', '1']);
    const byId = new Map(result.responses.map((r) => [r.id, r]));
    expect(byId.get('1')!.status).toBe(200);
    expect(byId.get('1')!.body.value).toHaveLength(3);
    expect(byId.get('1')!.headers['Content-Type']).toBe(
      'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8',
    );
    expect(byId.get('2')!.status).toBe(429);
    expect(byId.get('2')!.headers['Retry-After']).toBe('3');
    expect(byId.get('2')!.body.error!.code).toBe('TooManyRequests');
    expect(byId.get('3')!.status).toBe(400);
    expect(byId.get('3')!.body.error!.message).toBe("Resource not found for the segment 'v1.0'.");
    expect(byId.get('4')!.status).toBe(404);
    const log = cloud.control.requestLog();
    expect(log.filter((e) => e.path === '/v1.0/$batch')).toHaveLength(1);
    expect(log.filter((e) => e.batchId !== undefined).map((e) => e.status)).toEqual([200, 429, 400, 404]);

    const tooMany = await graphError(
      client.api('/$batch').post({
        requests: Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/servicePrincipals' })),
      }),
    );
    expect([tooMany.statusCode, tooMany.code, tooMany.message]).toEqual([
      400,
      'BadRequest',
      'Maximum number of requests in a batch is 20.',
    ]);
    const dup = await graphError(client.api('/$batch').post({ requests: [requests[0], requests[0]] }));
    expect(dup.statusCode).toBe(400);

    // Inner requests are authorized one by one: a tenant without Synchronization.Read.All gets inner 401s.
    const noSync = (await graph(NO_SYNC)
      .api('/$batch')
      .post({
        requests: [
          { id: 'a', method: 'GET', url: '/servicePrincipals?$select=id' },
          {
            id: 'b',
            method: 'GET',
            url: '/servicePrincipals/5a5a5a5a-0000-4000-8000-000000000003/synchronization/jobs',
          },
        ],
      })) as { responses: Array<{ id: string; status: number; body: { error?: { code: string } } }> };
    expect(noSync.responses.map((r) => [r.id, r.status, r.body.error?.code])).toEqual([
      ['b', 401, 'UnknownError'],
      ['a', 200, undefined],
    ]);
  });
});

describe('jobs and scenarios', () => {
  it('builds the never-run job exactly as reference payload (a)', () => {
    expect(buildJob({ id: 'J', templateId: 'Azure2Azure', state: 'neverRun' })).toEqual({
      id: 'J',
      templateId: 'Azure2Azure',
      schedule: { expiration: null, interval: 'PT40M', state: 'Active' },
      status: {
        countSuccessiveCompleteFailures: 0,
        escrowsPruned: false,
        code: 'NotRun',
        lastSuccessfulExecution: null,
        lastSuccessfulExecutionWithExports: null,
        quarantine: null,
        steadyStateFirstAchievedTime: '0001-01-01T00:00:00Z',
        steadyStateLastAchievedTime: '0001-01-01T00:00:00Z',
        troubleshootingUrl: '',
        lastExecution: {
          activityIdentifier: null,
          countEntitled: 0,
          countEntitledForProvisioning: 0,
          countEscrowed: 0,
          countEscrowedRaw: 0,
          countExported: 0,
          countExports: 0,
          countImported: 0,
          countImportedDeltas: 0,
          countImportedReferenceDeltas: 0,
          state: 'Failed',
          timeBegan: '0001-01-01T00:00:00Z',
          timeEnded: '0001-01-01T00:00:00Z',
          error: { code: 'None', message: '', tenantActionable: false },
        },
        progress: [],
        synchronizedEntryCountByType: [],
      },
      synchronizationJobSettings: [
        { name: 'AzureIngestionAttributeOptimization', value: 'False' },
        { name: 'LookaheadQueryEnabled', value: 'False' },
      ],
    });
  });

  it('deep-merges raw last, so odd payloads can be served', () => {
    const job = buildJob({
      id: 'J',
      templateId: 'Azure2Azure',
      state: 'quarantined',
      quarantine: { reason: 'Whatever' },
      raw: { status: { code: 'quarantine', quarantine: { reason: 'SomethingNew' } } },
    }) as {
      status: { code: string; quarantine: { reason: string; seriesCount: number } };
      synchronizationJobSettings: Array<{ name: string }>;
    };
    expect(job.status.code).toBe('quarantine');
    expect(job.status.quarantine).toMatchObject({ reason: 'SomethingNew', seriesCount: 1 });
    expect(job.synchronizationJobSettings.map((s) => s.name)).toContain('QuarantineTooManyDeletesThreshold');
  });

  it('names the path of a bad field when validating a scenario', () => {
    const bad = structuredClone(scenario) as unknown as {
      tenants: Array<{ servicePrincipals: Array<{ jobs: Array<{ state: string }> }> }>;
    };
    bad.tenants[0]!.servicePrincipals[0]!.jobs[2]!.state = 'broken';
    expect(() => validateScenario(bad)).toThrow(
      /^tenants\[0\]\.servicePrincipals\[0\]\.jobs\[2\]\.state: expected one of healthy, neverRun, quarantined, paused, notConfigured, created, failing, stalled, disabled, got "broken"$/,
    );
    const badChange = structuredClone(scenario) as unknown as { timeline: Array<{ changes: unknown[] }> };
    badChange.timeline[0]!.changes.push({ tenant: CONTOSO, job: 'nope', set: { state: 'healthy' } });
    expect(() => validateScenario(badChange)).toThrow(/^timeline\[0\]\.changes\[1\]\.job: no job nope/);
  });

  it('moves demo.json through its timeline: tripped, still quarantined, recovered (in process and over /_emulator)', async () => {
    const demoPath = join(__dirname, '..', '..', 'emulators', 'scenarios', 'demo.json');
    const demo = loadScenario(demoPath);
    const demoCloud = await startPrivateCloud({ scenario: demo, tls: undefined });
    try {
      const [contoso] = demoCloud.tenants;
      const spId = demo.tenants[0]!.servicePrincipals[0]!.id;
      const jobId = demo.tenants[0]!.servicePrincipals[0]!.jobs[0]!.id;
      const client = Client.initWithMiddleware({
        authProvider: new TokenCredentialAuthenticationProvider(
          new ClientSecretCredential(contoso!, demoCloud.clientId, demoCloud.clientSecret, {
            authorityHost: demoCloud.authorityHost,
            disableInstanceDiscovery: true,
          }),
          { scopes: [`${demoCloud.graphEndpoint}/.default`] },
        ),
        baseUrl: `${demoCloud.graphEndpoint}/`,
        customHosts: new Set(['127.0.0.1']),
      });
      type Job = {
        status: {
          code: string;
          quarantine: null | {
            reason: string;
            seriesCount: number;
            seriesBegan: string;
            currentBegan: string;
            error: { message: string };
          };
        };
      };
      const read = async (): Promise<Job> =>
        (await client.api(`/servicePrincipals/${spId}/synchronization/jobs/${jobId}`).get()) as Job;

      expect((await read()).status).toMatchObject({ code: 'Active', quarantine: null });
      expect(demoCloud.control.step()).toBe('deletion-threshold-tripped');
      const tripped = await read();
      expect(tripped.status.code).toBe('Quarantine');
      expect(tripped.status.quarantine).toMatchObject({ reason: 'TooManyDeletes', seriesCount: 1 });
      expect(tripped.status.quarantine!.error.message).toContain('612');

      const step = await fetch(`${demoCloud.graphEndpoint}/_emulator/step`, { method: 'POST', body: '{}' });
      expect(((await step.json()) as { step: string }).step).toBe('still-quarantined');
      const still = await read();
      expect(still.status.quarantine).toMatchObject({
        reason: 'TooManyDeletes',
        seriesCount: 2,
        seriesBegan: tripped.status.quarantine!.seriesBegan,
      });

      demoCloud.control.step();
      expect((await read()).status).toMatchObject({ code: 'Active', quarantine: null });
      // The demo's extra steps (Woodgrove, Northwind, Cloud Sync, the SCIM app) follow; past the last one there are no more.
      for (const name of [
        'woodgrove-quarantined',
        'northwind-quarantined',
        'woodgrove-recovered',
        'cloud-sync-stalled',
        'scim-failing',
        'cloud-sync-caught-up',
        'scim-recovered',
      ]) {
        expect(demoCloud.control.step()).toBe(name);
      }
      expect(() => demoCloud.control.step()).toThrow(/no more steps/);

      const put = await fetch(`${demoCloud.graphEndpoint}/_emulator/jobs/${contoso}/${encodeURIComponent(jobId)}`, {
        method: 'PUT',
        body: JSON.stringify({ state: 'paused' }),
      });
      expect(put.status).toBe(200);
      expect((await read()).status.code).toBe('Paused');
      const fault = await fetch(`${demoCloud.graphEndpoint}/_emulator/faults`, {
        method: 'POST',
        body: JSON.stringify({ status: 503, times: 1, pathIncludes: jobId, retryAfterSeconds: 0 }),
      });
      expect(fault.status).toBe(200);
      expect((await read()).status.code).toBe('Paused'); // 503 retried by the RetryHandler
      const requests = (await (await fetch(`${demoCloud.graphEndpoint}/_emulator/requests`)).json()) as Array<{
        status: number;
      }>;
      expect(requests.map((r) => r.status).slice(-2)).toEqual([503, 200]);
      const badControl = await fetch(`${demoCloud.graphEndpoint}/_emulator/jobs/${contoso}/nope`, {
        method: 'PUT',
        body: '{"state":"healthy"}',
      });
      expect(badControl.status).toBe(400);
    } finally {
      await demoCloud.stop();
    }
  });
});
