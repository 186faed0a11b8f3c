import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dispatch } from '../../lib/dispatch/dispatch';
import { fingerprintOf } from '../../lib/evaluate/evaluate';
import type { AlertLabels, Finding, AlertRecord, NotificationKind } from '../../lib/model';
import { afterSent } from '../../lib/dispatch/dedup';
import { reconcile } from '../../lib/reconcile/reconcile';
import { policy, route } from '../support/policy';

const MINUTE = 60_000;
const REPEAT = 4 * 60 * MINUTE;
const JOBS = ['job-a', 'job-b', 'job-c'];

interface Step {
  advance: number; // minutes since the previous cycle
  quarantined: boolean[]; // per job
}

interface Sent {
  job: string;
  kind: NotificationKind;
  at: number;
}

function labelsOf(job: string): AlertLabels {
  return { tenantId: 't', servicePrincipalId: `sp-${job}`, jobId: job, condition: 'quarantine' };
}

/** Plays a timeline through the pure stages (reconcile → dispatch → a send that always succeeds). */
function play(steps: Step[], sendResolved: boolean): { sent: Sent[]; times: number[] } {
  const p = policy({ route: route('root', { repeatMs: { critical: REPEAT, warning: REPEAT }, sendResolved }) });
  let stored = new Map<string, AlertRecord>();
  const sent: Sent[] = [];
  const times: number[] = [];
  let now = Date.UTC(2026, 10, 27);
  for (const step of steps) {
    now += step.advance * MINUTE;
    times.push(now);
    const findings: Finding[] = JOBS.filter((_, i) => step.quarantined[i]).map((job) => ({
      fingerprint: fingerprintOf(labelsOf(job)),
      labels: labelsOf(job),
      severity: 'critical',
      pendingCycles: 0,
      annotations: {},
    }));
    const { changed } = reconcile({ stored, findings, inView: () => true, now: new Date(now) });
    for (const r of changed) stored.set(r.fingerprint, r);
    const { notices } = dispatch([...stored.values()], p, new Date(now), new Set());
    for (const { item } of notices) {
      const alert = stored.get(item.fingerprint) as AlertRecord;
      stored.set(item.fingerprint, afterSent(alert, item, new Date(now).toISOString()));
      sent.push({ job: alert.labels.jobId, kind: item.kind, at: now });
    }
    stored = new Map(stored);
  }
  return { sent, times };
}

/** The firing periods of one job: [first step index, index of the first healthy step after it or undefined]. */
function periods(steps: Step[], jobIndex: number): [number, number | undefined][] {
  const result: [number, number | undefined][] = [];
  let start: number | undefined;
  steps.forEach((s, i) => {
    if (s.quarantined[jobIndex] && start === undefined) start = i;
    if (!s.quarantined[jobIndex] && start !== undefined) {
      result.push([start, i]);
      start = undefined;
    }
  });
  if (start !== undefined) result.push([start, undefined]);
  return result;
}

const timeline = fc.array(
  fc.record({
    advance: fc.integer({ min: 1, max: 300 }),
    quarantined: fc.array(fc.boolean(), { minLength: JOBS.length, maxLength: JOBS.length }),
  }),
  { minLength: 1, maxLength: 60 },
);

describe('the pipeline over random timelines of job states', () => {
  it('each firing period gives one firing notice, one resolved notice when it ends, and reminders only at the repeat interval', () => {
    fc.assert(
      fc.property(timeline, fc.boolean(), (steps, sendResolved) => {
        const { sent, times } = play(steps, sendResolved);
        JOBS.forEach((job, j) => {
          const mine = sent.filter((s) => s.job === job);
          for (const [start, end] of periods(steps, j)) {
            const from = times[start] as number;
            const until = end === undefined ? Infinity : (times[end] as number);
            const inPeriod = mine.filter((s) => s.at >= from && s.at < until);
            expect(inPeriod.filter((s) => s.kind === 'firing').map((s) => s.at)).toEqual([from]);
            // Reminders: exactly at the first cycle at or past each repeat interval since the last notice.
            let last = from;
            const expected: number[] = [];
            for (let i = start + 1; i < (end ?? steps.length); i++) {
              const t = times[i] as number;
              if (t - last >= REPEAT) {
                expected.push(t);
                last = t;
              }
            }
            expect(inPeriod.filter((s) => s.kind === 'reminder').map((s) => s.at)).toEqual(expected);
            const resolved = mine.filter(
              (s) => s.kind === 'resolved' && s.at === (end === undefined ? -1 : times[end]),
            );
            expect(resolved).toHaveLength(end !== undefined && sendResolved ? 1 : 0);
          }
          // Nothing else: every firing notice or reminder falls inside a period, every resolved notice ends one.
          const all = periods(steps, j);
          const inside = (t: number) =>
            all.some(
              ([start, end]) =>
                t >= (times[start] as number) && t < (end === undefined ? Infinity : (times[end] as number)),
            );
          expect(mine.filter((s) => s.kind !== 'resolved' && !inside(s.at))).toEqual([]);
          expect(mine.filter((s) => s.kind === 'resolved')).toHaveLength(
            sendResolved ? all.filter(([, e]) => e !== undefined).length : 0,
          );
        });
      }),
      { numRuns: 300 },
    );
  });
});
