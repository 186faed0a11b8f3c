import { lastAttempt, type DecisionAudit } from '../actions/audit';
import { allReceivers, isEscalationReceiver, matchLabelsOf, routesFor } from '../dispatch/route';
import { standingAcknowledgement } from '../model/acknowledgement';
import { channelOf } from '../notify/channels';
import { viewOf } from '../evaluate/view';
import type { AlertRecord, CoverageCounts, CycleSummary, Severity } from '../model';
import type { CoverageCheck, LogReadCoverage, TenantCoverage } from '../model/coverage';
import type { CoverageStore } from '../store/coverage-store';
import type { HistoryStore } from '../store/history-store';
import { baselineOf } from '../evaluate/history';
import type { Matchers } from '../model/config-file';
import type { Policy } from '../model/policy';
import { silencedBy } from '../silence/silence';
import { isInWeeklyWindow, maintenanceEndsAt } from '../silence/windows';
import type { AlertStore } from '../store/alert-store';
import type { CycleHistory, RememberedCycle } from '../store/cycle-history';
import type { OutboxStore } from '../store/outbox-store';
import type { SilenceStore, StoredSilence } from '../store/silence-store';
import { formatDuration, formatTime } from '../util/text';

/** An alert firing now, as an operator looks at it. Text from Graph is untrusted: every renderer escapes it. */
export interface StatusAlert {
  tenantId: string;
  tenantName?: string;
  condition: string;
  /** The rule's short name: `Quarantined`, `Deletion threshold tripped`, `Cannot monitor`. */
  title: string;
  severity: Severity;
  configuration?: string;
  jobId: string;
  since?: string;
  /** How long it has been firing at `generatedAt`. */
  ageMs?: number;
  reason?: string;
  /** Where its notices go (the routing tree of the config file). */
  routes: { id: string; to: string[]; cc: string[] }[];
  /** A silence or maintenance window muting it now. */
  mutedBy?: { kind: 'silence' | 'maintenance'; description: string; until?: string };
  /** Its configuration was not seen on the last read, since then: held while that is confirmed. */
  missingSince?: string;
  /** Who acknowledged its firing period (while that stands: no reminders, no escalation). */
  acknowledged?: { by: string; at: string; comment?: string };
  /** The escalation steps that went out for its firing period: to whom, when. */
  escalated?: { to: string; at: string }[];
}

/** A tenant the monitor cannot read: the alert about it, or the last cycle's word while the alert is pending. */
interface UnreadableTenant {
  tenantId: string;
  tenantName?: string;
  since?: string;
  problem?: string;
  likelyMissingPermission?: string;
  /** The admin-consent link for the app the monitor signs in with (none for a managed identity alone). */
  consentUrl?: string;
}

/** A silence or maintenance window that is on now or still to come. */
export interface StatusMute {
  kind: 'silence' | 'maintenance';
  name?: string;
  matchers: Matchers;
  startsAt?: string;
  endsAt?: string;
  timeZone?: string;
  createdBy: string;
  comment: string;
  active: boolean;
  /** For a silence a snooze link made: the alert it snoozes. */
  snoozed?: string;
}

/** A tenant's coverage (or a workspace's, for the KQL rules) as the status view shows it. */
export type StatusCoverage = TenantCoverage & {
  tenantName?: string;
  /** The admin-consent link, when a check's fix is a permission and the monitor signs in with an app registration. */
  consentUrl?: string;
};

export interface StatusView {
  generatedAt: string;
  /** The last cycle's summary, or null before the first cycle. */
  lastCycle: CycleSummary | null;
  /** The last cycles, newest first (lib/store/cycle-history.ts RECENT_CYCLES_KEPT). */
  recentCycles: RememberedCycle[];
  /** Alerts firing now, oldest first. */
  firing: StatusAlert[];
  unreadable: UnreadableTenant[];
  /** Silences and maintenance windows on now or to come. */
  mutes: StatusMute[];
  /** Messages (emails and channel posts) planned and not yet sent (send budget, ACS or a channel failing). */
  emailsWaiting: number;
  /** Why routes and silences are not shown: the config file could not be read. */
  configProblem?: string;
  /**
   * What is watched per tenant and check: active, degraded (with the cause and the fix) or off. The
   * tenants with a degraded check come first; at most COVERAGE_SHOWN are listed, `total` says how
   * many coverages are kept, and `counts` are the last cycle's over every tenant it read.
   */
  coverage: { tenants: StatusCoverage[]; total: number; counts?: CoverageCounts };
  /** Decisions from alerts (WATCH_ACTIONS on): the audit, newest first; absent while actions are off. */
  audit?: StatusAudit;
  /** Each job's learnt baseline and last escrows (at most BASELINES_SHOWN), and how many jobs have a history. */
  baselines?: { jobs: StatusBaseline[]; total: number };
}

/** What the monitor has learnt of one job (lib/evaluate/history.ts), as the status view shows it. */
interface StatusBaseline {
  tenantId: string;
  tenantName?: string;
  jobId: string;
  /** The failures its window usually holds at this hour, and their spread; absent before any hour is learnt. */
  usual?: number;
  spread?: number;
  basis?: string;
  /** Hours learnt (at most a week's worth are kept). */
  hoursLearnt: number;
  /** Runs kept, and the escrows after the last of them. */
  runs: number;
  lastEscrowed?: number;
  lastRunAt?: string;
}

/** How many jobs' baselines the status view lists. */
const BASELINES_SHOWN = 100;

/** One decision as the audit shows it. */
interface StatusDecision {
  at: string;
  heading: string;
  tenant: string;
  /** `approve-deletes (resetScope ForceDeletes)`, `verify-user for Alex Wilber`. */
  action: string;
  /** `Adele Vance (adele.vance@contoso.com)`, and by what they may act. */
  by: string;
  via: string;
  /** done, refused, unknown, interrupted, started. */
  status: string;
  /** Graph's answer, and how an interrupted attempt was settled. */
  answer: string;
  /** The state Graph showed just before. */
  stateSeen: string;
  attempts: number;
}

/** One refused attempt as the audit shows it. */
interface StatusRefusal {
  at: string;
  refusal: string;
  by: string;
  words: string;
}

interface StatusAudit {
  decisions: StatusDecision[];
  refusals: StatusRefusal[];
}

/** How many tenants' coverages the status view lists (those with a degraded check first). */
const COVERAGE_SHOWN = 50;

export interface StatusOptions {
  /** The config file's routes and silences (none: routes and mutes are not shown). */
  policy?: Policy;
  now?: Date;
  /** The admin-consent link for a tenant, when the monitor signs in with an app registration. */
  consentUrl?: (tenantId: string) => string | undefined;
  configProblem?: string;
  /** Silences made by snooze links (absent: none are read). */
  snoozes?: SilenceStore;
  /** The audit of decisions from alerts (absent: actions are off, nothing is read). */
  audit?: DecisionAudit;
}

/** How many decisions and refusals the status shows (the audit keeps more, AUDIT_RETENTION_MS). */
const AUDIT_SHOWN = 20;

async function auditOf(audit: DecisionAudit, names: Map<string, string>): Promise<StatusAudit> {
  const [decisions, refusals] = await Promise.all([audit.decisions(), audit.refusals(AUDIT_SHOWN)]);
  return {
    decisions: decisions.slice(0, AUDIT_SHOWN).map(({ record }) => {
      const last = lastAttempt(record);
      const what = last.resetScope
        ? `${last.action} (resetScope ${last.resetScope})`
        : last.subject
          ? `${last.action} for ${last.subject.name ?? last.subject.objectId}`
          : last.action;
      const graph = last.graph
        ? `${last.graph.status || 'no answer'}${last.graph.code ? ` ${last.graph.code}` : ''}${last.graph.message ? `: ${last.graph.message}` : ''}`
        : '';
      return {
        at: last.endedAt ?? last.startedAt,
        heading: record.heading,
        tenant: record.tenantName ?? names.get(record.tenantId.toLowerCase()) ?? record.tenantId,
        action: what,
        by: last.by.upn && last.by.upn !== last.by.name ? `${last.by.name} (${last.by.upn})` : last.by.name,
        via: last.by.via,
        status: record.status,
        answer: [graph, last.note].filter(Boolean).join(' ') || 'none yet',
        stateSeen: last.stateSeen,
        attempts: record.attempts.length,
      };
    }),
    refusals: refusals.map(({ at, record }) => ({
      at,
      refusal: record.refusal,
      by: record.by ? (record.by.upn ? `${record.by.name} (${record.by.upn})` : record.by.name) : 'not signed in',
      words: record.words,
    })),
  };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** Whom an escalation receiver reaches, in words: its recipients, or its channel's name. */
function escalationTarget(receiverId: string, policy: Policy | undefined): string {
  const receiver = policy ? allReceivers(policy.route).find((r) => r.id === receiverId) : undefined;
  if (!receiver) return receiverId;
  if (receiver.channel) return channelOf(receiver.channel)?.name(receiver.channel) ?? receiver.channel.id;
  return [...receiver.to, ...receiver.cc].join(', ');
}

/** The escalation notices that went out for the alert's current firing period, oldest first. */
function escalationsOf(alert: AlertRecord, policy: Policy | undefined): StatusAlert['escalated'] {
  const sent = Object.entries(alert.notified)
    .filter(([id, log]) => isEscalationReceiver(id) && log.startsAt === alert.startsAt)
    .map(([id, log]) => ({ to: escalationTarget(id, policy), at: log.lastAt }))
    .sort((a, b) => a.at.localeCompare(b.at));
  return sent.length > 0 ? sent : undefined;
}

function statusAlert(alert: AlertRecord, now: Date, policy: Policy | undefined): StatusAlert {
  const tenantNames = policy?.tenantNames ?? new Map<string, string>();
  const labels = matchLabelsOf(alert, tenantNames);
  const muted = policy ? silencedBy(labels, policy, now) : undefined;
  const since = alert.startsAt;
  return {
    tenantId: alert.labels.tenantId,
    tenantName: labels.tenantName,
    condition: alert.labels.condition,
    title: viewOf(alert, { now, tenantNames }).title,
    severity: alert.severity,
    configuration: text(alert.annotations.servicePrincipalName),
    jobId: alert.labels.jobId,
    since,
    ageMs: since ? Math.max(0, now.getTime() - Date.parse(since)) : undefined,
    reason: text(alert.annotations.reason),
    routes: policy ? routesFor(policy.route, labels).map((r) => ({ id: r.id, to: r.to, cc: r.cc })) : [],
    mutedBy: muted
      ? { kind: muted.kind, description: muted.description, until: muted.until?.toISOString() }
      : undefined,
    missingSince: alert.missingSince,
    acknowledged: acknowledgedOf(alert),
    escalated: escalationsOf(alert, policy),
  };
}

function acknowledgedOf(alert: AlertRecord): StatusAlert['acknowledged'] {
  const ack = standingAcknowledgement(alert);
  return ack ? { by: ack.by, at: ack.at, ...(ack.comment ? { comment: ack.comment } : {}) } : undefined;
}

function mutesOf(policy: Policy | undefined, now: Date): StatusMute[] {
  if (!policy) return [];
  const silences: StatusMute[] = policy.silences
    .filter((s) => s.endsAt > now)
    .map((s) => ({
      ...('fingerprint' in s ? { snoozed: (s as StoredSilence).heading } : {}),
      kind: 'silence',
      matchers: s.matchers,
      startsAt: s.startsAt.toISOString(),
      endsAt: s.endsAt.toISOString(),
      createdBy: s.createdBy,
      comment: s.comment,
      active: s.startsAt <= now,
    }));
  const windows: StatusMute[] = policy.maintenanceWindows.map((w) => {
    const active = w.weekly.some((weekly) => isInWeeklyWindow(weekly, w.timeZone, now));
    return {
      kind: 'maintenance',
      name: w.name,
      matchers: w.matchers,
      endsAt: active ? maintenanceEndsAt(w.weekly, w.timeZone, now)?.toISOString() : undefined,
      timeZone: w.timeZone,
      createdBy: w.createdBy,
      comment: w.comment,
      active,
    };
  });
  return [...silences, ...windows];
}

function unreadableOf(
  firing: AlertRecord[],
  lastCycle: CycleSummary | undefined,
  options: StatusOptions,
): UnreadableTenant[] {
  const names = options.policy?.tenantNames;
  const byTenant = new Map<string, UnreadableTenant>();
  for (const alert of firing.filter((a) => a.labels.condition === 'tenant-unreadable')) {
    byTenant.set(alert.labels.tenantId, {
      tenantId: alert.labels.tenantId,
      since: alert.startsAt,
      problem: text(alert.annotations.problem),
      likelyMissingPermission: text(alert.annotations.likelyMissingPermission),
    });
  }
  for (const tenantId of lastCycle?.tenantsUnreadable ?? [])
    if (!byTenant.has(tenantId)) byTenant.set(tenantId, { tenantId });
  return [...byTenant.values()].map((t) => ({
    ...t,
    tenantName: names?.get(t.tenantId.toLowerCase()),
    consentUrl: options.consentUrl?.(t.tenantId),
  }));
}

/** What the status view reads: the alerts, the outbox, the cycle history and the coverage. */
export interface StatusStores {
  alerts: Pick<AlertStore, 'loadAll'>;
  outbox: Pick<OutboxStore, 'list'>;
  cycles: Pick<CycleHistory, 'latest' | 'recent'>;
  coverage?: Pick<CoverageStore, 'list'>;
  /** The job histories (absent: no baselines are shown). */
  jobHistories?: Pick<HistoryStore, 'list'>;
}

function baselinesOf(
  listed: Awaited<ReturnType<HistoryStore['list']>>,
  now: Date,
  options: StatusOptions,
): StatusView['baselines'] {
  const jobs = listed.histories.map(({ tenantId, jobId, history }): StatusBaseline => {
    const baseline = baselineOf(history.profile, now.getTime(), 0);
    const last = history.runs.at(-1);
    return {
      tenantId,
      tenantName: options.policy?.tenantNames.get(tenantId.toLowerCase()),
      jobId,
      ...(baseline
        ? {
            usual: Math.round(baseline.perHour * 10) / 10,
            spread: Math.round(baseline.spread * 10) / 10,
            basis: baseline.basis,
          }
        : {}),
      hoursLearnt: history.profile.hours.length,
      runs: history.runs.length,
      lastEscrowed: last?.escrowed,
      lastRunAt: last ? new Date(last.at).toISOString() : undefined,
    };
  });
  jobs.sort((a, b) => a.tenantId.localeCompare(b.tenantId) || a.jobId.localeCompare(b.jobId));
  return { jobs, total: listed.total };
}

/**
 * The coverages to show: tenants the config watches (a workspace's only while the config has KQL
 * rules), named from the config, with the consent link when a fix is a permission.
 */
function coverageOf(
  listed: { coverages: TenantCoverage[]; total: number },
  counts: CoverageCounts | undefined,
  options: StatusOptions,
): StatusView['coverage'] {
  const kql = (options.policy?.kqlRules?.length ?? 0) > 0;
  const tenants = listed.coverages
    .filter((c) => !c.subject.startsWith('workspace:') || kql || !options.policy)
    .map((c): StatusCoverage => {
      const permission = c.checks.some(
        (check) => check.state === 'degraded' && (check.fix?.kind === 'permission' || check.fix?.kind === 'consent'),
      );
      return {
        ...c,
        tenantName: options.policy?.tenantNames.get(c.subject.toLowerCase()),
        consentUrl: permission && !c.subject.startsWith('workspace:') ? options.consentUrl?.(c.subject) : undefined,
      };
    });
  return { tenants, total: listed.total, ...(counts ? { counts } : {}) };
}

/** What a check says besides its state: why it is degraded or off and what fixes it, or how it runs when it runs another way. */
export function checkDetail(check: CoverageCheck): string {
  const parts: string[] = [];
  if (check.cause) parts.push(check.cause.words);
  if (check.state === 'degraded' && check.fix) parts.push(`fix: ${check.fix.words}`);
  if (check.alertedBy) parts.push(`its own alert: ${check.alertedBy}`);
  if (check.note) parts.push(check.note);
  return parts.join('; ');
}

/** The subject of a coverage in words: a tenant's name and ID, or a workspace. */
export function coverageSubject(c: StatusCoverage): string {
  if (c.subject.startsWith('workspace:'))
    return `Log Analytics workspace ${c.subject.slice('workspace:'.length)} (KQL rules)`;
  return c.tenantName ? `${c.tenantName} (${c.subject})` : c.subject;
}

/** When a tenant's provisioning logs were last read to the end and, while nothing asks for them sooner, when they are read next at the latest. */
export function lastLogRead(c: Pick<TenantCoverage, 'logsReadAt' | 'logsNextBy'>): string {
  const next = c.logsNextBy
    ? `; next by ${formatTime(c.logsNextBy)} (its turn in the rotation, or sooner if a job shows trouble)`
    : '';
  return `${c.logsReadAt ? formatTime(c.logsReadAt) : 'not yet'}${next}`;
}

/** How a tenant's provisioning logs are read, in one line: the filter, the page size, the overlap and how late events came. */
export function logReadWords(read: LogReadCoverage): string {
  const parts = [
    read.source === 'log-analytics'
      ? 'from Log Analytics'
      : read.filter === 'server'
        ? 'failures filtered by Graph'
        : `read by time only, failures kept here (Graph ${read.filterFallback?.reason ?? 'refused'} the status filter; tried again ${formatTime(read.filterFallback?.retryAt)})`,
  ];
  if (read.source === 'graph')
    parts.push(
      read.pageSize === 'default'
        ? `pages of Graph's default size (Graph refused $top; tried again ${formatTime(read.topFallback?.retryAt)})`
        : `pages of ${read.pageSize}`,
    );
  parts.push(
    `overlap ${formatDuration(read.overlapMs)} (widens up to ${formatDuration(read.maxOverlapMs)})`,
    read.lateness
      ? `latest event ${formatDuration(read.lateness.maxMs)} late (${formatTime(read.lateness.at)})`
      : 'no late event in the last week',
  );
  return parts.join('; ');
}

/** What is firing now, what is muted, and how the last cycles went, from stored state only (no Graph call). */
export async function readStatus(stores: StatusStores, options: StatusOptions = {}): Promise<StatusView> {
  const now = options.now ?? new Date();
  const [records, lastCycle, recentCycles, planned, snoozes, coverage, audit, histories] = await Promise.all([
    stores.alerts.loadAll(),
    stores.cycles.latest(),
    stores.cycles.recent(),
    stores.outbox.list(),
    options.snoozes?.list() ?? [],
    stores.coverage?.list(COVERAGE_SHOWN) ?? { coverages: [], total: 0 },
    options.audit ? auditOf(options.audit, options.policy?.tenantNames ?? new Map()) : undefined,
    stores.jobHistories?.list(BASELINES_SHOWN),
  ]);
  // Snoozes mute beside the config's silences, here as in the cycle.
  options =
    options.policy && snoozes.length > 0
      ? { ...options, policy: { ...options.policy, silences: [...options.policy.silences, ...snoozes] } }
      : options;
  const firing = [...records.values()]
    .filter((a) => a.state === 'firing')
    .sort((a, b) => (a.startsAt ?? '').localeCompare(b.startsAt ?? ''));
  return {
    generatedAt: now.toISOString(),
    lastCycle: lastCycle ?? null,
    recentCycles,
    firing: firing.map((a) => statusAlert(a, now, options.policy)),
    unreadable: unreadableOf(firing, lastCycle, options),
    mutes: mutesOf(options.policy, now),
    emailsWaiting: planned.length,
    configProblem: options.configProblem,
    coverage: coverageOf(coverage, lastCycle?.coverage, options),
    ...(audit ? { audit } : {}),
    ...(histories ? { baselines: baselinesOf(histories, now, options) } : {}),
  };
}

/** A cycle older than this is late: the schedule stopped (the "no cycle finished" alert fires at 15 minutes too). */
const LATE_MS = 15 * 60_000;

/** The one sentence an operator reads first, and how it should look: good, bad (problems) or late. */
export function statusHeadline(view: StatusView): { state: 'good' | 'bad' | 'late'; words: string } {
  const last = view.lastCycle;
  const counts = view.coverage.counts;
  const partial =
    counts && counts.partial > 0
      ? ` ${counts.partial} of ${counts.tenants} tenant(s) are only partially watched (see Coverage).`
      : '';
  const after = `${partial}${view.emailsWaiting > 0 ? ` ${view.emailsWaiting} message(s) (emails, channel posts) wait for the next cycle.` : ''}`;
  if (!last) return { state: 'late', words: `No cycle has finished yet.${after}` };
  const ago = Date.parse(view.generatedAt) - Date.parse(last.startedAt);
  if (ago > LATE_MS)
    return {
      state: 'late',
      words: `The last cycle started ${formatDuration(ago)} ago: the schedule may have stopped.${after}`,
    };
  if (last.errors.length > 0) {
    return {
      state: 'bad',
      words: `The last cycle, ${formatDuration(ago)} ago, could not do its whole job (${last.errors.length} problem(s)).${after}`,
    };
  }
  return { state: 'good', words: `The last cycle, ${formatDuration(ago)} ago, did its whole job.${after}` };
}
