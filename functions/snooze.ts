import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { linkPageRequest } from '../lib/util/link-form';
import { problemPage, LINK_PAGE_HEADERS } from '../lib/snooze/page';
import { snoozeFromEnv } from '../lib/app';

/**
 * GET/POST /api/snooze: the signed snooze links of alert messages (lib/snooze/). The GET shows
 * what the link does and a button; only the button's POST (with its anti-forgery token and this
 * monitor's Origin) silences the alert, so a mail scanner that opens every link, or a page on
 * another site that holds a link, changes nothing. Anonymous, because the link itself carries its proof
 * (an HMAC under SNOOZE_SIGNING_KEY) and a function key in an email would open every function.
 */
export async function snooze(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const page = await linkPageRequest(request);
    if (!page)
      return {
        status: 413,
        headers: LINK_PAGE_HEADERS,
        body: problemPage('Too large', 'That is not a snooze confirmation.'),
      };
    const response = await snoozeFromEnv(process.env, page);
    if (response.status === 201) context.log(`snooze: alert ${page.fields.a ?? ''} snoozed for ${page.fields.d ?? ''}`);
    return response;
  } catch (error) {
    context.error(`snooze: ${(error as Error).message}`);
    return {
      status: 503,
      headers: LINK_PAGE_HEADERS,
      body: problemPage('Not now', 'The monitor could not do this just now; try the link again in a minute.'),
    };
  }
}

app.http('snooze', { methods: ['GET', 'POST'], authLevel: 'anonymous', route: 'snooze', handler: snooze });
