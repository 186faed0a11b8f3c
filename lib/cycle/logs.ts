import type { GraphReader } from '../clients/graph';
import type { Policy } from '../model/policy';
import { DEFAULT_PROVISIONING_LOGS } from '../model/policy';
import { ruleSettingsForJob } from '../evaluate/evaluate';
import { evaluateKql, type KqlEvaluation } from '../evaluate/kql';
import { FAILURES_CONDITION, templateOfJobId } from '../evaluate/rules/provisioning-failures';
import { SILENCE_CONDITION } from '../evaluate/rules/no-provisioning-events';
import { describeLogProblem } from '../observe/errors';
import { isDeletionTrip } from '../evaluate/rules/quarantine';
import type { Logger } from '../util/log';
import {
  GRAPH_REPORTS_APP_LIMIT,
  GRAPH_REPORTS_LIMIT,
  Limiters,
  SlidingWindowLimiter,
  type EventSource,
} from '../observe/event-source';
import {
  createLogAnalyticsEventSource,
  runKqlRules,
  type LogAnalyticsOptions,
  type LogsQuerier,
} from '../observe/log-analytics';
import {
  createGraphEventSource,
  readProvisioningLogs,
  type ReadOptions,
  type ReadPlan,
} from '../observe/provisioning-logs';
import type { TenantObservation } from '../model/observation';
import type { CauseKind } from '../model/coverage';
import {
  LogStateConflictError,
  type LogState,
  type ProvisioningLogStore,
  type StoredLogState,
} from '../store/provisioning-log-store';

/**
 * The provisioning-log and Log Analytics parts of a cycle, kept apart from the job reads so each
 * can change on its own: per tenant, read the logs behind the tenant's watermark into its
 * observation (before the rules run); run the config's KQL rules; and, once the cycle has written
 * the alerts those events produced, write each tenant's watermark with its digest.
 */

export interface LogsDeps {
  store: ProvisioningLogStore;
  /** The workspace in LOG_ANALYTICS_WORKSPACE_ID, for KQL rules and (if the config says so) the events. */
  logAnalytics?: { client: LogsQuerier; workspaceId: string; options?: LogAnalyticsOptions };
  /** `$top` of Graph log reads (default 500). */
  pageSize?: number;
  /** The reports limit kept per tenant (default 5 requests per 10 s, Graph's). */
  rateLimit?: { requests: number; windowMs: number };
  /** The reports limit kept across all tenants (default 120 requests per 10 s; Graph's is 122 per app). */
  appRateLimit?: { requests: number; windowMs: number };
  /** That limit shared with other instances (the fan-out's, lib/store/shared-limiter.ts) instead of kept by this one alone. */
  appLimiter?: Pick<SlidingWindowLimiter, 'take'>;
  /** Overrides of the read (tests, bench); the config's provisioningLogs section gives the page cap and the overlap. */
  read?: ReadOptions;
  sleep?: (ms: number) => Promise<void>;
}

/** A tenant's new log state, to write once its alerts are written. */
export interface TenantLogRead {
  tenantId: string;
  state: LogState;
  etag?: string;
}

/** Why a tenant's logs were not read this cycle, for its coverage. */
export interface LogsNotRead {
  kind: CauseKind;
  words: string;
}

const MAX_WINDOW = 24 * 3600_000;

function sourceFor(
  observation: TenantObservation,
  graph: GraphReader,
  deps: LogsDeps,
  policy: Policy,
): EventSource | string {
  const source = policy.provisioningLogs?.source ?? DEFAULT_PROVISIONING_LOGS.source;
  if (source === 'logAnalytics') {
    if (!deps.logAnalytics)
      return 'the config reads provisioning events from Log Analytics, but LOG_ANALYTICS_WORKSPACE_ID is not set';
    const { client, workspaceId, options } = deps.logAnalytics;
    return createLogAnalyticsEventSource(client, workspaceId, observation.tenantId, options);
  }
  const limit = deps.rateLimit ?? GRAPH_REPORTS_LIMIT;
  const tenantLimiter = new SlidingWindowLimiter(limit.requests, limit.windowMs, deps.sleep);
  return createGraphEventSource(graph, {
    pageSize: deps.pageSize,
    limiter: new Limiters(tenantLimiter, appLimiterOf(deps)),
  });
}

/** One limiter across the tenants read with the same dependencies (one cycle's). */
const APP_LIMITERS = new WeakMap<LogsDeps, SlidingWindowLimiter>();

function appLimiterOf(deps: LogsDeps): Pick<SlidingWindowLimiter, 'take'> {
  if (deps.appLimiter) return deps.appLimiter;
  let limiter = APP_LIMITERS.get(deps);
  if (!limiter) {
    const limit = deps.appRateLimit ?? GRAPH_REPORTS_APP_LIMIT;
    limiter = new SlidingWindowLimiter(limit.requests, limit.windowMs, deps.sleep);
    APP_LIMITERS.set(deps, limiter);
  }
  return limiter;
}

/** What the rules need read from the logs of one tenant, from its jobs and the config's rule settings. */
export function planFor(observation: TenantObservation, policy: Policy, now: number): ReadPlan {
  const settings = (condition: string, job: Parameters<typeof ruleSettingsForJob>[2]) =>
    ruleSettingsForJob(condition, observation.tenantId, job, policy.rules, policy.tenantNames);
  const windowFor: ReadPlan['windowFor'] = (jobId, job) => {
    const snapshot = observation.jobs.find((j) => j.jobId === jobId);
    const subject = snapshot ?? {
      jobId,
      servicePrincipal: { id: job.servicePrincipalId, displayName: job.servicePrincipalName },
      templateId: templateOfJobId(jobId),
    };
    return Math.min(MAX_WINDOW, Number(settings(FAILURES_CONDITION, subject)?.params.window ?? 3600_000));
  };
  const tenantWindow = Number(
    ruleSettingsForJob(
      FAILURES_CONDITION,
      observation.tenantId,
      { jobId: '', servicePrincipal: { id: '' } },
      policy.rules,
      policy.tenantNames,
    )?.params.window ?? 3600_000,
  );
  const lookbackMs = Math.min(
    MAX_WINDOW,
    Math.max(
      tenantWindow,
      ...observation.jobs.map((j) =>
        windowFor(j.jobId, {
          servicePrincipalId: j.servicePrincipal.id,
          servicePrincipalName: j.servicePrincipal.displayName,
        }),
      ),
    ),
  );
  const deletionTrips = observation.jobs.filter(isDeletionTrip).map((job) => {
    // Re-evaluations stage the deletes again; the latest ones are at most a day before the latest evaluation.
    const began = job.quarantine?.currentBegan ?? job.quarantine?.seriesBegan;
    return { jobId: job.jobId, since: (began?.getTime() ?? now) - 24 * 3600_000 };
  });
  const silenceChecks = observation.jobs.flatMap((job) => {
    if (job.status.known !== 'Active') return [];
    const s = settings(SILENCE_CONDITION, job);
    return s?.enabled ? [{ jobId: job.jobId, silentForMs: Number(s.params.silentFor) }] : [];
  });
  return { now, windowFor, lookbackMs, deletionTrips, silenceChecks };
}

/** A tenant's stored log state, or why it could not be loaded (the logs then wait: reading from scratch would count events twice). */
export type LoadedLogState = { stored: StoredLogState | undefined } | { error: Error };

export async function loadLogState(tenantId: string, deps: Pick<LogsDeps, 'store'>): Promise<LoadedLogState> {
  try {
    return { stored: await deps.store.load(tenantId) };
  } catch (error) {
    return { error: error as Error };
  }
}

/**
 * Reads what is new in a tenant's provisioning logs into its observation. A tenant that could not
 * be read at all is skipped (its alerts are held anyway). Never throws: a state that cannot be
 * loaded leaves the logs unread this cycle (reading from scratch would count events twice), and
 * says why (LogsNotRead) for the tenant's coverage.
 */
export async function readTenantLogs(
  observation: TenantObservation,
  graph: GraphReader,
  deps: LogsDeps,
  policy: Policy,
  now: number,
  log: Logger,
  errors: string[],
  loaded?: LoadedLogState,
): Promise<TenantLogRead | LogsNotRead | undefined> {
  if (observation.problem) return undefined;
  const source = sourceFor(observation, graph, deps, policy);
  if (typeof source === 'string') {
    errors.push(`tenant ${observation.tenantId}: provisioning logs not read: ${source}`);
    return { kind: 'setting', words: source };
  }
  const found = loaded ?? (await loadLogState(observation.tenantId, deps));
  if ('error' in found) {
    const message = `tenant ${observation.tenantId}: provisioning-log state could not be loaded, logs not read this cycle: ${found.error.message}`;
    errors.push(message);
    log.error(message);
    return { kind: 'storage', words: `the provisioning-log state could not be loaded: ${found.error.message}` };
  }
  const { stored } = found;
  const logsPolicy = policy.provisioningLogs ?? DEFAULT_PROVISIONING_LOGS;
  const { observation: provisioning, state } = await readProvisioningLogs(
    source,
    stored?.state,
    planFor(observation, policy, now),
    {
      maxPages: logsPolicy.maxPagesPerCycle,
      overlapMs: logsPolicy.overlapMs,
      maxOverlapMs: logsPolicy.maxOverlapMs,
      ...deps.read,
    },
  );
  observation.provisioning = provisioning;
  for (const problem of provisioning.problems)
    log.warn(`tenant ${observation.tenantId}: ${describeLogProblem(problem)}`);
  // A fallback taken or given up, the overlap widened: said once, when it changes (coverage shows it meanwhile).
  for (const change of provisioning.read?.changes ?? [])
    log.warn(`tenant ${observation.tenantId}: provisioning logs: ${change}`);
  return { tenantId: observation.tenantId, state, etag: stored?.etag };
}

/**
 * Writes each tenant's watermark together with its digest, after the alerts built on them are
 * written. Another instance that wrote first keeps its state (its read covered the same events).
 */
export async function commitTenantLogs(
  reads: TenantLogRead[],
  deps: LogsDeps,
  log: Logger,
  errors: string[],
): Promise<void> {
  for (const read of reads) {
    try {
      const { dropped } = await deps.store.save(read.tenantId, read.state, read.etag);
      if (dropped.length > 0)
        log.warn(
          `tenant ${read.tenantId}: provisioning-log state too large for one row; dropped ${dropped.join(' and ')}`,
        );
    } catch (error) {
      if (error instanceof LogStateConflictError) log.warn(`${error.message}; keeping theirs`);
      else
        errors.push(
          `tenant ${read.tenantId}: saving the provisioning-log state failed (its events are read again next cycle): ${(error as Error).message}`,
        );
    }
  }
}

/** Runs the config's KQL rules and judges them; every problem is named in the cycle's errors. */
export async function runKqlStage(
  deps: LogsDeps | undefined,
  policy: Policy,
  log: Logger,
  errors: string[],
  signal?: AbortSignal,
): Promise<KqlEvaluation | undefined> {
  const rules = policy.kqlRules ?? [];
  if (rules.length === 0) return undefined;
  if (!deps?.logAnalytics) {
    errors.push(`kqlRules: ${rules.length} rule(s) not run: LOG_ANALYTICS_WORKSPACE_ID is not set`);
    return undefined;
  }
  const { client, workspaceId, options } = deps.logAnalytics;
  const evaluation = evaluateKql(await runKqlRules(client, workspaceId, rules, { ...options, signal }), workspaceId);
  for (const problem of evaluation.problems) {
    const message = `${problem.kind}: ${describeLogProblem(problem)}`;
    errors.push(message);
    log.error(message);
  }
  return evaluation;
}
