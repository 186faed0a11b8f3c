import { RULES } from '../evaluate/rules';
import type { AlertRecord, EmailContent, NotificationItem, Runbook } from '../model';
import { escapeHtml, formatDuration, formatTime, headerSafe, plain } from '../text';
import { uniqueForRendering } from './group';
import { viewOf, type ViewContext } from './view';

export type { EmailContent } from '../model';

/** One notice to render: what to say (the item) about which alert. */
export interface Notice {
  item: NotificationItem;
  alert: AlertRecord;
}

export type RenderContext = ViewContext & {
  /** Which part this email is, when one cycle's notices to the same people were split (lib/notify/group.ts). */
  part?: { index: number; total: number };
};

interface Section {
  kind: NotificationItem['kind'];
  headline: string;
  facts: [string, string][];
  runbook?: Runbook;
  links: [string, string][];
}

const PRODUCT = 'Entra Sync Watch';

function sectionFor({ item, alert }: Notice, ctx: RenderContext): Section {
  const view = viewOf(alert, ctx);
  const links = view.links.map((l): [string, string] => [l.label, l.href]);
  switch (item.kind) {
    case 'firing':
      return { kind: 'firing', headline: `${view.title}: ${view.about}`, facts: view.facts, runbook: view.runbook, links };
    case 'changed':
      return { kind: 'changed', headline: `Changed: ${view.title}: ${view.about}`, facts: view.facts, runbook: view.runbook, links };
    case 'reminder': {
      const firingFor = formatDuration(ctx.now.getTime() - Date.parse(item.startsAt));
      const facts: [string, string][] = [['Firing since', `${formatTime(item.startsAt)} (${firingFor})`], ...view.facts];
      return { kind: 'reminder', headline: `Reminder: ${view.title}: ${view.about}, for ${firingFor} now`, facts, runbook: view.runbook, links };
    }
    case 'resolved': {
      const endsAt = item.endsAt ?? alert.endsAt;
      const began = Date.parse(item.startsAt);
      const ended = endsAt ? Date.parse(endsAt) : ctx.now.getTime();
      const lasted = Number.isFinite(began) ? formatDuration(ended - began) : 'unknown';
      const facts: [string, string][] = [...view.facts.slice(0, alert.labels.jobId === '-' ? 1 : 3)];
      facts.push(['Alert began', formatTime(item.startsAt)], ['Resolved', formatTime(endsAt)], ['Lasted', lasted]);
      return { kind: 'resolved', headline: `Resolved: ${view.about} ${view.ended} after ${lasted}`, facts, links };
    }
  }
}

const COUNTED = new Map(RULES.map((rule) => [rule.condition, rule.counted]));

/** "2 quarantined, 1 resolved: Contoso, Northwind". */
function summarySubject(notices: Notice[], ctx: RenderContext): string {
  const counts = new Map<string, { n: number; one: string; many: string }>();
  for (const { item, alert } of notices) {
    const { condition } = alert.labels;
    const counted = COUNTED.get(condition) ?? { one: condition, many: condition };
    const prefix = item.kind === 'reminder' ? 'still ' : item.kind === 'changed' ? 'changed: ' : '';
    const key = item.kind === 'resolved' ? 'resolved' : `${item.kind}:${condition}`;
    const entry = counts.get(key) ?? (item.kind === 'resolved' ? { n: 0, one: 'resolved', many: 'resolved' } : { n: 0, one: prefix + counted.one, many: prefix + counted.many });
    entry.n++;
    counts.set(key, entry);
  }
  const parts = [...counts.values()].map(({ n, one, many }) => `${n} ${n === 1 ? one : many}`);
  const tenants = [...new Set(notices.map((n) => ctx.tenantNames.get(n.alert.labels.tenantId.toLowerCase()) ?? n.alert.labels.tenantId))];
  const where = tenants.length <= 3 ? tenants.join(', ') : `${tenants.slice(0, 3).join(', ')} and ${tenants.length - 3} more`;
  return `${parts.join(', ')}: ${where}`;
}

const KIND_RANK = { firing: 0, changed: 1, reminder: 2, resolved: 3 } as const;
const CONDITION_RANK = new Map(RULES.map((rule, i) => [rule.condition, i]));

/** New before changes before reminders before resolved; within each, what blocks the most first. */
function byUrgency(a: Notice, b: Notice): number {
  const rank = (n: Notice) => CONDITION_RANK.get(n.alert.labels.condition) ?? RULES.length;
  const name = (n: Notice) => String(n.alert.annotations.servicePrincipalName ?? n.alert.labels.servicePrincipalId);
  return KIND_RANK[a.item.kind] - KIND_RANK[b.item.kind] || rank(a) - rank(b) || name(a).localeCompare(name(b));
}

const COLOURS = { firing: '#a4262c', changed: '#a4262c', reminder: '#ca5010', resolved: '#107c10' } as const;

function sectionHtml(section: Section, level: 'h2' | 'h3'): string {
  const colour = COLOURS[section.kind];
  const rows = section.facts
    .map(([k, v]) => `<tr><th align="left" style="padding:4px 12px 4px 0;vertical-align:top">${escapeHtml(k)}</th><td style="padding:4px 0">${escapeHtml(v)}</td></tr>`)
    .join('\n');
  const runbook = section.runbook
    ? `<p>${escapeHtml(section.runbook.meaning)}</p>\n<p style="margin:12px 0 4px"><b>What to do</b></p>\n<ol>${section.runbook.steps.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ol>`
    : '';
  const links = section.links.length
    ? `<p>${section.links.map(([label, href]) => `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>`).join('<br>')}</p>`
    : '';
  return [
    `<div style="border-left:6px solid ${colour};padding:4px 16px;margin:16px 0 8px"><${level} style="margin:0;color:${colour}">${escapeHtml(section.headline)}</${level}></div>`,
    `<table style="border-collapse:collapse">${rows}</table>`,
    runbook,
    links,
  ].join('\n');
}

function sectionText(section: Section): string[] {
  const lines = [plain(section.headline, 300), ''];
  for (const [k, v] of section.facts) lines.push(`${k}: ${plain(v)}`);
  if (section.runbook) {
    lines.push('', plain(section.runbook.meaning), '', 'What to do:');
    section.runbook.steps.forEach((s, i) => lines.push(`${i + 1}. ${plain(s)}`));
  }
  if (section.links.length) {
    lines.push('');
    for (const [label, href] of section.links) lines.push(`${label}: ${href}`);
  }
  return lines;
}

/**
 * One email for the notices of one recipient set: a specific subject when it is about one alert,
 * a summary subject ("1 deletion hold, 1 quarantined: Contoso") when about several, then one
 * section per alert with what happened, the facts, and what to do.
 */
export function renderEmail(notices: Notice[], ctx: RenderContext): EmailContent {
  const unique = uniqueForRendering(notices.map((n) => n.item))
    .map((item) => notices.find((n) => n.item === item) as Notice)
    .sort(byUrgency);
  const sections = unique.map((n) => sectionFor(n, ctx));
  const single = sections.length === 1 ? sections[0] : undefined;
  const headline = single ? single.headline : summarySubject(unique, ctx);
  const footer = `Sent by ${PRODUCT}. ${unique.length === 1 ? 'Alert' : 'Alerts'} ${unique.map((n) => n.alert.fingerprint).join(', ')}.`;
  const part = ctx.part ? partLine(ctx.part) : undefined;

  const html = [
    '<!DOCTYPE html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(headline)}</title></head>`,
    '<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#201f1e">',
    part ? `<p style="margin:0 0 8px;color:#605e5c"><b>${escapeHtml(part)}</b></p>` : '',
    single ? '' : `<h2 style="margin:0 0 8px">${escapeHtml(headline)}</h2>\n<ul>${sections.map((s) => `<li>${escapeHtml(s.headline)}</li>`).join('')}</ul>`,
    ...sections.map((s) => sectionHtml(s, single ? 'h2' : 'h3')),
    `<p style="color:#605e5c;font-size:12px">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n');

  const text: string[] = part ? [part, ''] : [];
  if (!single) text.push(plain(headline, 300), '', ...sections.map((s) => `- ${plain(s.headline, 300)}`), '');
  sections.forEach((s, i) => {
    if (i > 0 || !single) text.push('----------------------------------------', '');
    text.push(...sectionText(s), '');
  });
  text.push(footer);

  const suffix = ctx.part ? ` (part ${ctx.part.index} of ${ctx.part.total})` : '';
  return { subject: headerSafe(`[${PRODUCT}] ${headline}`, 200 - suffix.length) + suffix, html, plainText: text.join('\n') };
}

/** The line atop each email of a split: which part, of how many, and why. */
function partLine(part: { index: number; total: number }): string {
  return `Part ${part.index} of ${part.total}: this cycle's notices to these recipients are split into ${part.total} emails so that each stays readable.`;
}
