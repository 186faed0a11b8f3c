import type { LogsQueryClient, LogsTable } from '@azure/monitor-query-logs';
import { errorBodyOf } from '../clients/logs';
import type { KqlRule } from '../model/policy';
import type { EventPage, EventSource } from './event-source';
import { normalizeLogAnalyticsRow } from './provisioning-normalize';
import type { LogProblem, ProvisioningEvent } from '../model/provisioning';

/**
 * Azure Monitor Logs through `@azure/monitor-query-logs` (the successor of the deprecated
 * `@azure/monitor-query`), on the app's own credential: the provisioning events of a tenant from the
 * `AADProvisioningLogs` table of a workspace (the same digest as from Graph), and the user's own KQL
 * rules. A partial result, a refused query, a throttled query and a timeout each become a named
 * problem; none throws past this module, so one bad query never stops the other checks.
 * Table and columns: docs/reference/graph-provisioning-api.md §4.1; client quirks: docs/reference/platform-notes.md §5.
 */

export type LogsQuerier = Pick<LogsQueryClient, 'queryWorkspace'>;

export interface LogAnalyticsOptions {
  /** Rows per query (default 5,000; Log Analytics answers at most 500,000). */
  pageSize?: number;
  /** How long the service may take per query, in seconds (the `Prefer: wait` header; default 60). */
  serverTimeoutSeconds?: number;
  /** How long this client waits per query before it gives up, in ms (default 90 s). */
  queryTimeoutMs?: number;
}

const DEFAULTS = { pageSize: 5_000, serverTimeoutSeconds: 60, queryTimeoutMs: 90_000 };

/** A query answered only in part (LogsQueryPartialResult): rows may be missing anywhere. */
export class PartialResultError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PartialResultError';
  }
}

interface RestErrorLike {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { headers?: { get?(name: string): string | undefined }; bodyAsText?: string };
}

interface ErrorJson {
  code?: string;
  message?: string;
  innererror?: ErrorJson;
}

/** The innermost code and every message of a Log Analytics error body: `{ error: { code, message, innererror: { ... } } }`. */
function errorBody(error: RestErrorLike): { code?: string; message?: string } {
  let e: ErrorJson | undefined;
  try {
    e = (JSON.parse(error.response?.bodyAsText ?? errorBodyOf(error) ?? '') as { error?: ErrorJson }).error;
  } catch {
    return {};
  }
  let code: string | undefined;
  const messages: string[] = [];
  for (let depth = 0; e && depth < 5; depth++, e = e.innererror) {
    code = e.code ?? code;
    if (e.message) messages.push(e.message);
  }
  return { code, message: messages.join(': ') || undefined };
}

/** What an error from a Log Analytics query means. */
export function logAnalyticsProblem(error: unknown, operation: string): LogProblem {
  const base = { source: 'log-analytics' as const, operation };
  const e = (error ?? {}) as RestErrorLike;
  if (error instanceof PartialResultError)
    return { ...base, kind: 'partial', code: error.code, message: error.message };
  if (e.name === 'AbortError' || e.name === 'TimeoutError')
    return { ...base, kind: 'timeout', message: 'no answer in time; the query was abandoned' };
  const status = typeof e.statusCode === 'number' && e.statusCode > 0 ? e.statusCode : undefined;
  const body = errorBody(e);
  const code = body.code ?? e.code;
  const message = (body.message ?? e.message ?? String(error)).split(/\r?\n/)[0] || `HTTP ${status}`;
  if (status === 401 || status === 403)
    return {
      ...base,
      kind: 'access',
      status,
      code,
      message,
      missing: 'the Log Analytics Reader role on the workspace',
    };
  if (status === 429) {
    const retry = Number(e.response?.headers?.get?.('retry-after'));
    return {
      ...base,
      kind: 'throttled',
      status,
      code,
      message,
      retryAfterSeconds: Number.isFinite(retry) ? retry : undefined,
    };
  }
  if (status === 504 || status === 408) return { ...base, kind: 'timeout', status, code, message };
  if (status === undefined || status >= 500) return { ...base, kind: 'transient', status, code, message };
  if (status === 404)
    return {
      ...base,
      kind: 'access',
      status,
      code,
      message,
      missing: 'a workspace with this id (LOG_ANALYTICS_WORKSPACE_ID)',
    };
  return { ...base, kind: 'query-error', status, code, message };
}

export interface QueryAnswer {
  columns: string[];
  rows: Record<string, unknown>[];
}

function rowsOf(table: LogsTable | undefined): QueryAnswer {
  if (!table) return { columns: [], rows: [] };
  const columns = table.columnDescriptors.map((c) => c.name ?? '');
  const rows = table.rows.map((row) => Object.fromEntries(columns.map((name, i) => [name, row[i]])));
  return { columns, rows };
}

function abandonOnAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** One query; its first table as rows by column name. Throws PartialResultError for a partial answer. */
export async function queryRows(
  client: LogsQuerier,
  workspaceId: string,
  query: string,
  timespan: { duration: string } | { startTime: Date; endTime: Date },
  options: LogAnalyticsOptions & { signal?: AbortSignal } = {},
): Promise<QueryAnswer> {
  const o = { ...DEFAULTS, ...options };
  // LogsQueryClient 1.0.0 drops a top-level `abortSignal` (convertToInternalOptions keeps only
  // `requestOptions`), so the per-query limit is `requestOptions.timeout`, and the cycle's own signal
  // abandons the wait.
  const pending = client.queryWorkspace(workspaceId, query, timespan, {
    serverTimeoutInSeconds: o.serverTimeoutSeconds,
    requestOptions: { timeout: o.queryTimeoutMs },
  });
  const result = options.signal ? await abandonOnAbort(pending, options.signal) : await pending;
  if (result.status === 'PartialFailure') {
    const error = result.partialError as { code?: string; message?: string; details?: { message?: string }[] };
    const detail = error.details
      ?.map((d) => d.message)
      .filter(Boolean)
      .join('; ');
    throw new PartialResultError(
      error.code ?? 'PartialError',
      [error.message, detail].filter(Boolean).join(': ') || 'the query was answered only in part',
    );
  }
  return rowsOf(result.tables[0]);
}

// ---- provisioning events from AADProvisioningLogs -----------------------------------------------------

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const kqlString = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const kqlTime = (ms: number) => `datetime(${new Date(ms).toISOString()})`;

/**
 * The provisioning events of one tenant from a workspace its diagnostic settings route
 * `ProvisioningLogs` to. Pages are keyset queries (`order by TimeGenerated asc, Id asc | take N`,
 * then rows after the last one), so events with equal times are neither lost nor read twice.
 */
export function createLogAnalyticsEventSource(
  client: LogsQuerier,
  workspaceId: string,
  tenantId: string,
  options: LogAnalyticsOptions & { now?: () => number } = {},
): EventSource {
  const o = { ...DEFAULTS, ...options };
  const now = options.now ?? Date.now;
  const table = `AADProvisioningLogs | where AADTenantId =~ ${kqlString(tenantId)}`;
  const span = (from: number) => ({ startTime: new Date(from - 1000), endTime: new Date(now() + 60_000) });

  function toPage(answer: QueryAnswer, more: boolean): EventPage {
    const events: ProvisioningEvent[] = [];
    const invalid: string[] = [];
    for (const row of answer.rows) {
      try {
        events.push(normalizeLogAnalyticsRow(row));
      } catch (error) {
        invalid.push((error as Error).message);
      }
    }
    return { events, invalid, more };
  }

  function guard(): void {
    if (!GUID.test(tenantId))
      throw Object.assign(
        new Error(`AADProvisioningLogs rows carry the tenant's GUID; WATCH_TENANTS names this tenant ${tenantId}`),
        { statusCode: 400, code: 'TenantIdNotGuid' },
      );
  }

  return {
    kind: 'log-analytics',
    async *failuresSince(from, signal) {
      guard();
      let after: { at: number; id: string } | undefined;
      for (;;) {
        const since = after
          ? `(TimeGenerated > ${kqlTime(after.at)} or (TimeGenerated == ${kqlTime(after.at)} and Id > ${kqlString(after.id)}))`
          : `TimeGenerated > ${kqlTime(from)}`;
        const query = `${table} and ResultType == "Failure" and ${since} | order by TimeGenerated asc, Id asc | take ${o.pageSize}`;
        const answer = await queryRows(client, workspaceId, query, span(from), { ...o, signal });
        const page = toPage(answer, answer.rows.length >= o.pageSize);
        const last = page.events.at(-1);
        const progressed =
          last !== undefined && (!after || last.at > after.at || (last.at === after.at && last.id > after.id));
        yield { ...page, more: page.more && progressed };
        if (!page.more || !progressed || !last) return;
        after = { at: last.at, id: last.id };
      }
    },
    async *stagedDeletes(jobId, since, signal) {
      guard();
      const query = `${table} and JobId == ${kqlString(jobId)} and ProvisioningAction =~ "stagedDelete" and TimeGenerated > ${kqlTime(since)} | order by TimeGenerated desc | take ${o.pageSize}`;
      const answer = await queryRows(client, workspaceId, query, span(since), { ...o, signal });
      yield toPage(answer, answer.rows.length >= o.pageSize);
    },
    async latestEvent(jobId, after, signal) {
      guard();
      const since = after ?? now() - 30 * 24 * 3600_000;
      const query = `${table} and JobId == ${kqlString(jobId)} and TimeGenerated > ${kqlTime(since)} | order by TimeGenerated desc | take 1 | project TimeGenerated`;
      const answer = await queryRows(client, workspaceId, query, span(since), { ...o, signal });
      const value = answer.rows[0]?.TimeGenerated;
      const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : NaN;
      return Number.isFinite(ms) ? ms : undefined;
    },
    problemOf: logAnalyticsProblem,
  };
}

// ---- user-defined KQL rules ------------------------------------------------------------------------

export interface KqlOutcome {
  rule: KqlRule;
  /** The query's first table, when it was answered in full. */
  answer?: QueryAnswer;
  problem?: LogProblem;
}

/** ISO 8601 for a whole number of seconds: the `timespan` a query runs over. */
export function isoDuration(ms: number): string {
  return `PT${Math.max(1, Math.round(ms / 1000))}S`;
}

/**
 * Runs each enabled rule's query once over its time span. Each rule stands alone: its problem is
 * its own outcome, and the others run regardless.
 */
export async function runKqlRules(
  client: LogsQuerier,
  workspaceId: string,
  rules: readonly KqlRule[],
  options: LogAnalyticsOptions & { signal?: AbortSignal } = {},
): Promise<KqlOutcome[]> {
  const outcomes: KqlOutcome[] = [];
  for (const rule of rules) {
    try {
      const answer = await queryRows(
        client,
        workspaceId,
        rule.query,
        { duration: isoDuration(rule.timeSpanMs) },
        options,
      );
      outcomes.push({ rule, answer });
    } catch (error) {
      outcomes.push({ rule, problem: logAnalyticsProblem(error, `kql rule ${rule.name}`) });
    }
  }
  return outcomes;
}
