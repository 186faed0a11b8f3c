import type { FailureProfile, JobHistory, OpenHour, RunPoint } from '../model/history';
import type { JobSnapshot } from '../model/observation';
import type { JobDigest } from '../model/provisioning';

/**
 * A job's history across runs, kept pure: what one cycle adds to it (its last run, the failures the
 * provisioning logs counted since the last cycle) and what the rules read of it (the learned
 * baseline). lib/cycle/baselines.ts loads, updates and stores it; scripts/replay.ts runs the same
 * functions on a fake clock.
 */

const MINUTE = 60_000;
const HOUR = 3600_000;
/** Runs kept: two days of a 40-minute schedule, enough for the forecast's trend. */
export const MAX_RUNS = 72;
/** Completed hours kept: a week, for the baseline by hour of day and over all hours. */
export const MAX_HOURS = 168;
/** Values kept per hour of the week: the same hour of the last four weeks. */
export const MAX_WEEKS = 4;
/** Late events are counted if they arrive within this of their time (or half the window, if shorter). */
const SETTLE_MS = 5 * MINUTE;

export function emptyHistory(): JobHistory {
  return { version: 1, runs: [], profile: { hours: [], byHourOfWeek: {} } };
}

/** The run a snapshot reports, as the history keeps it; undefined for a job that has not run. */
function runPointOf(job: JobSnapshot): RunPoint | undefined {
  const last = job.lastExecution;
  const at = (last?.timeEnded ?? last?.timeBegan)?.getTime();
  if (!last || at === undefined || !Number.isFinite(at)) return undefined;
  return {
    at,
    escrowed: last.countEscrowed ?? 0,
    ...(last.countEscrowedRaw !== undefined ? { escrowedRaw: last.countEscrowedRaw } : {}),
    ...(last.countEntitled !== undefined ? { entitled: last.countEntitled } : {}),
    completeFailures: job.countSuccessiveCompleteFailures ?? 0,
    pruned: job.escrowsPruned === true,
  };
}

/** Adds the snapshot's last run when it is new (each cycle reads the same run until the next one ends). */
export function recordRun(history: JobHistory, job: JobSnapshot): void {
  const point = runPointOf(job);
  if (!point) return;
  const last = history.runs.at(-1);
  if (last && point.at <= last.at) return;
  history.runs.push(point);
  if (history.runs.length > MAX_RUNS) history.runs.splice(0, history.runs.length - MAX_RUNS);
}

/** Hour of the week, 0 = Monday 00:00 UTC (1970-01-01 was a Thursday). */
function hourOfWeek(hour: number): number {
  return (((hour + 72) % 168) + 168) % 168;
}

function closeHour(profile: FailureProfile, open: OpenHour): void {
  profile.hours.push([open.hour, open.failures]);
  if (profile.hours.length > MAX_HOURS) profile.hours.splice(0, profile.hours.length - MAX_HOURS);
  const key = String(hourOfWeek(open.hour));
  const week = (profile.byHourOfWeek[key] ??= []);
  week.push(open.failures);
  if (week.length > MAX_WEEKS) week.splice(0, week.length - MAX_WEEKS);
}

/**
 * Counts the failures the logs hold since the last cycle into whole hours. Only a read of the logs
 * up to now counts (`complete`); a gap longer than the digest's window loses the hours it touched,
 * which are left out rather than learnt as quiet. `digest` is the job's failure digest (absent: no
 * failure in its window), `windowMs` the window it keeps.
 */
export function recordFailures(
  history: JobHistory,
  digest: JobDigest | undefined,
  now: number,
  windowMs: number,
  complete: boolean,
): void {
  if (!complete) return;
  const profile = history.profile;
  const end = Math.floor((now - Math.min(SETTLE_MS, windowMs / 2)) / MINUTE);
  const windowStart = Math.floor((now - windowMs) / MINUTE) + 1;
  profile.since ??= now;
  if (profile.countedTo === undefined || profile.countedTo > end) {
    profile.countedTo = end;
    delete profile.open;
    return;
  }
  const counts = new Map(digest?.minutes ?? []);
  let open = profile.countedTo < windowStart ? undefined : profile.open;
  for (let minute = Math.max(profile.countedTo, windowStart); minute < end; minute++) {
    const hour = Math.floor(minute / 60);
    if (minute % 60 === 0) open = { hour, failures: 0 };
    if (open?.hour !== hour) continue;
    open.failures += counts.get(minute) ?? 0;
    if (minute % 60 === 59) {
      closeHour(profile, open);
      open = undefined;
    }
  }
  profile.countedTo = end;
  if (open) profile.open = open;
  else delete profile.open;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median absolute deviation, scaled to a standard deviation for normal data. */
function spreadOf(values: readonly number[], centre: number): number {
  return 1.4826 * median(values.map((v) => Math.abs(v - centre)));
}

/** What a job usually fails in an hour, and how much that varies, from what was learnt. */
export interface Baseline {
  /** Failures usually seen in an hour like this one. */
  perHour: number;
  /** How much that varies (robust: median absolute deviation, never under √perHour or 1). */
  spread: number;
  /** What it was learnt from: the same hour of past weeks, the same hour of past days, or every hour. */
  basis: 'hour of week' | 'hour of day' | 'all hours';
  /** Hours of history it stands on. */
  hoursLearnt: number;
}

/** Weeks of the same hour needed before the hour of the week is used; days of the same hour before the hour of day is. */
const MIN_WEEKS = 3;
const MIN_DAYS = 4;

function baselineOfHour(profile: FailureProfile, hour: number): Omit<Baseline, 'hoursLearnt'> {
  const weeks = profile.byHourOfWeek[String(hourOfWeek(hour))] ?? [];
  const days = profile.hours.filter(([h]) => h % 24 === ((hour % 24) + 24) % 24).map(([, n]) => n);
  const [values, basis]: [number[], Baseline['basis']] =
    weeks.length >= MIN_WEEKS
      ? [weeks, 'hour of week']
      : days.length >= MIN_DAYS
        ? [days, 'hour of day']
        : [profile.hours.map(([, n]) => n), 'all hours'];
  const perHour = median(values);
  return { perHour, spread: Math.max(spreadOf(values, perHour), Math.sqrt(perHour), 1), basis };
}

/**
 * The baseline for the hours a window ending `now` covers: the busiest of them (a nightly burst
 * at 02:00 is still usual in a window that ends at 03:10). Undefined with less than `minHistoryMs`
 * of learnt hours.
 */
export function baselineOf(
  profile: FailureProfile,
  now: number,
  windowMs: number,
  minHistoryMs: number,
): Baseline | undefined {
  const hoursLearnt = profile.hours.length;
  if (hoursLearnt === 0 || hoursLearnt * HOUR < minHistoryMs) return undefined;
  let best: Omit<Baseline, 'hoursLearnt'> | undefined;
  for (let hour = Math.floor((now - windowMs + 1) / HOUR); hour <= Math.floor(now / HOUR); hour++) {
    const b = baselineOfHour(profile, hour);
    if (!best || b.perHour + b.spread > best.perHour + best.spread) best = b;
  }
  return best && { ...best, hoursLearnt };
}
