import type { JobHistory, RunPoint } from '../../model/history';
import { formatDuration } from '../../util/text';
import { isScheduledToRun, jobAnnotations, judgedUnlessRootCause, lastCompletedRun } from '../job-facts';
import { appName, jobLinks, givenFacts, jobScripts, str, withAdvice } from '../present';
import type { JobRule } from '../rule';
import { errorCodeAdvice } from '../runbooks';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Cross-tenant jobs run every 40 minutes (reference §1.3): the cadence assumed when Graph gives no interval. */
const ASSUMED_INTERVAL_MS = 40 * MINUTE;
/** An Active schedule with a longer interval than this is not meant to run (TimeSpan.MaxValue appears on disabled ones). */
const LONGEST_REAL_INTERVAL_MS = 30 * 24 * HOUR;

/**
 * An Active job that has not completed a run for k × its schedule interval (at least `atLeast`):
 * the clocks are the last run's end, the last successful run's end and the last time it reached
 * steady state, whichever is latest. A run that reports progress recently is under way, not
 * stalled. A job that never completed a run (every time 0001-01-01) has no clock of its own: it is
 * judged from when the monitor first saw it, and given `firstRunWithin` for its first run.
 */
/** Runs kept before their gaps are trusted as the job's interval. */
const MIN_RUNS_FOR_INTERVAL = 8;

/** The median gap between the job's last runs (lib/evaluate/history.ts), once enough are kept. */
function learntInterval(history: JobHistory | undefined): number | undefined {
  const runs = history?.runs ?? [];
  if (runs.length < MIN_RUNS_FOR_INTERVAL) return undefined;
  const gaps = runs.slice(1).map((r, i) => r.at - (runs[i] as RunPoint).at);
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)];
}

export const STALLED_CONDITION = 'job-stalled';

export const jobStalled: JobRule = {
  condition: STALLED_CONDITION,
  scope: 'job',
  title: 'Job stalled',
  counted: { one: 'stalled', many: 'stalled' },
  description:
    'A job whose schedule is Active has completed no run for `intervals` times its schedule interval (and at least `atLeast`); a job that never ran is given `firstRunWithin` from when the monitor first saw it.',
  defaultSeverity: 'warning',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {
    intervals: {
      type: 'number',
      default: 3,
      min: 1,
      max: 1000,
      description: 'How many schedule intervals may pass without a completed run',
    },
    atLeast: {
      type: 'duration',
      default: HOUR,
      min: 0,
      description:
        'The shortest silence that counts as stalled, whatever the interval (Cloud Sync runs every 2 minutes)',
    },
    firstRunWithin: {
      type: 'duration',
      default: 24 * HOUR,
      min: 0,
      description:
        'How long a job that never ran may take to complete its first run, from when the monitor first saw it (an initial cycle takes about 0.01 to 0.08 minutes per assigned object)',
    },
    learnedInterval: {
      type: 'boolean',
      default: false,
      description:
        "Count intervals of the job's learnt run interval (the median gap between its last runs, once 8 are kept) when it is longer than its schedule's: a job whose runs take longer than its interval is not stalled for it",
    },
  },
  // Held while the job is quarantined or stopped: a quarantine runs at a reduced rate by design.
  inView: judgedUnlessRootCause,
  // The learnt interval is read from the job's history: judged with it, after the jobs.
  readsHistory: (rule) =>
    rule.settings.params.learnedInterval === true ||
    rule.overrides.some((o) => o.settings.params?.learnedInterval === true),
  check({ job, tenant, settings, now }) {
    if (!isScheduledToRun(job)) return undefined;
    const scheduled = job.schedule?.intervalMs ?? ASSUMED_INTERVAL_MS;
    if (scheduled <= 0 || scheduled > LONGEST_REAL_INTERVAL_MS) return undefined;
    const learnt =
      settings.params.learnedInterval === true ? learntInterval(tenant.history?.get(job.jobId)) : undefined;
    const intervalMs = learnt !== undefined && learnt > scheduled ? learnt : scheduled;
    const allowedMs = Math.max(Number(settings.params.intervals) * intervalMs, Number(settings.params.atLeast));
    if (job.progressObservedAt && now.getTime() - job.progressObservedAt.getTime() <= allowedMs) return undefined; // a run is under way
    const base = {
      ...jobAnnotations(job),
      intervalMs,
      intervalAssumed: job.schedule?.intervalMs === undefined,
      ...(intervalMs !== scheduled ? { intervalLearnt: true, scheduledIntervalMs: scheduled } : {}),
      errorCode: job.lastExecution?.error?.code,
      errorMessage: job.lastExecution?.error?.message,
    };
    const last = lastCompletedRun(job);
    if (last) {
      const quietMs = now.getTime() - last.getTime();
      if (quietMs <= allowedMs) return undefined;
      return {
        job,
        annotations: { ...base, neverRan: false, lastCompletedRun: last.toISOString(), quietMs, allowedMs },
      };
    }
    if (!job.firstSeenAt) return undefined; // never ran, and no memory of when it appeared: too early to say
    const waitedMs = now.getTime() - job.firstSeenAt.getTime();
    const firstRunWithin = Number(settings.params.firstRunWithin);
    if (waitedMs <= firstRunWithin) return undefined;
    return {
      job,
      annotations: {
        ...base,
        neverRan: true,
        firstSeenAt: job.firstSeenAt.toISOString(),
        quietMs: waitedMs,
        allowedMs: firstRunWithin,
      },
    };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const app = appName(alert);
    const every = `${formatDuration(Number(n.intervalMs))}${n.intervalLearnt === true ? ` (learnt from its runs; its schedule says ${formatDuration(Number(n.scheduledIntervalMs))})` : n.intervalAssumed ? ' (assumed: Graph gave no interval)' : ''}`;
    const what =
      n.neverRan === true
        ? `${app} has not completed its first run in the ${formatDuration(Number(n.quietMs))} since Entra Sync Watch first saw it (a first run is given ${formatDuration(Number(n.allowedMs))}).`
        : `${app} has completed no run for ${formatDuration(Number(n.quietMs))}, although its schedule is Active and it runs every ${every}.`;
    const cloudSync = str(n.jobKind) === 'Entra Cloud Sync';
    const advice = errorCodeAdvice(n.errorCode ? str(n.errorCode) : undefined);
    return {
      title: 'Job stalled',
      about: app,
      what,
      since: n.neverRan === true ? str(n.firstSeenAt) : str(n.lastCompletedRun),
      facts: [
        ['Schedule', `every ${every}, ${str(n.scheduleState) || 'Active'}`],
        ['Allowed without a completed run', formatDuration(Number(n.allowedMs))],
        ...givenFacts([
          ['Last run state', n.lastRunState],
          ['Last error code', n.errorCode],
          ['Last error', n.errorMessage],
        ]),
      ],
      scripts: jobScripts(alert),
      runbook: {
        meaning:
          'Entra has not finished a provisioning cycle of this job for longer than its schedule allows, without quarantining or pausing it: changes in the source are not reaching the target.',
        steps: withAdvice(
          [
            cloudSync
              ? 'Check the Cloud Sync provisioning agents: Entra admin center > Entra Connect > Cloud Sync > Agents must show at least one active agent, and its service must run on the agent server.'
              : 'Open the provisioning logs of this job: recent entries mean it is working through a long cycle (an initial cycle takes about 0.01 to 0.08 minutes per assigned object); none means it is stuck.',
            'Check the audit log for "Enable/restart provisioning configuration" or credential changes around the time it went quiet.',
            'If nothing explains it, restart the job (Provisioning > Restart provisioning) and open a support case if it stays silent.',
          ],
          advice,
        ),
      },
      links: jobLinks(alert, ctx),
      ended: 'completed a run again',
    };
  },
};
