import type { BatchRequest, GraphReader } from '../clients/graph';
import { sleep } from '../util/deadline';

/**
 * Keeps a cycle's Graph reads inside Graph's identity-and-access limits before Graph has to say so
 * with a 429 (docs/reference/graph-provisioning-api.md §5): resource units per app per tenant
 * (3,500 per 10 s for a tenant under 50 users, the smallest allowance) and per app across tenants
 * (150,000 per 20 s). Every request costs one unit, each request of a `$batch` too. The reports
 * endpoints (`/auditLogs/...`) have limits of their own, kept where they are read
 * (lib/observe/event-source.ts), and are not counted here.
 *
 * A tenant's reads are sequential, so its own limit only binds for a very large tenant read with a
 * short round trip (a daily sweep of thousands of service principals); the limit across tenants
 * binds only past several thousand tenants a cycle. Both cost nothing until then.
 */

/** Graph's limit per app per tenant, with room to spare (Graph counts when requests arrive). */
export const GRAPH_TENANT_UNITS = { requests: 3000, windowMs: 10_500 };
/** Graph's limit per app across tenants, with room to spare. */
export const GRAPH_APP_UNITS = { requests: 140_000, windowMs: 20_500 };

/**
 * At most `limit` units in any `windowMs`, handed out first come, first served: a request waits
 * until the units it costs have left the window.
 */
export class UnitWindow {
  private readonly times: number[] = [];
  private readonly costs: number[] = [];
  private head = 0;
  private used = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  private prune(now: number): void {
    while (this.head < this.times.length && (this.times[this.head] as number) <= now - this.windowMs) {
      this.used -= this.costs[this.head] as number;
      this.head++;
    }
    if (this.head > 4096) {
      this.times.splice(0, this.head);
      this.costs.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Resolves when `cost` more units fit (a cost above the limit waits for an empty window), and counts them. */
  take(cost: number, signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        signal?.throwIfAborted();
        const now = this.clock();
        this.prune(now);
        if (this.used + cost <= this.limit || this.used === 0) {
          this.times.push(now);
          this.costs.push(cost);
          this.used += cost;
          return;
        }
        let freed = 0;
        let until = now + this.windowMs;
        for (let i = this.head; i < this.times.length; i++) {
          freed += this.costs[i] as number;
          if (this.used - freed + cost <= this.limit) {
            until = (this.times[i] as number) + this.windowMs;
            break;
          }
        }
        await sleep(until - now + 1, signal);
      }
    });
    // The next request waits for this one's turn, whether it got its units or gave up.
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}

/** A reader whose requests wait for their units in every window given (the tenant's, the app's). */
export function pacedGraph(reader: GraphReader, windows: UnitWindow[], signal?: AbortSignal): GraphReader {
  const take = async (cost: number) => {
    for (const window of windows) await window.take(cost, signal);
  };
  return {
    async get(pathOrUrl: string) {
      if (!/\/auditLogs\//i.test(pathOrUrl)) await take(1);
      return reader.get(pathOrUrl);
    },
    async batch(requests: BatchRequest[]) {
      await take(requests.filter((r) => !/^\/?auditLogs\//i.test(r.url)).length);
      return reader.batch(requests);
    },
  };
}
