import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forecastQuarantine, type ForecastParams } from '../../lib/evaluate/forecast';
import { baselineOf, heldForRules, MAX_RUNS } from '../../lib/evaluate/history';
import type { JobHistory, RunPoint } from '../../lib/model/history';

const HOUR = 3600_000;
const T0 = Date.parse('2026-10-05T00:00:00Z');

/**
 * Runs 20 to 90 (or up to 240) minutes apart, with escrows, complete failures or a prune, and
 * quiet from a point on (often from the start): the newest runs of most jobs are quiet.
 */
const runsArb = fc
  .tuple(
    fc.array(
      fc.record({
        gapMin: fc.oneof(fc.integer({ min: 20, max: 90 }), fc.integer({ min: 20, max: 240 })),
        escrowed: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 80_000 })),
        raw: fc.option(fc.integer({ min: 0, max: 80_000 }), { nil: undefined }),
        completeFailures: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 6 })),
        pruned: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      }),
      { maxLength: MAX_RUNS },
    ),
    fc.integer({ min: 0, max: MAX_RUNS }),
  )
  .map(([list, quietFrom]) => {
    let at = T0;
    return list.map((r, i): RunPoint => {
      at += r.gapMin * 60_000;
      if (i >= quietFrom) return { at, escrowed: 0, completeFailures: 0, pruned: false };
      return {
        at,
        escrowed: r.escrowed,
        ...(r.raw !== undefined ? { escrowedRaw: r.raw } : {}),
        completeFailures: r.completeFailures,
        pruned: r.pruned,
      };
    });
  });

const paramsArb = fc.record({
  horizonMs: fc.integer({ min: 1, max: 14 * 24 }).map((h) => h * HOUR),
  // Often shorter than a few runs: the newest runs' gaps then reach past it.
  lookbackMs: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 7 * 24 })).map((h) => h * HOUR),
  minRuns: fc.integer({ min: 2, max: 12 }),
  completeFailures: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 100 })),
  agreement: fc.double({ min: 0.5, max: 1, noNaN: true }),
});

const history = (runs: RunPoint[]): JobHistory => ({
  version: 1,
  runs,
  profile: {
    hours: Array.from({ length: 168 }, (_, i): [number, number] => [Math.floor(T0 / HOUR) + i, i % 7]),
    byHourOfWeek: { '3': [1, 2, 3, 4] },
  },
});

describe('what a cycle holds of a job history for its rules (heldForRules)', () => {
  it('gives the quarantine forecast exactly what the whole history gives it, whatever the runs and settings', () => {
    fc.assert(
      fc.property(
        runsArb,
        paramsArb,
        fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
        (runs, params: ForecastParams, logRate) => {
          const whole = history(runs);
          const held = heldForRules(whole, {
            forecast: { lookbackMs: params.lookbackMs, minRuns: params.minRuns },
            baseline: false,
            interval: false,
          });
          expect(forecastQuarantine(held.runs, params, logRate)).toEqual(forecastQuarantine(runs, params, logRate));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('holds a quiet job in a few runs and no profile, all of it for the baseline or the learnt interval', () => {
    const quiet = Array.from({ length: MAX_RUNS }, (_, i): RunPoint => ({
      at: T0 + i * 40 * 60_000,
      escrowed: 0,
      completeFailures: 0,
      pruned: false,
    }));
    const whole = history(quiet);
    const forecast = { lookbackMs: 6 * HOUR, minRuns: 4 };
    const lean = heldForRules(whole, { forecast, baseline: false, interval: false });
    expect(lean.runs).toEqual(quiet.slice(-4));
    expect(lean.profile).toEqual({ hours: [], byHourOfWeek: {} });
    expect(JSON.stringify(lean).length * 20).toBeLessThan(JSON.stringify(whole).length);
    // No forecast judged: no runs at all.
    expect(heldForRules(whole, { baseline: false, interval: false }).runs).toEqual([]);
    const forBaseline = heldForRules(whole, { forecast, baseline: true, interval: false });
    const now = T0 + 200 * HOUR;
    expect(baselineOf(forBaseline.profile, now, 0)).toEqual(baselineOf(whole.profile, now, 0));
    expect(heldForRules(whole, { forecast, baseline: false, interval: true }).runs).toEqual(quiet);
  });

  it('holds a job with escrows in its runs within the lookback, and at least its newest four', () => {
    const escrowed = (n: number, gapMin: number) =>
      Array.from({ length: n }, (_, i): RunPoint => ({
        at: T0 + i * gapMin * 60_000,
        escrowed: 100 + i,
        completeFailures: 0,
        pruned: false,
      }));
    const forecast = { lookbackMs: 6 * HOUR, minRuns: 4 };
    // A week of runs every 40 minutes, each with escrows: the 6 h lookback holds 10 of its 72.
    const week = escrowed(MAX_RUNS, 40);
    const held = heldForRules(history(week), { forecast, baseline: false, interval: false }).runs;
    expect(held).toEqual(week.slice(-10));
    // Runs every 3 hours: the lookback holds 3, and the newest four are held for their gaps.
    const sparse = escrowed(30, 180);
    expect(heldForRules(history(sparse), { forecast, baseline: false, interval: false }).runs).toEqual(
      sparse.slice(-4),
    );
    expect(heldForRules(history(sparse.slice(-2)), { forecast, baseline: false, interval: false }).runs).toEqual(
      sparse.slice(-2),
    );
  });
});
