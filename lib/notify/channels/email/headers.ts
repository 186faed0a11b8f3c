import { createHash } from 'node:crypto';
import type { AlertRecord } from '../../../model';
import { headerSafe } from '../../../util/text';
import { subjectOf, type NoticeSummary, type NoticeView } from '../../notice';

/**
 * The subject and the custom headers of an alert email: what threads the messages of one alert
 * in a mail client, lets mail rules sort them, and keeps auto-responders quiet (docs/channels.md,
 * "Threading and mail rules", has each client's rule and its source).
 *
 * Threading: every firing period of an alert has a thread root, `<alert.{fingerprint}.{start}@{domain}>`.
 * A firing email about that one alert carries the root as its Message-ID; every later email about
 * it alone (reminder, change, resolved) gets a Message-ID of its own, points at the root with
 * In-Reply-To and References, and has the same subject with `Re: ` before it. So the thread holds by
 * every client's rule: Exchange and Apple Mail by the headers, Gmail by the subject (which it
 * compares without `Re:`) and by References that always name the same root, Outlook's subject
 * normalisation strips `Re: ` too. An email about several alerts starts a thread of its own: a new
 * Message-ID and no references to roots no email carried.
 *
 * ACS Email keeps a customer-supplied Message-ID when it is a valid RFC 5322 msg-id and replaces it
 * otherwise (learn.microsoft.com, "Custom headers for Azure Email Communication Service",
 * `x-ms-acsemail-validate-message-id`; see docs/channels.md, "Threading and mail rules").
 */

/** Used when the sender's domain is unknown: `.invalid` never resolves (RFC 2606). */
const DEFAULT_MESSAGE_ID_DOMAIN = 'entra-sync-watch.invalid';
const SUBJECT_MAX = 200;

/** A domain fit for the right side of a msg-id: the sender's domain, or the default. */
export function messageIdDomain(value: string | undefined): string {
  const domain = value?.trim().toLowerCase() ?? '';
  return /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/.test(domain)
    ? domain
    : DEFAULT_MESSAGE_ID_DOMAIN;
}

/** The thread root of one firing period of an alert. */
function threadRootId(alert: AlertRecord, startsAt: string, domain: string): string {
  const started = Date.parse(startsAt);
  const period = Number.isFinite(started)
    ? String(Math.floor(started / 1000))
    : createHash('sha256').update(startsAt).digest('hex').slice(0, 12);
  return `<alert.${alert.fingerprint.replace(/[^A-Za-z0-9-]/g, '-')}.${period}@${domain}>`;
}

/**
 * One alert: its stem, the same on every email of the firing, with `Re: ` after the first
 * (`Re: Contoso: Quarantined: Woodgrove to Contoso (since 27 Nov 03:05 UTC)`). Several: the tenant,
 * the most urgent alert and how many more. One line, bounded; a split's part at the end.
 */
export function emailSubject(
  views: NoticeView[],
  summary: NoticeSummary,
  part?: { index: number; total: number },
): string {
  // The part stays readable however long the rest is: it is what tells the emails of one split apart.
  const suffix = part ? ` (part ${part.index} of ${part.total})` : '';
  return headerSafe(subjectOf(views, summary), SUBJECT_MAX - suffix.length) + suffix;
}

/**
 * The custom headers of the ACS send request for a message about `views`: threading, then what
 * mail rules that read headers use (Outlook, Exchange, Apple Mail): the kind and the severity, and
 * Importance high only where it means "act now" (a critical alert's first notice, a change, or an
 * escalation: the first its readers hear of it).
 */
export function emailHeaders(views: NoticeView[], summary: NoticeSummary, domain: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const [first] = views;
  if (views.length === 1 && first) {
    const root = threadRootId(first.alert, first.item.startsAt, domain);
    if (first.kind === 'firing') headers['Message-ID'] = root;
    else {
      headers['Message-ID'] = noticeMessageId(views, domain);
      headers['In-Reply-To'] = root;
      headers.References = root;
    }
  } else {
    headers['Message-ID'] = noticeMessageId(views, domain);
  }
  // RFC 3834: machine-made, so auto-responders (out of office, vacation) stay silent; Exchange's own switch for the same.
  headers['Auto-Submitted'] = 'auto-generated';
  headers['X-Auto-Response-Suppress'] = 'All';
  const urgent = views.some(
    (v) => v.severity === 'critical' && (v.kind === 'firing' || v.kind === 'changed' || v.kind === 'escalation'),
  );
  if (urgent) {
    headers.Importance = 'high';
    headers['X-Priority'] = '1';
  }
  // For mail rules: what kind of message this is, without parsing the subject.
  headers['X-Entra-Sync-Watch-Kind'] = [
    ...new Set(views.map((v) => (v.kind === 'resolved' && !v.resolvedWell ? 'ended' : v.kind))),
  ].join(', ');
  headers['X-Entra-Sync-Watch-Severity'] = summary.severity;
  return headers;
}

/** A message's own Message-ID: the same notices always make the same one. */
function noticeMessageId(views: NoticeView[], domain: string): string {
  const keys = views
    .map((v) => v.item.key)
    .sort()
    .join('\n');
  return `<notice.${createHash('sha256').update(keys).digest('hex').slice(0, 32)}@${domain}>`;
}
