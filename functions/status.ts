import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { readStatusFromEnv } from '../lib/status';

/**
 * GET /api/status: what is firing now, how the last cycle went, and how many emails wait. Reads
 * stored state only, so it is cheap and never touches Graph. Function-key protected: it names
 * tenants and configurations.
 */
export async function status(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    return { status: 200, jsonBody: await readStatusFromEnv(process.env) };
  } catch (error) {
    context.error(`status: ${(error as Error).message}`);
    return { status: 503, jsonBody: { error: (error as Error).message } };
  }
}

app.http('status', { methods: ['GET'], authLevel: 'function', route: 'status', handler: status });
