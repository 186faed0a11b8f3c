import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertRecord, Link } from '../model';

/**
 * Snooze links: a signed link in each alert's email (and a button on its Teams card) that, after a
 * confirmation step, silences that one alert for 4 hours or a day (lib/snooze/handler.ts,
 * functions/snooze.ts). The link names the alert, the duration and when the link expires, and
 * carries an HMAC-SHA256 of them under SNOOZE_SIGNING_KEY, so nobody can make a link for another
 * alert or a longer snooze, and an old email's links stop working after a week.
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

/** The query of a link (and the fields of its confirmation form): t, a, d, e and the signature s. */
export function snoozeParams(request: SnoozeRequest, key: string): Record<string, string> {
  return {
    t: request.tenantId,
    a: request.fingerprint,
    d: request.duration,
    e: String(request.expires),
    s: signature(request, key),
  };
}

/** The page a link opens: `<base>/api/snooze?t=...&a=...&d=4h&e=...&s=...`. */
function snoozeUrl(request: SnoozeRequest, settings: SnoozeSettings): string {
  return `${settings.baseUrl}/api/snooze?${new URLSearchParams(snoozeParams(request, settings.key)).toString()}`;
}

/** Whether an alert's labels can be matched exactly by a silence (a `*` in one would match more than the alert). */
export function snoozable(alert: AlertRecord): boolean {
  const { tenantId, servicePrincipalId, jobId, condition } = alert.labels;
  return ![tenantId, servicePrincipalId, jobId, condition].some((label) => label.includes('*'));
}

/** The snooze links of an alert, made at `now` (they expire a week later). */
export function snoozeLinks(alert: AlertRecord, settings: SnoozeSettings, now: Date): Link[] {
  if (!snoozable(alert)) return [];
  const expires = Math.floor((now.getTime() + LINK_LIFETIME_MS) / 1000);
  return (Object.keys(SNOOZE_DURATIONS) as SnoozeDuration[]).map((duration) => ({
    label: LABELS[duration],
    href: snoozeUrl({ tenantId: alert.labels.tenantId, fingerprint: alert.fingerprint, duration, expires }, settings),
  }));
}

export type Verified = { ok: true; request: SnoozeRequest } | { ok: false; status: 400 | 403 | 410; reason: string };

/** Checks a link's (or its form's) fields: all there, signed with the key, not expired. */
export function verifySnooze(fields: Record<string, string | undefined>, key: string, now: Date): Verified {
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
