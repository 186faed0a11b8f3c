import { createHash } from 'node:crypto';
import type { AlertRecord } from '../model';
import type { TenantObservation } from '../model/observation';
import { readsLogs } from '../evaluate/rules';
import type { Policy } from '../model/policy';
import { evaluateTenant } from '../evaluate/evaluate';
import { jobStalled } from '../evaluate/rules/job-stalled';
import { SILENCE_CONDITION } from '../evaluate/rules/no-provisioning-events';
import { ruleSettingsForJob } from '../evaluate/evaluate';

/**
 * Which tenants have their provisioning logs read this cycle (issue 20): reading every tenant's
 * logs every cycle costs a reports request per tenant, and Graph allows 122 of them per 10 s per
 * app across all tenants, so at 1,000 tenants the logs alone took over a minute. A tenant's logs
 * are read when its job status shows trouble (the failures that lead to a digest show there
 * first), when a log alert of it is open (it must be judged to resolve), when a backlog waits,
 * when a rule needs them every cycle, the first time, and otherwise on a rotation: each tenant at
 * its own time within the rotation period (a hash of its ID), so the reads spread evenly over the
 * period and every tenant is read within it. Pure: the same facts give the same answer, in any
 * instance or fan-out worker, and the only state is each tenant's last read (its log watermark, in
 * Table Storage).
 *
 * What this can miss: failures that leave no trace in the job status (objects failing while the
 * run still ends `Succeeded` with nothing in escrow). Those are read on the rotation, at most one
 * rotation period late (docs/operating.md).
 */

type LogReadReason = 'trouble' | 'open-alert' | 'backlog' | 'rule' | 'first' | 'rotation' | 'every-cycle';

export interface LogReadPlan {
  reason: LogReadReason;
  /** Why, in words, for the log and the status view. */
  words: string;
}

/** A read no job asked for (a turn in the rotation, a first read): capped per cycle, and waiting for a later cycle is no error. */
export function isUnasked(reason: LogReadReason | undefined): boolean {
  return reason === 'rotation' || reason === 'first';
}

/**
 * A log alert still open (firing or pending): its tenant's logs are read every cycle, so it can
 * resolve. A job rule judged with the log alerts only for its history (job-stalled's learnt
 * interval) needs no logs read: `readsLogs` is asked without the config's rules.
 */
export function isOpenLogAlert(alert: Pick<AlertRecord, 'state' | 'labels'>): boolean {
  return alert.state !== 'resolved' && readsLogs(alert.labels.condition);
}

export interface LogPlanFacts {
  now: number;
  /** provisioningLogs.rotation (0: every tenant every cycle). */
  rotationMs: number;
  /** What the tenant's stored log state says: up to when its logs were read, and whether a backlog waits. */
  state?: { watermark?: number; backlog: boolean };
  /** The tenant has a log alert open (firing or pending): it is judged every cycle, so it can resolve. */
  openLogAlert: boolean;
  policy: Pick<Policy, 'rules' | 'tenantNames'>;
}

const SUCCEEDED = 'Succeeded';

/** What in a tenant's job status says its logs should be read now; undefined when nothing does. */
function jobTrouble(o: TenantObservation, now: Date, policy: LogPlanFacts['policy']): string | undefined {
  for (const job of o.jobs) {
    const name = job.servicePrincipal.displayName || job.jobId;
    if (job.quarantine || job.status.known === 'Quarantine') return `${name} is quarantined`;
    const run = job.lastExecution;
    const ran = run?.timeBegan !== undefined;
    if (ran && run?.result !== undefined && run.result !== SUCCEEDED) return `${name}'s last run ended ${run.result}`;
    if ((run?.countEscrowed ?? 0) > 0) return `${name} has ${run?.countEscrowed} object(s) in error`;
    if ((job.countSuccessiveCompleteFailures ?? 0) > 0)
      return `${name} failed ${job.countSuccessiveCompleteFailures} run(s) in a row`;
    if (job.escrowsPruned) return `${name}'s object errors were pruned`;
  }
  if (o.problem) return undefined;
  const stalled = evaluateTenant(o, {
    now,
    rules: policy.rules,
    tenantNames: policy.tenantNames,
    registry: [jobStalled],
  });
  if (stalled.length > 0) return `a job stalls (${stalled.length})`;
  return undefined;
}

/** Whether a rule needs the tenant's logs every cycle: a silence check (no-provisioning-events) on an Active job. */
function ruleNeedsLogs(o: TenantObservation, policy: LogPlanFacts['policy']): boolean {
  return o.jobs.some(
    (job) =>
      job.status.known === 'Active' &&
      ruleSettingsForJob(SILENCE_CONDITION, o.tenantId, job, policy.rules, policy.tenantNames)?.enabled === true,
  );
}

/** Where in the rotation period a tenant's turn falls (ms after the period's start), from its ID: even, and the same everywhere. */
export function rotationOffset(tenantId: string, rotationMs: number): number {
  const h = createHash('sha256').update(tenantId.toLowerCase()).digest();
  return h.readUInt32BE(0) % Math.max(1, rotationMs);
}

/** The start of the tenant's latest turn at or before `now`. */
export function latestTurn(tenantId: string, now: number, rotationMs: number): number {
  const offset = rotationOffset(tenantId, rotationMs);
  return now - ((((now - offset) % rotationMs) + rotationMs) % rotationMs);
}

/** Why the tenant's logs are read this cycle, or undefined when they wait for its turn in the rotation. */
export function whyReadLogs(o: TenantObservation, facts: LogPlanFacts): LogReadPlan | undefined {
  if (o.problem) return undefined; // nothing was read of the tenant: its logs wait with it
  if (facts.rotationMs <= 0)
    return { reason: 'every-cycle', words: 'provisioningLogs.rotation is 0m: read every cycle' };
  const trouble = jobTrouble(o, new Date(facts.now), facts.policy);
  if (trouble) return { reason: 'trouble', words: trouble };
  if (facts.openLogAlert) return { reason: 'open-alert', words: 'a log alert of the tenant is open' };
  if (!facts.state || facts.state.watermark === undefined) return { reason: 'first', words: 'never read before' };
  if (facts.state.backlog) return { reason: 'backlog', words: 'a backlog from the last read waits' };
  if (ruleNeedsLogs(o, facts.policy)) return { reason: 'rule', words: 'no-provisioning-events watches a job' };
  if (facts.state.watermark < latestTurn(o.tenantId, facts.now, facts.rotationMs))
    return { reason: 'rotation', words: 'its turn in the rotation' };
  return undefined;
}

/** When a tenant whose logs wait is read next, at the latest (its next turn in the rotation). */
export function nextTurn(tenantId: string, now: number, rotationMs: number): number {
  return latestTurn(tenantId, now, rotationMs) + rotationMs;
}
