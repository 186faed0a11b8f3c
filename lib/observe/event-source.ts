import type { LogProblem, LogSource, ProvisioningEvent } from '../model/provisioning';

/**
 * Where provisioning events come from: Graph (`/auditLogs/provisioning`, provisioning-logs.ts) or a
 * Log Analytics workspace (`AADProvisioningLogs`, log-analytics.ts). The watermark, the digest and
 * the rules do not care which.
 */

export interface EventPage {
  events: ProvisioningEvent[];
  /** Events that could not be understood (each message names the event), skipped. */
  invalid: string[];
  /** Whether another page follows. */
  more: boolean;
}

/**
 * How a Graph source shapes its queries: with the documented `provisioningStatusInfo/status`
 * filter and `$top`, or without them (a fallback, when Graph refused or ignored them). The reader
 * sets them before a read from what the tenant's state remembers; the source turns one off when
 * Graph refuses it during the read, and records that as a fallback.
 */
export interface QueryModes {
  statusFilter: boolean;
  top: boolean;
}

/** A fallback a source took during a read: what Graph refused (400) or ignored, in Graph's words. */
export interface QueryFallback {
  what: 'status-filter' | 'top';
  reason: 'refused' | 'ignored';
  message: string;
}

export interface EventSource {
  readonly kind: LogSource;
  /** Graph only: the shape of its queries now, and the fallbacks it took this read. */
  readonly query?: { modes: QueryModes; fallbacks: QueryFallback[]; pageSize: number };
  /** Failed events with a time after `from` (epoch ms, exclusive), oldest first, a page at a time. */
  failuresSince(from: number, signal?: AbortSignal): AsyncGenerator<EventPage>;
  /** A job's stagedDelete events after `since`, newest first, a page at a time. */
  stagedDeletes(jobId: string, since: number, signal?: AbortSignal): AsyncGenerator<EventPage>;
  /** The time of the newest event of a job (epoch ms), or undefined when it has none (after `after`, when given). */
  latestEvent(jobId: string, after: number | undefined, signal?: AbortSignal): Promise<number | undefined>;
  /** What a thrown error means, as a named problem. */
  problemOf(error: unknown, operation: string): LogProblem;
}

/**
 * At most `requests` requests in any `windowMs`, for one app in one tenant: the reports limit of
 * Graph is 5 requests per 10 seconds per app per tenant (docs/reference/graph-provisioning-api.md §5).
 * Waiting here is cheaper than a 429 and its Retry-After.
 */
export class SlidingWindowLimiter {
  private readonly sent: number[] = [];

  constructor(
    private readonly requests: number,
    private readonly windowMs: number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    private readonly clock: () => number = Date.now,
  ) {}

  /** Resolves when one more request may go out, and counts it. */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.clock();
      while (this.sent.length > 0 && (this.sent[0] as number) <= now - this.windowMs) this.sent.shift();
      if (this.sent.length < this.requests) {
        this.sent.push(now);
        return;
      }
      await this.sleep((this.sent[0] as number) + this.windowMs - now + 1);
    }
  }
}

/** Graph's limit, with half a second to spare: Graph counts requests when they arrive, not when they leave. */
export const GRAPH_REPORTS_LIMIT = { requests: 5, windowMs: 10_500 };

/** Graph's reports limit per app across all tenants: 122 requests per 10 s (reference §5), with room to spare. */
export const GRAPH_REPORTS_APP_LIMIT = { requests: 120, windowMs: 10_500 };

/** Several limits at once (per tenant, and per app across tenants): a request waits for each. */
export class Limiters {
  private readonly limiters: Pick<SlidingWindowLimiter, 'take'>[];

  constructor(...limiters: Pick<SlidingWindowLimiter, 'take'>[]) {
    this.limiters = limiters;
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (const limiter of this.limiters) await limiter.take(signal);
  }
}
