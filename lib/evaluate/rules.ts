import { createHash } from 'node:crypto';
import { describeProblem } from '../observe/errors';
import type { JobSnapshot, TenantObservation } from '../observe/types';
import { DEFAULT_RULES, type Rule } from '../config/policy';
import type { AlertLabels, Annotations, Condition, Finding } from './types';

export type Rules = Record<Condition, Rule>;

export function fingerprintOf(labels: AlertLabels): string {
  const key = [labels.tenantId, labels.servicePrincipalId, labels.jobId, labels.condition].join('\u0000');
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

function finding(labels: AlertLabels, severity: Finding['severity'], pendingCycles: number, annotations: Annotations): Finding {
  return { fingerprint: fingerprintOf(labels), labels, severity, pendingCycles, annotations };
}

const iso = (d: Date | undefined) => d?.toISOString();

/**
 * A quarantined job is a finding, whatever the casing of `status.code`. Reason TooManyDeletes is
 * an accidental-deletion trip (deletes are held and wait for a decision); any other reason, known
 * or not, is a quarantine. Quarantine and deletion trips fire at once: Entra already debounces them.
 */
export function evaluateJob(job: JobSnapshot, rules: Rules = DEFAULT_RULES): Finding[] {
  if (job.status.known !== 'Quarantine') return [];
  const q = job.quarantine;
  const deletionTrip = q?.reason.known === 'TooManyDeletes';
  const error = q?.error ?? job.lastExecution?.error;
  const annotations: Annotations = {
    servicePrincipalName: job.servicePrincipal.displayName,
    appId: job.servicePrincipal.appId,
    templateId: job.templateId,
    statusCode: job.status.raw,
    reason: q?.reason.known ?? (q?.reason.raw || 'not given by Graph'),
    reasonKnown: q?.reason.known !== undefined,
    errorCode: error?.code,
    errorMessage: error?.message,
    tenantActionable: error?.tenantActionable,
    currentBegan: iso(q?.currentBegan),
    seriesBegan: iso(q?.seriesBegan),
    seriesCount: q?.seriesCount,
    nextAttempt: iso(q?.nextAttempt),
    deleteThreshold: job.deleteThreshold,
    troubleshootingUrl: job.troubleshootingUrl,
  };
  const labels: AlertLabels = {
    tenantId: job.tenantId,
    servicePrincipalId: job.servicePrincipal.id,
    jobId: job.jobId,
    condition: deletionTrip ? 'deletion-threshold' : 'quarantine',
  };
  return [finding(labels, 'critical', rules[labels.condition].pendingCycles, annotations)];
}

/**
 * A tenant the monitor cannot read is an alert of its own. Credentials and permissions do not fix
 * themselves, so they fire at once; throttling or an outage must last two cycles.
 */
export function evaluateTenant(observation: TenantObservation, rules: Rules = DEFAULT_RULES): Finding[] {
  const problem = observation.problem;
  if (problem) {
    const labels: AlertLabels = { tenantId: observation.tenantId, servicePrincipalId: '-', jobId: '-', condition: 'tenant-unreadable' };
    return [
      finding(labels, 'critical', pendingFor(problem.kind, rules['tenant-unreadable'].pendingCycles), {
        problem: describeProblem(problem),
        problemKind: problem.kind,
        httpStatus: problem.status,
        errorCode: problem.code,
        errorMessage: problem.message,
        operation: problem.operation,
        likelyMissingPermission: problem.likelyMissingPermission,
      }),
    ];
  }
  return observation.jobs.flatMap((job) => evaluateJob(job, rules));
}

/** Throttling or an outage must last at least two cycles before it is an alert. */
function pendingFor(kind: string, configured: number): number {
  return kind === 'access' ? configured : Math.max(1, configured);
}

/**
 * Whether an existing alert can be judged from this observation. Alerts of a tenant that could not
 * be read, or of a service principal whose jobs could not be read, are held as they were: absence
 * of evidence is not a recovery.
 */
export function inView(labels: AlertLabels, observation: TenantObservation): boolean {
  if (labels.tenantId !== observation.tenantId) return false;
  if (labels.condition === 'tenant-unreadable') return true;
  if (observation.problem) return false;
  if (observation.servicePrincipalProblems.some((p) => p.servicePrincipal.id === labels.servicePrincipalId)) return false;
  // A service principal that is no longer listed (deleted, or no longer cross-tenant) has no jobs.
  return true;
}
