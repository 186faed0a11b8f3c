import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { LogsQueryClient } from '@azure/monitor-query-logs';

/** The Log Analytics query endpoints Microsoft runs, each its own token audience. */
const KNOWN_AUDIENCES = new Map([
  ['api.loganalytics.io', 'https://api.loganalytics.io'],
  ['api.loganalytics.azure.com', 'https://api.loganalytics.io'],
  ['api.loganalytics.us', 'https://api.loganalytics.us'],
  ['api.loganalytics.azure.cn', 'https://api.loganalytics.azure.cn'],
]);

/** The token audience for a query endpoint: its own for Microsoft's clouds, the public one for a private gateway or emulator. */
function logAnalyticsAudience(endpoint: string): string {
  return KNOWN_AUDIENCES.get(new URL(endpoint).hostname.toLowerCase()) ?? 'https://api.loganalytics.io';
}

export interface LogsClientOptions {
  /** Retries of 429/5xx by the SDK's own pipeline (default: the SDK's, 3). */
  maxRetries?: number;
}

/**
 * A LogsQueryClient (`@azure/monitor-query-logs`, the successor of the deprecated
 * `@azure/monitor-query`) on the app's own credential. Version 1.0.0 uses `endpoint` verbatim (so
 * `/v1` is added here) and ignores its `audience` option: the scope is passed as
 * `credentials.scopes` instead (docs/reference/platform-notes.md §5.3).
 */
export function createLogsQueryClient(
  credential: TokenCredential,
  endpoint: string,
  options: LogsClientOptions = {},
): LogsQueryClient {
  const root = endpoint.replace(/\/+$/, '');
  const client = new LogsQueryClient(credential, {
    endpoint: `${root}/v1`,
    credentials: { scopes: [`${logAnalyticsAudience(root)}/.default`] },
    ...(options.maxRetries !== undefined ? { retryOptions: { maxRetries: options.maxRetries } } : {}),
  });
  client.pipeline.addPolicy(keepErrorBodies);
  return client;
}

const ERROR_BODIES = new WeakMap<object, string>();

/**
 * The RestError a failed query throws keeps only the outer `error.code` and `error.message`; the
 * `innererror` that says what is wrong with a query (`SyntaxError: ... at line 1`) is dropped. This
 * policy keeps the body of every failed answer, by request, for `errorBodyOf`.
 */
const keepErrorBodies: PipelinePolicy = {
  name: 'keepErrorBodies',
  async sendRequest(request, next) {
    const response = await next(request);
    if (response.status >= 400 && response.bodyAsText) ERROR_BODIES.set(request, response.bodyAsText);
    return response;
  },
};

/** The body of the failed answer behind an error from a client made here, if it was kept. */
export function errorBodyOf(error: unknown): string | undefined {
  const request = (error as { request?: unknown } | undefined)?.request;
  return request && typeof request === 'object' ? ERROR_BODIES.get(request) : undefined;
}
