import { TableClient } from '@azure/data-tables';
import type { CycleSummary, PlannedEmail } from '../model';
import { isConflict, isNotFound, tableCreator } from './table';

export const STATE_TABLE = 'SyncWatchState';

export type { PlannedEmail } from '../model';

const OUTBOX = 'outbox';
const BUDGET = 'budget';
const CYCLE = 'cycle';
/** How many cycle summaries the status view keeps (one row, so one read): the last hour at the default schedule. */
export const RECENT_CYCLES_KEPT = 12;

/** A cycle summary as the status view keeps it: long problem lists are cut, and say by how much. */
export type RememberedCycle = CycleSummary & { omitted?: { errors: number; tenantsUnreadable: number } };

/**
 * Everything besides alerts that the next cycle (or another instance) needs: planned emails, the
 * send budget shared by all instances, and the cycle summaries for a status view.
 */
export class StateStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  async listPlanned(): Promise<PlannedEmail[]> {
    await this.ensureTable();
    const planned: PlannedEmail[] = [];
    const entities = this.table.listEntities<{ body: string }>({ queryOptions: { filter: `PartitionKey eq '${OUTBOX}'` } });
    for await (const entity of entities) planned.push(JSON.parse(entity.body) as PlannedEmail);
    return planned.sort((a, b) => a.plannedAt.localeCompare(b.plannedAt) || a.key.localeCompare(b.key));
  }

  /** Writes a planned email; false when it is already planned (by an earlier cycle or another instance). */
  async plan(email: PlannedEmail): Promise<boolean> {
    await this.ensureTable();
    try {
      await this.table.createEntity({ partitionKey: OUTBOX, rowKey: email.key, body: JSON.stringify(email) });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  async updatePlanned(email: PlannedEmail): Promise<void> {
    await this.ensureTable();
    await this.table.upsertEntity({ partitionKey: OUTBOX, rowKey: email.key, body: JSON.stringify(email) }, 'Replace');
  }

  async donePlanned(key: string): Promise<void> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(OUTBOX, key);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /**
   * Takes one send from the budget shared by every instance, or says none is left. The recent
   * send times live in one row, updated under its ETag, so two instances cannot both take the last.
   */
  async takeSend(now: Date, budget: { perMinute: number; perHour: number }): Promise<boolean> {
    await this.ensureTable();
    for (let attempt = 0; attempt < 5; attempt++) {
      let times: string[] = [];
      let etag: string | undefined;
      try {
        const row = await this.table.getEntity<{ times: string }>(BUDGET, 'sends');
        times = JSON.parse(row.times) as string[];
        etag = row.etag;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      const t = now.getTime();
      const lastHour = times.filter((x) => t - Date.parse(x) < 3600_000);
      const lastMinute = lastHour.filter((x) => t - Date.parse(x) < 60_000);
      if (lastMinute.length >= budget.perMinute || lastHour.length >= budget.perHour) return false;
      const entity = { partitionKey: BUDGET, rowKey: 'sends', times: JSON.stringify([...lastHour, now.toISOString()]) };
      try {
        if (etag) await this.table.updateEntity(entity, 'Replace', { etag });
        else await this.table.createEntity(entity);
        return true;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    return false;
  }

  async recordCycle(record: CycleSummary): Promise<void> {
    await this.ensureTable();
    await this.table.upsertEntity({ partitionKey: CYCLE, rowKey: 'latest', body: JSON.stringify(record) }, 'Replace');
    await this.rememberCycle(record);
  }

  /** The last cycles, newest first, for the status view (problems trimmed to fit one row). */
  async recentCycles(): Promise<RememberedCycle[]> {
    await this.ensureTable();
    try {
      const row = await this.table.getEntity<{ body: string }>(CYCLE, 'recent');
      return JSON.parse(row.body) as RememberedCycle[];
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  /**
   * Adds a summary to the recent ones. One row holds them all (a property holds 32 K characters),
   * so each keeps at most a few problems; the status view says how many there were. Timers do
   * not overlap, so a plain read-modify-write is enough for this informational row.
   */
  private async rememberCycle(record: CycleSummary): Promise<void> {
    const trimmed: RememberedCycle = {
      ...record,
      tenantsUnreadable: record.tenantsUnreadable.slice(0, 20),
      errors: record.errors.slice(0, 3).map((e) => (e.length > 300 ? `${e.slice(0, 299)}…` : e)),
      ...(record.errors.length > 3 || record.tenantsUnreadable.length > 20
        ? { omitted: { errors: Math.max(0, record.errors.length - 3), tenantsUnreadable: Math.max(0, record.tenantsUnreadable.length - 20) } }
        : {}),
    };
    const recent = [trimmed, ...(await this.recentCycles())].slice(0, RECENT_CYCLES_KEPT);
    await this.table.upsertEntity({ partitionKey: CYCLE, rowKey: 'recent', body: JSON.stringify(recent) }, 'Replace');
  }

  /** The last cycle's summary, for a status view. */
  async latestCycle(): Promise<CycleSummary | undefined> {
    await this.ensureTable();
    try {
      const row = await this.table.getEntity<{ body: string }>(CYCLE, 'latest');
      return JSON.parse(row.body) as CycleSummary;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
