import type { JobSnapshot } from '../../model/observation';
import { formatTime } from '../../util/text';
import { hasEverRun, isStopped, jobAnnotations } from '../job-facts';
import { appName, jobLinks, givenFacts, jobScripts, str, withAdvice } from '../present';
import type { JobRule } from '../rule';
import { errorCodeAdvice } from '../runbooks';

/**
 * Whether a job stopped because it kept failing rather than because someone paused it: Entra
 * disables a job after four weeks in quarantine (it then shows status Paused and a Disabled
 * schedule, its last run failed) and pauses one whose initial cycle pruned its escrows
 * (docs/reference/graph-provisioning-api.md §1.4, §6.3). INFERENCE: Graph does not say who stopped a job.
 */
export function stoppedAfterFailures(job: JobSnapshot): boolean {
  if (job.escrowsPruned === true || job.quarantine !== undefined) return true;
  if ((job.countSuccessiveCompleteFailures ?? 0) > 0) return true;
  return job.lastExecution?.result === 'Failed' && job.lastExecution.error !== undefined;
}

/**
 * A job that has run before and is now paused or has a Disabled schedule: nothing syncs. When it
 * stopped after failures (Entra disabled it), it is critical and fires at once; a pause with no
 * failure before it (an admin, perhaps testing provisioning on demand) is a warning after one
 * more cycle. A job created and never started is not an alert.
 */
export const jobDisabled: JobRule = {
  condition: 'job-disabled',
  scope: 'job',
  title: 'Job disabled',
  counted: { one: 'job disabled', many: 'jobs disabled' },
  description:
    'A job that has run before is paused (status.code Paused) or its schedule is Disabled, so nothing syncs. Critical and at once when it stopped after failures (Entra disables a job after four weeks in quarantine and pauses one whose initial cycle pruned its errors); otherwise a warning after pendingCycles.',
  defaultSeverity: 'warning',
  defaultPendingCycles: 1,
  defaultKeepFiringForMs: 0,
  params: {},
  rootCause: true,
  check({ job }) {
    if (!isStopped(job) || !hasEverRun(job)) return undefined;
    if (job.status.known === 'Quarantine' || job.status.known === 'NotConfigured') return undefined;
    const afterFailures = stoppedAfterFailures(job);
    const error = job.lastExecution?.error ?? job.quarantine?.error;
    return {
      job,
      annotations: {
        ...jobAnnotations(job),
        stoppedAfterFailures: afterFailures,
        escrowsPruned: job.escrowsPruned,
        countSuccessiveCompleteFailures: job.countSuccessiveCompleteFailures,
        errorCode: error?.code,
        errorMessage: error?.message,
        lastSuccessEnded: job.lastSuccessfulExecution?.timeEnded?.toISOString(),
      },
      severity: afterFailures ? 'critical' : undefined,
      pendingCycles: afterFailures ? 0 : undefined,
    };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const app = appName(alert);
    const how = [
      n.statusCode ? `status ${str(n.statusCode)}` : '',
      n.scheduleState ? `schedule ${str(n.scheduleState)}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const afterFailures = n.stoppedAfterFailures === true;
    let what = `${app} is paused (${how || 'stopped'}): nothing syncs until it is started again.`;
    if (afterFailures) {
      what =
        n.escrowsPruned === true
          ? `Entra paused ${app} after its initial cycle, pruning the object errors instead of quarantining it (${how}): nothing syncs until the errors are cleaned up and the job is started again.`
          : `${app} was stopped after it kept failing (${how}), as Entra does after four weeks in quarantine: nothing syncs until the cause is fixed and the job is started again.`;
    }
    return {
      title: afterFailures ? 'Job disabled' : 'Job paused',
      about: app,
      what,
      facts: [
        ['Last run', `${formatTime(n.lastRunEnded, ctx.timeZone)}${n.lastRunState ? ` (${str(n.lastRunState)})` : ''}`],
        ...givenFacts([
          ['Last error code', n.errorCode],
          ['Last error', n.errorMessage],
          ['Runs that failed in a row', n.countSuccessiveCompleteFailures],
        ]),
        ['Last successful run', formatTime(n.lastSuccessEnded, ctx.timeZone)],
      ],
      scripts: [
        ...jobScripts(alert),
        [
          'Start the job',
          `POST /servicePrincipals/${alert.labels.servicePrincipalId}/synchronization/jobs/${alert.labels.jobId}/start`,
        ],
      ],
      runbook: {
        meaning: afterFailures
          ? 'Entra stops a job that stays quarantined for four weeks (it removes the escrows and disables the job), and pauses one whose initial cycle had too many errors. It will not start again by itself.'
          : 'Someone (or something) paused this job. While it is paused nothing is provisioned or deprovisioned; changes wait until it is started again.',
        steps: withAdvice(
          [
            'See who or what stopped it: Entra admin center > Audit logs, activity "Disable/pause provisioning configuration" (or Activity: Quarantine before it).',
            afterFailures
              ? 'Fix the cause first: the last error above, and the provisioning logs of this job filtered to status Failure.'
              : 'If the pause was intended (maintenance, provisioning on demand tests), silence this alert until the work ends.',
            'Start the job again: Provisioning > Start provisioning (the Graph request is in "Details for scripts").',
          ],
          afterFailures ? errorCodeAdvice(n.errorCode ? str(n.errorCode) : undefined) : undefined,
        ),
      },
      links: jobLinks(alert, ctx),
      ended: 'runs again',
    };
  },
};
