import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signed, purpose-bound, expiring links: the one format behind every link in a message that does
 * something when followed and confirmed (snooze, acknowledge, decide). A link carries
 *
 *   i  its id: 128 random bits, the key of its use in the ledger (lib/links/ledger.ts);
 *   e  when it stops working (Unix seconds);
 *   k  the id of the key it was signed with (so a link of another monitor, of another purpose or
 *      signed with a key since replaced is told apart from one that was changed);
 *   s  an HMAC-SHA256 over the purpose, i, e and every bound field;
 *
 * plus the bound fields themselves (what the link is about: an alert, a job, the state it was sent
 * about), under short names the caller picks. Nothing in a link is secret; it cannot be altered.
 *
 * Each purpose signs with its own key, derived from the configured one with HKDF-SHA256
 * (info `link:<purpose>`): a snooze link can never pass for a decide link, even under one
 * configured key, and the key id differs per purpose too.
 */

export const LINK_PURPOSES = ['snooze', 'acknowledge', 'decide'] as const;
export type LinkPurpose = (typeof LINK_PURPOSES)[number];

/** Field names the format itself uses; bound fields take other names. */
const RESERVED = new Set(['i', 'e', 'k', 's']);
/** Bound field names: short, URL-safe, not reserved. */
const FIELD_NAME = /^[a-z][a-z0-9]{0,15}$/;
/** The longest bound value accepted (a fingerprint, a job id, a hash). */
const MAX_FIELD_CHARS = 300;
/** The shortest configured key accepted. */
export const MIN_LINK_KEY_LENGTH = 32;

export interface SignedLink {
  purpose: LinkPurpose;
  /** 22 base64url characters: 128 random bits. */
  id: string;
  /** Unix seconds after which the link no longer works. */
  expires: number;
  /** What the link is about, by field name. */
  bound: Record<string, string>;
}

/** Why a link is refused, each with its own words and HTTP status. */
export type LinkRefusal = 'damaged' | 'foreign' | 'tampered' | 'expired';

export type VerifiedLink = { ok: true; link: SignedLink } | { ok: false; refusal: LinkRefusal; status: number };

export const LINK_REFUSAL_STATUS: Record<LinkRefusal, number> = {
  damaged: 400,
  foreign: 403,
  tampered: 403,
  expired: 410,
};

/** The key a purpose signs with: HKDF-SHA256 of the configured key, so purposes never share one. */
function purposeKey(key: string, purpose: LinkPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(key, 'utf8'), 'entra-sync-watch', `link:${purpose}`, 32));
}

/** The id of the key a link of this purpose is signed with: 8 characters, not enough to learn anything about the key. */
export function linkKeyId(key: string, purpose: LinkPurpose): string {
  return createHmac('sha256', purposeKey(key, purpose)).update('key-id').digest('base64url').slice(0, 8);
}

/** The signed text: purpose, id, expiry and the bound fields sorted by name, as JSON (unambiguous whatever the values hold). */
function signature(link: SignedLink, key: string): string {
  const fields = Object.entries(link.bound).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const text = JSON.stringify(['esw-link.v1', link.purpose, link.id, link.expires, fields]);
  return createHmac('sha256', purposeKey(key, link.purpose)).update(text).digest('base64url');
}

/** A new link id: 128 random bits, base64url. */
export function newLinkId(): string {
  return randomBytes(16).toString('base64url');
}

function checkBound(bound: Record<string, string>): void {
  for (const [name, value] of Object.entries(bound)) {
    if (RESERVED.has(name) || !FIELD_NAME.test(name))
      throw new Error(`a link's bound field cannot be called "${name}" (a-z0-9, at most 16, not i, e, k or s)`);
    if (typeof value !== 'string' || value.length > MAX_FIELD_CHARS)
      throw new Error(`a link's bound field "${name}" must be a string of at most ${MAX_FIELD_CHARS} characters`);
  }
}

/** The fields of a link (its query, and the hidden fields of its confirmation form). */
export function linkFields(link: SignedLink, key: string): Record<string, string> {
  checkBound(link.bound);
  return {
    ...link.bound,
    i: link.id,
    e: String(link.expires),
    k: linkKeyId(key, link.purpose),
    s: signature(link, key),
  };
}

/** `<base>/api/<path>?<fields>`: the address a message carries. */
export function linkUrl(baseUrl: string, path: string, link: SignedLink, key: string): string {
  return `${baseUrl}/api/${path}?${new URLSearchParams(linkFields(link, key)).toString()}`;
}

/** A new link of `purpose` about `bound`, working for `lifetimeMs` from `now`. */
export function newLink(
  purpose: LinkPurpose,
  bound: Record<string, string>,
  now: Date,
  lifetimeMs: number,
  id = newLinkId(),
): SignedLink {
  checkBound(bound);
  return { purpose, id, expires: Math.floor((now.getTime() + lifetimeMs) / 1000), bound };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks the fields of a request against the link format: every bound field named in
 * `boundNames` there, the key id this monitor's, the signature right, not expired. Fields besides
 * those (a form's own inputs) are ignored and never part of the link.
 */
export function verifyLink(
  purpose: LinkPurpose,
  fields: Record<string, string | undefined>,
  boundNames: readonly string[],
  key: string,
  now: Date,
): VerifiedLink {
  const refuse = (refusal: LinkRefusal): VerifiedLink => ({ ok: false, refusal, status: LINK_REFUSAL_STATUS[refusal] });
  const { i, e, k, s } = fields;
  if (!i || !e || !k || !s || !/^[A-Za-z0-9_-]{22}$/.test(i) || !/^\d{1,12}$/.test(e) || s.length > 64)
    return refuse('damaged');
  // The key id first: a link of another purpose or another monitor has other fields, and is foreign, not damaged.
  if (!sameText(k, linkKeyId(key, purpose))) return refuse('foreign');
  const bound: Record<string, string> = {};
  for (const name of boundNames) {
    const value = fields[name];
    if (value === undefined || value.length > MAX_FIELD_CHARS) return refuse('damaged');
    bound[name] = value;
  }
  const link: SignedLink = { purpose, id: i, expires: Number(e), bound };
  if (!sameText(s, signature(link, key))) return refuse('tampered');
  if (link.expires * 1000 < now.getTime()) return refuse('expired');
  return { ok: true, link };
}
