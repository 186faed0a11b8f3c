import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { runCycle } from '../../lib/cycle/cycle';
import { DiscoveryStore } from '../../lib/store/discovery-store';
import type { Scenario } from '../../emulators';
import { startWorld, type World } from '../support/world';

/**
 * Discovery through the real Graph SDK and Table Storage: a sweep pages through every service
 * principal, probes those with an application template 20 per $batch, keeps what owns jobs in
 * Table Storage and reads only those until the next daily sweep; a tenant new to the monitor is
 * swept at once; a listed service principal is read whatever its template; a revoked
 * Application.Read.All degrades discovery without blinding the monitor.
 */

const WINGTIP = '5d15c0e5-0000-4000-8000-000000000001';
const PROSEWARE = '5d15c0e5-0000-4000-8000-000000000002';
const CLOUD_SYNC = '5d150000-0000-4000-8000-000000000001';
const LEGACY = '5d150000-0000-4000-8000-000000000002';
const LATE = '5d150000-0000-4000-8000-000000000003';
const HOUR = 3600_000;

function scenario(): Scenario {
  return {
    name: 'discovery',
    app: { clientId: 'd15c0000-0000-4000-8000-00000000d15c', clientSecret: 'discovery-secret~1' },
    tenants: [
      {
        id: WINGTIP,
        displayName: 'Wingtip',
        grants: ['Application.Read.All', 'Synchronization.Read.All'],
        servicePrincipals: [
          {
            id: CLOUD_SYNC,
            appId: '5d151111-0000-4000-8000-000000000001',
            displayName: 'wingtip.local',
            applicationTemplateId: '1a4721b3-e57f-4451-ae87-ef078703ec94',
            jobs: [
              { id: 'AD2AADProvisioning.wingtip', templateId: 'AD2AADProvisioning', state: 'healthy' },
              { id: 'AD2AADPasswordHash.wingtip', templateId: 'AD2AADPasswordHash', state: 'healthy' },
            ],
          },
          // Made before application templates existed: found only because the config lists it.
          {
            id: LEGACY,
            appId: '5d151111-0000-4000-8000-000000000002',
            displayName: 'Old HR connector',
            applicationTemplateId: null,
            jobs: [{ id: 'customappsso.wingtip', templateId: 'customappsso', state: 'healthy' }],
          },
          // A gallery app whose provisioning is set up after the first sweep.
          {
            id: LATE,
            appId: '5d151111-0000-4000-8000-000000000003',
            displayName: 'Late SCIM app',
            applicationTemplateId: '8adf8e6e-67b2-4cf2-a259-e3dc5476c621',
            jobs: [],
          },
        ],
        // 25 cross-tenant configurations among 1,100 first-party apps and 30 SSO-only gallery apps: two pages of 999.
        generated: { count: 25, displayNamePrefix: 'Partner', state: 'healthy', plainApps: 1100, ssoApps: 30 },
      },
      {
        id: PROSEWARE,
        displayName: 'Proseware',
        grants: ['Application.Read.All', 'Synchronization.Read.All'],
        servicePrincipals: [],
        generated: { count: 1, displayNamePrefix: 'Contoso to Proseware', state: 'healthy' },
      },
    ],
  } as Scenario;
}

describe('discovery of every service principal that owns synchronization jobs', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(scenario());
  });
  afterAll(() => world.stop());

  it('sweeps with paging and batches, reads only the known ones until the next daily sweep, and sweeps a new tenant at once', async () => {
    const { control } = world.cloud;
    const t0 = new Date('2026-11-27T06:00:00Z');
    let now = t0;
    const policy = buildPolicy(
      {
        discovery: { refreshInterval: '1d', servicePrincipals: { [WINGTIP]: [LEGACY] } },
        // The monitor's clock runs a day past the emulator's, to which running jobs would look stalled.
        rules: { 'job-stalled': { enabled: false } },
      },
      { emailTo: ['ops@contoso.com'] },
    );
    const deps = (tenants: string[]) =>
      world.deps({
        policy,
        clock: () => now,
        targets: tenants.map((tenantId) => ({ tenantId, tokenTenant: tenantId })),
      });
    const requests = (tenantId: string) => control.requestLog().filter((r) => r.tenantId === tenantId);
    const lists = (tenantId: string) =>
      requests(tenantId).filter((r) => !r.batchId && r.path === '/v1.0/servicePrincipals');
    const batchesOf = (tenantId: string, suffix: string) =>
      new Set(
        requests(tenantId)
          .filter((r) => r.batchId && r.path.endsWith(suffix))
          .map((r) => r.batchId),
      ).size;

    // 1. First cycle: the sweep.
    const first = await runCycle(deps([WINGTIP]));
    expect(first.errors).toEqual([]);
    expect(first.jobsSeen).toBe(25 + 2 + 1);
    expect(lists(WINGTIP).map((r) => r.url.includes('$skiptoken'))).toEqual([false, true]);
    expect(lists(WINGTIP)[0]!.url).toContain('$select=id,appId,displayName,applicationTemplateId');
    // Probed: 25 cross-tenant, 30 SSO-only, Cloud Sync, the late app, the listed one = 58 → 3 batches; secrets of the 27 with jobs → 2.
    expect(requests(WINGTIP).filter((r) => r.batchId && r.path.endsWith('/synchronization/jobs'))).toHaveLength(58);
    expect(batchesOf(WINGTIP, '/synchronization/jobs')).toBe(3);
    expect(batchesOf(WINGTIP, '/synchronization/secrets')).toBe(2);
    expect(world.log.lines).toContain(
      `info: tenant ${WINGTIP}: discovery sweep: 58 service principal(s) probed, 27 watched`,
    );
    const cache = new DiscoveryStore(
      TableClient.fromConnectionString(inject('storageConnectionString'), `${world.tableName}discovery`, {
        allowInsecureConnection: true,
      }),
    );
    const swept = await cache.load(WINGTIP);
    expect(swept?.sweptAt).toBe(t0.toISOString());
    expect(swept?.servicePrincipals).toHaveLength(27);
    expect(swept?.servicePrincipals.find((sp) => sp.id === CLOUD_SYNC)?.jobsFirstSeen).toEqual({
      'AD2AADProvisioning.wingtip': t0.toISOString(),
      'AD2AADPasswordHash.wingtip': t0.toISOString(),
    });

    // 2. An hour later, Proseware is added to the watched tenants and the late app gets a job:
    //    Wingtip reads only its 27 known configurations; Proseware, new, is swept at once.
    control.clearLogs();
    control.addJob(WINGTIP, LATE, { id: 'scim.late', templateId: 'scim', state: 'healthy' });
    now = new Date(t0.getTime() + HOUR);
    const second = await runCycle(deps([WINGTIP, PROSEWARE]));
    expect(second.errors).toEqual([]);
    expect(lists(WINGTIP)).toHaveLength(0);
    expect(batchesOf(WINGTIP, '/synchronization/jobs')).toBe(2);
    expect(requests(WINGTIP).filter((r) => r.path.includes(LATE))).toHaveLength(0);
    expect(lists(PROSEWARE)).toHaveLength(1);
    expect(second.jobsSeen).toBe(28 + 1);

    // 3. A day after the first sweep, the next one finds the late app.
    control.clearLogs();
    now = new Date(t0.getTime() + 24.5 * HOUR);
    const third = await runCycle(deps([WINGTIP, PROSEWARE]));
    expect(lists(WINGTIP)).toHaveLength(2);
    expect(lists(PROSEWARE)).toHaveLength(0); // swept an hour later than Wingtip: not due yet
    expect(third.jobsSeen).toBe(29 + 1);
    expect((await cache.load(WINGTIP))?.servicePrincipals.find((sp) => sp.id === LATE)?.jobsFirstSeen).toEqual({
      'scim.late': now.toISOString(),
    });

    // 4. Application.Read.All is withdrawn: the next sweep cannot list, so the known ones are still
    //    read; that is named once, and the tenant is neither unreadable nor the cycle incomplete.
    control.setGrants(WINGTIP, ['Synchronization.Read.All']);
    control.clearLogs();
    world.log.lines.length = 0;
    now = new Date(t0.getTime() + 50 * HOUR);
    const fourth = await runCycle(deps([WINGTIP]));
    expect(fourth.tenantsUnreadable).toEqual([]);
    expect(fourth.errors).toEqual([]);
    expect(fourth.jobsSeen).toBe(29);
    const named = world.log.lines.filter((l) => l.includes('servicePrincipals not read'));
    expect(named).toHaveLength(1);
    expect(named[0]).toMatch(
      /^warn: tenant 5d15c0e5-0000-4000-8000-000000000001: servicePrincipals not read \(403 Authorization_RequestDenied: .* \(likely missing Application\.Read\.All\)\): new configurations are not discovered; the 28 found by the sweep of 2026-11-28T06:30:00\.000Z and the listed ones are watched$/,
    );
  });
});
