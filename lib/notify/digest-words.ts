import type { DigestAlert, DigestView, Severity } from '../model';
import { formatDuration, formatTime } from '../util/text';
import { SEVERITY_LABEL } from './notice';

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
}

interface DigestSection {
  title: string;
  lines: DigestLine[];
  /** How many more the list had than it names (0: none left out). */
  more: number;
}

export interface DigestWords {
  subject: string;
  headline: string;
  tone: DigestTone;
  sections: DigestSection[];
  footer: string;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function toneOf(d: DigestView): DigestTone {
  if (d.counts.critical > 0) return 'critical';
  if (d.counts.warning > 0) return 'warning';
  return d.counts.muted > 0 ? 'muted' : 'healthy';
}

function since(a: DigestAlert, now: number): string {
  if (!a.since) return 'since a time not known';
  return `since ${formatTime(a.since)} (${formatDuration(now - Date.parse(a.since))})`;
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
  const severity = tone === 'critical' || tone === 'warning' ? `[${SEVERITY_LABEL[tone]}] ` : '';
  const subject =
    openCount === 0
      ? `Daily digest ${d.date}: ${healthy}${resolved}`
      : `${severity}Daily digest ${d.date}: ${plural(openCount, 'open alert')} (${parts})${resolved}`;
  const headline =
    openCount === 0
      ? `${d.tenants > 0 ? `All ${plural(d.tenants, 'tenant')} healthy` : 'All healthy'}: nothing is firing.${d.counts.resolved > 0 ? ` ${plural(d.counts.resolved, 'alert')} resolved in the last day.` : ''}`
      : `${plural(openCount, 'alert')} open: ${parts}.`;
  const sections: DigestSection[] = [];
  if (d.open.length > 0) {
    sections.push({
      title: 'Open alerts',
      lines: d.open.map((a) => ({
        label: `[${SEVERITY_LABEL[a.severity]}] ${a.heading}`,
        detail: `${since(a, now)}${a.mutedBy ? `; muted: ${a.mutedBy}` : ''}`,
        tone: a.mutedBy ? 'muted' : a.severity,
      })),
      more: d.more.open,
    });
  }
  if (d.resolved.length > 0) {
    sections.push({
      title: 'Resolved in the last day',
      lines: d.resolved.map((a) => ({
        label: a.heading,
        detail: `ended ${formatTime(a.endedAt)}${a.since && a.endedAt ? `, after ${formatDuration(Date.parse(a.endedAt) - Date.parse(a.since))}` : ''}`,
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
        detail: `ends ${formatTime(s.endsAt)}; ${s.createdBy}: ${s.comment}`,
        tone: 'muted',
      })),
      more: d.more.silences,
    });
  }
  const footer = `Sent once a day at ${d.at} (${d.timeZone}) for route ${d.routeId}, whose scope holds ${plural(d.tenants, 'watched tenant')}. Made at ${formatTime(d.generatedAt)}.`;
  return { subject, headline, tone, sections, footer };
}
