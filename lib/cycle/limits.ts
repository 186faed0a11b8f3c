import type { CallLimits } from '../clients/timeouts';
import { parseNcrontab, shortestIntervalMs } from '../settings/ncrontab';
import { Deadline } from '../util/deadline';

/**
 * How long a cycle and its parts may take. A cycle must end before the next timer occurrence
 * (the host skips an occurrence that falls inside a run) and before the Functions host kills it
 * (`functionTimeout` in host.json), so the deadline is derived from both, and every wait below it
 * (one tenant, one HTTP call, a Retry-After) is a share of it.
 */
export interface CycleLimits {
  /** The whole cycle, from its start. */
  cycleMs: number;
  /** Observing all tenants ends this long after the start; the rest is kept for state and delivery. */
  observeMs: number;
  /** One tenant's Graph reads (its token included), retries included. */
  tenantMs: number;
  /** One HTTP request, one attempt: Graph, the token endpoint, Table Storage, ACS. */
  callMs: number;
  /** The longest Retry-After honoured; a longer one gives the request up for this cycle. */
  maxRetryAfterMs: number;
  /** When the first wave of job alerts may go out while tenants are still being read (default: lib/cycle/waves.ts). */
  firstWaveMs?: number;
}

/** `functionTimeout` in host.json (00:04:30); a test keeps the two equal. */
export const HOST_FUNCTION_TIMEOUT_MS = 270_000;
/** Kept between the cycle's deadline and the host's timeout: the summary, the heartbeat, the log. */
const HOST_MARGIN_MS = 30_000;

/** The Functions timeout in force: `AzureFunctionsJobHost__functionTimeout` (an app setting overriding host.json), else host.json's. */
export function functionTimeoutMs(env: Record<string, string | undefined> = {}): number {
  const override = env.AzureFunctionsJobHost__functionTimeout?.trim();
  const match = override ? /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(override) : null;
  if (!match) return HOST_FUNCTION_TIMEOUT_MS;
  const [, d, h, m, s] = match.map((x) => Number(x ?? 0)) as [number, number, number, number, number];
  const ms = (((d * 24 + h) * 60 + m) * 60 + s) * 1000;
  return ms > 0 ? ms : HOST_FUNCTION_TIMEOUT_MS;
}

/**
 * The limits for a schedule: the cycle gets 80 % of the shortest gap between runs, and never more
 * than the host's timeout less 30 s; observing gets 60 % of it, one tenant a quarter (at least the
 * time of three calls), one call a third of a tenant's share and at most 30 s.
 */
export function limitsFor(intervalMs: number, hostTimeoutMs = HOST_FUNCTION_TIMEOUT_MS): CycleLimits {
  const cycleMs = Math.max(1000, Math.min(intervalMs * 0.8, hostTimeoutMs - HOST_MARGIN_MS));
  const observeMs = cycleMs * 0.6;
  const tenantMs = Math.min(observeMs, Math.max(cycleMs * 0.25, 3000));
  const callMs = Math.min(30_000, tenantMs / 3);
  return { cycleMs, observeMs, tenantMs, callMs, maxRetryAfterMs: Math.min(60_000, tenantMs / 2) };
}

/** The limits for an NCRONTAB schedule (already validated by the settings). */
export function limitsForSchedule(schedule: string, env: Record<string, string | undefined> = {}): CycleLimits {
  return limitsFor(shortestIntervalMs(parseNcrontab(schedule)), functionTimeoutMs(env));
}

/** The limits of the default schedule (every 5 minutes) under host.json's timeout: 240 s a cycle. */
const DEFAULT_LIMITS: CycleLimits = limitsFor(5 * 60_000);

/**
 * One cycle's time: its limits and, once the cycle has started, its deadline. Clients built for
 * the cycle read the deadline at each call (`calls()`), so a call made late in the cycle has only
 * what is left of it.
 */
export class CycleBudget {
  private current: Deadline = Deadline.never();

  constructor(readonly limits: CycleLimits = DEFAULT_LIMITS) {}

  /** Starts the cycle's deadline; runCycle does, first thing. */
  start(): Deadline {
    this.current = Deadline.in(this.limits.cycleMs);
    return this.current;
  }

  deadline(): Deadline {
    return this.current;
  }

  /** Limits for the clients of the cycle (Table Storage, ACS, tokens): the cycle's deadline, one call's time. */
  calls(): CallLimits {
    return { deadline: () => this.current, callMs: this.limits.callMs };
  }
}
