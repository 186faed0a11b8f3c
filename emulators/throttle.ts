import { ReportsRateLimiter } from './provisioning-logs';

/**
 * Latency and rate-based throttling of the Graph emulator, so a benchmark or a test sees what an
 * MSP-sized poller sees against the real service: every answer takes a round trip, and requests
 * past Graph's documented limits get `429 Too Many Requests` with `Retry-After`.
 *
 * Limits (docs/reference/graph-provisioning-api.md §5):
 * - identity and access: resource units per app per tenant (S tenant: 3,500 per 10 s) and per app
 *   across tenants (150,000 per 20 s), a GET costing 1 (never less, whatever `$select` saves). Whether
 *   `/servicePrincipals/{id}/synchronization/*` is metered this way is UNCONFIRMED; the emulator
 *   assumes it is. Every request of a `$batch` counts on its own and is throttled on its own
 *   (inner 429), the batch envelope itself costs nothing (INVENTED: not documented either way);
 * - identity and access reports (`/auditLogs/provisioning`): 5 requests per 10 s per app per tenant
 *   (scenario `reportsRateLimit`) and 122 per 10 s per app across all tenants.
 */

/** A limit: `requests` in any `windowSeconds`. */
export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

/** Scenario field `graphLimits`: the emulator's latency and its limits beyond the per-tenant reports limit. */
export interface GraphLimits {
  /** Milliseconds every Graph answer and every token answer waits before it is sent (a round trip). Default 0. */
  latencyMs?: number;
  /** Identity and access resource units per app per tenant (default 3,500 per 10 s: Graph's limit for a tenant under 50 users). */
  perTenant?: RateLimit;
  /** Identity and access resource units per app across all tenants (default 150,000 per 20 s). */
  perApp?: RateLimit;
  /** Reports requests per app across all tenants (default 122 per 10 s). */
  reportsPerApp?: RateLimit;
}

export const DEFAULT_GRAPH_LIMITS: Required<GraphLimits> = {
  latencyMs: 0,
  perTenant: { requests: 3500, windowSeconds: 10 },
  perApp: { requests: 150_000, windowSeconds: 20 },
  reportsPerApp: { requests: 122, windowSeconds: 10 },
};

/** Throws an Error naming `path` when `value` is not a valid `graphLimits` object. */
export function validateGraphLimits(value: unknown, path = 'graphLimits'): asserts value is GraphLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${path}: expected an object`);
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v))
    if (!['latencyMs', 'perTenant', 'perApp', 'reportsPerApp'].includes(key))
      throw new Error(`${path}.${key}: unknown field`);
  if (v.latencyMs !== undefined && (typeof v.latencyMs !== 'number' || !(v.latencyMs >= 0) || v.latencyMs > 60_000))
    throw new Error(`${path}.latencyMs: expected milliseconds 0..60000`);
  for (const key of ['perTenant', 'perApp', 'reportsPerApp'] as const) {
    const limit = v[key];
    if (limit === undefined) continue;
    if (typeof limit !== 'object' || limit === null)
      throw new Error(`${path}.${key}: expected { requests, windowSeconds }`);
    const { requests, windowSeconds, ...rest } = limit as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new Error(`${path}.${key}.${Object.keys(rest)[0]}: unknown field`);
    if (typeof requests !== 'number' || !Number.isInteger(requests) || requests < 1)
      throw new Error(`${path}.${key}.requests: expected an integer >= 1`);
    if (typeof windowSeconds !== 'number' || !(windowSeconds > 0))
      throw new Error(`${path}.${key}.windowSeconds: expected a number > 0`);
  }
}

/**
 * Admission times in a sliding window, per key, with a cost per request. Kept as a queue of
 * (time, cost) so a key that made 150,000 requests costs a few arrays, not a rescan per request.
 */
class SlidingWindow {
  private readonly keys = new Map<string, { times: number[]; costs: number[]; head: number; used: number }>();

  constructor(readonly limit: RateLimit) {}

  private bucket(key: string, now: number) {
    let b = this.keys.get(key);
    if (!b) {
      b = { times: [], costs: [], head: 0, used: 0 };
      this.keys.set(key, b);
    }
    const from = now - this.limit.windowSeconds * 1000;
    while (b.head < b.times.length && (b.times[b.head] as number) <= from) {
      b.used -= b.costs[b.head] as number;
      b.head++;
    }
    if (b.head > 1024 && b.head * 2 > b.times.length) {
      b.times = b.times.slice(b.head);
      b.costs = b.costs.slice(b.head);
      b.head = 0;
    }
    return b;
  }

  /** Seconds until `cost` more fits (at least 1, as Graph's Retry-After), or undefined when it fits now. */
  wait(key: string, cost: number, now: number): number | undefined {
    const b = this.bucket(key, now);
    if (b.used + cost <= this.limit.requests) return undefined;
    // The oldest admissions leave the window first: wait until enough of them have.
    let freed = 0;
    for (let i = b.head; i < b.times.length; i++) {
      freed += b.costs[i] as number;
      if (b.used - freed + cost <= this.limit.requests)
        return Math.max(1, Math.ceil(((b.times[i] as number) + this.limit.windowSeconds * 1000 - now) / 1000));
    }
    return Math.max(1, Math.ceil(this.limit.windowSeconds));
  }

  commit(key: string, cost: number, now: number): void {
    const b = this.bucket(key, now);
    b.times.push(now);
    b.costs.push(cost);
    b.used += cost;
  }

  clear(): void {
    this.keys.clear();
  }
}

/** Why a request was throttled: what Graph puts in `Retry-After` and `x-ms-throttle-scope`. */
export interface Throttled {
  retryAfterSeconds: number;
  /** `Tenant_Application/Read/{appId}/{tenantId}` or `Application/Read/{appId}/{appId}` (reference §5). */
  scope: string;
}

/** The identity-and-access limits (resource units) and the latency of one private cloud. */
export class GraphThrottle {
  private settings: Required<GraphLimits> = DEFAULT_GRAPH_LIMITS;
  private perTenant = new SlidingWindow(DEFAULT_GRAPH_LIMITS.perTenant);
  private perApp = new SlidingWindow(DEFAULT_GRAPH_LIMITS.perApp);
  /** Requests throttled since the last clear, for benchmarks and tests. */
  throttled = 0;

  constructor(limits: GraphLimits = {}) {
    this.configure(limits);
  }

  configure(limits: GraphLimits): void {
    validateGraphLimits(limits);
    this.settings = { ...DEFAULT_GRAPH_LIMITS, ...limits };
    this.perTenant = new SlidingWindow(this.settings.perTenant);
    this.perApp = new SlidingWindow(this.settings.perApp);
  }

  get limits(): Required<GraphLimits> {
    return this.settings;
  }

  get latencyMs(): number {
    return this.settings.latencyMs;
  }

  /** Admits a request of `cost` resource units for an app in a tenant, or says why not (nothing is counted then). */
  admit(appId: string, tenantId: string, cost = 1, now = Date.now()): Throttled | undefined {
    const tenantWait = this.perTenant.wait(`${appId}/${tenantId}`, cost, now);
    if (tenantWait !== undefined) {
      this.throttled++;
      return { retryAfterSeconds: tenantWait, scope: `Tenant_Application/Read/${appId}/${tenantId}` };
    }
    const appWait = this.perApp.wait(appId, cost, now);
    if (appWait !== undefined) {
      this.throttled++;
      return { retryAfterSeconds: appWait, scope: `Application/Read/${appId}/${appId}` };
    }
    this.perTenant.commit(`${appId}/${tenantId}`, cost, now);
    this.perApp.commit(appId, cost, now);
    return undefined;
  }

  clear(): void {
    this.perTenant.clear();
    this.perApp.clear();
    this.throttled = 0;
  }
}

/**
 * The reports limits: per tenant (the existing ReportsRateLimiter, scenario `reportsRateLimit`)
 * and per app across all tenants. A request refused by either is counted by neither.
 */
export class ReportsLimits extends ReportsRateLimiter {
  private acrossTenants: SlidingWindow;
  /** Reports requests throttled since the last clear. */
  throttled = 0;

  constructor(requests: number, windowMs: number, perApp: RateLimit = DEFAULT_GRAPH_LIMITS.reportsPerApp) {
    super(requests, windowMs);
    this.acrossTenants = new SlidingWindow(perApp);
  }

  setPerApp(perApp: RateLimit): void {
    this.acrossTenants = new SlidingWindow(perApp);
  }

  override admit(tenantId: string, now = Date.now()): number | undefined {
    const appWait = this.acrossTenants.wait('app', 1, now);
    if (appWait !== undefined) {
      this.throttled++;
      return appWait;
    }
    const wait = super.admit(tenantId, now);
    if (wait !== undefined) {
      this.throttled++;
      return wait;
    }
    this.acrossTenants.commit('app', 1, now);
    return undefined;
  }

  override clear(): void {
    super.clear();
    this.acrossTenants.clear();
    this.throttled = 0;
  }
}

/** Waits the emulator's latency (none when 0). */
export function roundTrip(latencyMs: number): Promise<void> {
  return latencyMs > 0 ? new Promise((resolve) => setTimeout(resolve, latencyMs)) : Promise.resolve();
}
