import { ruleSettingsForJob } from '../evaluate/evaluate';
import { emptyHistory, hasNews, heldForRules, recordFailures, recordRun, type HistoryNeeds } from '../evaluate/history';
import { FAILURES_CONDITION } from '../evaluate/rules/provisioning-failures';
import { QUARANTINE_LIKELY } from '../evaluate/rules/quarantine-likely';
import { STALLED_CONDITION } from '../evaluate/rules/job-stalled';
import type { JobHistory } from '../model/history';
import type { JobSnapshot, TenantObservation } from '../model/observation';
import type { Policy } from '../model/policy';
import type { HistoryStore } from '../store/history-store';
import { failuresInWindow } from '../observe/provisioning-digest';
import type { Logger } from '../util/log';

/**
 * What the cycle learns of each job across runs, after its tenant is read: when a job has
 * something to add (worthReading), the tenant's histories are loaded (one query per tenant), its
 * last run and the failures the logs counted since are added (lib/evaluate/history.ts), the rows
 * that changed are written, and what the rules read of each (`quarantine-likely`,
 * `provisioning-failures` in baseline mode, `job-stalled`'s learnt interval) is put on the
 * observation: only that part is held until the cycle ends (heldForRules). A history that cannot
 * be read, or was not read (nothing to add), leaves `observation.history` unset: the alerts built
 * on it are held, not resolved. Learning follows `provisioning-failures`' `learning` per job
 * (`pinned` and `off` learn no more failures; runs are always kept, for the forecast).
 */

export interface BaselineDeps {
  /** The job histories (Table Storage); absent: nothing is learnt and the forecast has no runs. */
  histories?: Pick<HistoryStore, 'load' | 'save'> & Partial<Pick<HistoryStore, 'forget' | 'marks'>>;
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

/** The failures a complete read of the logs counted in the job's window, when `provisioning-failures` learns them. */
function failuresToLearn(
  observation: TenantObservation,
  job: JobSnapshot,
  deps: BaselineDeps,
  now: number,
): { inWindow: number; now: number } | undefined {
  const logs = observation.provisioning;
  if (logs?.complete !== true) return undefined;
  const settings = ruleSettingsForJob(
    FAILURES_CONDITION,
    observation.tenantId,
    job,
    deps.policy.rules,
    deps.policy.tenantNames,
  );
  if ((settings?.params.learning ?? 'on') !== 'on') return undefined;
  const digest = logs.digest.jobs[job.jobId];
  return { inWindow: digest ? failuresInWindow(digest, now, Number(settings?.params.window ?? 3600_000)) : 0, now };
}

interface JobLearning {
  job: JobSnapshot;
  needs: HistoryNeeds;
  failures?: { inWindow: number; now: number };
}

/**
 * Whether the tenant's histories are read this cycle: when a rule reads one every cycle (a
 * baseline, the learnt interval), or a job has something to add (hasNews, from the few characters
 * each row ends with). Otherwise nothing would change, and the forecast is held as it stands (a
 * week-old history is up to 30,000 characters a job: reading every one every cycle was most of
 * the garbage a 1,000-tenant cycle made). A store without marks, or marks that cannot be read: read.
 */
async function worthReading(
  tenantId: string,
  jobs: JobLearning[],
  deps: BaselineDeps,
): Promise<{ read: boolean; unmarked: Set<string> }> {
  const store = deps.histories;
  const marks = store?.marks ? await store.marks(tenantId).catch(() => undefined) : undefined;
  // Rows written before the marks: read, and written back with them.
  const unmarked = new Set(marks ? jobs.map(({ job }) => job.jobId).filter((id) => !marks.has(id)) : []);
  if (!marks || unmarked.size > 0 || jobs.some(({ needs }) => needs.baseline || needs.interval))
    return { read: true, unmarked };
  return { read: jobs.some(({ job, failures }) => hasNews(marks.get(job.jobId)!, job, failures)), unmarked };
}

export async function updateHistories(observation: TenantObservation, deps: BaselineDeps): Promise<void> {
  if (!deps.histories || observation.problem) return;
  const { tenantId } = observation;
  const now = deps.clock().getTime();
  const jobs: JobLearning[] = observation.jobs.map((job) => ({
    job,
    needs: needsOf(tenantId, job, deps.policy),
    failures: failuresToLearn(observation, job, deps, now),
  }));
  const { read, unmarked } = await worthReading(tenantId, jobs, deps);
  if (!read) return;
  let histories: Map<string, JobHistory>;
  try {
    histories = await deps.histories.load(tenantId);
  } catch (error) {
    deps.log.warn(
      `tenant ${tenantId}: job histories not read (${(error as Error).message}); the quarantine forecast and baselines are held this cycle`,
    );
    return;
  }
  for (const { job, needs, failures } of jobs) {
    const stored = histories.get(job.jobId);
    const before = stored && marksOf(stored);
    const history = stored ?? emptyHistory();
    recordRun(history, job);
    if (failures) recordFailures(history, failures.inWindow, now, true);
    histories.set(job.jobId, heldForRules(history, needs));
    if (before === marksOf(history) && !unmarked.has(job.jobId)) continue;
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
