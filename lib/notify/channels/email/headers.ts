import { createHash } from 'node:crypto';
import type { AlertRecord } from '../../../model';
import { headerSafe } from '../../../util/text';
import { aboutTheTenant } from '../../../evaluate/view';
import { SEVERITY_LABEL, type NoticeSummary, type NoticeView } from '../../notice';
import { displayLine } from '../../../util/safe-text';

/**
 * The subject and the custom headers of an alert email: what threads the messages of one alert
 * in a mail client, lets mail rules sort them, and keeps auto-responders quiet.
 *
 * Threading: every firing period of an alert has a thread root, `<alert.{fingerprint}.{start}@{domain}>`.
 * A firing email about that one alert carries the root as its Message-ID; every later message
 * (reminder, change, resolved, or any email about several alerts) gets a Message-ID of its own
 * and points at the roots of its alerts with In-Reply-To and References. ACS Email keeps a
 * customer-supplied Message-ID when it is a valid RFC 5322 msg-id and replaces it otherwise
 * (learn.microsoft.com, "Custom headers for Azure Email Communication Service",
 * `x-ms-acsemail-validate-message-id`; see docs/channels.md, "Threading").
 */

/** Used when the sender's domain is unknown: `.invalid` never resolves (RFC 2606). */
const DEFAULT_MESSAGE_ID_DOMAIN = 'entra-sync-watch.invalid';
/** References beyond this many add header weight and no threading. */
const MAX_REFERENCES = 10;
const SUBJECT_MAX = 200;
/** Room for the alert's name in a subject, so the tenant in brackets still shows. */
const ABOUT_MAX = 90;

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

/** The stem with a bounded name, so a 10 kB display name cannot push the tenant out of the subject. */
function subjectStem(v: NoticeView): string {
  const about = displayLine(v.view.about, ABOUT_MAX);
  const title = displayLine(v.view.title, 60);
  const tenant = displayLine(v.tenant, 60);
  const heading = aboutTheTenant(v.view, v.alert, v.tenant) ? `${title}: ${about}` : `${title}: ${about} (${tenant})`;
  return `[${SEVERITY_LABEL[v.severity]}] ${heading}`;
}

/**
 * `[Critical] Quarantined: Fabrikam to Contoso (Contoso)` for one alert, with `Reminder: `,
 * `Changed: `, `Resolved: ` or `Ended: ` before it; a summary for several. One line, bounded.
 */
export function emailSubject(
  views: NoticeView[],
  summary: NoticeSummary,
  part?: { index: number; total: number },
): string {
  const single = views.length === 1 ? views[0] : undefined;
  const subject = single ? `${single.prefix}${subjectStem(single)}` : displayLine(summary.subject, SUBJECT_MAX);
  // The part stays readable however long the rest is: it is what tells the emails of one split apart.
  const suffix = part ? ` (part ${part.index} of ${part.total})` : '';
  return headerSafe(subject, SUBJECT_MAX - suffix.length) + suffix;
}

/** The custom headers of the ACS send request for a message about `views`. */
export function emailHeaders(views: NoticeView[], summary: NoticeSummary, domain: string): Record<string, string> {
  const roots = [...new Set(views.map((v) => threadRootId(v.alert, v.item.startsAt, domain)))];
  const headers: Record<string, string> = {};
  const [first] = views;
  if (views.length === 1 && first?.kind === 'firing') {
    headers['Message-ID'] = roots[0] as string;
  } else {
    const keys = views
      .map((v) => v.item.key)
      .sort()
      .join('\n');
    headers['Message-ID'] = `<notice.${createHash('sha256').update(keys).digest('hex').slice(0, 32)}@${domain}>`;
    if (roots.length) {
      headers['In-Reply-To'] = roots[0] as string;
      headers.References = roots.slice(0, MAX_REFERENCES).join(' ');
    }
  }
  // RFC 3834: machine-made, so auto-responders (out of office, vacation) stay silent; Exchange's own switch for the same.
  headers['Auto-Submitted'] = 'auto-generated';
  headers['X-Auto-Response-Suppress'] = 'All';
  if (summary.severity === 'critical' && !summary.resolvedOnly) {
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
