import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { readStatusFromEnv } from '../lib/app';
import { renderStatusPage, STATUS_PAGE_CSP } from '../lib/status/page';
import { escapeHtml } from '../lib/util/text';

/** HTML for `?format=html`, or for a browser (its Accept names text/html); JSON otherwise (`?format=json`, curl, scripts). */
export function wantsHtml(request: HttpRequest): boolean {
  const format = request.query.get('format')?.toLowerCase();
  if (format === 'html') return true;
  if (format === 'json') return false;
  return /\btext\/html\b/i.test(request.headers.get('accept') ?? '');
}

const HTML_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': STATUS_PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

/**
 * GET /api/status: what is firing now, what is muted, how the last cycles went and how many
 * emails wait, as JSON or as a small HTML page. Reads stored state only, so it is cheap and never
 * touches Graph. Function-key protected: it names tenants and configurations.
 */
export async function status(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const html = wantsHtml(request);
  try {
    const view = await readStatusFromEnv(process.env);
    return html
      ? { status: 200, headers: HTML_HEADERS, body: renderStatusPage(view) }
      : { status: 200, jsonBody: view };
  } catch (error) {
    const message = (error as Error).message;
    context.error(`status: ${message}`);
    return html
      ? {
          status: 503,
          headers: HTML_HEADERS,
          body: `<!doctype html><title>Entra Sync Watch: status unavailable</title><pre>${escapeHtml(message)}</pre>`,
        }
      : { status: 503, jsonBody: { error: message } };
  }
}

app.http('status', { methods: ['GET'], authLevel: 'function', route: 'status', handler: status });
