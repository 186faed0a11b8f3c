import { LOGS_LICENCE, READ_PERMISSIONS } from '../clients/permissions';
import { createHash } from 'node:crypto';
import type { GraphReader } from '../clients/graph';
import { graphErrorBody, type ErrorLike } from './errors';
import {
  GRAPH_REPORTS_LIMIT,
  SlidingWindowLimiter,
  type EventPage,
  type EventSource,
  type QueryFallback,
  type QueryModes,
} from './event-source';
import { InvalidGraphData } from './normalize';
import { formatDuration } from '../util/text';
import { addFailure, emptyDigest, slideDigest } from './provisioning-digest';
import { normalizeGraphEvent, objectName } from './provisioning-normalize';
import type {
  HeldDeletes,
  JobActivity,
  LogProblem,
  LogRead,
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
      missing: `${LOGS_LICENCE} in the tenant`,
    };
  if (status === 401 || status === 403) {
    return {
      ...base,
      kind: 'access',
      status,
      code,
      message,
      missing:
        code === 'InvalidAuthenticationToken'
          ? undefined
          : `the application permission ${READ_PERMISSIONS['provisioning logs']}`,
    };
  }
  if (status === 429) return { ...base, kind: 'throttled', status, code, message, retryAfterSeconds: retryAfterOf(e) };
  if (status === undefined || status === 408 || status >= 500)
    return { ...base, kind: 'transient', status, code, message };
  return { ...base, kind: 'invalid-response', status, code, message };
}

/** Whether Graph answered 400: the query itself was refused (a filter clause, a query option). */
function isBadRequest(error: unknown): boolean {
  return (error as ErrorLike | undefined)?.statusCode === 400;
}

/** The first line of what Graph said, for the log and the status view. */
function graphWords(error: unknown): string {
  const e = (error ?? {}) as ErrorLike;
  const body = graphErrorBody(e.body);
  const code = e.code ?? body.code;
  const message = (body.message ?? e.message ?? '').split(/\r?\n/)[0] ?? '';
  return [400, code, message].filter((x) => x !== undefined && x !== '').join(' ');
}

/**
 * Graph v1.0 `GET /auditLogs/provisioning` as an event source, for one tenant. Where Graph may
 * differ from its docs it falls back and says so (`query.fallbacks`): the status filter has no
 * filter note on v1.0, so when Graph refuses it (400) the failures are read by time only and kept
 * on the client; when Graph ignores it (events of another status come back), the same; a `$top`
 * Graph refuses falls back to Graph's default page size. Each fallback costs one more request, within
 * the reports limit like every other.
 */
export function createGraphEventSource(reader: GraphReader, options: GraphSourceOptions = {}): EventSource {
  const top = options.pageSize ?? 500;
  const limiter =
    options.limiter ?? new SlidingWindowLimiter(GRAPH_REPORTS_LIMIT.requests, GRAPH_REPORTS_LIMIT.windowMs);
  const query = { modes: { statusFilter: true, top: true }, fallbacks: [] as QueryFallback[], pageSize: top };
  const { modes } = query;

  const get = async (url: string, signal?: AbortSignal) => {
    await limiter.take(signal);
    return (await reader.get(url)) as { value?: unknown; '@odata.nextLink'?: unknown };
  };

  /**
   * The first page of a query. On a 400 it tries the query again without what Graph may refuse
   * (the status clause, then `$top`, or `$top` first when Graph's words name it; then both) and
   * keeps the first shape Graph answers, recorded as a fallback; when none is answered, Graph's
   * first refusal stands.
   */
  async function firstPage(build: () => string, withStatus: boolean, signal?: AbortSignal) {
    try {
      return await get(build(), signal);
    } catch (error) {
      if (!isBadRequest(error)) throw error;
      const before = { ...modes };
      const shapes: Partial<QueryModes>[] = [];
      if (withStatus && modes.statusFilter) shapes.push({ statusFilter: false });
      if (modes.top) shapes.push({ top: false });
      // What Graph names first: a refusal that names the top option is tried without it first.
      if (/\btop\b/i.test(graphWords(error))) shapes.reverse();
      if (withStatus && modes.statusFilter && modes.top) shapes.push({ statusFilter: false, top: false });
      for (const shape of shapes) {
        Object.assign(modes, before, shape);
        try {
          const page = await get(build(), signal);
          const message = graphWords(error);
          if (shape.statusFilter === false) query.fallbacks.push({ what: 'status-filter', reason: 'refused', message });
          if (shape.top === false) query.fallbacks.push({ what: 'top', reason: 'refused', message });
          return page;
        } catch (again) {
          if (!isBadRequest(again)) {
            Object.assign(modes, before);
            throw again;
          }
        }
      }
      Object.assign(modes, before);
      throw error;
    }
  }

  async function* pages(build: () => string, withStatus: boolean, signal?: AbortSignal): AsyncGenerator<EventPage> {
    const seenLinks = new Set<string>();
    let page = await firstPage(build, withStatus, signal);
    for (;;) {
      if (!page || !Array.isArray(page.value))
        throw new InvalidGraphData('a page of provisioning events from Graph has no value array');
      const next = typeof page['@odata.nextLink'] === 'string' ? page['@odata.nextLink'] : undefined;
      const events: ProvisioningEvent[] = [];
      const invalid: string[] = [];
      for (const raw of page.value) {
        try {
          events.push(normalizeGraphEvent(raw));
        } catch (error) {
          invalid.push((error as Error).message);
        }
      }
      if (withStatus && modes.statusFilter && events.some((e) => e.status.known !== FAILED_STATUS)) {
        // Graph ran the query without the status clause: the failures are kept on the client from here on.
        modes.statusFilter = false;
        query.fallbacks.push({
          what: 'status-filter',
          reason: 'ignored',
          message: `events of another status than ${FAILED_STATUS} came back for provisioningStatusInfo/status eq '${FAILED_STATUS}'`,
        });
      }
      yield { events, invalid, more: next !== undefined };
      if (!next) return;
      if (seenLinks.has(next))
        throw new InvalidGraphData('Graph returned the same @odata.nextLink twice while listing provisioning events');
      seenLinks.add(next);
      page = await get(next, signal);
    }
  }

  const list = (filter: string, order: 'asc' | 'desc', n = top) =>
    `/auditLogs/provisioning?$filter=${filter}&$orderby=activityDateTime ${order}${modes.top ? `&$top=${n}` : ''}`;
  return {
    kind: 'graph',
    query,
    failuresSince: (from, signal) =>
      pages(
        () =>
          list(
            `activityDateTime gt ${odataTime(from)}${modes.statusFilter ? ` and provisioningStatusInfo/status eq ${odataString(FAILED_STATUS)}` : ''}`,
            'asc',
          ),
        true,
        signal,
      ),
    stagedDeletes: (jobId, since, signal) =>
      pages(
        () =>
          list(
            `jobId eq ${odataString(jobId)} and provisioningAction eq 'stagedDelete' and activityDateTime gt ${odataTime(since)}`,
            'desc',
          ),
        false,
        signal,
      ),
    async latestEvent(jobId, after, signal) {
      const filter = `jobId eq ${odataString(jobId)}${after !== undefined ? ` and activityDateTime gt ${odataTime(after)}` : ''}`;
      for await (const page of pages(() => list(filter, 'desc', 1), false, signal)) return page.events[0]?.at;
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
  /** The most the overlap widens to when events arrive later than it (default 2 hours). */
  maxOverlapMs?: number;
  /** How often a read looks back the whole widest overlap for events later than the overlap in force (default 1 hour). */
  lateCheckEveryMs?: number;
  /** How long a fallback is kept before the documented query is tried again (default 1 day). */
  retryDocumentedAfterMs?: number;
  /** Pages of stagedDelete events read per tripped job (default 10). */
  heldDeletesMaxPages?: number;
  /** Held objects named in an alert (default 10). */
  heldSample?: number;
  signal?: AbortSignal;
}

const HOUR = 3600_000;
const DEFAULT_READ_OPTIONS = {
  maxPages: 20,
  overlapMs: 15 * 60_000,
  maxOverlapMs: 2 * HOUR,
  lateCheckEveryMs: HOUR,
  retryDocumentedAfterMs: 24 * HOUR,
  heldDeletesMaxPages: 10,
  heldSample: 10,
};
type Options = typeof DEFAULT_READ_OPTIONS & ReadOptions;

/** How long a late event keeps the overlap widened: late events come with incidents, which recur. */
const LATENESS_KEPT_MS = 7 * 24 * HOUR;
/** The overlap is widened to half again the latest lateness seen, in whole steps of this. */
const OVERLAP_STEP_MS = 5 * 60_000;

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
  const o: Options = { ...DEFAULT_READ_OPTIONS, ...options };
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
  const tried = shapeQueries(source, state, plan.now);
  const late = await readFailures(source, state, plan, o, observation);
  await readActivity(source, state, plan, o, observation);
  for (const trip of plan.deletionTrips) {
    observation.heldDeletes.set(trip.jobId, await readHeldDeletes(source, trip, o));
  }
  const changes = rememberFallbacks(source, state, tried, observation, plan.now, o);
  observation.read = { ...readOf(source, state, o, late, plan.now), changes: [...changes, ...late.changes] };
  return { observation, state };
}

// ---- fallbacks: how Graph is asked --------------------------------------------------------------

/**
 * Sets how the source asks Graph this read: as the state remembers (a fallback Graph made
 * necessary), or the documented way once its retry is due. Returns what the documented way is tried for.
 */
function shapeQueries(source: EventSource, state: LogState, now: number): { statusFilter: boolean; top: boolean } {
  const modes = source.query?.modes;
  const remembered = state.query ?? {};
  const tried = {
    statusFilter: !remembered.statusFilter || now >= remembered.statusFilter.retryAt,
    top: !remembered.top || now >= remembered.top.retryAt,
  };
  if (modes) Object.assign(modes, tried);
  return tried;
}

/**
 * Remembers the fallbacks Graph made necessary this read, so the next cycles do not ask again
 * what Graph refuses (the documented way is retried once `retryDocumentedAfterMs` has passed), and
 * forgets a fallback once the documented way worked again. Returns what changed, for the log.
 */
function rememberFallbacks(
  source: EventSource,
  state: LogState,
  tried: { statusFilter: boolean; top: boolean },
  observation: ProvisioningObservation,
  now: number,
  o: Options,
): string[] {
  const query = source.query;
  if (!query) return [];
  const changes: string[] = [];
  const remembered = (state.query ??= {});
  const retryAt = now + o.retryDocumentedAfterMs;
  const day = formatDuration(o.retryDocumentedAfterMs);
  const status = query.fallbacks.find((f) => f.what === 'status-filter');
  if (status) {
    const since = remembered.statusFilter?.since ?? now;
    if (!remembered.statusFilter)
      changes.push(
        `Graph ${status.reason} the provisioningStatusInfo/status filter (${status.message}): failures are read by time only and kept on the client; the filter is tried again every ${day}`,
      );
    remembered.statusFilter = { reason: status.reason, since, retryAt };
  } else if (tried.statusFilter && remembered.statusFilter && observation.pagesRead > 0) {
    delete remembered.statusFilter;
    changes.push('Graph takes the provisioningStatusInfo/status filter again: failures are filtered by Graph');
  } else if (remembered.statusFilter && now >= remembered.statusFilter.retryAt)
    remembered.statusFilter.retryAt = retryAt; // the retry did not get an answer: tried again after the next interval
  const top = query.fallbacks.find((f) => f.what === 'top');
  if (top) {
    if (!remembered.top)
      changes.push(
        `Graph refused $top=${query.pageSize} (${top.message}): pages are Graph's default size; $top is tried again every ${day}`,
      );
    remembered.top = { since: remembered.top?.since ?? now, retryAt };
  } else if (tried.top && remembered.top && observation.pagesRead > 0) {
    delete remembered.top;
    changes.push(`Graph takes $top=${query.pageSize} again`);
  } else if (remembered.top && now >= remembered.top.retryAt) remembered.top.retryAt = retryAt;
  if (!remembered.statusFilter && !remembered.top) delete state.query;
  return changes;
}

/** How the logs were read, for coverage. */
function readOf(
  source: EventSource,
  state: LogState,
  o: Options,
  late: LateEvents,
  now: number,
): Omit<LogRead, 'changes'> {
  const remembered = state.query ?? {};
  return {
    filter: remembered.statusFilter && source.query ? 'time-only' : 'server',
    filterFallback: source.query ? remembered.statusFilter : undefined,
    pageSize: source.query ? (remembered.top ? 'default' : source.query.pageSize) : undefined,
    topFallback: source.query ? remembered.top : undefined,
    overlapMs: state.overlapMs ?? o.overlapMs,
    maxOverlapMs: maxOverlapOf(o),
    overlapCapped: late.capped,
    lateness: state.lateness && now - state.lateness.at < LATENESS_KEPT_MS ? state.lateness : undefined,
  };
}

// ---- late events: the overlap ---------------------------------------------------------------------

const maxOverlapOf = (o: Options) => Math.max(o.maxOverlapMs, o.overlapMs);

interface LateEvents {
  /** The overlap wanted for the latest lateness seen is wider than the widest allowed. */
  capped: boolean;
  changes: string[];
}

/**
 * Keeps the latest lateness seen in the last week and the overlap it calls for: half again that
 * lateness, in whole 5-minute steps, never below the configured overlap nor above the widest.
 */
function widenOverlap(state: LogState, lateMs: number, now: number, o: Options): LateEvents {
  const kept = state.lateness && now - state.lateness.at < LATENESS_KEPT_MS ? state.lateness : undefined;
  if (lateMs > 0 && (!kept || lateMs >= kept.maxMs)) state.lateness = { maxMs: lateMs, at: now };
  else if (kept) state.lateness = kept;
  else delete state.lateness;
  const before = state.overlapMs ?? o.overlapMs;
  const wanted = state.lateness
    ? Math.max(o.overlapMs, Math.ceil((state.lateness.maxMs * 1.5) / OVERLAP_STEP_MS) * OVERLAP_STEP_MS)
    : o.overlapMs;
  const overlap = Math.min(wanted, maxOverlapOf(o));
  if (overlap === o.overlapMs) delete state.overlapMs;
  else state.overlapMs = overlap;
  const changes: string[] = [];
  if (overlap !== before)
    changes.push(
      overlap > before
        ? `events arrived up to ${formatDuration(state.lateness?.maxMs ?? 0)} late: each read now starts ${formatDuration(overlap)} before the last (was ${formatDuration(before)})`
        : `no event arrived late for a week: each read starts ${formatDuration(overlap)} before the last again`,
    );
  return { capped: wanted > maxOverlapOf(o), changes };
}

async function readFailures(
  source: EventSource,
  state: LogState,
  plan: ReadPlan,
  o: Options,
  observation: ProvisioningObservation,
): Promise<LateEvents> {
  const { now } = plan;
  const widest = maxOverlapOf(o);
  const seen = new SeenEvents(state.seen);
  const previous = state.watermark;
  const overlap = Math.min(Math.max(state.overlapMs ?? o.overlapMs, o.overlapMs), widest);
  // States written before `seenSince` remembered the configured overlap.
  const seenSince = state.seenSince ?? (previous !== undefined ? previous - o.overlapMs : undefined);
  // Now and then a read looks back the widest overlap: an event that arrived later than the overlap
  // in force is found there (and counted), and its lateness widens the overlap.
  const lateCheck =
    previous !== undefined &&
    !state.backlog &&
    (state.lateCheckedAt === undefined || now - state.lateCheckedAt >= o.lateCheckEveryMs);
  // `gt` excludes its bound: one millisecond earlier reads the events at the start itself again.
  // Never before `seenSince`, or an event counted and forgotten since would count twice.
  const start =
    previous === undefined
      ? now - plan.lookbackMs
      : state.backlog
        ? previous
        : Math.max(previous - (lateCheck ? widest : overlap), seenSince ?? -Infinity);
  const from = start - 1;
  /** The newest event of this read: oldest first, so everything up to it has been read. */
  let position: number | undefined;
  let latest = 0;
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
        const activity = state.activity[event.jobId];
        if (activity && event.at > (activity.lastEventAt ?? -Infinity)) activity.lastEventAt = event.at;
        // Read by time only, every status comes back: only failures are counted and remembered.
        if (event.status.known !== FAILED_STATUS) continue;
        if (!seen.add(event)) continue;
        observation.eventsRead++;
        // Not there when the last read covered its time: it arrived at least this late.
        if (previous !== undefined && event.at < previous) latest = Math.max(latest, previous - event.at);
        addFailure(state.digest, event, windowOf(event), now);
      }
      if (page.invalid.length > 0) {
        observation.problems.push({
          kind: 'invalid-response',
          source: source.kind,
          operation: 'provisioning logs',
          message: `${page.invalid.length} event(s) skipped: ${page.invalid.slice(0, 3).join('; ')}`,
        });
      }
      if (position !== undefined) seen.prune(position - widest - 1);
      if (!page.more) {
        observation.complete = true;
        break;
      }
      // Stop at the cap, unless every event so far was counted before (events sharing the watermark's
      // timestamp, read again): then stopping would never get past them.
      const progressed = observation.eventsRead > 0 || (position !== undefined && position > (previous ?? -Infinity));
      if (observation.pagesRead >= o.maxPages && (progressed || observation.pagesRead >= 4 * o.maxPages)) {
        observation.problems.push({
          kind: 'page-cap',
          source: source.kind,
          operation: 'provisioning logs',
          message: `read ${observation.pagesRead} page(s) of ${source.query?.modes.statusFilter === false ? 'events (read by time only)' : 'failed events'} up to ${position !== undefined ? new Date(position).toISOString() : 'the start'}, the most one cycle reads; the rest is read next cycle`,
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
  if (lateCheck || previous === undefined) state.lateCheckedAt = now;
  if (state.watermark !== undefined) {
    const keepFrom = state.watermark - widest - 1;
    state.seen = seen.entries(keepFrom);
    // Every event counted since the earlier of the two starts is remembered, back to what is kept.
    state.seenSince = Math.max(Math.min(seenSince ?? start, start), keepFrom);
  } else state.seen = [];
  const windowOfJob = (jobId: string, job: { servicePrincipalId: string; servicePrincipalName: string }) =>
    windows.get(jobId) ?? plan.windowFor(jobId, job);
  // A window is only known to be clean up to where the logs were read.
  slideDigest(state.digest, observation.complete ? now : Math.min(now, state.watermark ?? now), windowOfJob);
  return widenOverlap(state, latest, now, o);
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
  o: Options,
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
