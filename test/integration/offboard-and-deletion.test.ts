import { withoutSince } from '../support/subjects';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import type { Target } from '../../lib/cycle/observe';
import { readStatus } from '../../lib/status/status';
import { renderStatusPage } from '../../lib/status/page';
import { startWorld, type World } from '../support/world';

/**
 * Alerts whose subject leaves: a tenant taken out of WATCH_TENANTS (issue 16, defect 5), and a
 * configuration that disappears from Graph, for a moment or for good (defect 6). Neither is a
 * recovery, and a moment's absence is not an end.
 */

const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const NORTHWIND = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
const NORTHWIND_JOB = 'Azure2Azure.8d1b6e425c3a4f7eb9d02a4c6e8f0b1d.7d2e1f3a-9b4c-4d6e-8f0a-1b2c3d4e5f01';
const FABRIKAM_SP = '11a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601';
const FABRIKAM_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01';
const MINUTE = 60_000;

const target = (tenantId: string): Target => ({ tenantId, tokenTenant: tenantId });

describe('alerts whose tenant or configuration leaves', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    world.cloud.control.reset();
    world.cloud.acs.reset();
    world.tableName = `ob${Math.random().toString(36).slice(2)}`;
  });

  const t0 = Date.now();
  const at = (ms: number) => new Date(t0 + ms);
  const northwindEmails = () => world.cloud.acs.messages().filter((m) => m.subject.includes('Contoso to Northwind'));
  const quarantineNorthwind = () =>
    world.cloud.control.setJob(NORTHWIND, NORTHWIND_JOB, {
      state: 'quarantined',
      quarantine: { reason: 'EncounteredQuarantineException' },
    });

  it('a tenant taken out of WATCH_TENANTS: its alerts end "no longer watched", reminders stop, the status page drops them, its state is forgotten', async () => {
    quarantineNorthwind();
    const both = [target(CONTOSO), target(NORTHWIND)];
    const cycle = (targets: Target[], ms: number, extra: Partial<CycleDeps> = {}) =>
      runCycle(world.deps({ targets, clock: () => at(ms), ...extra }));
    expect((await cycle(both, 0)).errors).toEqual([]);
    expect(northwindEmails().map((m) => withoutSince(m.subject))).toEqual([
      '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d: Quarantined: Contoso to Northwind',
    ]);
    const d = world.deps();
    expect(await d.discovery?.load(NORTHWIND)).toBeDefined();
    expect(await d.logs?.store.load(NORTHWIND)).toBeDefined();
    expect((await d.histories?.load(NORTHWIND))?.size).toBeGreaterThan(0);

    // Northwind leaves the config (WATCH_TENANTS now lists Contoso alone).
    const after = await cycle([target(CONTOSO)], 5 * MINUTE);
    expect(after.errors).toEqual([]);
    const ended = northwindEmails()[1];
    expect(ended?.subject).toMatch(/^Re: 8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d: Quarantined: Contoso to Northwind/);
    expect(ended?.headers?.['X-Entra-Sync-Watch-Kind']).toBe('ended');
    expect(ended?.plainText).toMatch(/^ENDED \(NO LONGER WATCHED\)\n/);
    expect(ended?.plainText).toMatch(/No longer watched/);
    expect(ended?.plainText).not.toMatch(/Resolved|left quarantine/);

    // Past the 4 h repeat interval: no reminder; the status page lists nothing of Northwind.
    await cycle([target(CONTOSO)], 5 * 3600_000);
    expect(northwindEmails()).toHaveLength(2);
    const view = await readStatus(d, { now: at(5 * 3600_000) });
    expect(view.firing.filter((a) => a.tenantId === NORTHWIND)).toEqual([]);
    expect(renderStatusPage(view)).not.toContain('Contoso to Northwind');

    // What the monitor kept about the tenant goes with it.
    expect(await d.discovery?.load(NORTHWIND)).toBeUndefined();
    expect(await d.logs?.store.load(NORTHWIND)).toBeUndefined();
    expect((await d.histories?.load(NORTHWIND))?.size).toBe(0);

    // A week on, its rows are forgotten like resolved alerts.
    await cycle([target(CONTOSO)], 8 * 24 * 3600_000);
    expect([...(await d.alerts.loadTenant(NORTHWIND)).values()]).toEqual([]);
  });

  it('a configuration that vanishes for one read (a 404, an empty job list) is unknown, not deleted; one gone on the next read too ends as gone', async () => {
    world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, {
      state: 'quarantined',
      quarantine: { reason: 'TooManyDeletes' },
    });
    const targets = [target(CONTOSO)];
    const cycle = (ms: number) => runCycle(world.deps({ targets, clock: () => at(ms) }));
    const fabrikamEmails = () => world.cloud.acs.messages().filter((m) => m.subject.includes('Fabrikam to Contoso'));
    const d = world.deps();
    const hold = async () =>
      [...(await d.alerts.loadTenant(CONTOSO)).values()].find((a) => a.labels.condition === 'deletion-threshold');

    await cycle(0);
    expect(fabrikamEmails().map((m) => withoutSince(m.subject))).toEqual([
      '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b: Deletion threshold tripped: Fabrikam to Contoso',
    ]);

    // Graph answers 404 for the configuration's jobs once: not seen on this read; confirming.
    world.cloud.control.injectFault({
      status: 404,
      times: 1,
      inBatch: true,
      tenantId: CONTOSO,
      pathIncludes: `/servicePrincipals/${FABRIKAM_SP}/synchronization/jobs`,
    });
    const blip = await cycle(5 * MINUTE);
    expect(fabrikamEmails()).toHaveLength(1);
    expect(await hold()).toMatchObject({ state: 'firing', missingSince: at(5 * MINUTE).toISOString() });
    expect(world.log.lines.join('\n')).toMatch(/"Fabrikam to Contoso" .*not seen on the last read .*confirming/);
    const view = await readStatus(d, { now: at(5 * MINUTE) });
    expect(renderStatusPage(view)).toContain('not seen on the last read');
    expect(blip.alertsFiring).toBeGreaterThan(0);

    // The next read finds it again: no resolved notice, no new firing notice.
    await cycle(10 * MINUTE);
    expect(fabrikamEmails()).toHaveLength(1);
    expect(await hold()).toMatchObject({ state: 'firing' });
    expect((await hold())?.missingSince).toBeUndefined();

    // An empty job list for one read, then the job is back: still nothing sent.
    const spec = world.cloud.control.removeJob(CONTOSO, FABRIKAM_JOB);
    await cycle(15 * MINUTE);
    world.cloud.control.addJob(CONTOSO, FABRIKAM_SP, spec);
    await cycle(20 * MINUTE);
    expect(fabrikamEmails()).toHaveLength(1);
    expect(await hold()).toMatchObject({ state: 'firing' });

    // Deleted for real: missing on this read, and on the next one a cycle later: it ends, as gone.
    world.cloud.control.removeJob(CONTOSO, FABRIKAM_JOB);
    await cycle(25 * MINUTE);
    expect(fabrikamEmails()).toHaveLength(1);
    await cycle(30 * MINUTE);
    const subjects = fabrikamEmails().map((m) => m.subject);
    expect(subjects).toHaveLength(2);
    expect(fabrikamEmails()[1]?.headers?.['X-Entra-Sync-Watch-Kind']).toBe('ended');
    expect(subjects[1]).toMatch(
      /^Re: 3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b: Deletion threshold tripped: Fabrikam to Contoso/,
    );
    expect(fabrikamEmails()[1]?.plainText).toContain('the configuration is gone');
    expect(fabrikamEmails()[1]?.plainText).not.toMatch(/Resolved|recovered/);
    expect(await hold()).toMatchObject({ state: 'resolved', endReason: 'configuration-gone' });
  });
});
