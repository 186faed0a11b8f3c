/**
 * Coverage: what the monitor watches in each tenant, check by check, and what it cannot. Computed
 * by the observe stage every cycle (lib/observe/coverage.ts), kept in Table Storage so that how long
 * a check has been degraded survives restarts and is shared by instances and fan-out workers
 * (lib/store/coverage-store.ts), shown by `npm run status`, the status page and GET /api/status, and
 * raised as "Monitoring is partial" when a check stays degraded (lib/evaluate/rules/monitoring-partial.ts).
 *
 * Check names are a vocabulary other parts share (`npm run doctor` checks the same things):
 *   job-status:<job type>   the job status of one kind of configuration (lib/model/job-type.ts)
 *   discovery               finding the service principals that own jobs
 *   early-warnings          the synchronization secrets' settings (notification email, deletion
 *                           prevention, SCIM token expiry)
 *   provisioning-logs       failure digests, held deletes by name, silent jobs
 *   kql:<rule name>         one of the config's KQL rules (run per workspace, not per tenant)
 */

import { JOB_TYPES, type JobType } from './job-type';

export const DISCOVERY_CHECK = 'discovery';
export const EARLY_WARNINGS_CHECK = 'early-warnings';
export const PROVISIONING_LOGS_CHECK = 'provisioning-logs';

export const jobStatusCheck = (type: JobType): string => `job-status:${type}`;
export const kqlCheck = (rule: string): string => `kql:${rule}`;

/**
 * `active`: it runs; `degraded`: it cannot run as it should (a permission, a licence, a filter Graph
 * refused, throttling, a timeout...); `off`: the settings or the config turned it off.
 */
type CheckState = 'active' | 'degraded' | 'off';

/** Why a check is degraded or off, by kind, so surfaces can group and tests can match. */
export type CauseKind =
  | 'permission'
  | 'licence'
  | 'filter-refused'
  | 'throttled'
  | 'timeout'
  | 'outage'
  | 'invalid-response'
  | 'backlog'
  | 'late-events'
  | 'tenant-unreadable'
  | 'storage'
  | 'setting';

/**
 * What fixes it. Permission names come from lib/clients/permissions.ts only (one source for the
 * log, the status view, the alert and the README); the admin-consent link is made by each surface
 * from the app the monitor signs in with.
 */
export type CoverageFix =
  | { kind: 'permission'; permission: string; words: string }
  | { kind: 'licence'; licence: string; words: string }
  | { kind: 'role'; role: string; words: string }
  | { kind: 'setting'; setting: string; words: string }
  | { kind: 'consent'; words: string }
  | { kind: 'none'; words: string };

export interface CoverageCheck {
  /** `job-status:cross-tenant`, `discovery`, `early-warnings`, `provisioning-logs`, `kql:<name>`. */
  check: string;
  state: CheckState;
  /** Why it is degraded or off: its kind and one sentence (what Graph answered, what is not done). */
  cause?: { kind: CauseKind; words: string };
  fix?: CoverageFix;
  /** When it became degraded (ISO), kept across cycles while it stays degraded. */
  since?: string;
  /** The condition of an alert that already reports this degradation (no second alert for one cause). */
  alertedBy?: string;
  /** How it runs when it runs another way than the documented one (a fallback), in one sentence. */
  note?: string;
}

/** How a tenant's provisioning logs are read: the documented way or a fallback, and how late events arrive. */
export interface LogReadCoverage {
  source: 'graph' | 'log-analytics';
  /** `server`: Graph filters the failures; `time-only`: read by time, the failures kept on the client. */
  filter: 'server' | 'time-only';
  /** Why it is read by time only: Graph refused the status filter (400) or ignored it (other statuses came back). */
  filterFallback?: { reason: 'refused' | 'ignored'; since: string; retryAt: string };
  /** `$top` sent, or Graph's default page size (Graph refused `$top`). */
  pageSize: number | 'default';
  topFallback?: { since: string; retryAt: string };
  /** The overlap each read starts before its watermark, in force now, and the most it may widen to. */
  overlapMs: number;
  maxOverlapMs: number;
  /** The latest an event arrived (at least, in ms) in the last week, and when that was seen (ISO). */
  lateness?: { maxMs: number; at: string };
}

export interface TenantCoverage {
  /** A tenant ID, or `workspace:<id>` for the KQL rules of a Log Analytics workspace. */
  subject: string;
  /** When the checks were last computed (ISO). */
  checkedAt: string;
  checks: CoverageCheck[];
  provisioningLogs?: LogReadCoverage;
  /**
   * When the provisioning logs were last read to the end (ISO), and when they are read next at the
   * latest while nothing asks for them sooner (their turn in the rotation, lib/cycle/log-plan.ts).
   */
  logsReadAt?: string;
  logsNextBy?: string;
  /**
   * The coverage stored before could not be read this cycle: how long each check has been degraded
   * is not known (`since` says this cycle), so nothing is judged on it until it is.
   */
  sinceUnknown?: boolean;
}

/** A check's name in words, for messages and the status view: `job status (Entra Cloud Sync)`, `KQL rule kql-x`. */
export function checkLabel(check: string): string {
  if (check.startsWith('job-status:'))
    return `job status (${JOB_TYPES[check.slice('job-status:'.length) as JobType] ?? check.slice('job-status:'.length)})`;
  if (check.startsWith('kql:')) return `KQL rule ${check.slice('kql:'.length)}`;
  if (check === EARLY_WARNINGS_CHECK) return 'early warnings (synchronization secrets)';
  if (check === PROVISIONING_LOGS_CHECK) return 'provisioning logs';
  return check;
}

/** The checks of a coverage that are degraded. */
export function degradedChecks(coverage: TenantCoverage | undefined): CoverageCheck[] {
  return (coverage?.checks ?? []).filter((c) => c.state === 'degraded');
}
