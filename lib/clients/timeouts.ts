import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { beforeDeadline, Deadline, TimeoutError } from '../util/deadline';
import type { RenewableCredential } from './renewable-credential';

/**
 * What bounds an outbound call: the deadline of the work it belongs to (the cycle, or one tenant's
 * share of it) and the longest one attempt may take. Read at the moment of each call, so clients
 * built once per cycle follow the cycle's deadline.
 */
export interface CallLimits {
  deadline(): Deadline;
  callMs: number;
}

/** No bound: what a client gets when nobody gave it one (the status view, a test). */
export const UNBOUNDED: CallLimits = { deadline: () => Deadline.never(), callMs: 30_000 };

/**
 * A credential whose token requests end within one call's time and the deadline. The token
 * endpoint is an outbound call like any other: a hung authority must not hang a tenant, so the
 * wait is cut off here even if the identity library below ignores the signal it is given.
 */
export function boundedCredential(credential: TokenCredential, limits: CallLimits): TokenCredential {
  return {
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const call = limits.deadline().within(limits.callMs);
      const abortSignal = options?.abortSignal
        ? AbortSignal.any([options.abortSignal as AbortSignal, call.signal])
        : call.signal;
      const tenant = options?.tenantId ? ` for tenant ${options.tenantId}` : '';
      // A wait cut off here also ends the sharing of that request (RenewableCredential.abandon):
      // the abort event alone was seen not to reach it every time, and a hung request shared into
      // the next cycle would make a healed tenant time out once more.
      return beforeDeadline(
        credential.getToken(scopes, { ...options, abortSignal }),
        call,
        `the token request${tenant}`,
      ).catch((error: unknown) => {
        if (error instanceof TimeoutError)
          (credential as Partial<Pick<RenewableCredential, 'abandon'>>).abandon?.(scopes, options?.tenantId);
        throw error;
      });
    },
  };
}

/** The shape of an `@azure/core-rest-pipeline` policy (kept structural: that package is not ours to import). */
export interface PipelinePolicyLike {
  name: string;
  sendRequest(request: PipelineRequestLike, next: (request: PipelineRequestLike) => Promise<unknown>): Promise<unknown>;
}

interface PipelineRequestLike {
  url: string;
  method: string;
  timeout: number;
  abortSignal?: AbortSignal | { aborted: boolean; addEventListener: unknown; removeEventListener: unknown };
}

/**
 * An Azure SDK pipeline policy (Table Storage, ACS) that gives each attempt at most `callMs` and
 * the whole call (retries and their waits included) until the deadline, and names the service and
 * the limit when either runs out. Add it per call (`position: 'perCall'`): the SDK's retry policy
 * then sleeps on the same signal, so a Retry-After past the deadline ends the call at the deadline.
 */
export function callLimitPolicy(service: string, limits: CallLimits): PipelinePolicyLike {
  return {
    name: 'entraSyncWatchCallLimit',
    async sendRequest(request, next) {
      const deadline = limits.deadline();
      // Past the deadline nothing new starts: the call fails as if it had timed out at once.
      if (deadline.expired())
        throw new TimeoutError(`${service} ${request.method} ${pathOf(request.url)}`, deadline.lengthMs);
      const own = request.abortSignal as AbortSignal | undefined;
      request.abortSignal = own ? AbortSignal.any([own, deadline.signal]) : deadline.signal;
      request.timeout = Math.max(1, Math.ceil(Math.min(limits.callMs, deadline.remainingMs())));
      try {
        return await next(request);
      } catch (error) {
        if ((error as Error)?.name !== 'AbortError' || own?.aborted) throw error;
        const limit = deadline.expired() ? deadline.lengthMs : request.timeout;
        throw new TimeoutError(`${service} ${request.method} ${pathOf(request.url)}`, limit);
      }
    },
  };
}

/** The path of a URL without its query (which may hold a SAS signature). */
export function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid URL)';
  }
}
