import { describe, expect, it } from 'vitest';
import {
  hasEverRun,
  inUse,
  isScheduledToRun,
  isStopped,
  jobKind,
  judgedUnlessRootCause,
  lastCompletedRun,
  secretsInView,
} from '../../lib/evaluate/job-facts';
import type { JobRule, PresentContext, RuleHit } from '../../lib/evaluate/rule';
import type { RuleSettings } from '../../lib/model/policy';
import { deletionThreshold } from '../../lib/evaluate/rules/deletion-threshold';
import { jobDisabled, stoppedAfterFailures } from '../../lib/evaluate/rules/job-disabled';
import { failureSigns, jobFailing } from '../../lib/evaluate/rules/job-failing';
import { jobStalled } from '../../lib/evaluate/rules/job-stalled';
import { jobsUnreadable } from '../../lib/evaluate/rules/jobs-unreadable';
import { noProvisioningEvents } from '../../lib/evaluate/rules/no-provisioning-events';
import { provisioningLogsUnreadable } from '../../lib/evaluate/rules/provisioning-logs-unreadable';
import type { AlertLabels, AlertView } from '../../lib/model';
import { emptyDigest } from '../../lib/observe/provisioning-digest';
import type { HeldDeletes, JobActivity, LogProblem, ProvisioningObservation } from '../../lib/model/provisioning';
import type { AccessProblem, JobSnapshot, ServicePrincipalRef, TenantObservation } from '../../lib/model/observation';
import { alertOf } from '../fixtures/alerts';
import {
  ago,
  CTX,
  DAY,
  fact,
  HOUR,
  job,
  JOB_ID,
  MIN,
  NOW,
  settingsOf,
  SP,
  tenant,
  TENANT,
} from '../support/rule-world';

/**
 * The edges of the detection rules' decisions, each pinned to what the rule's comment, its
 * description or the conditions table of docs/configuration.md says: the exact boundaries of thresholds and time windows, each
 * operand of the and/or conditions on its own, and Graph fields that are missing (null in Graph,
 * undefined once normalised). Jobs are built as normalised snapshots so that one field at a time
 * can differ from a healthy job.
 */

const OTHER_SP: ServicePrincipalRef = { ...SP, id: 'bbbbbbbb-0000-4000-8000-000000000002', displayName: 'Other app' };

/** A job that never completed a run: every Graph time was 0001-01-01 (undefined once normalised). */
function neverRan(patch: Partial<JobSnapshot> = {}): JobSnapshot {
  return job({
    steadyStateFirstAchievedTime: undefined,
    steadyStateLastAchievedTime: undefined,
    lastSuccessfulExecution: undefined,
    lastExecution: undefined,
    ...patch,
  });
}

/** A job whose every completed-run clock says it last ended `msAgo` ago. */
function quietFor(msAgo: number, patch: Partial<JobSnapshot> = {}): JobSnapshot {
  const ended = ago(msAgo);
  return job({
    steadyStateLastAchievedTime: ended,
    lastSuccessfulExecution: { timeEnded: ended },
    lastExecution: { state: 'Succeeded', result: 'Succeeded', timeEnded: ended },
    ...patch,
  });
}

const status = (known: JobSnapshot['status']['known']) => ({ known, raw: String(known) });
const schedule = (state: 'Active' | 'Disabled', intervalMs?: number): JobSnapshot['schedule'] => ({
  state: { known: state, raw: state },
  ...(intervalMs === undefined ? {} : { interval: 'x', intervalMs }),
});

function provisioning(patch: Partial<ProvisioningObservation> = {}): ProvisioningObservation {
  return {
    source: 'graph',
    complete: true,
    problems: [],
    digest: emptyDigest(),
    heldDeletes: new Map(),
    activity: new Map(),
    activityUnknown: new Set(),
    eventsRead: 0,
    pagesRead: 0,
    ...patch,
  };
}

function checkJob(
  rule: JobRule,
  j: JobSnapshot,
  opts: { params?: RuleSettings['params']; tenant?: TenantObservation; now?: Date } = {},
): RuleHit | undefined {
  return rule.check({
    job: j,
    tenant: opts.tenant ?? tenant({ jobs: [j] }),
    settings: settingsOf(rule, opts.params),
    now: opts.now ?? NOW,
  });
}

/** The view of the alert a hit would become. */
function viewOf(
  rule: { condition: string; present: (a: ReturnType<typeof alertOf>, c: PresentContext) => AlertView },
  hit: RuleHit | undefined,
  labels: Partial<AlertLabels> = {},
): AlertView {
  expect(hit).toBeDefined();
  return rule.present(
    alertOf(rule.condition, hit!.annotations, { servicePrincipalId: SP.id, jobId: JOB_ID, ...labels }),
    CTX,
  );
}

const accessProblem: AccessProblem = {
  kind: 'access',
  status: 403,
  code: 'Authorization_RequestDenied',
  message: 'Insufficient privileges to complete the operation.',
  operation: 'synchronization/jobs',
  likelyMissingPermission: 'Synchronization.Read.All',
};

// ---- job-facts ---------------------------------------------------------------------------------

describe('job-facts: what every rule means by "ran", "stopped" and "scheduled"', () => {
  it('lastCompletedRun is the latest of the three clocks, whichever one it is', () => {
    const a = ago(3 * HOUR);
    const b = ago(2 * HOUR);
    const c = ago(1 * HOUR);
    expect(
      lastCompletedRun(
        job({
          lastExecution: { timeEnded: c },
          lastSuccessfulExecution: { timeEnded: a },
          steadyStateLastAchievedTime: b,
        }),
      ),
    ).toEqual(c);
    expect(
      lastCompletedRun(
        job({
          lastExecution: { timeEnded: a },
          lastSuccessfulExecution: { timeEnded: c },
          steadyStateLastAchievedTime: b,
        }),
      ),
    ).toEqual(c);
    expect(
      lastCompletedRun(
        job({
          lastExecution: { timeEnded: b },
          lastSuccessfulExecution: { timeEnded: a },
          steadyStateLastAchievedTime: c,
        }),
      ),
    ).toEqual(c);
  });

  it('lastCompletedRun keeps an earlier clock when a later one is missing, and is undefined when all are', () => {
    const a = ago(3 * HOUR);
    expect(
      lastCompletedRun(
        job({
          lastExecution: { timeEnded: a },
          lastSuccessfulExecution: undefined,
          steadyStateLastAchievedTime: undefined,
        }),
      ),
    ).toEqual(a);
    expect(
      lastCompletedRun(
        job({
          lastExecution: undefined,
          lastSuccessfulExecution: { timeEnded: a },
          steadyStateLastAchievedTime: undefined,
        }),
      ),
    ).toEqual(a);
    expect(lastCompletedRun(neverRan())).toBeUndefined();
  });

  it('hasEverRun: a completed run alone, or a first steady state alone, is enough; neither means never', () => {
    expect(hasEverRun(job({ steadyStateFirstAchievedTime: undefined }))).toBe(true);
    expect(hasEverRun(neverRan({ steadyStateFirstAchievedTime: ago(DAY) }))).toBe(true);
    expect(hasEverRun(neverRan())).toBe(false);
  });

  it('isStopped: Paused status alone, or a Disabled schedule alone; no schedule is not stopped', () => {
    expect(isStopped(job({ status: status('Paused') }))).toBe(true);
    expect(isStopped(job({ schedule: schedule('Disabled') }))).toBe(true);
    expect(isStopped(job())).toBe(false);
    expect(isStopped(job({ schedule: undefined }))).toBe(false);
  });

  it('isScheduledToRun: an Active schedule, unless the job is paused, quarantined or unconfigured', () => {
    expect(isScheduledToRun(job())).toBe(true);
    expect(isScheduledToRun(job({ schedule: schedule('Disabled') }))).toBe(false);
    expect(isScheduledToRun(job({ schedule: undefined }))).toBe(false);
    expect(isScheduledToRun(job({ status: status('Paused') }))).toBe(false);
    expect(isScheduledToRun(job({ status: status('Quarantine') }))).toBe(false);
    expect(isScheduledToRun(job({ status: status('NotConfigured') }))).toBe(false);
  });

  it('inUse: one job that runs, is quarantined, or ran and is not stopped is enough', () => {
    const unused = neverRan({ status: status('NotRun'), schedule: schedule('Disabled') });
    expect(inUse([unused])).toBe(false);
    expect(inUse([unused, neverRan()])).toBe(true); // scheduled to run, though it never ran
    expect(inUse([neverRan({ status: status('Quarantine'), schedule: schedule('Disabled') })])).toBe(true);
    expect(inUse([job({ schedule: undefined })])).toBe(true); // ran, not stopped, though not scheduled
    expect(inUse([job({ status: status('Paused') })])).toBe(false); // ran, but stopped
    expect(inUse([job({ schedule: schedule('Disabled') })])).toBe(false);
    expect(inUse([])).toBe(false);
  });

  it('jobKind: the service principal template or the job template, in any casing', () => {
    const kind = (applicationTemplateId: string | undefined, templateId: string) =>
      jobKind({ templateId, servicePrincipal: { ...SP, applicationTemplateId } });
    expect(kind('518E5F48-1FC8-4C48-9387-9FDF28B0DFE7', 'Other')).toBe('cross-tenant synchronization');
    expect(kind(undefined, 'AZURE2AZURE')).toBe('cross-tenant synchronization');
    expect(kind('1A4721B3-E57F-4451-AE87-EF078703EC94', 'Other')).toBe('Entra Cloud Sync');
    expect(kind(undefined, 'AD2AADPasswordHash')).toBe('Entra Cloud Sync');
    expect(kind('8ADF8E6E-67B2-4CF2-A259-E3DC5476C621', 'Other')).toBe('custom SCIM app provisioning');
    expect(kind(undefined, 'SCIM')).toBe('custom SCIM app provisioning');
    expect(kind(undefined, 'ServiceNowOutDelta')).toBe('app provisioning');
  });

  it('secretsInView: not while the tenant or this configuration could not be read, nor its secrets', () => {
    const labels: AlertLabels = {
      tenantId: TENANT,
      servicePrincipalId: SP.id,
      jobId: '-',
      condition: 'notification-email-off',
    };
    expect(secretsInView(labels, tenant())).toBe(true);
    expect(secretsInView(labels, tenant({ problem: accessProblem }))).toBe(false);
    expect(
      secretsInView(labels, tenant({ servicePrincipalProblems: [{ servicePrincipal: SP, problem: accessProblem }] })),
    ).toBe(false);
    expect(
      secretsInView(
        labels,
        tenant({ servicePrincipalProblems: [{ servicePrincipal: OTHER_SP, problem: accessProblem }] }),
      ),
    ).toBe(true);
    expect(secretsInView(labels, tenant({ secretsUnread: new Map([[SP.id, accessProblem]]) }))).toBe(false);
    expect(secretsInView(labels, tenant({ secretsUnread: new Map([[OTHER_SP.id, accessProblem]]) }))).toBe(true);
  });

  it('judgedUnlessRootCause: held while this job is quarantined or stopped, or its tenant or configuration unread', () => {
    const labels: AlertLabels = {
      tenantId: TENANT,
      servicePrincipalId: SP.id,
      jobId: JOB_ID,
      condition: 'job-stalled',
    };
    expect(judgedUnlessRootCause(labels, tenant({ jobs: [job()] }))).toBe(true);
    expect(judgedUnlessRootCause(labels, tenant({ jobs: [] }))).toBe(true); // the job is gone: judged (and resolved)
    expect(judgedUnlessRootCause(labels, tenant({ jobs: [job()], problem: accessProblem }))).toBe(false);
    expect(
      judgedUnlessRootCause(
        labels,
        tenant({ jobs: [job()], servicePrincipalProblems: [{ servicePrincipal: SP, problem: accessProblem }] }),
      ),
    ).toBe(false);
    expect(
      judgedUnlessRootCause(
        labels,
        tenant({ jobs: [job()], servicePrincipalProblems: [{ servicePrincipal: OTHER_SP, problem: accessProblem }] }),
      ),
    ).toBe(true);
    expect(judgedUnlessRootCause(labels, tenant({ jobs: [job({ status: status('Quarantine') })] }))).toBe(false);
    expect(judgedUnlessRootCause(labels, tenant({ jobs: [job({ status: status('Paused') })] }))).toBe(false);
    // Another configuration's job with the same id, or another job of this one, is not this job.
    expect(
      judgedUnlessRootCause(
        labels,
        tenant({ jobs: [job({ servicePrincipal: OTHER_SP, status: status('Quarantine') })] }),
      ),
    ).toBe(true);
    expect(
      judgedUnlessRootCause(labels, tenant({ jobs: [job({ jobId: 'other', status: status('Quarantine') })] })),
    ).toBe(true);
  });
});

// ---- job-stalled -------------------------------------------------------------------------------

describe('job-stalled: k × interval (at least atLeast) without a completed run', () => {
  // Defaults: 3 intervals of 40 min = 2 h, more than atLeast (1 h).
  const allowed = 3 * 40 * MIN;

  it('quiet for exactly k × interval is not stalled; one millisecond more is', () => {
    expect(checkJob(jobStalled, quietFor(allowed))).toBeUndefined();
    const hit = checkJob(jobStalled, quietFor(allowed + 1));
    expect(hit?.annotations).toMatchObject({
      neverRan: false,
      quietMs: allowed + 1,
      allowedMs: allowed,
      intervalMs: 40 * MIN,
      intervalAssumed: false,
      lastCompletedRun: ago(allowed + 1).toISOString(),
    });
  });

  it('atLeast wins over a short interval: a 2-minute Cloud Sync job is allowed an hour, exactly', () => {
    const cloud = (ms: number) => quietFor(ms, { schedule: schedule('Active', 2 * MIN) });
    expect(checkJob(jobStalled, cloud(HOUR))).toBeUndefined();
    expect(checkJob(jobStalled, cloud(HOUR + 1))?.annotations.allowedMs).toBe(HOUR);
  });

  it('judges the latest clock: a recent steady state alone keeps it from being stalled', () => {
    const old = ago(DAY);
    expect(
      checkJob(
        jobStalled,
        job({
          lastExecution: { timeEnded: old },
          lastSuccessfulExecution: { timeEnded: old },
          steadyStateLastAchievedTime: ago(allowed),
        }),
      ),
    ).toBeUndefined();
  });

  it('a run that reported progress within the allowance is under way, exactly at the limit too; older progress is no excuse', () => {
    expect(checkJob(jobStalled, quietFor(DAY, { progressObservedAt: ago(allowed) }))).toBeUndefined();
    expect(checkJob(jobStalled, quietFor(DAY, { progressObservedAt: ago(allowed + 1) }))).toBeDefined();
  });

  it('assumes the 40-minute cross-tenant cadence when Graph gives no interval, and says so', () => {
    const noInterval = (ms: number) => quietFor(ms, { schedule: schedule('Active') });
    expect(checkJob(jobStalled, noInterval(allowed))).toBeUndefined();
    expect(checkJob(jobStalled, noInterval(allowed + 1))?.annotations).toMatchObject({
      intervalMs: 40 * MIN,
      intervalAssumed: true,
    });
  });

  it('an interval of zero or longer than 30 days (TimeSpan.MaxValue) is no real schedule; exactly 30 days is', () => {
    expect(checkJob(jobStalled, quietFor(365 * DAY, { schedule: schedule('Active', 0) }))).toBeUndefined();
    expect(checkJob(jobStalled, quietFor(365 * DAY, { schedule: schedule('Active', 30 * DAY + 1) }))).toBeUndefined();
    expect(
      checkJob(jobStalled, quietFor(90 * DAY + 1, { schedule: schedule('Active', 30 * DAY) }))?.annotations.allowedMs,
    ).toBe(90 * DAY);
  });

  it('only a job scheduled to run: not paused, quarantined, unconfigured, nor with a Disabled schedule', () => {
    for (const patch of [
      { status: status('Paused') },
      { status: status('Quarantine') },
      { status: status('NotConfigured') },
      { schedule: schedule('Disabled', 40 * MIN) },
    ]) {
      expect(checkJob(jobStalled, quietFor(DAY, patch))).toBeUndefined();
    }
  });

  it('a job that never ran is given firstRunWithin from when the monitor first saw it, exactly, and nothing without that memory', () => {
    const within = 24 * HOUR;
    expect(checkJob(jobStalled, neverRan({ firstSeenAt: ago(within) }))).toBeUndefined();
    expect(checkJob(jobStalled, neverRan({ firstSeenAt: ago(within + 1) }))?.annotations).toMatchObject({
      neverRan: true,
      quietMs: within + 1,
      allowedMs: within,
      firstSeenAt: ago(within + 1).toISOString(),
    });
    expect(checkJob(jobStalled, neverRan({ firstSeenAt: undefined }))).toBeUndefined();
  });

  it("carries the last run's error, and none when Graph gave no last run", () => {
    const failed = quietFor(DAY, {
      lastExecution: {
        result: 'Failed',
        state: 'Failed',
        timeEnded: ago(DAY),
        error: {
          code: 'SystemForCrossDomainIdentityManagementServiceIncompatible',
          message: 'bad PATCH',
          tenantActionable: true,
        },
      },
    });
    expect(checkJob(jobStalled, failed)?.annotations).toMatchObject({
      errorCode: 'SystemForCrossDomainIdentityManagementServiceIncompatible',
      errorMessage: 'bad PATCH',
    });
    const none = checkJob(jobStalled, neverRan({ firstSeenAt: ago(2 * DAY) }));
    expect(none?.annotations.errorCode).toBeUndefined();
    expect(none?.annotations.errorMessage).toBeUndefined();
  });

  it('the view of a job that ran names its last completed run; of one that never ran, when the monitor first saw it', () => {
    const ran = viewOf(jobStalled, checkJob(jobStalled, quietFor(5 * HOUR)));
    expect(ran.what).toContain(
      'has completed no run for 5 h, although its schedule is Active and it runs every 40 min.',
    );
    expect(ran.since).toBe(ago(5 * HOUR).toISOString());
    // Since when is the notice's own line; the details add only what it does not say.
    expect(fact(ran, 'Last completed run')).toBeUndefined();
    expect(fact(ran, 'Schedule')).toBe('every 40 min, Active');
    expect(fact(ran, 'Allowed without a completed run')).toBe('2 h');

    const never = viewOf(jobStalled, checkJob(jobStalled, neverRan({ firstSeenAt: ago(30 * HOUR) })));
    expect(never.what).toContain(
      'has not completed its first run in the 30 h since Entra Sync Watch first saw it (a first run is given 24 h).',
    );
    expect(never.since).toBe(ago(30 * HOUR).toISOString());
    expect(fact(never, 'Allowed without a completed run')).toBe('24 h');
  });

  it('the view says when the interval was assumed, and sends Cloud Sync to its agents', () => {
    const assumed = viewOf(
      jobStalled,
      checkJob(jobStalled, quietFor(DAY, { schedule: { state: { known: 'Active', raw: 'active' } } })),
    );
    expect(fact(assumed, 'Schedule')).toBe('every 40 min (assumed: Graph gave no interval), active');
    expect(assumed.runbook?.steps[0]).toMatch(/^Open the provisioning logs of this job/);

    const cloudSp: ServicePrincipalRef = { ...SP, applicationTemplateId: '1a4721b3-e57f-4451-ae87-ef078703ec94' };
    const cloud = viewOf(
      jobStalled,
      checkJob(
        jobStalled,
        quietFor(DAY, {
          servicePrincipal: cloudSp,
          templateId: 'AD2AADProvisioning',
          schedule: schedule('Active', 2 * MIN),
        }),
      ),
    );
    expect(cloud.runbook?.steps[0]).toMatch(/^Check the Cloud Sync provisioning agents/);
  });
});

// ---- job-failing -------------------------------------------------------------------------------

describe('job-failing: the signs of failing below quarantine', () => {
  const params = settingsOf(jobFailing).params;

  it('countEscrowed at exactly minEscrowed is failing; one fewer is not', () => {
    const escrowed = (n: number) =>
      job({ lastExecution: { result: 'Succeeded', state: 'Succeeded', timeEnded: ago(MIN), countEscrowed: n } });
    expect(failureSigns(escrowed(1), params)).toEqual(['1 object is in escrow (failed, waiting to be retried)']);
    expect(failureSigns(escrowed(0), params)).toEqual([]);
    expect(failureSigns(escrowed(4), { ...params, minEscrowed: 5 })).toEqual([]);
    expect(failureSigns(escrowed(5), { ...params, minEscrowed: 5 })).toEqual([
      '5 objects are in escrow (failed, waiting to be retried)',
    ]);
  });

  it('countSuccessiveCompleteFailures at exactly minSuccessiveFailures (2) is failing; one fewer is not', () => {
    expect(failureSigns(job({ countSuccessiveCompleteFailures: 1 }), params)).toEqual([]);
    expect(failureSigns(job({ countSuccessiveCompleteFailures: 2 }), params)).toEqual([
      '2 runs in a row failed completely',
    ]);
  });

  it('a Failed last run counts only with a real error, and one without a code says so', () => {
    const failed = (error?: { code: string; message: string; tenantActionable: boolean }) =>
      job({ lastExecution: { result: 'Failed', state: 'Failed', timeEnded: ago(MIN), error } });
    expect(failureSigns(failed(), params)).toEqual([]); // a never-run job's Failed with error None (normalised away)
    expect(failureSigns(failed({ code: '', message: 'x', tenantActionable: false }), params)).toEqual([
      'its last run failed (no error code)',
    ]);
    expect(
      failureSigns(
        failed({ code: 'HybridSynchronizationActiveDirectoryInternalError', message: 'x', tenantActionable: false }),
        params,
      ),
    ).toEqual(['its last run failed (HybridSynchronizationActiveDirectoryInternalError)']);
  });

  it('fires on pruned escrows alone, with no last run at all, and says so in the view', () => {
    const hit = checkJob(
      jobFailing,
      job({ escrowsPruned: true, lastExecution: undefined, lastSuccessfulExecution: undefined }),
    );
    expect(hit?.annotations).toMatchObject({
      escrowsPruned: true,
      signs: 'Entra pruned the object errors of its initial cycle instead of quarantining it',
    });
    expect(hit?.annotations.errorCode).toBeUndefined();
    expect(hit?.annotations.countEscrowed).toBeUndefined();
    expect(hit?.annotations.lastSuccessEnded).toBeUndefined();
    expect(hit?.material).toBe('');
    const view = viewOf(jobFailing, hit);
    expect(view.what).toContain('Entra pruned the object errors of its initial cycle instead of quarantining it');
    expect(fact(view, 'Last run')).toBe('not given');
    expect(fact(view, 'Escrows pruned')).toBe('yes');
    expect(fact(view, 'Last successful run')).toBe('not given');
  });

  it('shows no "Escrows pruned" fact when they were not, and tolerates a last success without an end', () => {
    const error = {
      code: 'SystemForCrossDomainIdentityManagementServiceIncompatible',
      message: 'bad PATCH',
      tenantActionable: true,
    };
    const hit = checkJob(
      jobFailing,
      job({
        countSuccessiveCompleteFailures: 3,
        lastSuccessfulExecution: { timeBegan: ago(DAY) },
        lastExecution: {
          result: 'EntryLevelErrors',
          state: 'EntryLevelErrors',
          timeEnded: ago(10 * MIN),
          countEscrowed: 7,
          countEntitled: 80,
          error,
        },
      }),
    );
    expect(hit?.annotations.lastSuccessEnded).toBeUndefined();
    expect(hit?.material).toBe(error.code);
    const view = viewOf(jobFailing, hit);
    expect(fact(view, 'Escrows pruned')).toBeUndefined();
    expect(fact(view, 'Last run')).toBe('2026-11-27 11:50 UTC (EntryLevelErrors)');
    expect(fact(view, 'Error code')).toBe(error.code);
    expect(fact(view, 'Error')).toBe('bad PATCH');
    expect(fact(view, 'Objects in escrow')).toBe('7');
    expect(fact(view, 'Objects in scope')).toBe('80');
    expect(fact(view, 'Runs that failed in a row')).toBe('3');
  });

  it('is not judged while the job is quarantined or stopped (its root cause speaks)', () => {
    for (const patch of [
      { status: status('Quarantine') },
      { status: status('Paused') },
      { schedule: schedule('Disabled') },
    ]) {
      expect(checkJob(jobFailing, job({ countSuccessiveCompleteFailures: 5, ...patch }))).toBeUndefined();
    }
  });
});

// ---- job-disabled ------------------------------------------------------------------------------

describe('job-disabled: a job that ran before and is now paused or Disabled', () => {
  const paused = (patch: Partial<JobSnapshot> = {}) => job({ status: status('Paused'), ...patch });

  it('fires for Paused alone and for a Disabled schedule alone, never for a job that never ran', () => {
    expect(checkJob(jobDisabled, paused())).toBeDefined();
    expect(checkJob(jobDisabled, job({ schedule: schedule('Disabled') }))).toBeDefined();
    expect(checkJob(jobDisabled, job())).toBeUndefined();
    expect(checkJob(jobDisabled, neverRan({ status: status('Paused') }))).toBeUndefined();
    // Either sign of having run is enough: a completed run without a first steady state, or the reverse.
    expect(checkJob(jobDisabled, paused({ steadyStateFirstAchievedTime: undefined }))).toBeDefined();
    expect(
      checkJob(jobDisabled, neverRan({ status: status('Paused'), steadyStateFirstAchievedTime: ago(DAY) })),
    ).toBeDefined();
  });

  it('leaves a quarantined or unconfigured job with a Disabled schedule to other rules', () => {
    expect(
      checkJob(jobDisabled, job({ status: status('Quarantine'), schedule: schedule('Disabled') })),
    ).toBeUndefined();
    expect(
      checkJob(jobDisabled, job({ status: status('NotConfigured'), schedule: schedule('Disabled') })),
    ).toBeUndefined();
  });

  it('stopped after failures: pruned escrows, a quarantine, one complete failure, or a Failed run with an error, each alone', () => {
    expect(stoppedAfterFailures(paused())).toBe(false);
    expect(stoppedAfterFailures(paused({ escrowsPruned: true }))).toBe(true);
    expect(
      stoppedAfterFailures(
        paused({
          quarantine: { reason: { known: 'EncounteredQuarantineException', raw: 'EncounteredQuarantineException' } },
        }),
      ),
    ).toBe(true);
    expect(stoppedAfterFailures(paused({ countSuccessiveCompleteFailures: 1 }))).toBe(true);
    expect(stoppedAfterFailures(paused({ countSuccessiveCompleteFailures: undefined }))).toBe(false);
    const error = {
      code: 'AzureDirectoryB2BManagementPolicyCheckFailure',
      message: 'Policy not configured.',
      tenantActionable: true,
    };
    expect(
      stoppedAfterFailures(
        paused({ lastExecution: { result: 'Failed', state: 'Failed', timeEnded: ago(DAY), error } }),
      ),
    ).toBe(true);
    expect(
      stoppedAfterFailures(paused({ lastExecution: { result: 'Failed', state: 'Failed', timeEnded: ago(DAY) } })),
    ).toBe(false);
    expect(
      stoppedAfterFailures(
        paused({
          lastExecution: { result: 'EntryLevelErrors', state: 'EntryLevelErrors', timeEnded: ago(DAY), error },
        }),
      ),
    ).toBe(false);
    expect(stoppedAfterFailures(paused({ lastExecution: undefined }))).toBe(false);
  });

  it('after failures it is critical at once; a plain pause keeps the configured severity and pending cycles', () => {
    expect(checkJob(jobDisabled, paused({ countSuccessiveCompleteFailures: 1 }))).toMatchObject({
      severity: 'critical',
      pendingCycles: 0,
      annotations: { stoppedAfterFailures: true },
    });
    const plain = checkJob(jobDisabled, paused());
    expect(plain?.severity).toBeUndefined();
    expect(plain?.pendingCycles).toBeUndefined();
    expect(plain?.annotations.stoppedAfterFailures).toBe(false);
  });

  it('takes the error from the quarantine when Graph gave no last run', () => {
    const hit = checkJob(
      jobDisabled,
      paused({
        lastExecution: undefined,
        lastSuccessfulExecution: { timeBegan: ago(DAY) },
        quarantine: {
          reason: { known: 'EncounteredQuarantineException', raw: 'EncounteredQuarantineException' },
          error: { code: 'AzureActiveDirectoryInvalidCredentials', message: 'bad secret', tenantActionable: true },
        },
      }),
    );
    expect(hit?.annotations).toMatchObject({
      errorCode: 'AzureActiveDirectoryInvalidCredentials',
      errorMessage: 'bad secret',
      stoppedAfterFailures: true,
    });
    expect(hit?.annotations.lastSuccessEnded).toBeUndefined();
  });

  it('the view tells a pause from a stop after failures, and a pruned initial cycle from four weeks in quarantine', () => {
    const pause = viewOf(jobDisabled, checkJob(jobDisabled, paused()));
    expect(pause.title).toBe('Job paused');
    expect(pause.what).toContain(
      'is paused (status Paused, schedule Active): nothing syncs until it is started again.',
    );

    const error = {
      code: 'AzureDirectoryB2BManagementPolicyCheckFailure',
      message: 'Policy not configured.',
      tenantActionable: true,
    };
    const failed = viewOf(
      jobDisabled,
      checkJob(
        jobDisabled,
        paused({
          countSuccessiveCompleteFailures: 3,
          lastExecution: { result: 'Failed', state: 'Failed', timeEnded: ago(DAY), error },
        }),
      ),
    );
    expect(failed.title).toBe('Job disabled');
    expect(fact(failed, 'Last run')).toBe('2026-11-26 12:00 UTC (Failed)');
    expect(fact(failed, 'Last error code')).toBe(error.code);
    expect(fact(failed, 'Last error')).toBe(error.message);
    expect(fact(failed, 'Runs that failed in a row')).toBe('3');
    expect(fact(failed, 'Last successful run')).toBe('2026-11-27 11:50 UTC');
    expect(failed.runbook?.steps).toContainEqual(expect.stringMatching(/^Fix the cause first/));
    expect(failed.runbook?.steps).not.toContainEqual(expect.stringMatching(/^If the pause was intended/));
    expect(pause.runbook?.steps).toContainEqual(expect.stringMatching(/^If the pause was intended/));
    expect(failed.what).toContain(
      'was stopped after it kept failing (status Paused, schedule Active), as Entra does after four weeks in quarantine',
    );

    const pruned = viewOf(jobDisabled, checkJob(jobDisabled, paused({ escrowsPruned: true })));
    expect(pruned.what).toMatch(/^Entra paused .* after its initial cycle, pruning the object errors/);

    const noSchedule = viewOf(jobDisabled, checkJob(jobDisabled, paused({ schedule: undefined })));
    expect(noSchedule.what).toContain('is paused (status Paused): nothing syncs');
  });

  it('the view says "stopped" when Graph gave neither a status nor a schedule state', () => {
    const hit = checkJob(jobDisabled, paused());
    const view = jobDisabled.present(
      alertOf('job-disabled', { ...hit!.annotations, statusCode: undefined, scheduleState: undefined }),
      CTX,
    );
    expect(view.what).toContain('is paused (stopped): nothing syncs');
  });
});

// ---- no-provisioning-events --------------------------------------------------------------------

describe('no-provisioning-events: an Active job silent for longer than silentFor', () => {
  const silentFor = 24 * HOUR;
  const withActivity = (activity: JobActivity | undefined, p: Partial<ProvisioningObservation> = {}) =>
    tenant({
      jobs: [job()],
      provisioning: provisioning({ activity: new Map(activity ? [[JOB_ID, activity]] : []), ...p }),
    });
  const check = (j: JobSnapshot, t: TenantObservation) => checkJob(noProvisioningEvents, j, { tenant: t });

  it('silent for exactly silentFor may be (the allowance); one millisecond longer fires', () => {
    expect(
      check(job(), withActivity({ lastEventAt: NOW.getTime() - silentFor, watchingSince: NOW.getTime() - 7 * DAY })),
    ).toBeUndefined();
    const hit = check(
      job(),
      withActivity({ lastEventAt: NOW.getTime() - silentFor - 1, watchingSince: NOW.getTime() - 7 * DAY }),
    );
    expect(hit?.annotations).toMatchObject({
      lastEventAt: new Date(NOW.getTime() - silentFor - 1).toISOString(),
      silentForMs: silentFor,
    });
  });

  it('counts from when it started watching when no event was ever found', () => {
    expect(check(job(), withActivity({ watchingSince: NOW.getTime() - silentFor }))).toBeUndefined();
    const hit = check(job(), withActivity({ watchingSince: NOW.getTime() - 2 * DAY }));
    expect(hit?.annotations.lastEventAt).toBeUndefined();
    const view = viewOf(noProvisioningEvents, hit);
    expect(view.what).toContain(
      'has written no provisioning event since at least 2026-11-25 12:00 UTC (none found in the logs).',
    );
    expect(view.since).toBe(new Date(NOW.getTime() - 2 * DAY).toISOString());
  });

  it('nothing without activity for the job or without provisioning logs, and only for Active jobs', () => {
    expect(check(job(), withActivity(undefined))).toBeUndefined();
    expect(check(job(), tenant({ jobs: [job()] }))).toBeUndefined();
    expect(
      check(job({ status: status('Paused') }), withActivity({ watchingSince: NOW.getTime() - 30 * DAY })),
    ).toBeUndefined();
  });

  it('the view names the last event and the last run end only when known', () => {
    const lastEventAt = NOW.getTime() - 2 * DAY;
    const ran = viewOf(
      noProvisioningEvents,
      check(job(), withActivity({ lastEventAt, watchingSince: lastEventAt - DAY })),
    );
    expect(ran.since).toBe(new Date(lastEventAt).toISOString());
    expect(ran.what).toContain('since 2026-11-25 12:00 UTC');
    expect(fact(ran, 'Last run ended (job status)')).toBe('2026-11-27 11:50 UTC');
    const noRun = check(
      job({ lastExecution: { state: 'Succeeded' } }),
      withActivity({ lastEventAt, watchingSince: lastEventAt }),
    );
    expect(noRun?.annotations.lastRunEnded).toBeUndefined();
    expect(fact(viewOf(noProvisioningEvents, noRun), 'Last run ended (job status)')).toBeUndefined();
  });

  it("inView: not while the tenant or this configuration could not be read, nor without logs or with the job's activity unknown", () => {
    const labels: AlertLabels = {
      tenantId: TENANT,
      servicePrincipalId: SP.id,
      jobId: JOB_ID,
      condition: 'no-provisioning-events',
    };
    const inView = noProvisioningEvents.inView!;
    expect(inView(labels, withActivity(undefined))).toBe(true);
    expect(inView(labels, { ...withActivity(undefined), problem: accessProblem })).toBe(false);
    expect(
      inView(labels, {
        ...withActivity(undefined),
        servicePrincipalProblems: [{ servicePrincipal: SP, problem: accessProblem }],
      }),
    ).toBe(false);
    expect(
      inView(labels, {
        ...withActivity(undefined),
        servicePrincipalProblems: [{ servicePrincipal: OTHER_SP, problem: accessProblem }],
      }),
    ).toBe(true);
    expect(inView(labels, tenant())).toBe(false);
    expect(inView(labels, withActivity(undefined, { activityUnknown: new Set([JOB_ID]) }))).toBe(false);
  });
});

// ---- provisioning-logs-unreadable --------------------------------------------------------------

describe('provisioning-logs-unreadable: the logs themselves cannot be read', () => {
  const problem = (p: Partial<LogProblem>): LogProblem => ({
    kind: 'access',
    source: 'graph',
    operation: 'provisioning logs',
    status: 403,
    code: 'Authorization_RequestDenied',
    message: 'Insufficient privileges.',
    missing: 'AuditLog.Read.All',
    ...p,
  });
  const check = (problems: LogProblem[], pendingCycles = 0) =>
    provisioningLogsUnreadable.check({
      tenant: tenant({ provisioning: provisioning({ problems }) }),
      settings: settingsOf(provisioningLogsUnreadable, {}, { pendingCycles }),
      now: NOW,
    });

  it('a missing permission or licence fires at the configured pace; throttling and outages wait two cycles', () => {
    expect(check([problem({ kind: 'access' })])).toMatchObject([
      { pendingCycles: 0, annotations: { problemKind: 'access', missing: 'AuditLog.Read.All' } },
    ]);
    expect(check([problem({ kind: 'licence' })])[0]?.pendingCycles).toBe(0);
    for (const kind of ['throttled', 'timeout', 'transient', 'invalid-response'] as const)
      expect(check([problem({ kind })])[0]?.pendingCycles).toBe(1);
    expect(check([problem({ kind: 'throttled' })], 3)[0]?.pendingCycles).toBe(3);
  });

  it('a page cap, a partial read or a bad query is not unreadable logs, nor a problem with another read', () => {
    for (const kind of ['page-cap', 'partial', 'query-error'] as const) expect(check([problem({ kind })])).toEqual([]);
    expect(check([problem({ operation: 'held deletes' })])).toEqual([]);
    expect(check([problem({ kind: 'page-cap' }), problem({ kind: 'timeout' })])).toMatchObject([
      { annotations: { problemKind: 'timeout' } },
    ]);
    expect(check([])).toEqual([]);
    expect(
      provisioningLogsUnreadable.check({
        tenant: tenant(),
        settings: settingsOf(provisioningLogsUnreadable),
        now: NOW,
      }),
    ).toEqual([]);
  });

  it('describes the answer: status and code when given, then the message, the read and its source', () => {
    expect(check([problem({})])[0]?.annotations.problem).toBe(
      '403 Authorization_RequestDenied: Insufficient privileges. while reading provisioning logs from Graph (likely missing AuditLog.Read.All)',
    );
    expect(
      check([
        problem({
          kind: 'timeout',
          status: undefined,
          code: '',
          missing: undefined,
          source: 'log-analytics',
          message: 'The query timed out.',
        }),
      ])[0]?.annotations.problem,
    ).toBe('The query timed out. while reading provisioning logs from Log Analytics');
    expect(
      check([problem({ kind: 'throttled', status: 429, code: undefined, missing: undefined })])[0]?.annotations.problem,
    ).toBe('429: Insufficient privileges. while reading provisioning logs from Graph');
  });

  it('inView whenever the tenant itself was read', () => {
    const labels: AlertLabels = {
      tenantId: TENANT,
      servicePrincipalId: '-',
      jobId: '-',
      condition: 'provisioning-logs-unreadable',
    };
    expect(provisioningLogsUnreadable.inView!(labels, tenant())).toBe(true);
    expect(provisioningLogsUnreadable.inView!(labels, tenant({ problem: accessProblem }))).toBe(false);
  });

  it('the view names what is likely missing, and its steps fit Graph or Log Analytics', () => {
    const present = (p: LogProblem) =>
      provisioningLogsUnreadable.present(
        alertOf('provisioning-logs-unreadable', check([p])[0]!.annotations, { servicePrincipalId: '-', jobId: '-' }),
        CTX,
      );
    const graph = present(problem({}));
    expect(fact(graph, 'Likely missing')).toBe('AuditLog.Read.All');
    expect(graph.runbook?.steps[0]).toMatch(/AuditLog\.Read\.All/);
    const la = present(problem({ source: 'log-analytics', missing: undefined, kind: 'timeout' }));
    expect(fact(la, 'Likely missing')).toBeUndefined();
    expect(la.runbook?.steps[0]).toMatch(/Log Analytics Reader/);
  });
});

// ---- deletion-threshold ------------------------------------------------------------------------

describe('deletion-threshold: what the logs say is held', () => {
  const tripped = job({
    status: status('Quarantine'),
    quarantine: { reason: { known: 'TooManyDeletes', raw: 'TooManyDeletes' } },
    deleteThreshold: 500,
  });
  const check = (t: TenantObservation) => checkJob(deletionThreshold, tripped, { tenant: t });
  const held = (h: HeldDeletes | LogProblem) =>
    tenant({ jobs: [tripped], provisioning: provisioning({ heldDeletes: new Map([[JOB_ID, h]]) }) });

  it('only a quarantine with reason TooManyDeletes', () => {
    expect(
      checkJob(deletionThreshold, job({ quarantine: { reason: { known: 'TooManyDeletes', raw: 'TooManyDeletes' } } })),
    ).toBeUndefined();
    expect(
      checkJob(
        deletionThreshold,
        job({
          status: status('Quarantine'),
          quarantine: { reason: { known: 'EncounteredQuarantineException', raw: 'EncounteredQuarantineException' } },
        }),
      ),
    ).toBeUndefined();
  });

  it('says why the held deletes are unknown: logs not read, not read this cycle, unreadable, or no events yet', () => {
    expect(check(tenant({ jobs: [tripped] }))?.annotations.heldUnknown).toBe('the provisioning logs are not read');
    expect(check(tenant({ jobs: [tripped], provisioning: provisioning() }))?.annotations.heldUnknown).toBe(
      'the provisioning logs were not read this cycle',
    );
    expect(
      check(held({ kind: 'timeout', source: 'graph', operation: 'held deletes', message: 'timed out' }))?.annotations
        .heldUnknown,
    ).toBe('timed out while reading held deletes from Graph');
    const none = check(held({ count: 0, sample: [], capped: false }));
    expect(none?.annotations.heldUnknown).toMatch(/^no stagedDelete events/);
    expect(none?.annotations.heldDeletes).toBeUndefined();
  });

  it('names the held objects, with the UPN only where it differs from the name, and how many more', () => {
    const hit = check(
      held({
        count: 5,
        capped: false,
        cycleId: 'c1',
        lastAt: Date.parse('2026-11-27T11:30:00Z'),
        sample: [
          { id: '1', displayName: 'Adele Vance', upn: 'adele@contoso.com', identityType: 'User' },
          { id: '2', displayName: 'Sales' },
          { id: '3', displayName: 'svc@contoso.com', upn: 'svc@contoso.com' },
        ],
      }),
    );
    expect(hit?.annotations).toMatchObject({
      heldDeletes: 5,
      heldCapped: false,
      heldCycleId: 'c1',
      heldStagedAt: '2026-11-27T11:30:00.000Z',
    });
    const view = viewOf(deletionThreshold, hit);
    expect(view.what).toContain('is holding 5 deletes for your decision.');
    expect(fact(view, 'Held deletes')).toBe('5 object(s), staged 2026-11-27 11:30 UTC');
    expect(fact(view, 'Held objects (3 of 5)')).toBe(
      'Adele Vance (adele@contoso.com), Sales, svc@contoso.com, and 2 more',
    );
    expect(fact(view, 'Deletion threshold')).toBe('500');
  });

  it('lists the sample alone when it is everything, and says "at least" when the count is capped', () => {
    const all = viewOf(
      deletionThreshold,
      check(held({ count: 1, capped: false, sample: [{ id: '1', displayName: 'Sales' }] })),
    );
    expect(fact(all, 'Held objects (1 of 1)')).toBe('Sales');
    const capped = check(held({ count: 2, capped: true, sample: [{ id: '1', displayName: 'Sales' }] }));
    expect(capped?.annotations.heldStagedAt).toBeUndefined();
    const view = viewOf(deletionThreshold, capped);
    expect(view.what).toContain('is holding at least 2 deletes');
    expect(fact(view, 'Held objects (1 of at least 2)')).toBe('Sales, and at least 1 more');
  });

  it("without held counts the view says deletes are held and why their number is unknown, and Entra's default threshold", () => {
    const view = viewOf(
      deletionThreshold,
      checkJob(deletionThreshold, { ...tripped, deleteThreshold: undefined }, { tenant: tenant({ jobs: [tripped] }) }),
    );
    expect(view.what).toMatch(/is holding deletes for your decision\.$/);
    expect(fact(view, 'Held deletes')).toBe('unknown: the provisioning logs are not read');
    expect(fact(view, 'Deletion threshold')).toBe("not reported by Graph (Entra's default is 500)");
  });
});

// ---- jobs-unreadable ---------------------------------------------------------------------------

describe("jobs-unreadable: one configuration's jobs could not be read", () => {
  const check = (problem: AccessProblem | undefined, pendingCycles = 0) =>
    jobsUnreadable.check({
      servicePrincipal: SP,
      jobs: [],
      problem,
      tenant: tenant(),
      settings: settingsOf(jobsUnreadable, {}, { pendingCycles }),
      now: NOW,
    });

  it('access errors fire at the configured pace; throttling or an outage waits at least two cycles', () => {
    expect(check(undefined)).toBeUndefined();
    expect(check(accessProblem)).toMatchObject({
      pendingCycles: 0,
      annotations: { problemKind: 'access', likelyMissingPermission: 'Synchronization.Read.All', httpStatus: 403 },
    });
    expect(check({ ...accessProblem, kind: 'transient', status: 503 })?.pendingCycles).toBe(1);
    expect(check({ ...accessProblem, kind: 'transient', status: 503 }, 3)?.pendingCycles).toBe(3);
    expect(check(accessProblem, 2)?.pendingCycles).toBe(2);
  });

  it('the runbook fits the kind of problem', () => {
    const present = (p: AccessProblem) =>
      jobsUnreadable.present(
        alertOf('jobs-unreadable', check(p)!.annotations, { servicePrincipalId: SP.id, jobId: '-' }),
        CTX,
      );
    expect(present(accessProblem).runbook?.steps[0]).toMatch(/^Graph refused this configuration only/);
    expect(present({ ...accessProblem, kind: 'transient' }).runbook?.steps).toEqual([
      expect.stringMatching(/^Graph failed or throttled/),
    ]);
  });
});
