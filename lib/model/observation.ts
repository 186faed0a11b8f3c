/** What one cycle saw in Graph, normalised. Enum values are canonical where known and kept raw otherwise. */

import type { EnumValue } from './index';
import type { TenantCoverage } from './coverage';
import type { ProvisioningObservation } from './provisioning';
import type { JobHistories } from './history';

export const STATUS_CODES = ['NotConfigured', 'NotRun', 'Active', 'Paused', 'Quarantine'] as const;
export type StatusCode = (typeof STATUS_CODES)[number];

export const QUARANTINE_REASONS = [
  'EncounteredBaseEscrowThreshold',
  'EncounteredTotalEscrowThreshold',
  'EncounteredEscrowProportionThreshold',
  'EncounteredQuarantineException',
  'Unknown',
  'QuarantinedOnDemand',
  'TooManyDeletes',
  'IngestionInterrupted',
] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

/** `synchronizationSchedule.state` (docs/reference/graph-provisioning-api.md §1.3). */
export const SCHEDULE_STATES = ['Active', 'Disabled', 'Paused'] as const;
export type ScheduleState = (typeof SCHEDULE_STATES)[number];

/** `synchronizationTaskExecution.state` (reference §1.5). */
export const EXECUTION_STATES = ['Succeeded', 'Failed', 'EntryLevelErrors'] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];

export interface SyncError {
  code: string;
  message: string;
  tenantActionable: boolean;
}

export interface ServicePrincipalRef {
  id: string;
  appId: string;
  displayName: string;
  applicationTemplateId?: string;
}

export interface JobSnapshot {
  tenantId: string;
  servicePrincipal: ServicePrincipalRef;
  jobId: string;
  templateId: string;
  status: EnumValue<StatusCode>;
  /** `schedule.state` as Graph spelled it (kept for callers that only log it). */
  scheduleState?: string;
  /** The schedule: its state matched case-insensitively, its ISO 8601 interval and that interval in ms. */
  schedule?: {
    state: EnumValue<ScheduleState>;
    /** `PT40M`, `PT2M`, `P10675199DT2H48M5.4775807S` (TimeSpan.MaxValue on a disabled job). */
    interval?: string;
    /** The interval in milliseconds; undefined when absent or not an ISO 8601 duration. */
    intervalMs?: number;
  };
  /** `status.countSuccessiveCompleteFailures`: consecutive runs that failed completely. */
  countSuccessiveCompleteFailures?: number;
  /** `status.escrowsPruned`: Entra pruned object errors in the initial cycle instead of quarantining, and pauses the job. */
  escrowsPruned?: boolean;
  /** When Entra last (first) saw the job in steady state; undefined when never (0001-01-01). */
  steadyStateLastAchievedTime?: Date;
  steadyStateFirstAchievedTime?: Date;
  /** The last run that had no errors (`null` in Graph: undefined). */
  lastSuccessfulExecution?: { timeBegan?: Date; timeEnded?: Date };
  /** The latest `progressObservationDateTime` of `status.progress`: a run is under way. */
  progressObservedAt?: Date;
  /**
   * When the monitor first saw this job (from the discovery cache in Table Storage): the only
   * clock a never-run job has, since Graph gives it no times at all.
   */
  firstSeenAt?: Date;
  /** Present while Graph reports a quarantine object. Dates are undefined when never set (0001-01-01). */
  quarantine?: {
    reason: EnumValue<QuarantineReason>;
    currentBegan?: Date;
    seriesBegan?: Date;
    seriesCount?: number;
    nextAttempt?: Date;
    error?: SyncError;
  };
  /** The last run; undefined when Graph says `null` (a job created but never started). */
  lastExecution?: {
    /** As Graph spelled it. */
    state?: string;
    /** `state` matched case-insensitively; undefined for a value we do not know. */
    result?: ExecutionState;
    timeBegan?: Date;
    timeEnded?: Date;
    error?: SyncError;
    /** Objects in error (escrow) after the run. Not `countEscrowedRaw`, which counts system escrows too (reference §1.5). */
    countEscrowed?: number;
    /** With system escrows: counted by Entra's absolute limit (reference §6.3), not a sign of trouble alone. */
    countEscrowedRaw?: number;
    countEntitled?: number;
    countExported?: number;
  };
  troubleshootingUrl?: string;
  /** `QuarantineTooManyDeletesThreshold` from the job settings, when present. */
  deleteThreshold?: number;
}

/** Why a tenant (or part of it) could not be read. */
export interface AccessProblem {
  /** `access` = credentials or permissions (will not fix itself); `transient` = throttling, outage, network. */
  kind: 'access' | 'transient' | 'invalid-response';
  /** HTTP status from Graph or the authority, when there was one. */
  status?: number;
  /** Graph error code (`Authorization_RequestDenied`, `UnknownError`, ...) or AADSTS code. */
  code?: string;
  message: string;
  /** The permission most likely missing, when the error points at one. */
  likelyMissingPermission?: string;
  /** What was being read: `servicePrincipals`, `synchronization/jobs`, `token`. */
  operation: string;
}

/**
 * What a service principal's synchronization secrets say, for the early warnings (reference §1.14).
 * Only these facts are kept; credential values never leave the reader.
 */
export interface SyncSettings {
  /** `SyncNotificationSettings`, a JSON document in a string; undefined when the key is absent or not JSON. */
  notifications?: {
    /** Entra's own quarantine email on (`Enabled`). */
    enabled?: boolean;
    /** `Recipients`, as given (addresses separated by `;` or `,`). */
    recipients?: string;
    /** Accidental-deletion prevention on (`DeleteThresholdEnabled`). */
    deleteThresholdEnabled?: boolean;
    deleteThresholdValue?: number;
  };
  /** `TokenExpiration` of a SCIM secret token: the raw text and, when it parses, the time. */
  tokenExpiration?: { raw: string; at?: Date };
  /** The secret keys present (names only). */
  keys: string[];
}

/** A check that could not run for a whole tenant (a permission it lacks), named once per cycle. */
interface DegradedCheck {
  /** What could not be read: `synchronization/secrets`, `servicePrincipals` (discovery). */
  operation: string;
  /** What the monitor does without it. */
  consequence: string;
  problem: AccessProblem;
}

/**
 * A configuration seen before and not on this read: its service principal's job list answered 404,
 * or a job it had is no longer listed. One read is not proof (Graph answers a transient 404 or an
 * empty list now and then), so it is gone only once a later read, at least `confirmAfterMs` after
 * the first, misses it too (lib/observe/observe.ts); until then its alerts are held.
 */
export interface MissingConfiguration {
  servicePrincipal: ServicePrincipalRef;
  /** The job no longer listed; undefined: the whole service principal (its job list answered 404). */
  jobId?: string;
  /** When a read first missed it (ISO), kept in the discovery cache. */
  since: string;
  /** Missed again by a read at least `confirmAfterMs` later: it is gone, and its alerts end. */
  confirmed: boolean;
}

export interface TenantObservation {
  tenantId: string;
  /** Set when the tenant could not be read at all: its job alerts are held as they were. */
  problem?: AccessProblem;
  jobs: JobSnapshot[];
  /** Service principals whose jobs were read; alerts of other service principals are held. */
  servicePrincipalsRead: Set<string>;
  /** Service principals whose jobs could not be read, with the reason (the others are still reported). */
  servicePrincipalProblems: { servicePrincipal: ServicePrincipalRef; problem: AccessProblem }[];
  /** Every service principal watched this cycle (read or not); absent in observations made before discovery existed. */
  servicePrincipals?: ServicePrincipalRef[];
  /** What each service principal's synchronization secrets say, by service principal id (only those read). */
  syncSettings?: Map<string, SyncSettings>;
  /** Service principals whose secrets could not be read, with why: their settings alerts are held. */
  secretsUnread?: Map<string, AccessProblem>;
  /** Checks that could not run for this tenant (named once, never making the tenant unreadable). */
  degraded?: DegradedCheck[];
  /** How the service principals were found this cycle, for the log. */
  discovery?: { swept: boolean; listed: number; candidates: number; known: number; sweptAt?: string };
  /** Configurations seen before and missing from this read (absent: none, or nothing to compare with). */
  missing?: MissingConfiguration[];
  /** What the provisioning logs said this cycle (absent: they were not read, e.g. the tenant itself could not be). */
  provisioning?: ProvisioningObservation;
  /**
   * The provisioning logs were not due this cycle (lib/cycle/log-plan.ts): nothing in the job status
   * asked for them and the tenant's turn in the rotation had not come. Alerts built on the logs are
   * held. When they were last read to the end, and when they are read next at the latest (ISO).
   */
  logsDeferred?: { lastReadAt?: string; nextReadBy: string };
  /**
   * The provisioning logs were read this cycle under a rotation: when they are read next at the
   * latest (ISO), the tenant's next turn, unless its jobs show trouble sooner. Absent when every
   * cycle reads them (a rotation of 0, or few tenants).
   */
  logsNextTurn?: string;
  /** What each check could and could not do this cycle, with how long it has been degraded (lib/observe/coverage.ts). */
  coverage?: TenantCoverage;
  /**
   * What the rules read of each job's history across runs (lib/cycle/baselines.ts), for the
   * quarantine forecast and the learned baselines; absent when it could not be read this cycle, or
   * had nothing to add and was not read (their alerts are held then, as they stand).
   */
  history?: JobHistories;
}
