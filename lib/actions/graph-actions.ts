import type { TokenCredential } from '@azure/core-auth';
import { AuthenticationHandler, Client, HTTPMessageHandler } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { createGraphReader, type GraphReader } from '../clients/graph';
import { graphErrorBody, type ErrorLike } from '../observe/errors';
import { normalizeJob, normalizeServicePrincipal } from '../observe/normalize';
import type { JobSnapshot } from '../model/observation';
import { onDemandRuleOf, readOnDemandAnswer, type OnDemandResult } from './on-demand';

/**
 * The Graph calls a decision makes in one customer tenant, with the monitor's own credential
 * (whose token carries Synchronization.ReadWrite.All there only where actions were granted):
 * re-reading the job, `restart` with a reset scope, and `provisionOnDemand` with the rule its
 * schema names. The writes are never retried by the client: a POST whose answer was lost might
 * have been carried out, and a second restart is exactly what a decision must not cause. What
 * became of a write whose answer is unknown is judged from the job's state (lib/actions/execute.ts).
 */

/** Graph's answer to a write, as the audit keeps it. */
export interface GraphAnswer {
  status: number;
  code?: string;
  message?: string;
  requestId?: string;
  /** Seconds Graph asked to wait (429). */
  retryAfter?: number;
}

/**
 * A write Graph did not carry out, or whose outcome is unknown:
 * `refused` (4xx: Graph says it did nothing), `unknown` (5xx, no answer, timed out: it may have).
 */
export class GraphWriteError extends Error {
  constructor(
    readonly answer: GraphAnswer,
    readonly outcome: 'refused' | 'unknown',
  ) {
    super(
      `Graph answered ${answer.status || 'nothing'}${answer.code ? ` ${answer.code}` : ''}: ${answer.message ?? ''}`,
    );
    this.name = 'GraphWriteError';
  }
}

/** The subject of provisionOnDemand: an object in the job's source. */
export interface OnDemandSubject {
  objectId: string;
  objectTypeName: 'User' | 'Group';
}

export interface JobActions {
  /** The job as Graph has it now. */
  job(servicePrincipalId: string, jobId: string): Promise<JobSnapshot>;
  /** POST …/restart with `{criteria:{resetScope}}`; Graph answers 204. */
  restart(servicePrincipalId: string, jobId: string, resetScope: string): Promise<GraphAnswer>;
  /** The synchronization rule provisionOnDemand applies, from the job's schema; undefined when the schema names none. */
  onDemandRule(servicePrincipalId: string, jobId: string): Promise<string | undefined>;
  /** POST …/provisionOnDemand for one object; Graph answers 200 with the steps. */
  provisionOnDemand(
    servicePrincipalId: string,
    jobId: string,
    ruleId: string,
    subject: OnDemandSubject,
  ): Promise<{ answer: GraphAnswer; result: OnDemandResult }>;
}

const path = (servicePrincipalId: string, jobId: string, action = '') =>
  `/servicePrincipals/${encodeURIComponent(servicePrincipalId)}/synchronization/jobs/${encodeURIComponent(jobId)}${action}`;

/** The answer a Graph client error stands for, and whether Graph did nothing (4xx) or may have (the rest). */
function writeErrorOf(error: unknown): GraphWriteError {
  const e = (error ?? {}) as ErrorLike & { requestId?: string | null; headers?: { get?(n: string): string | null } };
  const status = typeof e.statusCode === 'number' && e.statusCode > 0 ? e.statusCode : 0;
  const body = graphErrorBody(e.body);
  const retryAfter = Number(e.headers?.get?.('Retry-After'));
  const answer: GraphAnswer = {
    status,
    ...(body.code || e.code ? { code: (body.code ?? e.code) as string } : {}),
    message: (body.message ?? e.message ?? String(error)).split(/\r?\n/)[0]?.slice(0, 300),
    ...(e.requestId ? { requestId: e.requestId } : {}),
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}),
  };
  // No token (consent missing, credential refused): the request never left, so nothing was done.
  const noToken =
    status === 0 &&
    (e.errorResponse !== undefined ||
      /AADSTS\d+/.test(e.message ?? '') ||
      ['CredentialUnavailableError', 'AuthenticationError', 'AuthenticationRequiredError'].includes(e.name ?? ''));
  if (noToken) return new GraphWriteError({ ...answer, code: answer.code ?? 'NoToken' }, 'refused');
  return new GraphWriteError(answer, status >= 400 && status < 500 ? 'refused' : 'unknown');
}

/** The job actions of one tenant through the Graph SDK, each write bounded by `writeTimeoutMs`. */
export function createJobActions(
  credential: TokenCredential,
  graphEndpoint: string,
  tenantId: string,
  options: { writeTimeoutMs?: number; reader?: GraphReader } = {},
): JobActions {
  const root = graphEndpoint.replace(/\/+$/, '');
  const reader = options.reader ?? createGraphReader(credential, root, tenantId);
  const writeTimeoutMs = options.writeTimeoutMs ?? 20_000;
  const authProvider = new TokenCredentialAuthenticationProvider(credential, {
    scopes: [`${root}/.default`],
    getTokenOptions: { tenantId },
  });
  // No RetryHandler and no RedirectHandler: one attempt per write, as said above.
  const writer = Client.initWithMiddleware({
    middleware: [new AuthenticationHandler(authProvider), new HTTPMessageHandler()],
    baseUrl: `${root}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(root).hostname]),
  });
  const post = async (url: string, body: unknown): Promise<{ answer: GraphAnswer; body: unknown }> => {
    try {
      const raw = (await writer
        .api(url)
        .option('signal', AbortSignal.timeout(writeTimeoutMs))
        .responseType('raw' as never)
        .post(body)) as Response;
      const text = await raw.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? (JSON.parse(text) as unknown) : undefined;
      } catch {
        parsed = undefined;
      }
      const answer: GraphAnswer = {
        status: raw.status,
        ...(raw.headers.get('request-id') ? { requestId: raw.headers.get('request-id') as string } : {}),
      };
      if (raw.status >= 400) {
        const error = graphErrorBody(parsed);
        const retryAfter = Number(raw.headers.get('Retry-After'));
        throw new GraphWriteError(
          {
            ...answer,
            ...(error.code ? { code: error.code } : {}),
            message: (error.message ?? text).split(/\r?\n/)[0]?.slice(0, 300),
            ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}),
          },
          raw.status < 500 ? 'refused' : 'unknown',
        );
      }
      return { answer, body: parsed };
    } catch (error) {
      if (error instanceof GraphWriteError) throw error;
      throw writeErrorOf(error);
    }
  };

  return {
    async job(servicePrincipalId, jobId) {
      const [sp, job] = await Promise.all([
        reader.get(
          `/servicePrincipals/${encodeURIComponent(servicePrincipalId)}?$select=id,appId,displayName,applicationTemplateId`,
        ),
        reader.get(path(servicePrincipalId, jobId)),
      ]);
      return normalizeJob(tenantId, normalizeServicePrincipal(sp), job);
    },
    async restart(servicePrincipalId, jobId, resetScope) {
      return (await post(path(servicePrincipalId, jobId, '/restart'), { criteria: { resetScope } })).answer;
    },
    async onDemandRule(servicePrincipalId, jobId) {
      return onDemandRuleOf(await reader.get(path(servicePrincipalId, jobId, '/schema')));
    },
    async provisionOnDemand(servicePrincipalId, jobId, ruleId, subject) {
      const { answer, body } = await post(path(servicePrincipalId, jobId, '/provisionOnDemand'), {
        parameters: [{ ruleId, subjects: [subject] }],
      });
      return { answer, result: readOnDemandAnswer(body) };
    },
  };
}
