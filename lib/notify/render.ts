import type { AlertRecord } from '../reconcile/types';
import type { NotificationItem } from './dedup';
import { uniqueForRendering } from './group';
import { deletionThresholdRunbook, quarantineRunbook, Runbook } from './runbooks';
import { escapeHtml, formatDuration, formatTime, headerSafe, plain, safeHttpsUrl } from './text';

export interface EmailContent {
  subject: string;
  html: string;
  plainText: string;
}

/** One notice to render: what to say (the item) about which alert. */
export interface Notice {
  item: NotificationItem;
  alert: AlertRecord;
}

export interface RenderContext {
  now: Date;
  /** Lower-case tenant id → name, from the config. */
  tenantNames: Map<string, string>;
}

interface Section {
  kind: NotificationItem['kind'];
  headline: string;
  facts: [string, string][];
  runbook?: Runbook;
  links: [string, string][];
}

const PRODUCT = 'Entra Sync Watch';

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

function tenantLabel(tenantId: string, ctx: RenderContext): string {
  const name = ctx.tenantNames.get(tenantId.toLowerCase());
  return name ? `${name} (${tenantId})` : tenantId;
}

function shortTenant(tenantId: string, ctx: RenderContext): string {
  return ctx.tenantNames.get(tenantId.toLowerCase()) ?? tenantId;
}

function entraLink(a: AlertRecord): [string, string][] {
  const { servicePrincipalId } = a.labels;
  const appId = str(a.annotations.appId);
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (!guid.test(servicePrincipalId) || !guid.test(appId)) return [];
  return [[
    'Open the configuration in the Entra admin center',
    `https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/${servicePrincipalId}/appId/${appId}`,
  ]];
}

function appName(a: AlertRecord): string {
  return str(a.annotations.servicePrincipalName) || a.labels.servicePrincipalId;
}

function jobFacts(a: AlertRecord, ctx: RenderContext): [string, string][] {
  const n = a.annotations;
  const facts: [string, string][] = [
    ['Tenant', tenantLabel(a.labels.tenantId, ctx)],
    ['Configuration', str(n.servicePrincipalName)],
    ['Job', `${a.labels.jobId}${n.templateId ? ` (${str(n.templateId)})` : ''}`],
    ['Reason', str(n.reason)],
  ];
  if (n.errorCode) facts.push(['Error code', str(n.errorCode)]);
  if (n.errorMessage) facts.push(['Error', str(n.errorMessage)]);
  facts.push(['Quarantined since', formatTime(n.seriesBegan ?? n.currentBegan)]);
  if (n.seriesCount !== undefined) facts.push(['Re-evaluations in this quarantine', str(n.seriesCount)]);
  facts.push(['Next attempt by Entra', formatTime(n.nextAttempt)]);
  if (a.labels.condition === 'deletion-threshold' && n.deleteThreshold !== undefined) facts.push(['Deletion threshold', str(n.deleteThreshold)]);
  return facts;
}

/** What is wrong and what to do, the same in a first notice and a reminder. */
function problemOf(a: AlertRecord, ctx: RenderContext): { what: string; facts: [string, string][]; runbook: Runbook; links: [string, string][] } {
  const n = a.annotations;
  const links = entraLink(a);
  const troubleshooting = safeHttpsUrl(n.troubleshootingUrl);
  if (troubleshooting) links.push(['Troubleshooting guide from Entra', troubleshooting]);
  switch (a.labels.condition) {
    case 'deletion-threshold':
      return {
        what: `${appName(a)} is holding deletes for your decision`,
        facts: jobFacts(a, ctx),
        runbook: deletionThresholdRunbook(a.labels.servicePrincipalId, a.labels.jobId, typeof n.deleteThreshold === 'number' ? n.deleteThreshold : undefined),
        links,
      };
    case 'quarantine':
      return {
        what: `${appName(a)} is quarantined (${str(n.reason)})`,
        facts: jobFacts(a, ctx),
        runbook: quarantineRunbook(str(n.reason), n.errorCode ? str(n.errorCode) : undefined),
        links,
      };
    case 'tenant-unreadable':
      return {
        what: `cannot monitor tenant ${shortTenant(a.labels.tenantId, ctx)}`,
        facts: [
          ['Tenant', tenantLabel(a.labels.tenantId, ctx)],
          ['Graph answered', str(n.problem)],
          ...(n.likelyMissingPermission ? ([['Likely missing', str(n.likelyMissingPermission)]] as [string, string][]) : []),
        ],
        runbook: {
          meaning: 'Entra Sync Watch cannot read this tenant\'s synchronization jobs. Its job alerts are held as they were (neither resolved nor re-sent) until it can.',
          steps: [
            'Check that the monitoring app is consented in this tenant with the application permissions Application.Read.All and Synchronization.Read.All (admin consent).',
            'Check that its credential (client secret, certificate or managed identity) is valid and not expired.',
          ],
        },
        links: [],
      };
  }
}

function firingHeadline(a: AlertRecord, ctx: RenderContext): string {
  switch (a.labels.condition) {
    case 'deletion-threshold':
      return `Deletion threshold tripped: ${appName(a)} is holding deletes for your decision`;
    case 'quarantine':
      return `Quarantined: ${appName(a)} (${str(a.annotations.reason)})`;
    case 'tenant-unreadable':
      return `Cannot monitor tenant ${shortTenant(a.labels.tenantId, ctx)}`;
  }
}

function sectionFor({ item, alert }: Notice, ctx: RenderContext): Section {
  if (item.kind === 'resolved') return resolvedSection(alert, item, ctx);
  const problem = problemOf(alert, ctx);
  if (item.kind === 'firing') return { kind: 'firing', headline: firingHeadline(alert, ctx), ...problem };
  const firingFor = formatDuration(ctx.now.getTime() - Date.parse(item.startsAt));
  const facts: [string, string][] = [['Firing since', `${formatTime(item.startsAt)} (${firingFor})`], ...problem.facts];
  return { kind: 'reminder', headline: `Reminder: ${problem.what}, for ${firingFor} now`, facts, runbook: problem.runbook, links: problem.links };
}

function resolvedSection(a: AlertRecord, item: NotificationItem, ctx: RenderContext): Section {
  const n = a.annotations;
  const name = a.labels.condition === 'tenant-unreadable' ? `tenant ${shortTenant(a.labels.tenantId, ctx)}` : appName(a);
  const what = { 'deletion-threshold': 'deletion hold cleared', quarantine: 'left quarantine', 'tenant-unreadable': 'can be read again' }[a.labels.condition];
  const endsAt = item.endsAt ?? a.endsAt;
  const began = Date.parse(item.startsAt);
  const ended = endsAt ? Date.parse(endsAt) : ctx.now.getTime();
  const lasted = Number.isFinite(began) ? formatDuration(ended - began) : 'unknown';
  const facts: [string, string][] = [['Tenant', tenantLabel(a.labels.tenantId, ctx)]];
  if (a.labels.jobId !== '-') facts.push(['Configuration', str(n.servicePrincipalName)], ['Job', a.labels.jobId], ['Was', str(n.reason)]);
  facts.push(['Alert began', formatTime(item.startsAt)], ['Resolved', formatTime(endsAt)], ['Lasted', lasted]);
  return { kind: 'resolved', headline: `Resolved: ${name} ${what} after ${lasted}`, facts, links: entraLink(a) };
}

const SUMMARY_WORDS: Record<string, [string, string]> = {
  'firing:deletion-threshold': ['deletion hold', 'deletion holds'],
  'firing:quarantine': ['quarantined', 'quarantined'],
  'firing:tenant-unreadable': ['tenant unreadable', 'tenants unreadable'],
  'reminder:deletion-threshold': ['deletion hold still waiting', 'deletion holds still waiting'],
  'reminder:quarantine': ['still quarantined', 'still quarantined'],
  'reminder:tenant-unreadable': ['tenant still unreadable', 'tenants still unreadable'],
  resolved: ['resolved', 'resolved'],
};

/** "2 quarantined, 1 resolved: Contoso, Northwind". */
function summarySubject(notices: Notice[], ctx: RenderContext): string {
  const counts = new Map<string, number>();
  for (const { item, alert } of notices) {
    const key = item.kind === 'resolved' ? 'resolved' : `${item.kind}:${alert.labels.condition}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const parts = Object.keys(SUMMARY_WORDS)
    .filter((k) => counts.has(k))
    .map((k) => {
      const n = counts.get(k) as number;
      const [one, many] = SUMMARY_WORDS[k] as [string, string];
      return `${n} ${n === 1 ? one : many}`;
    });
  const tenants = [...new Set(notices.map((n) => shortTenant(n.alert.labels.tenantId, ctx)))];
  const where = tenants.length <= 3 ? tenants.join(', ') : `${tenants.slice(0, 3).join(', ')} and ${tenants.length - 3} more`;
  return `${parts.join(', ')}: ${where}`;
}

const KIND_RANK = { firing: 0, reminder: 1, resolved: 2 } as const;
const CONDITION_RANK = { 'tenant-unreadable': 0, 'deletion-threshold': 1, quarantine: 2 } as const;

/** New before reminders before resolved; within each, what blocks the most first. */
function byUrgency(a: Notice, b: Notice): number {
  return (
    KIND_RANK[a.item.kind] - KIND_RANK[b.item.kind] ||
    CONDITION_RANK[a.alert.labels.condition] - CONDITION_RANK[b.alert.labels.condition] ||
    appName(a.alert).localeCompare(appName(b.alert))
  );
}

const COLOURS = { firing: '#a4262c', reminder: '#ca5010', resolved: '#107c10' } as const;

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

  const html = [
    '<!DOCTYPE html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(headline)}</title></head>`,
    '<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#201f1e">',
    single ? '' : `<h2 style="margin:0 0 8px">${escapeHtml(headline)}</h2>\n<ul>${sections.map((s) => `<li>${escapeHtml(s.headline)}</li>`).join('')}</ul>`,
    ...sections.map((s) => sectionHtml(s, single ? 'h2' : 'h3')),
    `<p style="color:#605e5c;font-size:12px">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n');

  const text: string[] = [];
  if (!single) text.push(plain(headline, 300), '', ...sections.map((s) => `- ${plain(s.headline, 300)}`), '');
  sections.forEach((s, i) => {
    if (i > 0 || !single) text.push('----------------------------------------', '');
    text.push(...sectionText(s), '');
  });
  text.push(footer);

  return { subject: headerSafe(`[${PRODUCT}] ${headline}`, 200), html, plainText: text.join('\n') };
}
