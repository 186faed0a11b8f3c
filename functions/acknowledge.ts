import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { linkPageRequest } from '../lib/util/link-form';
import { acknowledgeFromEnv } from '../lib/app';
import { LINK_PAGE_HEADERS, problemPage } from '../lib/snooze/page';
import { parseCookies } from '../lib/actions/session';

/**
 * GET/POST /api/acknowledge: the signed Acknowledge links of alert notices (lib/acknowledge/). The
 * GET shows what acknowledging does and a form; only the form's POST (with its anti-forgery token
 * and this monitor's Origin) records who is on the alert, so a mail scanner that opens every link
 * changes nothing. Anonymous, because the link itself carries its proof (signed with a key derived
 * from SNOOZE_SIGNING_KEY) and a function key in a message would open every function. Someone
 * signed in on the decide pages (WATCH_ACTIONS) acknowledges in their own name; nobody has to.
 */
export async function acknowledge(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const page = await linkPageRequest(request);
    if (!page)
      return {
        status: 413,
        headers: LINK_PAGE_HEADERS,
        body: problemPage('Too large', 'That is not an acknowledge confirmation.'),
      };
    const response = await acknowledgeFromEnv(process.env, {
      ...page,
      // The decide pages' session, when decisions from an alert are on and the person signed in there.
      cookies: parseCookies(request.headers.get('cookie')),
    });
    if (response.status === 201) context.log(`acknowledge: alert ${page.fields.a ?? ''} acknowledged`);
    return response;
  } catch (error) {
    context.error(`acknowledge: ${(error as Error).message}`);
    return {
      status: 503,
      headers: LINK_PAGE_HEADERS,
      body: problemPage(
        'Not now',
        'The monitor could not do this just now. Try the link again in a minute: confirming it again finishes whatever was started.',
      ),
    };
  }
}

app.http('acknowledge', {
  methods: ['GET', 'POST'],
  authLevel: 'anonymous',
  route: 'acknowledge',
  handler: acknowledge,
});
