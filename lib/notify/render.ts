import type { AlertRecord, NotificationKind, PendingNotification } from '../reconcile/types';
import { deletionThresholdRunbook, quarantineRunbook, Runbook } from './runbooks';
import { escapeHtml, formatDuration, formatTime, headerSafe, plain, safeHttpsUrl } from './text';

export interface EmailContent {
  subject: string;
  html: string;
  plainText: string;
}

interface Section {
  headline: string;
  facts: [string, string][];
  runbook?: Runbook;
  links: [string, string][];
}

const PRODUCT = 'Entra Sync Watch';

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

function entraLink(a: AlertRecord): [string, string][] {
  const { servicePrincipalId } = a.labels;
  const appId = str(a.annotations.appId);
  if (servicePrincipalId === '-' || !/^[0-9a-f-]{36}$/i.test(servicePrincipalId) || !/^[0-9a-f-]{36}$/i.test(appId)) return [];
  return [[
    'Open the configuration in the Entra admin center',
    `https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/${servicePrincipalId}/appId/${appId}`,
  ]];
}

function jobFacts(a: AlertRecord): [string, string][] {
  const n = a.annotations;
  const facts: [string, string][] = [
    ['Tenant', a.labels.tenantId],
    ['Configuration', str(n.servicePrincipalName)],
    ['Job', `${a.labels.jobId}${n.templateId ? ` (${str(n.templateId)})` : ''}`],
    ['Reason', str(n.reason)],
  ];
  if (n.errorCode) facts.push(['Error code', str(n.errorCode)]);
  if (n.errorMessage) facts.push(['Error', str(n.errorMessage)]);
  facts.push(['Quarantined since', formatTime(n.seriesBegan ?? n.currentBegan)]);
  if (n.seriesCount !== undefined) facts.push(['Re-evaluations in this quarantine', str(n.seriesCount)]);
  facts.push(['Next attempt by Entra', formatTime(n.nextAttempt)]);
  if (n.deleteThreshold !== undefined) facts.push(['Deletion threshold', str(n.deleteThreshold)]);
  return facts;
}

function firingSection(a: AlertRecord): Section {
  const n = a.annotations;
  const name = str(n.servicePrincipalName) || a.labels.servicePrincipalId;
  const links = entraLink(a);
  const troubleshooting = safeHttpsUrl(n.troubleshootingUrl);
  if (troubleshooting) links.push(['Troubleshooting guide from Entra', troubleshooting]);
  switch (a.labels.condition) {
    case 'deletion-threshold':
      return {
        headline: `Deletion threshold tripped: ${name} is holding deletes for your decision`,
        facts: jobFacts(a),
        runbook: deletionThresholdRunbook(a.labels.servicePrincipalId, a.labels.jobId, typeof n.deleteThreshold === 'number' ? n.deleteThreshold : undefined),
        links,
      };
    case 'quarantine':
      return {
        headline: `Quarantined: ${name} (${str(n.reason)})`,
        facts: jobFacts(a),
        runbook: quarantineRunbook(str(n.reason), n.errorCode ? str(n.errorCode) : undefined),
        links,
      };
    case 'tenant-unreadable':
      return {
        headline: `Cannot monitor tenant ${a.labels.tenantId}`,
        facts: [
          ['Tenant', a.labels.tenantId],
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

function resolvedSection(a: AlertRecord, notification: PendingNotification, now: Date): Section {
  const n = a.annotations;
  const name = a.labels.condition === 'tenant-unreadable' ? `tenant ${a.labels.tenantId}` : str(n.servicePrincipalName) || a.labels.servicePrincipalId;
  const what = { 'deletion-threshold': 'deletion hold cleared', quarantine: 'left quarantine', 'tenant-unreadable': 'can be read again' }[a.labels.condition];
  const startsAt = notification.startsAt ?? a.startsAt;
  const endsAt = notification.endsAt ?? a.endsAt;
  const began = startsAt ? Date.parse(startsAt) : NaN;
  const ended = endsAt ? Date.parse(endsAt) : now.getTime();
  const lasted = Number.isFinite(began) ? formatDuration(ended - began) : 'unknown';
  const facts: [string, string][] = [['Tenant', a.labels.tenantId]];
  if (a.labels.jobId !== '-') facts.push(['Configuration', str(n.servicePrincipalName)], ['Job', a.labels.jobId], ['Was', str(n.reason)]);
  facts.push(['Alert began', formatTime(startsAt)], ['Resolved', formatTime(endsAt)], ['Lasted', lasted]);
  return { headline: `Resolved: ${name} ${what} after ${lasted}`, facts, links: entraLink(a) };
}

function subjectOf(section: Section): string {
  return headerSafe(`[${PRODUCT}] ${section.headline}`, 200);
}

function toHtml(section: Section, kind: NotificationKind, fingerprint: string): string {
  const colour = kind === 'resolved' ? '#107c10' : '#a4262c';
  const rows = section.facts
    .map(([k, v]) => `<tr><th align="left" style="padding:4px 12px 4px 0;vertical-align:top">${escapeHtml(k)}</th><td style="padding:4px 0">${escapeHtml(v)}</td></tr>`)
    .join('\n');
  const runbook = section.runbook
    ? `<p>${escapeHtml(section.runbook.meaning)}</p>\n<h3 style="margin:16px 0 4px">What to do</h3>\n<ol>${section.runbook.steps.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ol>`
    : '';
  const links = section.links.length
    ? `<p>${section.links.map(([label, href]) => `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>`).join('<br>')}</p>`
    : '';
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><title>' + escapeHtml(section.headline) + '</title></head>',
    '<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#201f1e">',
    `<div style="border-left:6px solid ${colour};padding:8px 16px;margin-bottom:12px"><h2 style="margin:0;color:${colour}">${escapeHtml(section.headline)}</h2></div>`,
    `<table style="border-collapse:collapse">${rows}</table>`,
    runbook,
    links,
    `<p style="color:#605e5c;font-size:12px">Sent by ${PRODUCT}. Alert ${escapeHtml(fingerprint)}.</p>`,
    '</body></html>',
  ].join('\n');
}

function toText(section: Section, fingerprint: string): string {
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
  lines.push('', `Sent by ${PRODUCT}. Alert ${fingerprint}.`);
  return lines.join('\n');
}

/** The email for one notification of one alert, as HTML and plain text. */
export function renderNotification(alert: AlertRecord, notification: PendingNotification, now: Date): EmailContent {
  const kind: NotificationKind = notification.kind;
  const section = kind === 'firing' ? firingSection(alert) : resolvedSection(alert, notification, now);
  return { subject: subjectOf(section), html: toHtml(section, kind, alert.fingerprint), plainText: toText(section, alert.fingerprint) };
}
