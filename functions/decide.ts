import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { decideDepsFromEnv } from '../lib/app';
import { handleDecide, type DecideDeps } from '../lib/actions/handler';
import { DECIDE_PAGE_HEADERS, notePage } from '../lib/actions/pages';
import { parseCookies } from '../lib/actions/session';
import { formFields } from '../lib/util/link-form';

/** A decision form is a few hundred bytes; anything much bigger is not one. */
const MAX_FORM_BYTES = 16_384;

/** Deps per environment: built once per instance (the sign-in metadata and keys, the token caches). */
let cached: { key: string; deps: DecideDeps | undefined } | undefined;

function depsFor(context: InvocationContext): DecideDeps | undefined {
  const key = JSON.stringify(process.env);
  if (cached?.key !== key) cached = { key, deps: decideDepsFromEnv(process.env, (line) => context.log(line)) };
  return cached.deps && { ...cached.deps, log: (line) => context.log(line) };
}

/**
 * GET/POST /api/decide[/signed-in]: decisions from an alert (lib/actions/). Anonymous at the
 * Functions level, because people sign in with Entra ID in the function itself (the link alone
 * proves nothing but which alert it is about). With WATCH_ACTIONS off it answers 404 to everything.
 */
export async function decide(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const deps = depsFor(context);
    if (!deps)
      return { status: 404, headers: DECIDE_PAGE_HEADERS, body: notePage('Not found', 'There is nothing here.') };
    const form = request.method === 'POST' ? await formFields(request, MAX_FORM_BYTES) : {};
    if (!form)
      return { status: 413, headers: DECIDE_PAGE_HEADERS, body: notePage('Too large', 'That is not a decision form.') };
    const response = await handleDecide(
      {
        method: request.method,
        step: request.params.step ?? '',
        query: Object.fromEntries(request.query.entries()),
        form,
        cookies: parseCookies(request.headers.get('cookie')),
        ...(request.headers.get('origin') ? { origin: request.headers.get('origin') as string } : {}),
      },
      deps,
    );
    return {
      status: response.status,
      headers: response.headers,
      body: response.body,
      cookies: response.cookies.map((c) => ({
        name: c.name,
        value: c.value,
        path: '/',
        secure: true,
        httpOnly: true,
        sameSite: 'Lax' as const,
        maxAge: c.maxAgeSeconds,
      })),
    };
  } catch (error) {
    context.error(`decide: ${(error as Error).message}`);
    return {
      status: 503,
      headers: DECIDE_PAGE_HEADERS,
      body: notePage(
        'Not now',
        'The monitor could not do this just now; nothing was changed. Try the link again in a minute.',
      ),
    };
  }
}

app.http('decide', { methods: ['GET', 'POST'], authLevel: 'anonymous', route: 'decide/{step?}', handler: decide });
