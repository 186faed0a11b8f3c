import type { TableClient } from '@azure/data-tables';
import { sleep } from '../util/deadline';
import { isConflict, isNotFound, stored, tableCreator } from './table';

/**
 * A sliding-window limit shared by every instance through one Table Storage row, for a limit Graph
 * counts per app across tenants: the reports limit (122 requests per 10 s, reference §5), which the
 * workers of a fan-out read provisioning logs under at once. Each instance's own limiter could
 * not see the others'.
 *
 * The row holds the times of the requests admitted in the last window (at most `requests`
 * numbers). An instance admits as many of its waiting requests as the window has room for, in one
 * write under the row's ETag; a write that loses the race is retried with a fresh read. Waiters are
 * served in the order they came. Clocks of instances may differ by a little: the window carries
 * half a second to spare (GRAPH_REPORTS_APP_LIMIT).
 */
export class SharedWindowLimiter {
  private readonly ensureTable: () => Promise<void>;
  private readonly waiting: { resolve: () => void; reject: (error: unknown) => void; signal?: AbortSignal }[] = [];
  private pumping = false;

  constructor(
    private readonly table: TableClient,
    private readonly key: { partitionKey: string; rowKey: string },
    private readonly limit: { requests: number; windowMs: number },
    private readonly clock: () => number = Date.now,
  ) {
    this.ensureTable = tableCreator(table);
  }

  /** Resolves when one more request may go out, and counts it in the shared window. */
  take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject, signal });
      if (!this.pumping) void this.pump();
    });
  }

  private dropAborted(): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i]!;
      if (w.signal?.aborted) {
        this.waiting.splice(i, 1);
        w.reject(w.signal.reason);
      }
    }
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while ((this.dropAborted(), this.waiting.length > 0)) {
        const waitMs = await this.admit();
        if (waitMs > 0) await sleep(waitMs, AbortSignal.any(this.waiting.flatMap((w) => (w.signal ? [w.signal] : []))));
      }
    } catch (error) {
      for (const w of this.waiting.splice(0)) w.reject(error);
    } finally {
      this.pumping = false;
    }
  }

  /** Admits what the window has room for; returns how long to wait before the next try (0: try again now). */
  private async admit(): Promise<number> {
    await this.ensureTable();
    const { partitionKey, rowKey } = this.key;
    let etag: string | undefined;
    let times: number[] = [];
    try {
      const row = await stored(this.table, 'reading the shared reports limit', () =>
        this.table.getEntity<{ times?: string }>(partitionKey, rowKey),
      );
      etag = row.etag;
      times = JSON.parse(row.times ?? '[]') as number[];
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const now = this.clock();
    times = times.filter((t) => t > now - this.limit.windowMs).sort((a, b) => a - b);
    const room = Math.min(this.limit.requests - times.length, this.waiting.length);
    if (room <= 0) return Math.max(1, (times[0] as number) + this.limit.windowMs - now + 1);
    const entity = { partitionKey, rowKey, times: JSON.stringify([...times, ...Array<number>(room).fill(now)]) };
    try {
      if (etag)
        await stored(this.table, 'writing the shared reports limit', () =>
          this.table.updateEntity(entity, 'Replace', { etag }),
        );
      else await stored(this.table, 'writing the shared reports limit', () => this.table.createEntity(entity));
    } catch (error) {
      if (isConflict(error) || isNotFound(error)) return 0; // another instance wrote first: read again
      throw error;
    }
    for (const w of this.waiting.splice(0, room)) w.resolve();
    return 0;
  }
}
