import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  baselineOf,
  emptyHistory,
  MAX_HOURS,
  MAX_RUNS,
  MAX_WEEKS,
  recordFailures,
  recordRun,
} from '../../lib/evaluate/history';
import type { JobHistory } from '../../lib/model/history';
import type { JobSnapshot } from '../../lib/model/observation';
import { boundedBody } from '../../lib/store/history-store';
import { PROPERTY_BUDGET_CHARS } from '../../lib/store/table';

const MINUTE = 60_000;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** A Monday, 00:00 UTC. */
const T0 = Date.parse('2026-10-05T00:00:00Z');

/** The failures in the hour-long window ending `now`, when `perMinute(minute index)` fail each minute. */
function inWindowAt(now: number, perMinute: (minute: number) => number): number {
  let n = 0;
  for (let m = Math.floor((now - HOUR) / MINUTE) + 1; m <= Math.floor(now / MINUTE); m++) n += perMinute(m);
  return n;
}

/** Learns `days` of cycles every 10 minutes, with `perHour(hour index)` failures at the start of each hour. */
function learn(days: number, perHour: (hour: number) => number, history = emptyHistory(), start = T0): JobHistory {
  for (let t = start; t < start + days * DAY; t += 10 * MINUTE)
    recordFailures(
      history,
      inWindowAt(t, (m) => (m % 60 === 0 ? perHour(Math.floor(m / 60)) : 0)),
      t,
      true,
    );
  return history;
}

describe('the learned failure profile', () => {
  it('learns each hour once, as the most its window held at any cycle in it', () => {
    const history = learn(2, () => 3);
    // Every hour but the one still open: the window held 3 at its busiest.
    expect(history.profile.hours).toHaveLength(47);
    expect(new Set(history.profile.hours.map(([, n]) => n))).toEqual(new Set([3]));
    const hours = history.profile.hours.map(([h]) => h);
    expect(new Set(hours).size).toBe(hours.length);
    const bursty = emptyHistory();
    for (const [minutes, n] of [
      [0, 4],
      [10, 90],
      [20, 12],
    ] as const)
      recordFailures(bursty, n, T0 + minutes * MINUTE, true);
    recordFailures(bursty, 0, T0 + HOUR, true);
    expect(bursty.profile.hours).toEqual([[T0 / HOUR, 90]]);
  });

  it('leaves out the hours no complete read saw, instead of learning them as quiet', () => {
    const history = learn(1, () => 7);
    const before = history.profile.hours.length;
    // Three hours without a complete read, then reads again.
    const resume = T0 + DAY + 3 * HOUR;
    for (let t = T0 + DAY; t < resume; t += 10 * MINUTE) recordFailures(history, 0, t, false);
    learn(1, () => 7, history, resume);
    expect(history.profile.hours.every(([, n]) => n === 7)).toBe(true);
    expect(history.profile.hours.length).toBe(before + 24);
  });

  it('learns a nightly burst as usual at night and not by day (by hour of day, then of week)', () => {
    const nightly = (hour: number) => (hour % 24 === 2 ? 200 : 1);
    const history = learn(8, nightly);
    const night = baselineOf(history.profile, T0 + 8 * DAY + 2 * HOUR + 30 * MINUTE, 7 * DAY);
    const day = baselineOf(history.profile, T0 + 8 * DAY + 14 * HOUR, 7 * DAY);
    // Windows ending between 02:00 and 03:00 hold the burst: it is usual then.
    expect(night?.perHour).toBe(200);
    expect(night?.basis).toBe('hour of day');
    expect(day?.perHour).toBe(1);
    // After three weeks, the same hour of the week decides (a Monday-only burst is usual on Mondays only).
    const weekly = learn(22, (hour) => (Math.floor(hour / 24) % 7 === 4 && hour % 24 === 9 ? 300 : 2));
    const monday = T0 + 21 * DAY + 9 * HOUR + 30 * MINUTE;
    expect(baselineOf(weekly.profile, monday, 7 * DAY)).toMatchObject({ perHour: 300, basis: 'hour of week' });
    expect(baselineOf(weekly.profile, monday + DAY, 7 * DAY)?.perHour).toBe(2);
  });

  it('follows a slow drift, with an upper quartile that a single bad day does not move', () => {
    const drifting = (hour: number) => 10 + Math.floor((hour - T0 / HOUR) / 24);
    const history = learn(14, drifting);
    const now = T0 + 14 * DAY + 30 * MINUTE;
    const b = baselineOf(history.profile, now, 7 * DAY);
    // The last week's values at this hour were 17..23: their upper quartile is 21.5 (quiet days do not pull it down).
    expect(b?.perHour).toBe(21.5);
    const withIncident = learn(1, () => 5000, learn(14, drifting));
    expect(baselineOf(withIncident.profile, now + DAY, 7 * DAY)?.perHour).toBeLessThan(30);
  });

  it('gives no baseline before the minimum history', () => {
    const history = learn(3, () => 4);
    expect(baselineOf(history.profile, T0 + 3 * DAY, 7 * DAY)).toBeUndefined();
    expect(baselineOf(history.profile, T0 + 3 * DAY, 2 * DAY)?.perHour).toBe(4);
  });
});

describe('the stored history', () => {
  const job = (at: number, escrowed: number): JobSnapshot =>
    ({
      jobId: 'j',
      countSuccessiveCompleteFailures: 0,
      lastExecution: {
        timeEnded: new Date(at),
        countEscrowed: escrowed,
        countEscrowedRaw: escrowed,
        countEntitled: escrowed,
      },
    }) as unknown as JobSnapshot;

  it('keeps one point per run, however many cycles read the same run', () => {
    const history = emptyHistory();
    for (let i = 0; i < 10; i++) recordRun(history, job(T0 + Math.floor(i / 3) * 40 * MINUTE, i));
    expect(history.runs.map((r) => r.escrowed)).toEqual([0, 3, 6, 9]);
  });

  it('stays within its bound (one table property), whatever the counters and however long it learns', () => {
    const counter = fc.oneof(fc.nat(20), fc.maxSafeNat());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 200 }), counter, counter), { minLength: 1, maxLength: 120 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 200 }), counter), { minLength: 1, maxLength: 40 }),
        (runSteps, hourSteps) => {
          const history = emptyHistory();
          let at = T0;
          for (const [minutes, escrowed] of runSteps) recordRun(history, job((at += minutes * MINUTE), escrowed));
          let t = T0;
          for (const [hours, failures] of hourSteps)
            for (let k = 0; k < hours; k++) recordFailures(history, failures, (t += HOUR), true);
          expect(history.runs.length).toBeLessThanOrEqual(MAX_RUNS);
          expect(history.profile.hours.length).toBeLessThanOrEqual(MAX_HOURS);
          for (const week of Object.values(history.profile.byHourOfWeek))
            expect(week.length).toBeLessThanOrEqual(MAX_WEEKS);
          expect(Object.keys(history.profile.byHourOfWeek).length).toBeLessThanOrEqual(168);
          expect(boundedBody(history).length).toBeLessThanOrEqual(PROPERTY_BUDGET_CHARS);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a full history of the largest counters still fits, with nothing dropped', () => {
    const history = emptyHistory();
    const big = Number.MAX_SAFE_INTEGER;
    for (let i = 0; i < MAX_RUNS; i++)
      history.runs.push({
        at: T0 + i,
        escrowed: big,
        escrowedRaw: big,
        entitled: big,
        completeFailures: big,
        pruned: true,
      });
    for (let h = 0; h < MAX_HOURS; h++) history.profile.hours.push([T0 / HOUR + h, big]);
    for (let k = 0; k < 168; k++) history.profile.byHourOfWeek[String(k)] = Array(MAX_WEEKS).fill(big) as number[];
    const body = boundedBody(history);
    expect(body.length).toBeLessThanOrEqual(PROPERTY_BUDGET_CHARS);
    expect((JSON.parse(body) as JobHistory).runs.length).toBe(MAX_RUNS);
  });
});
