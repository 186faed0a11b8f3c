import type { Matchers } from '../model/config-file';
import { checkLabel, type CoverageCheck } from '../model/coverage';
import {
  lastLogRead,
  logReadWords,
  statusHeadline,
  type StatusAlert,
  type StatusCoverage,
  type StatusMute,
  type StatusView,
} from './status';
import type { RememberedCycle } from '../store/cycle-history';
import { escapeHtml as e, formatDuration, formatTime, safeHttpsUrl } from '../util/text';

/**
 * The status view as one small HTML page (GET /api/status?format=html, or a browser's Accept):
 * open alerts by tenant with their age and route, tenants that cannot be read, coverage (what each
 * tenant's checks can do, with the cause and fix of a degraded one), silences and maintenance
 * windows with their ends, and the last cycles with their durations and problems. On a phone the
 * tables become one block per row, each cell labelled, so nothing is wider than the screen.
 * Every value is escaped (names come from Graph, written by whoever runs the source tenant); the
 * page carries no script, and its Content-Security-Policy forbids any.
 */

export const STATUS_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function matchersText(matchers: Matchers): string {
  const parts = Object.entries(matchers)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`);
  return parts.length > 0 ? parts.join(', ') : 'everything';
}

function tenantHeading(alert: { tenantId: string; tenantName?: string }): string {
  return alert.tenantName
    ? `${e(alert.tenantName)} <span class="id">${e(alert.tenantId)}</span>`
    : `<span class="id">${e(alert.tenantId)}</span>`;
}

function routeText(alert: StatusAlert): string {
  if (alert.routes.length === 0) return '<span class="muted">config not read</span>';
  return alert.routes
    .map((r) => `${e(r.to.join(', '))}${r.cc.length > 0 ? ` <span class="muted">cc ${e(r.cc.join(', '))}</span>` : ''}`)
    .join('<br>');
}

/** What an alert held while its configuration is confirmed missing says. */
function missingWords(since: string): string {
  return `not seen on the last read (since ${formatTime(since)}); confirming before it ends`;
}

/** Who acknowledged it and whom it was escalated to, under its state. */
function onCallText(alert: StatusAlert): string {
  const ack = alert.acknowledged
    ? `<div class="small"><span class="badge acked">acknowledged</span> by ${e(alert.acknowledged.by)} at ${e(formatTime(alert.acknowledged.at))}${alert.acknowledged.comment ? `<div class="muted small">“${e(alert.acknowledged.comment)}”</div>` : ''}</div>`
    : '';
  const escalated = (alert.escalated ?? [])
    .map((x) => `<div class="muted small">escalated to ${e(x.to)} at ${e(formatTime(x.at))}</div>`)
    .join('');
  return `${ack}${escalated}`;
}

function stateText(alert: StatusAlert): string {
  const missing = alert.missingSince ? `<div class="muted small">${e(missingWords(alert.missingSince))}</div>` : '';
  if (!alert.mutedBy) return `<span class="badge firing">firing</span>${missing}${onCallText(alert)}`;
  const until = alert.mutedBy.until ? ` until ${e(formatTime(alert.mutedBy.until))}` : '';
  return `<span class="badge muted-badge">${e(alert.mutedBy.kind === 'silence' ? 'silenced' : 'maintenance')}</span>${until}<div class="muted small">${e(alert.mutedBy.description)}</div>${missing}${onCallText(alert)}`;
}

function alertsSection(view: StatusView): string {
  if (view.firing.length === 0) return '<section><h2>Open alerts</h2><p class="ok">Nothing is firing.</p></section>';
  const byTenant = new Map<string, StatusAlert[]>();
  for (const alert of view.firing) byTenant.set(alert.tenantId, [...(byTenant.get(alert.tenantId) ?? []), alert]);
  const groups = [...byTenant.values()].map((alerts) => {
    const rows = alerts
      .map(
        (a) => `<tr>
  <td data-label="Alert"><strong>${e(a.title)}</strong>${a.reason ? `<div class="muted small">${e(a.reason)}</div>` : ''}</td>
  <td data-label="Configuration / job">${e(a.configuration ?? '')}<div class="id">${e(a.jobId === '-' ? '' : a.jobId)}</div></td>
  <td data-label="Age">${a.ageMs !== undefined ? e(formatDuration(a.ageMs)) : ''}<div class="muted small nowrap">since ${e(formatTime(a.since))}</div></td>
  <td data-label="Route">${routeText(a)}</td>
  <td data-label="State">${stateText(a)}</td>
</tr>`,
      )
      .join('\n');
    return `<h3>${tenantHeading(alerts[0] as StatusAlert)} <span class="count">${alerts.length} open</span></h3>
<table class="alerts"><thead><tr><th>Alert</th><th>Configuration / job</th><th>Age</th><th>Route</th><th>State</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
  });
  return `<section><h2>Open alerts <span class="count">${view.firing.length}</span></h2>\n${groups.join('\n')}</section>`;
}

function unreadableSection(view: StatusView): string {
  if (view.unreadable.length === 0) return '';
  const rows = view.unreadable
    .map((t) => {
      const consent = safeHttpsUrl(t.consentUrl);
      return `<tr>
  <td data-label="Tenant">${tenantHeading(t)}</td>
  <td data-label="Since" class="nowrap">${t.since ? e(formatTime(t.since)) : '<span class="muted">last cycle</span>'}</td>
  <td data-label="Graph answered">${e(t.problem ?? "see the last cycle's problems")}${t.likelyMissingPermission ? `<div class="small">likely missing <strong>${e(t.likelyMissingPermission)}</strong></div>` : ''}</td>
  <td data-label="Fix">${consent ? `<a href="${e(consent)}" rel="noreferrer noopener">admin consent</a>` : '<span class="muted">no app to consent to</span>'}</td>
</tr>`;
    })
    .join('\n');
  return `<section><h2>Tenants that cannot be read <span class="count">${view.unreadable.length}</span></h2>
<table class="unreadable"><thead><tr><th>Tenant</th><th>Since</th><th>Graph answered</th><th>Fix</th></tr></thead>
<tbody>
${rows}
</tbody></table></section>`;
}

const STATE_BADGE: Record<CoverageCheck['state'], string> = {
  active: 'ok-badge',
  degraded: 'firing',
  off: 'muted-badge',
};

function coverageRows(c: StatusCoverage): string {
  return c.checks
    .map(
      (check) => `<tr class="${e(check.state)}">
  <td data-label="Check">${e(checkLabel(check.check))}</td>
  <td data-label="State"><span class="badge ${STATE_BADGE[check.state]}">${e(check.state)}</span></td>
  <td data-label="Degraded since" class="nowrap">${check.since ? e(formatTime(check.since)) : ''}</td>
  <td data-label="Cause and fix">${check.cause ? e(check.cause.words) : ''}${check.state === 'degraded' && check.fix ? `<div class="small"><strong>Fix:</strong> ${e(check.fix.words)}</div>` : ''}${check.alertedBy ? `<div class="muted small">its own alert: ${e(check.alertedBy)}</div>` : ''}${check.note ? `<div class="muted small">${e(check.note)}</div>` : ''}</td>
</tr>`,
    )
    .join('\n');
}

function coverageSection(view: StatusView): string {
  const { tenants, total, counts } = view.coverage;
  const head = `<h2>Coverage${counts ? ` <span class="count">${e(counts.partial)} of ${e(counts.tenants)} partially watched</span>` : ''}</h2>`;
  if (tenants.length === 0)
    return `<section>${head}<p class="muted">No coverage recorded yet: it is recorded by the next cycle.</p></section>`;
  const blocks = tenants.map((c) => {
    const degraded = c.checks.filter((check) => check.state === 'degraded').length;
    const consent = safeHttpsUrl(c.consentUrl);
    const subject = c.subject.startsWith('workspace:')
      ? `Log Analytics workspace <span class="id">${e(c.subject.slice('workspace:'.length))}</span> <span class="muted small">(KQL rules)</span>`
      : tenantHeading({ tenantId: c.subject, tenantName: c.tenantName });
    return `<h3>${subject} <span class="count">${degraded > 0 ? `${e(degraded)} degraded` : 'every check runs'}</span></h3>
<table class="coverage"><thead><tr><th>Check</th><th>State</th><th>Degraded since</th><th>Cause and fix</th></tr></thead>
<tbody>
${coverageRows(c)}
</tbody></table>
${c.provisioningLogs ? `<p class="small logs-read"><strong>Provisioning logs:</strong> ${e(logReadWords(c.provisioningLogs))}</p>` : ''}${c.logsReadAt ? `<p class="small logs-read"><strong>Logs last read:</strong> ${e(lastLogRead(c))}</p>` : ''}${consent ? `<p class="small"><a href="${e(consent)}" rel="noreferrer noopener">admin consent for this tenant</a></p>` : ''}<p class="muted small">Checked ${e(formatTime(c.checkedAt))}</p>`;
  });
  const more =
    total > tenants.length
      ? `<p class="muted">${e(total - tenants.length)} more not listed (those with a degraded check are listed first).</p>`
      : '';
  return `<section>${head}\n${blocks.join('\n')}${more}</section>`;
}

/** What the monitor has learnt of each job: its usual failures at this hour, and its last escrows. */
function baselinesSection(view: StatusView): string {
  if (!view.baselines) return '';
  const { jobs, total } = view.baselines;
  const head = `<h2>Job baselines <span class="count">${e(total)} job(s) learnt</span></h2>`;
  if (jobs.length === 0)
    return `<section>${head}<p class="muted">Nothing learnt yet: each cycle adds to it.</p></section>`;
  const rows = jobs
    .map(
      (j) => `<tr>
  <td data-label="Job">${tenantHeading({ tenantId: j.tenantId, tenantName: j.tenantName })}<div class="id">${e(j.jobId)}</div></td>
  <td data-label="Usual failures now">${j.usual === undefined ? '<span class="muted">not learnt yet</span>' : `${e(j.usual)} <span class="muted small">(spread ${e(j.spread)}, by ${e(j.basis)})</span>`}</td>
  <td data-label="Learnt">${e(Math.round(j.hoursLearnt / 24))} day(s) of hours, ${e(j.runs)} run(s)</td>
  <td data-label="Escrows after the last run">${j.lastEscrowed === undefined ? '' : `${e(j.lastEscrowed)} <span class="muted small">(${e(formatTime(j.lastRunAt))})</span>`}</td>
</tr>`,
    )
    .join('\n');
  const more = total > jobs.length ? `<p class="muted">${e(total - jobs.length)} more not listed.</p>` : '';
  return `<section>${head}
<table class="baselines"><thead><tr><th>Job</th><th>Usual failures now</th><th>Learnt</th><th>Escrows after the last run</th></tr></thead>
<tbody>
${rows}
</tbody></table>${more}</section>`;
}

function muteRow(m: StatusMute): string {
  const silence = m.snoozed ? `Snooze <div class="muted small">${e(m.snoozed)}</div>` : 'Silence';
  const what =
    m.kind === 'silence'
      ? silence
      : `Maintenance window ${e(m.name ?? '')} <span class="muted small">(${e(m.timeZone ?? '')})</span>`;
  const when =
    m.kind === 'silence'
      ? `${m.active ? 'on' : `from ${e(formatTime(m.startsAt))}`} until <strong>${e(formatTime(m.endsAt))}</strong>`
      : m.active
        ? `on until <strong>${e(formatTime(m.endsAt))}</strong>`
        : 'weekly, not on now';
  return `<tr class="${m.active ? 'active' : 'upcoming'}">
  <td data-label="What">${what}</td>
  <td data-label="Matches"><code>${e(matchersText(m.matchers))}</code></td>
  <td data-label="When">${when}</td>
  <td data-label="By">${e(m.createdBy)}<div class="muted small">${e(m.comment)}</div></td>
</tr>`;
}

function mutesSection(view: StatusView): string {
  if (view.configProblem)
    return `<section><h2>Silences and maintenance windows</h2><p class="problem">The config file could not be read: ${e(view.configProblem)}</p></section>`;
  if (view.mutes.length === 0)
    return '<section><h2>Silences and maintenance windows</h2><p class="muted">None on or to come.</p></section>';
  return `<section><h2>Silences and maintenance windows</h2>
<table class="mutes"><thead><tr><th>What</th><th>Matches</th><th>When</th><th>By</th></tr></thead>
<tbody>
${view.mutes.map(muteRow).join('\n')}
</tbody></table></section>`;
}

/** Decisions from alerts and refused attempts: the audit (present only with WATCH_ACTIONS on). */
function auditSection(view: StatusView): string {
  const audit = view.audit;
  if (!audit) return '';
  const decisions =
    audit.decisions.length === 0
      ? '<p class="muted">No decision yet.</p>'
      : `<table class="decisions"><thead><tr><th>When</th><th>Alert</th><th>Decision</th><th>By</th><th>Outcome</th></tr></thead>
<tbody>
${audit.decisions
  .map(
    (d) => `<tr class="${d.status === 'done' ? 'good' : 'bad'}">
  <td class="nowrap">${e(formatTime(d.at))}</td>
  <td>${e(d.heading)}<div class="muted small">${e(d.tenant)} · state seen: ${e(d.stateSeen)}</div></td>
  <td><code>${e(d.action)}</code>${d.attempts > 1 ? ` <span class="muted small">(${e(d.attempts)} attempts)</span>` : ''}</td>
  <td>${e(d.by)}<div class="muted small">${e(d.via)}</div></td>
  <td><span class="${d.status === 'done' ? 'ok' : 'problem'}">${e(d.status)}</span><div class="muted small">${e(d.answer)}</div></td>
</tr>`,
  )
  .join('\n')}
</tbody></table>`;
  const refusals =
    audit.refusals.length === 0
      ? ''
      : `<h3>Refused</h3>
<table class="refusals"><thead><tr><th>When</th><th>Why</th><th>Who</th><th>What the page said</th></tr></thead>
<tbody>
${audit.refusals
  .map(
    (r) => `<tr>
  <td class="nowrap">${e(formatTime(r.at))}</td>
  <td><code>${e(r.refusal)}</code></td>
  <td>${e(r.by)}</td>
  <td class="small">${e(r.words)}</td>
</tr>`,
  )
  .join('\n')}
</tbody></table>`;
  return `<section><h2>Decisions from alerts <span class="count">${audit.decisions.length}</span></h2>
${decisions}
${refusals}</section>`;
}

function problemsCell(cycle: RememberedCycle): string {
  if (cycle.errors.length === 0) return '<span class="ok">none</span>';
  const more = cycle.omitted?.errors ? `<li class="muted">and ${cycle.omitted.errors} more</li>` : '';
  return `<ul>${cycle.errors.map((p) => `<li>${e(p)}</li>`).join('')}${more}</ul>`;
}

function cyclesSection(view: StatusView): string {
  if (view.recentCycles.length === 0)
    return '<section><h2>Last cycles</h2><p class="muted">No cycle has run yet.</p></section>';
  const rows = view.recentCycles
    .map(
      (c) => `<tr class="${c.errors.length > 0 ? 'bad' : 'good'}">
  <td data-label="Started" class="nowrap">${e(formatTime(c.startedAt))}</td>
  <td data-label="Took" class="num">${e(c.durationMs)} ms</td>
  <td data-label="Tenants" class="num">${e(c.tenantsChecked)}${c.tenantsUnreadable.length > 0 ? ` <span class="problem">(${e(c.tenantsUnreadable.length + (c.omitted?.tenantsUnreadable ?? 0))} unreadable)</span>` : ''}</td>
  <td data-label="Jobs" class="num">${e(c.jobsSeen)}</td>
  <td data-label="Firing" class="num">${e(c.alertsFiring)}</td>
  <td data-label="Emails sent" class="num">${e(c.notificationsSent)}${c.notificationsPending > 0 ? ` <span class="muted">+${e(c.notificationsPending)} waiting</span>` : ''}</td>
  <td data-label="Heartbeat">${e(c.heartbeat)}</td>
  <td data-label="Problems">${problemsCell(c)}</td>
</tr>`,
    )
    .join('\n');
  return `<section><h2>Last cycles</h2>
<table class="cycles"><thead><tr><th>Started</th><th>Took</th><th>Tenants</th><th>Jobs</th><th>Firing</th><th>Emails sent</th><th>Heartbeat</th><th>Problems</th></tr></thead>
<tbody>
${rows}
</tbody></table></section>`;
}

function summaryLine(view: StatusView): string {
  const { state, words } = statusHeadline(view);
  return `<p class="banner ${state}">${e(words)}</p>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1f; margin: 24px; max-width: 1200px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid #eee; }
th { font-weight: 600; color: #555; background: #fafafa; } td.num { text-align: right; white-space: nowrap; }
.id { font: 11px ui-monospace, monospace; color: #777; } .muted { color: #777; } .small { font-size: 12px; } .count { color: #777; font-weight: normal; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.firing { background: #fde7e9; color: #a4262c; } .muted-badge { background: #eee; color: #555; } .acked { background: #e7f4e8; color: #0b6a0b; }
.banner { padding: 10px 14px; border-radius: 6px; margin: 12px 0; } .banner.good { background: #e7f4e8; } .banner.bad { background: #fde7e9; } .banner.late { background: #fff4ce; }
.ok { color: #107c10; } .problem { color: #a4262c; } tr.bad td { background: #fffafa; } tr.upcoming td { color: #555; }
ul { margin: 0; padding-left: 18px; } code { font-size: 12px; } .nowrap { white-space: nowrap; }
.ok-badge { background: #e7f4e8; color: #107c10; } .badge { white-space: nowrap; } td, p, li { overflow-wrap: break-word; }
@media (max-width: 700px) {
  body { margin: 12px; }
  table, thead, tbody, tr, th, td { display: block; width: auto; }
  thead { display: none; } tr { border-bottom: 1px solid #ddd; padding: 4px 0; } td { border: 0; padding: 2px 4px; }
  td[data-label]::before { content: attr(data-label) ": "; color: #777; font-size: 12px; }
  td.num { text-align: left; } .nowrap { white-space: normal; } td:empty { display: none; }
}
`;

/** The whole page. */
export function renderStatusPage(view: StatusView): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(STATUS_PAGE_CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Entra Sync Watch: status</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Entra Sync Watch</h1>
<div class="muted small">Status at ${e(formatTime(view.generatedAt))}, from stored state (nothing here calls Graph).</div>
${summaryLine(view)}
${alertsSection(view)}
${unreadableSection(view)}
${coverageSection(view)}
${baselinesSection(view)}
${mutesSection(view)}
${auditSection(view)}
${cyclesSection(view)}
</body>
</html>
`;
}
