import { describe, expect, it } from 'vitest';
import type { PrivateCloud } from '../../emulators/index';
import { CROSS_TENANT_SYNC_TEMPLATE_ID } from '../../emulators/jobs';
import { validateScenario, type Scenario } from '../../emulators/scenario';
import { credentialFor, failure, graphError, graphFor, runPrivateCloud } from './graph-clients';

/** Graph's writes for "decide from the alert": restart with a reset scope, the schema, provisionOnDemand. */

const CONTOSO = '0e0e2f1e-1111-4a4a-8b8b-000000000001';
const READ_ONLY = '0e0e2f1e-2222-4a4a-8b8b-000000000002';
const STRICT = '0e0e2f1e-3333-4a4a-8b8b-000000000003';
const SP = '5e5e5e5e-0000-4000-8000-000000000001';
const job = (n: number) => `Azure2Azure.0e0e2f1e11114a4a8b8b000000000001.9e9e9e9e-0000-4000-8000-00000000000${n}`;
const DELETES_HELD = job(1);
const QUARANTINED = job(2);
const FAILING = job(3);
const PAUSED = job(4);
const OK_USER = 'aaaaaaaa-0000-4000-8000-000000000001';
const BAD_USER = 'aaaaaaaa-0000-4000-8000-000000000002';
const SAME_USER = 'aaaaaaaa-0000-4000-8000-000000000003';
const WRITE_GRANTS = ['Application.Read.All', 'Synchronization.ReadWrite.All', 'AuditLog.Read.All'];

const scenario: Scenario = {
  name: 'sync-actions',
  app: { clientId: 'c5c5c5c5-0000-4000-8000-00000000c11e', clientSecret: 'actions-secret~123' },
  reportsRateLimit: { requests: 1000, windowSeconds: 1 },
  tenants: [
    {
      id: CONTOSO,
      displayName: 'Contoso',
      grants: WRITE_GRANTS,
      servicePrincipals: [
        {
          id: SP,
          appId: '6e6e6e6e-0000-4000-8000-000000000001',
          displayName: 'Fabrikam to Contoso',
          applicationTemplateId: CROSS_TENANT_SYNC_TEMPLATE_ID,
          jobs: [
            {
              id: DELETES_HELD,
              templateId: 'Azure2Azure',
              state: 'quarantined',
              quarantine: { reason: 'TooManyDeletes' },
            },
            { id: QUARANTINED, templateId: 'Azure2Azure', state: 'quarantined' },
            { id: FAILING, templateId: 'Azure2Azure', state: 'failing', escrowed: 12, successiveFailures: 3 },
            { id: PAUSED, templateId: 'Azure2Azure', state: 'paused' },
          ],
        },
      ],
      provisioningEvents: [
        { job: DELETES_HELD, count: 20, action: 'stagedDelete', namePrefix: 'Leaver', minutesAgo: 5 },
      ],
      provisionOnDemand: {
        objects: [
          { objectId: OK_USER, displayName: 'Adele Vance', userPrincipalName: 'adele@contoso.example' },
          {
            objectId: BAD_USER,
            result: 'failure',
            errorCode: 'AzureActiveDirectoryConflict',
            errorMessage: 'A user with the same userPrincipalName already exists in the target tenant.',
            userPrincipalName: 'megan@contoso.example',
          },
          { objectId: SAME_USER, result: 'skipped' },
        ],
      },
    },
    { id: READ_ONLY, displayName: 'Litware', grants: ['Synchronization.Read.All'], servicePrincipals: [] },
    {
      id: STRICT,
      displayName: 'Tailspin',
      grants: ['Synchronization.Read.All'],
      syncWriteDenied: '403',
      servicePrincipals: [],
    },
  ],
  timeline: [
    { name: 'an-hour-later', changes: [] },
    { name: 'leavers-reassigned', changes: [{ tenant: CONTOSO, job: DELETES_HELD, withdrawHeldDeletes: true }] },
  ],
};

let cloud: PrivateCloud;
runPrivateCloud(scenario, (started) => (cloud = started));

const jobs = `/servicePrincipals/${SP}/synchronization/jobs`;
const restart = (tenantId: string, jobId: string, resetScope?: string) =>
  graphFor(cloud, tenantId)
    .api(`${jobs}/${jobId}/restart`)
    .post(resetScope === undefined ? {} : { criteria: { resetScope } });
const status = async (jobId: string) =>
  (await graphFor(cloud, CONTOSO).api(`${jobs}/${jobId}`).get()).status as {
    code: string;
    quarantine: { reason: string; seriesCount: number } | null;
    countSuccessiveCompleteFailures: number;
    lastExecution: { countEscrowed: number; state: string };
  };
const logCount = async (filter: string) =>
  (await graphFor(cloud, CONTOSO).api(`/auditLogs/provisioning?$filter=${filter}&$top=1000`).get()).value.length;

describe('restart', () => {
  it('ForceDeletes: 204, recorded once, and at the next run the held deletes are done and the quarantine is left', async () => {
    await restart(CONTOSO, DELETES_HELD, 'ForceDeletes');
    expect(cloud.control.jobActions('restart')).toEqual([
      expect.objectContaining({
        action: 'restart',
        tenantId: CONTOSO,
        servicePrincipalId: SP,
        jobId: DELETES_HELD,
        status: 204,
        resetScope: 'ForceDeletes',
        scopes: ['ForceDeletes'],
      }),
    ]);
    expect((await status(DELETES_HELD)).code).toBe('Quarantine'); // nothing happens before the job runs
    const runs = await (await fetch(`${cloud.graphEndpoint}/_emulator/run`, { method: 'POST' })).json();
    expect(runs).toEqual({
      runs: [{ tenantId: CONTOSO, jobId: DELETES_HELD, scopes: ['ForceDeletes'], state: 'healthy', deleted: 20 }],
    });
    expect(await status(DELETES_HELD)).toMatchObject({ code: 'Active', quarantine: null });
    expect(await logCount(`jobId eq '${DELETES_HELD}' and provisioningAction eq 'delete'`)).toBe(20);
    expect(await logCount(`jobId eq '${DELETES_HELD}' and provisioningAction eq 'stagedDelete'`)).toBe(20);
    await restart(CONTOSO, DELETES_HELD, 'ForceDeletes');
    expect(cloud.control.runJobs()).toEqual([expect.objectContaining({ deleted: 0 })]); // let through once
  });

  it('QuarantineState alone lifts a TooManyDeletes quarantine only for the next run to trip it again', async () => {
    await restart(CONTOSO, DELETES_HELD, 'QuarantineState');
    cloud.control.step('an-hour-later');
    expect((await status(DELETES_HELD)).quarantine).toMatchObject({ reason: 'TooManyDeletes', seriesCount: 2 });
    expect(await logCount(`provisioningAction eq 'delete'`)).toBe(0);
  });

  it('recovers a TooManyDeletes job restarted after the cause was fixed, with nothing deleted', async () => {
    const held = `${cloud.graphEndpoint}/_emulator/held-deletes/${CONTOSO}/${DELETES_HELD}`;
    expect(await (await fetch(held)).json()).toEqual({ held: 20 });
    cloud.control.step('leavers-reassigned'); // the admin put the leavers back in scope: their deletes are withdrawn
    expect(cloud.control.heldDeletes(CONTOSO, DELETES_HELD)).toBe(0);
    await restart(CONTOSO, DELETES_HELD, 'QuarantineState');
    expect(cloud.control.runJobs()).toEqual([expect.objectContaining({ state: 'healthy', deleted: 0 })]);
    expect(await status(DELETES_HELD)).toMatchObject({ code: 'Active', quarantine: null });
    expect(await logCount(`provisioningAction eq 'delete'`)).toBe(0);
    expect(await (await fetch(held, { method: 'DELETE' })).json()).toEqual({ withdrawn: 0 });
  });

  it("lifts another quarantine with the documented example's scope, starts a paused job, clears escrows", async () => {
    await restart(CONTOSO, QUARANTINED, 'Watermark, Escrows, QuarantineState');
    await restart(CONTOSO, FAILING, 'Escrows');
    await restart(CONTOSO, PAUSED); // empty criteria: the portal's Restart provisioning
    expect(cloud.control.jobActions().map((a) => [a.jobId, a.resetScope, a.scopes])).toEqual([
      [QUARANTINED, 'Watermark, Escrows, QuarantineState', ['Escrows', 'Watermark', 'QuarantineState']],
      [FAILING, 'Escrows', ['Escrows']],
      [PAUSED, '', ['Escrows', 'Watermark', 'QuarantineState']],
    ]);
    cloud.control.step('an-hour-later');
    expect(await status(QUARANTINED)).toMatchObject({ code: 'Active', quarantine: null });
    expect(await status(FAILING)).toMatchObject({
      code: 'Active',
      countSuccessiveCompleteFailures: 0,
      lastExecution: { countEscrowed: 0, state: 'Succeeded' },
    });
    expect((await status(PAUSED)).code).toBe('Active');
  });

  it('keeps a quarantine that the scope does not lift', async () => {
    await restart(CONTOSO, QUARANTINED, 'Watermark');
    await restart(CONTOSO, FAILING, 'Full'); // Full: every option but ForceDeletes
    expect(cloud.control.jobActions()[1]!.scopes).toEqual([
      'ConnectorDataStore',
      'Escrows',
      'Watermark',
      'QuarantineState',
    ]);
    cloud.control.runJobs();
    expect((await status(QUARANTINED)).code).toBe('Quarantine');
    expect((await status(FAILING)).code).toBe('Active');
  });

  it('refuses an unknown scope or a body that is not JSON with 400, and recorded them', async () => {
    expect(failure(await graphError(restart(CONTOSO, QUARANTINED, 'Everything')))).toEqual({
      status: 400,
      code: 'BadRequest',
      message:
        "The value 'Everything' is not valid for resetScope. Valid values: None, ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes.",
    });
    const token = (await credentialFor(cloud, CONTOSO).getToken(`${cloud.graphEndpoint}/.default`))!.token;
    const broken = await fetch(`${cloud.graphEndpoint}/v1.0${jobs}/${QUARANTINED}/restart`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{"criteria":',
    });
    expect(broken.status).toBe(400);
    expect(cloud.control.jobActions().map((a) => a.status)).toEqual([400, 400]);
    cloud.control.runJobs();
    expect((await status(QUARANTINED)).code).toBe('Quarantine');
  });

  it('wants Synchronization.ReadWrite.All: 401 UnknownError by default, 403 where the tenant says so', async () => {
    const other = (tenantId: string) => graphFor(cloud, tenantId).api(`${jobs}/${QUARANTINED}/restart`).post({});
    expect(failure(await graphError(other(READ_ONLY)))).toEqual({ status: 401, code: 'UnknownError', message: '' });
    expect(failure(await graphError(other(STRICT)))).toEqual({
      status: 403,
      code: 'Authorization_RequestDenied',
      message: 'Insufficient privileges to complete the operation.',
    });
    cloud.control.setGrants(CONTOSO, ['Application.Read.All', 'Synchronization.Read.All']);
    expect(failure(await graphError(restart(CONTOSO, QUARANTINED)))).toMatchObject({ status: 401 });
    expect(scenarioWith({ syncWriteDenied: '500' })).toThrow(
      'tenants[0].syncWriteDenied: expected one of 401, 403, got "500"',
    );
  });

  it('fails on demand (409, 5xx, 429 from the fault queue) and records every call, so "exactly once" can be told', async () => {
    cloud.control.injectFault({ status: 409, times: 1, pathIncludes: '/restart' });
    expect(failure(await graphError(restart(CONTOSO, QUARANTINED, 'QuarantineState')))).toMatchObject({ status: 409 });
    cloud.control.injectFault({ status: 429, retryAfterSeconds: 0, times: 1, pathIncludes: '/restart' });
    cloud.control.injectFault({ status: 503, retryAfterSeconds: 0, times: 1, pathIncludes: '/restart' });
    await restart(CONTOSO, QUARANTINED, 'QuarantineState'); // the Graph client retries 429 and 503 itself
    expect(cloud.control.jobActions('restart').map((a) => [a.status, a.faulted ?? false, a.resetScope])).toEqual([
      [409, true, 'QuarantineState'],
      [429, true, 'QuarantineState'],
      [503, true, 'QuarantineState'],
      [204, false, 'QuarantineState'],
    ]);
    expect(cloud.control.jobActions().filter((a) => a.status === 204)).toHaveLength(1);
  });

  it('restarts inside $batch too, recorded with the batch id', async () => {
    const answer = await graphFor(cloud, CONTOSO)
      .api('/$batch')
      .post({
        requests: [
          {
            id: '1',
            method: 'POST',
            url: `${jobs}/${QUARANTINED}/restart`,
            headers: { 'Content-Type': 'application/json' },
            body: { criteria: { resetScope: 'QuarantineState' } },
          },
        ],
      });
    expect(answer.responses[0].status).toBe(204);
    expect(cloud.control.jobActions()).toEqual([
      expect.objectContaining({ status: 204, batchId: expect.any(String), scopes: ['QuarantineState'] }),
    ]);
  });
});

describe('provisionOnDemand', () => {
  async function ruleId(): Promise<string> {
    const schema = await graphFor(cloud, CONTOSO).api(`${jobs}/${QUARANTINED}/schema`).get();
    expect(schema).toMatchObject({
      id: QUARANTINED,
      synchronizationRules: [
        {
          name: 'USER_INBOUND_USER',
          sourceDirectoryName: 'Azure Active Directory',
          targetDirectoryName: 'Azure Active Directory (target tenant)',
        },
      ],
    });
    return schema.synchronizationRules[0].id as string;
  }
  const provision = async (objectId: string, rule: string) =>
    graphFor(cloud, CONTOSO)
      .api(`${jobs}/${QUARANTINED}/provisionOnDemand`)
      .post({ parameters: [{ ruleId: rule, subjects: [{ objectId, objectTypeName: 'User' }] }] });
  type Step = { name: string; type: string; status: string };

  it('provisions a user with the rule from the schema, in the documented stringKeyStringValuePair', async () => {
    const answer = await provision(OK_USER, await ruleId());
    expect(answer['@odata.context']).toBe(
      `${cloud.graphEndpoint}/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair`,
    );
    expect(JSON.parse(answer.key)).toEqual({ result: 'Success', details: {} });
    const value = JSON.parse(answer.value);
    expect(value.provisioningSteps.map((s: Step) => `${s.type}:${s.name}:${s.status}`)).toEqual([
      'Import:EntryImport:Success',
      'Scoping:EntrySynchronizationScoping:Success',
      'Matching:EntryImport:Success',
      'Matching:EntrySynchronizationAdd:Success',
      'Export:EntryExportAdd:Success',
    ]);
    expect(value).toMatchObject({
      action: 'Create',
      reportableIdentifier: 'adele@contoso.example',
      statusInfo: { status: 'Success', errorCode: null },
      sourceIdentity: { id: OK_USER, type: 'User' },
      sourceSystem: { name: 'Azure Active Directory' },
      targetSystem: { name: 'Azure Active Directory (target tenant)' },
    });
    expect(cloud.control.jobActions('provisionOnDemand')).toEqual([
      expect.objectContaining({
        status: 200,
        subject: { objectId: OK_USER, objectTypeName: 'User' },
        result: 'Success',
      }),
    ]);
  });

  it('answers the failure and the skip the scenario asks for', async () => {
    const rule = await ruleId();
    const failed = await provision(BAD_USER, rule);
    expect(JSON.parse(failed.key)).toEqual({
      result: 'Failure',
      details: {
        errorCode: 'AzureActiveDirectoryConflict',
        errorMessage: 'A user with the same userPrincipalName already exists in the target tenant.',
      },
    });
    const value = JSON.parse(failed.value);
    expect(value.statusInfo).toMatchObject({ status: 'Failure', errorCode: 'AzureActiveDirectoryConflict' });
    expect(value.provisioningSteps.at(-1)).toMatchObject({ type: 'Export', status: 'Failure' });
    const skipped = await provision(SAME_USER, rule);
    expect(JSON.parse(skipped.key)).toEqual({
      result: 'Skipped',
      details: {
        errorCode: 'RedundantExport',
        errorMessage: 'The state of the user in both the source and target systems already match.',
      },
    });
    expect(cloud.control.jobActions('provisionOnDemand').map((a) => a.result)).toEqual(['Failure', 'Skipped']);
  });

  it("answers in the cross-tenant doc's shape on demand, refuses a rule not in the schema, keeps to 5 calls per 10 s", async () => {
    const rule = await ruleId();
    const put = await fetch(`${cloud.graphEndpoint}/_emulator/provision-on-demand/${CONTOSO}`, {
      method: 'PUT',
      body: JSON.stringify({ responseShape: 'statusInfoArray' }),
    });
    expect(put.status).toBe(200);
    const answer = await provision(OK_USER, rule);
    expect(answer.key).toBe('Microsoft.Identity.Health.CPP.Common.DataContracts.SyncFabric.StatusInfo');
    expect(JSON.parse(answer.value)[0].provisioningSteps[0]).toMatchObject({ name: 'EntryImport', type: 'Import' });
    expect(failure(await graphError(provision(OK_USER, 'not-a-rule')))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: "The synchronization rule 'not-a-rule' was not found in the job's schema.",
    });
    const token = (await credentialFor(cloud, CONTOSO).getToken(`${cloud.graphEndpoint}/.default`))!.token;
    const raw = () =>
      fetch(`${cloud.graphEndpoint}/v1.0${jobs}/${QUARANTINED}/provisionOnDemand`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          parameters: [{ ruleId: rule, subjects: [{ objectId: OK_USER, objectTypeName: 'User' }] }],
        }),
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await raw()).status);
    expect(statuses).toEqual([200, 200, 200, 429]); // 2 calls above, then the documented 5 per 10 seconds
    expect(Number((await raw()).headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('validates the scenario field, naming what is wrong', () => {
    expect(scenarioWith({ provisionOnDemand: { objects: [{ objectId: OK_USER, result: 'maybe' }] } })).toThrow(
      'tenants[0].provisionOnDemand.objects[0].result: expected one of success, failure, skipped, got "maybe"',
    );
    expect(scenarioWith({ provisionOnDemand: { responseShape: 'xml' } })).toThrow(
      'tenants[0].provisionOnDemand.responseShape: expected one of graphReference, statusInfoArray, got "xml"',
    );
  });
});

function scenarioWith(extra: Record<string, unknown>): () => void {
  return () => validateScenario({ ...scenario, tenants: [{ ...scenario.tenants[0]!, ...extra }] });
}
