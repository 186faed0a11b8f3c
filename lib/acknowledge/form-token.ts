import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The confirmation form's anti-forgery token: an HMAC over the link's id and the time the page was
 * shown, under a key derived from SNOOZE_SIGNING_KEY for this use alone (HKDF-SHA256, info
 * `form:acknowledge`). Only whoever loaded the page has it: a page on another site that holds the
 * link's fields cannot read our page (the browser's same-origin rule), so it cannot make a POST
 * that acts, and a mail scanner that only opens links never posts it. It expires, so a token seen
 * once is of no use later. The synchronizer-token pattern without server state (OWASP, CSRF
 * Prevention Cheat Sheet); the Origin check in the handler is the second line.
 */

/** How long a shown confirmation page can be confirmed: long enough to read it, short enough to be useless later. */
export const FORM_TOKEN_LIFETIME_MS = 30 * 60_000;
/** A page shown by an instance whose clock runs a little ahead is still accepted. */
const CLOCK_SKEW_MS = 60_000;

function formKey(key: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(key, 'utf8'), 'entra-sync-watch', 'form:acknowledge', 32));
}

function mac(key: string, linkId: string, issued: number): string {
  return createHmac('sha256', formKey(key))
    .update(JSON.stringify(['esw-form.v1', linkId, issued]))
    .digest('base64url');
}

/** A token for the confirmation form of link `linkId`, shown at `now`: `<unix seconds>.<hmac>`. */
export function formToken(key: string, linkId: string, now: Date): string {
  const issued = Math.floor(now.getTime() / 1000);
  return `${issued}.${mac(key, linkId, issued)}`;
}

/** Whether a form's token was made by this monitor for this link, within its lifetime. */
export function formTokenValid(key: string, token: string | undefined, linkId: string, now: Date): boolean {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? '');
  if (!match) return false;
  const issued = Number(match[1]);
  const age = now.getTime() - issued * 1000;
  if (age < -CLOCK_SKEW_MS || age > FORM_TOKEN_LIFETIME_MS) return false;
  const expected = Buffer.from(mac(key, linkId, issued));
  const given = Buffer.from(match[2] as string);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
