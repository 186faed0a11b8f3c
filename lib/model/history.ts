/**
 * What the monitor learns of a job across runs (lib/evaluate/history.ts keeps it, lib/store/history-store.ts
 * stores it, one bounded row per job): its recent runs' escrow counters, for the quarantine forecast,
 * and a profile of its failures per hour, for the baseline of `provisioning-failures`.
 */

/** One run of a job, from `status.lastExecution` and the job's status counters. */
export interface RunPoint {
  /** When the run ended (epoch ms); when it began for a run with no end time. */
  at: number;
  /** `countEscrowed`: objects in error after the run. */
  escrowed: number;
  /** `countEscrowedRaw`: with system escrows, which Entra's absolute limit counts too. */
  escrowedRaw?: number;
  /** `countEntitled`: objects in scope, our estimate of the proportion's denominator. */
  entitled?: number;
  /** `countSuccessiveCompleteFailures` after the run. */
  completeFailures: number;
  /** `escrowsPruned` after the run. */
  pruned: boolean;
}

/** The hour being learnt. */
export interface OpenHour {
  /** Hour index: epoch ms / 3,600,000. */
  hour: number;
  /** The most failures the job's window held at any cycle in this hour. */
  failures: number;
}

/**
 * The learned failure profile of a job: for each hour, the most failures its window (that of
 * `provisioning-failures`) held at any cycle in it; the last week of hours, and by hour of the week
 * for the last few weeks. Bounded: MAX_HOURS hours and MAX_WEEKS values per hour of the week.
 */
export interface FailureProfile {
  /** Completed hours, oldest first: [hour index, failures]. */
  hours: [number, number][];
  /** By hour of the week (0 = Monday 00:00 UTC): the failures of that hour in the last weeks, oldest first. */
  byHourOfWeek: Record<string, number[]>;
  /** The hour being learnt, until a cycle in a later hour closes it. */
  open?: OpenHour;
  /** When learning began (epoch ms): the history a baseline stands on. */
  since?: number;
}

export interface JobHistory {
  version: 1;
  /** Recent runs, oldest first (at most MAX_RUNS). */
  runs: RunPoint[];
  profile: FailureProfile;
}

/** What a cycle knows of each job's history, by job id, on a tenant observation. */
export type JobHistories = Map<string, JobHistory>;

/** What a job's history ends with, stored beside it and read without it (lib/store/history-store.ts). */
export interface HistoryMarks {
  /** When its newest run ended (epoch ms). */
  lastRunAt?: number;
  /** The hour being learnt and the most failures seen in it (OpenHour). */
  open?: OpenHour;
}

/** What a history ends with: what tells whether a cycle changed it, and what is stored beside it. */
export function marksOf(history: JobHistory): HistoryMarks {
  const open = history.profile.open;
  return {
    ...(history.runs.length > 0 ? { lastRunAt: history.runs.at(-1)!.at } : {}),
    ...(open ? { open: { hour: open.hour, failures: open.failures } } : {}),
  };
}
