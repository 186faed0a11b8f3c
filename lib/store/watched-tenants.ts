import type { TableClient } from '@azure/data-tables';
import { isNotFound, stored, tableCreator } from './table';

/** The partition of the row that remembers which tenants the last cycle watched (offboarding, lib/cycle/cycle.ts). */
const WATCHED = 'watched-tenants';

/**
 * A fingerprint of the tenant list the state was last cleaned up for: one row of the state table,
 * `watched-tenants/current`, so the cleanup of tenants taken out of WATCH_TENANTS runs once per change.
 */
export class WatchedTenantsMarker {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /** The fingerprint of the tenant list the state was last cleaned up for, if any. */
  async key(): Promise<string | undefined> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, 'reading the watched tenant list', () =>
        this.table.getEntity<{ key: string }>(WATCHED, 'current'),
      );
      return row.key;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async setKey(key: string, tenants: number): Promise<void> {
    await this.ensureTable();
    await stored(this.table, 'recording the watched tenant list', () =>
      this.table.upsertEntity({ partitionKey: WATCHED, rowKey: 'current', key, tenants }, 'Replace'),
    );
  }
}
