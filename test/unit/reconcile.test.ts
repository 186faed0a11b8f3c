import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../lib/evaluate/rules';
import type { AlertLabels, Finding } from '../../lib/evaluate/types';
import { reconcile } from '../../lib/reconcile/reconcile';
import type { AlertRecord } from '../../lib/reconcile/types';

const labels: AlertLabels = { tenantId: 't1', servicePrincipalId: 'sp', jobId: 'j', condition: 'deletion-threshold' };
const fp = fingerprintOf(labels);
const finding = (pendingCycles = 0, seriesCount = 1): Finding => ({ fingerprint: fp, labels, severity: 'critical', pendingCycles, annotations: { seriesCount } });
const t = (minute: number) => new Date(Date.UTC(2026, 10, 27, 3, minute));

/** Runs reconcile over a timeline, keeping state as the store would (without ETags). */
function play(steps: { findings: Finding[]; visible?: boolean }[]) {
  let stored = new Map<string, AlertRecord>();
  const outboxes: string[][] = [];
  steps.forEach((step, i) => {
    const { changed } = reconcile({ stored, findings: step.findings, inView: () => step.visible ?? true, now: t(i * 5) });
    stored = new Map(stored);
    for (const r of changed) stored.set(r.fingerprint, r);
    outboxes.push([...stored.values()].flatMap((r) => r.outbox.map((n) => n.kind)));
    // the notify stage sends and empties the outbox
    for (const [k, r] of stored) stored.set(k, { ...r, outbox: [] });
  });
  return { stored, outboxes };
}

describe('reconcile', () => {
  it('notifies once on firing, not while it stays, and once on resolve', () => {
    const { outboxes, stored } = play([{ findings: [] }, { findings: [finding()] }, { findings: [finding(0, 2)] }, { findings: [] }, { findings: [] }]);
    expect(outboxes).toEqual([[], ['firing'], [], ['resolved'], []]);
    const record = stored.get(fp)!;
    expect(record.state).toBe('resolved');
    expect(record.startsAt).toBe(t(5).toISOString());
    expect(record.endsAt).toBe(t(15).toISOString());
  });

  it('updates annotations in place while firing', () => {
    const { stored } = play([{ findings: [finding(0, 1)] }, { findings: [finding(0, 4)] }]);
    expect(stored.get(fp)?.annotations.seriesCount).toBe(4);
  });

  it('holds a firing alert that is out of view: no resolve while the tenant cannot be read', () => {
    const { outboxes, stored } = play([{ findings: [finding()] }, { findings: [], visible: false }, { findings: [], visible: false }]);
    expect(outboxes).toEqual([['firing'], [], []]);
    expect(stored.get(fp)?.state).toBe('firing');
  });

  it('waits the pending period before firing, and a pending alert that clears says nothing', () => {
    expect(play([{ findings: [finding(1)] }, { findings: [finding(1)] }]).outboxes).toEqual([[], ['firing']]);
    expect(play([{ findings: [finding(1)] }, { findings: [] }, { findings: [finding(1)] }]).outboxes).toEqual([[], [], []]);
  });

  it('gives each firing period its own idempotency keys', () => {
    const stored = new Map<string, AlertRecord>();
    const first = reconcile({ stored, findings: [finding()], inView: () => true, now: t(0) }).changed[0]!;
    const again = reconcile({ stored: new Map([[fp, { ...first, outbox: [] }]]), findings: [], inView: () => true, now: t(5) }).changed[0]!;
    const third = reconcile({ stored: new Map([[fp, { ...again, outbox: [] }]]), findings: [finding()], inView: () => true, now: t(10) }).changed[0]!;
    const keys = [first.outbox[0]!.key, again.outbox[0]!.key, third.outbox[0]!.key];
    expect(new Set(keys).size).toBe(3);
    // the same transition computed twice (a retried cycle) gives the same key
    expect(reconcile({ stored, findings: [finding()], inView: () => true, now: t(0) }).changed[0]!.outbox[0]!.key).toBe(keys[0]);
  });

  it('keeps an unsent notification queued when the next one arrives', () => {
    const first = reconcile({ stored: new Map(), findings: [finding()], inView: () => true, now: t(0) }).changed[0]!;
    const resolved = reconcile({ stored: new Map([[fp, first]]), findings: [], inView: () => true, now: t(5) }).changed[0]!;
    expect(resolved.outbox.map((n) => n.kind)).toEqual(['firing', 'resolved']);
  });
});
