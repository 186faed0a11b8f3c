import { describe, expect, it } from 'vitest';
import type { QueueClient } from '@azure/storage-queue';
import { queueFanOut } from '../../lib/fanout/planner';
import { CycleBudget, limitsFor } from '../../lib/cycle/limits';
import type { Evidence, ObserveDeps } from '../../lib/cycle/observe';
import type { LogsDeps } from '../../lib/cycle/logs';
import type { BatchReport, FanOutStore } from '../../lib/store/fanout-store';
import { Deadline } from '../../lib/util/deadline';
import { policy } from '../support/policy';
import { memoryLogger } from '../support/world';

/**
 * The planner's waves, with the queue and the reports' table faked: reports arrive when the test
 * says, and each wave's evidence is what the cycle would deliver early (lib/cycle/cycle.ts).
 */

const TENANTS = Array.from({ length: 15 }, (_, i) => `tenant-${i}`);
const BATCH = 3;

/** A batch's report: one finding per tenant (its fingerprint names the tenant). */
function report(batch: number): BatchReport {
  return {
    batch,
    worker: 'w#1',
    durationMs: 1,
    errors: [],
    tenants: TENANTS.slice(batch * BATCH, batch * BATCH + BATCH).map((tenantId) => ({
      tenantId,
      unreadable: false,
      jobsSeen: 1,
      judged: [],
      findings: [
        {
          fingerprint: `fp-${tenantId}`,
          labels: { tenantId, servicePrincipalId: 'sp', jobId: 'job', condition: 'quarantine' },
          severity: 'critical' as const,
          pendingCycles: 0,
          annotations: {},
          material: 'quarantine',
        },
      ],
    })),
  };
}

/** The reports' table: each batch of the first part reported `arrivals[batch]` ms after the messages went out; the second part's at once. */
function fakeStore(arrivals: number[]): FanOutStore & { reads: number } {
  let sentAt = 0;
  const arrived = (partition: string) =>
    arrivals
      .map((ms, batch) => ({ ms, batch }))
      .filter(({ ms }) => partition.endsWith('-logs') || Date.now() - sentAt >= ms)
      .map(({ batch }) => batch);
  const store = {
    reads: 0,
    async pruneBefore() {
      sentAt = Date.now();
    },
    async reportedBatches(partition: string) {
      return new Set(arrived(partition));
    },
    async readReports(partition: string) {
      store.reads++;
      return arrived(partition).map(report);
    },
    async deleteCycle() {},
  };
  return store as unknown as FanOutStore & { reads: number };
}

const queue = {
  name: 'waves',
  url: 'https://queue.invalid/waves',
  createIfNotExists: async () => ({}),
  sendMessage: async () => ({}),
} as unknown as QueueClient;

function deps(logs: boolean): ObserveDeps {
  return {
    targets: TENANTS.map((tenantId) => ({ tenantId })),
    graphFor: () => {
      throw new Error('the planner reads no tenant here: every batch was enqueued');
    },
    policy: policy(),
    clock: () => new Date(),
    log: memoryLogger(),
    ...(logs ? { logs: {} as LogsDeps } : {}),
  };
}

const tenantsOf = (evidence: Evidence) => evidence.findings(new Date()).map((f) => f.labels.tenantId);

async function observe(arrivals: number[], options: { logs: boolean; firstWaveMs: number }) {
  const budget = new CycleBudget({ ...limitsFor(5 * 60_000), firstWaveMs: options.firstWaveMs });
  budget.start();
  const waves: { at: number; tenants: string[] }[] = [];
  const store = fakeStore(arrivals);
  const fan = queueFanOut({ queue, store, batchSize: BATCH, pollMs: 10 });
  const started = Date.now();
  const observed = await fan.observe(deps(options.logs), budget, Deadline.in(5_000), [], undefined, async (some) => {
    waves.push({ at: Date.now() - started, tenants: tenantsOf(some) });
  });
  return { observed, waves, store };
}

describe("the planner's waves", () => {
  it('delivers the job alerts of the batches reported so far, each tenant once, at doubling intervals', async () => {
    const { observed, waves } = await observe([0, 30, 150, 400, 900], { logs: true, firstWaveMs: 100 });
    // At about 100, 300 and 700 ms: batches 0 and 1, then 2, then 3; the last batch is in the part itself.
    expect(waves.length).toBeGreaterThanOrEqual(2);
    expect(waves[0]!.at).toBeGreaterThanOrEqual(100);
    expect(waves[0]!.tenants).toEqual(expect.arrayContaining(TENANTS.slice(0, 6)));
    for (let i = 1; i < waves.length; i++)
      expect(waves[i]!.at - waves[i - 1]!.at).toBeGreaterThanOrEqual(100 * 2 ** i - 15);
    const rest = tenantsOf(observed.jobs);
    expect(rest).toEqual(expect.arrayContaining(TENANTS.slice(12)));
    // Disjoint and whole: every tenant's job conditions are judged once this cycle.
    const all = [...waves.flatMap((w) => w.tenants), ...rest];
    expect(all.sort()).toEqual([...TENANTS].sort());
    expect(observed.jobsDeliveredEarly).toBe(true);
    // The logs part still tells every tenant.
    expect(tenantsOf(await observed.logs!()).sort()).toEqual([...TENANTS].sort());
  });

  it('sends no wave when every batch reports before the first is due', async () => {
    const { observed, waves, store } = await observe([0, 10, 20, 30, 40], { logs: true, firstWaveMs: 500 });
    expect(waves).toEqual([]);
    expect(observed.jobsDeliveredEarly).toBeUndefined();
    expect(tenantsOf(observed.jobs).sort()).toEqual([...TENANTS].sort());
    expect(store.reads).toBe(1);
  });

  it('sends no wave with a single part (no provisioning logs): each condition is judged once, at the end', async () => {
    const { observed, waves } = await observe([0, 30, 150, 400, 600], { logs: false, firstWaveMs: 100 });
    expect(waves).toEqual([]);
    expect(observed.logs).toBeUndefined();
    expect(tenantsOf(observed.jobs).sort()).toEqual([...TENANTS].sort());
  });
});
