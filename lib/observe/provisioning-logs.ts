import { createHash } from 'node:crypto';
import type { GraphReader } from '../clients/graph';
import { graphErrorBody, type ErrorLike } from './errors';
import { GRAPH_REPORTS_LIMIT, SlidingWindowLimiter, type EventPage, type EventSource } from './event-source';
import { InvalidGraphData } from './normalize';
import { addFailure, emptyDigest, slideDigest } from './provisioning-digest';
import { normalizeGraphEvent, objectName } from './provisioning-normalize';
import type {
  HeldDeletes,
  JobActivity,
  LogProblem,
  LogState,
  ProvisionedObject,
  ProvisioningEvent,
  ProvisioningObservation,
} from '../model/provisioning';

/**
 * Provisioning logs of one tenant, behind a watermark.
 *
 * Each cycle reads the failed events after `watermark - overlap` (Graph: `GET /auditLogs/provisioning`
 * with `$filter` on activityDateTime and provisioningStatusInfo/status, `$orderby=activityDateTime asc`,
 * `$top`, every `@odata.nextLink` followed whole), oldest first, one page at a time, so memory holds a
 * page and the digest, never the whole read. Logs arrive late, so the read starts an overlap window
 * before the newest event it saw; the events it may read again are remembered by id (a hash of it),
 * so none is counted twice, including events with the same timestamp on both sides of a page or a
 * cycle boundary. The watermark moves in the same write as the digest (lib/store/provisioning-log-store.ts),
 * after the cycle has judged the events. A tenant with more pages than one cycle reads (the page
 * cap, a named problem) goes on where it stopped next cycle, without an overlap window until it
 * has caught up. Requests keep to the reports limit of 5 per 10 s per app per tenant; a 429 is
 * retried after its Retry-After by the Graph client itself.
 */

export interface GraphSourceOptions {
  /** `$top` (default 500, the page size Microsoft's own examples use; the maximum is not documented). */
  pageSize?: number;
  limiter?: Pick<SlidingWindowLimiter, 'take'>;
}

const odataString = (value: string) => `'${value.replace(/'/g, "''")}'`;
const odataTime = (ms: number) => new Date(ms).toISOString();

const FAILED_STATUS = 'failure';

/** A missing licence and a missing permission both answer 403; the code tells them apart. */
const NO_PREMIUM = 'Authentication_RequestFromNonPremiumTenantOrB2CTenant';

function retryAfterOf(error: ErrorLike): number | undefined {
  const value = error.headers?.get?.('retry-after');
  const seconds = value ? Number(value) : NaN;
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** What an error from `/auditLogs/provisioning` means (docs/reference/graph-provisioning-api.md §3.1). */
export function graphLogProblem(error: unknown, operation: string): LogProblem {
  const e = (error ?? {}) as ErrorLike;
  const base = { source: 'graph' as const, operation };
  if (error instanceof InvalidGraphData) return { ...base, kind: 'invalid-response', message: error.message };
  if (e.name === 'AbortError' || e.name === 'TimeoutError')
    return { ...base, kind: 'timeout', message: 'the read was stopped: the cycle ran out of time' };
  const status = typeof e.statusCode === 'number' && e.statusCode > 0 ? e.statusCode : undefined;
  const body = graphErrorBody(e.body);
  const code = e.code ?? body.code;
  const message = (body.message ?? e.message ?? String(error)).split(/\r?\n/)[0] || `HTTP ${status}`;
  if (status === 403 && code === NO_PREMIUM)
    return {
      ...base,
      kind: 'licence',
      status,
      code,
      message,
      missing: 'a Microsoft Entra ID P1 or P2 licence in the tenant',
    };
  if (status === 401 || status === 403) {
    return {
      ...base,
      kind: 'access',
      status,
      code,
      message,
      missing: code === 'InvalidAuthenticationToken' ? undefined : 'the application permission AuditLog.Read.All',
    };
  }
  if (status === 429) return { ...base, kind: 'throttled', status, code, message, retryAfterSeconds: retryAfterOf(e) };
  if (status === undefined || status === 408 || status >= 500)
    return { ...base, kind: 'transient', status, code, message };
  return { ...base, kind: 'invalid-response', status, code, message };
}

/** Graph v1.0 `GET /auditLogs/provisioning` as an event source, for one tenant. */
export function createGraphEventSource(reader: GraphReader, options: GraphSourceOptions = {}): EventSource {
  const top = options.pageSize ?? 500;
  const limiter =
    options.limiter ?? new SlidingWindowLimiter(GRAPH_REPORTS_LIMIT.requests, GRAPH_REPORTS_LIMIT.windowMs);

  async function* pages(first: string, signal?: AbortSignal): AsyncGenerator<EventPage> {
    const seenLinks = new Set<string>();
    let next: string | undefined = first;
    while (next) {
      if (seenLinks.has(next))
        throw new InvalidGraphData('Graph returned the same @odata.nextLink twice while listing provisioning events');
      seenLinks.add(next);
      await limiter.take(signal);
      const page = (await reader.get(next)) as { value?: unknown; '@odata.nextLink'?: unknown };
      if (!page || !Array.isArray(page.value))
        throw new InvalidGraphData('a page of provisioning events from Graph has no value array');
      next = typeof page['@odata.nextLink'] === 'string' ? page['@odata.nextLink'] : undefined;
      const events: ProvisioningEvent[] = [];
      const invalid: string[] = [];
      for (const raw of page.value) {
        try {
          events.push(normalizeGraphEvent(raw));
        } catch (error) {
          invalid.push((error as Error).message);
        }
      }
      yield { events, invalid, more: next !== undefined };
    }
  }

  const list = (filter: string, order: 'asc' | 'desc', n = top) =>
    `/auditLogs/provisioning?$filter=${filter}&$orderby=activityDateTime ${order}&$top=${n}`;
  return {
    kind: 'graph',
    failuresSince: (from, signal) =>
      pages(
        list(
          `activityDateTime gt ${odataTime(from)} and provisioningStatusInfo/status eq ${odataString(FAILED_STATUS)}`,
          'asc',
        ),
        signal,
      ),
    stagedDeletes: (jobId, since, signal) =>
      pages(
        list(
          `jobId eq ${odataString(jobId)} and provisioningAction eq 'stagedDelete' and activityDateTime gt ${odataTime(since)}`,
          'desc',
        ),
        signal,
      ),
    async latestEvent(jobId, after, signal) {
      const filter = `jobId eq ${odataString(jobId)}${after !== undefined ? ` and activityDateTime gt ${odataTime(after)}` : ''}`;
      for await (const page of pages(list(filter, 'desc', 1), signal)) return page.events[0]?.at;
      return undefined;
    },
    problemOf: graphLogProblem,
  };
}

// ---- the watermark --------------------------------------------------------------------------------

/** 72 bits of the event's id: enough to tell apart the events of an overlap window, small enough to store. */
function eventKey(event: ProvisioningEvent): string {
  return createHash('sha256')
    .update(event.id || event.changeId || '')
    .digest('base64url')
    .slice(0, 12);
}

/** The ids of the events a later read may return again, with their times, so they count once. */
class SeenEvents {
  private readonly times = new Map<string, number>();
  private readonly order: [number, string][] = [];

  constructor(entries: [number, string][] = []) {
    for (const [at, key] of entries) this.remember(at, key);
  }

  /** Remembers the event; false when it was seen already. */
  add(event: ProvisioningEvent): boolean {
    const key = eventKey(event);
    if (this.times.has(key)) return false;
    this.remember(event.at, key);
    return true;
  }

  private remember(at: number, key: string): void {
    this.times.set(key, at);
    this.order.push([at, key]);
  }

  /** Forgets events older than `before`: no later read can return them. */
  prune(before: number): void {
    let drop = 0;
    while (drop < this.order.length && (this.order[drop] as [number, string])[0] < before) {
      this.times.delete((this.order[drop] as [number, string])[1]);
      drop++;
    }
    if (drop > 0) this.order.splice(0, drop);
  }

  entries(before: number): [number, string][] {
    return [...this.times.entries()]
      .filter(([, at]) => at >= before)
      .map(([key, at]) => [at, key] as [number, string])
      .sort((a, b) => a[0] - b[0]);
  }

  get size(): number {
    return this.times.size;
  }
}

export interface ReadPlan {
  now: number;
  /** The failure window of a job (its provisioning-failures setting), in ms. */
  windowFor(jobId: string, job: { servicePrincipalId: string; servicePrincipalName: string }): number;
  /** How far back the very first read looks (the longest window). */
  lookbackMs: number;
  /** Jobs in a TooManyDeletes quarantine: read their held deletes staged after `since`. */
  deletionTrips: { jobId: string; since: number }[];
  /** Jobs watched for silence, with how long counts as silent. */
  silenceChecks: { jobId: string; silentForMs: number }[];
}

export interface ReadOptions {
  /** Pages of failures one cycle reads per tenant (default 20); the rest waits for the next cycle. */
  maxPages?: number;
  /** How far before the watermark each read starts, for late events (default 15 minutes). */
  overlapMs?: number;
  /** Pages of stagedDelete events read per tripped job (default 10). */
  heldDeletesMaxPages?: number;
  /** Held objects named in an alert (default 10). */
  heldSample?: number;
  signal?: AbortSignal;
}

const DEFAULT_READ_OPTIONS = { maxPages: 20, overlapMs: 15 * 60_000, heldDeletesMaxPages: 10, heldSample: 10 };

function freshLogState(source: EventSource['kind']): LogState {
  return { version: 1, source, backlog: false, seen: [], digest: emptyDigest(), activity: {} };
}

/**
 * Reads what is new in one tenant's provisioning logs and folds it into its state. Never throws:
 * what went wrong is a named problem on the observation, and what was read before it went wrong is
 * kept (the watermark moves to the last event counted). Returns the observation for the rules and
 * the state to write once they have judged it.
 */
export async function readProvisioningLogs(
  source: EventSource,
  stored: LogState | undefined,
  plan: ReadPlan,
  options: ReadOptions = {},
): Promise<{ observation: ProvisioningObservation; state: LogState }> {
  const o = { ...DEFAULT_READ_OPTIONS, ...options };
  const state: LogState =
    stored && stored.source === source.kind ? structuredClone(stored) : freshLogState(source.kind);
  const observation: ProvisioningObservation = {
    source: source.kind,
    complete: false,
    problems: [],
    digest: state.digest,
    heldDeletes: new Map(),
    activity: new Map(),
    activityUnknown: new Set(),
    eventsRead: 0,
    pagesRead: 0,
  };
  await readFailures(source, state, plan, o, observation);
  await readActivity(source, state, plan, o, observation);
  for (const trip of plan.deletionTrips) {
    observation.heldDeletes.set(trip.jobId, await readHeldDeletes(source, trip, o));
  }
  return { observation, state };
}

async function readFailures(
  source: EventSource,
  state: LogState,
  plan: ReadPlan,
  o: Required<Omit<ReadOptions, 'signal'>> & ReadOptions,
  observation: ProvisioningObservation,
): Promise<void> {
  const { now } = plan;
  const seen = new SeenEvents(state.seen);
  const overlap = state.backlog ? 0 : o.overlapMs;
  // `gt` excludes its bound: one millisecond earlier reads the events at the watermark itself again.
  const from = state.watermark !== undefined ? state.watermark - overlap - 1 : now - plan.lookbackMs;
  /** The newest event of this read: oldest first, so everything up to it has been read. */
  let position: number | undefined;
  const windows = new Map<string, number>();
  const windowOf = (event: ProvisioningEvent): number => {
    let w = windows.get(event.jobId);
    if (w === undefined) {
      w = plan.windowFor(event.jobId, {
        servicePrincipalId: event.servicePrincipal.id,
        servicePrincipalName: event.servicePrincipal.displayName,
      });
      windows.set(event.jobId, w);
    }
    return w;
  };
  try {
    for await (const page of source.failuresSince(from, o.signal)) {
      observation.pagesRead++;
      for (const event of page.events) {
        if (position === undefined || event.at > position) position = event.at;
        if (!seen.add(event)) continue;
        observation.eventsRead++;
        const activity = state.activity[event.jobId];
        if (activity && event.at > (activity.lastEventAt ?? -Infinity)) activity.lastEventAt = event.at;
        if (event.status.known === 'failure') addFailure(state.digest, event, windowOf(event), now);
      }
      if (page.invalid.length > 0) {
        observation.problems.push({
          kind: 'invalid-response',
          source: source.kind,
          operation: 'provisioning logs',
          message: `${page.invalid.length} event(s) skipped: ${page.invalid.slice(0, 3).join('; ')}`,
        });
      }
      if (position !== undefined) seen.prune(position - o.overlapMs - 1);
      if (!page.more) {
        observation.complete = true;
        break;
      }
      // Stop at the cap, unless every event so far was counted before (events sharing the watermark's
      // timestamp, read again): then stopping would never get past them.
      if (
        observation.pagesRead >= o.maxPages &&
        (observation.eventsRead > 0 || observation.pagesRead >= 4 * o.maxPages)
      ) {
        observation.problems.push({
          kind: 'page-cap',
          source: source.kind,
          operation: 'provisioning logs',
          message: `read ${observation.pagesRead} page(s) of failed events up to ${position !== undefined ? new Date(position).toISOString() : 'the start'}, the most one cycle reads; the rest is read next cycle`,
        });
        break;
      }
    }
  } catch (error) {
    observation.problems.push(source.problemOf(error, 'provisioning logs'));
  }
  if (observation.complete) {
    // Read to the end: nothing older than now is missing but what arrives late, which the overlap window catches.
    state.watermark = Math.max(state.watermark ?? -Infinity, position ?? -Infinity, now);
    state.backlog = false;
  } else if (position !== undefined) {
    // Stopped part-way (page cap, throttling, an outage): go on right after the last event read.
    state.watermark = position;
    state.backlog = true;
  }
  state.seen = state.watermark === undefined ? [] : seen.entries(state.watermark - o.overlapMs - 1);
  const windowOfJob = (jobId: string, job: { servicePrincipalId: string; servicePrincipalName: string }) =>
    windows.get(jobId) ?? plan.windowFor(jobId, job);
  // A window is only known to be clean up to where the logs were read.
  slideDigest(state.digest, observation.complete ? now : Math.min(now, state.watermark ?? now), windowOfJob);
}

async function readActivity(
  source: EventSource,
  state: LogState,
  plan: ReadPlan,
  o: ReadOptions,
  observation: ProvisioningObservation,
): Promise<void> {
  const watched = new Set(plan.silenceChecks.map((c) => c.jobId));
  for (const jobId of Object.keys(state.activity)) if (!watched.has(jobId)) delete state.activity[jobId];
  for (const { jobId, silentForMs } of plan.silenceChecks) {
    const activity: JobActivity = (state.activity[jobId] ??= { watchingSince: plan.now });
    // A job that wrote an event well within its limit cannot fall silent before the next cycle asks again.
    if (activity.lastEventAt === undefined || plan.now - activity.lastEventAt >= silentForMs / 2) {
      try {
        const latest = await source.latestEvent(jobId, activity.lastEventAt, o.signal);
        if (latest !== undefined && latest > (activity.lastEventAt ?? -Infinity)) activity.lastEventAt = latest;
      } catch (error) {
        observation.problems.push(source.problemOf(error, `the newest event of job ${jobId}`));
        observation.activityUnknown.add(jobId);
        continue;
      }
    }
    observation.activity.set(jobId, { ...activity });
  }
}

/**
 * The held deletes of a tripped job: its stagedDelete events, newest first; the objects of its
 * latest cycle with staged deletes are the ones waiting for a decision (a re-evaluation stages
 * them again in a new cycle), counted once each.
 */
async function readHeldDeletes(
  source: EventSource,
  trip: { jobId: string; since: number },
  o: Required<Omit<ReadOptions, 'signal'>> & ReadOptions,
): Promise<HeldDeletes | LogProblem> {
  const objects = new Map<string, ProvisionedObject>();
  let cycleId: string | undefined;
  let lastAt: number | undefined;
  let pages = 0;
  let capped = false;
  try {
    for await (const page of source.stagedDeletes(trip.jobId, trip.since, o.signal)) {
      pages++;
      for (const event of page.events) {
        if (event.action.known !== 'stagedDelete') continue;
        if (lastAt === undefined) {
          lastAt = event.at;
          cycleId = event.cycleId;
        }
        if (event.cycleId !== cycleId) continue;
        const object = objectName(event);
        objects.set((object.id || object.displayName).toLowerCase(), object);
      }
      if (page.more && pages >= o.heldDeletesMaxPages) {
        capped = true;
        break;
      }
    }
  } catch (error) {
    return source.problemOf(error, `the staged deletes of job ${trip.jobId}`);
  }
  // Spread over the whole list (sorted by name), so the sample shows the breadth of what is held.
  const sorted = [...objects.values()].sort((a, b) => a.displayName.localeCompare(b.displayName));
  const size = Math.min(o.heldSample, sorted.length);
  const sample = Array.from(
    { length: size },
    (_, i) => sorted[Math.floor((i * sorted.length) / size)] as ProvisionedObject,
  );
  return { count: objects.size, sample, cycleId, lastAt, capped };
}
