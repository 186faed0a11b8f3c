import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { updateHistories } from '../../lib/cycle/baselines';
import { emptyHistory, recordRun } from '../../lib/evaluate/history';
import { marksOf, type JobHistory } from '../../lib/model/history';
import type { TenantObservation } from '../../lib/model/observation';
import { HistoryStore } from '../../lib/store/history-store';
import { MemoryTable } from '../support/memory-table';
import { logsObservation, NOW } from '../fixtures/alerts';

const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const policy = buildPolicy({ rules: {} }, { emailTo: ['o@contoso.com'] });
const MINUTE = 60_000;

/** What each history ends with: the marks row's part of a save. */
const ending = (histories: Map<string, JobHistory>) =>
  new Map([...histories].map(([jobId, history]) => [jobId, marksOf(history)]));

/** A store over an in-memory table, and the Table Storage operations it made since `clear()`. */
function recordedStore() {
  const table = new MemoryTable('state');
  const operations: string[] = [];
  table.failWith((operation) => void operations.push(operation));
  return { table, operations, store: new HistoryStore(table.asClient()) };
}

/** The fixture's tenant, its jobs' last runs ended `minutes` after NOW. */
function ranAt(minutes: number): TenantObservation {
  const o = logsObservation(NOW);
  delete o.provisioning;
  for (const job of o.jobs)
    if (job.lastExecution)
      job.lastExecution = { ...job.lastExecution, timeEnded: new Date(NOW.getTime() + minutes * MINUTE) };
  return o;
}

const learn = (store: HistoryStore, o: TenantObservation, at: Date) =>
  updateHistories(o, { histories: store, policy, clock: () => at, log }).then(() => o);

/** A history with one run ended at `at`. */
function oneRun(at: number): JobHistory {
  const history = emptyHistory();
  recordRun(history, { lastExecution: { timeEnded: new Date(at), state: 'Succeeded' } } as never);
  return history;
}

describe('job histories in Table Storage: read by their keys, never by a partition query (lib/store/history-store.ts)', () => {
  it('reads what a tenant has to add from its marks row, and the histories of its jobs by their keys', async () => {
    const { store, operations } = recordedStore();
    const first = await learn(store, ranAt(0), NOW);
    expect(first.history?.size).toBe(first.jobs.length);
    operations.length = 0;
    // Nothing new: one point read of the marks row, nothing else.
    const quiet = await learn(store, ranAt(0), new Date(NOW.getTime() + 5 * MINUTE));
    expect(quiet.history).toBeUndefined();
    expect(operations.filter((o) => o !== 'createTable')).toEqual(['getEntity']);
    operations.length = 0;
    // A new run: the marks row, each job's row by its key, and one transaction writing them with the marks.
    const ran = await learn(store, ranAt(40), new Date(NOW.getTime() + 45 * MINUTE));
    expect(ran.history?.size).toBe(ran.jobs.length);
    const made = operations.filter((o) => o !== 'createTable');
    expect(made).not.toContain('listEntities');
    expect(made.filter((o) => o === 'getEntity')).toHaveLength(1 + ran.jobs.length);
    expect(made.filter((o) => o === 'submitTransaction')).toHaveLength(1);
    const marks = await store.marks(ran.tenantId);
    for (const job of ran.jobs) expect(marks.get(job.jobId)?.lastRunAt).toBe(NOW.getTime() + 40 * MINUTE);
  });

  it('reads the marks of histories written before the marks row from their rows, and writes the row with the next change', async () => {
    const { table, store, operations } = recordedStore();
    const o = ranAt(0);
    const client = table.asClient();
    // Rows as the versions before wrote them: each with its own marks, no marks row.
    for (const job of o.jobs)
      await client.upsertEntity({
        partitionKey: `history_${o.tenantId.toLowerCase()}`,
        rowKey: job.jobId.toLowerCase(),
        tenantId: o.tenantId,
        jobId: job.jobId,
        body: JSON.stringify(oneRun(NOW.getTime())),
        marks: `${NOW.getTime()}||`,
      });
    operations.length = 0;
    const before = await store.marks(o.tenantId);
    expect(operations).toContain('listEntities');
    expect([...before.keys()].sort()).toEqual(o.jobs.map((j) => j.jobId).sort());
    // Nothing new: nothing written, and the forecast held.
    expect((await learn(store, ranAt(0), new Date(NOW.getTime() + 5 * MINUTE))).history).toBeUndefined();
    await learn(store, ranAt(40), new Date(NOW.getTime() + 45 * MINUTE));
    operations.length = 0;
    const after = await store.marks(o.tenantId);
    expect(operations).not.toContain('listEntities');
    for (const job of o.jobs) expect(after.get(job.jobId)?.lastRunAt).toBe(NOW.getTime() + 40 * MINUTE);
    // The status view's list counts histories, not the marks row.
    expect((await store.list(100)).total).toBe(o.jobs.length);
  });

  it('keeps no marks row for a tenant with too many jobs for one row: each row has its own', async () => {
    const { store, table } = recordedStore();
    const tenant = 'c0ffee00-0000-4000-8000-000000000001';
    const jobs = new Map(
      Array.from({ length: 400 }, (_, i) => [
        `ServiceNowOutDelta.${String(i).padStart(32, '0')}.0a1b2c3d-0000-4000-8000-${String(i).padStart(12, '0')}`,
        oneRun(NOW.getTime() + i * MINUTE),
      ]),
    );
    await store.saveTenant(tenant, [...jobs].slice(0, 2), ending(new Map([...jobs].slice(0, 2))));
    expect(table.allRows().some((r) => r.rowKey === `~marks_${tenant}`)).toBe(true);
    // 400 jobs: their marks are past one property; the row that promised two goes, the rows stay.
    await store.saveTenant(tenant, [...jobs], ending(jobs));
    expect(table.allRows().some((r) => r.rowKey === `~marks_${tenant}`)).toBe(false);
    const marks = await store.marks(tenant);
    expect(marks.size).toBe(400);
    expect(marks.get([...jobs.keys()][399]!)?.lastRunAt).toBe(NOW.getTime() + 399 * MINUTE);
  });

  it('writes job ids that differ only in case as one row: a transaction may name a row once (Table Storage refuses it whole)', async () => {
    const { store, table } = recordedStore();
    const client = table.asClient();
    const submit = client.submitTransaction.bind(client);
    // Azure's rule, which the in-memory table does not check: an entity appears once in a transaction.
    client.submitTransaction = (actions) => {
      const keys = actions.map((a) => `${a[1].partitionKey}/${a[1].rowKey}`);
      if (new Set(keys).size < keys.length) return Promise.reject(new Error('InvalidDuplicateRow'));
      return submit(actions);
    };
    const twins = new HistoryStore(client);
    const tenant = 'c0ffee00-0000-4000-8000-000000000003';
    const later = oneRun(NOW.getTime() + MINUTE);
    const jobs = new Map([
      ['Job-A', oneRun(NOW.getTime())],
      ['job-a', later],
    ]);
    await twins.saveTenant(tenant, [...jobs], ending(jobs));
    expect((await store.load(tenant)).get('job-a')).toEqual(later);
  });

  it("keeps a job whose id Graph gave as the marks row's key apart from the marks row", async () => {
    const { store } = recordedStore();
    const tenant = 'c0ffee00-0000-4000-8000-000000000004';
    const jobs = new Map([
      [`~marks_${tenant}`, oneRun(NOW.getTime())],
      ['job-a', oneRun(NOW.getTime() + MINUTE)],
    ]);
    await store.saveTenant(tenant, [...jobs], ending(jobs));
    expect((await store.load(tenant, [...jobs.keys()])).size).toBe(2);
    expect((await store.marks(tenant)).get('job-a')?.lastRunAt).toBe(NOW.getTime() + MINUTE);
  });

  it('loads the histories of the jobs asked for (none for a job with no row), and a damaged marks row reads the rows', async () => {
    const { store, table } = recordedStore();
    const tenant = 'c0ffee00-0000-4000-8000-000000000002';
    const jobs = new Map([['job-a', oneRun(NOW.getTime())]]);
    await store.saveTenant(tenant, [...jobs], ending(jobs));
    const loaded = await store.load(tenant, ['job-a', 'job-b']);
    expect([...loaded.keys()]).toEqual(['job-a']);
    await table
      .asClient()
      .upsertEntity({ partitionKey: `history_${tenant}`, rowKey: `~marks_${tenant}`, marks: '{not json' }, 'Replace');
    expect((await store.marks(tenant)).get('job-a')?.lastRunAt).toBe(NOW.getTime());
    // Every history kept (no jobs named) leaves the marks row out.
    expect([...(await store.load(tenant)).keys()]).toEqual(['job-a']);
  });
});
