import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpPoster } from '../../lib/clients/http-poster';
import { buildPolicy } from '../../lib/config/config';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import type { CyclePoint } from '../../lib/model';
import { CONTOSO, emailSubjects, freshStart, NORTHWIND, NORTHWIND_JOB, quarantine, recover } from '../support/demo';
import { Crash, crashAt } from '../support/crash';
import { startWorld, type World } from '../support/world';

/**
 * PagerDuty (Events API v2) through the real delivery path (outbox, lease, notification log)
 * against the emulator's Events API, which checks each event as PagerDuty documents it: a firing
 * alert is a trigger keyed by its fingerprint, a reminder sends nothing, the end is a resolve of the
 * same key; a crash anywhere loses nothing, and a repeat is harmless; 400 is a configuration
 * problem named once a cycle; 429 and 5xx are retried next cycle.
 */

const PAGERDUTY = { type: 'pagerduty', routingKeySetting: 'PD_ROUTING_KEY' };
const RECEIVER = 'root~pagerduty:PD_ROUTING_KEY';

describe('PagerDuty beside email', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());
  beforeEach(() => freshStart(world, 'pd'));

  /** Reminders after a minute, so a test can be past the repeat interval; job times are the emulator's, so stalls are off. */
  const policy = buildPolicy(
    {
      tenants: { [CONTOSO]: { name: 'Contoso' } },
      route: { repeatInterval: '1m', channels: [PAGERDUTY] },
      rules: { 'job-stalled': { enabled: false } },
    },
    { emailTo: ['ops@contoso.com'] },
  );
  const deps = (extra: Partial<CycleDeps> = {}) =>
    world.deps({ policy, poster: createHttpPoster(world.env, { timeoutMs: 500 }), ...extra });
  const trip = () => quarantine(world);
  const accepted = () => world.cloud.pagerduty.accepted().map((e) => e.event);
  const actions = () => accepted().map((e) => e.event_action);
  const fingerprintOf = async (condition: string) =>
    [...(await deps().alerts.loadAll()).values()].find((a) => a.labels.condition === condition)?.fingerprint;

  it('triggers the alert keyed by its fingerprint, posts nothing for a reminder, and resolves it with the same key', async () => {
    trip();
    const first = await runCycle(deps());
    expect(first.errors).toEqual([]);
    expect([first.notificationsSent, first.postsSent]).toEqual([2, 1]);
    const fingerprint = await fingerprintOf('deletion-threshold');
    const [trigger] = accepted();
    expect(trigger).toMatchObject({
      routing_key: world.cloud.pagerduty.routingKey,
      event_action: 'trigger',
      dedup_key: fingerprint,
      client: 'Entra Sync Watch',
      payload: {
        summary: 'Deletion threshold tripped: Fabrikam to Contoso (Contoso)',
        source: CONTOSO,
        severity: 'critical',
        component: 'Fabrikam to Contoso',
        group: 'Contoso',
        class: 'deletion-threshold',
      },
    });
    const details = (trigger!.payload as { custom_details: Record<string, unknown> }).custom_details;
    expect(details['what happened']).toEqual(expect.stringContaining('holding deletes'));
    expect(details['what to do']).toEqual(expect.arrayContaining([expect.stringMatching(/^1\. /)]));
    expect(details['alert id']).toBe(fingerprint);
    expect(trigger!.links).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ href: expect.stringMatching(/^https:\/\/entra\.microsoft\.com\//) }),
      ]),
    );
    expect(world.cloud.pagerduty.alerts()).toMatchObject([{ dedupKey: fingerprint, status: 'triggered', triggers: 1 }]);

    // Past the repeat interval: the email reminds, PagerDuty hears nothing, and the reminder is recorded.
    const later = (minutes: number) => () => new Date(Date.now() + minutes * 60_000);
    const reminded = await runCycle(deps({ clock: later(2) }));
    expect(reminded.errors).toEqual([]);
    expect(world.cloud.acs.messages().map((m) => m.headers?.['X-Entra-Sync-Watch-Kind'])).toEqual([
      'firing',
      'reminder',
    ]);
    expect(actions()).toEqual(['trigger']);
    const [alert] = [...(await deps().alerts.loadAll()).values()].filter(
      (a) => a.labels.condition === 'deletion-threshold',
    );
    expect(alert?.notified[RECEIVER]).toMatchObject({ reminders: 1, resolved: false });
    expect(world.log.lines.join('\n')).toMatch(
      /to the PagerDuty service PD_ROUTING_KEY of route root: nothing to send on this channel, recorded as told/,
    );

    recover(world);
    const resolved = await runCycle(deps({ clock: later(3) }));
    expect(resolved.errors).toEqual([]);
    expect(accepted().map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', fingerprint],
      ['resolve', fingerprint],
    ]);
    expect(world.cloud.pagerduty.alerts()).toMatchObject([{ dedupKey: fingerprint, status: 'resolved', triggers: 1 }]);
    expect(world.cloud.pagerduty.events().every((e) => e.status === 202)).toBe(true);
  });

  // crashAt(point, nth): email's send comes first, then PagerDuty's.

  it.each<[CyclePoint, number]>([
    ['planned', 1],
    ['sending', 2],
    ['sent', 2],
    ['recorded', 2],
  ])('a cycle stopped at "%s" (#%i) loses no event, and a repeated one is harmless', async (point, nth) => {
    trip();
    await expect(runCycle(deps(crashAt(point, nth)))).rejects.toBeInstanceOf(Crash);
    await runCycle(deps());
    await runCycle(deps());
    expect(emailSubjects(world)).toHaveLength(1);
    // One alert in PagerDuty; a trigger posted again after its answer was lost only adds to its log.
    expect(world.cloud.pagerduty.alerts()).toMatchObject([{ status: 'triggered' }]);
    expect(actions()).toEqual(point === 'sent' ? ['trigger', 'trigger'] : ['trigger']);
    recover(world);
    await runCycle(deps());
    expect(world.cloud.pagerduty.alerts()).toMatchObject([{ status: 'resolved' }]);
  });

  it('names a 400 once a cycle as a configuration problem, and delivers every event once it is fixed', async () => {
    trip();
    quarantine(world, NORTHWIND, NORTHWIND_JOB, { reason: 'EncounteredQuarantineException' });
    world.cloud.pagerduty.fail({ status: 400, times: 2 });
    const refused = await runCycle(deps());
    const pagerDutyErrors = refused.errors.filter((e) => e.includes('PagerDuty'));
    expect(pagerDutyErrors).toHaveLength(1);
    expect(pagerDutyErrors[0]).toMatch(
      /PagerDuty service PD_ROUTING_KEY of route root \(https:\/\/127\.0\.0\.1:\d+\/v2\/enqueue\) refused the event \(HTTP 400: Event object is invalid: refused on demand \(injected by the emulator\)\): a configuration problem: check that the app setting PD_ROUTING_KEY holds the Integration Key/,
    );
    // Both alerts' events wait (one email about both went out).
    expect(refused.notificationsPending).toBe(2);
    expect(emailSubjects(world)).toHaveLength(1);

    const again = await runCycle(deps());
    expect(again.errors.filter((e) => e.includes('PagerDuty'))).toHaveLength(1);

    const fixed = await runCycle(deps());
    expect(fixed.errors).toEqual([]);
    expect(actions()).toEqual(['trigger', 'trigger']);
    expect(new Set(accepted().map((e) => e.dedup_key)).size).toBe(2);
  });

  it.each([429, 500, 503])('retries an event PagerDuty answered %i next cycle, and doubles nothing', async (status) => {
    trip();
    world.cloud.pagerduty.fail({ status, times: 1 });
    const throttled = await runCycle(deps());
    expect(throttled.errors.join('\n')).toMatch(
      new RegExp(
        `to the PagerDuty service PD_ROUTING_KEY of route root failed, will retry next cycle: .*answered HTTP ${status}`,
      ),
    );
    expect(throttled.notificationsPending).toBe(1);
    expect(emailSubjects(world)).toHaveLength(1);
    const retried = await runCycle(deps());
    expect(retried.errors).toEqual([]);
    await runCycle(deps());
    expect(actions()).toEqual(['trigger']);
    expect(world.cloud.pagerduty.alerts()).toMatchObject([{ status: 'triggered', triggers: 1 }]);
  });

  it('an event PagerDuty took but answered too late is posted again under the same key: one alert', async () => {
    trip();
    world.cloud.pagerduty.fail({ delayMs: 1500, times: 1 });
    const slow = await runCycle(deps());
    expect(slow.errors.join('\n')).toMatch(/PD_ROUTING_KEY .*failed, will retry next cycle: .*no answer within/);
    await runCycle(deps());
    expect(actions()).toEqual(['trigger', 'trigger']);
    expect(world.cloud.pagerduty.alerts()).toMatchObject([{ status: 'triggered', triggers: 2 }]);
  });

  it('a routing key that is missing or not 32 characters is named by its setting, never shown, and stops nothing else', async () => {
    trip();
    const missing = await runCycle(
      deps({ poster: createHttpPoster({ ...world.env, PD_ROUTING_KEY: '' }, { timeoutMs: 500 }) }),
    );
    expect(missing.errors).toEqual([
      expect.stringContaining(
        'PagerDuty service PD_ROUTING_KEY of route root: the app setting PD_ROUTING_KEY is not set',
      ),
    ]);
    expect(emailSubjects(world)).toHaveLength(1);
    const short = await runCycle(
      deps({ poster: createHttpPoster({ ...world.env, PD_ROUTING_KEY: 'abc123' }, { timeoutMs: 500 }) }),
    );
    expect(short.errors).toEqual([
      expect.stringContaining(
        'the routing key in PD_ROUTING_KEY is 6 characters; an Events API v2 Integration Key is 32',
      ),
    ]);
    expect(short.errors.join()).not.toContain('abc123');
    expect(world.cloud.pagerduty.events()).toEqual([]);
    await runCycle(deps());
    expect(actions()).toEqual(['trigger']);
  });

  it('sends no daily digest to PagerDuty: a digest is no incident', async () => {
    const withDigest = buildPolicy(
      { route: { digest: { at: '00:00', timeZone: 'UTC' }, channels: [PAGERDUTY] } },
      { emailTo: ['ops@contoso.com'] },
    );
    const summary = await runCycle(deps({ policy: withDigest }));
    expect(summary.errors).toEqual([]);
    expect(emailSubjects(world).filter((s) => /daily digest/i.test(s))).toHaveLength(1);
    expect(world.cloud.pagerduty.events()).toEqual([]);
    expect(summary.notificationsPending).toBe(0);
  });
});
