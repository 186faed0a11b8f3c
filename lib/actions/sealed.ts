import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { timedToken, timedTokenValid } from '../util/form-token';

/**
 * What the decide endpoint keeps in the browser, sealed with keys derived from ACTIONS_SIGNING_KEY
 * (HKDF-SHA256, one key per use, none shared with the links):
 *
 * - sealed values (AES-256-GCM: encrypted and authenticated) for the sign-in cookie (PKCE verifier,
 *   state, nonce) and the session cookie (who signed in, until when). A value sealed for one use
 *   never opens as another (the use is the additional authenticated data and picks the key).
 * - anti-forgery tokens: an HMAC over the session, the link and the step, with its time.
 */

function derivedKey(key: string, use: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(key, 'utf8'), 'entra-sync-watch', `actions:${use}`, 32));
}

/** Seals `payload` for `use` until `expiresAt`: base64url of iv ‖ ciphertext ‖ tag. */
export function seal(use: string, payload: unknown, key: string, expiresAt: Date): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derivedKey(key, use), iv);
  cipher.setAAD(Buffer.from(use));
  const text = JSON.stringify({ x: Math.floor(expiresAt.getTime() / 1000), p: payload });
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The payload sealed for `use`, or undefined when the value is not one, was changed, or expired. */
export function unseal<T>(use: string, sealed: string | undefined, key: string, now: Date): T | undefined {
  if (!sealed || sealed.length > 8192) return undefined;
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 12 + 16 + 1) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', derivedKey(key, use), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(use));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
    const { x, p } = JSON.parse(text) as { x: number; p: T };
    return typeof x === 'number' && x * 1000 >= now.getTime() ? p : undefined;
  } catch {
    return undefined;
  }
}

/** How long an anti-forgery token works: long enough to read a page, short enough to be of no use later. */
const CSRF_LIFETIME_MS = 30 * 60_000;

function csrfMac(key: string, session: string, linkId: string, step: string, issued: number): string {
  return createHmac('sha256', derivedKey(key, 'csrf'))
    .update(JSON.stringify([session, linkId, step, issued]))
    .digest('base64url');
}

/**
 * An anti-forgery token for one form: bound to the signed-in session, the link and the step the
 * form leads to (a confirmation token cannot act), issued at `now`. The synchronizer-token pattern
 * without server state: the session is the secret half, the HMAC the proof.
 */
export function csrfToken(key: string, session: string, linkId: string, step: string, now: Date): string {
  return timedToken(now, (issued) => csrfMac(key, session, linkId, step, issued));
}

/** Whether a form's token was made for this session, link and step, within its lifetime. */
export function csrfValid(
  key: string,
  token: string | undefined,
  session: string,
  linkId: string,
  step: string,
  now: Date,
): boolean {
  return timedTokenValid(token, now, CSRF_LIFETIME_MS, (issued) => csrfMac(key, session, linkId, step, issued));
}
