import type { FailureProfile, HistoryMarks, JobHistory, OpenHour, RunPoint } from '../model/history';
import type { JobSnapshot } from '../model/observation';
import { INTERVAL_RUNS } from './forecast';

/**
 * A job's history across runs, kept pure: what one cycle adds to it (its last run, the failures the
 * provisioning logs counted since the last cycle) and what the rules read of it (the learned
 * baseline). lib/cycle/baselines.ts loads, updates and stores it; scripts/replay.ts runs the same
 * functions on a fake clock.
 */

const HOUR = 3600_000;
/** Runs kept: two days of a 40-minute schedule, enough for the forecast's trend. */
export const MAX_RUNS = 72;
/** Completed hours kept: a week, for the baseline by hour of day and over all hours. */
export const MAX_HOURS = 168;
/** Values kept per hour of the week: the same hour of the last four weeks. */
export const MAX_WEEKS = 4;

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

/**
 * Whether this cycle adds anything to a job's history that ends with `marks`: a run newer than
 * its newest (recordRun), or, when `failures` were counted by a complete read of the logs, an
 * hour other than the one being learnt or a higher figure for it (recordFailures). False: the
 * history would be written back as it was, so the cycle need not read it.
 */
export function hasNews(marks: HistoryMarks, job: JobSnapshot, failures?: { inWindow: number; now: number }): boolean {
  const run = runPointOf(job);
  if (run && (marks.lastRunAt === undefined || run.at > marks.lastRunAt)) return true;
  if (!failures) return false;
  const open = marks.open;
  return open?.hour !== Math.floor(failures.now / HOUR) || failures.inWindow > open.failures;
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
 * Learns the failures in the job's window (`inWindow`, the number `provisioning-failures` judges)
 * at this cycle: each hour keeps the most any cycle in it saw, so what is learnt is what the rule
 * compares, whatever the phase of the job's runs against the clock hour. Only a read of the logs up
 * to now counts (`complete`); an hour no complete read saw is left out rather than learnt as quiet.
 */
export function recordFailures(history: JobHistory, inWindow: number, now: number, complete: boolean): void {
  if (!complete) return;
  const profile = history.profile;
  const hour = Math.floor(now / HOUR);
  profile.since ??= now;
  const open = profile.open;
  if (open && open.hour === hour) {
    open.failures = Math.max(open.failures, inWindow);
    return;
  }
  if (open && open.hour < hour) closeHour(profile, open);
  profile.open = { hour, failures: inWindow };
}

/** The q-quantile, interpolated between the nearest values. */
function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const below = sorted[Math.floor(at)] as number;
  const above = sorted[Math.ceil(at)] as number;
  return below + (above - below) * (at - Math.floor(at));
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** What a job's window usually holds, and how much that varies, from what was learnt. */
export interface Baseline {
  /** The failures the window usually holds at its busiest in an hour like this one. */
  perHour: number;
  /** How much that varies (robust: the median absolute deviation of every hour from its peers, scaled to this hour; never under √perHour or 1). */
  spread: number;
  /** What it was learnt from: the same hour of past weeks, the same hour of past days, or every hour. */
  basis: 'hour of week' | 'hour of day' | 'all hours';
  /** Hours of history it stands on. */
  hoursLearnt: number;
}

/** Weeks of the same hour needed before the hour of the week is used; days of the same hour before the hour of day is. */
const MIN_WEEKS = 3;
const MIN_DAYS = 4;

/** The hours learnt, grouped by hour of day (UTC). */
function byHourOfDay(profile: FailureProfile): number[][] {
  const days: number[][] = Array.from({ length: 24 }, () => []);
  for (const [hour, n] of profile.hours) days[((hour % 24) + 24) % 24]?.push(n);
  return days;
}

/** The values an hour is compared with: the same hour of past weeks, of past days, or every hour learnt. */
function peersOf(
  profile: FailureProfile,
  days: number[][],
  hour: number,
): { values: readonly number[]; basis: Baseline['basis'] } {
  const weeks = profile.byHourOfWeek[String(hourOfWeek(hour))] ?? [];
  if (weeks.length >= MIN_WEEKS) return { values: weeks, basis: 'hour of week' };
  const sameHour = days[((hour % 24) + 24) % 24] ?? [];
  if (sameHour.length >= MIN_DAYS) return { values: sameHour, basis: 'hour of day' };
  return { values: profile.hours.map(([, n]) => n), basis: 'all hours' };
}

/**
 * How much a job's hours vary around their usual, relative to √(usual + 1) (failures vary more
 * where there are more): pooled over every hour learnt, each against its own peers, so a handful of
 * same-hour values is not all the spread stands on.
 */
function relativeSpread(profile: FailureProfile, days: number[][]): number {
  const usualOf = new Map<string, number>();
  const residuals = profile.hours.map(([hour, n]) => {
    const peers = peersOf(profile, days, hour);
    const key = `${peers.basis}|${peers.basis === 'hour of week' ? hourOfWeek(hour) : hour % 24}`;
    const usual = usualOf.get(key) ?? median(peers.values);
    usualOf.set(key, usual);
    return Math.abs(n - usual) / Math.sqrt(usual + 1);
  });
  return 1.4826 * median(residuals);
}

function baselineOfHour(
  profile: FailureProfile,
  days: number[][],
  hour: number,
  relative: number,
): Omit<Baseline, 'hoursLearnt'> {
  const { values, basis } = peersOf(profile, days, hour);
  // The upper quartile: a few quiet days (a holiday) among the peers do not make a usual day look unusual.
  const perHour = quantile(values, 0.75);
  return { perHour, spread: Math.max(relative * Math.sqrt(perHour + 1), Math.sqrt(perHour), 1), basis };
}

/**
 * The baseline of the hour `now` falls in: what the job's window usually held at its busiest in
 * hours like it. Undefined with less than `minHistoryMs` of learnt hours.
 */
export function baselineOf(profile: FailureProfile, now: number, minHistoryMs: number): Baseline | undefined {
  const hoursLearnt = profile.hours.length;
  if (hoursLearnt === 0 || hoursLearnt * HOUR < minHistoryMs) return undefined;
  const days = byHourOfDay(profile);
  return { ...baselineOfHour(profile, days, Math.floor(now / HOUR), relativeSpread(profile, days)), hoursLearnt };
}

/** What the rules read of one job's history (lib/cycle/baselines.ts asks each rule's settings for the job). */
export interface HistoryNeeds {
  /** `quarantine-likely` judges the job: its lookback and the runs its trend needs. */
  forecast?: { lookbackMs: number; minRuns: number };
  /** `provisioning-failures` in baseline mode judges the job: the failure profile is read. */
  baseline: boolean;
  /** `job-stalled` reads the learnt run interval: the gaps between every run kept. */
  interval: boolean;
}

/** A run that tells the forecast something: escrows, complete failures, pruned escrows. */
const eventful = (r: RunPoint): boolean =>
  r.escrowed > 0 || (r.escrowedRaw ?? 0) > 0 || r.completeFailures > 0 || r.pruned;

/**
 * The part of a job's history the cycle holds for its rules until the cycle ends (the whole of it
 * can be 30,000 characters a job: at 5,000 jobs that would be most of the monitor's memory). Exact
 * for what each rule reads: the profile only for the baseline; every run for the learnt interval;
 * when a run within the forecast's lookback is eventful, the runs within it (the trend) and at
 * least the newest INTERVAL_RUNS (the interval of complete failures); for a quiet job, the newest
 * runs within the lookback up to `minRuns`, which decide the forecast as all of them would (a
 * trend of zeros never forecasts; fewer than `minRuns` switch to the log failure rate). A job
 * with escrows in every run, as many have, is held in a few hours of runs, not its last 72.
 */
export function heldForRules(history: JobHistory, needs: HistoryNeeds): JobHistory {
  const profile = needs.baseline ? history.profile : { hours: [], byHourOfWeek: {} };
  const { runs } = history;
  const last = runs.at(-1);
  if (needs.interval || !last) return { version: 1, runs, profile };
  if (!needs.forecast) return { version: 1, runs: [], profile };
  const recent = runs.filter((r) => r.at >= last.at - needs.forecast!.lookbackMs);
  // The trend reads the runs within the lookback; a run of complete failures, the newest few's gaps.
  if (recent.some(eventful)) return { version: 1, runs: runs.slice(-Math.max(recent.length, INTERVAL_RUNS)), profile };
  return { version: 1, runs: recent.slice(-needs.forecast.minRuns), profile };
}
