import type { TableClient } from '@azure/data-tables';
import { isNotFound, stored, tableCreator } from './table';

/** Per route, the local date of the last daily digest planned (lib/digest/digest.ts): rows `digest/<route id>`. */
const DIGEST = 'digest';

/** Which day's digest each route last planned, so no cycle or instance plans a day twice. */
export class DigestMarkers {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /** The local date (`2026-11-27`) of the last daily digest planned for a route, if any. */
  async last(routeId: string): Promise<string | undefined> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, `reading the digest date of route ${routeId}`, () =>
        this.table.getEntity<{ date: string }>(DIGEST, routeId),
      );
      return row.date;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Notes that a route's digest for `date` is planned (it is in the outbox, which delivers it), so
   * no cycle or instance plans it again once it has been sent and left the outbox.
   */
  async mark(routeId: string, date: string): Promise<void> {
    await this.ensureTable();
    await stored(this.table, `recording the digest date of route ${routeId}`, () =>
      this.table.upsertEntity({ partitionKey: DIGEST, rowKey: routeId, date }, 'Replace'),
    );
  }
}
