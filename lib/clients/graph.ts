import {
  AuthenticationHandler,
  Client,
  HTTPMessageHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import type { TokenCredential } from '@azure/core-auth';
import { Deadline, TimeoutError } from '../util/deadline';
import { boundedCredential, pathOf, UNBOUNDED, type CallLimits } from './timeouts';

export interface BatchRequest {
  id: string;
  method: 'GET';
  /** Relative to the version root: `/servicePrincipals/{id}/synchronization/jobs`. */
  url: string;
}

export interface BatchResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** The two Graph calls a cycle makes, for one tenant. */
export interface GraphReader {
  /** GET a path relative to the version root, or an absolute `@odata.nextLink`. */
  get(pathOrUrl: string): Promise<unknown>;
  /** POST /$batch with at most 20 requests; answers one response per request, in request order. */
  batch(requests: BatchRequest[]): Promise<BatchResponse[]>;
}

export const GRAPH_BATCH_LIMIT = 20;

/** How a Graph reader's calls are bounded: the tenant's deadline, one attempt's time, the longest Retry-After waited for. */
export interface GraphLimits extends CallLimits {
  maxRetryAfterMs: number;
}

/** Graph answered, but not with what it documents: a body that is not JSON (truncated, a proxy's HTML page) or JSON of another shape. */
export class MalformedGraphResponse extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'MalformedGraphResponse';
  }
}

/** An `@odata.nextLink` loop that did not end within its page cap. */
export class PageLimitExceeded extends Error {
  constructor(what: string, pages: number) {
    super(`Graph still returned an @odata.nextLink after ${pages} pages while listing ${what}; stopped there`);
    this.name = 'PageLimitExceeded';
  }
}

/** Pages read at most by one `@odata.nextLink` loop: 100 pages of 999 service principals is far past any tenant. */
const MAX_PAGES = 100;

/**
 * Every item of a paged Graph collection, following `@odata.nextLink` for at most `maxPages`
 * pages. A link seen twice, or a loop past the cap, is a named error rather than a loop that never
 * ends (docs/reference/platform-notes.md §2.5: the hand-written loop, made bounded).
 */
export async function readAllPages(
  reader: GraphReader,
  firstUrl: string,
  what: string,
  maxPages = MAX_PAGES,
): Promise<unknown[]> {
  const items: unknown[] = [];
  const seen = new Set<string>();
  let next: string | undefined = firstUrl;
  for (let page = 0; next; page++) {
    if (page >= maxPages) throw new PageLimitExceeded(what, maxPages);
    if (seen.has(next)) throw new PageLimitExceeded(`${what} (the same @odata.nextLink came back twice)`, page);
    seen.add(next);
    const body = (await reader.get(next)) as { value?: unknown; '@odata.nextLink'?: unknown } | undefined;
    if (!body || !Array.isArray(body.value))
      throw new MalformedGraphResponse(200, `the ${what} page from Graph has no value array`);
    items.push(...body.value);
    next = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
  }
  return items;
}

/** Milliseconds the Graph client's RetryHandler would wait before retrying this response. */
function retryWaitMs(response: Response | undefined, attempt: number, delaySeconds: number): number {
  const header = response?.headers?.get('Retry-After');
  if (header !== null && header !== undefined) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  // No Retry-After: delay, plus exponential back-off from the second attempt, plus up to 1 s of jitter.
  const backoff = attempt >= 2 ? Math.round(0.5 * (2 ** attempt - 1)) : 0;
  return (delaySeconds + backoff + 1) * 1000;
}

/**
 * Retry options for the Graph client's RetryHandler (429/503/504, up to 180 s a wait by itself):
 * a retry happens only when its wait is at most `maxRetryAfterMs` and the wait plus one more
 * attempt still ends before the deadline. Otherwise the answer stands and the tenant is reported.
 */
export function boundedRetryOptions(limits: GraphLimits): RetryHandlerOptions {
  return new RetryHandlerOptions(1, 3, (delay, attempt, _request, _options, response) => {
    const wait = retryWaitMs(response as Response | undefined, attempt + 1, delay);
    return wait <= limits.maxRetryAfterMs && wait + limits.callMs <= limits.deadline().remainingMs();
  });
}

/**
 * Gives each attempt of a Graph request (the RetryHandler is above it, so each retry gets its own)
 * at most `callMs`, and the tenant's deadline overall; names the request when either runs out.
 */
class CallTimeoutHandler implements Middleware {
  private next?: Middleware;

  constructor(private readonly limits: CallLimits) {}

  async execute(context: Context): Promise<void> {
    const call = this.limits.deadline().within(this.limits.callMs);
    const request = context.request as Request | string;
    const method = typeof request === 'string' ? (context.options?.method ?? 'GET') : request.method;
    const url = typeof request === 'string' ? request : request.url;
    if (call.expired()) throw new TimeoutError(`Graph ${method} ${pathOf(url)}`, this.limits.deadline().lengthMs);
    context.options = { ...context.options, signal: call.signal };
    try {
      await this.next?.execute(context);
    } catch (error) {
      if (call.signal.aborted) throw new TimeoutError(`Graph ${method} ${pathOf(url)}`, call.lengthMs);
      throw error;
    }
    await refuseNonJson(context.response, `${method} ${pathOf(url)}`);
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

/**
 * A 2xx answer that is not JSON (a proxy's or captive portal's HTML page, a gateway's text) is
 * named for what it is, with the page's title, before the Graph client hands its unread body on
 * as if it were the answer (a $batch would then look like one with no responses at all).
 */
async function refuseNonJson(response: Response | undefined, request: string): Promise<void> {
  if (!response || response.status < 200 || response.status >= 300 || response.status === 204) return;
  const type = response.headers.get('content-type');
  if (!type || /json/i.test(type)) return;
  const body = await response
    .clone()
    .text()
    .catch(() => '');
  const title = /<title[^>]*>([^<]{1,120})/i.exec(body)?.[1]?.replace(/\s+/g, ' ').trim();
  throw new MalformedGraphResponse(
    response.status,
    `Graph answered ${request} with HTTP ${response.status} and ${type.split(';')[0]}, not JSON${title ? ` (a page titled "${title}")` : ''}: a proxy or gateway between this app and Graph answered instead`,
  );
}

/**
 * What the Graph client threw, named: a 2xx whose body is not JSON, or an abort because the
 * deadline passed (a body can hang after its headers; the attempt's signal cuts it off).
 */
function asGraphError(error: unknown, limits: CallLimits): unknown {
  const e = error as { statusCode?: number; code?: string; message?: string; name?: string };
  if (e?.code === 'SyntaxError' && typeof e.statusCode === 'number' && e.statusCode >= 200 && e.statusCode < 300) {
    return new MalformedGraphResponse(
      e.statusCode,
      `Graph answered HTTP ${e.statusCode} with a body that is not JSON (${e.message ?? 'unparsable'})`,
    );
  }
  if (
    (e?.code === 'AbortError' || e?.name === 'AbortError' || e?.code === 'TimeoutError') &&
    limits.deadline().expired()
  ) {
    return new TimeoutError('reading from Graph', limits.deadline().lengthMs);
  }
  return error;
}

/**
 * A Graph reader for one tenant: the app-only token is requested for that tenant, for the
 * audience of the configured Graph endpoint (so sovereign clouds and emulators work unchanged).
 * Every request, its token included, is bounded by `limits` (see CallTimeoutHandler and
 * boundedRetryOptions); the middleware chain is the client's default one with those two changes.
 */
export function createGraphReader(
  credential: TokenCredential,
  graphEndpoint: string,
  tenantId?: string,
  limits: GraphLimits = { ...UNBOUNDED, maxRetryAfterMs: 180_000 },
): GraphReader {
  const root = graphEndpoint.replace(/\/+$/, '');
  const authProvider = new TokenCredentialAuthenticationProvider(boundedCredential(credential, limits), {
    scopes: [`${root}/.default`],
    getTokenOptions: tenantId ? { tenantId } : undefined,
  });
  // The client only attaches the token to hosts it knows as Graph; a sovereign or private
  // endpoint must be listed, or the request goes out without Authorization.
  const client = Client.initWithMiddleware({
    middleware: [
      new AuthenticationHandler(authProvider),
      new RetryHandler(boundedRetryOptions(limits)),
      new CallTimeoutHandler(limits),
      new RedirectHandler(new RedirectHandlerOptions()),
      new TelemetryHandler(),
      new HTTPMessageHandler(),
    ],
    baseUrl: `${root}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(root).hostname]),
  });

  return {
    async get(pathOrUrl) {
      try {
        return (await client.api(pathOrUrl).get()) as unknown;
      } catch (error) {
        throw asGraphError(error, limits);
      }
    },
    async batch(requests) {
      if (requests.length > GRAPH_BATCH_LIMIT)
        throw new Error(`a Graph $batch holds at most ${GRAPH_BATCH_LIMIT} requests, got ${requests.length}`);
      // Built by hand: BatchRequestContent 3.0.7 mangles absolute URLs (docs/reference/platform-notes.md §2.6).
      let answer: { responses?: unknown };
      try {
        answer = (await client.api('/$batch').post({ requests })) as { responses?: unknown };
      } catch (error) {
        throw asGraphError(error, limits);
      }
      if (!Array.isArray(answer?.responses))
        throw new MalformedGraphResponse(200, 'Graph answered the $batch without a responses list');
      const responses = answer.responses as Record<string, unknown>[];
      const byId = new Map(responses.map((r) => [String(r.id), r]));
      return requests.map((request) => {
        const r = byId.get(request.id);
        if (!r)
          return {
            id: request.id,
            status: 0,
            headers: {},
            body: {
              error: {
                code: 'MissingBatchResponse',
                message: 'Graph returned no response for this request in the batch',
              },
            },
          };
        return { id: request.id, status: Number(r.status), headers: lowerCaseKeys(r.headers), body: parseBody(r.body) };
      });
    },
  };
}

/** Limits for a Graph reader bound to one deadline. */
export function graphLimits(deadline: Deadline, callMs: number, maxRetryAfterMs: number): GraphLimits {
  return { deadline: () => deadline, callMs, maxRetryAfterMs };
}

function lowerCaseKeys(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers as Record<string, unknown>)) out[k.toLowerCase()] = String(v);
  }
  return out;
}

function parseBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    try {
      return JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
    } catch {
      return body;
    }
  }
}
