import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCycle } from '../../lib/cycle/cycle';
import { type CyclePoint } from '../../lib/model';
import { buildPolicy } from '../../lib/config/config';
import { formatSummary } from '../../lib/app';
import { expectEachOnce } from '../support/notices';
import { policy, route } from '../support/policy';
import { freshStart, NORTHWIND, NORTHWIND_JOB, quarantine, recover } from '../support/demo';
import { Crash, crashAt } from '../support/crash';
import { startWorld, type World } from '../support/world';

const POINTS: CyclePoint[] = ['evaluated', 'state-written', 'planned', 'sent', 'recorded'];

describe('delivery', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());
  beforeEach(() => freshStart(world, 'd'));

  const trip = () => quarantine(world);
  /** What each email was, as mail rules read it: its X-Entra-Sync-Watch-Kind header. */
  const subjects = () => world.cloud.acs.messages().map((m) => m.headers?.['X-Entra-Sync-Watch-Kind']);
  /** Two alerts for two sets of people: a deletion hold at Contoso (ops), a quarantine at Northwind (its own route). */
  const twoEmails = (budget?: { perMinute: number; perHour: number }) => {
    trip();
    quarantine(world, NORTHWIND, NORTHWIND_JOB, { reason: 'EncounteredQuarantineException' });
    return policy({
      ...(budget ? { budget } : {}),
      route: route('root', {
        routes: [route('root.0', { match: { tenant: NORTHWIND }, to: ['northwind@contoso.com'] })],
      }),
    });
  };

  it.each(POINTS)(
    'a cycle stopped at "%s" neither loses nor doubles the firing and the resolved notice',
    async (point) => {
      trip();
      await expect(runCycle(world.deps(crashAt(point)))).rejects.toBeInstanceOf(Crash);
      await runCycle(world.deps());
      await runCycle(world.deps());
      expect(subjects()).toEqual(['firing']);

      recover(world);
      await expect(runCycle(world.deps(crashAt(point)))).rejects.toBeInstanceOf(Crash);
      const next = await runCycle(world.deps());
      expect(next.errors).toEqual([]);
      await runCycle(world.deps());
      expect(subjects()).toEqual(['firing', 'resolved']);
    },
  );

  it('two instances running a cycle at once send each email once', async () => {
    trip();
    const [a, b] = await Promise.all([runCycle(world.deps()), runCycle(world.deps())]);
    expect(a.notificationsSent + b.notificationsSent).toBe(1);
    recover(world);
    await Promise.all([runCycle(world.deps()), runCycle(world.deps()), runCycle(world.deps())]);
    expect(subjects()).toEqual(['firing', 'resolved']);
  });

  it('a second plan of a notice already sent (a planner whose lease ran out mid-write) is dropped, not sent again', async () => {
    trip();
    await runCycle(world.deps());
    expect(subjects()).toEqual(['firing']);
    const deps = world.deps();
    const [alert] = [...(await deps.alerts.loadAll()).values()];
    const [routeId] = Object.keys(alert!.notified);
    const firing = {
      key: `${alert!.fingerprint}:${routeId}:firing:${alert!.startsAt}`,
      fingerprint: alert!.fingerprint,
      routeId: routeId!,
      kind: 'firing' as const,
      startsAt: alert!.startsAt!,
      material: alert!.material,
    };
    const reminderOwed = { ...firing, key: `${firing.key}:later`, kind: 'reminder' as const, reminder: 1 };
    // The stale plan, as the late outbox write would leave it: the sent notice, and one still owed.
    await deps.outbox.plan({
      key: 'stale-plan',
      recipients: { to: ['ops@contoso.com'] },
      items: [firing, reminderOwed],
      plannedAt: new Date().toISOString(),
      failedAttempts: 0,
    });
    await deps.outbox.plan({
      key: 'stale-plan-sent',
      recipients: { to: ['ops@contoso.com'] },
      items: [firing],
      plannedAt: new Date().toISOString(),
      failedAttempts: 0,
    });

    const next = await runCycle(world.deps());
    expect(next.errors).toEqual([]);
    // The fully sent plan leaves unsent; the other goes with only the notice still owed.
    expect(subjects()).toEqual(['firing', 'reminder']);
    expect(await deps.outbox.list()).toEqual([]);
  });

  it('an email ACS refuses is kept and sent next cycle', async () => {
    trip();
    world.cloud.acs.injectFault({ status: 400, times: 1, path: 'send' });
    const failed = await runCycle(world.deps());
    expect(failed.errors.join()).toMatch(/sending ".*" failed, will retry next cycle/);
    expect(failed.notificationsPending).toBe(1);
    expect(world.cloud.acs.messages()).toHaveLength(0);

    const retried = await runCycle(world.deps());
    expect(retried.errors).toEqual([]);
    expect(retried.notificationsSent).toBe(1);
    expect(world.cloud.acs.messages()).toHaveLength(1);
  });

  it('an email ACS accepts and then drops is sent again under a new Operation-Id', async () => {
    trip();
    world.cloud.acs.injectFault({ status: 202, times: 1, operationStatus: 'Failed' });
    const failed = await runCycle(world.deps());
    expect(failed.errors.join()).toContain('EmailDropped');
    expect(world.cloud.acs.messages()).toHaveLength(0);

    await runCycle(world.deps());
    expect(world.cloud.acs.messages()).toHaveLength(1);
    const ids = world.cloud.acs
      .requests()
      .filter((r) => r.method === 'POST')
      .map((r) => r.operationId);
    expect(new Set(ids).size).toBe(2);
  });

  it('with ACS down the state still moves, and the notices go out in order once it is back', async () => {
    trip();
    world.cloud.acs.injectFault({ status: 503, retryAfterSeconds: 0, times: 100, path: 'send' });
    const down = await runCycle(world.deps());
    expect(down.alertsFiring).toBe(1);
    recover(world);
    const stillDown = await runCycle(world.deps());
    expect(stillDown.alertsFiring).toBe(0);
    expect(stillDown.notificationsPending).toBe(1); // the firing notice; the resolved one waits until the firing one is out

    world.cloud.acs.reset();
    await runCycle(world.deps());
    await runCycle(world.deps());
    expect(subjects()).toEqual(['firing', 'resolved']);
  });

  it('keeps within the send budget and defers the rest without losing any', async () => {
    let now = new Date('2026-11-27T12:00:00Z');
    const routed = twoEmails({ perMinute: 1, perHour: 100 });
    const deps = () => world.deps({ policy: routed, clock: () => now });
    const first = await runCycle(deps());
    expect([first.notificationsSent, first.notificationsPending]).toEqual([1, 1]);
    const sameMinute = await runCycle(deps());
    expect(sameMinute.notificationsSent).toBe(0);
    now = new Date(now.getTime() + 61_000);
    const later = await runCycle(deps());
    expect([later.notificationsSent, later.notificationsPending]).toEqual([1, 0]);
    expect(
      world.cloud.acs
        .messages()
        .map((m) => m.to[0]!.address)
        .sort(),
    ).toEqual(['northwind@contoso.com', 'ops@contoso.com']);
  });

  it('an ACS 429 is the budget running out: no more sends until Retry-After, on every instance, nothing lost or doubled', async () => {
    let now = new Date();
    const routed = twoEmails();
    world.cloud.acs.injectFault({ status: 429, retryAfterSeconds: 120, times: 1, path: 'send' });
    const deps = () => world.deps({ policy: routed, clock: () => now });
    const sendRequests = () => world.cloud.acs.requests().filter((r) => r.path.includes('emails:send')).length;

    const throttled = await runCycle(deps());
    expect([throttled.notificationsSent, throttled.notificationsPending]).toEqual([0, 2]);
    expect(throttled.errors).toEqual([]);
    expect(throttled.emailBudgetSpent).toEqual({
      at: 'ACS',
      sendsResumeAt: new Date(now.getTime() + 120_000).toISOString(),
    });
    expect(formatSummary(throttled)).toContain('the email budget ran out at ACS');
    expect(world.log.lines.join('\n')).toMatch(/ACS answered 429 .*2 email\(s\) wait/);
    expect(sendRequests()).toBe(1); // the second email was not tried into the same 429

    // Another instance, a minute later: ACS's Retry-After still holds, so nothing is sent or tried.
    now = new Date(now.getTime() + 60_000);
    const held = await runCycle(deps());
    expect([held.notificationsSent, held.notificationsPending]).toEqual([0, 2]);
    expect(held.emailBudgetSpent?.at).toBe('ACS');
    expect(sendRequests()).toBe(1);

    now = new Date(now.getTime() + 61_000);
    const resumed = await runCycle(deps());
    expect([resumed.notificationsSent, resumed.notificationsPending]).toEqual([2, 0]);
    expect(resumed.emailBudgetSpent).toBeUndefined();
    await runCycle(deps());
    expectEachOnce(world.cloud.acs.messages(), 2);
  });

  it('forgets an alert a week after it resolved, and a new trip then starts afresh', async () => {
    let now = new Date('2026-11-27T12:00:00Z');
    // The monitor's clock runs a week past the emulator's, to which every running job would look stalled.
    const noStalls = buildPolicy({ rules: { 'job-stalled': { enabled: false } } }, { emailTo: ['ops@contoso.com'] });
    const deps = () => world.deps({ clock: () => now, policy: noStalls });
    trip();
    await runCycle(deps());
    recover(world);
    now = new Date(now.getTime() + 3600_000);
    await runCycle(deps());
    expect((await deps().alerts.loadAll()).size).toBe(1);

    now = new Date(now.getTime() + 7 * 24 * 3600_000 - 60_000);
    await runCycle(deps());
    expect((await deps().alerts.loadAll()).size).toBe(1); // not yet a week
    now = new Date(now.getTime() + 120_000);
    await runCycle(deps());
    expect((await deps().alerts.loadAll()).size).toBe(0);

    trip();
    await runCycle(deps());
    expect(subjects()).toEqual(['firing', 'resolved', 'firing']);
  });
});
