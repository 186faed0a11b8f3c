import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { latestTurn, nextTurn, rotationOffset, whyReadLogs, type LogPlanFacts } from '../../lib/cycle/log-plan';
import { buildPolicy } from '../../lib/config/config';
import { lastLogRead } from '../../lib/status/status';
import { DAY, HOUR, MIN, NOW, ago, job, tenant } from '../support/rule-world';

const policy = buildPolicy({}, { emailTo: ['ops@contoso.com'] });
const facts = (patch: Partial<LogPlanFacts> = {}): LogPlanFacts => ({
  now: NOW.getTime(),
  rotationMs: HOUR,
  // Read to the end a minute ago: not due by the rotation.
  state: { watermark: NOW.getTime() - MIN, backlog: false },
  openLogAlert: false,
  policy,
  ...patch,
});
const healthy = tenant({ jobs: [job()] });
const reason = (o = healthy, f = facts()) => whyReadLogs(o, f)?.reason;

describe('which tenants have their provisioning logs read this cycle', () => {
  it('a healthy tenant read a minute ago waits for its turn', () => {
    expect(whyReadLogs(healthy, facts())).toBeUndefined();
  });

  it('reads a tenant whose job status shows trouble, every cycle', () => {
    const run = job().lastExecution!;
    const troubled = [
      job({ status: { known: 'Quarantine', raw: 'Quarantine' }, quarantine: { reason: { raw: 'x' } } }),
      job({ lastExecution: { ...run, state: 'EntryLevelErrors', result: 'EntryLevelErrors', countEscrowed: 3 } }),
      job({ lastExecution: { ...run, state: 'Failed', result: 'Failed' } }),
      job({ lastExecution: { ...run, countEscrowed: 1 } }),
      job({ countSuccessiveCompleteFailures: 1 }),
      job({ escrowsPruned: true }),
      // Stalled: its last run ended two days ago on a 40-minute schedule.
      job({
        lastExecution: { ...run, timeBegan: ago(2 * DAY), timeEnded: ago(2 * DAY) },
        lastSuccessfulExecution: { timeBegan: ago(2 * DAY), timeEnded: ago(2 * DAY) },
        steadyStateLastAchievedTime: ago(2 * DAY),
      }),
    ];
    for (const j of troubled) expect(reason(tenant({ jobs: [job(), j] })), JSON.stringify(j)).toBe('trouble');
  });

  it('a never-run job (Failed with no time) is no trouble', () => {
    const neverRun = job({ lastExecution: { state: 'Failed', result: 'Failed' } });
    expect(reason(tenant({ jobs: [neverRun] }))).toBeUndefined();
  });

  it('reads a tenant with a log alert open, a backlog, or never read; and every cycle when the rotation is 0', () => {
    expect(reason(healthy, facts({ openLogAlert: true }))).toBe('open-alert');
    expect(reason(healthy, facts({ state: { watermark: NOW.getTime() - MIN, backlog: true } }))).toBe('backlog');
    expect(reason(healthy, facts({ state: undefined }))).toBe('first');
    expect(reason(healthy, facts({ rotationMs: 0 }))).toBe('every-cycle');
  });

  it('reads a tenant whose silence check (no-provisioning-events) watches an Active job', () => {
    const watching = buildPolicy({ rules: { 'no-provisioning-events': { enabled: true } } }, { emailTo: ['a@b.c'] });
    expect(reason(healthy, facts({ policy: watching }))).toBe('rule');
  });

  it('a tenant that could not be read has no log read planned', () => {
    const unreadable = tenant({ problem: { kind: 'transient', message: 'x', operation: 'token' } });
    expect(whyReadLogs(unreadable, facts({ state: undefined }))).toBeUndefined();
  });

  it('every tenant is read once within the rotation period, at a time of its own', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 0, max: 10 * DAY }), (tenantId, offset) => {
        const o = tenant({ tenantId }); // no jobs: nothing but the rotation asks for its logs
        const start = NOW.getTime() + offset;
        // Read at `start`; step 5 minutes at a time: the next read comes within the period, not before its turn.
        let now = start;
        let read = start;
        for (; now <= start + HOUR + 5 * MIN; now += 5 * MIN) {
          if (whyReadLogs(o, facts({ now, state: { watermark: read, backlog: false } }))) break;
        }
        expect(now - read).toBeLessThanOrEqual(HOUR + 5 * MIN);
        expect(now).toBeGreaterThan(read);
        read = now;
        expect(latestTurn(tenantId, now, HOUR)).toBeLessThanOrEqual(now);
        expect(nextTurn(tenantId, now, HOUR) - latestTurn(tenantId, now, HOUR)).toBe(HOUR);
      }),
      { numRuns: 200 },
    );
  });

  it('spreads 1,000 tenants evenly over the period (no 5-minute slot holds more than twice its share)', () => {
    const slots = new Array<number>(12).fill(0);
    for (let i = 0; i < 1000; i++) {
      const offset = rotationOffset(`tenant-${i}-0000-4000-8000-000000000000`, HOUR);
      slots[Math.floor(offset / (5 * MIN))]!++;
    }
    for (const n of slots) expect(n).toBeLessThan((1000 / 12) * 2);
    expect(slots.reduce((a, b) => a + b)).toBe(1000);
  });
});

describe("the status view's last log read", () => {
  it('says when the logs were last read and when they are read next at the latest', () => {
    expect(lastLogRead({ logsReadAt: '2026-11-27T11:00:00.000Z', logsNextBy: '2026-11-27T12:34:00.000Z' })).toBe(
      '2026-11-27 11:00 UTC; next by 2026-11-27 12:34 UTC (its turn in the rotation, or sooner if a job shows trouble)',
    );
    expect(lastLogRead({ logsReadAt: '2026-11-27T11:00:00.000Z' })).toBe('2026-11-27 11:00 UTC');
  });
});
