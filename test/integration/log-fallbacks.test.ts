import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import type { TenantCoverage } from '../../lib/model/coverage';
import type { ProvisioningEventSpec } from '../../emulators';
import { freshDemoWorld } from '../support/world';

/**
 * Where Graph may differ from its docs, the provisioning-log reader falls back and says so, through
 * the real Graph client against the emulator's query modes: a status filter Graph refuses or
 * ignores (read by time only, the failures kept on the client), a `$top` it refuses (Graph's
 * default page size), and events that arrive 40 minutes late (found by the hourly look back,
 * measured, and caught from then on by a wider overlap). Each is remembered per tenant and shown
 * in its coverage.
 */

const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const SERVICENOW_JOB = 'ServiceNowOutDelta.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e04';
const HOUR = 3600_000;

const events = (count: number, status: 'failure' | 'success', extra: Partial<ProvisioningEventSpec> = {}) => [
  {
    job: SERVICENOW_JOB,
    count,
    status,
    errorCode: status === 'failure' ? 'EntryConflict' : undefined,
    spreadMinutes: 2,
    ...extra,
  },
];

describe('provisioning-log fallbacks', () => {
  const world = freshDemoWorld('f');

  // The monitor's clock jumps ahead while the emulator's job times do not: running jobs would look stalled.
  // Every failure is an alert here (the default needs 10 an hour), so the alert's count says what was counted.
  const policy = buildPolicy(
    { rules: { 'job-stalled': { enabled: false }, 'provisioning-failures': { threshold: 1 } } },
    { emailTo: ['ops@contoso.com'] },
  );
  const deps = (extra: Partial<CycleDeps> = {}) => world().deps({ policy, ...extra });
  const later = (ms: number): Partial<CycleDeps> => ({ clock: () => new Date(Date.now() + ms) });
  const failuresCounted = async () =>
    [...(await world().deps().alerts.loadAll()).values()].find((a) => a.labels.condition === 'provisioning-failures')
      ?.annotations.failures;
  const logsCoverage = async (): Promise<TenantCoverage['provisioningLogs']> =>
    (await world().deps().coverage?.load(CONTOSO))?.coverage.provisioningLogs;
  const logRequests = () =>
    world()
      .cloud.control.requestLog()
      .filter((r) => r.tenantId === CONTOSO && r.path.endsWith('/auditLogs/provisioning'));
  const withStatusClause = () => logRequests().filter((r) => r.url.includes('provisioningStatusInfo/status'));
  const contosoLines = () => world().log.lines.filter((l) => l.includes(CONTOSO));

  it('reads by time only when Graph refuses the status filter, keeps the failures on the client, and tries the filter again a day later', async () => {
    const { control } = world().cloud;
    control.setProvisioningLogModes(CONTOSO, { statusFilter: 'refused' });
    control.addProvisioningEvents(CONTOSO, [...events(7, 'failure'), ...events(30, 'success')]);
    const first = await runCycle(deps());
    expect(first.errors).toEqual([]);
    expect(await failuresCounted()).toBe(7); // the 30 successes read by time are not failures
    expect(withStatusClause().map((r) => r.status)).toEqual([400]); // asked once, refused
    expect(contosoLines().join('\n')).toMatch(
      /provisioning logs: Graph refused the provisioningStatusInfo\/status filter \(400 BadRequest Invalid filter clause\): failures are read by time only and kept on the client; the filter is tried again every 24 h/,
    );
    const coverage = await logsCoverage();
    expect(coverage).toMatchObject({
      filter: 'time-only',
      filterFallback: { reason: 'refused', since: expect.any(String), retryAt: expect.any(String) },
    });
    expect(Date.parse(coverage!.filterFallback!.retryAt) - Date.parse(coverage!.filterFallback!.since)).toBe(24 * HOUR);

    // Remembered: the next cycles do not ask again what Graph refuses.
    control.clearLogs();
    control.addProvisioningEvents(CONTOSO, events(2, 'failure'));
    await runCycle(deps());
    expect(await failuresCounted()).toBe(9);
    expect(withStatusClause()).toEqual([]);
    expect(logRequests().length).toBeGreaterThan(0);

    // A day on, the documented filter is tried again; Graph takes it now, and says so.
    control.setProvisioningLogModes(CONTOSO, { statusFilter: 'supported' });
    control.clearLogs();
    await runCycle(deps(later(24 * HOUR + 60_000)));
    expect(withStatusClause().map((r) => r.status)).toEqual([200]);
    expect((await logsCoverage())?.filter).toBe('server');
    expect(contosoLines().join('\n')).toContain(
      'provisioning logs: Graph takes the provisioningStatusInfo/status filter again: failures are filtered by Graph',
    );
  });

  it('reads by time only when Graph ignores the status filter and answers events of every status', async () => {
    const { control } = world().cloud;
    control.setProvisioningLogModes(CONTOSO, { statusFilter: 'ignored' });
    control.addProvisioningEvents(CONTOSO, [...events(5, 'failure'), ...events(12, 'success')]);
    await runCycle(deps());
    expect(await failuresCounted()).toBe(5);
    expect(await logsCoverage()).toMatchObject({ filter: 'time-only', filterFallback: { reason: 'ignored' } });
    expect(contosoLines().join('\n')).toContain(
      "Graph ignored the provisioningStatusInfo/status filter (events of another status than failure came back for provisioningStatusInfo/status eq 'failure')",
    );
    control.clearLogs();
    await runCycle(deps());
    expect(withStatusClause()).toEqual([]);
  });

  it("falls back to Graph's default page size when Graph refuses $top, still reading every page", async () => {
    const { control } = world().cloud;
    control.setProvisioningLogModes(CONTOSO, { top: 'refused' });
    control.addProvisioningEvents(CONTOSO, events(120, 'failure')); // three pages of the emulator's default 50
    await runCycle(deps());
    expect(await failuresCounted()).toBe(120);
    const requests = logRequests();
    expect(requests.filter((r) => r.url.includes('$top')).map((r) => r.status)).toEqual([400]);
    expect(requests.filter((r) => !r.url.includes('$top') && r.status === 200).length).toBeGreaterThanOrEqual(3);
    expect(await logsCoverage()).toMatchObject({ pageSize: 'default', topFallback: { retryAt: expect.any(String) } });
    expect(contosoLines().join('\n')).toContain(
      "provisioning logs: Graph refused $top=500 (400 BadRequest Query option 'Top' is not allowed.",
    );
    control.clearLogs();
    control.addProvisioningEvents(CONTOSO, events(3, 'failure'));
    await runCycle(deps());
    expect(await failuresCounted()).toBe(123);
    expect(logRequests().filter((r) => r.url.includes('$top'))).toEqual([]);
  });

  it('finds events 40 minutes late by the hourly look back, measures how late they were, and widens the overlap to catch the next ones', async () => {
    const { control } = world().cloud;
    expect((await runCycle(deps())).errors).toEqual([]);

    // Later than the 15-minute overlap: a plain read does not see them.
    control.addProvisioningEvents(CONTOSO, events(3, 'failure', { minutesAgo: 40, spreadMinutes: 0 }));
    await runCycle(deps());
    expect(await failuresCounted()).toBeUndefined();

    // The look back (hourly; due now, as an hour on would make it) finds and counts them, and measures them.
    const lookBack = deps();
    await runCycle({ ...lookBack, logs: { ...lookBack.logs!, read: { lateCheckEveryMs: 0 } } });
    expect(await failuresCounted()).toBe(3);
    expect(contosoLines().join('\n')).toMatch(
      /provisioning logs: events arrived up to 40 min late: each read now starts 1 h( 5 min)? before the last \(was 15 min\)/,
    );
    const coverage = await logsCoverage();
    expect(coverage?.lateness?.maxMs).toBeGreaterThanOrEqual(40 * 60_000);
    expect(coverage?.lateness?.maxMs).toBeLessThan(41 * 60_000);
    expect(coverage?.overlapMs).toBeGreaterThanOrEqual(60 * 60_000);
    expect(coverage?.maxOverlapMs).toBe(2 * HOUR);

    // From now on a plain read (no look back due) catches events as late as that.
    control.addProvisioningEvents(CONTOSO, events(2, 'failure', { minutesAgo: 40, spreadMinutes: 0 }));
    await runCycle(deps());
    expect(await failuresCounted()).toBe(5);
  });
});
