import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import type { TokenCredential } from '@azure/core-auth';

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

/**
 * A Graph reader for one tenant: the app-only token is requested for that tenant, for the
 * audience of the configured Graph endpoint (so sovereign clouds and emulators work unchanged).
 * Retries of 429/503/504 with Retry-After are the Graph client's own RetryHandler.
 */
export function createGraphReader(credential: TokenCredential, graphEndpoint: string, tenantId?: string): GraphReader {
  const root = graphEndpoint.replace(/\/+$/, '');
  const authProvider = new TokenCredentialAuthenticationProvider(credential, {
    scopes: [`${root}/.default`],
    getTokenOptions: tenantId ? { tenantId } : undefined,
  });
  // The client only attaches the token to hosts it knows as Graph; a sovereign or private
  // endpoint must be listed, or the request goes out without Authorization.
  const client = Client.initWithMiddleware({
    authProvider,
    baseUrl: `${root}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(root).hostname]),
  });

  return {
    get: (pathOrUrl) => client.api(pathOrUrl).get() as Promise<unknown>,
    async batch(requests) {
      if (requests.length > GRAPH_BATCH_LIMIT) throw new Error(`a Graph $batch holds at most ${GRAPH_BATCH_LIMIT} requests, got ${requests.length}`);
      // Built by hand: BatchRequestContent 3.0.7 mangles absolute URLs (docs/reference/platform-notes.md §2.6).
      const answer = (await client.api('/$batch').post({ requests })) as { responses?: unknown };
      const responses = Array.isArray(answer?.responses) ? (answer.responses as Record<string, unknown>[]) : [];
      const byId = new Map(responses.map((r) => [String(r.id), r]));
      return requests.map((request) => {
        const r = byId.get(request.id);
        if (!r) return { id: request.id, status: 0, headers: {}, body: { error: { code: 'MissingBatchResponse', message: 'Graph returned no response for this request in the batch' } } };
        return { id: request.id, status: Number(r.status), headers: lowerCaseKeys(r.headers), body: parseBody(r.body) };
      });
    },
  };
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
