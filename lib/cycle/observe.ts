import { graphLimits, type GraphLimits, type GraphReader } from '../clients/graph';
import type { KqlEvaluation } from '../evaluate/kql';
import { absenceOf, evaluateTenant, inView } from '../evaluate/evaluate';
import type { AlertLabels, EndReason, Finding } from '../model';
import type { TenantObservation } from '../model/observation';
import { DEFAULT_DISCOVERY_REFRESH_MS, type Policy } from '../model/policy';
import { refusedAccess } from '../observe/access';
import { describeProblem } from '../observe/errors';
import { MIN_ABSENCE_CONFIRM_MS, observeTenant, type ObserveOptions } from '../observe/observe';
import { GRAPH_APP_UNITS, GRAPH_TENANT_UNITS, pacedGraph, UnitWindow } from '../observe/pacing';
import type { DiscoveryCache } from '../store/discovery-store';
import { beforeDeadline, Deadline, seconds, TimeoutError } from '../util/deadline';
import type { Logger } from '../util/log';
import { mapLimit } from '../util/map-limit';
import type { CycleBudget } from './limits';
import { readTenantLogs, runKqlStage, type LogsDeps, type TenantLogRead } from './logs';

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
  /** What discovery sweeps found (Table Storage); without it every cycle sweeps every service principal. */
  discovery?: DiscoveryCache;
  /** Provisioning logs (Graph or Log Analytics) and KQL rules; absent: job status only. */
  logs?: LogsDeps;
  /** Past WATCH_FANOUT_TENANTS (timer only): the tenants are read by the queue-triggered function instead (lib/fanout/). */
  fanOut?: FanOut;
  policy: Policy;
  clock: () => Date;
  log: Logger;
}

/** How a target's service principals are found: the cache, the refresh interval and the ones the config lists. */
function observeOptions(deps: ObserveDeps, target: Target, budget: CycleBudget): ObserveOptions {
  const policy = deps.policy.discovery;
  return {
    ...deps.observe,
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

/** What reading a tenant gave: its observation, and the provisioning-log state to write once its alerts are written. */
export interface TenantReading {
  observation: TenantObservation;
  logRead?: TenantLogRead;
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
    tenantsChecked: observations.length,
    tenantsUnreadable: observations.filter((o) => o.problem).map((o) => o.tenantId),
    jobsSeen: observations.reduce((n, o) => n + o.jobs.length, 0),
  };
}

/** Reading the tenants elsewhere: the timer's fan-out to the queue-triggered function (lib/fanout/planner.ts). */
export interface FanOut {
  observe(deps: ObserveDeps, budget: CycleBudget, observeBy: Deadline, errors: string[]): Promise<Evidence>;
}

/** Reads every tenant in this process, and reports what could not be read. */
export async function observeHere(
  deps: ObserveDeps,
  budget: CycleBudget,
  observeBy: Deadline,
  errors: string[],
): Promise<Evidence> {
  const readings = await observeTenants(deps, budget, observeBy, errors);
  reportProblems(
    readings.map((r) => r.observation),
    deps.log,
    errors,
  );
  return evidenceOf(readings, deps);
}

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
): Promise<TenantLogRead | undefined> {
  if (!deps.logs) return undefined;
  const scratch: TenantObservation = { ...observation };
  try {
    const read = await beforeDeadline(
      readTenantLogs(scratch, reader, deps.logs, deps.policy, deps.clock().getTime(), deps.log, errors),
      deadline,
      `reading the provisioning logs of tenant ${observation.tenantId}`,
    );
    observation.provisioning = scratch.provisioning;
    return read;
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    const message = `tenant ${observation.tenantId}: provisioning logs not read this cycle: timed out after ${seconds(deadline.lengthMs)} s`;
    errors.push(message);
    deps.log.warn(message);
    return undefined;
  }
}

/**
 * Reads one tenant within its share of the cycle: its jobs, then what is new in its provisioning
 * logs. A tenant whose Graph or token endpoint hangs is cut off at its deadline and reported as
 * unreadable ("timed out after N s"); it holds up nobody else, since each tenant has its own
 * deadline and readers run side by side.
 */
async function observeOne(
  target: Target,
  deps: ObserveDeps,
  budget: CycleBudget,
  observeBy: Deadline,
  errors: string[],
  appUnits: UnitWindow,
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
  // Paced within Graph's resource units, the tenant's own and the app's (lib/observe/pacing.ts).
  const units = [new UnitWindow(GRAPH_TENANT_UNITS.requests, GRAPH_TENANT_UNITS.windowMs), appUnits];
  const reader = pacedGraph(
    deps.graphFor(target, graphLimits(deadline, limits.callMs, limits.maxRetryAfterMs)),
    units,
    deadline.signal,
  );
  let observation: TenantObservation;
  try {
    const reading = observeTenant(reader, target.tenantId, {
      ...observeOptions(deps, target, budget),
      deadline,
      retryCallMs: limits.callMs,
    });
    observation = await beforeDeadline(reading, deadline, `reading tenant ${target.tenantId}`);
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    return { observation: timedOut(target.tenantId, `timed out after ${seconds(deadline.lengthMs)} s`) };
  }
  const logRead = await readLogsOne(observation, reader, deps, deadline, errors);
  if (refusedAccess(observation)) deps.renewToken?.(target);
  return { observation, logRead };
}

/**
 * Tenants read at once by default: each waits mostly on Graph (a few round trips), so this many
 * keep one instance busy without crowding Graph's limits (every tenant has its own, lib/observe/pacing.ts).
 */
export const DEFAULT_CONCURRENCY = 32;

export async function observeTenants(
  deps: ObserveDeps,
  budget: CycleBudget,
  observeBy: Deadline,
  errors: string[],
): Promise<TenantReading[]> {
  const appUnits = new UnitWindow(GRAPH_APP_UNITS.requests, GRAPH_APP_UNITS.windowMs);
  return mapLimit(deps.targets, deps.concurrency ?? DEFAULT_CONCURRENCY, (target) =>
    observeOne(target, deps, budget, observeBy, errors, appUnits),
  );
}

/** The config's KQL rules, run beside the tenants' reads within the same share of the cycle. */
export function runKql(deps: ObserveDeps, observeBy: Deadline, errors: string[]): Promise<KqlEvaluation | undefined> {
  return runKqlStage(deps.logs, deps.policy, deps.log, errors, observeBy.signal).catch((error: unknown) => {
    errors.push(`kqlRules: not run: ${(error as Error).message}`);
    return undefined;
  });
}
