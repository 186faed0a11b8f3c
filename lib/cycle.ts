import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { graphLimits, type GraphLimits, type GraphReader } from './clients/graph';
import { beforeDeadline, Deadline, seconds, sleep, TimeoutError } from './deadline';
import { dispatch } from './dispatch/dispatch';
import { matchLabelsOf, receiversOf, routesFor } from './dispatch/route';
import { absenceOf, evaluateTenant, inView, keepFiringForMs } from './evaluate/evaluate';
import { CycleBudget } from './limits';
import type { Logger } from './log';
import { planEmails, sendPlanned, type DeliveryDeps, type DeliveryResult } from './notify/deliver';
import { neededNotifications } from './notify/dedup';
import { groupByRecipients } from './notify/group';
import { relatedAlerts, viewOf } from './notify/view';
import { mapLimit } from './map-limit';
import { refusedAccess } from './observe/access';
import { GRAPH_APP_UNITS, GRAPH_TENANT_UNITS, pacedGraph, UnitWindow } from './observe/pacing';
import { describeProblem } from './observe/errors';
import { MIN_ABSENCE_CONFIRM_MS, observeTenant, type ObserveOptions } from './observe/observe';
import type { TenantObservation } from './observe/types';
import { reconcile } from './reconcile/reconcile';
import type { AlertLabels, AlertRecord, CycleSummary, EndReason, Finding, NotificationItem } from './model';
import { ConcurrentUpdateError } from './store/alert-store';
import type { DiscoveryCache } from './store/discovery-store';
import type { SilenceStore } from './store/silence-store';
import { withSnoozes } from './snooze/silences';
import { planDigests } from './digest/digest';
import type { LeaseHolder } from './store/state-store';
import { StorageError } from './store/table';
import { DEFAULT_DISCOVERY_REFRESH_MS } from './config/policy';
import { commitTenantLogs, readTenantLogs, runKqlStage, type LogsDeps, type TenantLogRead } from './cycle-logs';
import type { KqlEvaluation } from './evaluate/kql';
import { isKqlCondition } from './evaluate/rules/kql';

export type { Logger } from './log';
export type { CyclePoint } from './notify/deliver';

/** A tenant to watch: the label alerts carry, and the tenant to request tokens for (none = the credential's own). */
export interface Target {
  tenantId: string;
  tokenTenant?: string;
}

export interface CycleDeps extends DeliveryDeps {
  targets: Target[];
  /** A Graph reader for one tenant; `limits` bound its calls (its tenant's deadline, one call's time). */
  graphFor(target: Target, limits?: GraphLimits): GraphReader;
  /** Drops the tenant's cached Graph token, so its next token carries the permissions granted since (lib/clients/credentials.ts). */
  renewToken?(target: Target): void;
  /** Called after each cycle that did its whole job (the dead man's switch); throws on failure. */
  heartbeat?: (summary: CycleSummary) => Promise<void>;
  /** Tenants read at once (WATCH_CONCURRENCY; default DEFAULT_CONCURRENCY). */
  concurrency?: number;
  observe?: ObserveOptions;
  /** The cycle's time: its deadline and the shares below it (default: the default schedule's, lib/limits.ts). */
  budget?: CycleBudget;
  /** Who this instance is, for the planning lease (default: host, process and a random part, new each cycle). */
  instanceId?: string;
  /** What discovery sweeps found (Table Storage); without it every cycle sweeps every service principal. */
  discovery?: DiscoveryCache;
  /** Provisioning logs (Graph or Log Analytics) and KQL rules; absent: job status only. */
  logs?: LogsDeps;
  /** Silences made by snooze links (Table Storage), muting beside the config's. */
  silences?: SilenceStore;
  /** Past WATCH_FANOUT_TENANTS (timer only): the tenants are read by the queue-triggered function instead (lib/fanout/). */
  fanOut?: FanOut;
}

/** How a target's service principals are found: the cache, the refresh interval and the ones the config lists. */
function observeOptions(deps: CycleDeps, target: Target, budget: CycleBudget): ObserveOptions {
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

export type { CycleSummary } from './model';

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
export function timedOut(tenantId: string, message: string): TenantObservation {
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
export function evidenceOf(readings: TenantReading[], deps: Pick<CycleDeps, 'policy'>): Evidence {
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
  observe(deps: CycleDeps, budget: CycleBudget, observeBy: Deadline, errors: string[]): Promise<Evidence>;
}

/** Reads every tenant in this process, and reports what could not be read. */
async function observeHere(
  deps: CycleDeps,
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
  deps: CycleDeps,
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
  deps: CycleDeps,
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
  deps: CycleDeps,
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
function runKql(deps: CycleDeps, observeBy: Deadline, errors: string[]): Promise<KqlEvaluation | undefined> {
  return runKqlStage(deps.logs, deps.policy, deps.log, errors, observeBy.signal).catch((error: unknown) => {
    errors.push(`kqlRules: not run: ${(error as Error).message}`);
    return undefined;
  });
}

// ---- lease: one instance plans and sends at a time ------------------------------------------------

interface PlanningLease {
  taken: boolean;
  by?: LeaseHolder;
  release(): Promise<void>;
}

/**
 * Takes the planning lease: a row in the state table, written under its ETag, that says which
 * instance plans and sends until when (its own deadline). Instances observe side by side, but only
 * the holder reads the outbox, claims alerts, plans and sends, so two instances that saw different
 * things can never plan the same notice into two different emails. Another instance waits for the
 * lease while there is time left to deliver, then starts from what the holder recorded.
 */
async function takePlanningLease(deps: CycleDeps, budget: CycleBudget, deadline: Deadline): Promise<PlanningLease> {
  const holder = deps.instanceId ?? `${hostname()}#${process.pid}#${randomUUID().slice(0, 8)}`;
  const waitUntil = deadline.before(Math.max(budget.limits.callMs * 3, budget.limits.cycleMs * 0.2));
  for (let pause = 20; ; pause = Math.min(pause * 2, 1000)) {
    const until = new Date(deps.clock().getTime() + deadline.remainingMs());
    const result = await deps.state.takeLease(holder, deps.clock(), until);
    if (result.taken) {
      const release = () =>
        deps.state
          .releaseLease(holder)
          .catch((error: unknown) =>
            deps.log.warn(
              `releasing the planning lease failed (it expires at ${until.toISOString()}): ${(error as Error).message}`,
            ),
          );
      return { taken: true, release };
    }
    if (waitUntil.expired()) return { taken: false, by: result.by, release: async () => undefined };
    await sleep(Math.min(pause, waitUntil.remainingMs()), waitUntil.signal);
  }
}

// ---- evaluate, reconcile, claim, plan, send, record: under the lease ----------------------------

/** Writes changed alerts under their ETags; an alert another instance moved first is theirs this cycle. */
async function writeAlerts(
  records: AlertRecord[],
  current: Map<string, AlertRecord>,
  deps: CycleDeps,
  errors: string[],
): Promise<Set<string>> {
  const lost = new Set<string>();
  const results = await deps.alerts.saveMany(records);
  results.forEach((result, i) => {
    const record = records[i] as AlertRecord;
    if (!(result instanceof Error)) {
      current.set(record.fingerprint, result);
      return;
    }
    lost.add(record.fingerprint);
    if (result instanceof ConcurrentUpdateError) deps.log.warn(`${result.message}; leaving it to that instance`);
    else errors.push(`saving alert ${record.fingerprint}: ${result.message}`);
  });
  return lost;
}

function evaluate(evidence: Evidence, kql: KqlEvaluation | undefined, now: Date): Finding[] {
  return [...evidence.findings(now), ...(kql?.findings ?? [])];
}

/** Whether an existing alert can be judged this cycle: its tenant was read (or, for a KQL rule, its query was answered). */
function judgedThisCycle(
  labels: AlertLabels,
  evidence: Evidence,
  kql: KqlEvaluation | undefined,
  deps: CycleDeps,
): boolean {
  if (isKqlCondition(labels.condition)) {
    // A KQL rule's alert is judged when its query was answered; one whose rule is gone from the config resolves.
    const configured = (deps.policy.kqlRules ?? []).some((rule) => rule.name === labels.condition);
    return configured ? (kql?.judged.has(labels.condition) ?? false) : true;
  }
  return evidence.judged(labels);
}

/** The tenants the config watches, lower-cased: the whole target list (never a fan-out worker's share of it). */
function watchedTenants(deps: CycleDeps): Set<string> {
  return new Set(deps.targets.map((t) => t.tenantId.toLowerCase()));
}

/**
 * Whether an alert's tenant is no longer watched (taken out of WATCH_TENANTS): its alerts are
 * judged, and end as "no longer watched". A KQL rule's alert is the rule's to judge.
 */
function noLongerWatched(labels: AlertLabels, watched: Set<string>): boolean {
  return !isKqlCondition(labels.condition) && !watched.has(labels.tenantId.toLowerCase());
}

/**
 * Forgets what the monitor kept about tenants no longer watched (their discovery cache and their
 * provisioning-log watermark and digest), so a tenant watched again later starts afresh instead
 * of from a months-old watermark. Done once after each change of the tenant list (a fingerprint of
 * it is kept in the state table); a failure is tried again next cycle and costs nothing else.
 */
async function forgetUnwatchedTenants(deps: CycleDeps, watched: Set<string>): Promise<void> {
  const key = createHash('sha256')
    .update([...watched].sort().join('\n'))
    .digest('hex')
    .slice(0, 32);
  try {
    if ((await deps.state.watchedTenantsKey()) === key) return;
    const kept = new Set([
      ...((await deps.discovery?.tenants?.()) ?? []),
      ...((await deps.logs?.store.tenants()) ?? []),
    ]);
    for (const tenant of kept) {
      if (watched.has(tenant)) continue;
      await deps.discovery?.forgetTenant?.(tenant);
      await deps.logs?.store.forget(tenant);
      deps.log.info(
        `tenant ${tenant} is no longer watched (not in WATCH_TENANTS): its discovery cache and provisioning-log watermark are forgotten`,
      );
    }
    await deps.state.setWatchedTenantsKey(key, watched.size);
  } catch (error) {
    deps.log.warn(
      `forgetting the state of tenants no longer watched failed; tried again next cycle: ${(error as Error).message}`,
    );
  }
}

/** Whether a notice speaks of an alert that ended badly (a quarantine ended by Entra disabling the job): no good news. */
function endedBadlyIn(
  current: Map<string, AlertRecord>,
  deps: CycleDeps,
  now: Date,
): (item: NotificationItem) => boolean {
  const ctx = { now, tenantNames: deps.policy.tenantNames, related: (a: AlertRecord) => relatedAlerts(a, current) };
  return (item) => {
    const alert = current.get(item.fingerprint);
    return alert !== undefined && viewOf(alert, ctx).endedWell === false;
  };
}

/**
 * The stages that decide and send, over state read after the lease was taken: evaluate →
 * reconcile (alert lifecycle) → write alert state → dispatch (route, inhibit, silence, dedup) →
 * group → plan (outbox; and the daily digests due) → send (email, then each channel) → record → forget.
 */
async function decideAndDeliver(
  evidence: Evidence,
  kql: KqlEvaluation | undefined,
  deps: CycleDeps,
  budget: CycleBudget,
  deadline: Deadline,
  errors: string[],
  delivery: DeliveryResult,
): Promise<Map<string, AlertRecord>> {
  const stored = await deps.alerts.loadAll();
  const now = deps.clock();
  const findings = evaluate(evidence, kql, now);
  await deps.probe?.('evaluated');
  const watched = watchedTenants(deps);
  const unwatched = (labels: AlertLabels) => noLongerWatched(labels, watched);
  const { changed } = reconcile({
    stored,
    findings,
    now,
    inView: (labels: AlertLabels) => unwatched(labels) || judgedThisCycle(labels, evidence, kql, deps),
    endReasonOf: (labels): EndReason | undefined =>
      unwatched(labels) ? 'no-longer-watched' : evidence.absence(labels).endReason,
    missingSinceOf: (labels) => evidence.absence(labels).missingSince,
    keepFiringForMs: (labels) => keepFiringForMs(labels, deps.policy.rules, deps.policy.tenantNames),
  });

  // Claim every alert this cycle will speak about by writing it: an instance that read the same
  // rows without the lease (an older version) loses the ETag race for them and stays silent.
  const current = new Map(stored);
  for (const record of changed) current.set(record.fingerprint, record);
  const outbox = await deps.state.listPlanned();
  const planned = new Set(outbox.flatMap((e) => e.items.map((i) => i.key)));
  const policy = await withSnoozes(deps.policy, deps.silences, now);
  const { notices, muted } = dispatch([...current.values()], policy, now, planned);
  const toClaim = new Map(changed.map((r) => [r.fingerprint, r]));
  for (const { item } of notices) toClaim.set(item.fingerprint, current.get(item.fingerprint) as AlertRecord);
  const lost = await writeAlerts([...toClaim.values()], current, deps, errors);
  for (const fp of lost) current.delete(fp);
  // The alerts these events produced are written: now the watermarks may move past them.
  if (deps.logs) await commitTenantLogs(evidence.logReads, deps.logs, deps.log, errors);
  await forgetUnwatchedTenants(deps, watched);
  for (const { alert, reason } of muted)
    deps.log.info(
      `muted alert ${alert.fingerprint} (${alert.labels.condition}, ${String(alert.annotations.servicePrincipalName ?? alert.labels.tenantId)}): ${reason}`,
    );
  await deps.probe?.('state-written');

  const groups = groupByRecipients(
    notices.filter((n) => !lost.has(n.item.fingerprint)),
    endedBadlyIn(current, deps, now),
  );
  const fresh = await planEmails(groups, deps);
  // Routes whose daily digest is due: planned beside the notices, delivered the same way.
  const digests = await planDigests(
    [...current.values()],
    policy,
    { ...deps, tenants: deps.targets.map((t) => t.tenantId) },
    now,
  );
  await deps.probe?.('planned');

  await sendPlanned(
    [...outbox, ...fresh, ...digests],
    current,
    deps,
    errors,
    { deadline, callMs: budget.limits.callMs },
    delivery,
  );
  await forgetOldAlerts(
    current,
    new Set([...outbox, ...fresh].flatMap((e) => e.items.map((i) => i.fingerprint))),
    deps,
  );
  return current;
}

/**
 * One monitoring cycle, as named stages over state in Table Storage, within a deadline derived
 * from the schedule (lib/limits.ts):
 * storage check → observe (Graph jobs and provisioning logs, every tenant under its own deadline;
 * KQL rules beside them) → lease (one planner at a time) → evaluate → reconcile → write alert state → dispatch → group → plan (outbox) → send →
 * record → summary and heartbeat.
 * Everything is written before the step that depends on it, and a send's outcome is asked of ACS
 * before it is ever made again, so a crash at any point neither loses an email nor sends one twice.
 * Throws StorageError when Table Storage cannot be used at all (the cycle could not run);
 * a failure once it ran is in the summary's errors.
 */
export async function runCycle(deps: CycleDeps): Promise<CycleSummary> {
  const started = deps.clock();
  const budget = deps.budget ?? new CycleBudget();
  const deadline = budget.start();
  const errors: string[] = [];
  await deps.state.ready();

  const observeBy = deadline.within(budget.limits.observeMs);
  const kqlRun = runKql(deps, observeBy, errors);
  const evidence = deps.fanOut
    ? await deps.fanOut.observe(deps, budget, observeBy, errors)
    : await observeHere(deps, budget, observeBy, errors);
  const kql = await kqlRun;

  // Counted as messages go out, so a Table Storage failure after some were sent still reports them.
  const delivery: DeliveryResult = { sent: 0, waiting: 0 };
  let current: Map<string, AlertRecord> | undefined;
  let storageFailed = false;
  const failedMidCycle = (error: StorageError) => {
    storageFailed = true;
    const message = `Table Storage failed mid-cycle; what was not recorded is done next cycle: ${error.message}`;
    errors.push(message);
    deps.log.error(message);
  };
  const lease = await takePlanningLease(deps, budget, deadline).catch((error: unknown) => {
    if (!(error instanceof StorageError)) throw error;
    failedMidCycle(error);
    return { taken: false, release: async () => undefined } as PlanningLease;
  });
  if (lease.taken) {
    try {
      await deps.probe?.('leased');
      current = await decideAndDeliver(evidence, kql, deps, budget, deadline, errors, delivery);
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      failedMidCycle(error);
    } finally {
      await lease.release();
    }
  } else if (!storageFailed) {
    deps.log.info(
      `another instance (${lease.by?.holder}) holds the planning lease until ${lease.by?.until}: it plans and sends this cycle's notices; this one only observed`,
    );
  }

  const known =
    current ??
    (storageFailed
      ? new Map<string, AlertRecord>()
      : await deps.alerts.loadAll().catch(() => new Map<string, AlertRecord>()));
  const all = [...known.values()];
  const summary: CycleSummary = {
    startedAt: started.toISOString(),
    durationMs: deps.clock().getTime() - started.getTime(),
    tenantsChecked: evidence.tenantsChecked,
    tenantsUnreadable: evidence.tenantsUnreadable,
    jobsSeen: evidence.jobsSeen,
    alertsFiring: all.filter((r) => r.state === 'firing').length,
    notificationsSent: delivery.sent,
    notificationsPending: delivery.waiting,
    ...(delivery.posted ? { postsSent: delivery.posted } : {}),
    ...(delivery.budgetSpent ? { emailBudgetSpent: delivery.budgetSpent } : {}),
    errors,
    heartbeat: 'skipped',
  };
  await finish(summary, deps, !storageFailed);
  return summary;
}

/** How long a resolved alert is kept before its row is deleted (a new firing period starts a new row). */
export const RESOLVED_RETENTION_MS = 7 * 24 * 3600_000;

/**
 * Deletes alerts that resolved (or cleared while pending) more than a week ago and have nothing
 * left to say, so the table holds what matters and a cycle's read stays small for MSPs.
 */
async function forgetOldAlerts(
  current: Map<string, AlertRecord>,
  inOutbox: Set<string>,
  deps: CycleDeps,
): Promise<void> {
  const cutoff = deps.clock().getTime() - RESOLVED_RETENTION_MS;
  for (const alert of current.values()) {
    if (alert.state !== 'resolved' || inOutbox.has(alert.fingerprint)) continue;
    const ended = Date.parse(alert.endsAt ?? alert.lastSeenAt ?? '');
    if (!(ended < cutoff)) continue;
    const routes = routesFor(deps.policy.route, matchLabelsOf(alert, deps.policy.tenantNames)).flatMap(receiversOf);
    if (routes.some((route) => neededNotifications(alert, route, deps.clock()).length > 0)) continue; // a resolved notice is still owed (muted until now?)
    try {
      if (await deps.alerts.deleteIfUnchanged(alert)) current.delete(alert.fingerprint);
    } catch (error) {
      deps.log.warn(`forgetting resolved alert ${alert.fingerprint}: ${(error as Error).message}`);
    }
  }
}

/** The heartbeat (only when the cycle did its whole job) and the summary for the status view (when Table Storage is there to take it). */
async function finish(summary: CycleSummary, deps: CycleDeps, record = true): Promise<void> {
  if (deps.heartbeat && summary.errors.length === 0) {
    try {
      await deps.heartbeat(summary);
      summary.heartbeat = 'sent';
    } catch (error) {
      summary.heartbeat = 'failed';
      deps.log.warn(`heartbeat failed: ${(error as Error).message}`);
    }
  }
  if (!record) {
    deps.log.warn('the cycle summary is not recorded: Table Storage failed during the cycle');
    return;
  }
  try {
    await deps.state.recordCycle(summary);
  } catch (error) {
    deps.log.warn(`recording the cycle summary failed: ${(error as Error).message}`);
  }
}
