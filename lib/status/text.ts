import type { Matchers } from '../model/config-file';
import { checkLabel } from '../model/coverage';
import { checkDetail, coverageSubject, lastLogRead, logReadWords, statusHeadline, type StatusView } from './status';
import { formatDuration, formatTime, headerSafe } from '../util/text';

/**
 * The status view as terminal tables (`npm run status`): the same sections as the HTML page. Every
 * cell is one line without control characters, so a display name from Graph cannot move the
 * cursor or recolour the terminal.
 */

const MAX_CELL = 48;

function cell(value: unknown, max = MAX_CELL): string {
  return headerSafe(value, max);
}

/** Columns padded to the widest cell, two spaces apart, headers in capitals. */
function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

function matchersText(matchers: Matchers): string {
  const parts = Object.entries(matchers)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`);
  return parts.length > 0 ? parts.join(', ') : 'everything';
}

/** What the monitor has learnt of each job: its usual failures at this hour, and its last escrows. */
function baselinesText(baselines: NonNullable<StatusView['baselines']>): string[] {
  const out = [`Job baselines (${baselines.total} job(s) learnt)`];
  if (baselines.jobs.length === 0) out.push('  Nothing learnt yet: each cycle adds to it.');
  else
    out.push(
      table(
        ['job', 'usual failures now', 'learnt', 'escrows after the last run'],
        baselines.jobs.map((j) => [
          cell(`${j.tenantName ?? j.tenantId} ${j.jobId}`, 120),
          j.usual === undefined ? 'not learnt yet' : `${j.usual} (spread ${j.spread}, by ${j.basis})`,
          `${Math.round(j.hoursLearnt / 24)} day(s), ${j.runs} run(s)`,
          j.lastEscrowed === undefined ? '' : `${j.lastEscrowed} (${formatTime(j.lastRunAt)})`,
        ]),
      ),
    );
  if (baselines.total > baselines.jobs.length)
    out.push(`  ${baselines.total - baselines.jobs.length} more not listed.`);
  return out;
}

/** Coverage: each tenant's checks with their state, since when degraded, cause and fix; how its logs are read. */
function coverageText(view: StatusView): string[] {
  const { tenants, total, counts } = view.coverage;
  const out = [
    `Coverage${counts ? ` (${counts.partial} of ${counts.tenants} tenant(s) partially watched at the last cycle)` : ''}`,
  ];
  if (tenants.length === 0) out.push('  No coverage recorded yet: it is recorded by the next cycle.');
  for (const t of tenants) {
    const degraded = t.checks.filter((c) => c.state === 'degraded').length;
    out.push(
      `  ${cell(coverageSubject(t), 90)}: ${degraded > 0 ? `${degraded} check(s) degraded` : 'every check runs'} (checked ${formatTime(t.checkedAt)})`,
    );
    out.push(
      table(
        ['check', 'state', 'degraded since', 'cause and fix'],
        t.checks.map((c) => [
          cell(checkLabel(c.check)),
          c.state,
          c.since ? formatTime(c.since) : '',
          cell(checkDetail(c), 800),
        ]),
      ).replace(/^ {2}/gm, '    '),
    );
    if (t.provisioningLogs) out.push(`    provisioning logs: ${cell(logReadWords(t.provisioningLogs), 400)}`);
    if (t.logsReadAt) out.push(`    logs last read: ${lastLogRead(t)}`);
    if (t.consentUrl) out.push(`    admin consent: ${cell(t.consentUrl, 600)}`);
  }
  if (total > tenants.length)
    out.push(`  ${total - tenants.length} more not listed (those with a degraded check are listed first).`);
  return out;
}

export function renderStatusText(view: StatusView): string {
  const out: string[] = [`Entra Sync Watch status at ${formatTime(view.generatedAt)}`, statusHeadline(view).words, ''];

  out.push(`Open alerts (${view.firing.length})`);
  if (view.firing.length === 0) out.push('  Nothing is firing.');
  const tenants = [...new Set(view.firing.map((a) => a.tenantId))];
  for (const tenantId of tenants) {
    const alerts = view.firing.filter((a) => a.tenantId === tenantId);
    const name = alerts[0]?.tenantName;
    out.push(`  ${name ? `${cell(name)} (${cell(tenantId)})` : cell(tenantId)}: ${alerts.length} open`);
    out.push(
      table(
        ['alert', 'configuration', 'age', 'route', 'state'],
        alerts.map((a) => [
          cell(a.reason ? `${a.title}: ${a.reason}` : a.title),
          cell(a.configuration ?? ''),
          a.ageMs !== undefined ? formatDuration(a.ageMs) : '',
          cell(a.routes.map((r) => r.to.join(', ')).join(' + ') || 'config not read', 60),
          a.mutedBy
            ? cell(
                `${a.mutedBy.kind === 'silence' ? 'silenced' : 'maintenance'}${a.mutedBy.until ? ` until ${formatTime(a.mutedBy.until)}` : ''}`,
              )
            : a.missingSince
              ? cell(`firing; not seen on the last read since ${formatTime(a.missingSince)}, confirming`)
              : 'firing',
        ]),
      ),
    );
    // Who is on them, and whom they were escalated to: a line each under the table.
    for (const a of alerts) {
      const name = cell(a.configuration ? `${a.title} (${a.configuration})` : a.title, 60);
      if (a.acknowledged)
        out.push(
          `    ${name}: acknowledged by ${cell(a.acknowledged.by, 100)} at ${formatTime(a.acknowledged.at)}${a.acknowledged.comment ? `: "${cell(a.acknowledged.comment, 120)}"` : ''}`,
        );
      for (const x of a.escalated ?? [])
        out.push(`    ${name}: escalated to ${cell(x.to, 100)} at ${formatTime(x.at)}`);
    }
  }

  if (view.unreadable.length > 0) {
    out.push('', `Tenants that cannot be read (${view.unreadable.length})`);
    out.push(
      table(
        ['tenant', 'since', 'graph answered'],
        view.unreadable.map((t) => [
          cell(t.tenantName ? `${t.tenantName} (${t.tenantId})` : t.tenantId, 60),
          t.since ? formatTime(t.since) : 'last cycle',
          cell(t.problem ?? '', 90),
        ]),
      ),
    );
    const links = view.unreadable.filter((t) => t.consentUrl);
    if (links.length > 0)
      out.push('  Admin consent links:', ...links.map((t) => `    ${cell(t.tenantId)}: ${cell(t.consentUrl, 600)}`));
  }

  out.push('', ...coverageText(view));
  if (view.baselines) out.push('', ...baselinesText(view.baselines));

  out.push('', 'Silences and maintenance windows');
  if (view.configProblem) out.push(`  The config file could not be read: ${cell(view.configProblem, 300)}`);
  else if (view.mutes.length === 0) out.push('  None on or to come.');
  else {
    out.push(
      table(
        ['what', 'matches', 'when', 'by'],
        view.mutes.map((m) => [
          cell(m.kind === 'silence' ? 'silence' : `maintenance "${m.name}"`),
          cell(matchersText(m.matchers)),
          m.kind === 'silence'
            ? `${m.active ? 'on' : `from ${formatTime(m.startsAt)}`} until ${formatTime(m.endsAt)}`
            : m.active
              ? `on until ${formatTime(m.endsAt)}`
              : `weekly (${cell(m.timeZone)}), not on now`,
          cell(`${m.createdBy}: ${m.comment}`, 60),
        ]),
      ),
    );
  }

  if (view.audit) {
    out.push('', 'Decisions from alerts');
    if (view.audit.decisions.length === 0) out.push('  No decision yet.');
    else
      out.push(
        table(
          ['when', 'alert', 'decision', 'by', 'outcome'],
          view.audit.decisions.map((d) => [
            formatTime(d.at),
            cell(d.heading, 60),
            cell(d.action, 50),
            cell(d.by),
            cell(`${d.status}: ${d.answer}`, 80),
          ]),
        ),
      );
    if (view.audit.refusals.length > 0)
      out.push(
        '  Refused:',
        table(
          ['when', 'why', 'who'],
          view.audit.refusals.map((r) => [formatTime(r.at), cell(r.refusal), cell(r.by)]),
        ),
      );
  }

  out.push('', 'Last cycles');
  if (view.recentCycles.length === 0) out.push('  No cycle has run yet.');
  else {
    out.push(
      table(
        ['started', 'took', 'tenants', 'unreadable', 'jobs', 'firing', 'sent', 'waiting', 'heartbeat', 'problems'],
        view.recentCycles.map((c) => [
          formatTime(c.startedAt),
          `${c.durationMs} ms`,
          String(c.tenantsChecked),
          String(c.tenantsUnreadable.length + (c.omitted?.tenantsUnreadable ?? 0)),
          String(c.jobsSeen),
          String(c.alertsFiring),
          String(c.notificationsSent),
          String(c.notificationsPending),
          c.heartbeat,
          c.errors.length === 0 ? 'none' : cell(`${c.errors.length + (c.omitted?.errors ?? 0)}: ${c.errors[0]}`, 90),
        ]),
      ),
    );
  }
  if (view.emailsWaiting > 0)
    out.push('', `${view.emailsWaiting} message(s) (emails, channel posts) wait for the next cycle.`);
  return `${out.join('\n')}\n`;
}
