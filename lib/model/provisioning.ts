import type { EnumValue } from './index';

/**
 * What the provisioning logs say, normalised from either source: Graph `GET /auditLogs/provisioning`
 * (provisioningObjectSummary, camelCase enums) or the `AADProvisioningLogs` table of a Log Analytics
 * workspace (Capitalised values, JSON in string columns). docs/reference/graph-provisioning-api.md §3, §4.
 */

/** `provisioningAction` values (reference §3.2); the v1.0 page also spells `stageddelete`, so they are matched case-insensitively. */
export const PROVISIONING_ACTIONS = ['create', 'update', 'delete', 'stagedDelete', 'disable', 'other'] as const;
export type ProvisioningAction = (typeof PROVISIONING_ACTIONS)[number];

/** `provisioningStatusInfo.status` values (reference §3.2); Log Analytics writes `ResultType` Capitalised. */
export const PROVISIONING_STATUSES = ['success', 'warning', 'failure', 'skipped'] as const;
export type ProvisioningStatus = (typeof PROVISIONING_STATUSES)[number];

/** An object the event is about (sourceIdentity / targetIdentity). */
export interface ProvisionedObject {
  id: string;
  displayName: string;
  identityType?: string;
  /** The user principal name, where the event carries one. */
  upn?: string;
}

export interface ProvisioningEvent {
  id: string;
  changeId?: string;
  cycleId?: string;
  /** activityDateTime (Graph) or TimeGenerated (Log Analytics), in epoch milliseconds. */
  at: number;
  jobId: string;
  servicePrincipal: { id: string; displayName: string };
  action: EnumValue<ProvisioningAction>;
  status: EnumValue<ProvisioningStatus>;
  error?: { code: string; reason?: string; recommendedAction?: string; category?: string };
  source: ProvisionedObject;
  target: ProvisionedObject;
}

export type LogSource = 'graph' | 'log-analytics';

/**
 * Why provisioning logs (or a query) could not be read, each kind a named problem:
 * `access` (a permission is missing), `licence` (Entra ID P1/P2 is missing), `throttled` (429 after the
 * client's own retries), `timeout`, `transient` (outage, network), `invalid-response` (Graph or the
 * workspace sent something unusable), `page-cap` (more pages than one cycle reads; the rest waits),
 * `partial` (Log Analytics answered part of a query), `query-error` (the query itself was refused).
 */
type LogProblemKind =
  | 'access'
  | 'licence'
  | 'throttled'
  | 'timeout'
  | 'transient'
  | 'invalid-response'
  | 'page-cap'
  | 'partial'
  | 'query-error';

export interface LogProblem {
  kind: LogProblemKind;
  source: LogSource;
  /** What was being read: `provisioning logs`, `staged deletes of <job>`, `kql rule <name>`. */
  operation: string;
  status?: number;
  code?: string;
  message: string;
  /** The permission, role or licence most likely missing. */
  missing?: string;
  /** Seconds the service asked to wait (throttling). */
  retryAfterSeconds?: number;
}

/** The held deletes of a deletion-threshold trip, from the job's stagedDelete events. */
export interface HeldDeletes {
  /** Distinct objects held in the job's latest cycle with staged deletes. */
  count: number;
  /** Some of them, by name (sorted), for the email. */
  sample: ProvisionedObject[];
  cycleId?: string;
  /** When the last of them was staged (epoch ms). */
  lastAt?: number;
  /** More events than one cycle reads: the count is a lower bound. */
  capped: boolean;
}

/** When a job last wrote a provisioning event, for the "no events for too long" condition. */
export interface JobActivity {
  /** The newest event seen for the job (epoch ms), if any. */
  lastEventAt?: number;
  /** Since when the monitor has been looking (epoch ms): a job without events is judged from here. */
  watchingSince: number;
}

/** What one cycle learnt from the provisioning logs of one tenant. */
export interface ProvisioningObservation {
  source: LogSource;
  /**
   * Whether the logs were read up to now this cycle. Alerts built on them are judged only then;
   * otherwise they are held as they were (absence of evidence is not a recovery).
   */
  complete: boolean;
  /** What went wrong, if anything (the read may still have made progress). */
  problems: LogProblem[];
  /** The failure digest after this cycle's events. */
  digest: TenantDigest;
  /** Per job in a TooManyDeletes quarantine: its held deletes, or why they could not be read. */
  heldDeletes: Map<string, HeldDeletes | LogProblem>;
  /** Per job watched for silence, when its newest event is known this cycle. */
  activity: Map<string, JobActivity>;
  /** Jobs watched for silence whose newest event could not be read this cycle (their alerts are held). */
  activityUnknown: Set<string>;
  eventsRead: number;
  pagesRead: number;
  /** How the logs were read (absent: not read this cycle). */
  read?: LogRead;
}

/**
 * What the provisioning-log reader of one tenant carries from cycle to cycle (kept by
 * lib/store/provisioning-log-store.ts): its watermark, the ids of the events it may read again (the
 * overlap window), the failure digest and when watched jobs last wrote an event.
 */
export interface LogState {
  version: 1;
  source: LogSource;
  /** Up to when the logs were read (epoch ms): now, after a read to the end; the last event read, after a read that stopped part-way. */
  watermark?: number;
  /** The last read stopped part-way (the page cap, throttling, an outage): the next one goes on right after its last event, without an overlap window. */
  backlog: boolean;
  /** `[event time, id hash]` of every event the next read may return again. */
  seen: [number, string][];
  digest: TenantDigest;
  activity: Record<string, JobActivity>;
  /**
   * `seen` holds every event counted from this time on (epoch ms): a read never starts before it,
   * or an event counted before and forgotten since would count twice. Absent in states written
   * before it existed: then `seen` covered the configured overlap before the watermark.
   */
  seenSince?: number;
  /**
   * How Graph is asked when it is not the documented way (absent: it is): read by time only since
   * Graph refused or ignored the status filter, Graph's default page size since it refused `$top`;
   * each since when, and when the documented way is tried again (epoch ms).
   */
  query?: {
    statusFilter?: { reason: 'refused' | 'ignored'; since: number; retryAt: number };
    top?: { since: number; retryAt: number };
  };
  /** The overlap in force (ms), when late events widened it past the configured one. */
  overlapMs?: number;
  /** The latest an event arrived (at least, ms) within the last week, and when that was seen (epoch ms). */
  lateness?: { maxMs: number; at: number };
  /** When a read last looked back the whole widest overlap for late events (epoch ms). */
  lateCheckedAt?: number;
}

/** How one cycle read a tenant's provisioning logs: the documented way or a fallback, and how late events arrive. */
export interface LogRead {
  /** `server`: Graph filtered the failures; `time-only`: read by time, the failures kept on the client. */
  filter: 'server' | 'time-only';
  filterFallback?: { reason: 'refused' | 'ignored'; since: number; retryAt: number };
  /** `$top` sent, or Graph's default page size; absent for Log Analytics. */
  pageSize?: number | 'default';
  topFallback?: { since: number; retryAt: number };
  /** The overlap in force after this read, and the most it may widen to. */
  overlapMs: number;
  maxOverlapMs: number;
  /** Events arrive later than the widest overlap catches: some may be missed. */
  overlapCapped: boolean;
  lateness?: { maxMs: number; at: number };
  /** What changed with this read, one sentence each, for the log: a fallback taken or given up, the overlap widened. */
  changes: string[];
}

// ---- the failure digest (lib/observe/provisioning-digest.ts keeps it) ------------------------------

export interface FailureExample {
  at: number;
  id: string;
  name: string;
  upn?: string;
  action: string;
}

export interface CodeDigest {
  count: number;
  firstAt: number;
  lastAt: number;
  reason?: string;
  recommendedAction?: string;
  category?: string;
  /** The newest few objects that failed with this code, newest last. */
  examples: FailureExample[];
}

export interface JobDigest {
  servicePrincipalId: string;
  servicePrincipalName: string;
  /** Failures per minute inside the window, oldest first: [minute index (epoch ms / 60,000), failures]. */
  minutes: [number, number][];
  /** Failures in `minutes`. */
  inWindow: number;
  /** The newest failure of the stretch (epoch ms). */
  lastAt: number;
  /** The first failure of the stretch (epoch ms). */
  stretchStart: number;
  /** The most failures the window held at any time during the stretch. */
  peak: number;
  codes: Record<string, CodeDigest>;
}

export interface TenantDigest {
  jobs: Record<string, JobDigest>;
}
