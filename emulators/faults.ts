/**
 * Injected faults and the request log of the Graph emulator (and of the authority's endpoints).
 *
 * A fault is queued with a count (`times`); the next `times` requests that match it get its status
 * and the error body real Graph sends for that status, instead of their normal answer; or no answer
 * at all (`hang`), a body cut mid-JSON (`malformedJson`), or their answer late (`delayMs`).
 */

export interface Fault {
  /**
   * HTTP status to answer with: 429, 503, 500, 504, ... With `malformedJson`, the status of the
   * broken answer (200 is usual); with `hang` it is ignored; a 2xx with only `delayMs` answers normally, late.
   */
  status: number;
  /** Sent as `Retry-After` (seconds). 429 without it still gets the default 10 s that Graph sends; use 0 for fast tests. */
  retryAfterSeconds?: number;
  /** How many matching requests get the fault (default 1). */
  times: number;
  /** Only requests whose token is for this tenant. */
  tenantId?: string;
  /** Only requests whose path-and-query (URL-decoded, `/v1.0/...`) contains this text. */
  pathIncludes?: string;
  /** `true`: only inner requests of a `$batch`. Absent/`false`: only top-level requests (including `$batch` itself). */
  inBatch?: boolean;
  /** Never answer: the socket stays open until the emulator stops (a hung service). Inside a `$batch`, the whole batch hangs. */
  hang?: boolean;
  /** Answer `status` with a body cut off mid-JSON (inside a `$batch`: that response's body). */
  malformedJson?: boolean;
  /**
   * Answer `status` (200 is usual) with `Content-Type: text/html` and an HTML page instead of
   * Graph's JSON: what a captive portal, a TLS-inspecting proxy or a gateway error page sends.
   * Top-level requests only.
   */
  htmlPage?: boolean;
  /** Wait this long before answering (normally, or with the fault). */
  delayMs?: number;
  /** Which endpoint it is for: Graph (default) or the authority (`/{tenant}/...`: discovery and the token endpoint). */
  service?: 'graph' | 'authority';
}

export interface FaultMatchContext {
  /** Default `graph`. */
  service?: 'graph' | 'authority';
  tenantId?: string;
  /** Path and query, URL-decoded, with the version prefix (`/v1.0/servicePrincipals?$filter=...`). */
  path: string;
  inBatch: boolean;
}

export interface FaultReply {
  status: number;
  headers: Record<string, string>;
  /** `error` object of the Graph error envelope, without `innerError` (the emulator adds that). */
  error: { code: string; message: string };
  /** Extra members of `innerError` (429 carries `code`, `message`, `status`). */
  innerError: Record<string, string>;
}

/** One request the Graph emulator answered. Inner requests of a `$batch` are logged too, with `batchId`. */
export interface RequestLogEntry {
  /** ISO time the request was answered. */
  at: string;
  tenantId?: string;
  method: string;
  /** Path without query, with the version prefix: `/v1.0/servicePrincipals/{id}/synchronization/jobs`. */
  path: string;
  /** Path and query as received (URL-decoded). */
  url: string;
  status: number;
  /** `request-id` of the enclosing `$batch` request, for inner requests. */
  batchId?: string;
  /** `id` of the inner request within its batch. */
  batchRequestId?: string;
  /** Whether the answer came from an injected fault. */
  faulted?: boolean;
  /** `Retry-Attempt` header the client sent (the Graph SDK's RetryHandler sets it). */
  retryAttempt?: number;
}

export class FaultQueue {
  private faults: Array<Fault & { remaining: number }> = [];

  inject(fault: Fault): void {
    validateFault(fault, 'fault');
    this.faults.push({ ...fault, remaining: fault.times });
  }

  /** Takes one use of the first queued fault that matches, or undefined. */
  take(ctx: FaultMatchContext): Fault | undefined {
    const index = this.faults.findIndex((f) => matches(f, ctx));
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    const { remaining: _remaining, ...rest } = fault;
    return rest;
  }

  pending(): Fault[] {
    return this.faults.map(({ remaining, ...f }) => ({ ...f, times: remaining }));
  }

  clear(): void {
    this.faults = [];
  }
}

function matches(fault: Fault, ctx: FaultMatchContext): boolean {
  if ((fault.service ?? 'graph') !== (ctx.service ?? 'graph')) return false;
  if ((fault.inBatch ?? false) !== ctx.inBatch) return false;
  if (fault.tenantId !== undefined && fault.tenantId.toLowerCase() !== ctx.tenantId?.toLowerCase()) return false;
  if (fault.pathIncludes !== undefined && !ctx.path.toLowerCase().includes(fault.pathIncludes.toLowerCase()))
    return false;
  return true;
}

/** Throws an Error naming `path` if `value` is not a valid fault. */
export function validateFault(value: unknown, path: string): asserts value is Fault {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${path}: expected an object`);
  const f = value as Record<string, unknown>;
  const misbehaves = f.hang === true || f.malformedJson === true || f.htmlPage === true || f.delayMs !== undefined;
  if (
    typeof f.status !== 'number' ||
    !Number.isInteger(f.status) ||
    f.status > 599 ||
    f.status < (misbehaves ? 0 : 400)
  ) {
    throw new Error(
      `${path}.status: expected an HTTP error status (400-599)${misbehaves ? ', or any status with hang, malformedJson, htmlPage or delayMs' : ''}`,
    );
  }
  for (const key of ['hang', 'malformedJson', 'htmlPage'] as const) {
    if (f[key] !== undefined && typeof f[key] !== 'boolean') throw new Error(`${path}.${key}: expected a boolean`);
  }
  if (f.delayMs !== undefined && (typeof f.delayMs !== 'number' || !(f.delayMs >= 0)))
    throw new Error(`${path}.delayMs: expected a number >= 0`);
  if (f.service !== undefined && f.service !== 'graph' && f.service !== 'authority')
    throw new Error(`${path}.service: expected "graph" or "authority"`);
  if (typeof f.times !== 'number' || !Number.isInteger(f.times) || f.times < 1)
    throw new Error(`${path}.times: expected an integer >= 1`);
  if (f.retryAfterSeconds !== undefined && (typeof f.retryAfterSeconds !== 'number' || f.retryAfterSeconds < 0)) {
    throw new Error(`${path}.retryAfterSeconds: expected a number >= 0`);
  }
  for (const key of ['tenantId', 'pathIncludes'] as const) {
    if (f[key] !== undefined && typeof f[key] !== 'string') throw new Error(`${path}.${key}: expected a string`);
  }
  if (f.inBatch !== undefined && typeof f.inBatch !== 'boolean') throw new Error(`${path}.inBatch: expected a boolean`);
  const known = new Set([
    'status',
    'retryAfterSeconds',
    'times',
    'tenantId',
    'pathIncludes',
    'inBatch',
    'hang',
    'malformedJson',
    'htmlPage',
    'delayMs',
    'service',
  ]);
  for (const key of Object.keys(f)) if (!known.has(key)) throw new Error(`${path}.${key}: unknown field`);
}

/** The status, headers and error Graph sends for a fault (throttling bodies as in Microsoft's throttling guide). */
export function faultReply(fault: Fault, requestDate: string): FaultReply {
  const headers: Record<string, string> = {};
  switch (fault.status) {
    case 429: {
      headers['Retry-After'] = String(fault.retryAfterSeconds ?? 10);
      return {
        status: 429,
        headers,
        error: { code: 'TooManyRequests', message: 'Please retry again later.' },
        innerError: { code: '429', date: requestDate, message: 'Please retry after', status: '429' },
      };
    }
    case 503:
      if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
      return {
        status: 503,
        headers,
        error: { code: 'serviceNotAvailable', message: 'Service unavailable. Please try again later.' },
        innerError: {},
      };
    case 504:
      if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
      return { status: 504, headers, error: { code: 'UnknownError', message: '' }, innerError: {} };
    case 500:
      return {
        status: 500,
        headers,
        error: { code: 'generalException', message: 'An unexpected error occurred while processing the request.' },
        innerError: {},
      };
    default:
      if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
      return { status: fault.status, headers, error: { code: 'UnknownError', message: '' }, innerError: {} };
  }
}

/** What a proxy or captive portal answers in place of Graph. */
export const HTML_PAGE =
  '<!DOCTYPE html><html><head><title>Access to this site is blocked</title></head><body><h1>Web filter</h1><p>The request was blocked by your organisation&#39;s proxy.</p></body></html>';

/** A body that starts as JSON and stops: what a dropped connection or a broken proxy leaves. */
export const MALFORMED_JSON =
  '{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#servicePrincipals","value":[{"id":';

/** Waits `ms` (0: not at all). */
export function pause(ms: number | undefined): Promise<void> {
  return ms ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** A request the emulator never answers; the socket is destroyed when the emulator stops. */
export function never(): Promise<void> {
  return new Promise<void>(() => undefined);
}
