import { describe, expect, it } from 'vitest';
import { formatReport, runSoak } from './harness';

/**
 * The soak, shortened for CI (`npm run soak` runs thousands of cycles): a simulated week-end of
 * random faults, crashes, kills, overlapping instances and job timelines over the real pipeline,
 * then the invariants: every notice planned is delivered exactly once, one firing and one resolved
 * notice per incident per route, no reminder or escalation while an acknowledgement stands, each
 * escalation step at most once per firing period and every one owed delivered, no send beyond the
 * budget, bounded tables.
 */
describe('soak (shortened)', () => {
  it.each([11])('seed %i: 150 cycles, every invariant holds', async (seed) => {
    const report = await runSoak({ cycles: 150, seed, faultRate: 2 });
    console.log(formatReport(report));
    expect(report.violations).toEqual([]);
    expect(report.crashes + report.kills).toBeGreaterThan(0);
    expect(report.overlaps).toBeGreaterThan(0);
    expect(report.noticesDelivered).toBeGreaterThan(20);
    expect(Object.keys(report.faults).length).toBeGreaterThan(5);
    expect(report.acknowledgements).toBeGreaterThan(1);
    expect(report.escalationsOwed).toBeGreaterThan(1);
    expect(report.escalationsDelivered).toBeGreaterThanOrEqual(report.escalationsOwed);
  });
});
