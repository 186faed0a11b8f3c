import type { AlertLabels } from '../../model';
import type { JobSnapshot, TenantObservation } from '../../model/observation';
import { failuresInWindow } from '../../observe/provisioning-digest';
import { forecastQuarantine, type Forecast, type ForecastParams } from '../forecast';
import { hasRootCause, jobAnnotations, judgedUnlessRootCause } from '../job-facts';
import { objectRunbookStep } from '../object-runbooks';
import { appName, givenFacts, jobLinks, jobScriptsWithFailures, sentences, str, withAdvice } from '../present';
import type { JobRule } from '../rule';
import type { ParamValues } from '../../model/policy';
import { errorCodeAdvice } from '../runbooks';

/**
 * A warning before Entra quarantines a job: its escrow counters grow run after run towards a
 * documented quarantine threshold, or its runs fail completely (lib/evaluate/forecast.ts says how,
 * and where each figure comes from). It resolves when the trend turns (or slows past the horizon),
 * and is muted by the quarantine itself (a root cause, lib/inhibit/): while the job is quarantined
 * it is held as it was, so a quarantine never reads as "resolved".
 */

const HOUR = 3600_000;
export const QUARANTINE_LIKELY = 'quarantine-likely';

function forecastParams(params: ParamValues): ForecastParams {
  return {
    horizonMs: Number(params.horizon),
    lookbackMs: Number(params.lookback),
    minRuns: Number(params.minRuns),
    completeFailures: Number(params.completeFailures),
    agreement: Number(params.agreement),
  };
}

/** The job's top error code in the provisioning logs, with Entra's recommended action. */
function topCode(
  tenant: TenantObservation,
  jobId: string,
): { code: string; count: number; action?: string } | undefined {
  const codes = Object.entries(tenant.provisioning?.digest.jobs[jobId]?.codes ?? {});
  codes.sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
  const [code, digest] = codes[0] ?? [];
  return code && digest ? { code, count: digest.count, action: digest.recommendedAction } : undefined;
}

/** "about 7 hours", "within the hour", "now". */
function hoursText(hours: number): string {
  if (hours <= 0) return 'now';
  if (hours < 1) return 'within the hour';
  const rounded = Math.round(hours);
  return `about ${rounded} hour${rounded === 1 ? '' : 's'}`;
}

/**
 * Whether the alert can be judged: as lesser job alerts are, and only with the job's history read
 * this cycle (a job with nothing to add is not read: its forecast stands). A job no longer seen is
 * judged, as other job alerts are.
 */
function inView(labels: AlertLabels, tenant: TenantObservation): boolean {
  const seen = tenant.jobs.some((j) => j.jobId === labels.jobId && j.servicePrincipal.id === labels.servicePrincipalId);
  return (!seen || tenant.history?.has(labels.jobId) === true) && judgedUnlessRootCause(labels, tenant);
}

function forecastOf(job: JobSnapshot, tenant: TenantObservation, params: ParamValues, now: Date): Forecast | undefined {
  const runs = tenant.history?.get(job.jobId)?.runs ?? [];
  const digest = tenant.provisioning?.digest.jobs[job.jobId];
  const logRate = digest ? failuresInWindow(digest, now.getTime(), HOUR) : undefined;
  return forecastQuarantine(runs, forecastParams(params), logRate);
}

export const quarantineLikely: JobRule = {
  condition: QUARANTINE_LIKELY,
  scope: 'job',
  // Judged once its tenant's logs are read: its history learns the run and the failures there.
  readsLogs: true,
  title: 'Quarantine likely',
  counted: { one: 'likely to be quarantined', many: 'likely to be quarantined' },
  description:
    'Entra will likely quarantine the job soon: its escrows (countEscrowed, countEscrowedRaw) grow run after run towards a documented quarantine threshold within the horizon, its runs fail completely in a row, or Entra pruned its escrows. The alert says in how many hours, the trend, the threshold and its source. It resolves when the trend turns, and is muted by the quarantine itself.',
  defaultSeverity: 'warning',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {
    horizon: {
      type: 'duration',
      default: 24 * HOUR,
      min: HOUR,
      max: 14 * 24 * HOUR,
      description: 'Warn when a quarantine threshold is this close at the current trend',
    },
    lookback: {
      type: 'duration',
      default: 6 * HOUR,
      min: HOUR,
      max: 7 * 24 * HOUR,
      description: 'The runs within this of the newest make the trend',
    },
    minRuns: {
      type: 'integer',
      default: 4,
      min: 2,
      max: 50,
      description: 'Runs needed for a trend (fewer: the failure rate in the provisioning logs is used instead)',
    },
    agreement: {
      type: 'number',
      default: 0.75,
      min: 0.5,
      max: 1,
      description: 'Share of pairs of runs that must agree the escrows grow, for the trend to count',
    },
    completeFailures: {
      type: 'integer',
      default: 2,
      min: 1,
      max: 100,
      description:
        'Runs in a row that failed completely that make a quarantine likely (credentials, SCIM compliance; Entra does not document how many it waits for)',
    },
  },
  inView,
  check({ job, tenant, settings, now }) {
    if (hasRootCause(job)) return undefined;
    const forecast = forecastOf(job, tenant, settings.params, now);
    if (!forecast) return undefined;
    const top = topCode(tenant, job.jobId);
    const error = job.lastExecution?.error;
    return {
      job,
      annotations: {
        ...jobAnnotations(job),
        hoursLeft: Math.round(forecast.hoursLeft * 10) / 10,
        basis: forecast.basis,
        trend: forecast.trend,
        threshold: forecast.threshold.name,
        thresholdFigure: forecast.threshold.figure,
        thresholdReason: forecast.threshold.reason,
        thresholdSource: forecast.threshold.source,
        ratePerHour: Math.round(forecast.ratePerHour),
        runsUsed: forecast.runs,
        horizonMs: Number(settings.params.horizon),
        topCode: top?.code,
        topCodeCount: top?.count,
        topCodeAction: top?.action,
        errorCode: error?.code,
        errorMessage: error?.message,
      },
      // The threshold it heads for: a new one is told at once; hours left change in place.
      material: forecast.threshold.name,
    };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const app = appName(alert);
    const when = hoursText(Number(n.hoursLeft));
    const topCode = n.topCode ? str(n.topCode) : undefined;
    return {
      title: 'Quarantine likely',
      about: app,
      what: `Entra will likely quarantine ${app} in ${when}: ${str(n.trend)}, heading for ${str(n.threshold)}.`,
      facts: givenFacts([
        [
          'Forecast',
          `${when} at the current trend (from the ${str(n.basis)}; warned within ${Math.round(Number(n.horizonMs) / HOUR)} h)`,
        ],
        ['Trend', n.trend],
        [
          'Threshold',
          n.thresholdFigure !== undefined
            ? `${str(n.threshold)} (${Number(n.thresholdFigure).toLocaleString('en-US')})`
            : n.threshold,
        ],
        ['Source of the threshold', n.thresholdSource],
        ['Quarantine reason to expect', n.thresholdReason],
        ['Top error code in the logs', topCode ? `${topCode} (${str(n.topCodeCount)} failures)` : undefined],
        ['Error code of the last run', n.errorCode],
        ['Error', n.errorMessage],
      ]),
      scripts: jobScriptsWithFailures(alert),
      runbook: {
        meaning:
          'The job is not quarantined yet, but at this trend it will cross a threshold at which Entra quarantines it: then it stops syncing, retries only every 6 to 24 hours, and is disabled after four weeks. Fixing the cause now avoids that.',
        steps: withAdvice(
          [
            ...(topCode
              ? [`${topCode}: ${objectRunbookStep(topCode, n.topCodeAction ? str(n.topCodeAction) : undefined)}`]
              : []),
            'Open the provisioning logs of this job filtered to status Failure and group them by error code; fix the most common cause (a recent mapping or scoping change, the target app, its credentials).',
            'Failed objects are retried on later cycles; the alert resolves when the escrows stop growing.',
          ],
          errorCodeAdvice(n.errorCode ? str(n.errorCode) : undefined),
        ),
      },
      links: jobLinks(alert, ctx),
      ended: 'no longer heads for a quarantine (the trend turned)',
    };
  },
  describeChange(before, after) {
    return sentences([`it now heads for another threshold: ${after} (was: ${before})`]);
  },
};
