import type { IncomingMessage, ServerResponse } from 'node:http';
import { header, newRequestId, readBody, sendJson, startHttpsServer } from './http';
import { KqlError, parseKql, runKql, type Row, type Table } from './kql';
import { AAD_PROVISIONING_LOGS_COLUMNS, logAnalyticsRow } from './provisioning-logs';
import type { CloudState } from './state';
import type { TlsMaterial } from './tls';
import { bearerToken, type TokenSigner } from './tokens';

/**
 * Azure Monitor Logs (the Log Analytics query API) for one workspace that receives every tenant's
 * provisioning logs: `POST /v1/workspaces/{id}/query` with `{ query, timespan }`, bearer tokens for
 * the audience `https://api.loganalytics.io`, answers `{ tables: [{ name, columns, rows }] }`, a
 * partial result as 200 with a top-level `error`, and errors in Log Analytics' shape
 * (docs/reference/platform-notes.md §5.2). The query runs on emulators/kql.ts, a small subset of
 * KQL; a query outside it is refused with 400, never answered wrongly.
 *
 * Beside the workspace, one Application Insights resource answers resource-centric queries
 * (`POST /v1/{resourceId}/query`, LogsQueryClient.queryResource), as an Azure Monitor log alert
 * scoped to that resource does: its classic `traces` table, where a row kept by sampling stands for
 * `itemCount` traces (infra/monitoring/*.kql run there).
 */

const LOG_ANALYTICS_AUDIENCE = 'https://api.loganalytics.io';

/** A fault the next matching queries get. */
interface LogAnalyticsFault {
  /** `partial`: half the rows and a top-level error (LogsQueryPartialResult). Otherwise `status`. */
  kind?: 'partial';
  /** HTTP status to answer with (429 adds Retry-After). */
  status?: number;
  retryAfterSeconds?: number;
  /** Answer only after this long (a query that outlives the client's patience). */
  delayMs?: number;
  /** How many queries get it (default 1). */
  times?: number;
  /** Only queries whose text contains this. */
  queryIncludes?: string;
}

interface QueryRecord {
  at: string;
  workspaceId: string;
  query: string;
  timespan?: string;
  status: number;
}

/** One row of Application Insights' classic `traces` table, as the Functions host writes it. */
interface AppTrace {
  timestamp: Date;
  message: string;
  /** How many traces this row stands for: 1 unless sampling dropped the others (default 1). */
  itemCount?: number;
  /** 0 verbose … 4 critical (default 1, information). */
  severityLevel?: number;
  operationName?: string;
}

/** The classic Application Insights `traces` columns a query can name (a subset: no dynamic columns). */
const TRACES_COLUMNS: Record<string, string> = {
  timestamp: 'datetime',
  message: 'string',
  severityLevel: 'int',
  itemType: 'string',
  operation_Name: 'string',
  operation_Id: 'string',
  cloud_RoleName: 'string',
  itemId: 'string',
  itemCount: 'int',
};

/** The Application Insights resource the emulator answers for, unless told another. */
const EMULATED_APPLICATION_INSIGHTS_ID =
  '/subscriptions/00000000-0000-4000-8000-0000000000a1/resourceGroups/rg-sync-watch/providers/microsoft.insights/components/appi-sync-watch';

export interface LogAnalyticsEmulator {
  /** `https://127.0.0.1:<port>`: LOG_ANALYTICS_ENDPOINT. */
  endpoint: string;
  workspaceId: string;
  /** The Application Insights resource whose `traces` answer `queryResource`. */
  applicationInsightsId: string;
  /** Adds rows to the Application Insights `traces` table (sampled rows carry `itemCount` > 1). */
  addTraces(traces: AppTrace[]): void;
  injectFault(fault: LogAnalyticsFault): void;
  pendingFaults(): LogAnalyticsFault[];
  queries(): QueryRecord[];
  /** Grants or withdraws the Log Analytics Reader role of the app. */
  setReaderAccess(access: boolean): void;
  reset(): void;
  stop(): Promise<void>;
}

export interface LogAnalyticsOptions {
  tls: TlsMaterial;
  signer: TokenSigner;
  state: CloudState;
  workspaceId: string;
  readerAccess?: boolean;
  /** Default EMULATED_APPLICATION_INSIGHTS_ID. */
  applicationInsightsId?: string;
}

function errorJson(code: string, message: string, inner?: { code: string; message: string }): Record<string, unknown> {
  return { error: { message, code, correlationId: newRequestId(), ...(inner ? { innererror: inner } : {}) } };
}

/**
 * A query the service refuses, in Log Analytics' envelope. Real KQL errors are `BadArgumentError` with
 * the kind inside (`SyntaxError` "A recognition error occurred in the query.", `SemanticError` "A
 * semantic error occurred.": MicrosoftDocs/azure-docs#18012, MicrosoftDocs/feedback#1792). A valid
 * query the emulator's KQL subset cannot run is the emulator's own error, `EmulatorUnsupported`, at
 * the top so that no client mistakes it for a fault in the query (the SDK's RestError.code is it).
 */
function kqlErrorJson(error: KqlError): Record<string, unknown> {
  if (error.kind === 'EmulatorUnsupported')
    return errorJson('EmulatorUnsupported', 'The request had some invalid properties', {
      code: 'EmulatorUnsupported',
      message: `The query uses KQL the emulator does not run. ${error.message}`,
    });
  const what =
    error.kind === 'SyntaxError' ? 'A recognition error occurred in the query.' : 'A semantic error occurred.';
  return errorJson('BadArgumentError', 'The request had some invalid properties', {
    code: error.kind,
    message: `${what} ${error.message}`,
  });
}

/** `PT1H`, `P1D`, `PT3600S`, `P1DT2H` → ms. */
function isoDuration(text: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000 + Number(m[4] ?? 0) * 1000;
}

/** The request's timespan as [start, end) in ms: `PT1H`, `start/end`, `start/duration` (ISO 8601). */
function parseTimespan(text: string | undefined, now: number): [number, number] | undefined | 'invalid' {
  if (text === undefined || text === '') return undefined;
  const parts = text.split('/');
  if (parts.length === 1) {
    const ms = isoDuration(parts[0] as string);
    return ms === undefined ? 'invalid' : [now - ms, now];
  }
  const [a, b] = parts as [string, string];
  const start = Date.parse(a);
  if (Number.isNaN(start)) return 'invalid';
  const end = b.startsWith('P')
    ? isoDuration(b) === undefined
      ? NaN
      : start + (isoDuration(b) as number)
    : Date.parse(b);
  return Number.isNaN(end) ? 'invalid' : [start, end];
}

/** A stable GUID-shaped id for the n-th row (operation and item ids). */
function guidLike(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

function wireValue(v: unknown): unknown {
  return v instanceof Date ? v.toISOString() : v;
}

export async function startLogAnalytics(options: LogAnalyticsOptions): Promise<LogAnalyticsEmulator> {
  const { signer, state, workspaceId } = options;
  let readerAccess = options.readerAccess ?? true;
  let faults: (LogAnalyticsFault & { remaining: number })[] = [];
  let log: QueryRecord[] = [];
  let traces: AppTrace[] = [];
  const applicationInsightsId = options.applicationInsightsId ?? EMULATED_APPLICATION_INSIGHTS_ID;

  const takeFault = (query: string): LogAnalyticsFault | undefined => {
    const index = faults.findIndex((f) => f.queryIncludes === undefined || query.includes(f.queryIncludes));
    if (index < 0) return undefined;
    const fault = faults[index] as LogAnalyticsFault & { remaining: number };
    fault.remaining--;
    if (fault.remaining <= 0) faults.splice(index, 1);
    return fault;
  };

  const table = (range: [number, number] | undefined): Table => {
    const rows: Row[] = [];
    for (const tenantId of state.provisioningLog.tenants()) {
      for (const entry of state.provisioningLog.entries(tenantId)) {
        if (range && (entry.t < range[0] || entry.t >= range[1])) continue;
        rows.push(logAnalyticsRow(entry, workspaceId) as Row);
      }
    }
    return { columns: Object.entries(AAD_PROVISIONING_LOGS_COLUMNS).map(([name, type]) => ({ name, type })), rows };
  };

  const tracesTable = (range: [number, number] | undefined): Table => {
    const rows: Row[] = traces
      .filter((t) => !range || (t.timestamp.getTime() >= range[0] && t.timestamp.getTime() < range[1]))
      .map((t, i) => ({
        timestamp: t.timestamp,
        message: t.message,
        severityLevel: t.severityLevel ?? 1,
        itemType: 'trace',
        operation_Name: t.operationName ?? '',
        operation_Id: guidLike(i),
        cloud_RoleName: 'func-sync-watch',
        itemId: guidLike(i + 1_000_000),
        itemCount: t.itemCount ?? 1,
      }));
    return { columns: Object.entries(TRACES_COLUMNS).map(([name, type]) => ({ name, type })), rows };
  };

  /** What a query names and may read: the workspace's table, or the Application Insights resource's. */
  const targetOf = (pathname: string): { kind: 'workspace' | 'component'; id: string } | undefined => {
    const workspace = /^\/v1\/workspaces\/([^/]+)\/query$/.exec(pathname);
    if (workspace) return { kind: 'workspace', id: decodeURIComponent(workspace[1] as string) };
    const resource = /^\/v1\/+(subscriptions\/.+\/providers\/microsoft\.insights\/components\/[^/]+)\/query$/i.exec(
      pathname,
    );
    if (resource) return { kind: 'component', id: `/${decodeURIComponent(resource[1] as string)}` };
    return undefined;
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://loganalytics.invalid');
    const record = (query: string, timespan: string | undefined, status: number) =>
      log.push({ at: new Date().toISOString(), workspaceId, query, timespan, status });
    const target = targetOf(url.pathname);
    if (!target)
      return sendJson(res, 404, errorJson('PathNotFoundError', `The requested path does not exist: ${url.pathname}`));
    if ((req.method ?? 'GET').toUpperCase() !== 'POST')
      return sendJson(res, 405, errorJson('MethodNotAllowed', 'Only POST is supported by the emulator on /query.'));

    const token = bearerToken(header(req, 'authorization'));
    const verified = token ? signer.verify(token) : undefined;
    if (!verified || 'error' in verified)
      return sendJson(res, 401, errorJson('AuthorizationRequiredError', 'Valid authentication was not provided'));
    if (verified.claims.aud !== LOG_ANALYTICS_AUDIENCE) {
      return sendJson(
        res,
        401,
        errorJson(
          'InvalidTokenError',
          `The provided authentication is not valid for this resource: the audience must be ${LOG_ANALYTICS_AUDIENCE}`,
        ),
      );
    }
    if (target.kind === 'workspace' && target.id.toLowerCase() !== workspaceId.toLowerCase())
      return sendJson(res, 404, errorJson('WorkspaceNotFoundError', 'Workspace could not be found'));
    if (target.kind === 'component' && target.id.toLowerCase() !== applicationInsightsId.toLowerCase())
      return sendJson(res, 404, errorJson('ResourceNotFoundError', `The resource ${target.id} could not be found`));
    if (!readerAccess)
      return sendJson(
        res,
        403,
        errorJson(
          'InsufficientAccessError',
          'The provided credentials have insufficient access to perform the requested operation',
        ),
      );

    let body: { query?: unknown; timespan?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch {
      return sendJson(
        res,
        400,
        errorJson('BadArgumentError', 'The request had some invalid properties', {
          code: 'InvalidJson',
          message: 'The body is not JSON.',
        }),
      );
    }
    const query = typeof body?.query === 'string' ? body.query : '';
    const timespan = typeof body?.timespan === 'string' ? body.timespan : undefined;
    const answer = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      record(query, timespan, status);
      if (!res.destroyed) sendJson(res, status, json, headers);
    };
    if (query.trim() === '')
      return answer(
        400,
        errorJson('BadArgumentError', 'The request had some invalid properties', {
          code: 'MissingQuery',
          message: 'The query is missing.',
        }),
      );

    const fault = takeFault(query);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.status) {
      const headers: Record<string, string> =
        fault.status === 429 ? { 'Retry-After': String(fault.retryAfterSeconds ?? 30) } : {};
      const code = fault.status === 429 ? 'ThrottledError' : fault.status === 504 ? 'GatewayTimeout' : 'ServiceError';
      const message =
        fault.status === 429
          ? 'Too many requests: please retry later'
          : fault.status === 504
            ? 'The query took too long to run'
            : 'The service failed to run the query';
      return answer(fault.status, errorJson(code, message), headers);
    }

    const now = Date.now();
    const range = parseTimespan(timespan, now);
    if (range === 'invalid')
      return answer(
        400,
        errorJson('BadArgumentError', 'The request had some invalid properties', {
          code: 'InvalidTimespan',
          message: `'${timespan}' is not an ISO 8601 duration or interval.`,
        }),
      );
    let result: Table;
    try {
      const parsed = parseKql(query);
      const [tableName, rowsOf] =
        target.kind === 'workspace' ? ['AADProvisioningLogs', table] : ['traces', tracesTable];
      if (parsed.table !== tableName)
        throw new KqlError(
          'SemanticError',
          `'${parsed.table}' could not be resolved: the ${target.kind === 'workspace' ? 'workspace' : 'Application Insights resource'} has the table ${tableName} only`,
        );
      result = runKql(parsed, rowsOf(range), now);
    } catch (error) {
      if (!(error instanceof KqlError)) throw error;
      return answer(400, kqlErrorJson(error));
    }
    const rows = fault?.kind === 'partial' ? result.rows.slice(0, Math.floor(result.rows.length / 2)) : result.rows;
    const json: Record<string, unknown> = {
      tables: [
        {
          name: 'PrimaryResult',
          columns: result.columns,
          rows: rows.map((row) => result.columns.map((c) => wireValue(row[c.name] ?? null))),
        },
      ],
    };
    if (fault?.kind === 'partial') {
      json.error = {
        code: 'PartialError',
        message: 'There were some errors when processing your query.',
        details: [
          {
            code: 'EngineError',
            message: 'Something went wrong processing your query on the server.',
            innererror: {
              code: 'E_QUERY_RESULT_SET_TOO_LARGE',
              message: 'The results of this query exceed the set limit.',
            },
          },
        ],
      };
    }
    answer(200, json);
  };

  const server = await startHttpsServer(options.tls, handler);
  return {
    endpoint: server.origin,
    workspaceId,
    applicationInsightsId,
    addTraces: (rows) => traces.push(...rows.map((t) => ({ ...t }))),
    injectFault: (fault) => faults.push({ ...fault, remaining: fault.times ?? 1 }),
    pendingFaults: () => faults.map(({ remaining, ...f }) => ({ ...f, times: remaining })),
    queries: () => log.map((q) => ({ ...q })),
    setReaderAccess: (access) => (readerAccess = access),
    reset: () => {
      faults = [];
      log = [];
      traces = [];
      readerAccess = options.readerAccess ?? true;
    },
    stop: () => server.close(),
  };
}
