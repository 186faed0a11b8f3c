import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { runDoctorFromEnv } from '../lib/app';
import { renderDoctorText } from '../lib/doctor/text';

/**
 * GET /api/doctor: `npm run doctor` where the monitor's identity is. A managed identity exists only
 * in Azure, so a doctor run on a person's machine would sign in as that person; this one signs in
 * as the Function App does. The table as text (`curl`), or `?format=json`; status 200 with the
 * report whatever it found (its exit code is in it, and in the X-Doctor-Exit-Code header), 503 when
 * the settings are bad. Function-key protected: it names tenants, configurations and permissions.
 */
export async function doctor(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const json = request.query.get('format')?.toLowerCase() === 'json';
  try {
    const report = await runDoctorFromEnv(process.env);
    const headers = { 'X-Doctor-Exit-Code': String(report.exitCode), 'Cache-Control': 'no-store' };
    return json
      ? { status: 200, headers, jsonBody: report }
      : {
          status: 200,
          headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' },
          body: renderDoctorText(report),
        };
  } catch (error) {
    const message = (error as Error).message;
    context.error(`doctor: ${message}`);
    return json
      ? { status: 503, jsonBody: { error: message } }
      : { status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: `${message}\n` };
  }
}

app.http('doctor', { methods: ['GET'], authLevel: 'function', route: 'doctor', handler: doctor });
