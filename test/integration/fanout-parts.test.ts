import { TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { SharedWindowLimiter } from '../../lib/store/shared-limiter';
import { FanOutStore, type BatchReport } from '../../lib/store/fanout-store';

/** The fan-out's Table Storage parts on Azurite: reports of any size, and Graph's reports limit shared by instances. */

function table(name = `fo${randomUUID().replace(/-/g, '').slice(0, 20)}`): TableClient {
  return TableClient.fromConnectionString(inject('storageConnectionString'), name, { allowInsecureConnection: true });
}

function report(batch: number, findings: number): BatchReport {
  return {
    batch,
    worker: 'host#1',
    durationMs: 12,
    errors: [`tenant t${batch}: cannot monitor: 401 UnknownError`],
    tenants: [
      {
        tenantId: `t${batch}`,
        unreadable: false,
        jobsSeen: findings,
        judged: ['fp-1'],
        findings: Array.from({ length: findings }, (_, i) => ({
          fingerprint: `fp-${i}`,
          labels: { tenantId: `t${batch}`, servicePrincipalId: `sp-${i}`, jobId: `job-${i}`, condition: 'quarantine' },
          severity: 'critical' as const,
          pendingCycles: 0,
          annotations: { reason: 'EncounteredQuarantineException', errorMessage: `é ${'x'.repeat(1500)} ${i}` },
          material: `quarantine|${i}`,
        })),
      },
    ],
  };
}

describe('fan-out reports in Table Storage', () => {
  it('keeps a report of any size whole, across rows, and lists only whole ones', async () => {
    const client = table();
    const store = new FanOutStore(client);
    const cycle = '2026-11-27T03:15:00.000Z_aaaa';
    const big = report(0, 1000); // about 1.6 MB of JSON: several rows under the 1 MiB entity limit
    await store.writeReport(cycle, big);
    await store.writeReport(cycle, report(1, 1));
    expect(await store.reportedBatches(cycle)).toEqual(new Set([0, 1]));
    expect(await store.readReports(cycle)).toEqual([big, report(1, 1)]);
    const rows: string[] = [];
    for await (const e of client.listEntities({ queryOptions: { filter: `PartitionKey eq '${cycle}'` } }))
      rows.push(String(e.rowKey));
    expect(rows.filter((r) => r.startsWith('b000000')).length).toBeGreaterThan(2);

    // A report whose parts are not all there (its writer died between them) counts as not reported.
    await client.deleteEntity(cycle, 'b000000-1');
    expect((await store.readReports(cycle)).map((r) => r.batch)).toEqual([1]);
    // Writing a batch again replaces it (a retried message).
    await store.writeReport(cycle, report(1, 2));
    expect((await store.readReports(cycle)).find((r) => r.batch === 1)?.tenants[0]?.findings).toHaveLength(2);
  });

  it('deletes a cycle once read, and the leftovers of older cycles, but not newer ones or the shared limit', async () => {
    const client = table();
    const store = new FanOutStore(client);
    await store.writeReport('2026-11-27T03:00:00.000Z_old1', report(0, 1));
    await store.writeReport('2026-11-27T03:15:00.000Z_cur1', report(0, 1));
    await store.writeReport('2026-11-27T03:20:00.000Z_new1', report(0, 1));
    await client.upsertEntity({ partitionKey: 'limits', rowKey: 'graph-reports', times: '[]' });
    await store.pruneBefore('2026-11-27T03:10:00.000Z');
    await store.deleteCycle('2026-11-27T03:15:00.000Z_cur1');
    const left: string[] = [];
    for await (const e of client.listEntities()) left.push(String(e.partitionKey));
    expect(left.sort()).toEqual(['2026-11-27T03:20:00.000Z_new1', 'limits']);
  });
});

describe('a limit shared by instances through one row', () => {
  it('admits no more than the limit in any window across instances', async () => {
    const name = `fl${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    const key = { partitionKey: 'limits', rowKey: 'graph-reports' };
    const limit = { requests: 4, windowMs: 700 };
    // Two instances, each with its own table client, as two Functions instances would have.
    const a = new SharedWindowLimiter(table(name), key, limit);
    const b = new SharedWindowLimiter(table(name), key, limit);
    const admitted: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).take().then(() => admitted.push(performance.now()))),
    );
    admitted.sort((x, y) => x - y);
    // 10 requests at 4 per 700 ms: the last window opens after two full windows.
    expect(admitted.at(-1)! - started).toBeGreaterThanOrEqual(2 * limit.windowMs - 50);
    for (let i = 0; i + limit.requests < admitted.length; i++) {
      expect(admitted[i + limit.requests]! - admitted[i]!).toBeGreaterThanOrEqual(limit.windowMs - 50);
    }
  });

  it('gives up a wait whose signal fires', async () => {
    const limiter = new SharedWindowLimiter(
      table(),
      { partitionKey: 'limits', rowKey: 'r' },
      { requests: 1, windowMs: 60_000 },
    );
    await limiter.take();
    const aborted = AbortSignal.timeout(200);
    await expect(limiter.take(aborted)).rejects.toThrow();
  });
});
