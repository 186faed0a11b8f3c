import type { AlertLabels, Annotations } from '../model';
import type { JobSnapshot, ServicePrincipalRef, TenantObservation } from '../model/observation';
import { JOB_TYPES, jobTypeOf } from '../model/job-type';

/**
 * Facts about a job that several rules read the same way, so that "has it ever run", "when did it
 * last complete a run" and "is it stopped" mean one thing everywhere. Pure.
 */

/** What kind of provisioning a job is, in words for messages (lib/model/job-type.ts). */
export function jobKind(job: Pick<JobSnapshot, 'templateId' | 'servicePrincipal'>): string {
  return JOB_TYPES[
    jobTypeOf({ templateId: job.templateId, applicationTemplateId: job.servicePrincipal.applicationTemplateId })
  ];
}

const latest = (...dates: (Date | undefined)[]): Date | undefined =>
  dates.reduce<Date | undefined>((max, d) => (d && (!max || d > max) ? d : max), undefined);

/**
 * When the job last completed a run, by any of Graph's clocks: the last run's end, the last
 * successful run's end, the last time it reached steady state. Undefined when it never did
 * (every time is 0001-01-01 or null).
 */
export function lastCompletedRun(job: JobSnapshot): Date | undefined {
  return latest(job.lastExecution?.timeEnded, job.lastSuccessfulExecution?.timeEnded, job.steadyStateLastAchievedTime);
}

/** Whether the job has ever completed a run: a configuration created and never started has not. */
export function hasEverRun(job: JobSnapshot): boolean {
  return lastCompletedRun(job) !== undefined || job.steadyStateFirstAchievedTime !== undefined;
}

/** Paused (status.code) or with a Disabled schedule, in any casing. */
export function isStopped(job: JobSnapshot): boolean {
  return job.status.known === 'Paused' || job.schedule?.state.known === 'Disabled';
}

/** Running on its schedule: the schedule is Active and the job is neither paused, quarantined nor unconfigured. */
export function isScheduledToRun(job: JobSnapshot): boolean {
  if (job.schedule?.state.known !== 'Active') return false;
  return job.status.known !== 'Paused' && job.status.known !== 'Quarantine' && job.status.known !== 'NotConfigured';
}

/** Whether a configuration is in use: one of its jobs runs, is quarantined, or has run. Settings warnings are only about those. */
export function inUse(jobs: JobSnapshot[]): boolean {
  return jobs.some(
    (job) => isScheduledToRun(job) || job.status.known === 'Quarantine' || (hasEverRun(job) && !isStopped(job)),
  );
}

const iso = (d: Date | undefined) => d?.toISOString();

/** The annotations every job alert carries: who it is, what kind, and its state as Graph put it. */
export function jobAnnotations(job: JobSnapshot): Annotations {
  return {
    servicePrincipalName: job.servicePrincipal.displayName,
    appId: job.servicePrincipal.appId,
    templateId: job.templateId,
    jobKind: jobKind(job),
    statusCode: job.status.raw,
    scheduleState: job.schedule?.state.raw,
    interval: job.schedule?.interval,
    troubleshootingUrl: job.troubleshootingUrl,
    lastRunEnded: iso(job.lastExecution?.timeEnded),
    lastRunState: job.lastExecution?.state,
  };
}

/** The annotations of an alert about a whole configuration. */
export function servicePrincipalAnnotations(sp: ServicePrincipalRef): Annotations {
  return { servicePrincipalName: sp.displayName, appId: sp.appId, applicationTemplateId: sp.applicationTemplateId };
}

/**
 * Whether an alert about a configuration's secrets can be judged this cycle: the tenant and the
 * service principal were read, and so were its secrets (a secret that could not be read is no
 * evidence that the problem went away).
 */
export function secretsInView(labels: AlertLabels, tenant: TenantObservation): boolean {
  if (tenant.problem) return false;
  if (tenant.servicePrincipalProblems.some((p) => p.servicePrincipal.id === labels.servicePrincipalId)) return false;
  return !tenant.secretsUnread?.has(labels.servicePrincipalId);
}

/**
 * Whether a job's lesser alert (failing, stalled) can be judged this cycle: not while the job is
 * quarantined or stopped. Those conditions are the job's root cause (their own alerts fire), so
 * the lesser ones are neither raised anew nor resolved for lack of evidence meanwhile; one that
 * already fires stays firing and its reminders are muted by the root cause (lib/inhibit).
 */
export function judgedUnlessRootCause(labels: AlertLabels, tenant: TenantObservation): boolean {
  if (tenant.problem) return false;
  if (tenant.servicePrincipalProblems.some((p) => p.servicePrincipal.id === labels.servicePrincipalId)) return false;
  const job = tenant.jobs.find((j) => j.jobId === labels.jobId && j.servicePrincipal.id === labels.servicePrincipalId);
  return !job || !hasRootCause(job);
}

/** Quarantined (a deletion hold included) or stopped: what the job's root-cause rules report. */
export function hasRootCause(job: JobSnapshot): boolean {
  return job.status.known === 'Quarantine' || isStopped(job);
}
