import type { TableClient } from '@azure/data-tables';
import { isConflict, isNotFound, stored, tableCreator } from './table';

const LEASE = 'lease';

/** Who holds the planning lease and until when (wall-clock ISO time of the holder's deadline). */
export interface LeaseHolder {
  holder: string;
  until: string;
}

/**
 * The planning lease (lib/cycle/lease.ts takes it): one row of the state table, `lease/planning`,
 * that says which instance plans and sends until when, written under its ETag.
 */
export class PlanningLeaseStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /**
   * Takes (or renews) the planning lease for `holder` until `until`, under the row's ETag: only one
   * instance plans and sends at a time. A lease past its time is free (its holder died or overran
   * its own deadline, after which it sends nothing). Returns the other holder when it is taken.
   */
  async take(holder: string, now: Date, until: Date): Promise<{ taken: true } | { taken: false; by: LeaseHolder }> {
    await this.ensureTable();
    for (let attempt = 0; attempt < 5; attempt++) {
      let row: (LeaseHolder & { etag?: string }) | undefined;
      try {
        row = await stored(this.table, 'reading the planning lease', () =>
          this.table.getEntity<LeaseHolder>(LEASE, 'planning'),
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (row && row.holder !== holder && Date.parse(row.until) > now.getTime())
        return { taken: false, by: { holder: row.holder, until: row.until } };
      const entity = { partitionKey: LEASE, rowKey: 'planning', holder, until: until.toISOString() };
      try {
        await stored(this.table, 'taking the planning lease', () =>
          row?.etag ? this.table.updateEntity(entity, 'Replace', { etag: row.etag }) : this.table.createEntity(entity),
        );
        return { taken: true };
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    const current = await stored(this.table, 'reading the planning lease', () =>
      this.table.getEntity<LeaseHolder>(LEASE, 'planning'),
    ).catch(() => undefined);
    return {
      taken: false,
      by: { holder: current?.holder ?? 'another instance', until: current?.until ?? now.toISOString() },
    };
  }

  /** Gives the lease back if `holder` still has it. */
  async release(holder: string): Promise<void> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, 'reading the planning lease', () =>
        this.table.getEntity<LeaseHolder>(LEASE, 'planning'),
      );
      if (row.holder !== holder) return;
      await stored(this.table, 'releasing the planning lease', () =>
        this.table.deleteEntity(LEASE, 'planning', { etag: row.etag }),
      );
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }
}
