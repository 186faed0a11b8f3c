import { ruleSettingsForJob } from '../evaluate/evaluate';
import { emptyHistory, heldForRules, recordFailures, recordRun, type HistoryNeeds } from '../evaluate/history';
import { FAILURES_CONDITION } from '../evaluate/rules/provisioning-failures';
import { QUARANTINE_LIKELY } from '../evaluate/rules/quarantine-likely';
import { STALLED_CONDITION } from '../evaluate/rules/job-stalled';
import type { JobHistory } from '../model/history';
import type { JobSnapshot } from '../model/observation';
import type { TenantObservation } from '../model/observation';
import type { Policy } from '../model/policy';
import type { HistoryStore } from '../store/history-store';
import { failuresInWindow } from '../observe/provisioning-digest';
import type { Logger } from '../util/log';

/**
 * What the cycle learns of each job across runs, after its tenant is read: the job's history is
 * loaded (one query per tenant), its last run and the failures the logs counted since are added
 * (lib/evaluate/history.ts), the rows that changed are written, and what the rules read of each
 * (`quarantine-likely`, `provisioning-failures` in baseline mode, `job-stalled`'s learnt interval)
 * is put on the observation: only that part is held until the cycle ends (heldForRules). A history that cannot be read leaves `observation.history` unset: the alerts built on
 * it are held, not resolved. Learning follows `provisioning-failures`' `learning` per job
 * (`pinned` and `off` learn no more failures; runs are always kept, for the forecast).
 */

export interface BaselineDeps {
  /** The job histories (Table Storage); absent: nothing is learnt and the forecast has no runs. */
  histories?: Pick<HistoryStore, 'load' | 'save'> & Partial<Pick<HistoryStore, 'forget'>>;
  policy: Policy;
  clock: () => Date;
  log: Logger;
}

/** What tells whether a history changed enough to be written: its newest run, the hour it learns and that hour's figure. */
const marksOf = (h: JobHistory): string =>
  `${h.runs.at(-1)?.at}|${h.profile.open?.hour}|${h.profile.open?.failures}|${h.profile.hours.length}`;

/** What the rules, as set for this job, read of its history. */
function needsOf(tenantId: string, job: JobSnapshot, policy: Policy): HistoryNeeds {
  const settingsOf = (condition: string) => {
    const settings = ruleSettingsForJob(condition, tenantId, job, policy.rules, policy.tenantNames);
    return settings?.enabled ? settings : undefined;
  };
  const forecast = settingsOf(QUARANTINE_LIKELY);
  const failures = settingsOf(FAILURES_CONDITION);
  return {
    forecast: forecast && {
      lookbackMs: Number(forecast.params.lookback),
      minRuns: Number(forecast.params.minRuns),
    },
    baseline: failures?.params.mode === 'baseline' && failures.params.learning !== 'off',
    interval: settingsOf(STALLED_CONDITION)?.params.learnedInterval === true,
  };
}

export async function updateHistories(observation: TenantObservation, deps: BaselineDeps): Promise<void> {
  if (!deps.histories || observation.problem) return;
  const { tenantId } = observation;
  let histories: Map<string, JobHistory>;
  try {
    histories = await deps.histories.load(tenantId);
  } catch (error) {
    deps.log.warn(
      `tenant ${tenantId}: job histories not read (${(error as Error).message}); the quarantine forecast and baselines are held this cycle`,
    );
    return;
  }
  const now = deps.clock().getTime();
  const logs = observation.provisioning;
  for (const job of observation.jobs) {
    const stored = histories.get(job.jobId);
    const before = stored && marksOf(stored);
    const history = stored ?? emptyHistory();
    recordRun(history, job);
    const settings = ruleSettingsForJob(FAILURES_CONDITION, tenantId, job, deps.policy.rules, deps.policy.tenantNames);
    const windowMs = Number(settings?.params.window ?? 3600_000);
    if ((settings?.params.learning ?? 'on') === 'on') {
      const digest = logs?.digest.jobs[job.jobId];
      recordFailures(history, digest ? failuresInWindow(digest, now, windowMs) : 0, now, logs?.complete === true);
    }
    histories.set(job.jobId, heldForRules(history, needsOf(tenantId, job, deps.policy)));
    if (before === marksOf(history)) continue;
    try {
      await deps.histories.save(tenantId, job.jobId, history);
    } catch (error) {
      deps.log.warn(
        `tenant ${tenantId}: the history of job ${job.jobId} was not recorded: ${(error as Error).message}`,
      );
    }
  }
  // Histories of jobs no longer seen are not held either.
  for (const jobId of [...histories.keys()])
    if (!observation.jobs.some((j) => j.jobId === jobId)) histories.delete(jobId);
  observation.history = histories;
}
