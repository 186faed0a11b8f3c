import { ruleSettingsForJob } from '../evaluate/evaluate';
import { emptyHistory, recordFailures, recordRun } from '../evaluate/history';
import { FAILURES_CONDITION } from '../evaluate/rules/provisioning-failures';
import type { JobHistory } from '../model/history';
import type { TenantObservation } from '../model/observation';
import type { Policy } from '../model/policy';
import type { HistoryStore } from '../store/history-store';
import type { Logger } from '../util/log';

/**
 * What the cycle learns of each job across runs, after its tenant is read: the job's history is
 * loaded (one query per tenant), its last run and the failures the logs counted since are added
 * (lib/evaluate/history.ts), the histories are put on the observation for the rules
 * (`quarantine-likely`, `provisioning-failures` in baseline mode), and the rows that changed are
 * written. A history that cannot be read leaves `observation.history` unset: the alerts built on
 * it are held, not resolved. Learning follows `provisioning-failures`' `learning` per job
 * (`pinned` and `off` learn no more failures; runs are always kept, for the forecast).
 */

const MINUTE = 60_000;

export interface BaselineDeps {
  /** The job histories (Table Storage); absent: nothing is learnt and the forecast has no runs. */
  histories?: Pick<HistoryStore, 'load' | 'save'>;
  policy: Policy;
  clock: () => Date;
  log: Logger;
}

/** Whether a history must be written now: a new run or hour, or what it has counted would leave the logs' window before the next cycle. */
function worthWriting(before: JobHistory | undefined, after: JobHistory, now: number, windowMs: number): boolean {
  if (!before) return true;
  if (before.runs.at(-1)?.at !== after.runs.at(-1)?.at) return true;
  if (before.profile.hours.at(-1)?.[0] !== after.profile.hours.at(-1)?.[0]) return true;
  const counted = before.profile.countedTo;
  return counted === undefined ? after.profile.countedTo !== undefined : now - counted * MINUTE > windowMs / 2;
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
    const before = stored && (JSON.parse(JSON.stringify(stored)) as JobHistory);
    const history = stored ?? emptyHistory();
    recordRun(history, job);
    const settings = ruleSettingsForJob(FAILURES_CONDITION, tenantId, job, deps.policy.rules, deps.policy.tenantNames);
    const windowMs = Number(settings?.params.window ?? 3600_000);
    if ((settings?.params.learning ?? 'on') === 'on')
      recordFailures(history, logs?.digest.jobs[job.jobId], now, windowMs, logs?.complete === true);
    histories.set(job.jobId, history);
    if (!worthWriting(before, history, now, windowMs)) continue;
    try {
      await deps.histories.save(tenantId, job.jobId, history);
    } catch (error) {
      deps.log.warn(
        `tenant ${tenantId}: the history of job ${job.jobId} was not recorded: ${(error as Error).message}`,
      );
    }
  }
  observation.history = histories;
}
