import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { Finding } from '../model';
import type { TenantCoverage } from '../model/coverage';
import { MAX_TRANSACTION_OPERATIONS, PROPERTY_BUDGET_CHARS, stored, tableCreator } from './table';

/**
 * What the queue-triggered function found in each batch of tenants, kept in Table Storage until
 * the cycle's planner has read it: partition = the cycle, one report per batch. The planner deletes
 * its cycle's rows once read, and any older cycle's left behind by a planner that died.
 */

export const FANOUT_TABLE = 'SyncWatchFanOut';

/** One tenant as a worker saw it: what the rules found, and which of its stored alerts could be judged. */
export interface TenantReport {
  tenantId: string;
  findings: Finding[];
  /** Fingerprints of the tenant's stored alerts that were in view this cycle (the others are held as they were). */
  judged: string[];
  /** Of those, the ones whose configuration is confirmed gone (they end as such). */
  gone?: string[];
  /** Held ones whose configuration was not seen on the last read: fingerprint → since when (confirming). */
  missing?: Record<string, string>;
  /** The tenant could not be read at all this cycle. */
  unreadable: boolean;
  jobsSeen: number;
  /** What each check of the tenant could do this cycle (the worker writes it to the state table itself). */
  coverage?: TenantCoverage;
}

export interface BatchReport {
  batch: number;
  tenants: TenantReport[];
  /** The problems of these tenants, as lines of the cycle's errors. */
  errors: string[];
  /** Which instance read it, and in how long (for the log). */
  worker: string;
  durationMs: number;
}

/** Chunks of one report per row: 14 properties of 30,000 characters stay under the 1 MiB entity limit (UTF-16). */
const CHUNKS_PER_ROW = 14;
const headKey = (batch: number) => `b${String(batch).padStart(6, '0')}`;
const HEAD = /^b(\d{6})$/;
const PART = /^b(\d{6})-(\d+)$/;
const quoted = (value: string) => `'${value.replace(/'/g, "''")}'`;

type ReportEntity = { partitionKey: string; rowKey: string; rows?: number; chunks?: number } & Record<string, unknown>;

/** Splits text into pieces of at most `size` characters. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

export class FanOutStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /**
   * Records a batch's report. A large report spans several rows; its head row is written last, so
   * a report is either whole or absent. Writing the same batch again (a retried message) replaces it.
   */
  async writeReport(cycle: string, report: BatchReport): Promise<void> {
    await this.ensureTable();
    const chunks = pieces(JSON.stringify(report), PROPERTY_BUDGET_CHARS);
    const rows: Record<string, string>[] = [];
    for (let i = 0; i < chunks.length; i += CHUNKS_PER_ROW) {
      rows.push(Object.fromEntries(chunks.slice(i, i + CHUNKS_PER_ROW).map((c, j) => [`c${j}`, c])));
    }
    const head = headKey(report.batch);
    for (let r = 1; r < rows.length; r++) {
      await stored(this.table, `writing part ${r} of the report of batch ${report.batch}`, () =>
        this.table.upsertEntity({ partitionKey: cycle, rowKey: `${head}-${r}`, ...rows[r] }, 'Replace'),
      );
    }
    await stored(this.table, `writing the report of batch ${report.batch}`, () =>
      this.table.upsertEntity(
        { partitionKey: cycle, rowKey: head, rows: rows.length, chunks: chunks.length, ...rows[0] },
        'Replace',
      ),
    );
  }

  /** The batches of a cycle whose reports are written (their head rows). */
  async reportedBatches(cycle: string): Promise<Set<number>> {
    await this.ensureTable();
    return stored(this.table, 'listing the fan-out reports', async () => {
      const batches = new Set<number>();
      for await (const e of this.table.listEntities({
        queryOptions: { filter: `PartitionKey eq ${quoted(cycle)}`, select: ['RowKey'] },
      })) {
        const m = HEAD.exec(String(e.rowKey));
        if (m) batches.add(Number(m[1]));
      }
      return batches;
    });
  }

  /** Every whole report of a cycle; a report whose parts are not all there is left out (its batch counts as not reported). */
  async readReports(cycle: string): Promise<BatchReport[]> {
    await this.ensureTable();
    const rows = await stored(this.table, 'reading the fan-out reports', async () => {
      const all: ReportEntity[] = [];
      for await (const e of this.table.listEntities<ReportEntity>({
        queryOptions: { filter: `PartitionKey eq ${quoted(cycle)}` },
      }))
        all.push(e as ReportEntity);
      return all;
    });
    const byKey = new Map(rows.map((r) => [r.rowKey, r]));
    const reports: BatchReport[] = [];
    for (const row of rows) {
      if (!HEAD.test(row.rowKey)) continue;
      const parts = [row];
      for (let r = 1; r < Number(row.rows ?? 1); r++) {
        const part = byKey.get(`${row.rowKey}-${r}`);
        if (part) parts.push(part);
      }
      if (parts.length !== Number(row.rows ?? 1)) continue;
      const text = parts
        .flatMap((p) =>
          Array.from({ length: CHUNKS_PER_ROW }, (_, j) => p[`c${j}`]).filter(
            (c): c is string => typeof c === 'string',
          ),
        )
        .join('');
      try {
        reports.push(JSON.parse(text) as BatchReport);
      } catch {
        // A report cut short: its batch is reported as not checked, never read in part.
      }
    }
    return reports.sort((a, b) => a.batch - b.batch);
  }

  /** Deletes a cycle's reports (after the planner read them). */
  async deleteCycle(cycle: string): Promise<void> {
    await this.deleteWhere(`PartitionKey eq ${quoted(cycle)}`);
  }

  /** Deletes the reports of cycles whose ids sort before `before` (an ISO time): those a planner that died left behind. */
  async pruneBefore(before: string): Promise<void> {
    await this.deleteWhere(`PartitionKey lt ${quoted(before)}`);
  }

  private async deleteWhere(filter: string): Promise<void> {
    await this.ensureTable();
    const byPartition = new Map<string, TransactionAction[]>();
    await stored(this.table, 'listing fan-out reports to delete', async () => {
      for await (const e of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })) {
        const partitionKey = String(e.partitionKey);
        const rowKey = String(e.rowKey);
        if (!HEAD.test(rowKey) && !PART.test(rowKey)) continue;
        const actions = byPartition.get(partitionKey) ?? [];
        actions.push(['delete', { partitionKey, rowKey }]);
        byPartition.set(partitionKey, actions);
      }
    });
    for (const actions of byPartition.values()) {
      for (let i = 0; i < actions.length; i += MAX_TRANSACTION_OPERATIONS) {
        await stored(this.table, 'deleting fan-out reports', () =>
          this.table.submitTransaction(actions.slice(i, i + MAX_TRANSACTION_OPERATIONS)),
        );
      }
    }
  }
}
