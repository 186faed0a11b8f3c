import { graphLimits, type GraphLimits, type GraphReader } from '../clients/graph';
import type { KqlEvaluation } from '../evaluate/kql';
import { absenceOf, evaluateTenant, inView } from '../evaluate/evaluate';
import type { AlertLabels, EndReason, Finding } from '../model';
import type { TenantObservation } from '../model/observation';
import { DEFAULT_DISCOVERY_REFRESH_MS, DEFAULT_PROVISIONING_LOGS, type Policy } from '../model/policy';
import { refusedAccess } from '../observe/access';
import { describeProblem } from '../observe/errors';
import { MIN_ABSENCE_CONFIRM_MS, observeTenant, type ObserveOptions } from '../observe/observe';
import { GRAPH_APP_UNITS, GRAPH_TENANT_UNITS, pacedGraph, UnitWindow } from '../observe/pacing';
import { GRAPH_REPORTS_APP_LIMIT } from '../observe/event-source';
import type { DiscoveryCache } from '../store/discovery-store';
import { beforeDeadline, Deadline, seconds, TimeoutError } from '../util/deadline';
import type { Logger } from '../util/log';
import { mapLimit, Slots } from '../util/map-limit';
import { isUnasked, nextTurn, whyReadLogs, type LogReadPlan } from './log-plan';
import type { CycleBudget } from './limits';
import {
  loadLogState,
  readTenantLogs,
  runKqlStage,
  type LoadedLogState,
  type LogsDeps,
  type LogsNotRead,
  type TenantLogRead,
} from './logs';
import { tenantCoverage } from '../observe/coverage';
import type { TenantCoverage } from '../model/coverage';
import { worthWriting, type CoverageStore, type StoredCoverage } from '../store/coverage-store';
import { updateHistories, type BaselineDeps } from './baselines';
import { WaveSchedule } from './waves';

/**
 * The observe step of a cycle: every tenant read in parallel, each under its own deadline (its jobs,
 * then what is new in its provisioning logs), the config's KQL rules beside them, and what that
 * gives the stages under the lease (the Evidence). Past WATCH_FANOUT_TENANTS the reading is handed
 * to the queue-triggered function instead (lib/fanout/, through FanOut).
 */

/** A tenant to watch: the label alerts carry, and the tenant to request tokens for (none = the credential's own). */
export interface Target {
  tenantId: string;
  tokenTenant?: string;
}

/** What observing takes. */
export interface ObserveDeps {
  targets: Target[];
  /** A Graph reader for one tenant; `limits` bound its calls (its tenant's deadline, one call's time). */
  graphFor(target: Target, limits?: GraphLimits): GraphReader;
  /** Drops the tenant's cached Graph token, so its next token carries the permissions granted since (lib/clients/credentials.ts). */
  renewToken?(target: Target): void;
  /** Tenants read at once (WATCH_CONCURRENCY; default DEFAULT_CONCURRENCY). */
  concurrency?: number;
  observe?: ObserveOptions;
  /** WATCH_SECRETS_READ: read the synchronization secrets for the early warnings (default true). */
  secretsRead?: boolean;
  /** What discovery sweeps found (Table Storage); without it every cycle sweeps every service principal. */
  discovery?: DiscoveryCache;
  /** Provisioning logs (Graph or Log Analytics) and KQL rules; absent: job status only. */
  logs?: LogsDeps;
  /** Each tenant's coverage as the last cycle left it (Table Storage): how long its checks have been degraded. */
  coverage?: Pick<CoverageStore, 'load' | 'save'>;
  /** Past WATCH_FANOUT_TENANTS (timer only): the tenants are read by the queue-triggered function instead (lib/fanout/). */
  fanOut?: FanOut;
  /** Each job's history across runs, for the quarantine forecast and baselines (lib/cycle/baselines.ts). */
  histories?: BaselineDeps['histories'];
  policy: Policy;
  clock: () => Date;
  log: Logger;
}

/** How a target's service principals are found: the cache, the refresh interval and the ones the config lists. */
function observeOptions(deps: ObserveDeps, target: Target, budget: CycleBudget): ObserveOptions {
  const policy = deps.policy.discovery;
  return {
    ...deps.observe,
    secretsRead: deps.secretsRead ?? deps.observe?.secretsRead,
    now: deps.clock(),
    discovery: {
      cache: deps.discovery,
      refreshMs: policy?.refreshMs ?? DEFAULT_DISCOVERY_REFRESH_MS,
      listed: policy?.servicePrincipals.get(target.tenantId.toLowerCase()) ?? [],
      // A configuration missed by one read is gone only if a read of a later cycle misses it too.
      confirmAfterMs: Math.max(MIN_ABSENCE_CONFIRM_MS, budget.limits.cycleMs),
    },
  };
}

export function reportProblems(observations: TenantObservation[], log: Logger, errors: string[]): void {
  for (const o of observations) {
    if (o.problem) {
      const message = `tenant ${o.tenantId}: cannot monitor: ${describeProblem(o.problem)}`;
      errors.push(message);
      log.error(message, { tenantId: o.tenantId });
    }
    for (const { servicePrincipal, problem } of o.servicePrincipalProblems) {
      const message = `tenant ${o.tenantId}: jobs of "${servicePrincipal.displayName}" (${servicePrincipal.id}) not read: ${describeProblem(problem)}`;
      errors.push(message);
      log.warn(message, { tenantId: o.tenantId });
    }
    // A check a permission is missing for is named once per tenant, and does not make the cycle incomplete.
    for (const d of o.degraded ?? [])
      log.warn(`tenant ${o.tenantId}: ${d.operation} not read (${describeProblem(d.problem)}): ${d.consequence}`, {
        tenantId: o.tenantId,
      });
    for (const m of o.missing ?? []) {
      const what = `configuration "${m.servicePrincipal.displayName}" (${m.servicePrincipal.id})${m.jobId ? `, job ${m.jobId},` : ''}`;
      if (m.confirmed)
        log.info(`tenant ${o.tenantId}: ${what} is gone (missing since ${m.since}, confirmed): its alerts end`, {
          tenantId: o.tenantId,
        });
      else
        log.warn(
          `tenant ${o.tenantId}: ${what} not seen on the last read (missing since ${m.since}); confirming on the next read before its alerts end`,
          { tenantId: o.tenantId },
        );
    }
    if (o.discovery?.swept)
      log.info(
        `tenant ${o.tenantId}: discovery sweep: ${o.discovery.candidates} service principal(s) probed, ${o.discovery.known} watched`,
        { tenantId: o.tenantId },
      );
  }
}

// ---- observe: every tenant in parallel, each under its own deadline --------------------------------

/** An observation of a tenant that could not be read in time: its alerts are held, and it is reported. */
function timedOut(tenantId: string, message: string): TenantObservation {
  return {
    tenantId,
    jobs: [],
    servicePrincipalsRead: new Set(),
    servicePrincipalProblems: [],
    problem: { kind: 'transient', code: 'Timeout', message, operation: 'the tenant' },
  };
}

/** A tenant's coverage to write once its alerts are written (only when it changed, or to refresh it now and then). */
export interface CoverageWrite {
  coverage: TenantCoverage;
  etag?: string;
}

/** What reading a tenant gave: its observation, and the provisioning-log state and coverage to write once its alerts are written. */
export interface TenantReading {
  observation: TenantObservation;
  logRead?: TenantLogRead;
  coverageWrite?: CoverageWrite;
  /**
   * What follows the tenant's jobs: its job histories, its provisioning logs when they are due,
   * its coverage (absent: nothing follows, e.g. it timed out). Settles once `logRead`,
   * `coverageWrite` and the observation's `provisioning`, `history` and `coverage` are set; never
   * rejects. The job alerts go out meanwhile (lib/cycle/cycle.ts).
   */
  logs?: Promise<void>;
}

/** Waits for every tenant's logs to be read (each under its own deadline). */
export async function logsSettled(readings: TenantReading[]): Promise<TenantReading[]> {
  await Promise.all(readings.map((r) => r.logs));
  return readings;
}

/**
 * What the observe stage leaves for the stages under the lease: the tenants' findings, which of
 * their stored alerts can be judged, and the provisioning-log states to write once the alerts are.
 * Read here (evidenceOf) or, past WATCH_FANOUT_TENANTS, by the queue-triggered function (lib/fanout/).
 */
export interface Evidence {
  /** The tenants' findings, judged at `now` (findings a worker recorded keep the time it judged them at). */
  findings(now: Date): Finding[];
  /** Whether a tenant's stored alert can be judged this cycle; one that cannot is held as it was. */
  judged(labels: AlertLabels): boolean;
  /**
   * What the reads say of a stored alert's configuration: gone (confirmed on a second read; the
   * alert ends with that reason), or not seen on the last read and being confirmed (held, since when).
   */
  absence(labels: AlertLabels): { endReason?: EndReason; missingSince?: string };
  /** Provisioning-log states to write after the alerts (a worker writes its own). */
  logReads: TenantLogRead[];
  /** Coverages to write after the alerts (a worker writes its own). */
  coverageWrites: CoverageWrite[];
  /** Every tenant's coverage this cycle (a worker's come with its report), for the cycle's summary. */
  coverage: TenantCoverage[];
  tenantsChecked: number;
  tenantsUnreadable: string[];
  jobsSeen: number;
}

/** The evidence of tenants read in this process. */
export function evidenceOf(readings: TenantReading[], deps: Pick<ObserveDeps, 'policy'>): Evidence {
  const observations = readings.map((r) => r.observation);
  const byTenant = new Map(observations.map((o) => [o.tenantId, o]));
  return {
    findings: (now) =>
      observations.flatMap((o) =>
        evaluateTenant(o, { now, rules: deps.policy.rules, tenantNames: deps.policy.tenantNames }),
      ),
    judged: (labels) => {
      const o = byTenant.get(labels.tenantId);
      return o !== undefined && inView(labels, o);
    },
    absence: (labels) => {
      const o = byTenant.get(labels.tenantId);
      return o ? absenceOf(labels, o) : {};
    },
    logReads: readings.flatMap((r) => (r.logRead ? [r.logRead] : [])),
    coverageWrites: readings.flatMap((r) => (r.coverageWrite ? [r.coverageWrite] : [])),
    coverage: observations.flatMap((o) => (o.coverage ? [o.coverage] : [])),
    tenantsChecked: observations.length,
    tenantsUnreadable: observations.filter((o) => o.problem).map((o) => o.tenantId),
    jobsSeen: observations.reduce((n, o) => n + o.jobs.length, 0),
  };
}

/** Reading the tenants elsewhere: the timer's fan-out to the queue-triggered function (lib/fanout/planner.ts). */
export interface FanOut {
  /** `plan`: which tenants have a log alert open, asked once here for every batch. */
  observe: ObserveStage;
}

/**
 * Delivers the job alerts of some tenants while the others are still being read: a wave
 * (lib/cycle/waves.ts). Each tenant is in one wave at most, and then not in `jobs`.
 */
export type EarlyJobs = (some: Evidence) => Promise<void>;

/** The observe stage of a cycle: here (observeHere) or fanned out (FanOut). */
export type ObserveStage = (
  deps: ObserveDeps,
  budget: CycleBudget,
  observeBy: Deadline,
  errors: string[],
  plan?: LogPlanInput,
  early?: EarlyJobs,
) => Promise<Observed>;

/**
 * What observing gave the cycle: every tenant's jobs, judged first (but those given to `early`);
 * and, when provisioning logs are read in a second part, the evidence once the due logs are read
 * (every tenant, with their logs and coverage).
 */
export interface Observed {
  jobs: Evidence;
  logs?: () => Promise<Evidence>;
  /** Some tenants' job alerts went out early (`early`): `jobs` leaves them out, so it is delivered on its own, never with the logs. */
  jobsDeliveredEarly?: boolean;
}

/** How often the waves look again when one is due and no tenant has been read since the last. */
const WAVE_POLL_MS = 250;

/**
 * The waves of this process's reading (lib/cycle/waves.ts): each delivers the job alerts of the
 * tenants read since the last (`read`) while the others are still being read. `given` names the
 * readings a wave took: the jobs part leaves them out, so each tenant's job conditions are judged
 * once a cycle. `stop` waits for a wave under way (and throws what it threw).
 */
function readingWaves(deps: Pick<ObserveDeps, 'policy'>, schedule: WaveSchedule, early: EarlyJobs) {
  const given = new Set<TenantReading>();
  let read: TenantReading[] = [];
  let sending: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    if (!stopped) timer = setTimeout(fire, Math.max(schedule.waitMs(), WAVE_POLL_MS));
  };
  const fire = (): void => {
    if (stopped) return;
    if (read.length === 0) return arm();
    const some = read;
    read = [];
    for (const r of some) given.add(r);
    sending = early(evidenceOf(some, deps)).finally(() => {
      schedule.sent();
      arm();
    });
    // Handled when the waves stop; until then an error must not count as unhandled.
    sending.catch(() => undefined);
  };
  arm();
  return {
    given,
    read: (reading: TenantReading) => void read.push(reading),
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await sending;
    },
  };
}

/**
 * Reads every tenant in this process, and reports what could not be read. With the logs read in a
 * second part, the job alerts of the tenants read so far go out in waves meanwhile (`early`).
 */
export const observeHere: ObserveStage = async (deps, budget, observeBy, errors, plan, early) => {
  const waves = deps.logs && early ? readingWaves(deps, new WaveSchedule(budget.limits.firstWaveMs), early) : undefined;
  let readings: TenantReading[];
  try {
    readings = await observeTenants(deps, budget, observeBy, errors, plan, waves?.read);
  } finally {
    await waves?.stop();
  }
  reportProblems(
    readings.map((r) => r.observation),
    deps.log,
    errors,
  );
  // Without provisioning logs, one delivery: once every tenant's history and coverage are done.
  if (!deps.logs) return { jobs: evidenceOf(await logsSettled(readings), deps) };
  const jobs = evidenceOf(waves ? readings.filter((r) => !waves.given.has(r)) : readings, deps);
  return {
    jobs,
    logs: async () => evidenceOf(await logsSettled(readings), deps),
    ...(waves?.given.size ? { jobsDeliveredEarly: true } : {}),
  };
};

/**
 * Reads what is new in a tenant's provisioning logs within what is left of its deadline. A read
 * cut off by the deadline leaves the logs unread this cycle (the alerts built on them are held;
 * the watermark does not move), and the observation is not touched by the late answer.
 */
async function readLogsOne(
  observation: TenantObservation,
  reader: GraphReader,
  deps: ObserveDeps,
  deadline: Deadline,
  errors: string[],
  loaded: LoadedLogState,
  /** A read nobody asked for (its turn, a first read): cut off by the deadline, it is left to the next cycle, not an error. */
  unasked = false,
): Promise<TenantLogRead | LogsNotRead | undefined> {
  if (!deps.logs) return undefined;
  const scratch: TenantObservation = { ...observation };
  try {
    const read = await beforeDeadline(
      readTenantLogs(scratch, reader, deps.logs, deps.policy, deps.clock().getTime(), deps.log, errors, loaded),
      deadline,
      `reading the provisioning logs of tenant ${observation.tenantId}`,
    );
    observation.provisioning = scratch.provisioning;
    return read;
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    const words = `timed out after ${seconds(deadline.lengthMs)} s`;
    const message = `tenant ${observation.tenantId}: provisioning logs not read this cycle: ${words}`;
    if (unasked) deps.log.info(`${message}; read at the next cycle (its turn)`);
    else {
      errors.push(message);
      deps.log.warn(message);
    }
    return { kind: 'timeout', words: `the provisioning logs were not read: ${words}` };
  }
}

/** The coverage stored for a tenant; undefined when there is none, `unknown` when it could not be read. */
async function storedCoverage(deps: ObserveDeps, subject: string): Promise<StoredCoverage | 'unknown' | undefined> {
  try {
    return await deps.coverage?.load(subject);
  } catch (error) {
    deps.log.warn(
      `${subject}: its coverage could not be read (${(error as Error).message}); how long its checks have been degraded is judged next cycle`,
    );
    return 'unknown';
  }
}

/**
 * The tenant's coverage this cycle, on its observation, and what to write once its alerts are: a
 * coverage that changed, or one last written over an hour ago (so the status view's time stays true).
 */
function coverageOf(
  observation: TenantObservation,
  previous: StoredCoverage | 'unknown' | undefined,
  logs: TenantLogRead | LogsNotRead | undefined,
  deps: ObserveDeps,
): CoverageWrite | undefined {
  const before = previous === 'unknown' ? undefined : previous;
  const source = deps.policy.provisioningLogs?.source ?? DEFAULT_PROVISIONING_LOGS.source;
  const coverage = tenantCoverage(observation, {
    now: deps.clock(),
    previous: before?.coverage,
    secretsRead: deps.secretsRead ?? deps.observe?.secretsRead ?? true,
    logs: !deps.logs ? 'off' : source === 'logAnalytics' ? 'log-analytics' : 'graph',
    logsNotRead: logs && 'kind' in logs ? logs : undefined,
  });
  if (previous === 'unknown') coverage.sinceUnknown = true;
  observation.coverage = coverage;
  if (!deps.coverage || previous === 'unknown') return undefined;
  return worthWriting(before?.coverage, coverage) ? { coverage, etag: before?.etag } : undefined;
}

/** What decides whether a tenant's logs are read this cycle, beside its job status (lib/cycle/log-plan.ts). */
export interface LogPlanInput {
  /** Whether the tenant has a log alert open (firing or pending); a failure to tell counts as yes. */
  openLogAlert(tenantId: string): Promise<boolean>;
  /** Every tenant the monitor watches (a fan-out worker reads a batch of them): the rotation's size. */
  watchedTenants: number;
}

/** What one cycle's tenant reads share: Graph's app-wide units, and the log reads in flight. */
interface ReadShared {
  appUnits: UnitWindow;
  logSlots: Slots;
  plan?: LogPlanInput;
  /** Reads no job asked for (the rotation's turns, first reads) this cycle may still make (readsNobodyAskedFor). */
  unaskedLeft: number;
  /** Settles once every tenant's jobs are read: the reads no job asked for wait for it. */
  jobsRead: Promise<void>;
  /** The tenants whose discovery cache and job histories are written at once (STORE_CONCURRENCY). */
  storeSlots: Slots;
}

/**
 * Tenants whose Table Storage work after their reads (the discovery cache, the job histories) runs
 * at once: enough to keep Table Storage busy (a few calls a tenant, milliseconds each), few enough
 * that the histories each loads in full (up to 30,000 characters a job) are not all held together.
 */
const STORE_CONCURRENCY = 16;

/**
 * How many reads no job asked for (the rotation's turns, first reads) one cycle makes at most:
 * half of what Graph's reports limit across tenants allows within the time left to observe, the
 * other half kept for the tenants in trouble, backlogs and second pages; a fan-out batch gets its
 * share. The rest wait for a later cycle (not an error: their turn stays due).
 */
function readsNobodyAskedFor(deps: ObserveDeps, observeBy: Deadline, batch: number, watched: number): number {
  const limit = deps.logs?.appRateLimit ?? GRAPH_REPORTS_APP_LIMIT;
  const windows = Math.max(1, observeBy.remainingMs() / limit.windowMs);
  return Math.max(1, Math.floor(((windows * limit.requests) / 2) * Math.min(1, batch / Math.max(1, watched))));
}

/** A Graph reader for one tenant within `deadline`, paced within Graph's resource units, the tenant's own and the app's (lib/observe/pacing.ts). */
function readerFor(target: Target, deps: ObserveDeps, budget: CycleBudget, deadline: Deadline, shared: ReadShared) {
  const { limits } = budget;
  const units = [new UnitWindow(GRAPH_TENANT_UNITS.requests, GRAPH_TENANT_UNITS.windowMs), shared.appUnits];
  return pacedGraph(
    deps.graphFor(target, graphLimits(deadline, limits.callMs, limits.maxRetryAfterMs)),
    units,
    deadline.signal,
  );
}

/**
 * Whether the tenant's logs are read this cycle: a reason (with its next turn, under a rotation),
 * or `deferred` with when they were last read and are read next at the latest. A state that could
 * not be loaded reads them (and says why they were not read); so does an open-alert check that failed.
 */
async function logPlanOf(
  observation: TenantObservation,
  loaded: LoadedLogState,
  deps: ObserveDeps,
  shared: ReadShared,
): Promise<(LogReadPlan & { nextTurn?: number }) | { deferred: NonNullable<TenantObservation['logsDeferred']> }> {
  const now = deps.clock().getTime();
  const logsPolicy = deps.policy.provisioningLogs ?? DEFAULT_PROVISIONING_LOGS;
  const watched = shared.plan?.watchedTenants ?? deps.targets.length;
  // A few tenants' logs fit in one window of Graph's reports limit: then every cycle reads them all.
  const rotationMs = watched <= logsPolicy.everyCycleUpTo ? 0 : logsPolicy.rotationMs;
  if ('error' in loaded) return { reason: 'first', words: 'its log state could not be loaded' };
  const state = loaded.stored?.state;
  const openLogAlert = shared.plan ? await shared.plan.openLogAlert(observation.tenantId).catch(() => true) : false;
  const why = whyReadLogs(observation, { now, rotationMs, state, openLogAlert, policy: deps.policy });
  if (why && (!isUnasked(why.reason) || shared.unaskedLeft-- > 0))
    return rotationMs > 0 ? { ...why, nextTurn: nextTurn(observation.tenantId, now, rotationMs) } : why;
  // Not due; or due, with this cycle's share of the reports limit spent: then it stays due for the next.
  return { deferred: deferral(loaded, why ? now : nextTurn(observation.tenantId, now, rotationMs)) };
}

/** Logs that wait: when they were last read to the end (the stored watermark), and when they are read next at the latest. */
function deferral(loaded: LoadedLogState, nextReadBy: number): NonNullable<TenantObservation['logsDeferred']> {
  const watermark = 'stored' in loaded ? loaded.stored?.state.watermark : undefined;
  return {
    lastReadAt: watermark !== undefined ? new Date(watermark).toISOString() : undefined,
    nextReadBy: new Date(nextReadBy).toISOString(),
  };
}

/**
 * Reads one tenant within its share of the cycle: its jobs, then, when they are due
 * (lib/cycle/log-plan.ts), what is new in its provisioning logs, started as soon as its jobs are
 * read and left running (`logs`) while the other tenants' jobs are read and the job alerts go out.
 * A tenant whose Graph or token endpoint hangs is cut off at its deadline and reported as
 * unreadable ("timed out after N s"); it holds up nobody else, since each tenant has its own
 * deadline and readers run side by side. Its logs get a deadline of their own.
 */
async function observeOne(
  target: Target,
  deps: ObserveDeps,
  budget: CycleBudget,
  observeBy: Deadline,
  errors: string[],
  shared: ReadShared,
): Promise<TenantReading> {
  const { limits } = budget;
  if (observeBy.expired())
    return {
      observation: timedOut(
        target.tenantId,
        `not read: the ${seconds(observeBy.lengthMs)} s this cycle gives to reading tenants ran out before its turn`,
      ),
    };
  const deadline = observeBy.within(limits.tenantMs);
  // Read beside the tenant: how long its checks have been degraded, and its log state (when its logs were read).
  const previous = beforeDeadline(storedCoverage(deps, target.tenantId), deadline, 'reading the coverage').catch(
    () => 'unknown' as const,
  );
  const logsLoaded = deps.logs
    ? beforeDeadline(loadLogState(target.tenantId, deps.logs), deadline, 'reading the log state').catch(
        (error: unknown): LoadedLogState => ({ error: error as Error }),
      )
    : undefined;
  const reader = readerFor(target, deps, budget, deadline, shared);
  /** The discovery cache's writes, run once every tenant's jobs are read (in learnt). */
  const writes: (() => Promise<void>)[] = [];
  let observation: TenantObservation;
  try {
    const reading = observeTenant(reader, target.tenantId, {
      ...observeOptions(deps, target, budget),
      deadline,
      retryCallMs: limits.callMs,
      deferWrites: (write) => writes.push(write),
    });
    observation = await beforeDeadline(reading, deadline, `reading tenant ${target.tenantId}`);
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    const late = timedOut(target.tenantId, `timed out after ${seconds(deadline.lengthMs)} s`);
    return { observation: late, coverageWrite: coverageOf(late, await previous, undefined, deps) };
  }
  if (refusedAccess(observation)) deps.renewToken?.(target);
  const reading: TenantReading = { observation };
  // What comes after the jobs (the job histories, the logs due, the coverage) runs beside the other
  // tenants' job reads and settles in `logs`: the job alerts never wait for it.
  const learnt = async (logs?: TenantLogRead | LogsNotRead): Promise<void> => {
    // After every tenant's jobs are read: the discovery cache's and the histories' reads and writes
    // (Table Storage) would otherwise queue before the other tenants' job reads, and the job
    // alerts wait for them. A discovery write that fails is on the coverage computed below.
    await shared.jobsRead;
    // A few tenants at a time: each loads its job histories in full to add to them, and a thousand at
    // once held them all together (most of a 1,000-tenant cycle's peak memory).
    await shared.storeSlots.run(async () => {
      for (const write of writes.splice(0)) await write();
      // The job's history learns its run, and the failures the logs counted if they were read (lib/cycle/baselines.ts).
      await updateHistories(observation, deps).catch((error: unknown) =>
        deps.log.warn(`tenant ${target.tenantId}: job histories not updated: ${(error as Error).message}`),
      );
    });
    reading.coverageWrite = coverageOf(observation, await previous, logs, deps);
  };
  if (!logsLoaded || observation.problem) {
    reading.logs = learnt();
    return reading;
  }
  const loaded = await logsLoaded;
  const plan = await logPlanOf(observation, loaded, deps, shared);
  if ('deferred' in plan) {
    observation.logsDeferred = plan.deferred;
    // Its runs are learnt now; its failures when its logs are next read (an hour unread is skipped, not learnt as quiet).
    reading.logs = learnt();
    return reading;
  }
  if (plan.nextTurn !== undefined) observation.logsNextTurn = new Date(plan.nextTurn).toISOString();
  // Said when something in the tenant asked for its logs; the rotation's turns are too many to list.
  if (plan.reason === 'trouble' || plan.reason === 'open-alert' || plan.reason === 'backlog')
    deps.log.info(`tenant ${target.tenantId}: provisioning logs read this cycle: ${plan.words}`, {
      tenantId: target.tenantId,
    });
  const unasked = isUnasked(plan.reason);
  const deferred = (): void => void (observation.logsDeferred = deferral(loaded, deps.clock().getTime()));
  reading.logs = (async () => {
    // Reads no job asked for start once every tenant's jobs are read: they never slow the job alerts.
    if (unasked) await shared.jobsRead;
    const logs = await shared.logSlots.run(async (): Promise<TenantLogRead | LogsNotRead | undefined> => {
      // Too little time left for a read nobody asked for: it stays due for the next cycle, not an error.
      if (unasked && observeBy.remainingMs() < limits.tenantMs / 2) return void deferred();
      const logsBy = observeBy.within(limits.tenantMs);
      const logReader = readerFor(target, deps, budget, logsBy, shared);
      const logs = await readLogsOne(observation, logReader, deps, logsBy, errors, loaded, unasked).catch(
        (error: unknown): LogsNotRead => ({
          kind: 'outage',
          words: `the provisioning logs were not read: ${(error as Error).message}`,
        }),
      );
      if (unasked && logs && 'kind' in logs && logs.kind === 'timeout') return void deferred();
      return logs;
    });
    reading.logRead = logs && 'state' in logs ? logs : undefined;
    await learnt(logs);
  })();
  return reading;
}

/**
 * Writes the coverages that changed, after the alerts built on them are written. Another instance
 * that wrote first keeps its row (it read the same tenants); a write that fails costs how long a
 * check has been degraded only if it was the first time (it is written again next cycle).
 */
export async function commitCoverage(
  writes: CoverageWrite[],
  deps: Pick<ObserveDeps, 'coverage' | 'log'>,
): Promise<void> {
  for (const { coverage, etag } of writes) {
    try {
      await deps.coverage?.save(coverage, etag);
    } catch (error) {
      deps.log.warn(
        `${coverage.subject}: its coverage was not recorded (written again next cycle): ${(error as Error).message}`,
      );
    }
  }
}

/**
 * Tenants read at once by default: each waits mostly on Graph (a few round trips), so this many
 * keep one instance busy without crowding Graph's limits (every tenant has its own, lib/observe/pacing.ts).
 */
export const DEFAULT_CONCURRENCY = 64;

/**
 * Reads every target's jobs, at most WATCH_CONCURRENCY at once, and starts the reads of the logs
 * that are due as each tenant's jobs are read (as many again at once): resolves when every
 * tenant's jobs are read, with the log reads still running (`logs` of each reading; logsSettled).
 */
export async function observeTenants(
  deps: ObserveDeps,
  budget: CycleBudget,
  observeBy: Deadline,
  errors: string[],
  plan?: LogPlanInput,
  /** Told of each tenant as soon as its jobs are read. */
  onRead?: (reading: TenantReading) => void,
): Promise<TenantReading[]> {
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  let jobsDone: () => void = () => undefined;
  const shared: ReadShared = {
    appUnits: new UnitWindow(GRAPH_APP_UNITS.requests, GRAPH_APP_UNITS.windowMs),
    logSlots: new Slots(concurrency),
    plan,
    unaskedLeft: readsNobodyAskedFor(deps, observeBy, deps.targets.length, plan?.watchedTenants ?? deps.targets.length),
    jobsRead: new Promise<void>((resolve) => (jobsDone = resolve)),
    storeSlots: new Slots(STORE_CONCURRENCY),
  };
  try {
    return await mapLimit(deps.targets, concurrency, async (target) => {
      const reading = await observeOne(target, deps, budget, observeBy, errors, shared);
      onRead?.(reading);
      return reading;
    });
  } finally {
    jobsDone();
  }
}

/** The config's KQL rules, run beside the tenants' reads within the same share of the cycle. */
export function runKql(deps: ObserveDeps, observeBy: Deadline, errors: string[]): Promise<KqlEvaluation | undefined> {
  return runKqlStage(deps.logs, deps.policy, deps.log, errors, observeBy.signal).catch((error: unknown) => {
    errors.push(`kqlRules: not run: ${(error as Error).message}`);
    return undefined;
  });
}
