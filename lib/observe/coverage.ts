import {
  AZURE_ROLES,
  GRAPH_APPLICATION_PERMISSIONS,
  LOGS_LICENCE,
  READ_PERMISSIONS,
  SECRETS_READ,
  SECRETS_READ_FIX,
} from '../clients/permissions';
import {
  DISCOVERY_CHECK,
  EARLY_WARNINGS_CHECK,
  jobStatusCheck,
  kqlCheck,
  PROVISIONING_LOGS_CHECK,
  type CauseKind,
  type CoverageCheck,
  type CoverageFix,
  type LogReadCoverage,
  type TenantCoverage,
} from '../model/coverage';
import { JOB_TYPES, jobTypeOf, type JobType } from '../model/job-type';
import type { AccessProblem, TenantObservation } from '../model/observation';
import type { KqlRule } from '../model/policy';
import type { LogProblem, LogRead } from '../model/provisioning';
import { bounded } from '../util/text';
import { describeLogProblem, describeProblem } from './errors';

/**
 * Coverage of one tenant this cycle, from its observation (lib/model/coverage.ts says what each check
 * is). Pure: the same observation, settings, earlier coverage and clock give the same coverage. A
 * check degraded before keeps the time it became degraded; one that runs again loses it.
 */

/** What coverage needs besides the observation. */
export interface CoverageContext {
  now: Date;
  /** The coverage stored last time, for how long a check has been degraded. */
  previous?: TenantCoverage;
  /** WATCH_SECRETS_READ. */
  secretsRead: boolean;
  /** Where provisioning logs are read from; `off`: they are not (job status only). */
  logs: 'graph' | 'log-analytics' | 'off';
  /** Why the logs were not read this cycle, when they were meant to be (a timeout, a state that could not be loaded). */
  logsNotRead?: { kind: CauseKind; words: string };
}

/** Words of a cause or a note: one sentence, kept short enough for a status row and a table property. */
const WORDS_CHARS = 400;
const words = (text: string) => bounded(text, WORDS_CHARS);

/** The conditions of the alerts that already report a degradation of their own. */
const TENANT_UNREADABLE = 'tenant-unreadable';
const JOBS_UNREADABLE = 'jobs-unreadable';
const LOGS_UNREADABLE = 'provisioning-logs-unreadable';

function permissionFix(permission: string): CoverageFix {
  return {
    kind: 'permission',
    permission,
    words: `grant the Microsoft Graph application permission ${permission} in this tenant, with admin consent`,
  };
}

/** What a refused or failing Graph read means for coverage: its kind, and what fixes it. */
function accessCause(problem: AccessProblem): { kind: CauseKind; fix?: CoverageFix } {
  if (problem.kind === 'access') {
    const permission = problem.likelyMissingPermission ?? READ_PERMISSIONS[problem.operation];
    if (permission && permission in GRAPH_APPLICATION_PERMISSIONS)
      return { kind: 'permission', fix: permissionFix(permission) };
    return {
      kind: 'permission',
      fix: {
        kind: 'consent',
        words:
          'an administrator of the tenant consents to the monitoring app (its admin-consent link), and its credential is valid',
      },
    };
  }
  if (problem.kind === 'transient') {
    const kind: CauseKind = problem.code === 'Timeout' ? 'timeout' : problem.status === 429 ? 'throttled' : 'outage';
    return {
      kind,
      fix: { kind: 'none', words: 'nothing to change if it clears by itself; the monitor tries every cycle' },
    };
  }
  return { kind: 'invalid-response' };
}

const LOG_CAUSES: Record<LogProblem['kind'], CauseKind> = {
  access: 'permission',
  licence: 'licence',
  throttled: 'throttled',
  timeout: 'timeout',
  transient: 'outage',
  'invalid-response': 'invalid-response',
  'page-cap': 'backlog',
  partial: 'invalid-response',
  'query-error': 'invalid-response',
};

/** What fixes a provisioning-log or Log Analytics problem. */
function logFix(problem: LogProblem): CoverageFix | undefined {
  if (problem.kind === 'licence')
    return { kind: 'licence', licence: LOGS_LICENCE, words: `${LOGS_LICENCE} in the tenant` };
  if (problem.kind === 'access' && problem.source === 'log-analytics') {
    const role = AZURE_ROLES.find((r) => r.scope === 'logAnalyticsWorkspace')?.name ?? 'Log Analytics Reader';
    return {
      kind: 'role',
      role,
      words: `give the monitoring identity the role ${role} on the workspace in LOG_ANALYTICS_WORKSPACE_ID`,
    };
  }
  if (problem.kind === 'access') return permissionFix(READ_PERMISSIONS['provisioning logs'] as string);
  if (problem.kind === 'page-cap')
    return {
      kind: 'setting',
      setting: 'provisioningLogs.maxPagesPerCycle',
      words: 'raise provisioningLogs.maxPagesPerCycle in the config, if the backlog does not clear by itself',
    };
  if (problem.kind === 'query-error' || problem.kind === 'partial')
    return { kind: 'setting', setting: 'kqlRules', words: 'correct the rule in kqlRules, or narrow its query' };
  if (problem.kind === 'throttled' || problem.kind === 'transient' || problem.kind === 'timeout')
    return { kind: 'none', words: 'nothing to change if it clears by itself; the monitor tries every cycle' };
  return undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** How the logs were read, in coverage's terms. */
function logReadCoverage(source: 'graph' | 'log-analytics', read: LogRead): LogReadCoverage {
  return {
    source,
    filter: read.filter,
    filterFallback: read.filterFallback && {
      reason: read.filterFallback.reason,
      since: iso(read.filterFallback.since),
      retryAt: iso(read.filterFallback.retryAt),
    },
    pageSize: read.pageSize ?? 'default',
    topFallback: read.topFallback && { since: iso(read.topFallback.since), retryAt: iso(read.topFallback.retryAt) },
    overlapMs: read.overlapMs,
    maxOverlapMs: read.maxOverlapMs,
    lateness: read.lateness && { maxMs: read.lateness.maxMs, at: iso(read.lateness.at) },
  };
}

/** The fallbacks a read is in, in one sentence, or undefined when it is read the documented way (their times are in `provisioningLogs`). */
function fallbackNote(read: LogReadCoverage): string | undefined {
  const parts: string[] = [];
  if (read.filterFallback)
    parts.push(
      `fallback: read by time only, the failures kept on the client (Graph ${read.filterFallback.reason} the status filter)`,
    );
  if (read.topFallback) parts.push("fallback: pages of Graph's default size (Graph refused $top)");
  return parts.length > 0 ? parts.join('; ') : undefined;
}

function jobStatusChecks(o: TenantObservation): CoverageCheck[] {
  const types = new Map<JobType, AccessProblem | undefined>();
  for (const job of o.jobs) {
    const type = jobTypeOf({
      templateId: job.templateId,
      applicationTemplateId: job.servicePrincipal.applicationTemplateId,
    });
    if (!types.has(type)) types.set(type, undefined);
  }
  for (const { servicePrincipal, problem } of o.servicePrincipalProblems) {
    const type = jobTypeOf({ applicationTemplateId: servicePrincipal.applicationTemplateId });
    if (!types.get(type)) types.set(type, problem);
  }
  const order = Object.keys(JOB_TYPES) as JobType[];
  return [...types.entries()]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([type, problem]): CoverageCheck => {
      if (!problem) return { check: jobStatusCheck(type), state: 'active' };
      const unread = o.servicePrincipalProblems.filter(
        (p) => jobTypeOf({ applicationTemplateId: p.servicePrincipal.applicationTemplateId }) === type,
      ).length;
      const { kind, fix } = accessCause(problem);
      return {
        check: jobStatusCheck(type),
        state: 'degraded',
        cause: {
          kind,
          words: words(
            `the jobs of ${unread} ${JOB_TYPES[type]} configuration(s) could not be read: ${describeProblem(problem)}`,
          ),
        },
        fix,
        alertedBy: JOBS_UNREADABLE,
      };
    });
}

function discoveryCheck(o: TenantObservation): CoverageCheck {
  const refused = (o.degraded ?? []).find((d) => d.operation === 'servicePrincipals');
  const cache = (o.degraded ?? []).find((d) => d.operation === 'discovery cache');
  const probe = (o.degraded ?? []).find((d) => d.operation === 'synchronization/jobs');
  // Service principals that refuse their jobs in a sweep may simply have no provisioning (UNCONFIRMED): a note, not a degradation.
  const note = probe ? words(probe.consequence) : undefined;
  if (refused) {
    const cause = accessCause(refused.problem);
    const truncated = refused.problem.kind === 'invalid-response';
    return {
      check: DISCOVERY_CHECK,
      state: 'degraded',
      cause: { kind: cause.kind, words: words(`${describeProblem(refused.problem)}: ${refused.consequence}`) },
      fix: truncated
        ? {
            kind: 'setting',
            setting: 'discovery.servicePrincipals',
            words: 'list the service principals to watch in discovery.servicePrincipals in the config',
          }
        : cause.fix,
      note,
    };
  }
  if (cache)
    return {
      check: DISCOVERY_CHECK,
      state: 'degraded',
      cause: {
        kind: 'storage',
        words: words(`the discovery cache in Table Storage: ${cache.problem.message}: ${cache.consequence}`),
      },
      fix: { kind: 'none', words: 'check Table Storage (AzureWebJobsStorage); the monitor tries every cycle' },
      note,
    };
  return { check: DISCOVERY_CHECK, state: 'active', note };
}

function earlyWarningsCheck(o: TenantObservation, ctx: CoverageContext): CoverageCheck {
  if (!ctx.secretsRead)
    return {
      check: EARLY_WARNINGS_CHECK,
      state: 'off',
      cause: {
        kind: 'setting',
        words: `${SECRETS_READ.setting}=off: the synchronization secrets are not read, so the notification-email, deletion-prevention and SCIM-token checks do not run`,
      },
    };
  const unread = [...(o.secretsUnread?.values() ?? [])];
  if (unread.length === 0) return { check: EARLY_WARNINGS_CHECK, state: 'active' };
  const problem =
    unread.find((p) => p.kind === 'access') ?? unread.find((p) => p.kind === 'invalid-response') ?? unread[0];
  const refused = problem?.kind === 'access' || problem?.kind === 'invalid-response';
  const total = (o.syncSettings?.size ?? 0) + unread.length;
  return {
    check: EARLY_WARNINGS_CHECK,
    state: 'degraded',
    cause: {
      kind: refused ? 'permission' : accessCause(problem as AccessProblem).kind,
      words: words(
        `Graph ${refused ? 'refused' : 'did not answer'} the synchronization secrets of ${unread.length} of ${total} configuration(s) (${describeProblem({ ...(problem as AccessProblem), likelyMissingPermission: undefined })}): their notification-email, deletion-prevention and SCIM-token checks are skipped`,
      ),
    },
    fix: refused
      ? { kind: 'permission', permission: SECRETS_READ.knownToWork[0], words: SECRETS_READ_FIX }
      : accessCause(problem as AccessProblem).fix,
  };
}

function provisioningLogsCheck(
  o: TenantObservation,
  ctx: CoverageContext,
): {
  check: CoverageCheck;
  read?: LogReadCoverage;
} {
  const check = PROVISIONING_LOGS_CHECK;
  if (ctx.logs === 'off')
    return {
      check: {
        check,
        state: 'off',
        cause: { kind: 'setting', words: 'provisioning logs are not read (job status only)' },
      },
    };
  const provisioning = o.provisioning;
  if (!provisioning && o.logsDeferred)
    return {
      check: {
        check,
        state: 'active',
        note: 'read every cycle while a job shows trouble or a log alert is open, otherwise once per provisioningLogs.rotation',
      },
      read: ctx.previous?.provisioningLogs,
    };
  if (!provisioning)
    return {
      check: {
        check,
        state: 'degraded',
        cause: ctx.logsNotRead ?? { kind: 'outage', words: 'the provisioning logs were not read this cycle' },
      },
    };
  const read = provisioning.read && logReadCoverage(provisioning.source, provisioning.read);
  const note = read && fallbackNote(read);
  const main = provisioning.problems.find((p) => p.operation === 'provisioning logs' && p.kind !== 'page-cap');
  const problem = main ?? provisioning.problems[0];
  if (problem) {
    const timeOnly = read?.filter === 'time-only' && problem.kind === 'page-cap';
    return {
      check: {
        check,
        state: 'degraded',
        cause: {
          kind: timeOnly ? 'filter-refused' : LOG_CAUSES[problem.kind],
          words: words(
            problem.kind === 'page-cap'
              ? `the logs lag behind: ${problem.message}${timeOnly ? ' (read by time only since Graph refused the status filter, so every event is read)' : ''}`
              : describeLogProblem(problem),
          ),
        },
        fix: logFix(problem),
        // The logs' own alert already says a permission, a licence, throttling or an outage is in the way.
        alertedBy: main ? LOGS_UNREADABLE : undefined,
        note,
      },
      read,
    };
  }
  if (provisioning.read?.overlapCapped && read)
    return {
      check: {
        check,
        state: 'degraded',
        cause: {
          kind: 'late-events',
          words: words(
            `events arrive up to ${Math.round((read.lateness?.maxMs ?? 0) / 60_000)} min late, later than the widest overlap (${Math.round(read.maxOverlapMs / 60_000)} min) catches: some may be missed`,
          ),
        },
        fix: {
          kind: 'setting',
          setting: 'provisioningLogs.maxOverlap',
          words: 'raise provisioningLogs.maxOverlap in the config',
        },
        note,
      },
      read,
    };
  return { check: { check, state: 'active', note }, read };
}

/** Keeps the time each check became degraded, from the coverage stored last time. */
function withSince(checks: CoverageCheck[], previous: TenantCoverage | undefined, now: Date): CoverageCheck[] {
  const before = new Map((previous?.checks ?? []).map((c) => [c.check, c]));
  return checks.map((c) => {
    if (c.state !== 'degraded') return c;
    const earlier = before.get(c.check);
    return { ...c, since: earlier?.state === 'degraded' && earlier.since ? earlier.since : now.toISOString() };
  });
}

/** The coverage of a tenant that could not be read at all: every check it had is degraded by that, and its own alert says so. */
function unreadableCoverage(o: TenantObservation, problem: AccessProblem, ctx: CoverageContext): CoverageCheck[] {
  const { kind, fix } = accessCause(problem);
  // Short: the tenant's own alert, and the status view's unreadable tenants, say the whole answer.
  const answer = [problem.status, problem.code].filter((x) => x !== undefined && x !== '').join(' ');
  const cause = {
    kind: 'tenant-unreadable' as const,
    words: words(
      `the tenant cannot be read (${kind}${answer ? `: ${answer}` : ''} while reading ${problem.operation})`,
    ),
  };
  const names = new Set((ctx.previous?.checks ?? []).map((c) => c.check));
  names.add(DISCOVERY_CHECK);
  names.add(EARLY_WARNINGS_CHECK);
  names.add(PROVISIONING_LOGS_CHECK);
  return [...names].map((check): CoverageCheck => {
    if (check === EARLY_WARNINGS_CHECK && !ctx.secretsRead) return earlyWarningsCheck(o, ctx);
    if (check === PROVISIONING_LOGS_CHECK && ctx.logs === 'off') return provisioningLogsCheck(o, ctx).check;
    return { check, state: 'degraded', cause, fix, alertedBy: TENANT_UNREADABLE };
  });
}

/** Coverage of one tenant, from what this cycle read of it. */
export function tenantCoverage(o: TenantObservation, ctx: CoverageContext): TenantCoverage {
  let checks: CoverageCheck[];
  let read: LogReadCoverage | undefined;
  if (o.problem) {
    checks = unreadableCoverage(o, o.problem, ctx);
    read = ctx.previous?.provisioningLogs;
  } else {
    const logs = provisioningLogsCheck(o, ctx);
    read = logs.read;
    checks = [...jobStatusChecks(o), discoveryCheck(o), earlyWarningsCheck(o, ctx), logs.check];
  }
  const logsReadAt = o.provisioning?.complete
    ? ctx.now.toISOString()
    : (o.logsDeferred?.lastReadAt ?? ctx.previous?.logsReadAt);
  const logsNextBy = o.logsDeferred?.nextReadBy ?? (o.provisioning?.complete ? o.logsNextTurn : undefined);
  return {
    subject: o.tenantId,
    checkedAt: ctx.now.toISOString(),
    checks: withSince(checks, ctx.previous, ctx.now),
    ...(read ? { provisioningLogs: read } : {}),
    ...(logsReadAt ? { logsReadAt } : {}),
    ...(logsNextBy ? { logsNextBy } : {}),
  };
}

/** The subject the coverage of a workspace's KQL rules is kept under: they run once per workspace, not per tenant. */
export const workspaceSubject = (workspaceId: string | undefined): string => `workspace:${workspaceId ?? 'not set'}`;

/** What the KQL stage gave each rule this cycle: judged, or the problem that kept it from being judged. */
export interface KqlOutcomes {
  judged: Set<string>;
  problems: LogProblem[];
  /** Why none ran (no workspace setting, the stage failed), when none did. */
  notRun?: string;
}

/** Coverage of the config's KQL rules, under their workspace. */
export function kqlCoverage(
  workspaceId: string | undefined,
  rules: KqlRule[],
  outcomes: KqlOutcomes,
  previous: TenantCoverage | undefined,
  now: Date,
): TenantCoverage {
  const checks = rules.map((rule): CoverageCheck => {
    const check = kqlCheck(rule.name);
    if (outcomes.judged.has(rule.name)) return { check, state: 'active' };
    const problem = outcomes.problems.find((p) => p.operation === `kql rule ${rule.name}`);
    if (problem)
      return {
        check,
        state: 'degraded',
        cause: { kind: LOG_CAUSES[problem.kind], words: words(describeLogProblem(problem)) },
        fix: logFix(problem),
      };
    return {
      check,
      state: 'degraded',
      cause: outcomes.notRun?.includes('LOG_ANALYTICS_WORKSPACE_ID')
        ? { kind: 'setting', words: words(outcomes.notRun) }
        : { kind: 'outage', words: words(outcomes.notRun ?? 'the rule was not run this cycle') },
      fix: outcomes.notRun?.includes('LOG_ANALYTICS_WORKSPACE_ID')
        ? { kind: 'setting', setting: 'LOG_ANALYTICS_WORKSPACE_ID', words: 'set LOG_ANALYTICS_WORKSPACE_ID' }
        : undefined,
    };
  });
  return {
    subject: workspaceSubject(workspaceId),
    checkedAt: now.toISOString(),
    checks: withSince(checks, previous, now),
  };
}
