import { ruleSettingsForJob } from '../evaluate/evaluate';
import { emptyHistory, hasNews, heldForRules, recordFailures, recordRun, type HistoryNeeds } from '../evaluate/history';
import { FAILURES_CONDITION } from '../evaluate/rules/provisioning-failures';
import { QUARANTINE_LIKELY } from '../evaluate/rules/quarantine-likely';
import { STALLED_CONDITION } from '../evaluate/rules/job-stalled';
import { marksOf, type HistoryMarks, type JobHistory } from '../model/history';
import type { JobSnapshot, TenantObservation } from '../model/observation';
import type { Policy } from '../model/policy';
import type { HistoryStore } from '../store/history-store';
import { failuresInWindow } from '../observe/provisioning-digest';
import type { Logger } from '../util/log';

/**
 * What the cycle learns of each job across runs, after its tenant is read: the histories of the
 * jobs that have something to add (historiesToRead) are loaded (by their keys), each last run and
 * the failures the logs counted since are added (lib/evaluate/history.ts), the rows that changed
 * are written with the tenant's marks row (one transaction), and what the rules read of each
 * (`quarantine-likely`, `provisioning-failures` in baseline mode, `job-stalled`'s learnt interval)
 * is put on the observation: only that part is held until the cycle ends (heldForRules). A job
 * whose history was not read (nothing to add) has none on `observation.history`, and a tenant's
 * histories that cannot be read leave it unset: the alerts built on them are held, not resolved.
 * Learning follows `provisioning-failures`' `learning` per job (`pinned` and `off` learn no more
 * failures; runs are always kept, for the forecast).
 */

export interface BaselineDeps {
  /** The job histories (Table Storage); absent: nothing is learnt and the forecast has no runs. */
  histories?: Pick<HistoryStore, 'load' | 'saveTenant'> & Partial<Pick<HistoryStore, 'forget' | 'marks'>>;
  policy: Policy;
  clock: () => Date;
  log: Logger;
}

/**
 * What tells whether a history changed enough to be written: its marks (newest run, the hour it
 * learns and that hour's figure; an hour closed into the profile always opens a new one).
 */
const marked = (h: JobHistory): string => JSON.stringify(marksOf(h));

interface JobLearning {
  job: JobSnapshot;
  /** What the rules, as set for this job, read of its history. */
  needs: HistoryNeeds;
  /** The failures a complete read of the logs counted in the job's window, when `provisioning-failures` learns them. */
  failures?: { inWindow: number; now: number };
}

/** What this cycle learns of a job, and what its rules read of the history: each rule's settings for it looked up once. */
function learningOf(observation: TenantObservation, job: JobSnapshot, policy: Policy, now: number): JobLearning {
  const settingsOf = (condition: string) =>
    ruleSettingsForJob(condition, observation.tenantId, job, policy.rules, policy.tenantNames);
  const enabled = (condition: string) => {
    const settings = settingsOf(condition);
    return settings?.enabled ? settings : undefined;
  };
  const forecast = enabled(QUARANTINE_LIKELY);
  // Failures are learnt whether or not the rule is enabled, as its `learning` says.
  const failures = settingsOf(FAILURES_CONDITION);
  const logs = observation.provisioning;
  const digest = logs?.digest.jobs[job.jobId];
  const window = Number(failures?.params.window ?? 3600_000);
  return {
    job,
    needs: {
      forecast: forecast && { lookbackMs: Number(forecast.params.lookback), minRuns: Number(forecast.params.minRuns) },
      baseline: failures?.enabled === true && failures.params.mode === 'baseline' && failures.params.learning !== 'off',
      interval: enabled(STALLED_CONDITION)?.params.learnedInterval === true,
    },
    failures:
      logs?.complete === true && (failures?.params.learning ?? 'on') === 'on'
        ? { inWindow: digest ? failuresInWindow(digest, now, window) : 0, now }
        : undefined,
  };
}

/**
 * Which of the tenant's job histories are read this cycle: a job's when a rule reads it every
 * cycle (a baseline, the learnt interval), or when the job has something to add (hasNews, from the
 * few characters each row ends with). Otherwise nothing would change, and its forecast is held as
 * it stands (a week-old history is up to 30,000 characters a job: reading every one every cycle was
 * most of the garbage a 1,000-tenant cycle made, and reading all of a tenant's when one job ran
 * still most of the Table Storage reads). A store without marks, or marks that cannot be read:
 * every job's. `kept`: what the histories not read end with, for the tenant's marks row.
 */
async function historiesToRead(
  tenantId: string,
  jobs: JobLearning[],
  deps: BaselineDeps,
): Promise<{ read: JobLearning[]; kept: Map<string, HistoryMarks>; unmarked: Set<string> }> {
  const store = deps.histories;
  const marks = store?.marks ? await store.marks(tenantId).catch(() => undefined) : undefined;
  if (!marks) return { read: jobs, kept: new Map(), unmarked: new Set() };
  const read: JobLearning[] = [];
  const kept = new Map<string, HistoryMarks>();
  // Rows written before the marks: read, and written back with them.
  const unmarked = new Set<string>();
  for (const learning of jobs) {
    const { job, needs, failures } = learning;
    const mark = marks.get(job.jobId);
    if (!mark) unmarked.add(job.jobId);
    if (!mark || needs.baseline || needs.interval || hasNews(mark, job, failures)) read.push(learning);
    else kept.set(job.jobId, mark);
  }
  return { read, kept, unmarked };
}

export async function updateHistories(observation: TenantObservation, deps: BaselineDeps): Promise<void> {
  if (!deps.histories || observation.problem) return;
  const { tenantId } = observation;
  const now = deps.clock().getTime();
  const jobs = observation.jobs.map((job) => learningOf(observation, job, deps.policy, now));
  const { read, kept, unmarked } = await historiesToRead(tenantId, jobs, deps);
  if (read.length === 0) return;
  let histories: Map<string, JobHistory>;
  try {
    histories = await deps.histories.load(
      tenantId,
      read.map(({ job }) => job.jobId),
    );
  } catch (error) {
    deps.log.warn(
      `tenant ${tenantId}: job histories not read (${(error as Error).message}); the quarantine forecast and baselines are held this cycle`,
    );
    return;
  }
  /** What every job's history ends with (the marks row is written from these), and those to write. */
  const ending = new Map(kept);
  const changed: [string, JobHistory][] = [];
  for (const { job, needs, failures } of read) {
    const stored = histories.get(job.jobId);
    const before = stored && marked(stored);
    const history = stored ?? emptyHistory();
    recordRun(history, job);
    if (failures) recordFailures(history, failures.inWindow, now, true);
    ending.set(job.jobId, marksOf(history));
    histories.set(job.jobId, heldForRules(history, needs));
    if (before !== marked(history) || unmarked.has(job.jobId)) changed.push([job.jobId, history]);
  }
  if (changed.length > 0)
    await deps.histories
      .saveTenant(tenantId, changed, ending)
      .catch((error: unknown) =>
        deps.log.warn(
          `tenant ${tenantId}: the histories of ${changed.length} job(s) were not recorded (learnt again next cycle): ${(error as Error).message}`,
        ),
      );
  // Histories of jobs no longer seen are not held either.
  for (const jobId of [...histories.keys()])
    if (!observation.jobs.some((j) => j.jobId === jobId)) histories.delete(jobId);
  observation.history = histories;
}
