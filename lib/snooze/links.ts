import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertRecord, Link } from '../model';
import { linkFields, linkUrl, newLink, verifyLink, type LinkRefusal } from '../util/signed-links';

/**
 * Snooze links: a signed link in each alert's email (and a button on its Teams card) that, after a
 * confirmation step, silences that one alert for 4 hours or a day (lib/snooze/handler.ts,
 * functions/snooze.ts). The link names the alert, the duration and when the link expires, and is
 * signed under SNOOZE_SIGNING_KEY, so nobody can make a link for another alert or a longer snooze,
 * and an old email's links stop working after a week.
 *
 * New links are the signed links every purpose shares (lib/util/signed-links.ts, purpose
 * `snooze`: an id, a key id, the bound t, a, d); their use is kept in the link ledger. Links of the
 * earlier format (t, a, d, e, s: an HMAC of its own) in emails sent before stay good until they
 * expire, a week at most, with their uses where they were kept (`legacy` below); a release from
 * the 14th of December 2026 on may drop that format.
 */

export const SNOOZE_DURATIONS = { '4h': 4 * 3600_000, '1d': 24 * 3600_000 } as const;
export type SnoozeDuration = keyof typeof SNOOZE_DURATIONS;
const LABELS: Record<SnoozeDuration, string> = { '4h': 'Snooze 4 h', '1d': 'Snooze 1 day' };
export const DURATION_WORDS: Record<SnoozeDuration, string> = { '4h': '4 hours', '1d': '1 day' };

/** How long a link works after the message that carries it was made. */
export const LINK_LIFETIME_MS = 7 * 24 * 3600_000;
export interface SnoozeSettings {
  /** SNOOZE_SIGNING_KEY. */
  key: string;
  /** Where the Function App answers: SNOOZE_BASE_URL, or https://WEBSITE_HOSTNAME. No trailing slash. */
  baseUrl: string;
}

/** What a snooze link asks for. */
export interface SnoozeRequest {
  tenantId: string;
  fingerprint: string;
  duration: SnoozeDuration;
  /** Unix seconds after which the link no longer works. */
  expires: number;
}

function signature(request: SnoozeRequest, key: string): string {
  const text = ['snooze.v1', request.tenantId, request.fingerprint, request.duration, String(request.expires)].join(
    '\n',
  );
  return createHmac('sha256', key).update(text).digest('base64url');
}

/** The query of a legacy link (and the fields of its confirmation form): t, a, d, e and the signature s. */
export function snoozeParams(request: SnoozeRequest, key: string): Record<string, string> {
  return {
    t: request.tenantId,
    a: request.fingerprint,
    d: request.duration,
    e: String(request.expires),
    s: signature(request, key),
  };
}

/** Whether an alert's labels can be matched exactly by a silence (a `*` in one would match more than the alert). */
export function snoozable(alert: AlertRecord): boolean {
  const { tenantId, servicePrincipalId, jobId, condition } = alert.labels;
  return ![tenantId, servicePrincipalId, jobId, condition].some((label) => label.includes('*'));
}

/** The bound fields of a snooze link: the tenant, the alert's fingerprint, the duration. */
const SNOOZE_BOUND = ['t', 'a', 'd'] as const;

/** The snooze links of an alert, made at `now` (they expire a week later); `ids` fixes their link ids (golden files). */
export function snoozeLinks(alert: AlertRecord, settings: SnoozeSettings, now: Date, ids?: string[]): Link[] {
  if (!snoozable(alert)) return [];
  return (Object.keys(SNOOZE_DURATIONS) as SnoozeDuration[]).map((duration, i) => ({
    label: LABELS[duration],
    href: linkUrl(
      settings.baseUrl,
      'snooze',
      newLink(
        'snooze',
        { t: alert.labels.tenantId, a: alert.fingerprint, d: duration },
        now,
        LINK_LIFETIME_MS,
        ids?.[i],
      ),
      settings.key,
    ),
  }));
}

type Verified = { ok: true; request: SnoozeRequest } | { ok: false; status: 400 | 403 | 410; reason: string };

/** A verified snooze link: what it asks, its identity (the key of its use), the fields its form carries, and its format. */
export interface SnoozeLink {
  request: SnoozeRequest;
  linkId: string;
  fields: Record<string, string>;
  format: 'signed-link' | 'legacy';
}

const REFUSALS: Record<LinkRefusal, { status: 400 | 403 | 410; reason: string }> = {
  damaged: { status: 400, reason: 'This link is incomplete or damaged. Copy it again from the email, whole.' },
  foreign: {
    status: 403,
    reason:
      'This link was not made by this monitor for snoozing (or its key has since been replaced). Use a snooze link of a recent email about the alert.',
  },
  tampered: {
    status: 403,
    reason: 'This link was not made by this monitor, or was changed. Use the link in the email as it is.',
  },
  expired: {
    status: 410,
    reason:
      'This link has expired: snooze links work for a week after their email. Use the link in a newer email about the alert, or add a silence to the config file.',
  },
};

/**
 * A legacy link's identity, the same for every use of it (a double click, a second tab, another
 * instance, a replay): exactly as the earlier release computed it, since its uses are stored under it.
 */
function legacyLinkId(request: SnoozeRequest, signature: string): string {
  return createHash('sha256')
    .update(`${request.fingerprint}\n${request.duration}\n${signature}`)
    .digest('hex')
    .slice(0, 32);
}

/** Checks a request's fields as a snooze link of either format: signed with the key, for snoozing, not expired. */
export function readSnoozeLink(
  fields: Record<string, string | undefined>,
  key: string,
  now: Date,
): { ok: true; link: SnoozeLink } | { ok: false; status: 400 | 403 | 410; reason: string } {
  if (fields.i === undefined && fields.k === undefined) {
    const legacy = verifySnooze(fields, key, now);
    if (!legacy.ok) return legacy;
    return {
      ok: true,
      link: {
        request: legacy.request,
        linkId: legacyLinkId(legacy.request, fields.s as string),
        fields: snoozeParams(legacy.request, key),
        format: 'legacy',
      },
    };
  }
  const verified = verifyLink('snooze', fields, SNOOZE_BOUND, key, now);
  if (!verified.ok) return { ok: false, ...REFUSALS[verified.refusal] };
  const { t, a, d } = verified.link.bound as { t: string; a: string; d: string };
  if (!(d in SNOOZE_DURATIONS) || a.length > 100) return { ok: false, ...REFUSALS.damaged };
  return {
    ok: true,
    link: {
      request: { tenantId: t, fingerprint: a, duration: d as SnoozeDuration, expires: verified.link.expires },
      linkId: verified.link.id,
      fields: linkFields(verified.link, key),
      format: 'signed-link',
    },
  };
}

/** Checks a legacy link's (or its form's) fields: all there, signed with the key, not expired. */
function verifySnooze(fields: Record<string, string | undefined>, key: string, now: Date): Verified {
  const { t, a, d, e, s } = fields;
  if (
    !t ||
    !a ||
    !d ||
    !e ||
    !s ||
    !(d in SNOOZE_DURATIONS) ||
    !/^\d{1,12}$/.test(e) ||
    t.length > 300 ||
    a.length > 100
  ) {
    return {
      ok: false,
      status: 400,
      reason: 'This link is incomplete or damaged. Copy it again from the email, whole.',
    };
  }
  const request: SnoozeRequest = { tenantId: t, fingerprint: a, duration: d as SnoozeDuration, expires: Number(e) };
  const expected = Buffer.from(signature(request, key));
  const given = Buffer.from(s);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return {
      ok: false,
      status: 403,
      reason: 'This link was not made by this monitor, or was changed. Use the link in the email as it is.',
    };
  }
  if (request.expires * 1000 < now.getTime()) {
    return {
      ok: false,
      status: 410,
      reason:
        'This link has expired: snooze links work for a week after their email. Use the link in a newer email about the alert, or add a silence to the config file.',
    };
  }
  return { ok: true, request };
}
