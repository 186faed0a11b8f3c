import type { JobSnapshot } from '../../model/observation';
import { formatTime } from '../../util/text';
import { hasRootCause, jobAnnotations, judgedUnlessRootCause } from '../job-facts';
import { appName, jobLinks, givenFacts, jobScriptsWithFailures, sentences, str, wasNow, withAdvice } from '../present';
import type { JobRule } from '../rule';
import type { ParamValues } from '../../model/policy';
import { errorCodeAdvice } from '../runbooks';

/**
 * The signs that a job fails below quarantine, in plain words; none when it does not. Escrows are
 * `countEscrowed`, not `countEscrowedRaw`, which counts system escrows even on healthy jobs
 * (docs/reference/graph-provisioning-api.md §1.5). A never-run job's `Failed` state with error
 * code `None` is no failure (§1.9 (a)): the None error is no error once normalised.
 */
export function failureSigns(job: JobSnapshot, params: ParamValues): string[] {
  const last = job.lastExecution;
  const signs: string[] = [];
  if (last?.result === 'EntryLevelErrors') signs.push('its last run ended with object-level errors (EntryLevelErrors)');
  if (last?.result === 'Failed' && last.error)
    signs.push(`its last run failed (${last.error.code || 'no error code'})`);
  const escrowed = last?.countEscrowed ?? 0;
  if (escrowed >= Number(params.minEscrowed))
    signs.push(`${escrowed} object${escrowed === 1 ? ' is' : 's are'} in escrow (failed, waiting to be retried)`);
  const failures = job.countSuccessiveCompleteFailures ?? 0;
  if (failures >= Number(params.minSuccessiveFailures)) signs.push(`${failures} runs in a row failed completely`);
  if (job.escrowsPruned === true)
    signs.push('Entra pruned the object errors of its initial cycle instead of quarantining it');
  return signs;
}

/**
 * A job that fails short of quarantine: Entra only starts to evaluate a quarantine after 5,000
 * failures (reference §6.3), so a job can fail most objects for days before it is quarantined, and
 * Entra sends nothing meanwhile. A warning by default. Not judged while the job is quarantined or
 * stopped (those alerts say more); one already firing then stays firing, its reminders muted by
 * that root cause, so it is never "resolved" by a quarantine. A new error code is told at once.
 */
export const jobFailing: JobRule = {
  condition: 'job-failing',
  scope: 'job',
  title: 'Job failing',
  counted: { one: 'failing', many: 'failing' },
  description:
    'A job fails below quarantine: its last run ended EntryLevelErrors or Failed with a real error, objects are in escrow (countEscrowed ≥ minEscrowed), runs failed completely in a row (≥ minSuccessiveFailures), or Entra pruned its escrows. A new error code is told at once.',
  defaultSeverity: 'warning',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {
    minEscrowed: {
      type: 'integer',
      default: 1,
      min: 1,
      description: 'Objects in escrow after the last run (countEscrowed) that make the job failing',
    },
    minSuccessiveFailures: {
      type: 'integer',
      default: 2,
      min: 1,
      description: 'Runs in a row that failed completely (countSuccessiveCompleteFailures) that make the job failing',
    },
  },
  // Held while the job is quarantined or stopped: its root cause speaks for it then.
  inView: judgedUnlessRootCause,
  check({ job, settings }) {
    if (hasRootCause(job)) return undefined;
    const signs = failureSigns(job, settings.params);
    if (signs.length === 0) return undefined;
    const error = job.lastExecution?.error;
    return {
      job,
      annotations: {
        ...jobAnnotations(job),
        signs: signs.join('; '),
        countEscrowed: job.lastExecution?.countEscrowed,
        countEntitled: job.lastExecution?.countEntitled,
        countSuccessiveCompleteFailures: job.countSuccessiveCompleteFailures,
        escrowsPruned: job.escrowsPruned,
        errorCode: error?.code,
        errorMessage: error?.message,
        tenantActionable: error?.tenantActionable,
        lastSuccessEnded: job.lastSuccessfulExecution?.timeEnded?.toISOString(),
      },
      material: error?.code ?? '',
    };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const app = appName(alert);
    return {
      title: 'Job failing',
      about: app,
      what: `${app} is failing without being quarantined: ${str(n.signs)}.`,
      facts: [
        ['Last run', `${formatTime(n.lastRunEnded, ctx.timeZone)}${n.lastRunState ? ` (${str(n.lastRunState)})` : ''}`],
        ...givenFacts([
          ['Error code', n.errorCode],
          ['Error', n.errorMessage],
          ['Objects in escrow', n.countEscrowed],
          ['Objects in scope', n.countEntitled],
          ['Runs that failed in a row', n.countSuccessiveCompleteFailures],
          ['Escrows pruned', n.escrowsPruned === true ? 'yes' : undefined],
        ]),
        ['Last successful run', formatTime(n.lastSuccessEnded, ctx.timeZone)],
      ],
      scripts: jobScriptsWithFailures(alert),
      runbook: {
        meaning:
          'Objects fail to provision and Entra retries them (escrows), but it only considers a quarantine after 5,000 failures, so it sends nothing yet. ' +
          'If the failures grow past 40% of events or 40,000, Entra quarantines the job.',
        steps: withAdvice(
          [
            'Open the provisioning logs of this job filtered to status Failure and group them by error code.',
            "Fix the most common cause (attribute mappings, matching attributes, scoping, the target app's permissions or its availability).",
            'Failed objects are retried on later cycles; the alert resolves when the last run has no more errors.',
          ],
          errorCodeAdvice(n.errorCode ? str(n.errorCode) : undefined),
        ),
      },
      links: jobLinks(alert, ctx),
      ended: 'runs without errors again',
    };
  },
  describeChange(before, after) {
    return sentences([wasNow('the error code of its last run', before, after)]);
  },
};
