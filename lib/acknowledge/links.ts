import { createHash } from 'node:crypto';
import type { AlertRecord, Link, NotificationItem } from '../model';
import { linkUrl, newLink, verifyLink, type LinkRefusal } from '../util/signed-links';
import { LINK_LIFETIME_MS, type SnoozeSettings } from '../snooze/links';

/**
 * Acknowledge links: the signed link (lib/links/, purpose `acknowledge`) each firing, change,
 * reminder and escalation notice carries, which, after a confirmation page, records who is on the
 * alert (lib/acknowledge/handler.ts, functions/acknowledge.ts). A link binds
 *
 *   t  the alert's tenant, a  its fingerprint,
 *   p  the firing period's start (a link of an earlier period is refused: it is not about this one),
 *   r  the receiver its message went to (`root.0`, `root.0~teams:TEAMS_OPS_URL`): the route's
 *      recipients are whom the page offers as "who is acknowledging", a channel asks a name;
 *
 * and expires a week after its message was made, like the snooze links. Its id is derived from
 * the notice it belongs to, so a message laid out again (a retry) carries the same link, and the
 * link ledger's claim makes each link act once however often it is confirmed.
 *
 * The key is SNOOZE_SIGNING_KEY's (same stakes as a snooze, one secret fewer to keep); the links
 * module derives a key of its own per purpose, so a snooze link never passes for an acknowledge link.
 */

const ACKNOWLEDGE_PATH = 'acknowledge';
const BOUND_NAMES = ['t', 'a', 'p', 'r'] as const;

/** What a verified acknowledge link is about. */
export interface AcknowledgeLink {
  tenantId: string;
  fingerprint: string;
  /** The firing period's start (ISO), as the alert's `startsAt` was when the link was made. */
  startsAt: string;
  /** The receiver whose message carried it. */
  receiver: string;
  linkId: string;
  /** Unix seconds after which it no longer works. */
  expires: number;
  /** Unix seconds when its message was made (its expiry less the lifetime). */
  issued: number;
}

/** The id of the link of one notice: 128 bits of a hash of the notice's key (its idempotency key). */
function linkIdOf(item: NotificationItem): string {
  return createHash('sha256').update(`acknowledge\n${item.key}`).digest().subarray(0, 16).toString('base64url');
}

/** The Acknowledge link of a notice, made at `now`. */
export function acknowledgeLink(
  alert: AlertRecord,
  item: NotificationItem,
  settings: SnoozeSettings,
  now: Date,
): Link | undefined {
  if (!alert.startsAt) return undefined;
  const bound = { t: alert.labels.tenantId, a: alert.fingerprint, p: alert.startsAt, r: item.routeId };
  const link = newLink('acknowledge', bound, now, LINK_LIFETIME_MS, linkIdOf(item));
  return { label: 'Acknowledge', href: linkUrl(settings.baseUrl, ACKNOWLEDGE_PATH, link, settings.key) };
}

/** Why a link is refused, for a person: what happened and what to do instead. */
const REFUSALS: Record<LinkRefusal, string> = {
  damaged: 'This link is incomplete or damaged. Copy it again from the message, whole.',
  foreign:
    'This link was not made by this monitor for acknowledging (or its key has been replaced since). Use the Acknowledge link of a recent message.',
  tampered: 'This link was changed after it was made. Use the link in the message as it is.',
  expired:
    'This link has expired: Acknowledge links work for a week after their message. Use the link in a newer message about the alert.',
};

export type VerifiedAcknowledge =
  { ok: true; link: AcknowledgeLink } | { ok: false; status: number; refusal: LinkRefusal; reason: string };

/** Checks a request's fields (the link's query, or the confirmation form) against the key. */
export function verifyAcknowledge(
  fields: Record<string, string | undefined>,
  key: string,
  now: Date,
): VerifiedAcknowledge {
  const verified = verifyLink('acknowledge', fields, BOUND_NAMES, key, now);
  if (!verified.ok) return { ...verified, reason: REFUSALS[verified.refusal] };
  const { bound, id, expires } = verified.link;
  return {
    ok: true,
    link: {
      tenantId: bound.t as string,
      fingerprint: bound.a as string,
      startsAt: bound.p as string,
      receiver: bound.r as string,
      linkId: id,
      expires,
      issued: expires - LINK_LIFETIME_MS / 1000,
    },
  };
}

/** The fields of a verified link again (the hidden fields of its confirmation form). */
export function acknowledgeFields(fields: Record<string, string | undefined>): Record<string, string> {
  const names = [...BOUND_NAMES, 'i', 'e', 'k', 's'];
  return Object.fromEntries(names.map((name) => [name, fields[name] ?? '']));
}
