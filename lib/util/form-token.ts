import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { LinkPageRequest } from './link-form';

/**
 * What keeps a link page's confirmation form (snooze, acknowledge) from being posted by anyone but
 * the page itself: the form's anti-forgery token and the POST's Origin, checked together by
 * `forgedFormRefusal` for both endpoints.
 *
 * The token is an HMAC over the link's id and the time the page was shown, under a key derived from
 * SNOOZE_SIGNING_KEY for one page alone (HKDF-SHA256, info `form:<purpose>`: a snooze page's token
 * never confirms an acknowledgement). Only whoever loaded the page has it: a page on another site
 * that holds the link's fields cannot read our page (the browser's same-origin rule), so it cannot
 * make a POST that acts, and a mail scanner that only opens links never posts it. It expires, so a
 * token seen once is of no use later. The synchronizer-token pattern without server state (OWASP,
 * CSRF Prevention Cheat Sheet); the Origin check is the second line.
 */

/** The pages whose forms carry a token, each with its own key. */
export type FormPurpose = 'snooze' | 'acknowledge';

/** How long a shown confirmation page can be confirmed: long enough to read it, short enough to be useless later. */
const FORM_TOKEN_LIFETIME_MS = 30 * 60_000;
/** A page shown by an instance whose clock runs a little ahead is still accepted. */
const CLOCK_SKEW_MS = 60_000;

function formKey(key: string, purpose: FormPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(key, 'utf8'), 'entra-sync-watch', `form:${purpose}`, 32));
}

function mac(key: string, purpose: FormPurpose, linkId: string, issued: number): string {
  return createHmac('sha256', formKey(key, purpose))
    .update(JSON.stringify(['esw-form.v1', linkId, issued]))
    .digest('base64url');
}

/** `<unix seconds>.<mac>`: a token issued at `now`, whose MAC covers the time it was issued. */
export function timedToken(now: Date, mac: (issued: number) => string): string {
  const issued = Math.floor(now.getTime() / 1000);
  return `${issued}.${mac(issued)}`;
}

/**
 * Whether `token` is a timed token whose MAC is `mac(issued)`, issued at most `lifetimeMs` ago (or
 * a minute ahead: another instance's clock), compared in constant time. The decide pages'
 * anti-forgery tokens (lib/actions/sealed.ts) are checked the same way.
 */
export function timedTokenValid(
  token: string | undefined,
  now: Date,
  lifetimeMs: number,
  mac: (issued: number) => string,
): boolean {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? '');
  if (!match) return false;
  const issued = Number(match[1]);
  const age = now.getTime() - issued * 1000;
  if (age < -CLOCK_SKEW_MS || age > lifetimeMs) return false;
  const expected = Buffer.from(mac(issued));
  const given = Buffer.from(match[2] as string);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** A token for the confirmation form of link `linkId` on the `purpose` page, shown at `now`. */
export function formToken(key: string, purpose: FormPurpose, linkId: string, now: Date): string {
  return timedToken(now, (issued) => mac(key, purpose, linkId, issued));
}

/** Whether a form's token was made by this monitor for this page and link, within its lifetime. */
export function formTokenValid(
  key: string,
  purpose: FormPurpose,
  token: string | undefined,
  linkId: string,
  now: Date,
): boolean {
  return timedTokenValid(token, now, FORM_TOKEN_LIFETIME_MS, (issued) => mac(key, purpose, linkId, issued));
}

/**
 * Why a link page's POST is refused (a title and words for the 403 page), or undefined when it came
 * from this monitor's own page (an Origin of `baseUrl`, SNOOZE_BASE_URL, and the page's token in
 * the form's `form` field) or is no POST (a GET only shows the page).
 */
export function forgedFormRefusal(
  request: LinkPageRequest,
  settings: { key: string; baseUrl: string },
  purpose: FormPurpose,
  linkId: string,
  now: Date,
): { title: string; text: string } | undefined {
  if (request.method !== 'POST') return undefined;
  const act = purpose === 'snooze' ? 'An alert is snoozed' : 'An alert is acknowledged';
  if (request.origin !== new URL(settings.baseUrl).origin)
    return {
      title: 'Refused: not sent from this page',
      text: `${act} only with the button of the page its link opens.`,
    };
  if (!formTokenValid(settings.key, purpose, request.fields.form, linkId, now))
    return {
      title: 'Refused: the form is missing or too old',
      text: `The page was open for more than ${FORM_TOKEN_LIFETIME_MS / 60_000} minutes, or the request did not come from it. Open the link from the message again.`,
    };
  return undefined;
}
