import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../lib/evaluate/evaluate';
import type { AlertLabels, Finding, AlertRecord } from '../../lib/model';
import { reconcile } from '../../lib/reconcile/reconcile';

const labels: AlertLabels = { tenantId: 't1', servicePrincipalId: 'sp', jobId: 'j', condition: 'deletion-threshold' };
const fp = fingerprintOf(labels);
const finding = (pendingCycles = 0, seriesCount = 1): Finding => ({
  fingerprint: fp,
  labels,
  severity: 'critical',
  pendingCycles,
  annotations: { seriesCount },
});
const t = (minute: number) => new Date(Date.UTC(2026, 10, 27, 3, minute));

/** Runs reconcile over a timeline (one step per 5 minutes), keeping state as the store would. */
function play(steps: { findings: Finding[]; visible?: boolean }[], keepFiringForMs = 0) {
  let stored = new Map<string, AlertRecord>();
  const states: string[] = [];
  steps.forEach((step, i) => {
    const { changed } = reconcile({
      stored,
      findings: step.findings,
      inView: () => step.visible ?? true,
      keepFiringForMs: () => keepFiringForMs,
      now: t(i * 5),
    });
    stored = new Map(stored);
    for (const r of changed) stored.set(r.fingerprint, r);
    states.push(stored.get(fp)?.state ?? 'inactive');
  });
  return { stored, states };
}

describe('reconcile: the alert lifecycle', () => {
  it('fires at once, stays firing, resolves when the condition is gone', () => {
    const { states, stored } = play([
      { findings: [] },
      { findings: [finding()] },
      { findings: [finding(0, 2)] },
      { findings: [] },
    ]);
    expect(states).toEqual(['inactive', 'firing', 'firing', 'resolved']);
    const record = stored.get(fp)!;
    expect(record.startsAt).toBe(t(5).toISOString());
    expect(record.endsAt).toBe(t(15).toISOString());
  });

  it('updates annotations in place while firing, keeping its start', () => {
    const { stored } = play([{ findings: [finding(0, 1)] }, { findings: [finding(0, 4)] }]);
    expect(stored.get(fp)?.annotations.seriesCount).toBe(4);
    expect(stored.get(fp)?.startsAt).toBe(t(0).toISOString());
  });

  it('holds a firing alert that is out of view: no resolve while the tenant cannot be read', () => {
    expect(
      play([{ findings: [finding()] }, { findings: [], visible: false }, { findings: [], visible: false }]).states,
    ).toEqual(['firing', 'firing', 'firing']);
  });

  it('waits the pending period before firing; a pending alert that clears never fired', () => {
    expect(play([{ findings: [finding(1)] }, { findings: [finding(1)] }]).states).toEqual(['pending', 'firing']);
    const cleared = play([{ findings: [finding(1)] }, { findings: [] }, { findings: [finding(1)] }]);
    expect(cleared.states).toEqual(['pending', 'resolved', 'pending']);
    expect(cleared.stored.get(fp)?.startsAt).toBeUndefined();
  });

  it('keeps firing for keepFiringFor after the condition was last seen, damping a flap', () => {
    const flap = play(
      [
        { findings: [finding()] },
        { findings: [] },
        { findings: [finding()] },
        { findings: [] },
        { findings: [] },
        { findings: [] },
      ],
      12 * 60_000,
    );
    expect(flap.states).toEqual(['firing', 'firing', 'firing', 'firing', 'firing', 'resolved']);
    expect(flap.stored.get(fp)?.startsAt).toBe(t(0).toISOString()); // one firing period, not two
  });

  it('starts a new firing period after a resolve', () => {
    const { stored } = play([{ findings: [finding()] }, { findings: [] }, { findings: [finding()] }]);
    expect(stored.get(fp)?.startsAt).toBe(t(10).toISOString());
    expect(stored.get(fp)?.endsAt).toBeUndefined();
  });
});

describe('reconcile: alerts that end for a reason of their own', () => {
  const firing = (): Map<string, AlertRecord> => {
    const { changed } = reconcile({ stored: new Map(), findings: [finding()], inView: () => true, now: t(0) });
    return new Map(changed.map((r) => [r.fingerprint, r]));
  };

  it('a configuration being confirmed missing is held, and says since when; found again, it forgets that', () => {
    const held = reconcile({
      stored: firing(),
      findings: [],
      inView: () => false,
      missingSinceOf: () => t(5).toISOString(),
      now: t(5),
    }).changed;
    expect(held).toEqual([expect.objectContaining({ state: 'firing', missingSince: t(5).toISOString() })]);
    // Held again with the same since: nothing to write.
    const stored = new Map(held.map((r) => [r.fingerprint, r]));
    expect(
      reconcile({ stored, findings: [], inView: () => false, missingSinceOf: () => t(5).toISOString(), now: t(6) })
        .changed,
    ).toEqual([]);
    const back = reconcile({ stored, findings: [finding()], inView: () => true, now: t(10) }).changed;
    expect(back).toEqual([expect.objectContaining({ state: 'firing', missingSince: undefined })]);
  });

  it('one with an end reason ends at once (no keep-firing delay) and keeps the reason; a new firing period drops it', () => {
    const [ended] = reconcile({
      stored: firing(),
      findings: [],
      inView: () => true,
      keepFiringForMs: () => 3600_000,
      endReasonOf: () => 'configuration-gone',
      now: t(5),
    }).changed;
    expect(ended).toMatchObject({ state: 'resolved', endReason: 'configuration-gone', endsAt: t(5).toISOString() });
    const [again] = reconcile({
      stored: new Map([[fp, ended!]]),
      findings: [finding()],
      inView: () => true,
      now: t(10),
    }).changed;
    expect(again).toMatchObject({ state: 'firing', startsAt: t(10).toISOString() });
    expect(again?.endReason).toBeUndefined();
  });
});
