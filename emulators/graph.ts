import type { IncomingMessage, ServerResponse } from 'node:http';
import { faultReply, HTML_PAGE, MALFORMED_JSON, never, pause, type Fault } from './faults';
import { header, newRequestId, readBody, sendJson, startHttpsServer, type RunningServer } from './http';
import { buildJob, type JsonObject } from './jobs';
import {
  parseOnDemandBody,
  parseRestartBody,
  provisionOnDemandAnswer,
  ruleIdOf,
  synchronizationSchema,
} from './job-actions';
import { provisioningLogsResult } from './provisioning-logs';
import type { SecretsPolicy } from './scenario';
import type { CloudState, JobActionRecord, ServicePrincipalState, TenantState } from './state';
import { roundTrip, type Throttled } from './throttle';
import type { TlsMaterial } from './tls';
import { bearerToken, type AccessTokenClaims, type TokenSigner } from './tokens';

/**
 * Microsoft Graph (v1.0 and beta, served identically) for what Entra Sync Watch reads:
 * service principals, their synchronization jobs, and `$batch`. Wire format per
 * docs/reference/graph-provisioning-api.md and docs/reference/platform-notes.md §2.
 * Control routes (no auth) live under `/_emulator/` on the same origin.
 */

export interface GraphEmulator {
  /** `https://127.0.0.1:<port>`: the Graph root (without `/v1.0`); also the token audience. */
  origin: string;
  stop(): Promise<void>;
}

export interface GraphOptions {
  tls: TlsMaterial;
  signer: TokenSigner;
  state: CloudState;
}

/** The Content-Type real Graph puts on JSON answers (top level and `$batch` sub-responses). */
const GRAPH_JSON_CONTENT_TYPE =
  'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8';

const MAX_BATCH_REQUESTS = 20;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 999;

const SP_READ_ROLES = [
  'Application.Read.All',
  'Application.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];
const SYNC_READ_ROLES = ['Synchronization.Read.All', 'Synchronization.ReadWrite.All'];

interface GraphResult {
  status: number;
  headers?: Record<string, string>;
  /** JSON body; undefined for 204. */
  body?: unknown;
  /** A text/plain body instead (`/$count`). */
  text?: string;
  /** What a restart or provisionOnDemand did, for the job-action log (emulators/state.ts JobActionRecord). */
  jobAction?: Partial<JobActionRecord>;
}

interface CallContext {
  origin: string;
  version: string;
  tenant: TenantState;
  roles: Set<string>;
  requestId: string;
  clientRequestId: string;
  date: string;
  /** The `ConsistencyLevel` request header (advanced directory queries need `eventual`). */
  consistencyLevel?: string;
  /** The emulator's clock (ms): running jobs' last runs move on with it. */
  now: number;
  /** The world, for what lives beside the tenants (provisioning logs). */
  state?: CloudState;
  /** The calling app (`appid` of the token): rate limits are per app. */
  appId?: string;
}

export async function startGraph(options: GraphOptions): Promise<GraphEmulator> {
  const { signer, state } = options;
  let origin = '';

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/_emulator' || url.pathname.startsWith('/_emulator/')) {
      await control(req, res, url, state);
      return;
    }
    // Every answer takes a round trip (scenario graphLimits.latencyMs; emulators/throttle.ts).
    await roundTrip(state.throttle.latencyMs);
    const method = (req.method ?? 'GET').toUpperCase();
    const requestId = newRequestId();
    const clientRequestId = header(req, 'client-request-id') ?? requestId;
    const date = graphDate();
    const retryAttempt = Number(header(req, 'retry-attempt') ?? NaN);
    const pathAndQuery = safeDecode(url.pathname + url.search);
    const caller: { tenantId?: string } = {};
    let faulted = false;

    // A write's body is read before anything else may answer, so even a faulted restart is recorded with its scope.
    const isBatch = url.pathname.replace(/\/+$/, '').endsWith('/$batch');
    const body = method === 'POST' && !isBatch ? parseBody(await readBody(req)) : undefined;
    const log = (status: number, result?: GraphResult): void => {
      state.recordRequest({
        at: new Date().toISOString(),
        tenantId: caller.tenantId,
        method,
        path: url.pathname,
        url: pathAndQuery,
        status,
        ...(faulted ? { faulted } : {}),
        ...(Number.isFinite(retryAttempt) ? { retryAttempt } : {}),
      });
      if (caller.tenantId)
        noteJobAction(state, {
          tenantId: caller.tenantId,
          method,
          path: url.pathname.replace(/^\/[^/]+/, ''),
          body,
          status,
          faulted,
          detail: result?.jobAction,
        });
    };
    const reply = (result: GraphResult): void => {
      log(result.status, result);
      const headers = { ...standardHeaders(requestId, clientRequestId), ...result.headers };
      if (result.text !== undefined) {
        res.writeHead(result.status, {
          ...headers,
          'Content-Type': 'text/plain',
          'Content-Length': Buffer.byteLength(result.text),
        });
        res.end(result.text);
      } else if (result.body === undefined) {
        res.writeHead(result.status, { ...headers, 'Content-Length': 0 });
        res.end();
      } else {
        sendJson(res, result.status, result.body, headers, GRAPH_JSON_CONTENT_TYPE);
      }
    };
    const error = (status: number, code: string, message: string, extraHeaders?: Record<string, string>): void =>
      reply({ status, headers: extraHeaders, body: errorBody(code, message, { date, requestId, clientRequestId }) });

    const segments = url.pathname.split('/').filter(Boolean);
    const version = segments[0] ?? '';
    if (version !== 'v1.0' && version !== 'beta') {
      error(400, 'BadRequest', `Invalid version: ${version}`);
      return;
    }

    // Authentication: same checks (and messages) as Graph's token validation.
    const token = bearerToken(header(req, 'authorization'));
    if (!token) {
      error(401, 'InvalidAuthenticationToken', 'Access token is empty.');
      return;
    }
    const verified = signer.verify(token);
    if ('error' in verified) {
      const message =
        verified.error.startsWith('IDX') || verified.error.startsWith('Lifetime')
          ? verified.error
          : 'Access token validation failure.';
      error(401, 'InvalidAuthenticationToken', message);
      return;
    }
    const claims = verified.claims;
    if (claims.aud !== origin) {
      error(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
      return;
    }
    const tenant = state.tenant(claims.tid);
    if (!tenant) {
      error(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid issuer.');
      return;
    }
    caller.tenantId = tenant.id;

    const fault = state.faults.take({ tenantId: tenant.id, path: pathAndQuery, inBatch: false });
    if (fault) {
      faulted = true;
      await pause(fault.delayMs);
      if (fault.hang) {
        log(-1);
        return never();
      }
      if (fault.malformedJson) {
        log(fault.status);
        res.writeHead(fault.status, {
          ...standardHeaders(requestId, clientRequestId),
          'Content-Type': GRAPH_JSON_CONTENT_TYPE,
        });
        res.end(MALFORMED_JSON);
        return;
      }
      if (fault.htmlPage) {
        log(fault.status);
        res.writeHead(fault.status, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(HTML_PAGE);
        return;
      }
      if (fault.status >= 400) {
        reply(faultResult(fault, { date, requestId, clientRequestId }));
        return;
      }
      // Only late: answer normally.
    }

    const ctx: CallContext = {
      origin,
      version,
      tenant,
      roles: effectiveRoles(claims, tenant),
      requestId,
      clientRequestId,
      date,
      consistencyLevel: header(req, 'consistencylevel'),
      now: state.now(),
      state,
      appId: claims.appid,
    };
    const rest = segments.slice(1);
    if (rest.length === 1 && rest[0] === '$batch') {
      if (method !== 'POST') {
        error(405, 'BadRequest', 'Specified HTTP method is not allowed for the request target.');
        return;
      }
      const answer = await batch(req, ctx, state);
      if (answer === 'hang') {
        log(-1);
        return never();
      }
      reply(answer);
      return;
    }
    const throttled = admit(rest, ctx, state);
    if (throttled) {
      reply(throttledResult(throttled, ctx));
      return;
    }
    reply(dispatch(method, url.pathname.slice(version.length + 1) + url.search, ctx, body));
  };

  const server: RunningServer = await startHttpsServer(options.tls, handler);
  origin = server.origin;
  return { origin, stop: () => server.close() };
}

/**
 * Roles the request may use: the token's roles, minus any the tenant has since withdrawn (the
 * emulator applies revocation at once; real Entra only when the token is renewed, up to ~1 h).
 */
function effectiveRoles(claims: AccessTokenClaims, tenant: TenantState): Set<string> {
  if (!tenant.consented) return new Set();
  const granted = new Set(tenant.grants);
  return new Set((claims.roles ?? []).filter((r) => granted.has(r)));
}

/**
 * Answers one request (top-level or inside `$batch`). `pathAndQuery` is relative to the version: `/servicePrincipals?...`;
 * `body` is the parsed JSON body of a write (INVALID_JSON when it did not parse).
 */
function dispatch(method: string, pathAndQuery: string, ctx: CallContext, body?: unknown): GraphResult {
  const url = new URL(pathAndQuery, 'https://graph.invalid/');
  const segments = url.pathname.split('/').filter(Boolean).map(safeDecode);
  const fail = (status: number, code: string, message: string): GraphResult => ({
    status,
    body: errorBody(code, message, ctx),
  });
  const methodNotAllowed = (): GraphResult =>
    fail(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');

  if (segments[0] === 'auditLogs' && ctx.state) return auditLogs(method, segments, url.searchParams, ctx, ctx.state);
  if (segments[0] !== 'servicePrincipals')
    return fail(400, 'BadRequest', `Resource not found for the segment '${segments[0] ?? ''}'.`);

  if (segments.length === 1 || (segments.length === 2 && segments[1] === '$count')) {
    if (method !== 'GET') return methodNotAllowed();
    if (!SP_READ_ROLES.some((r) => ctx.roles.has(r)))
      return fail(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    if (segments.length === 2) return countServicePrincipals(url.searchParams, ctx);
    return listServicePrincipals(url.searchParams, ctx);
  }

  const spId = segments[1]!;
  if (segments[2] === 'synchronization' && segments[3] === 'secrets' && segments.length === 4) {
    if (method !== 'GET') return methodNotAllowed();
    return secrets(spId, ctx);
  }
  const jobAction = segments[5] as JobRoute | undefined;
  const isJobs =
    segments[2] === 'synchronization' &&
    segments[3] === 'jobs' &&
    (segments.length <= 5 || (segments.length === 6 && JOB_ROUTES.includes(jobAction!)));
  if (segments.length > 2 && !isJobs) {
    const unknown =
      segments[2] === 'synchronization' ? (segments[5] ?? segments[3] ?? 'synchronization') : segments[2]!;
    return fail(400, 'BadRequest', `Resource not found for the segment '${unknown}'.`);
  }
  if (jobAction === 'restart' || jobAction === 'provisionOnDemand') {
    if (method !== 'POST') return methodNotAllowed();
    return jobWrite(jobAction, spId, segments[4]!, body, ctx);
  }
  if (method !== 'GET') return methodNotAllowed();

  if (!isJobs) {
    if (!SP_READ_ROLES.some((r) => ctx.roles.has(r)))
      return fail(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    if (!GUID.test(spId)) return fail(400, 'Request_BadRequest', `Invalid object identifier '${spId}'.`);
    const sp = findSp(ctx.tenant, spId);
    if (!sp) return notFoundSp(spId, ctx);
    return {
      status: 200,
      body: {
        '@odata.context': `${ctx.origin}/${ctx.version}/$metadata#servicePrincipals/$entity`,
        ...servicePrincipalJson(sp),
      },
    };
  }

  // Synchronization jobs: real Graph answers a caller without Synchronization.Read.All with
  // 401 UnknownError and an empty message (docs/reference/graph-provisioning-api.md §1.11 [C3][C2]).
  if (!SYNC_READ_ROLES.some((r) => ctx.roles.has(r))) return fail(401, 'UnknownError', '');
  if (!GUID.test(spId)) return fail(400, 'Request_BadRequest', `Invalid object identifier '${spId}'.`);
  const sp = findSp(ctx.tenant, spId);
  if (!sp) return notFoundSp(spId, ctx);
  const jobsContext = `${ctx.origin}/${ctx.version}/$metadata#servicePrincipals('${sp.id}')/synchronization/jobs`;
  const jobId = segments[4];
  if (jobId === undefined) {
    return {
      status: 200,
      body: { '@odata.context': jobsContext, value: sp.jobs.map((j) => buildJob(j.spec, j.changedAt, ctx.now)) },
    };
  }
  const entry = sp.jobs.find((j) => j.spec.id === jobId);
  if (!entry) return jobNotFound(jobId, sp, ctx);
  if (jobAction === 'schema')
    return {
      status: 200,
      body: synchronizationSchema(
        entry.spec,
        sp.displayName,
        `${ctx.origin}/${ctx.version}/$metadata#servicePrincipals('${sp.id}')/synchronization/jobs('${jobId}')/schema/$entity`,
      ),
    };
  return {
    status: 200,
    body: { '@odata.context': `${jobsContext}/$entity`, ...buildJob(entry.spec, entry.changedAt, ctx.now) },
  };
}

function jobNotFound(jobId: string, sp: ServicePrincipalState, ctx: CallContext): GraphResult {
  return {
    status: 404,
    body: errorBody(
      'ResourceNotFound',
      `The synchronization job '${jobId}' was not found on service principal '${sp.id}'.`,
      ctx,
    ),
  };
}

const JOB_ROUTES = ['restart', 'provisionOnDemand', 'schema'] as const;
type JobRoute = (typeof JOB_ROUTES)[number];
const SYNC_WRITE_ROLES = ['Synchronization.ReadWrite.All'];

/** A body that is not JSON (Graph answers 400 before it looks at it). */
const INVALID_JSON = Symbol('invalid JSON');

function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID_JSON;
  }
}

/**
 * `POST …/jobs/{jobId}/restart` and `…/provisionOnDemand` (emulators/job-actions.ts). Both need the
 * application permission Synchronization.ReadWrite.All (reference §1.11; Application.ReadWrite.OwnedBy,
 * listed too, failed in practice [C2], so it is not honoured). Without it: the tenant's `syncWriteDenied`,
 * by default 401 UnknownError with an empty message, as a real restart was refused (C2).
 */
function jobWrite(
  action: 'restart' | 'provisionOnDemand',
  spId: string,
  jobId: string,
  body: unknown,
  ctx: CallContext,
): GraphResult {
  const fail = (status: number, code: string, message: string): GraphResult => ({
    status,
    body: errorBody(code, message, ctx),
  });
  if (!SYNC_WRITE_ROLES.some((r) => ctx.roles.has(r)))
    return ctx.tenant.syncWriteDenied === '403'
      ? fail(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.')
      : fail(401, 'UnknownError', '');
  if (!GUID.test(spId)) return fail(400, 'Request_BadRequest', `Invalid object identifier '${spId}'.`);
  const sp = findSp(ctx.tenant, spId);
  if (!sp) return notFoundSp(spId, ctx);
  const entry = sp.jobs.find((j) => j.spec.id === jobId);
  if (!entry) return jobNotFound(jobId, sp, ctx);
  if (body === INVALID_JSON)
    return fail(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  if (action === 'restart') {
    const parsed = parseRestartBody(body);
    if ('error' in parsed) return fail(400, 'BadRequest', parsed.error);
    ctx.state?.requestRestart(ctx.tenant.id, entry.spec.id, parsed.scopes);
    return { status: 204, jobAction: { resetScope: parsed.resetScope, scopes: parsed.scopes } };
  }
  const wait = ctx.state?.onDemandLimiter.admit(ctx.tenant.id);
  if (wait !== undefined) return faultResult({ status: 429, retryAfterSeconds: wait, times: 1 }, ctx);
  const parsed = parseOnDemandBody(body, ruleIdOf(entry.spec.id));
  if ('error' in parsed) return fail(400, 'BadRequest', parsed.error);
  const config = ctx.tenant.provisionOnDemand;
  const id = parsed.subject.objectId.toLowerCase();
  const answer = provisionOnDemandAnswer(parsed.subject, {
    job: entry.spec,
    targetName: sp.displayName,
    object: config.objects?.find((o) => o.objectId.toLowerCase() === id),
    fallback: onDemandNames(ctx.tenant, parsed.subject.objectId),
    shape: config.responseShape ?? 'graphReference',
    now: ctx.now,
    context: `${ctx.origin}/${ctx.version}/$metadata#microsoft.graph.stringKeyStringValuePair`,
  });
  return {
    status: 200,
    body: answer,
    jobAction: { ruleId: parsed.ruleId, subject: parsed.subject, result: onDemandResult(answer) },
  };
}

/**
 * Names for an object the scenario does not describe: the tenant's person with that object id, else
 * (INVENTED) names derived from its id and the tenant's name.
 */
function onDemandNames(tenant: TenantState, objectId: string): { displayName: string; userPrincipalName: string } {
  const person = tenant.people.find((p) => p.id === objectId.toLowerCase());
  if (person) return { displayName: person.name, userPrincipalName: person.upn };
  const short = objectId
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 8)
    .toLowerCase();
  const domain = tenant.displayName.toLowerCase().replace(/[^a-z0-9]+/g, '');
  return { displayName: `User ${short}`, userPrincipalName: `${short}@${domain}.example` };
}

/** `Success`, `Failure` or `Skipped`, from either answer shape. */
function onDemandResult(answer: JsonObject): string | undefined {
  try {
    const key = JSON.parse(String(answer.key)) as { result?: string };
    return key.result;
  } catch {
    const value = JSON.parse(String(answer.value)) as Array<{ statusInfo?: { status?: string } }>;
    return value[0]?.statusInfo?.status ?? 'Success';
  }
}

/**
 * Records a restart or provisionOnDemand call in the job-action log (control.jobActions()), whatever
 * answered it: the action itself, an injected fault, a refusal. `path` is relative to the version.
 */
function noteJobAction(
  state: CloudState,
  call: {
    tenantId: string;
    method: string;
    path: string;
    body: unknown;
    status: number;
    faulted: boolean;
    batchId?: string;
    detail?: Partial<JobActionRecord>;
  },
): void {
  const match = /^\/?servicePrincipals\/([^/]+)\/synchronization\/jobs\/([^/]+)\/(restart|provisionOnDemand)\/?$/.exec(
    call.path,
  );
  if (!match || call.method !== 'POST') return;
  const action = match[3] as JobActionRecord['action'];
  const sent =
    action === 'restart' && call.body !== INVALID_JSON
      ? (call.body as { criteria?: { resetScope?: unknown } } | undefined)?.criteria?.resetScope
      : undefined;
  state.recordJobAction({
    at: new Date().toISOString(),
    action,
    tenantId: call.tenantId,
    servicePrincipalId: safeDecode(match[1]!).toLowerCase(),
    jobId: safeDecode(match[2]!),
    status: call.status,
    ...(action === 'restart' ? { resetScope: typeof sent === 'string' ? sent : '' } : {}),
    ...call.detail,
    ...(call.faulted ? { faulted: true } : {}),
    ...(call.batchId ? { batchId: call.batchId } : {}),
  });
}

/**
 * `GET …/synchronization/secrets`: the secrets with credential values masked (reference §1.14).
 * Undocumented on v1.0; community tools read it with Synchronization.Read.All, so the emulator
 * allows the same roles as job reads (INVENTED) and answers a caller without them as jobs do.
 * The tenant's (or the service principal's) `secretsPolicy` can refuse it, as an undocumented
 * method may be refused (research memo 16-17 §2): 403, 404 or 400 (see secretsRefusal).
 */
function secrets(spId: string, ctx: CallContext): GraphResult {
  if (!SYNC_READ_ROLES.some((r) => ctx.roles.has(r))) return { status: 401, body: errorBody('UnknownError', '', ctx) };
  if (!GUID.test(spId))
    return { status: 400, body: errorBody('Request_BadRequest', `Invalid object identifier '${spId}'.`, ctx) };
  const sp = findSp(ctx.tenant, spId);
  if (!sp) return notFoundSp(spId, ctx);
  const refusal = secretsRefusal(sp.secretsPolicy ?? ctx.tenant.secretsPolicy);
  if (refusal) return { status: refusal.status, body: errorBody(refusal.code, refusal.message, ctx) };
  return {
    status: 200,
    body: {
      '@odata.context': `${ctx.origin}/${ctx.version}/$metadata#servicePrincipals('${sp.id}')/synchronization/secrets`,
      value: sp.secrets.map((s) => ({ ...s })),
    },
  };
}

/**
 * What a refusing secrets policy answers. 403: the documented Entra answer to an under-privileged
 * synchronization call (cross-tenant-synchronization-configure-graph, "Insufficient privileges error").
 * 400: what Graph's v1.0 router answers for a segment not in its metadata (as for any unknown
 * segment here). 404: INVENTED wording; no real 404 body of this endpoint is published.
 */
function secretsRefusal(policy: SecretsPolicy): { status: number; code: string; message: string } | undefined {
  switch (policy) {
    case '403':
      return {
        status: 403,
        code: 'Authorization_RequestDenied',
        message: 'Insufficient privileges to complete the operation.',
      };
    case '404':
      return { status: 404, code: 'ResourceNotFound', message: "Resource not found for the segment 'secrets'." };
    case '400':
      return { status: 400, code: 'BadRequest', message: "Resource not found for the segment 'secrets'." };
    default:
      return undefined;
  }
}

/** `/auditLogs/provisioning` (emulators/provisioning-logs.ts), in Graph's envelopes. */
function auditLogs(
  method: string,
  segments: string[],
  query: URLSearchParams,
  ctx: CallContext,
  state: CloudState,
): GraphResult {
  const context = {
    origin: ctx.origin,
    version: ctx.version,
    tenantId: ctx.tenant.id,
    premium: ctx.tenant.licence !== 'free',
    roles: ctx.roles,
    modes: ctx.tenant.provisioningLogs,
  };
  const r = provisioningLogsResult(method, segments, query, context, state.provisioningLog, state.reportsLimiter);
  if (r.status === 429)
    return faultResult({ status: 429, retryAfterSeconds: Number(r.headers?.['Retry-After'] ?? 10), times: 1 }, ctx);
  if (r.error) return { status: r.status, headers: r.headers, body: errorBody(r.error.code, r.error.message, ctx) };
  return { status: r.status, headers: r.headers, body: r.body };
}

function notFoundSp(spId: string, ctx: CallContext): GraphResult {
  return {
    status: 404,
    body: errorBody(
      'Request_ResourceNotFound',
      `Resource '${spId}' does not exist or one of its queried reference-property objects are not present.`,
      ctx,
    ),
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function findSp(tenant: TenantState, id: string): ServicePrincipalState | undefined {
  const lower = id.toLowerCase();
  return tenant.servicePrincipals.find((sp) => sp.id === lower);
}

// --- /servicePrincipals ----------------------------------------------------------------------

const SP_FILTER_PROPERTIES: Record<string, keyof ServicePrincipalState | 'servicePrincipalType'> = {
  applicationtemplateid: 'applicationTemplateId',
  appid: 'appId',
  id: 'id',
  displayname: 'displayName',
  serviceprincipaltype: 'servicePrincipalType',
};

function listServicePrincipals(query: URLSearchParams, ctx: CallContext): GraphResult {
  const fail = (status: number, code: string, message: string): GraphResult => ({
    status,
    body: errorBody(code, message, ctx),
  });

  let top = DEFAULT_PAGE_SIZE;
  const topParam = query.get('$top');
  if (topParam !== null) {
    const n = Number(topParam);
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
      return fail(
        400,
        'Request_UnsupportedQuery',
        `Invalid page size specified: '${topParam}'. Must be between 1 and 999 inclusive.`,
      );
    }
    top = n;
  }

  const count = query.get('$count');
  const advanced = isEventual(ctx) && count?.toLowerCase() === 'true';
  if (count !== null && !isEventual(ctx)) return fail(400, 'Request_BadRequest', '$count is not currently supported.');
  let items = ctx.tenant.servicePrincipals.map(servicePrincipalJson);
  const filter = query.get('$filter');
  if (filter !== null) {
    const predicate = parseSpFilter(filter, advanced);
    if ('error' in predicate) return fail(400, 'Request_UnsupportedQuery', predicate.error);
    items = items.filter(predicate.test);
  }

  let selected: string[] | undefined;
  const select = query.get('$select');
  if (select !== null) {
    selected = select
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const known = new Set(Object.keys(items[0] ?? servicePrincipalJson(DUMMY_SP)));
    const bad = selected.find((s) => !known.has(s));
    if (bad)
      return fail(
        400,
        'BadRequest',
        `Could not find a property named '${bad}' on type 'microsoft.graph.servicePrincipal'.`,
      );
  }

  let offset = 0;
  const skipToken = query.get('$skiptoken');
  if (skipToken !== null) {
    const decoded = decodeSkipToken(skipToken);
    if (decoded === undefined)
      return fail(
        400,
        'Directory_ExpiredPageToken',
        'The specified page token value has expired and can no longer be included in your request.',
      );
    offset = decoded;
  }

  const page = items.slice(offset, offset + top).map((sp) => (selected ? pick(sp, selected) : sp));
  const body: JsonObject = {
    '@odata.context': `${ctx.origin}/${ctx.version}/$metadata#servicePrincipals${selected ? `(${selected.join(',')})` : ''}`,
  };
  if (count?.toLowerCase() === 'true') body['@odata.count'] = items.length;
  if (offset + top < items.length) {
    const params: string[] = [];
    for (const [key, value] of query) if (key !== '$skiptoken') params.push(`${key}=${encodeQueryValue(value)}`);
    params.push(`$skiptoken=${encodeSkipToken(offset + top)}`);
    body['@odata.nextLink'] = `${ctx.origin}/${ctx.version}/servicePrincipals?${params.join('&')}`;
  }
  body.value = page;
  return { status: 200, body };
}

/** Whether the request asked for eventual consistency, which advanced directory queries need. */
function isEventual(ctx: CallContext): boolean {
  return ctx.consistencyLevel?.trim().toLowerCase() === 'eventual';
}

/** `GET /servicePrincipals/$count`: text/plain, and only with `ConsistencyLevel: eventual` (an advanced query). */
function countServicePrincipals(query: URLSearchParams, ctx: CallContext): GraphResult {
  if (!isEventual(ctx))
    return { status: 400, body: errorBody('Request_BadRequest', '$count is not currently supported.', ctx) };
  let items = ctx.tenant.servicePrincipals.map(servicePrincipalJson);
  const filter = query.get('$filter');
  if (filter !== null) {
    const predicate = parseSpFilter(filter, true);
    if ('error' in predicate) return { status: 400, body: errorBody('Request_UnsupportedQuery', predicate.error, ctx) };
    items = items.filter(predicate.test);
  }
  return { status: 200, text: String(items.length) };
}

type SpPredicate = { test: (sp: JsonObject) => boolean } | { error: string };

/**
 * `prop eq 'v'` and `startswith(prop,'v')` clauses joined by `and`. `prop ne 'v'`, `prop eq null`
 * and `prop ne null` are advanced queries: Graph answers them only with `ConsistencyLevel:
 * eventual` and `$count=true` (reference §1.12), and refuses them as unsupported otherwise.
 */
function parseSpFilter(filter: string, advanced: boolean): SpPredicate {
  const clauses = filter.trim().split(/\s+and\s+/i);
  const tests: Array<(sp: JsonObject) => boolean> = [];
  for (const clause of clauses) {
    const nullTest = /^(\w+)\s+(eq|ne)\s+null$/i.exec(clause.trim());
    if (nullTest) {
      const [, prop, op] = nullTest as unknown as [string, string, string];
      const key = SP_FILTER_PROPERTIES[prop.toLowerCase()];
      if (!key || !advanced) return { error: unsupportedProperty(key ?? prop) };
      const wantNull = op.toLowerCase() === 'eq';
      tests.push((sp) => (sp[key] === null || sp[key] === undefined) === wantNull);
      continue;
    }
    const notEqual = /^(\w+)\s+ne\s+'((?:[^']|'')*)'$/i.exec(clause.trim());
    if (notEqual) {
      const [, prop, raw] = notEqual as unknown as [string, string, string];
      const key = SP_FILTER_PROPERTIES[prop.toLowerCase()];
      if (!key || !advanced) return { error: unsupportedProperty(key ?? prop) };
      const value = raw.replace(/''/g, "'").toLowerCase();
      tests.push((sp) => String(sp[key] ?? '').toLowerCase() !== value);
      continue;
    }
    let m = /^(\w+)\s+(\w+)\s+'((?:[^']|'')*)'$/.exec(clause.trim());
    if (m) {
      const [, prop, op, raw] = m as unknown as [string, string, string, string];
      const key = SP_FILTER_PROPERTIES[prop.toLowerCase()];
      if (!key || op.toLowerCase() !== 'eq') return { error: unsupportedProperty(key ?? prop) };
      const value = raw.replace(/''/g, "'").toLowerCase();
      tests.push((sp) => String(sp[key] ?? '').toLowerCase() === value);
      continue;
    }
    m = /^startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)$/i.exec(clause.trim());
    if (m) {
      const [, prop, raw] = m as unknown as [string, string, string];
      if (prop.toLowerCase() !== 'displayname') return { error: unsupportedProperty(prop) };
      const value = raw.replace(/''/g, "'").toLowerCase();
      tests.push((sp) =>
        String(sp.displayName ?? '')
          .toLowerCase()
          .startsWith(value),
      );
      continue;
    }
    const prop = /^\s*(?:not\s*\(\s*)?(?:\w+\()?\s*(\w+)/i.exec(clause)?.[1];
    return { error: prop ? unsupportedProperty(prop) : 'Unsupported Query.' };
  }
  return { test: (sp) => tests.every((t) => t(sp)) };
}

function unsupportedProperty(prop: string): string {
  return `Unsupported or invalid query filter clause specified for property '${prop}' of resource 'ServicePrincipal'.`;
}

const DUMMY_SP: ServicePrincipalState = {
  id: '',
  appId: '',
  displayName: '',
  applicationTemplateId: null,
  jobs: [],
  secrets: [],
};

/** A servicePrincipal as v1.0 returns it (the properties a monitor could look at; collections empty). */
function servicePrincipalJson(sp: ServicePrincipalState): JsonObject {
  const crossTenant = sp.applicationTemplateId === '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7';
  return {
    id: sp.id,
    deletedDateTime: null,
    accountEnabled: true,
    alternativeNames: [],
    appDisplayName: sp.displayName,
    appDescription: null,
    appId: sp.appId,
    applicationTemplateId: sp.applicationTemplateId,
    appOwnerOrganizationId: null,
    appRoleAssignmentRequired: false,
    createdDateTime: '2025-01-15T09:30:12Z',
    description: null,
    disabledByMicrosoftStatus: null,
    displayName: sp.displayName,
    homepage: crossTenant
      ? 'https://account.activedirectory.windowsazure.com:444/applications/default.aspx?metadata=aad2aadsync|ISV9.1|primary|z'
      : null,
    loginUrl: null,
    logoutUrl: null,
    notes: null,
    notificationEmailAddresses: [],
    preferredSingleSignOnMode: null,
    preferredTokenSigningKeyThumbprint: null,
    replyUrls: [],
    servicePrincipalNames: [sp.appId],
    servicePrincipalType: 'Application',
    signInAudience: 'AzureADMyOrg',
    tags: ['WindowsAzureActiveDirectoryIntegratedApp'],
    tokenEncryptionKeyId: null,
    samlSingleSignOnSettings: null,
    addIns: [],
    appRoles: [],
    info: { logoUrl: null, marketingUrl: null, privacyStatementUrl: null, supportUrl: null, termsOfServiceUrl: null },
    keyCredentials: [],
    oauth2PermissionScopes: [],
    passwordCredentials: [],
    resourceSpecificApplicationPermissions: [],
    verifiedPublisher: { displayName: null, verifiedPublisherId: null, addedDateTime: null },
  };
}

function pick(obj: JsonObject, keys: string[]): JsonObject {
  return Object.fromEntries(keys.map((k) => [k, obj[k]]));
}

function encodeSkipToken(offset: number): string {
  // Opaque, like Graph's (which starts with "RFNwdAIA..."); clients must use the whole nextLink.
  return Buffer.from(`DSpt\u0002\u0000${JSON.stringify({ o: offset })}`).toString('base64url');
}

function decodeSkipToken(token: string): number | undefined {
  try {
    const text = Buffer.from(token, 'base64url').toString('utf8');
    if (!text.startsWith('DSpt')) return undefined;
    const o = (JSON.parse(text.slice(6)) as { o?: unknown }).o;
    return typeof o === 'number' && Number.isInteger(o) && o >= 0 ? o : undefined;
  } catch {
    return undefined;
  }
}

function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%24/g, '$').replace(/%2C/gi, ',');
}

// --- $batch ----------------------------------------------------------------------------------

interface BatchItem {
  id: string;
  method: string;
  url: string;
  dependsOn?: string[];
  /** The inner request's headers (e.g. `ConsistencyLevel`), keys lower-cased. */
  headers: Record<string, string>;
  /** The inner request's body (JSON, as `$batch` carries it). */
  body?: unknown;
}

async function batch(req: IncomingMessage, ctx: CallContext, state: CloudState): Promise<GraphResult | 'hang'> {
  const bad = (message: string): GraphResult => ({ status: 400, body: errorBody('BadRequest', message, ctx) });
  let payload: unknown;
  try {
    payload = JSON.parse(await readBody(req));
  } catch {
    return bad('Invalid batch payload format.');
  }
  const requests = (payload as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests)) return bad('Invalid batch payload format.');
  if (requests.length === 0) return bad('Invalid batch payload format. The batch must contain at least one request.');
  if (requests.length > MAX_BATCH_REQUESTS)
    return bad(`Maximum number of requests in a batch is ${MAX_BATCH_REQUESTS}.`);
  const items: BatchItem[] = [];
  const ids = new Set<string>();
  for (const r of requests as Array<Record<string, unknown>>) {
    if (typeof r !== 'object' || r === null) return bad('Invalid batch payload format.');
    const id = typeof r.id === 'number' ? String(r.id) : r.id;
    if (typeof id !== 'string' || id === '')
      return bad("Invalid batch payload format. A request is missing the 'id' property.");
    if (ids.has(id)) return bad(`Batch request contains duplicate request ids. Request id '${id}' is not unique.`);
    ids.add(id);
    if (typeof r.method !== 'string' || typeof r.url !== 'string')
      return bad(`Invalid batch payload format. Request '${id}' needs 'method' and 'url'.`);
    const dependsOn = Array.isArray(r.dependsOn) ? r.dependsOn.map(String) : undefined;
    const headers =
      typeof r.headers === 'object' && r.headers !== null
        ? Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), String(v)]))
        : {};
    items.push({ id, method: r.method.toUpperCase(), url: r.url, dependsOn, headers, body: r.body });
  }

  const responses: Array<{ id: string; status: number; headers: Record<string, string>; body?: unknown }> = [];
  const statusById = new Map<string, number>();
  for (const item of items) {
    const innerRequestId = newRequestId();
    const innerCtx: CallContext = {
      ...ctx,
      requestId: innerRequestId,
      date: graphDate(),
      consistencyLevel: item.headers.consistencylevel,
    };
    const relative = item.url.startsWith('/') ? item.url : `/${item.url}`;
    const logPath = safeDecode(`/${ctx.version}${relative}`);
    let result: GraphResult;
    let faulted = false;
    const failedDependency = item.dependsOn?.find((d) => (statusById.get(d) ?? 424) >= 400);
    if (failedDependency !== undefined) {
      result = {
        status: 424,
        body: errorBody(
          'FailedDependency',
          `The request '${item.id}' depends on request '${failedDependency}', which failed.`,
          innerCtx,
        ),
      };
    } else if (/^https?:\/\//i.test(item.url)) {
      result = {
        status: 400,
        body: errorBody('BadRequest', 'Invalid request URI: batch request URLs must be relative.', innerCtx),
      };
    } else {
      const fault = state.faults.take({ tenantId: ctx.tenant.id, path: logPath, inBatch: true });
      await pause(fault?.delayMs);
      if (fault?.hang) return 'hang';
      if (fault?.malformedJson) {
        faulted = true;
        result = { status: fault.status, body: MALFORMED_JSON };
      } else if (fault && fault.status >= 400) {
        faulted = true;
        result = faultResult(fault, {
          date: innerCtx.date,
          requestId: innerRequestId,
          clientRequestId: ctx.clientRequestId,
        });
      } else {
        // Each request of a batch is metered and throttled on its own (reference §5).
        const throttled = admit(relative.split('?')[0]!.split('/').filter(Boolean), innerCtx, state);
        result = throttled
          ? throttledResult(throttled, innerCtx)
          : dispatch(item.method, relative, innerCtx, typeof item.body === 'string' ? parseBody(item.body) : item.body);
      }
    }
    statusById.set(item.id, result.status);
    state.recordRequest({
      at: new Date().toISOString(),
      tenantId: ctx.tenant.id,
      method: item.method,
      path: logPath.split('?')[0]!,
      url: logPath,
      status: result.status,
      batchId: ctx.requestId,
      batchRequestId: item.id,
      ...(faulted ? { faulted } : {}),
    });
    noteJobAction(state, {
      tenantId: ctx.tenant.id,
      method: item.method,
      path: relative.split('?')[0]!,
      body: item.body,
      status: result.status,
      faulted,
      batchId: ctx.requestId,
      detail: result.jobAction,
    });
    const headers: Record<string, string> = { 'Cache-Control': 'no-cache', 'OData-Version': '4.0', ...result.headers };
    if (result.text !== undefined) headers['Content-Type'] = 'text/plain';
    else if (result.body !== undefined) headers['Content-Type'] = GRAPH_JSON_CONTENT_TYPE;
    const body = result.text ?? result.body;
    responses.push({ id: item.id, status: result.status, headers, ...(body !== undefined ? { body } : {}) });
  }
  // Real Graph may answer in any order; reversing is deterministic yet catches order-dependent clients.
  responses.reverse();
  return { status: 200, body: { responses } };
}

// --- shared ----------------------------------------------------------------------------------

/**
 * The identity-and-access resource-unit limits for one request (emulators/throttle.ts). Reports
 * (`/auditLogs/...`) have their own limits, applied where they are answered.
 */
function admit(segments: string[], ctx: CallContext, state: CloudState): Throttled | undefined {
  if (segments[0] === 'auditLogs') return undefined;
  return state.throttle.admit(ctx.appId ?? 'unknown', ctx.tenant.id, 1);
}

/** Graph's 429 for a rate limit, with the throttle headers identity and access sends (reference §5). */
function throttledResult(
  throttled: Throttled,
  ctx: Pick<CallContext, 'date' | 'requestId' | 'clientRequestId'>,
): GraphResult {
  const result = faultResult({ status: 429, retryAfterSeconds: throttled.retryAfterSeconds, times: 1 }, ctx);
  return {
    ...result,
    headers: {
      ...result.headers,
      'x-ms-throttle-scope': throttled.scope,
      'x-ms-throttle-information': 'ResourceUnitLimitExceeded',
    },
  };
}

function faultResult(fault: Fault, ids: { date: string; requestId: string; clientRequestId: string }): GraphResult {
  const r = faultReply(fault, ids.date);
  return {
    status: r.status,
    headers: r.headers,
    body: {
      error: {
        code: r.error.code,
        message: r.error.message,
        innerError: {
          ...r.innerError,
          date: ids.date,
          'request-id': ids.requestId,
          'client-request-id': ids.clientRequestId,
        },
      },
    },
  };
}

/** Graph's error envelope. */
function errorBody(
  code: string,
  message: string,
  ids: { date: string; requestId: string; clientRequestId: string },
): JsonObject {
  return {
    error: {
      code,
      message,
      innerError: { date: ids.date, 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId },
    },
  };
}

function standardHeaders(requestId: string, clientRequestId: string): Record<string, string> {
  return {
    'Cache-Control': 'no-cache',
    'request-id': requestId,
    'client-request-id': clientRequestId,
    'x-ms-ags-diagnostic': JSON.stringify({
      ServerInfo: {
        DataCenter: 'Local Private Cloud',
        Slice: 'E',
        Ring: '5',
        ScaleUnit: '000',
        RoleInstance: 'EMULATOR',
      },
    }),
    'OData-Version': '4.0',
  };
}

/** `innerError.date` as Graph writes it: `2026-11-27T03:14:07` (UTC, no fraction, no zone). */
function graphDate(): string {
  return new Date().toISOString().slice(0, 19);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

// --- /_emulator control ------------------------------------------------------------------------

async function control(req: IncomingMessage, res: ServerResponse, url: URL, state: CloudState): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const parts = url.pathname
    .split('/')
    .filter(Boolean)
    .slice(1)
    .map((p) => decodeURIComponent(p));
  const route = `${method} ${parts[0] ?? ''}`;
  const ok = (body: unknown = { ok: true }): void => sendJson(res, 200, body);
  try {
    const text = method === 'GET' || method === 'DELETE' ? '' : await readBody(req);
    const body = (text.trim() ? JSON.parse(text) : {}) as Record<string, unknown>;
    switch (route) {
      case 'GET ':
      case 'GET state':
        return ok({
          scenario: state.scenario.name,
          timeline: state.timeline(),
          pendingFaults: state.pendingFaults(),
          tenants: state.tenantIds().map((id) => {
            const t = state.tenant(id)!;
            return {
              id: t.id,
              displayName: t.displayName,
              consented: t.consented,
              grants: t.grants,
              licence: t.licence,
              secretsPolicy: t.secretsPolicy,
              provisioningLogs: t.provisioningLogs,
              syncWriteDenied: t.syncWriteDenied,
              jobs: t.servicePrincipals.flatMap((sp) =>
                sp.jobs.map((j) => ({
                  servicePrincipalId: sp.id,
                  id: j.spec.id,
                  state: j.spec.state,
                  ...(j.pendingRestart ? { pendingRestart: j.pendingRestart.scopes } : {}),
                })),
              ),
            };
          }),
        });
      case 'POST step':
        return ok({
          step: state.step(typeof body.name === 'string' ? body.name : undefined),
          timeline: state.timeline(),
        });
      case 'POST reset':
        state.reset();
        return ok();
      case 'POST faults':
        state.injectFault(body as unknown as Fault);
        return ok({ pendingFaults: state.pendingFaults() });
      case 'GET faults':
        return ok(state.pendingFaults());
      case 'DELETE faults':
        state.faults.clear();
        return ok();
      case 'GET requests':
        return ok(state.requestLog());
      case 'GET tokens':
        return ok(state.tokenRequests());
      case 'DELETE requests':
      case 'DELETE tokens':
        state.clearLogs();
        return ok();
      case 'PUT jobs':
      case 'GET jobs': {
        const [, tenantId, jobId] = parts;
        if (!tenantId || !jobId) throw new Error('expected /_emulator/jobs/{tenantId}/{jobId}');
        if (method === 'PUT') state.setJob(tenantId, jobId, body);
        const tenant = state.tenant(tenantId);
        const entry = tenant?.servicePrincipals.flatMap((sp) => sp.jobs).find((j) => j.spec.id === jobId);
        if (!entry) throw new Error(`no job ${jobId} in tenant ${tenantId}`);
        return ok({ spec: entry.spec, job: buildJob(entry.spec, entry.changedAt, state.now()) });
      }
      case 'PUT secrets': {
        const [, tenantId, spId] = parts;
        if (!tenantId || !spId) throw new Error('expected /_emulator/secrets/{tenantId}/{servicePrincipalId}');
        state.setSecrets(tenantId, spId, body as Record<string, string>);
        return ok();
      }
      case 'PUT grants': {
        const tenantId = parts[1];
        if (!tenantId) throw new Error('expected /_emulator/grants/{tenantId}');
        state.setGrants(tenantId, (Array.isArray(body) ? body : body.grants) as string[]);
        return ok();
      }
      case 'POST provisioning': {
        const tenantId = parts[1];
        if (!tenantId) throw new Error('expected /_emulator/provisioning/{tenantId}');
        const specs = (Array.isArray(body) ? body : body.events) as Parameters<CloudState['addProvisioningEvents']>[1];
        return ok({ added: state.addProvisioningEvents(tenantId, specs) });
      }
      case 'PUT limits':
        state.setGraphLimits(body as Parameters<CloudState['setGraphLimits']>[0]);
        return ok({ limits: state.throttle.limits });
      case 'GET limits':
        return ok({ limits: state.throttle.limits, throttled: state.throttledCounts() });
      case 'PUT premium': {
        const tenantId = parts[1];
        if (!tenantId) throw new Error('expected /_emulator/premium/{tenantId}');
        state.setPremium(tenantId, body.premium as boolean);
        return ok();
      }
      case 'GET held-deletes':
      case 'DELETE held-deletes': {
        const [, tenantId, jobId] = parts;
        if (!tenantId || !jobId) throw new Error('expected /_emulator/held-deletes/{tenantId}/{jobId}');
        if (method === 'DELETE') return ok({ withdrawn: state.withdrawHeldDeletes(tenantId, jobId) });
        return ok({ held: state.heldDeletes(tenantId, jobId) });
      }
      case 'GET job-actions':
        return ok(state.jobActions(parts[1] as JobActionRecord['action'] | undefined));
      case 'POST run':
        return ok({ runs: state.runJobs() });
      case 'PUT provision-on-demand': {
        const tenantId = parts[1];
        if (!tenantId) throw new Error('expected /_emulator/provision-on-demand/{tenantId}');
        state.setProvisionOnDemand(tenantId, body);
        return ok();
      }
      case 'PUT sync-write-denied': {
        const tenantId = parts[1];
        if (!tenantId) throw new Error('expected /_emulator/sync-write-denied/{tenantId}');
        state.setSyncWriteDenied(tenantId, body.denied as Parameters<CloudState['setSyncWriteDenied']>[1]);
        return ok();
      }
      case 'PUT people': {
        const tenantId = parts[1];
        if (!tenantId) throw new Error('expected /_emulator/people/{tenantId}');
        state.setPeople(tenantId, (Array.isArray(body) ? body : body.people) as Parameters<CloudState['setPeople']>[1]);
        return ok({ people: state.tenant(tenantId)?.people });
      }
      case 'GET people': {
        const tenantId = parts[1];
        const tenant = tenantId ? state.tenant(tenantId) : undefined;
        if (!tenant) throw new Error('expected /_emulator/people/{tenantId} of a known tenant');
        return ok(tenant.people);
      }
      case 'PUT redirect-uris':
        state.setRedirectUris((Array.isArray(body) ? body : body.redirectUris) as string[]);
        return ok({ redirectUris: state.redirectUris });
      case 'PUT licence': {
        const tenantId = parts[1];
        if (!tenantId) throw new Error('expected /_emulator/licence/{tenantId}');
        state.setLicence(tenantId, body.licence as Parameters<CloudState['setLicence']>[1]);
        return ok();
      }
      case 'PUT secrets-policy': {
        const [, tenantId, spId] = parts;
        if (!tenantId) throw new Error('expected /_emulator/secrets-policy/{tenantId}[/{servicePrincipalId}]');
        state.setSecretsPolicy(tenantId, body.policy as SecretsPolicy | null, spId);
        return ok();
      }
      case 'PUT provisioning-modes': {
        const tenantId = parts[1];
        if (!tenantId) throw new Error('expected /_emulator/provisioning-modes/{tenantId}');
        state.setProvisioningLogModes(tenantId, body);
        return ok();
      }
      case 'PUT consent': {
        const tenantId = parts[1];
        if (!tenantId) throw new Error('expected /_emulator/consent/{tenantId}');
        state.setConsented(tenantId, body.consented as boolean);
        return ok();
      }
      case 'PUT tokens-as': {
        const tenantId = parts[1];
        if (!tenantId || typeof body.asTenant !== 'string')
          throw new Error('expected /_emulator/tokens-as/{tenantId} with {"asTenant":"<tenant id>"}');
        state.issueTokensAs(tenantId, body.asTenant);
        return ok();
      }
      default:
        sendJson(res, 404, {
          error: { code: 'EmulatorControlNotFound', message: `no control route ${method} ${url.pathname}` },
        });
    }
  } catch (error) {
    sendJson(res, 400, { error: { code: 'EmulatorControlError', message: (error as Error).message } });
  }
}
