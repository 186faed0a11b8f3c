import { describe, expect, it } from 'vitest';
import { forecastQuarantine, theilSen, type ForecastParams } from '../../lib/evaluate/forecast';
import type { RunPoint } from '../../lib/model/history';

const HOUR = 3600_000;
const T0 = Date.parse('2026-11-20T00:00:00Z');
const PARAMS: ForecastParams = {
  horizonMs: 24 * HOUR,
  lookbackMs: 6 * HOUR,
  minRuns: 4,
  completeFailures: 2,
  agreement: 0.75,
};

/** Runs every 40 minutes with these escrow counts. */
function runs(escrowed: number[], extra: Partial<RunPoint> = {}): RunPoint[] {
  return escrowed.map((e, i) => ({
    at: T0 + i * 40 * 60_000,
    escrowed: e,
    completeFailures: 0,
    pruned: false,
    ...extra,
  }));
}

describe('the quarantine forecast', () => {
  it('projects a steady growth to the 5,000 failures where Entra starts to evaluate, in hours', () => {
    // +300 a run of 40 minutes = +450 an hour; from 2,300 the 5,000 are 6 hours away.
    const f = forecastQuarantine(runs([800, 1100, 1400, 1700, 2000, 2300]), PARAMS);
    expect(f?.basis).toBe('escrow trend');
    expect(f?.ratePerHour).toBeCloseTo(450, 5);
    expect(f?.hoursLeft).toBeCloseTo((5000 - 2300) / 450, 5);
    expect(f?.threshold.figure).toBe(5000);
    expect(f?.threshold.source).toContain('Application provisioning in quarantine status');
    expect(f?.trend).toContain('800 → 2,300');
  });

  it('heads for 40% of the objects in scope when that is more than 5,000', () => {
    const f = forecastQuarantine(runs([8000, 8600, 9200, 9800, 10400], { entitled: 50_000 }), PARAMS);
    expect(f?.threshold.figure).toBe(20_001);
    expect(f?.hoursLeft).toBeCloseTo((20_001 - 10_400) / 900, 5);
    expect(f?.threshold.source).toContain('countEntitled (not documented: inferred)');
  });

  it('picks the absolute 60,000 on the raw count when that comes first', () => {
    const f = forecastQuarantine(
      [0, 1, 2, 3, 4].map((i) => ({
        at: T0 + i * 40 * 60_000,
        escrowed: 100,
        escrowedRaw: 55_000 + i * 1000,
        completeFailures: 0,
        pruned: false,
      })),
      PARAMS,
    );
    expect(f?.threshold.figure).toBe(60_001);
    expect(f?.hoursLeft).toBeCloseTo(1001 / 1500, 5);
  });

  it('says nothing when the crossing is beyond the horizon', () => {
    // +15 an hour from 1,000: 5,000 are 266 hours away.
    expect(forecastQuarantine(runs([990, 1000, 1010, 1020, 1030]), PARAMS)).toBeUndefined();
    expect(forecastQuarantine(runs([990, 1000, 1010, 1020, 1030]), { ...PARAMS, horizonMs: 300 * HOUR })).toBeDefined();
  });

  it('resolves when the trend turns: the newest runs no longer grow', () => {
    const rising = [800, 1100, 1400, 1700, 2000, 2300];
    expect(forecastQuarantine(runs(rising), PARAMS)).toBeDefined();
    expect(forecastQuarantine(runs([...rising, 2250, 2100]), PARAMS)).toBeUndefined();
  });

  it('does not read a trend into noise around a level', () => {
    const noisy = [1200, 900, 1500, 1000, 1400, 950, 1350, 1100, 1450];
    expect(forecastQuarantine(runs(noisy), PARAMS)).toBeUndefined();
    // The same noise on a steep climb is a trend.
    const climbing = noisy.map((e, i) => e + i * 600);
    expect(forecastQuarantine(runs(climbing), PARAMS)?.basis).toBe('escrow trend');
  });

  it('uses the failure rate of the logs when there are too few runs for a trend', () => {
    const f = forecastQuarantine(runs([3000, 3400]), PARAMS, 500);
    expect(f?.basis).toBe('log failure rate');
    expect(f?.hoursLeft).toBeCloseTo((5000 - 3400) / 500, 5);
    expect(forecastQuarantine(runs([3000, 3400]), PARAMS)).toBeUndefined();
  });

  it('warns of complete failures in a row (a credential quarantine) within the next run', () => {
    const f = forecastQuarantine(runs([0, 0, 0], { completeFailures: 2 }), PARAMS);
    expect(f?.basis).toBe('complete failures');
    expect(f?.hoursLeft).toBeCloseTo(40 / 60, 5);
    expect(f?.threshold.source).toContain('not documented');
    expect(forecastQuarantine(runs([0, 0, 0], { completeFailures: 1 }), PARAMS)).toBeUndefined();
  });

  it('reports pruned escrows as a threshold already reached', () => {
    expect(forecastQuarantine(runs([6000], { pruned: true }), PARAMS)).toMatchObject({
      hoursLeft: 0,
      basis: 'escrows pruned',
    });
  });

  it('Theil–Sen ignores an outlier that a least-squares line would follow', () => {
    const points = [0, 1, 2, 3, 4, 5, 6].map((i) => ({ at: i, value: i === 3 ? 1000 : 10 * i }));
    expect(theilSen(points).slope).toBeCloseTo(10, 5);
  });
});
