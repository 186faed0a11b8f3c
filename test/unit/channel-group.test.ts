import { describe, expect, it } from 'vitest';
import { receiverId, receiversOf } from '../../lib/dispatch/route';
import type { NotificationItem } from '../../lib/model';
import { MAX_ALERTS_PER_EMAIL } from '../../lib/notify/channels/email';
import { MAX_ALERTS_PER_TEAMS_CARD } from '../../lib/notify/channels/teams';
import { groupNotices, maxAlertsPerMessage, splitIntoParts } from '../../lib/notify/group';
import { dispatch } from '../../lib/dispatch/dispatch';
import { ALERT_FIXTURES, NOW } from '../fixtures/alerts';
import { policy, route } from '../support/policy';

/** Channels in the pure half of delivery: each channel of each route is a receiver, grouped apart from email and from each other. */

const TEAMS = { id: 'teams:T', type: 'teams' as const, urlSetting: 'T' };
const HOOK = { id: 'webhook:W', type: 'webhook' as const, urlSetting: 'W', secretSetting: 'S' };
const ops = route('root', { channels: [TEAMS, HOOK] });
const [email, teams, hook] = receiversOf(ops);

const item = (fingerprint: string, routeId: string, kind: NotificationItem['kind'] = 'firing'): NotificationItem => ({
  key: `${fingerprint}:${routeId}:${kind}:2026-11-27T00:00:00.000Z`,
  fingerprint,
  routeId,
  kind,
  startsAt: '2026-11-27T00:00:00.000Z',
});

describe('receivers', () => {
  it("are the route itself for email (its log keeps the route's id), then a copy per channel with its own id", () => {
    expect(receiversOf(route('root.1')).map((r) => r.id)).toEqual(['root.1']);
    expect([email?.id, teams?.id, hook?.id]).toEqual(['root', 'root~teams:T', 'root~webhook:W']);
    expect([email?.channel, teams?.channel, hook?.channel]).toEqual([undefined, TEAMS, HOOK]);
    expect(teams?.to).toEqual(ops.to);
    expect(receiverId(route('root.0'), 'teams:X')).toBe('root.0~teams:X');
  });
});

describe('grouping with channels', () => {
  it('gives each channel its own message, apart from the email to the same people, with resolved notices apart', () => {
    const notices = [
      { item: item('a', 'root'), route: email! },
      { item: item('a', teams!.id), route: teams! },
      { item: item('b', teams!.id), route: teams! },
      { item: item('c', teams!.id, 'resolved'), route: teams! },
      { item: item('a', hook!.id), route: hook! },
    ];
    const groups = groupNotices(notices);
    expect(
      groups.map((g) => [g.channel?.receiver ?? 'email', g.items.map((i) => `${i.fingerprint}:${i.kind}`)]),
    ).toEqual([
      ['email', ['a:firing']],
      ['root~teams:T', ['a:firing', 'b:firing']],
      ['root~teams:T', ['c:resolved']],
      ['root~webhook:W', ['a:firing']],
    ]);
    expect(groups[1]?.channel).toEqual({ ...TEAMS, receiver: 'root~teams:T' });
  });

  it('puts at most ten alerts in a Teams card and fifty in a webhook post or an email', () => {
    expect([
      maxAlertsPerMessage(undefined),
      maxAlertsPerMessage({ ...HOOK, receiver: 'r' }),
      maxAlertsPerMessage({ ...TEAMS, receiver: 'r' }),
    ]).toEqual([MAX_ALERTS_PER_EMAIL, 50, MAX_ALERTS_PER_TEAMS_CARD]);
    expect(MAX_ALERTS_PER_TEAMS_CARD).toBe(10);
    const items = Array.from({ length: 25 }, (_, i) => item(`f${i}`, teams!.id));
    expect(splitIntoParts(items, maxAlertsPerMessage({ ...TEAMS, receiver: 'r' })).map((p) => p.length)).toEqual([
      10, 10, 5,
    ]);
  });
});

describe('dispatch with channels', () => {
  it('tells each receiver what its own log says it still needs: a channel down for a while is caught up alone', () => {
    const alert = {
      ...ALERT_FIXTURES.quarantine!,
      notified: {
        root: {
          startsAt: ALERT_FIXTURES.quarantine!.startsAt!,
          lastAt: NOW.toISOString(),
          reminders: 0,
          resolved: false,
          material: ALERT_FIXTURES.quarantine!.material,
        },
      },
    };
    const { notices } = dispatch([alert], policy({ route: ops }), NOW, new Set());
    expect(notices.map((n) => [n.route.id, n.item.kind])).toEqual([
      ['root~teams:T', 'firing'],
      ['root~webhook:W', 'firing'],
    ]);
    const planned = new Set(notices.filter((n) => n.route.channel?.type === 'teams').map((n) => n.item.key));
    expect(dispatch([alert], policy({ route: ops }), NOW, planned).notices.map((n) => n.route.id)).toEqual([
      'root~webhook:W',
    ]);
  });
});
