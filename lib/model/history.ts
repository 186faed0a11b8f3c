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

/** A partly counted hour of failures from the provisioning logs. */
export interface OpenHour {
  /** Hour index: epoch ms / 3,600,000. */
  hour: number;
  failures: number;
}

/**
 * The learned failure profile of a job: failures per completed hour for the last week, and by hour of
 * the week for the last few weeks. Bounded: MAX_HOURS hours and MAX_WEEKS values per hour of the week.
 */
export interface FailureProfile {
  /** Completed hours, oldest first: [hour index, failures]. */
  hours: [number, number][];
  /** By hour of the week (0 = Monday 00:00 UTC): the failures of that hour in the last weeks, oldest first. */
  byHourOfWeek: Record<string, number[]>;
  /** The hour being counted, until the logs have been read past its end. */
  open?: OpenHour;
  /** Up to which minute (epoch ms / 60,000, exclusive) the logs' failures are counted. */
  countedTo?: number;
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
