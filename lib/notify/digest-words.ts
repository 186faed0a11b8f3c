import { viewOf, type ViewContext } from '../evaluate/view';
import type { AlertRecord, DigestAlert, DigestView, Link, Severity } from '../model';
import { displayLine } from '../util/safe-text';
import { formatDuration, formatTime } from '../util/text';
import { httpsLinks, SEVERITY_LABEL, URGENCY } from './notice';

/**
 * What a daily digest says, for every channel (as notice.ts is for alerts): its subject, one
 * headline, and sections of lines. Channels (email/digest.ts, teams.ts, webhook.ts) only lay it
 * out. Lines quote alert names from Graph: channels make them display-safe and escape them.
 */

export type DigestTone = Severity | 'healthy' | 'muted';

interface DigestLine {
  label: string;
  detail: string;
  tone: DigestTone;
  /** The alert's page (its notices' `open` action), when the digest was laid out with it. */
  link?: Link;
}

interface DigestSection {
  title: string;
  lines: DigestLine[];
  /** How many more the list had than it names (0: none left out). */
  more: number;
}

export interface DigestWords {
  subject: string;
  /** How bad, in words, for the banner: `Critical: act now`, `Warning`, `All healthy`, `Muted only`. */
  urgency: string;
  headline: string;
  /** The most urgent open alert that is not muted, with its page: the digest's primary button. */
  primary?: { heading: string; link: Link };
  tone: DigestTone;
  sections: DigestSection[];
  footer: string;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function toneOf(d: DigestView): DigestTone {
  if (d.counts.critical > 0) return 'critical';
  if (d.counts.warning > 0) return 'warning';
  return d.counts.muted > 0 ? 'muted' : 'healthy';
}

function since(a: DigestAlert, now: number, timeZone: string): string {
  if (!a.since) return 'since a time not known';
  return `since ${formatTime(a.since, timeZone)}, for ${formatDuration(now - Date.parse(a.since))} when this was made`;
}

const URGENCIES: Record<DigestTone, string> = {
  critical: URGENCY.critical,
  warning: URGENCY.warning,
  healthy: 'All healthy',
  muted: 'Muted only',
};

/** `Contoso`, `Contoso +2 tenants`: the tenants of the open alerts, the most urgent's first, within 40 characters. */
function tenantsOf(open: DigestAlert[]): string | undefined {
  const tenants = [...new Set(open.map((a) => a.tenant))];
  const [first] = tenants;
  if (first === undefined) return undefined;
  const others = tenants.length - 1;
  return `${displayLine(first, 36)}${others > 0 ? ` +${others} tenant${others === 1 ? '' : 's'}` : ''}`;
}

/** `And 12 more.`, for a list cut by `n`. */
export function andMore(n: number): string {
  return `And ${n} more.`;
}

export function digestWords(d: DigestView): DigestWords {
  const now = Date.parse(d.generatedAt);
  const tone = toneOf(d);
  const openCount = d.counts.critical + d.counts.warning + d.counts.muted;
  const parts = [
    d.counts.critical && `${d.counts.critical} critical`,
    d.counts.warning && `${d.counts.warning} warning`,
    d.counts.muted && `${d.counts.muted} muted`,
  ]
    .filter(Boolean)
    .join(', ');
  const resolved = d.counts.resolved > 0 ? `, ${d.counts.resolved} resolved in the last day` : '';
  const healthy = d.tenants > 0 ? `all ${plural(d.tenants, 'tenant')} healthy` : 'nothing firing';
  // The tenants first, as in every subject: those with open alerts, or all of them healthy.
  const subject =
    openCount === 0
      ? `${capitalized(healthy)}: daily digest ${d.date}${resolved}`
      : `${tenantsOf(d.open)}: daily digest ${d.date}, ${plural(openCount, 'open alert')} (${parts})${resolved}`;
  const headline =
    openCount === 0
      ? `${d.tenants > 0 ? `All ${plural(d.tenants, 'tenant')} healthy` : 'All healthy'}: nothing is firing.${d.counts.resolved > 0 ? ` ${plural(d.counts.resolved, 'alert')} resolved in the last day.` : ''}`
      : `${plural(openCount, 'alert')} open: ${parts}.`;
  const sections: DigestSection[] = [];
  if (d.open.length > 0) {
    sections.push({
      title: 'Open alerts',
      lines: d.open.map((a) => ({
        label: `${a.mutedBy ? 'Muted' : SEVERITY_LABEL[a.severity]}: ${a.heading}`,
        detail: `${since(a, now, d.timeZone)}${a.mutedBy ? `; muted: ${a.mutedBy}` : ''}`,
        tone: a.mutedBy ? 'muted' : a.severity,
        ...(a.link ? { link: a.link } : {}),
      })),
      more: d.more.open,
    });
  }
  if (d.resolved.length > 0) {
    sections.push({
      title: 'Resolved in the last day',
      lines: d.resolved.map((a) => ({
        label: a.heading,
        detail: `ended ${formatTime(a.endedAt, d.timeZone)}${a.since && a.endedAt ? `, after ${formatDuration(Date.parse(a.endedAt) - Date.parse(a.since))}` : ''}`,
        tone: 'healthy',
      })),
      more: d.more.resolved,
    });
  }
  if (d.silences.length > 0) {
    sections.push({
      title: 'Silences and maintenance windows ending before the next digest',
      lines: d.silences.map((s) => ({
        label: `${s.kind === 'silence' ? 'Silence' : 'Maintenance window'}: ${s.what}`,
        detail: `ends ${formatTime(s.endsAt, d.timeZone)}; ${s.createdBy}: ${s.comment}`,
        tone: 'muted',
      })),
      more: d.more.silences,
    });
  }
  const footer = `Sent once a day at ${d.at} (${d.timeZone}) for route ${d.routeId}, whose scope holds ${plural(d.tenants, 'watched tenant')}. Made at ${formatTime(d.generatedAt, d.timeZone)}.`;
  const first = d.open.find((a) => !a.mutedBy && a.link);
  const primary = first?.link ? { heading: first.heading, link: first.link } : undefined;
  return { subject, urgency: URGENCIES[tone], headline, ...(primary ? { primary } : {}), tone, sections, footer };
}

/**
 * A digest with each open alert's page (its notices' `open` action: the rule's first link, in the
 * alert's own tenant and cloud), from the alerts as they stand when it is laid out. A digest is
 * stored without them; an alert no longer known keeps its line without a link.
 */
export function withAlertLinks(
  digest: DigestView,
  alertOf: (fingerprint: string) => AlertRecord | undefined,
  ctx: ViewContext,
): DigestView {
  return {
    ...digest,
    open: digest.open.map((a) => {
      const alert = alertOf(a.fingerprint);
      const [link] = alert ? httpsLinks(viewOf(alert, ctx).links) : [];
      return link ? { ...a, link } : a;
    }),
  };
}
