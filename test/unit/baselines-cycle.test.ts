import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { updateHistories } from '../../lib/cycle/baselines';
import { keepFiringForMs } from '../../lib/evaluate/evaluate';
import { emptyHistory } from '../../lib/evaluate/history';
import type { JobHistory } from '../../lib/model/history';
import type { TenantObservation } from '../../lib/model/observation';
import { HistoryStore } from '../../lib/store/history-store';
import { MemoryTable } from '../support/memory-table';
import { logsObservation, NOW } from '../fixtures/alerts';

const SERVICE_NOW = 'ServiceNowOutDelta.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.0a1b2c3d-0000-4000-8000-000000000012';
const HOUR = 3600_000;
const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const policyWith = (rules: Record<string, unknown>) => buildPolicy({ rules }, { emailTo: ['o@contoso.com'] });

/** Runs the learning of two cycles an hour apart, so the first hour is learnt. */
async function learnTwice(store: Pick<HistoryStore, 'load' | 'saveTenant'>, rules: Record<string, unknown> = {}) {
  const policy = policyWith(rules);
  const first: TenantObservation = logsObservation(NOW);
  await updateHistories(first, { histories: store, policy, clock: () => NOW, log });
  const later = new Date(NOW.getTime() + HOUR);
  const second: TenantObservation = logsObservation(later);
  await updateHistories(second, { histories: store, policy, clock: () => later, log });
  return second;
}

describe('the cycle learns each job across runs (lib/cycle/baselines.ts)', () => {
  it("keeps every job's history in Table Storage, one row per job, and holds on the observation only what the rules read", async () => {
    const store = new HistoryStore(new MemoryTable('state').asClient());
    const observation = await learnTwice(store);
    const stored = await store.load(observation.tenantId);
    expect([...stored.keys()].sort()).toEqual(observation.jobs.map((j) => j.jobId).sort());
    // The ServiceNow job's window held 15 failures in the hour learnt; its run is kept once.
    expect(stored.get(SERVICE_NOW)?.profile.hours).toEqual([[Math.floor(NOW.getTime() / HOUR), 15]]);
    expect(stored.get(SERVICE_NOW)?.runs).toHaveLength(1);
    // The fixed threshold reads no profile: the observation holds the run the forecast reads, not the profile.
    const held = observation.history?.get(SERVICE_NOW);
    expect(held?.runs).toEqual(stored.get(SERVICE_NOW)?.runs);
    expect(held?.profile.hours).toEqual([]);
    expect((await store.load('another-tenant')).size).toBe(0);
  });

  it('holds the profile for a job whose failures are judged against its baseline', async () => {
    const store = new HistoryStore(new MemoryTable('state').asClient());
    const observation = await learnTwice(store, { 'provisioning-failures': { mode: 'baseline' } });
    expect(observation.history?.get(SERVICE_NOW)?.profile).toEqual(
      (await store.load(observation.tenantId)).get(SERVICE_NOW)?.profile,
    );
  });

  it('learns no failures with learning pinned or off (runs are still kept for the forecast)', async () => {
    for (const learning of ['pinned', 'off']) {
      const store = new HistoryStore(new MemoryTable('state').asClient());
      const observation = await learnTwice(store, { 'provisioning-failures': { learning } });
      const history = (await store.load(observation.tenantId)).get(SERVICE_NOW);
      expect(history?.profile.hours).toEqual([]);
      expect(history?.runs).toHaveLength(1);
    }
  });

  it('leaves the history off the observation when it cannot be read, so its alerts are held', async () => {
    const broken = {
      load: () => Promise.reject(new Error('Table Storage is unreachable')),
      saveTenant: () => Promise.resolve(),
    };
    const observation = logsObservation(NOW);
    const warnings: string[] = [];
    await updateHistories(observation, {
      histories: broken,
      policy: policyWith({}),
      clock: () => NOW,
      log: { ...log, warn: (m: string) => warnings.push(m) },
    });
    expect(observation.history).toBeUndefined();
    expect(warnings.join('\n')).toContain('the quarantine forecast and baselines are held this cycle');
  });

  it('writes a row only when it changed: a new run or a new figure for the hour', async () => {
    const saved: string[] = [];
    const histories = new Map<string, JobHistory>();
    const store = {
      load: () => Promise.resolve(histories),
      saveTenant: (_t: string, changed: [string, JobHistory][]) => {
        for (const [jobId, h] of changed) {
          saved.push(jobId);
          histories.set(jobId, h);
        }
        return Promise.resolve();
      },
    };
    const policy = policyWith({});
    await updateHistories(logsObservation(NOW), { histories: store, policy, clock: () => NOW, log });
    const firstWrites = saved.length;
    await updateHistories(logsObservation(NOW), { histories: store, policy, clock: () => NOW, log });
    expect(firstWrites).toBeGreaterThan(0);
    expect(saved.length).toBe(firstWrites);
    expect(histories.get(SERVICE_NOW)).not.toEqual(emptyHistory());
  });
});

describe('a cycle reads the histories only when it has something to add (worthReading)', () => {
  /** A HistoryStore over an in-memory table that counts the histories read in full. */
  function countingStore(table = new MemoryTable('state').asClient()) {
    const store = new HistoryStore(table);
    const counted = { loads: 0, jobsAsked: [] as string[][] };
    const load = store.load.bind(store);
    store.load = (tenantId: string, jobIds?: string[]) => {
      counted.loads++;
      counted.jobsAsked.push(jobIds ?? []);
      return load(tenantId, jobIds);
    };
    return Object.assign(store, { counted });
  }
  /** The fixture's tenant with no logs read this cycle (job status only). */
  const jobsOnly = (): TenantObservation => {
    const o = logsObservation(NOW);
    delete o.provisioning;
    return o;
  };
  const policy = policyWith({});
  const learn = (store: HistoryStore, o: TenantObservation, at = NOW, p = policy) =>
    updateHistories(o, { histories: store, policy: p, clock: () => at, log }).then(() => o);

  it('skips them when no job ran since and no logs were read, and holds the forecast', async () => {
    const store = countingStore();
    expect((await learn(store, jobsOnly())).history?.get(SERVICE_NOW)).toBeDefined();
    const quiet = await learn(store, jobsOnly(), new Date(NOW.getTime() + 5 * 60_000));
    expect(store.counted.loads).toBe(1);
    expect(quiet.history).toBeUndefined();
  });

  it('reads them for a new run, a new hour or a higher figure in the logs, not for the same figure', async () => {
    const store = countingStore();
    await learn(store, logsObservation(NOW));
    // The same failures in the same hour: nothing to add.
    await learn(store, logsObservation(NOW));
    expect(store.counted.loads).toBe(1);
    // A run of the ServiceNow job ended after the one recorded.
    const ran = jobsOnly();
    const job = ran.jobs.find((j) => j.jobId === SERVICE_NOW)!;
    job.lastExecution = { ...job.lastExecution!, timeEnded: new Date(NOW.getTime() + 60_000) };
    expect((await learn(store, ran)).history?.get(SERVICE_NOW)?.runs.at(-1)?.at).toBe(NOW.getTime() + 60_000);
    expect(store.counted.loads).toBe(2);
    // An hour later the logs' figure is learnt for a new hour.
    await learn(store, logsObservation(new Date(NOW.getTime() + HOUR)), new Date(NOW.getTime() + HOUR));
    expect(store.counted.loads).toBe(3);
  });

  it("reads only the jobs with something to add, and keeps the others' marks in the marks row", async () => {
    const store = countingStore();
    const tenantId = jobsOnly().tenantId;
    const jobIds = jobsOnly().jobs.map((j) => j.jobId);
    expect(jobIds.length).toBeGreaterThan(1);
    await learn(store, jobsOnly());
    expect(store.counted.jobsAsked[0]).toEqual(jobIds);
    const before = await store.marks(tenantId);
    // Only the ServiceNow job ended a run since.
    const ran = jobsOnly();
    const job = ran.jobs.find((j) => j.jobId === SERVICE_NOW)!;
    job.lastExecution = { ...job.lastExecution!, timeEnded: new Date(NOW.getTime() + 60_000) };
    const learnt = await learn(store, ran);
    expect(store.counted.jobsAsked[1]).toEqual([SERVICE_NOW]);
    // Only its history is on the observation: the other jobs' forecasts are held (quarantine-likely's inView).
    expect([...learnt.history!.keys()]).toEqual([SERVICE_NOW]);
    const after = await store.marks(tenantId);
    expect(after.get(SERVICE_NOW)?.lastRunAt).toBe(NOW.getTime() + 60_000);
    for (const other of jobIds.filter((id) => id !== SERVICE_NOW)) expect(after.get(other)).toEqual(before.get(other));
    // And the next cycle, with nothing new, reads none.
    await learn(store, ran);
    expect(store.counted.loads).toBe(2);
  });

  it('reads the rows written before the marks, and writes them back with them', async () => {
    const table = new MemoryTable('state').asClient();
    await learn(new HistoryStore(table), jobsOnly());
    // The rows as an older version wrote them: no marks.
    for await (const row of table.listEntities<{ partitionKey: string; rowKey: string; marks?: string }>()) {
      const { marks: _, ...older } = row;
      await table.upsertEntity(older, 'Replace');
    }
    const store = countingStore(table);
    const tenantId = jobsOnly().tenantId;
    expect((await store.marks(tenantId)).size).toBe(0);
    expect((await learn(store, jobsOnly())).history?.get(SERVICE_NOW)).toBeDefined();
    expect((await store.marks(tenantId)).size).toBe(jobsOnly().jobs.length);
    await learn(store, jobsOnly());
    expect(store.counted.loads).toBe(1);
  });

  it('always reads them for a baseline or the learnt interval, which the rules read every cycle', async () => {
    for (const rules of [
      { 'provisioning-failures': { mode: 'baseline' } },
      { 'job-stalled': { learnedInterval: true } },
    ]) {
      const store = countingStore();
      await learn(store, jobsOnly(), NOW, policyWith(rules));
      const again = await learn(store, jobsOnly(), NOW, policyWith(rules));
      expect(store.counted.loads).toBe(2);
      expect(again.history?.get(SERVICE_NOW)).toBeDefined();
    }
  });
});

describe('provisioning-failures keeps firing a window longer in baseline mode', () => {
  const labels = { tenantId: 't', servicePrincipalId: 'sp', jobId: 'j', condition: 'provisioning-failures' };
  it('a window in baseline mode, what the config says in fixed mode', () => {
    expect(
      keepFiringForMs(labels, policyWith({ 'provisioning-failures': { mode: 'baseline', window: '2h' } }).rules),
    ).toBe(2 * HOUR);
    expect(keepFiringForMs(labels, policyWith({}).rules)).toBe(0);
    expect(keepFiringForMs(labels, policyWith({ 'provisioning-failures': { keepFiringFor: '3h' } }).rules)).toBe(
      3 * HOUR,
    );
  });
});
