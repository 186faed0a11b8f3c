import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextOccurrence, NcrontabError, parseNcrontab, shortestIntervalMs } from '../../lib/settings/ncrontab';
import { functionTimeoutMs, HOST_FUNCTION_TIMEOUT_MS, limitsFor, limitsForSchedule } from '../../lib/cycle/limits';

const next = (expr: string, after: string) => nextOccurrence(parseNcrontab(expr), new Date(after))?.toISOString();

describe('NCRONTAB', () => {
  it('reads values, ranges, lists, steps and names', () => {
    const s = parseNcrontab('0 */15 9-17 * Jan,Jul mon-FRI');
    expect([...s.minutes]).toEqual([0, 15, 30, 45]);
    expect([...s.hours]).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect([...s.months]).toEqual([1, 7]);
    expect([...s.weekdays]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseNcrontab('5/20 * * * * *').seconds]).toEqual([5, 25, 45]);
    expect([...parseNcrontab('0 0 0 * * Sunday,saturday').weekdays].sort()).toEqual([0, 6]);
  });

  it('names the field and the value at fault', () => {
    const problem = (expr: string) => {
      try {
        parseNcrontab(expr);
        return 'no problem';
      } catch (error) {
        expect(error).toBeInstanceOf(NcrontabError);
        return (error as Error).message;
      }
    };
    expect(problem('99 99 99 * * *')).toBe('second field "99": 99 is out of range 0-59');
    expect(problem('0 60 * * * *')).toBe('minute field "60": 60 is out of range 0-59');
    expect(problem('0 0 24 * * *')).toBe('hour field "24": 24 is out of range 0-23');
    expect(problem('0 0 0 0 * *')).toBe('day field "0": 0 is out of range 1-31');
    expect(problem('0 0 0 * 13 *')).toBe('month field "13": 13 is out of range 1-12');
    expect(problem('0 0 0 * * 7')).toBe('day-of-week field "7": 7 is out of range 0-6');
    expect(problem('0 0 0 * foo *')).toMatch(/^month field "foo": "foo" is not a number or a name/);
    expect(problem('0 5-1 * * * *')).toBe('minute field "5-1": the range 5-1 runs backwards');
    expect(problem('0 */0 * * * *')).toBe('minute field "*/0": a step must be 1 or more');
    expect(problem('*/5 * * * *')).toMatch(/^has 5 fields; .* \(did you mean "0 \*\/5 \* \* \* \*"\?\)$/);
    expect(problem('0 0 0 31 2 *')).toBe('never fires (no such day in any year)');
    expect(problem('0 0 0 29 2 *')).toBe('no problem');
  });

  it('finds the next occurrence in UTC, a day matching both its day and day-of-week fields', () => {
    expect(next('0 */5 * * * *', '2026-11-27T12:03:10Z')).toBe('2026-11-27T12:05:00.000Z');
    expect(next('0 */5 * * * *', '2026-11-27T12:05:00Z')).toBe('2026-11-27T12:10:00.000Z');
    expect(next('30 30 9 * * mon-fri', '2026-11-27T10:00:00Z')).toBe('2026-11-30T09:30:30.000Z'); // Friday past 09:30 → Monday
    expect(next('0 0 0 29 2 *', '2026-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('0 0 0 13 * fri', '2026-01-01T00:00:00Z')).toBe('2026-02-13T00:00:00.000Z');
  });

  it('measures the shortest gap between runs', () => {
    expect(shortestIntervalMs(parseNcrontab('0 */5 * * * *'))).toBe(300_000);
    expect(shortestIntervalMs(parseNcrontab('*/10 * * * * *'))).toBe(10_000);
    expect(shortestIntervalMs(parseNcrontab('0 0,1 * * * *'))).toBe(60_000);
  });
});

describe('cycle limits', () => {
  it('host.json and the product agree on the Functions timeout', () => {
    const host = JSON.parse(readFileSync(join(__dirname, '..', '..', 'host.json'), 'utf8')) as {
      functionTimeout: string;
    };
    expect(functionTimeoutMs({ AzureFunctionsJobHost__functionTimeout: host.functionTimeout })).toBe(
      HOST_FUNCTION_TIMEOUT_MS,
    );
    expect(functionTimeoutMs({})).toBe(HOST_FUNCTION_TIMEOUT_MS);
    expect(functionTimeoutMs({ AzureFunctionsJobHost__functionTimeout: '00:10:00' })).toBe(600_000);
    expect(functionTimeoutMs({ AzureFunctionsJobHost__functionTimeout: '1.00:00:00' })).toBe(86_400_000);
    expect(functionTimeoutMs({ AzureFunctionsJobHost__functionTimeout: 'soon' })).toBe(HOST_FUNCTION_TIMEOUT_MS);
  });

  it("every 5 minutes: 240 s a cycle (below the host's 270 s), 60 s a tenant, 20 s a call", () => {
    expect(limitsForSchedule('0 */5 * * * *')).toEqual({
      cycleMs: 240_000,
      observeMs: 144_000,
      tenantMs: 60_000,
      callMs: 20_000,
      maxRetryAfterMs: 30_000,
    });
  });

  it('an hourly schedule is held below the host timeout; a fast one gets 80 % of its gap', () => {
    expect(limitsFor(3600_000).cycleMs).toBe(240_000);
    expect(limitsFor(3600_000, 1800_000).cycleMs).toBe(1770_000);
    expect(limitsFor(10_000)).toMatchObject({ cycleMs: 8000, tenantMs: 3000, callMs: 1000 });
    expect(limitsFor(10).cycleMs).toBe(1000);
  });

  it('every share fits in the one above it', () => {
    for (const interval of [1000, 10_000, 60_000, 300_000, 3600_000, 86_400_000]) {
      const l = limitsFor(interval);
      expect(l.observeMs).toBeLessThan(l.cycleMs);
      expect(l.tenantMs).toBeLessThanOrEqual(l.observeMs);
      expect(l.callMs * 3).toBeLessThanOrEqual(l.tenantMs + 1e-9);
      expect(l.maxRetryAfterMs).toBeLessThanOrEqual(l.tenantMs);
    }
  });
});
