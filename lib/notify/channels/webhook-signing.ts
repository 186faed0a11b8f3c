import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * How a webhook post is signed. Every post is signed per Standard Webhooks 1.0.0
 * (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp`, `webhook-signature:
 * v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, made by the `standardwebhooks` package, so a
 * receiver verifies it with any Standard Webhooks library. Secrets have the spec's form,
 * `whsec_<base64 of 24 to 64 random bytes>`.
 *
 * DEPRECATED, sent until 30 June 2027 (the first release after that date stops sending them;
 * docs/channels.md, "Webhooks"): the scheme this monitor had before, `X-Entra-Sync-Watch-Timestamp` and
 * `X-Entra-Sync-Watch-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the setting's
 * whole text as the key, and `X-Entra-Sync-Watch-Delivery`. They are still signed exactly as before,
 * beside the new headers (the spec's "Migrating" section), so receivers written for them keep working
 * while they move to a library. Their delivery id is not signed; Standard Webhooks signs its id.
 */

/** Deprecated (until 30 June 2027): today's signature, `v1=<hex>`. */
export const SIGNATURE_HEADER = 'X-Entra-Sync-Watch-Signature';
/** Deprecated (until 30 June 2027): the Unix seconds the deprecated signature covers. */
export const TIMESTAMP_HEADER = 'X-Entra-Sync-Watch-Timestamp';
/** Deprecated (until 30 June 2027): the message's id, as `webhook-id` has it (this one unsigned). */
export const DELIVERY_HEADER = 'X-Entra-Sync-Watch-Delivery';
/** How old (or how far ahead) a timestamp a receiver should accept: five minutes, as the Standard Webhooks libraries hold it. */
const REPLAY_WINDOW_SECONDS = 300;

/** The spec's prefix of a symmetric signing secret. */
const SECRET_PREFIX = 'whsec_';
/** The spec's bounds on a secret's random bytes: "between 24 bytes (192 bits) and 64 bytes (512 bits)". */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** The shortest secret without the prefix (what this monitor asked for before): 32 characters, at least 32 bytes. */
const MIN_PLAIN_SECRET_LENGTH = 32;
const MAKE_ONE = 'e.g. whsec_$(openssl rand -base64 32)';

/** A signing secret as the setting holds it, and the key each scheme signs with. */
export interface SigningSecret {
  /** The setting's text: the deprecated headers' HMAC key, as it always was. */
  text: string;
  /** The Standard Webhooks key: the bytes a `whsec_` secret encodes; for a secret without the prefix, its UTF-8 bytes. */
  key: Uint8Array;
}

/**
 * The signing secret in a setting's value, or what is wrong with it (to follow "the signing secret in
 * <SETTING> ..."). `whsec_<base64>` is the spec's form: standard base64 with its padding (what every
 * library decodes alike) of 24 to 64 bytes. The `standardwebhooks` package itself only refuses an
 * empty key, so the bounds are checked here.
 *
 * A secret without the prefix (a hex string or passphrase of at least 32 characters, the only form
 * before) still works, so that moving to Standard Webhooks needs no new secret on both sides at once
 * (the spec's "Migrating": the same secret may feed both schemes): its Standard Webhooks key is its
 * own bytes, which a receiver passes to its library as raw bytes (Node `new Webhook(Buffer.from(secret),
 * { format: 'raw' })`, Python `Webhook(secret.encode())`). Its bytes cannot be read as base64 instead:
 * a hex secret is valid base64 too, and would decode to other bytes than the ones the receiver has.
 */
export function signingSecret(value: string): SigningSecret | { problem: string } {
  if (!value.startsWith(SECRET_PREFIX)) {
    if (value.length < MIN_PLAIN_SECRET_LENGTH)
      return {
        problem: `is ${value.length} characters; use at least ${MIN_PLAIN_SECRET_LENGTH}, or the Standard Webhooks form (${MAKE_ONE})`,
      };
    return { text: value, key: Buffer.from(value, 'utf8') };
  }
  const encoded = value.slice(SECRET_PREFIX.length);
  const key = Buffer.from(encoded, 'base64');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || key.toString('base64') !== encoded)
    return {
      problem: `starts with ${SECRET_PREFIX} but the rest is not standard base64 with its = padding (${MAKE_ONE})`,
    };
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES)
    return {
      problem: `encodes ${key.length} bytes; Standard Webhooks asks for ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes (${MAKE_ONE})`,
    };
  return { text: value, key };
}

/**
 * The headers that sign a post of `body` made at `now`. `id` is the message's idempotency key, the same
 * on every retry (a receiver drops an id it has taken); the timestamp and signatures are made anew at
 * each attempt, as the spec says.
 */
export function signedHeaders(body: string, secret: SigningSecret, now: Date, id: string): Record<string, string> {
  // The spec signs "<id>.<timestamp>.<body>": an id with a dot would make that ambiguous.
  if (!/^[\w-]+$/.test(id)) throw new Error(`a webhook id must be letters, digits, _ and -, got ${JSON.stringify(id)}`);
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': new Webhook(secret.key, { format: 'raw' }).sign(id, now, body),
    // Deprecated until 30 June 2027 (see the top of this file): signed as before, for receivers not moved yet.
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: signatureOf(secret.text, Number(timestamp), body),
    [DELIVERY_HEADER]: id,
    'Idempotency-Key': id,
  };
}

/** Deprecated (until 30 June 2027): `v1=<hex>`, HMAC-SHA256 with the secret's text over `<timestamp>.<body>`. */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver of the deprecated headers checks (docs/channels.md, "Webhooks", has the same in a few lines):
 * the timestamp is a whole number of seconds within the replay window of now, and one of the header's
 * `v1=` signatures is the HMAC of `<timestamp>.<body>`, compared in constant time.
 */
export function verifySignature(input: {
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  secret: string;
  now?: Date;
  windowSeconds?: number;
}): { ok: true } | { ok: false; reason: string } {
  const { body, secret } = input;
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp))
    return { ok: false, reason: `no ${TIMESTAMP_HEADER} (Unix seconds)` };
  const timestamp = Number(input.timestamp);
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const window = input.windowSeconds ?? REPLAY_WINDOW_SECONDS;
  if (Math.abs(now - timestamp) > window)
    return {
      ok: false,
      reason: `timestamp ${timestamp} is ${now - timestamp} s from now, outside the ${window} s window`,
    };
  const expected = Buffer.from(signatureOf(secret, timestamp, body));
  const given = (input.signature ?? '').split(',').map((s) => Buffer.from(s.trim()));
  if (!given.some((g) => g.length === expected.length && timingSafeEqual(g, expected)))
    return { ok: false, reason: 'the signature does not match the body' };
  return { ok: true };
}
