import { describe, expect, it } from 'vitest';
import { buildPolicy, ConfigError } from '../../lib/config/config';
import {
  afterSent,
  alreadySent,
  mootByAcknowledgement,
  neededNotification,
  neededNotifications,
} from '../../lib/dispatch/dedup';
import { dispatch } from '../../lib/dispatch/dispatch';
import { allReceivers, isEscalationReceiver, receiversOf } from '../../lib/dispatch/route';
import type { Acknowledgement, AlertRecord, Finding, NotificationItem } from '../../lib/model';
import { standingAcknowledgement, unacknowledgedSince } from '../../lib/model/acknowledgement';
import type { Route } from '../../lib/model/policy';
import { noticeView } from '../../lib/notify/notice';
import { reconcile } from '../../lib/reconcile/reconcile';
import { policy, route } from '../support/policy';
import { at, firingQuarantine, MIN, QUARANTINE_FP, QUARANTINE_LABELS, T0 } from '../support/quarantine-alert';

/**
 * Acknowledgements and escalation in the pure core: what reconcile does to an acknowledgement when
 * the alert changes, what each receiver (route, channel, escalation step) needs to hear with one
 * and without, and how the config file says `escalate`.
 */

const HOUR = 60 * MIN;
const t0 = T0;
const labels = QUARANTINE_LABELS;
const fp = QUARANTINE_FP;
const firing = firingQuarantine;

function ack(overrides: Partial<Acknowledgement> = {}): Acknowledgement {
  return {
    startsAt: t0.toISOString(),
    by: 'alice@contoso.com',
    at: at(10 * MIN).toISOString(),
    via: 'root',
    linkId: 'L'.repeat(22),
    ...overrides,
  };
}

const TEAMS = { id: 'teams:TEAMS_OPS_URL', type: 'teams' };
const HOOK = { id: 'webhook:LEAD_HOOK_URL', type: 'webhook' };

/** A route with Teams, and two escalation steps: email after 30 min (critical only), a webhook after 2 h. */
function escalatingRoute(extra: Partial<Route> = {}): Route {
  return route('root', {
    channels: [TEAMS],
    escalate: [
      { afterMs: 30 * MIN, to: ['lead@contoso.com'], cc: ['manager@contoso.com'], severities: ['critical'] },
      { afterMs: 2 * HOUR, to: [], cc: [], channels: [HOOK] },
    ],
    ...extra,
  });
}

/** Sends every needed notice of `alert` to every receiver of `root` at `now`, as delivery would record them. */
function tell(alert: AlertRecord, root: Route, now: Date): { alert: AlertRecord; items: NotificationItem[] } {
  const items = receiversOf(root).flatMap((r) => neededNotifications(alert, r, now));
  let told = alert;
  for (const item of items) told = afterSent(told, item, now.toISOString());
  return { alert: told, items };
}
const kinds = (items: NotificationItem[]) => items.map((i) => `${i.routeId} ${i.kind}`).sort();

describe('reconcile and acknowledgements', () => {
  const finding = (overrides: Partial<Finding> = {}): Finding => ({
    fingerprint: fp,
    labels,
    severity: 'critical',
    pendingCycles: 0,
    annotations: { seriesCount: 2 },
    material: 'EncounteredQuarantineException',
    ...overrides,
  });
  const next = (stored: AlertRecord, f: Finding, now: Date) =>
    reconcile({ stored: new Map([[fp, stored]]), findings: [f], inView: () => true, now }).changed[0] as AlertRecord;

  it('keeps an acknowledgement while only annotations change', () => {
    const after = next(firing({ acknowledged: ack() }), finding(), at(20 * MIN));
    expect(after.acknowledged).toEqual(ack());
    expect(standingAcknowledgement(after)).toEqual(ack());
  });

  it('clears it (keeping who had it) when the material changes, and when the severity rises', () => {
    const changed = next(firing({ acknowledged: ack() }), finding({ material: 'CodeB' }), at(20 * MIN));
    expect(changed.acknowledged).toEqual({
      ...ack(),
      cleared: { at: at(20 * MIN).toISOString(), why: 'the alert changed (a new reason or error code)' },
    });
    expect(standingAcknowledgement(changed)).toBeUndefined();
    expect(unacknowledgedSince(changed)).toBe(at(20 * MIN).toISOString());

    const worse = next(
      firing({ severity: 'warning', acknowledged: ack() }),
      finding({ severity: 'critical' }),
      at(25 * MIN),
    );
    expect(worse.acknowledged?.cleared).toEqual({
      at: at(25 * MIN).toISOString(),
      why: 'its severity rose to critical',
    });
    // A lower severity is no reason to wake anyone.
    const milder = next(firing({ acknowledged: ack() }), finding({ severity: 'warning' }), at(25 * MIN));
    expect(milder.acknowledged?.cleared).toBeUndefined();
  });

  it('starts a new firing period without the last one’s acknowledgement', () => {
    const ended = firing({ state: 'resolved', endsAt: at(HOUR).toISOString(), acknowledged: ack() });
    const again = next(ended, finding(), at(2 * HOUR));
    expect(again.startsAt).toBe(at(2 * HOUR).toISOString());
    expect(again.acknowledged).toBeUndefined();
  });
});

describe('receivers of a route with escalation steps', () => {
  it('gives each step its own receivers (email when it has recipients, each channel), known as escalation receivers', () => {
    const ids = receiversOf(escalatingRoute()).map((r) => r.id);
    expect(ids).toEqual([
      'root',
      'root~teams:TEAMS_OPS_URL',
      'root.escalate.0',
      'root.escalate.1~webhook:LEAD_HOOK_URL',
    ]);
    expect(ids.map(isEscalationReceiver)).toEqual([false, false, true, true]);
    const step = receiversOf(escalatingRoute()).find((r) => r.id === 'root.escalate.0') as Route;
    expect(step).toMatchObject({ to: ['lead@contoso.com'], cc: ['manager@contoso.com'], channels: undefined });
    expect(step.escalation).toEqual({ step: 0, afterMs: 30 * MIN, severities: ['critical'] });
    // A child's receivers are found too (a planned message's receiver is looked up among all of them).
    const tree = route('root', { routes: [escalatingRoute({ id: 'root.0' })] });
    expect(allReceivers(tree).map((r) => r.id)).toContain('root.0.escalate.1~webhook:LEAD_HOOK_URL');
  });
});

describe('dedup with acknowledgements and escalation', () => {
  it('sends no reminder on any route or channel while an acknowledgement stands; they resume after a change clears it', () => {
    const root = escalatingRoute({ escalate: undefined });
    let { alert } = tell(firing(), root, t0);
    alert = { ...alert, acknowledged: ack() };
    expect(tell(alert, root, at(5 * HOUR)).items).toEqual([]);
    // A change clears it: the change notice at once, then reminders at the repeat interval again.
    const cleared = {
      ...alert,
      material: 'CodeB',
      acknowledged: { ...ack(), cleared: { at: at(5 * HOUR).toISOString(), why: 'the alert changed' } },
    };
    const change = tell(cleared, root, at(5 * HOUR));
    expect(kinds(change.items)).toEqual(['root changed', 'root~teams:TEAMS_OPS_URL changed']);
    expect(kinds(tell(change.alert, root, at(9 * HOUR + MIN)).items)).toEqual([
      'root reminder',
      'root~teams:TEAMS_OPS_URL reminder',
    ]);
  });

  it('escalates once per step after its delay, only for the severities it takes', () => {
    const root = escalatingRoute();
    let state = tell(firing(), root, t0);
    expect(kinds(state.items)).toEqual(['root firing', 'root~teams:TEAMS_OPS_URL firing']);
    expect(tell(state.alert, root, at(29 * MIN)).items).toEqual([]);
    state = tell(state.alert, root, at(30 * MIN));
    expect(kinds(state.items)).toEqual(['root.escalate.0 escalation']);
    expect(state.items[0]).toMatchObject({
      key: `${fp}:root.escalate.0:escalation:${t0.toISOString()}`,
      escalation: { step: 0, afterMs: 30 * MIN, unacknowledgedSince: t0.toISOString() },
    });
    expect(tell(state.alert, root, at(31 * MIN)).items).toEqual([]);
    state = tell(state.alert, root, at(2 * HOUR));
    expect(kinds(state.items)).toEqual(['root.escalate.1~webhook:LEAD_HOOK_URL escalation']);
    // Reminders at 4 h go to the route and its channel only; the escalation receivers heard it once.
    expect(kinds(tell(state.alert, root, at(4 * HOUR)).items)).toEqual([
      'root reminder',
      'root~teams:TEAMS_OPS_URL reminder',
    ]);
    // A warning is not escalated by the critical-only step, but by the other one.
    const warning = tell({ ...firing(), severity: 'warning' }, root, t0).alert;
    expect(kinds(tell(warning, root, at(3 * HOUR)).items)).toEqual([
      'root.escalate.1~webhook:LEAD_HOOK_URL escalation',
    ]);
  });

  it('never escalates while an acknowledgement stands; an acknowledgement after the first step stops the next', () => {
    const root = escalatingRoute();
    const told = tell(firing(), root, t0).alert;
    expect(tell({ ...told, acknowledged: ack() }, root, at(3 * HOUR)).items).toEqual([]);
    const escalated = tell(told, root, at(30 * MIN)).alert;
    expect(
      tell({ ...escalated, acknowledged: ack({ at: at(40 * MIN).toISOString() }) }, root, at(3 * HOUR)).items,
    ).toEqual([]);
  });

  it('counts the delay from the change that cleared an acknowledgement', () => {
    const root = escalatingRoute();
    const cleared = {
      ...tell(firing(), root, t0).alert,
      acknowledged: ack({ cleared: { at: at(HOUR).toISOString(), why: 'the alert changed' } }),
    };
    expect(neededNotification(cleared, receiversOf(root)[2] as Route, at(HOUR + 29 * MIN))).toBeUndefined();
    expect(neededNotification(cleared, receiversOf(root)[2] as Route, at(HOUR + 30 * MIN))).toMatchObject({
      kind: 'escalation',
      escalation: { unacknowledgedSince: at(HOUR).toISOString() },
    });
  });

  it('tells an escalation step that was told the alert’s end (when the route sends resolved notices), and no other', () => {
    const root = escalatingRoute();
    const escalated = tell(tell(firing(), root, t0).alert, root, at(30 * MIN)).alert;
    const ended = { ...escalated, state: 'resolved' as const, endsAt: at(HOUR).toISOString() };
    expect(kinds(tell(ended, root, at(HOUR)).items)).toEqual([
      'root resolved',
      'root.escalate.0 resolved',
      'root~teams:TEAMS_OPS_URL resolved',
    ]);
    expect(kinds(tell(ended, escalatingRoute({ sendResolved: false }), at(HOUR)).items)).toEqual([]);
  });

  it('an escalation notice counts as sent once its log has the period; delivery drops a planned one an acknowledgement made moot', () => {
    const root = escalatingRoute();
    const state = tell(tell(firing(), root, t0).alert, root, at(30 * MIN));
    const [escalation] = state.items as [NotificationItem];
    expect(alreadySent(state.alert, escalation)).toBe(true);
    expect(alreadySent(tell(firing(), root, t0).alert, escalation)).toBe(false);
    const reminder = { ...escalation, kind: 'reminder' as const, routeId: 'root', reminder: 1 };
    const acked = { ...state.alert, acknowledged: ack() };
    expect(mootByAcknowledgement(acked, escalation)).toBe(true);
    expect(mootByAcknowledgement(acked, reminder)).toBe(true);
    expect(mootByAcknowledgement(acked, { ...reminder, kind: 'changed' })).toBe(false);
    expect(mootByAcknowledgement(state.alert, reminder)).toBe(false);
    // An acknowledgement of another period, or one a change cleared, moots nothing.
    expect(mootByAcknowledgement({ ...acked, acknowledged: ack({ startsAt: 'earlier' }) }, reminder)).toBe(false);
    expect(mootByAcknowledgement({ ...acked, acknowledged: ack({ cleared: { at: '', why: '' } }) }, reminder)).toBe(
      false,
    );
  });

  it('mutes an escalation like any notice: a silence holds it until it ends', () => {
    const root = escalatingRoute();
    const told = tell(firing(), root, t0).alert;
    const silenced = policy({
      route: root,
      silences: [
        { matchers: { condition: 'quarantine' }, startsAt: t0, endsAt: at(HOUR), createdBy: 'ops', comment: 'change' },
      ],
    });
    expect(dispatch([told], silenced, at(45 * MIN), new Set()).notices).toEqual([]);
    expect(dispatch([told], silenced, at(61 * MIN), new Set()).notices.map((n) => n.item.routeId)).toEqual([
      'root.escalate.0',
    ]);
  });
});

describe('what a notice shows of an acknowledgement and an escalation', () => {
  const link = { label: 'Acknowledge', href: 'https://watch.contoso.com/api/acknowledge?x' };
  const ctx = { now: at(HOUR), tenantNames: new Map(), acknowledge: () => link };
  const item = (kind: NotificationItem['kind'], startsAt = t0.toISOString()): NotificationItem => ({
    key: `k:${kind}`,
    fingerprint: fp,
    routeId: 'root',
    kind,
    startsAt,
  });

  // What a notice offers besides opening the tenant's page (the rule's first link, always first after a decision).
  const own = (v: { actions: { kind: string }[] }) => v.actions.filter((a) => a.kind !== 'open');

  it('offers Acknowledge on firing, reminder, change and escalation notices of the current period while nobody has', () => {
    for (const kind of ['firing', 'reminder', 'changed', 'escalation'] as const) {
      const view = noticeView({ item: item(kind), alert: firing() }, ctx);
      expect(own(view), kind).toEqual([{ kind: 'acknowledge', ...link }]);
      // The primary button stays the page to act on; Acknowledge comes right after it.
      expect(
        view.actions.map((a) => a.kind),
        kind,
      ).toEqual(['open', 'acknowledge']);
    }
    const ended = { ...firing(), state: 'resolved' as const, endsAt: at(HOUR).toISOString() };
    expect(own(noticeView({ item: item('resolved'), alert: ended }, ctx))).toEqual([]);
    expect(own(noticeView({ item: item('firing', 'earlier'), alert: firing() }, ctx))).toEqual([]);
    expect(own(noticeView({ item: item('firing'), alert: firing({ acknowledged: ack() }) }, ctx))).toEqual([]);
  });

  it('says who acknowledged, and for a cleared one what cleared it; the resolved notice of an acknowledged period says so too', () => {
    const standing = noticeView(
      { item: item('changed'), alert: firing({ acknowledged: ack({ comment: 'on it' }) }) },
      ctx,
    );
    expect(standing.acknowledged).toEqual({
      by: 'alice@contoso.com',
      at: at(10 * MIN).toISOString(),
      comment: 'on it',
      standing: true,
      text: 'Acknowledged by alice@contoso.com at 2026-11-27 03:10 UTC.',
    });
    const cleared = noticeView(
      {
        item: item('changed'),
        alert: firing({ acknowledged: ack({ cleared: { at: at(HOUR).toISOString(), why: 'the alert changed' } }) }),
      },
      ctx,
    );
    expect(cleared.acknowledged?.text).toBe(
      'Acknowledged by alice@contoso.com at 2026-11-27 03:10 UTC, before the alert changed at 2026-11-27 04:00 UTC: reminders resumed until someone acknowledges it again.',
    );
    expect(cleared.actions.map((a) => a.kind)).toEqual(['open', 'acknowledge']);
    const ended = { ...firing({ acknowledged: ack() }), state: 'resolved' as const, endsAt: at(HOUR).toISOString() };
    expect(noticeView({ item: item('resolved'), alert: ended }, ctx).acknowledged?.standing).toBe(true);
    expect(
      noticeView({ item: item('firing', 'earlier'), alert: firing({ acknowledged: ack() }) }, ctx).acknowledged,
    ).toBe(undefined);
  });

  it('names an escalation and why it comes', () => {
    const view = noticeView(
      {
        item: {
          ...item('escalation'),
          escalation: { step: 0, afterMs: 30 * MIN, unacknowledgedSince: t0.toISOString() },
        },
        alert: firing(),
      },
      ctx,
    );
    // One subject per firing (Re: after the first), so an escalation threads with what its readers may already have.
    expect([view.status, view.prefix]).toEqual(['Escalated', 'Re: ']);
    expect(view.escalation).toBe(
      'Nobody has acknowledged this alert in 30 min (since 2026-11-27 03:00 UTC), so it is escalated to you. Acknowledge it to stop reminders and further escalation.',
    );
  });
});

describe('escalate in the config file', () => {
  const build = (escalate: unknown, extra: Record<string, unknown> = {}) =>
    buildPolicy(
      { route: { routes: [{ match: { condition: 'quarantine' }, escalate, ...extra }] } },
      { emailTo: ['ops@contoso.com'] },
    );
  const problems = (escalate: unknown, extra: Record<string, unknown> = {}) => {
    try {
      build(escalate, extra);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('reads steps with their delay, recipients, channels and severities; a child does not inherit them', () => {
    const built = buildPolicy(
      {
        route: {
          escalate: [{ after: '2h', channels: [{ type: 'teams', urlSetting: 'TEAMS_LEADS_URL' }] }],
          routes: [
            {
              match: { condition: 'quarantine' },
              escalate: [{ after: '30m', to: ['lead@contoso.com'], cc: ['boss@contoso.com'], severity: 'critical' }],
            },
            { match: { condition: 'job-failing' } },
          ],
        },
      },
      { emailTo: ['ops@contoso.com'] },
    );
    expect(built.route.escalate).toEqual([
      {
        afterMs: 2 * HOUR,
        to: [],
        cc: [],
        channels: [{ id: 'teams:TEAMS_LEADS_URL', type: 'teams', urlSetting: 'TEAMS_LEADS_URL' }],
      },
    ]);
    expect(built.route.routes[0]?.escalate).toEqual([
      { afterMs: 30 * MIN, to: ['lead@contoso.com'], cc: ['boss@contoso.com'], severities: ['critical'] },
    ]);
    expect(built.route.routes[1]?.escalate).toBeUndefined();
  });

  it('names what is wrong by its path', () => {
    expect(problems([{ to: ['lead@contoso.com'] }])).toEqual([
      'route.routes[0].escalate[0].after: required: how long an alert fires unacknowledged first (e.g. 30m)',
    ]);
    expect(problems([{ after: 'soon', to: ['lead@contoso.com'] }])).toEqual([
      'route.routes[0].escalate[0].after: "soon" is not a duration (e.g. 30m, 4h, 1d)',
    ]);
    expect(problems([{ after: '30m' }])).toEqual([
      'route.routes[0].escalate[0]: give `to` or `channels`: whom this step escalates to',
    ]);
    expect(
      problems([{ after: '30m', cc: ['a@contoso.com'], channels: [{ type: 'teams', urlSetting: 'T_URL' }] }]),
    ).toEqual(['route.routes[0].escalate[0].cc: copies an email that has no `to`: give the step `to` as well']);
    expect(problems([{ after: '30m', to: ['lead@contoso.com'], severity: ['urgent'] }])).toEqual([
      'route.routes[0].escalate[0].severity[0]: expected one of critical, warning, got "urgent"',
    ]);
    expect(problems([{ after: '30m', to: ['lead@contoso.com'], wait: true }])).toEqual([
      'route.routes[0].escalate[0].wait: unknown field (expected one of after, to, cc, channels, severity)',
    ]);
    expect(problems({ after: '30m' })).toEqual(['route.routes[0].escalate: expected a list, got an object']);
    expect(problems(Array.from({ length: 11 }, () => ({ after: '1h', to: ['lead@contoso.com'] })))).toEqual([
      'route.routes[0].escalate: 11 steps; at most 10 per route',
    ]);
  });
});
