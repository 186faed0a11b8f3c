import type { TableClient } from '@azure/data-tables';
import { isNotFound, stored, tableCreator } from './table';

/** The partition of the row that remembers which tenants the last cycle watched (offboarding, lib/cycle/cycle.ts). */
const WATCHED = 'watched-tenants';

/**
 * A fingerprint of the tenant list the state was last cleaned up for: row `watched-tenants/current`,
 * so what is kept about tenants taken out of WATCH_TENANTS is forgotten once per change of the list.
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
