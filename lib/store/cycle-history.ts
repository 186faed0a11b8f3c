import type { TableClient } from '@azure/data-tables';
import type { CycleSummary } from '../model';
import { isNotFound, PROPERTY_BUDGET_CHARS, stored, tableCreator } from './table';

const CYCLE = 'cycle';
/** How many cycle summaries the status view keeps (one row, so one read): the last hour at the default schedule. */
export const RECENT_CYCLES_KEPT = 12;

/** A cycle summary as the status view keeps it: long problem lists are cut, and say by how much. */
export type RememberedCycle = CycleSummary & { omitted?: { errors: number; tenantsUnreadable: number } };

/** The last cycle's summary and the recent ones, for the status view: rows `cycle/latest` and `cycle/recent`. */
export class CycleHistory {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  async record(record: CycleSummary): Promise<void> {
    await this.ensureTable();
    // Errors are the unbounded part of a summary (one line per failing tenant); the status view needs the first ones.
    const errors =
      record.errors.length > 50
        ? [...record.errors.slice(0, 50), `… and ${record.errors.length - 50} more`]
        : record.errors;
    let body = JSON.stringify({ ...record, errors });
    if (body.length > PROPERTY_BUDGET_CHARS)
      body = JSON.stringify({ ...record, errors: [`${record.errors.length} problem(s); see the cycle's log`] });
    await stored(this.table, 'recording the cycle summary', () =>
      this.table.upsertEntity({ partitionKey: CYCLE, rowKey: 'latest', body }, 'Replace'),
    );
    await this.rememberCycle(record);
  }

  /** The last cycles, newest first, for the status view (problems trimmed to fit one row). */
  async recent(): Promise<RememberedCycle[]> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, 'reading the recent cycles', () =>
        this.table.getEntity<{ body: string }>(CYCLE, 'recent'),
      );
      return JSON.parse(row.body) as RememberedCycle[];
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  /**
   * Adds a summary to the recent ones. One row holds them all (a property holds 32 K characters),
   * so each keeps at most a few problems; the status view says how many there were. A plain
   * read-modify-write: two cycles that finish at the same moment can lose one line of this
   * informational row, never an alert or an email.
   */
  private async rememberCycle(record: CycleSummary): Promise<void> {
    const trimmed: RememberedCycle = {
      ...record,
      tenantsUnreadable: record.tenantsUnreadable.slice(0, 20),
      errors: record.errors.slice(0, 3).map((e) => (e.length > 300 ? `${e.slice(0, 299)}…` : e)),
      ...(record.errors.length > 3 || record.tenantsUnreadable.length > 20
        ? {
            omitted: {
              errors: Math.max(0, record.errors.length - 3),
              tenantsUnreadable: Math.max(0, record.tenantsUnreadable.length - 20),
            },
          }
        : {}),
    };
    const recent = [trimmed, ...(await this.recent())].slice(0, RECENT_CYCLES_KEPT);
    await stored(this.table, 'recording the recent cycles', () =>
      this.table.upsertEntity({ partitionKey: CYCLE, rowKey: 'recent', body: JSON.stringify(recent) }, 'Replace'),
    );
  }

  /** The last cycle's summary, for a status view. */
  async latest(): Promise<CycleSummary | undefined> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, 'reading the cycle summary', () =>
        this.table.getEntity<{ body: string }>(CYCLE, 'latest'),
      );
      return JSON.parse(row.body) as CycleSummary;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
