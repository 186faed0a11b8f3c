import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { runCycle } from '../../lib/cycle/cycle';
import type { Scenario } from '../../emulators';
import { withoutSince } from '../support/subjects';
import { demoScenario, startWorld, type World } from '../support/world';
import { CONTOSO, NORTHWIND } from '../support/demo';

const FABRIKAM_SP = '11a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601';
/** Consented, but only Application.Read.All: Graph answers the job reads 401 UnknownError. */
const LITWARE = 'c0ffee00-1111-4222-8333-444455556666';
/** Consented with no application permission: the service principal list is 403. */
const ADATUM = 'c0ffee00-1111-4222-8333-777788889999';

function scenarioWithBrokenTenants(): Scenario {
  const scenario = demoScenario();
  const sp = (id: string) => ({
    id,
    appId: id.replace(/^c0ffee00/, 'a0ffee00'),
    displayName: 'Contoso to Litware',
    applicationTemplateId: '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7',
    jobs: [
      {
        id: `Azure2Azure.${id.replace(/-/g, '')}.00000000-0000-4000-8000-000000000001`,
        templateId: 'Azure2Azure',
        state: 'healthy',
      },
    ],
  });
  scenario.tenants.push(
    {
      id: LITWARE,
      displayName: 'Litware',
      grants: ['Application.Read.All'],
      servicePrincipals: [sp('c0ffee00-2222-4222-8333-000000000001')],
    } as Scenario['tenants'][number],
    {
      id: ADATUM,
      displayName: 'Adatum',
      grants: [],
      servicePrincipals: [sp('c0ffee00-2222-4222-8333-000000000002')],
    } as Scenario['tenants'][number],
  );
  return scenario;
}

describe('a cycle against the private cloud (real SDKs over HTTPS, Azurite)', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(scenarioWithBrokenTenants());
  });
  afterAll(() => world.stop());

  it('plays trip, repeat and recovery: one email each for trip and resolve, and reports unreadable tenants once', async () => {
    const { cloud } = world;
    const subjects = () => cloud.acs.messages().map((m) => m.subject);

    // Healthy Contoso and Northwind (with a never-run job, which is no alert); Litware and Adatum cannot be read.
    const first = await runCycle(world.deps());
    expect(first.tenantsChecked).toBe(4);
    expect(first.jobsSeen).toBe(9); // Contoso's three cross-tenant jobs, ServiceNow, Acme and three Cloud Sync jobs + Northwind's
    expect(first.tenantsUnreadable.sort()).toEqual([ADATUM, LITWARE].sort());
    expect(first.errors.join('\n')).toContain(`tenant ${LITWARE}: cannot monitor: 401 UnknownError`);
    expect(first.errors.join('\n')).toContain('likely missing Synchronization.Read.All');
    expect(first.errors.join('\n')).toContain(
      `tenant ${ADATUM}: cannot monitor: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation.`,
    );
    expect(first.errors.join('\n')).toContain('likely missing Application.Read.All');
    // Both in one email: the same people, the same cycle.
    expect(subjects()).toHaveLength(1);
    expect(subjects()[0]).toMatch(/^c0ffee00-1111-4222-8333-\d{12} \+1 tenant: Cannot monitor \(\+1 more\)$/);
    expect(cloud.acs.messages()[0]!.plainText).toContain(LITWARE);
    expect(cloud.acs.messages()[0]!.plainText).toContain(ADATUM);
    expect(cloud.acs.messages()[0]!.plainText).toContain('Likely missing: Synchronization.Read.All');
    expect(cloud.acs.messages()[0]!.plainText).toContain('Likely missing: Application.Read.All');

    cloud.control.step('deletion-threshold-tripped');
    const second = await runCycle(world.deps());
    expect(second.notificationsSent).toBe(1);
    expect(subjects()).toHaveLength(2);
    const trip = cloud.acs.messages()[1]!;
    expect(withoutSince(trip.subject)).toBe(`${CONTOSO}: Deletion threshold tripped: Fabrikam to Contoso`);
    expect(trip.to).toEqual([{ address: 'ops@contoso.com' }]);
    expect(trip.plainText).toContain('612 deletions are pending');
    expect(trip.plainText).toContain(`POST /servicePrincipals/${FABRIKAM_SP}/synchronization/jobs/`);
    expect(trip.html).toContain('Deletion threshold tripped');
    expect(existsSync(trip.emlPath!)).toBe(true);
    expect(readFileSync(trip.htmlPath!, 'utf8')).toContain('Fabrikam to Contoso');

    cloud.control.step('still-quarantined');
    const third = await runCycle(world.deps());
    expect(third.notificationsSent).toBe(0);
    expect(third.alertsFiring).toBe(3);

    cloud.control.step('recovered');
    const fourth = await runCycle(world.deps());
    expect(fourth.notificationsSent).toBe(1);
    expect(cloud.acs.messages()[2]!.subject).toBe(`Re: ${trip.subject}`);
    expect(cloud.acs.messages()[2]!.plainText).toMatch(/^Deletion hold cleared at .* UTC, after \d+ (s|min)\./m);
    expect(subjects()).toHaveLength(3);

    // The unreadable tenants' alerts were neither re-sent nor resolved; granting the permission resolves them.
    cloud.control.setGrants(LITWARE, ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All']);
    const fifth = await runCycle(world.deps());
    expect(fifth.tenantsUnreadable).toEqual([ADATUM]);
    expect(withoutSince(cloud.acs.messages().at(-1)!.subject)).toBe(`Re: ${LITWARE}: Cannot monitor`);
    expect(cloud.acs.messages().at(-1)!.headers?.['X-Entra-Sync-Watch-Kind']).toBe('resolved');
    expect(cloud.acs.messages().at(-1)!.plainText).toMatch(/^Can be read again at .* UTC, after \d+ (s|min)\./m);
    expect(subjects()).toHaveLength(4);
  });
});

describe('faults', () => {
  let world: World;
  beforeAll(async () => {
    const scenario = demoScenario();
    scenario.timeline = [];
    // 45 cross-tenant service principals: three $batch calls of at most 20.
    (scenario.tenants[1] as { generated?: unknown }).generated = {
      count: 44,
      displayNamePrefix: 'Partner',
      state: 'healthy',
    };
    world = await startWorld(scenario);
  });
  afterEach(() => {
    world.cloud.control.reset();
    world.tableName = `f${Math.random().toString(36).slice(2)}`; // fresh alerts and discovery cache: each test sweeps
  });
  afterAll(() => world.stop());

  it('reads 20 service principals per $batch', async () => {
    const summary = await runCycle(world.deps());
    expect(summary.errors).toEqual([]);
    expect(summary.jobsSeen).toBe(8 + 45);
    // Northwind's 45 service principals: their jobs in three $batch calls, then their secrets in three more.
    const inner = world.cloud.control.requestLog().filter((r) => r.tenantId === NORTHWIND && r.batchId);
    const batchesOf = (suffix: string) =>
      new Set(inner.filter((r) => r.path.endsWith(suffix)).map((r) => r.batchId)).size;
    expect(batchesOf('/synchronization/jobs')).toBe(3);
    expect(batchesOf('/synchronization/secrets')).toBe(3);
  });

  it('honours Retry-After on a 429 and retries a 503, at the top level and inside a $batch', async () => {
    const { control } = world.cloud;
    control.injectFault({
      status: 429,
      retryAfterSeconds: 1,
      times: 1,
      tenantId: CONTOSO,
      pathIncludes: '/servicePrincipals?',
    });
    control.injectFault({
      status: 503,
      retryAfterSeconds: 0,
      times: 1,
      tenantId: NORTHWIND,
      pathIncludes: '/servicePrincipals?',
    });
    control.injectFault({ status: 429, retryAfterSeconds: 1, times: 2, tenantId: CONTOSO, inBatch: true });
    control.injectFault({ status: 503, times: 1, tenantId: NORTHWIND, inBatch: true });
    const started = Date.now();
    const summary = await runCycle(world.deps());
    expect(summary.errors).toEqual([]);
    expect(summary.jobsSeen).toBe(8 + 45);
    expect(control.pendingFaults()).toEqual([]);
    const contosoList = control
      .requestLog()
      .filter((r) => r.tenantId === CONTOSO && r.path.endsWith('/servicePrincipals'));
    expect(contosoList.map((r) => r.status)).toEqual([429, 200]);
    const innerStatuses = control
      .requestLog()
      .filter((r) => r.tenantId === CONTOSO && r.batchId)
      .map((r) => r.status);
    expect(innerStatuses.filter((s) => s === 429)).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // Retry-After: 1 was waited for
  });

  it("holds a service principal's alerts when its jobs keep failing, and still checks the rest", async () => {
    const { control } = world.cloud;
    control.setJob(CONTOSO, 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01', {
      state: 'quarantined',
      quarantine: {
        reason: 'EncounteredQuarantineException',
        errorCode: 'AzureDirectoryB2BManagementPolicyCheckFailure',
        errorMessage: 'Policy permitting auto-redemption of invitations not configured',
      },
    });
    const deps = world.deps();
    const fired = await runCycle(deps);
    expect(fired.alertsFiring).toBe(1);
    const sent = world.cloud.acs.messages().length;

    control.setJob(CONTOSO, 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01', {
      state: 'healthy',
    });
    control.injectFault({ status: 503, times: 50, tenantId: CONTOSO, inBatch: true, pathIncludes: FABRIKAM_SP });
    const held = await runCycle({ ...deps, observe: { batchRetries: 1, maxRetryAfterSeconds: 0 } });
    expect(held.errors.join('\n')).toContain('jobs of "Fabrikam to Contoso"');
    expect(held.alertsFiring).toBe(1); // not resolved on missing evidence
    expect(held.jobsSeen).toBe(7 + 45);
    expect(world.cloud.acs.messages()).toHaveLength(sent);
  });
});
