/** What one cycle saw in Graph, normalised. Enum values are canonical where known and kept raw otherwise. */

import type { ProvisioningObservation } from './provisioning-types';

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

/** An enum value from Graph: the canonical spelling when we know it, otherwise the raw text. */
export interface EnumValue<T extends string> {
  known?: T;
  raw: string;
}

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
  scheduleState?: string;
  /** Present while Graph reports a quarantine object. Dates are undefined when never set (0001-01-01). */
  quarantine?: {
    reason: EnumValue<QuarantineReason>;
    currentBegan?: Date;
    seriesBegan?: Date;
    seriesCount?: number;
    nextAttempt?: Date;
    error?: SyncError;
  };
  lastExecution?: {
    state?: string;
    timeBegan?: Date;
    timeEnded?: Date;
    error?: SyncError;
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

export interface TenantObservation {
  tenantId: string;
  /** Set when the tenant could not be read at all: its job alerts are held as they were. */
  problem?: AccessProblem;
  jobs: JobSnapshot[];
  /** Service principals whose jobs were read; alerts of other service principals are held. */
  servicePrincipalsRead: Set<string>;
  /** Service principals whose jobs could not be read, with the reason (the others are still reported). */
  servicePrincipalProblems: { servicePrincipal: ServicePrincipalRef; problem: AccessProblem }[];
  /** What the provisioning logs said this cycle (absent: they were not read, e.g. the tenant itself could not be). */
  provisioning?: ProvisioningObservation;
}
