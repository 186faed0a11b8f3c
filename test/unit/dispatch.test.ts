import { describe, expect, it } from 'vitest';
import { dispatch } from '../../lib/dispatch/dispatch';
import { matchLabelsOf, routesFor } from '../../lib/dispatch/route';
import { fingerprintOf } from '../../lib/evaluate/evaluate';
import type { AlertLabels, Condition, AlertRecord } from '../../lib/model';
import { afterSent, alreadySent, neededNotification } from '../../lib/dispatch/dedup';
import { messageKey, groupNotices } from '../../lib/notify/group';
import { policy, route } from '../support/policy';

const HOUR = 3600_000;
const t0 = new Date('2026-11-27T03:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

function alert(
  condition: Condition,
  overrides: Partial<AlertRecord> & { job?: string; tenant?: string; app?: string } = {},
): AlertRecord {
  const { job = 'job-1', tenant = 'tenant-a', app = 'Fabrikam to Contoso', ...rest } = overrides;
  const labels: AlertLabels = {
    tenantId: tenant,
    servicePrincipalId: condition === 'tenant-unreadable' ? '-' : `sp-${job}`,
    jobId: condition === 'tenant-unreadable' ? '-' : job,
    condition,
  };
  return {
    fingerprint: fingerprintOf(labels),
    labels,
    severity: 'critical',
    state: 'firing',
    annotations: { servicePrincipalName: app, templateId: 'Azure2Azure', reason: 'EncounteredQuarantineException' },
    startsAt: t0.toISOString(),
    notified: {},
    ...rest,
  };
}

describe('routing tree', () => {
  const tree = route('root', {
    routes: [
      route('root.0', {
        match: { condition: 'deletion-threshold' },
        to: ['change-board@contoso.com'],
        continue: true,
      }),
      route('root.1', { match: { tenant: 'tenant-b' }, to: ['northwind-ops@contoso.com'] }),
      route('root.2', {
        match: { app: 'Fabrikam*' },
        to: ['fabrikam@contoso.com'],
        routes: [route('root.2.0', { match: { severity: 'warning' }, to: ['low@contoso.com'] })],
      }),
    ],
  });
  const routed = (a: AlertRecord) => routesFor(tree, matchLabelsOf(a, new Map())).map((r) => r.id);

  it('takes the first matching child, descends into it, and falls back to the parent', () => {
    expect(routed(alert('quarantine'))).toEqual(['root.2']);
    expect(routed(alert('quarantine', { app: 'Woodgrove to Contoso' }))).toEqual(['root']);
    expect(routed(alert('quarantine', { severity: 'warning' }))).toEqual(['root.2.0']);
  });

  it('goes on to later siblings after a route with continue', () => {
    expect(routed(alert('deletion-threshold'))).toEqual(['root.0', 'root.2']);
    expect(routed(alert('deletion-threshold', { tenant: 'tenant-b' }))).toEqual(['root.0', 'root.1']);
  });

  it('matches tenant names from the config', () => {
    const named = route('root', {
      routes: [route('root.0', { match: { tenantName: 'north*' }, to: ['x@contoso.com'] })],
    });
    const labels = matchLabelsOf(alert('quarantine', { tenant: 'TENANT-B' }), new Map([['tenant-b', 'Northwind']]));
    expect(routesFor(named, labels).map((r) => r.id)).toEqual(['root.0']);
  });
});

describe('dedup: notify on change, repeat on a timer', () => {
  const root = route('root');

  it('sends the firing notice once, a reminder after the repeat interval, and the resolved notice once', () => {
    let a = alert('quarantine');
    const first = neededNotification(a, root, t0);
    expect(first?.kind).toBe('firing');
    a = afterSent(a, first!, t0.toISOString());
    expect(neededNotification(a, root, at(4 * HOUR - 1))).toBeUndefined();
    const reminder = neededNotification(a, root, at(4 * HOUR));
    expect(reminder).toMatchObject({ kind: 'reminder', reminder: 1 });
    a = afterSent(a, reminder!, at(4 * HOUR).toISOString());
    expect(neededNotification(a, root, at(8 * HOUR - 1))).toBeUndefined();
    expect(neededNotification(a, root, at(8 * HOUR))).toMatchObject({ kind: 'reminder', reminder: 2 });

    a = { ...a, state: 'resolved', endsAt: at(5 * HOUR).toISOString() };
    const resolved = neededNotification(a, root, at(5 * HOUR));
    expect(resolved).toMatchObject({ kind: 'resolved', endsAt: at(5 * HOUR).toISOString() });
    a = afterSent(a, resolved!, at(5 * HOUR).toISOString());
    expect(neededNotification(a, root, at(30 * HOUR))).toBeUndefined();
  });

  it("uses the repeat interval of the alert's severity and honours sendResolved off", () => {
    const quiet = route('root', { repeatMs: { critical: HOUR, warning: 24 * HOUR }, sendResolved: false });
    let a = alert('quarantine');
    a = afterSent(a, neededNotification(a, quiet, t0)!, t0.toISOString());
    expect(neededNotification(a, quiet, at(HOUR))?.kind).toBe('reminder');
    expect(neededNotification({ ...a, severity: 'warning' }, quiet, at(HOUR))).toBeUndefined();
    expect(
      neededNotification({ ...a, state: 'resolved', endsAt: at(HOUR).toISOString() }, quiet, at(HOUR)),
    ).toBeUndefined();
  });

  it('says nothing about a period the route never heard of firing, and keys each notice uniquely', () => {
    const a = alert('quarantine', { state: 'resolved', endsAt: at(HOUR).toISOString() });
    expect(neededNotification(a, root, at(HOUR))).toBeUndefined();
    const refired = alert('quarantine', { startsAt: at(2 * HOUR).toISOString() });
    expect(neededNotification(refired, root, at(2 * HOUR))?.key).not.toBe(
      neededNotification(alert('quarantine'), root, t0)?.key,
    );
  });
});

describe('dedup: a notice planned twice is sent once', () => {
  const root = route('root');

  it('knows each kind of notice once its route log records it, and not before', () => {
    let a = alert('quarantine', { material: 'reason A' });
    const firing = neededNotification(a, root, t0)!;
    expect(alreadySent(a, firing)).toBe(false);
    a = afterSent(a, firing, t0.toISOString());
    expect(alreadySent(a, firing)).toBe(true);

    const reminder = neededNotification(a, root, at(4 * HOUR))!;
    expect(reminder.kind).toBe('reminder');
    expect(alreadySent(a, reminder)).toBe(false);
    a = afterSent(a, reminder, at(4 * HOUR).toISOString());
    expect(alreadySent(a, reminder)).toBe(true);
    expect(alreadySent(a, { ...reminder, reminder: 2 })).toBe(false);

    a = { ...a, material: 'reason B' };
    const changed = neededNotification(a, root, at(5 * HOUR))!;
    expect(changed.kind).toBe('changed');
    expect(alreadySent(a, changed)).toBe(false);
    a = afterSent(a, changed, at(5 * HOUR).toISOString());
    expect(alreadySent(a, changed)).toBe(true);

    a = { ...a, state: 'resolved', endsAt: at(6 * HOUR).toISOString() };
    const resolved = neededNotification(a, root, at(6 * HOUR))!;
    expect(alreadySent(a, resolved)).toBe(false);
    a = afterSent(a, resolved, at(6 * HOUR).toISOString());
    expect(alreadySent(a, resolved)).toBe(true);
  });

  it('keeps what the log cannot prove: another route, another period, an unknown alert', () => {
    const a = alert('quarantine');
    const firing = neededNotification(a, root, t0)!;
    const told = afterSent(a, firing, t0.toISOString());
    expect(alreadySent(told, { ...firing, routeId: 'other' })).toBe(false);
    expect(alreadySent(told, { ...firing, startsAt: at(HOUR).toISOString() })).toBe(false);
    expect(alreadySent(undefined, firing)).toBe(false);
    expect(alreadySent(told, { ...firing, kind: 'reminder', reminder: undefined })).toBe(false);
    expect(alreadySent(told, { ...firing, kind: 'resolved' })).toBe(false);
  });
});

describe('dispatch: inhibition, silences, planned emails', () => {
  it("a tenant that cannot be read mutes its job alerts (no reminders), but not other tenants'", () => {
    const unreadable = alert('tenant-unreadable');
    const held = afterSent(
      alert('quarantine'),
      neededNotification(alert('quarantine'), route('root'), t0)!,
      t0.toISOString(),
    );
    const other = alert('quarantine', { tenant: 'tenant-b' });
    const result = dispatch([unreadable, held, other], policy(), at(5 * HOUR), new Set());
    expect(result.notices.map((n) => n.item.fingerprint).sort()).toEqual(
      [unreadable.fingerprint, other.fingerprint].sort(),
    );
    expect(result.muted).toEqual([{ alert: held, reason: 'tenant tenant-a cannot be read: its job alerts are held' }]);
  });

  it("a quarantined job mutes its own lesser alerts, not another job's", () => {
    const quarantine = alert('quarantine');
    const lesser = {
      ...alert('quarantine'),
      labels: { ...quarantine.labels, condition: 'stalled' as Condition },
      fingerprint: 'lesser',
    };
    const otherJob = { ...lesser, labels: { ...lesser.labels, jobId: 'job-2' }, fingerprint: 'other' };
    const result = dispatch([quarantine, lesser, otherJob], policy(), t0, new Set());
    expect(result.notices.map((n) => n.item.fingerprint).sort()).toEqual([quarantine.fingerprint, 'other'].sort());
    expect(result.muted[0]?.reason).toBe('the same job is firing "Quarantined"');
  });

  it('leaves out notices already planned in an earlier cycle', () => {
    const a = alert('quarantine');
    const key = neededNotification(a, route('root'), t0)!.key;
    expect(dispatch([a], policy(), t0, new Set([key])).notices).toEqual([]);
  });
});

describe('grouping', () => {
  it('puts the notices for one recipient set into one email, and its resolved notices into another, with stable keys', () => {
    const root = route('root');
    const other = route('root.0', { to: ['Northwind-Ops@contoso.com'] });
    const a = neededNotification(alert('quarantine'), root, t0)!;
    const b = neededNotification(alert('deletion-threshold', { job: 'job-2' }), root, t0)!;
    const resolvedAlert = alert('quarantine', {
      job: 'job-3',
      state: 'resolved',
      endsAt: t0.toISOString(),
      notified: { root: { startsAt: t0.toISOString(), lastAt: t0.toISOString(), reminders: 0, resolved: false } },
    });
    const c = neededNotification(resolvedAlert, root, t0)!;
    const d = neededNotification(alert('quarantine', { tenant: 'tenant-b' }), other, t0)!;
    const groups = groupNotices([
      { item: c, route: root },
      { item: a, route: root },
      { item: d, route: other },
      { item: b, route: root },
    ]);
    expect(groups.map((g) => [g.recipients.to.join(','), g.items.map((i) => i.kind).join(',')])).toEqual([
      [root.to.join(','), 'resolved'],
      [root.to.join(','), 'firing,firing'],
      ['Northwind-Ops@contoso.com', 'firing'],
    ]);
    expect(messageKey(groups[1]!.items)).toBe(messageKey([...groups[1]!.items].reverse()));
  });
});
