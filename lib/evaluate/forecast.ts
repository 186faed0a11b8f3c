import type { RunPoint } from '../model/history';

/**
 * When Entra will likely quarantine a job, from its escrow counters across runs: a robust trend
 * (Theil–Sen slope, with most pairs of runs agreeing on its sign) projected to the quarantine
 * thresholds Microsoft documents. Pure, so the replay (scripts/replay.ts) runs this very code.
 *
 * The thresholds (Microsoft Learn, "Application provisioning in quarantine status", cited as [E5] in
 * docs/reference/graph-provisioning-api.md §6.3): evaluation starts at 5,000 failures, and a job is
 * quarantined when more than 40% of its events failed or more than 40,000 failed (reference
 * failures excluded from both); 60,000 failures counting reference failures is the absolute limit;
 * credential or SCIM-compliance problems quarantine a job regardless of counts. Which figure maps
 * to which `quarantineReason` is documented only for the proportion; what the proportion is of is
 * not documented (we take `countEntitled`), nor how many failed runs a credential quarantine waits for.
 */

const HOUR = 3600_000;

const ESCROW_SOURCE = 'Microsoft Learn, "Application provisioning in quarantine status"';

interface QuarantineThreshold {
  /** What is crossed, in words. */
  name: string;
  /** The figure it heads for (escrowed objects), when a count. */
  figure?: number;
  /** The `quarantineReason` Entra would likely give, and whether that mapping is documented. */
  reason: string;
  /** Where the figure comes from, or "not documented" and what was inferred. */
  source: string;
}

export interface Forecast {
  threshold: QuarantineThreshold;
  /** Hours until the threshold is crossed at the current trend (0: already there). */
  hoursLeft: number;
  /** What the projection stands on. */
  basis: 'escrow trend' | 'log failure rate' | 'complete failures' | 'escrows pruned';
  /** The counter it projects, now. */
  current: number;
  /** Its growth per hour. */
  ratePerHour: number;
  /** Runs used for the trend. */
  runs: number;
  /** The trend in words: `countEscrowed 1,200 → 3,400 over 6 runs (5 h), +440 an hour`. */
  trend: string;
}

export interface ForecastParams {
  /** Warn when the threshold is this close (ms). */
  horizonMs: number;
  /** The runs within this of the newest make the trend (ms). */
  lookbackMs: number;
  /** Runs needed for a trend. */
  minRuns: number;
  /** Successive complete failures that make a credential quarantine likely. */
  completeFailures: number;
  /** Share of run pairs that must agree the counter grows (0.5–1): how sure a trend must be. */
  agreement: number;
}

const PROPORTION: QuarantineThreshold = {
  name: 'more than 40% of events failed, evaluated once 5,000 have failed',
  figure: 5000,
  reason: 'EncounteredEscrowProportionThreshold (documented)',
  source: `${ESCROW_SOURCE}: "5,000 failures", "more than 40%"; the 40% is taken of countEntitled (not documented: inferred)`,
};
const TOTAL: QuarantineThreshold = {
  name: 'more than 40,000 failures',
  figure: 40_000,
  reason: 'EncounteredTotalEscrowThreshold (not documented: inferred from its name)',
  source: `${ESCROW_SOURCE}: "more than 40,000 failures"`,
};
const ABSOLUTE: QuarantineThreshold = {
  name: 'the absolute limit of 60,000 failures, reference failures included',
  figure: 60_000,
  reason: 'not documented (EncounteredBaseEscrowThreshold or EncounteredTotalEscrowThreshold, inferred)',
  source: `${ESCROW_SOURCE}: "60,000 failures"; counted on countEscrowedRaw (not documented: inferred)`,
};
const CREDENTIALS: QuarantineThreshold = {
  name: 'runs that fail completely (credentials or SCIM compliance)',
  reason: 'EncounteredQuarantineException (documented for invalid credentials)',
  source: `${ESCROW_SOURCE}: such problems quarantine "regardless of counts"; after how many failed runs is not documented (inferred: the next runs)`,
};
const PRUNED: QuarantineThreshold = {
  name: 'escrows pruned in the initial cycle',
  reason: 'none: Entra pauses the job instead of quarantining it',
  source:
    'Microsoft Graph, synchronizationStatus.escrowsPruned: the job prunes escrows "instead of going into quarantine" and then pauses',
};

/** Theil–Sen slope (per ms) of the points, and the share of pairs that rise. */
export function theilSen(points: readonly { at: number; value: number }[]): { slope: number; rising: number } {
  const slopes: number[] = [];
  let rising = 0;
  for (let i = 0; i < points.length; i++)
    for (let j = i + 1; j < points.length; j++) {
      const a = points[i] as { at: number; value: number };
      const b = points[j] as { at: number; value: number };
      if (b.at === a.at) continue;
      const s = (b.value - a.value) / (b.at - a.at);
      slopes.push(s);
      if (s > 0) rising++;
    }
  if (slopes.length === 0) return { slope: 0, rising: 0 };
  slopes.sort((x, y) => x - y);
  const mid = Math.floor(slopes.length / 2);
  const slope =
    slopes.length % 2 ? (slopes[mid] as number) : ((slopes[mid - 1] as number) + (slopes[mid] as number)) / 2;
  return { slope, rising: rising / slopes.length };
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');

/** The escrow threshold the job heads for first, and the figure it must pass (strictly). */
function countTargets(last: RunPoint): { threshold: QuarantineThreshold; target: number; raw: boolean }[] {
  const proportion = Math.max(5000, last.entitled ? Math.floor(0.4 * last.entitled) + 1 : 5000);
  return [
    { threshold: PROPORTION, target: proportion, raw: false },
    { threshold: TOTAL, target: 40_001, raw: false },
    { threshold: ABSOLUTE, target: 60_001, raw: true },
  ];
}

/** The newest runs whose longest gap is the interval a run of complete failures is expected in. */
export const INTERVAL_RUNS = 4;

/**
 * The forecast for a job's runs (oldest first) at `now`; undefined when no quarantine is in sight
 * within the horizon, or the trend is not sure (too few runs, or they do not agree it grows), or it
 * turned (the newest runs no longer grow). `logRatePerHour`: failures an hour in the provisioning
 * logs, used when the runs are too few for a trend.
 */
export function forecastQuarantine(
  runs: readonly RunPoint[],
  params: ForecastParams,
  logRatePerHour?: number,
): Forecast | undefined {
  const last = runs.at(-1);
  if (!last) return undefined;
  if (last.pruned)
    return {
      threshold: PRUNED,
      hoursLeft: 0,
      basis: 'escrows pruned',
      current: last.escrowed,
      ratePerHour: 0,
      runs: 1,
      trend: `Entra pruned the escrows of the initial cycle (${n(last.escrowed)} in escrow)`,
    };
  if (last.completeFailures >= params.completeFailures) {
    const read = runs.slice(-INTERVAL_RUNS);
    const gaps = read.flatMap((r, i, all) => (i === 0 ? [] : [r.at - (all[i - 1] as RunPoint).at]));
    const intervalHours = gaps.length > 0 ? Math.max(...gaps) / HOUR : 1;
    return {
      threshold: CREDENTIALS,
      hoursLeft: intervalHours,
      basis: 'complete failures',
      current: last.completeFailures,
      ratePerHour: intervalHours > 0 ? 1 / intervalHours : 0,
      runs: read.length,
      trend: `${last.completeFailures} runs in a row failed completely`,
    };
  }
  const recent = runs.filter((r) => r.at >= last.at - params.lookbackMs);
  const trendOf = (raw: boolean) => {
    const points = recent.map((r) => ({ at: r.at, value: raw ? (r.escrowedRaw ?? r.escrowed) : r.escrowed }));
    return { ...theilSen(points), tail: theilSen(points.slice(-3)).slope };
  };
  let best: Forecast | undefined;
  for (const { threshold, target, raw } of countTargets(last)) {
    const current = raw ? (last.escrowedRaw ?? last.escrowed) : last.escrowed;
    let ratePerHour: number;
    let basis: Forecast['basis'];
    if (recent.length >= params.minRuns) {
      const t = trendOf(raw);
      // Not sure it grows, or the newest runs no longer grow: the trend turned.
      if (t.rising < params.agreement || t.tail <= 0 || t.slope <= 0) continue;
      ratePerHour = t.slope * HOUR;
      basis = 'escrow trend';
    } else if (logRatePerHour !== undefined && logRatePerHour > 0 && !raw) {
      ratePerHour = logRatePerHour;
      basis = 'log failure rate';
    } else continue;
    const hoursLeft = Math.max(0, (target - current) / ratePerHour);
    if (hoursLeft * HOUR > params.horizonMs || (best && best.hoursLeft <= hoursLeft)) continue;
    const first = recent[0] as RunPoint;
    const spanHours = (last.at - first.at) / HOUR;
    const counter = raw ? 'countEscrowedRaw' : 'countEscrowed';
    const from = raw ? (first.escrowedRaw ?? first.escrowed) : first.escrowed;
    best = {
      threshold: { ...threshold, figure: target },
      hoursLeft,
      basis,
      current,
      ratePerHour,
      runs: recent.length,
      trend:
        basis === 'escrow trend'
          ? `${counter} ${n(from)} → ${n(current)} over the last ${recent.length} runs (${spanHours.toFixed(1)} h), +${n(ratePerHour)} an hour`
          : `${counter} ${n(current)}, and ${n(ratePerHour)} failures an hour in the provisioning logs`,
    };
  }
  return best;
}
