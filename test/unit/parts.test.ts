import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../lib/evaluate/evaluate';
import type { AlertLabels, AlertRecord, NotificationItem } from '../../lib/model';
import { MAX_ALERTS_PER_EMAIL } from '../../lib/notify/channels/email';
import { messageKey, splitIntoParts } from '../../lib/notify/group';
import { renderEmail } from '../../lib/notify/render';

function alert(i: number): AlertRecord {
  const labels: AlertLabels = {
    tenantId: 'aaaaaaaa-0000-0000-0000-000000000001',
    servicePrincipalId: `sp-${i}`,
    jobId: `Azure2Azure.x.${i}`,
    condition: 'quarantine',
  };
  return {
    fingerprint: fingerprintOf(labels),
    labels,
    severity: 'critical',
    state: 'firing',
    annotations: { servicePrincipalName: `Partner ${i}`, reason: 'Unknown' },
    startsAt: '2026-11-27T03:00:00.000Z',
    notified: {},
  };
}
const item = (a: AlertRecord, routeId = 'root'): NotificationItem => ({
  key: `${a.fingerprint}:${routeId}:firing`,
  fingerprint: a.fingerprint,
  routeId,
  kind: 'firing',
  startsAt: a.startsAt!,
});

describe('splitting a big group into complete emails', () => {
  it('keeps one email when it fits, and parts of at most 100 alerts when it does not', () => {
    const alerts = Array.from({ length: 240 }, (_, i) => alert(i));
    expect(splitIntoParts(alerts.slice(0, 100).map((a) => item(a)))).toHaveLength(1);
    const parts = splitIntoParts(alerts.map((a) => item(a)));
    expect(parts.map((p) => p.length)).toEqual([100, 100, 40]);
    expect(parts.flat()).toEqual(alerts.map((a) => item(a)));
    expect(MAX_ALERTS_PER_EMAIL).toBe(100);
    expect(splitIntoParts([])).toEqual([]);
  });

  it('an alert carried by two routes to the same people stays in one part, counted once', () => {
    const alerts = Array.from({ length: 3 }, (_, i) => alert(i));
    const items = alerts.flatMap((a) => [item(a, 'root'), item(a, 'root.0')]);
    const parts = splitIntoParts(items, 2);
    expect(parts.map((p) => p.map((i) => i.fingerprint))).toEqual([
      [alerts[0]!.fingerprint, alerts[0]!.fingerprint, alerts[1]!.fingerprint, alerts[1]!.fingerprint],
      [alerts[2]!.fingerprint, alerts[2]!.fingerprint],
    ]);
  });

  it('each part has its own key, the same for the same notices', () => {
    const parts = splitIntoParts(Array.from({ length: 120 }, (_, i) => item(alert(i))));
    expect(messageKey(parts[0]!)).not.toBe(messageKey(parts[1]!));
    expect(messageKey([...parts[0]!].reverse())).toBe(messageKey(parts[0]!));
  });

  it('a part says which of how many it is, in its subject and at its top', () => {
    const notices = [alert(1), alert(2)].map((a) => ({ alert: a, item: item(a) }));
    const email = renderEmail(notices, {
      now: new Date('2026-11-27T04:00:00Z'),
      tenantNames: new Map(),
      part: { index: 2, total: 3 },
    });
    expect(email.subject).toBe('aaaaaaaa-0000-0000-0000-000000000001: Quarantined: Partner 1 (+1 more) (part 2 of 3)');
    expect(email.plainText.split('\n')[2]).toBe(
      "Part 2 of 3: this cycle's notices to these recipients are split into 3 emails so that each stays readable.",
    );
    expect(email.html).toContain('Part 2 of 3');
    const long = renderEmail(
      notices.map((n) => ({ ...n, alert: { ...n.alert, labels: { ...n.alert.labels, tenantId: 't'.repeat(400) } } })),
      { now: new Date(), tenantNames: new Map(), part: { index: 1, total: 2 } },
    );
    expect(long.subject.endsWith(' (part 1 of 2)')).toBe(true);
    expect(long.subject.length).toBeLessThanOrEqual(200);
    // However long the tenant's name, it is cut before it pushes the rest out of a phone's mail list.
    expect(long.subject.indexOf(': Quarantined')).toBeLessThanOrEqual(40);
    expect(renderEmail(notices, { now: new Date(), tenantNames: new Map() }).subject).not.toContain('part');
  });
});
