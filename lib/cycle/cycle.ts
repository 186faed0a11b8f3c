import { createHash } from 'node:crypto';
import { planDigests, type DigestDeps } from '../digest/digest';
import { neededNotifications } from '../dispatch/dedup';
import { dispatch } from '../dispatch/dispatch';
import { matchLabelsOf, receiversOf, routesFor } from '../dispatch/route';
import { keepFiringForMs } from '../evaluate/evaluate';
import type { KqlEvaluation } from '../evaluate/kql';
import { isKqlCondition } from '../evaluate/rules/kql';
import { readsLogs } from '../evaluate/rules';
import { relatedAlerts, viewOf } from '../evaluate/view';
import type {
  AlertDecision,
  AlertLabels,
  AlertRecord,
  CycleSummary,
  EndReason,
  Finding,
  NotificationItem,
} from '../model';
import type { Policy } from '../model/policy';
import { planMessages, sendPlanned, type DeliveryDeps, type DeliveryResult } from '../notify/deliver';
import { groupNotices } from '../notify/group';
import { reconcile } from '../reconcile/reconcile';
import { withSnoozes } from '../snooze/silences';
import { ConcurrentUpdateError, type AlertStore } from '../store/alert-store';
import type { CycleHistory } from '../store/cycle-history';
import type { DigestMarkers } from '../store/digest-markers';
import type { PlanningLeaseStore } from '../store/lease-store';
import type { OutboxStore } from '../store/outbox-store';
import type { SendBudgetStore } from '../store/send-budget-store';
import type { SilenceStore } from '../store/silence-store';
import type { WatchedTenantsMarker } from '../store/watched-tenants';
import { StorageError } from '../store/table';
import type { Deadline } from '../util/deadline';
import { takePlanningLease, type LeaseDeps, type PlanningLease } from './lease';
import { isOpenLogAlert } from './log-plan';
import { CycleBudget } from './limits';
import { commitTenantLogs } from './logs';
import {
  commitCoverage,
  observeHere,
  runKql,
  type Evidence,
  type LogPlanInput,
  type Observed,
  type ObserveDeps,
} from './observe';
import { coverageCounts, workspaceCoverage, type WorkspaceCoverage } from './coverage';
import { MONITORING_PARTIAL } from '../evaluate/rules/monitoring-partial';
import type { TenantCoverage } from '../model/coverage';
import type { CoverageStore } from '../store/coverage-store';

/**
 * What a cycle is composed of: what each stage takes (its own deps interface: observing, the
 * planning lease, digests, delivery), the stores the composition root provides whole, and what only
 * the cycle itself uses. lib/app.ts builds it from settings; tests build it from the emulators.
 */
export interface CycleDeps extends ObserveDeps, LeaseDeps, DigestDeps, DeliveryDeps {
  policy: Policy;
  alerts: AlertStore;
  outbox: OutboxStore;
  sendBudget: SendBudgetStore;
  lease: PlanningLeaseStore;
  digests: DigestMarkers;
  /** How the last cycles went, for the status view. */
  cycles: CycleHistory;
  /** Which tenant list the state was last cleaned up for (offboarding). */
  watched: WatchedTenantsMarker;
  /** Each tenant's coverage (and the KQL rules' workspace's). */
  coverage?: CoverageStore;
  /** Silences made by snooze links (Table Storage), muting beside the config's. */
  silences?: SilenceStore;
  /** Called after each cycle that did its whole job (the dead man's switch); throws on failure. */
  heartbeat?: (summary: CycleSummary) => Promise<void>;
  /** The cycle's time: its deadline and the shares below it (default: the default schedule's, lib/cycle/limits.ts). */
  budget?: CycleBudget;
  /** Decisions made from alerts' messages (lib/actions/, WATCH_ACTIONS): their routes are told, their resolved notices name who decided. */
  decisions?: () => Promise<AlertDecision[]>;
  /** Deletes the link ledger's rows past their time (snooze and decide links); absent when no link is made. */
  forgetUsedLinks?: (now: Date) => Promise<void>;
}

/** The decisions by alert fingerprint; a failure to read them is in the cycle's errors, and the notices go out without them. */
async function decisionsByAlert(deps: CycleDeps, errors: string[]): Promise<Map<string, AlertDecision[]>> {
  const byAlert = new Map<string, AlertDecision[]>();
  if (!deps.decisions) return byAlert;
  try {
    for (const decision of await deps.decisions())
      byAlert.set(decision.fingerprint, [...(byAlert.get(decision.fingerprint) ?? []), decision]);
  } catch (error) {
    errors.push(`reading the decisions made from alerts: ${(error as Error).message}`);
  }
  return byAlert;
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

/**
 * Which part of a cycle's delivery: `jobs` (the job alerts, sent as soon as every tenant's jobs
 * are read), `logs` (what the provisioning logs, the KQL rules and the coverage built after them
 * say, once the due logs are read) or `all` at once (no logs read, or a fan-out's single report).
 */
type Phase = 'jobs' | 'logs' | 'all';

/** Whether a condition is judged in this part of the delivery, as the config's rules set it. */
const inPhase = (phase: Phase, condition: string, rules: Policy['rules']) =>
  phase === 'all' || (phase === 'logs') === readsLogs(condition, rules);

function evaluate(
  evidence: Evidence,
  kql: KqlEvaluation | undefined,
  workspace: WorkspaceCoverage | undefined,
  policy: Policy,
  now: Date,
  phase: Phase,
): Finding[] {
  const findings = evidence.findings(now).filter((f) => inPhase(phase, f.labels.condition, policy.rules));
  if (phase === 'jobs') return findings;
  return [...findings, ...(kql?.findings ?? []), ...(workspace?.findings(now, policy) ?? [])];
}

/** An alert about the coverage of a workspace's KQL rules (not a tenant's). */
const isWorkspaceAlert = (labels: AlertLabels) => labels.tenantId.startsWith('workspace:');

/** Whether an existing alert can be judged this cycle: its tenant was read (or, for a KQL rule, its query was answered). */
function judgedThisCycle(
  labels: AlertLabels,
  evidence: Evidence,
  kql: KqlEvaluation | undefined,
  workspace: WorkspaceCoverage | undefined,
  deps: CycleDeps,
): boolean {
  // The KQL rules' coverage is judged when it is known; another workspace's (the setting changed) resolves.
  if (labels.condition === MONITORING_PARTIAL && isWorkspaceAlert(labels))
    return labels.tenantId !== workspace?.subject || workspace.judged;
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
  return !isKqlCondition(labels.condition) && !isWorkspaceAlert(labels) && !watched.has(labels.tenantId.toLowerCase());
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
    if ((await deps.watched.key()) === key) return;
    const kept = new Set([
      ...((await deps.discovery?.tenants?.()) ?? []),
      ...((await deps.logs?.store.tenants()) ?? []),
      ...((await deps.coverage?.subjects()) ?? []).filter((s) => !s.startsWith('workspace:')),
    ]);
    for (const tenant of kept) {
      if (watched.has(tenant)) continue;
      await deps.discovery?.forgetTenant?.(tenant);
      await deps.logs?.store.forget(tenant);
      await deps.coverage?.forget(tenant);
      await deps.histories?.forget?.(tenant);
      deps.log.info(
        `tenant ${tenant} is no longer watched (not in WATCH_TENANTS): its discovery cache, provisioning-log watermark, coverage and job histories are forgotten`,
      );
    }
    await deps.watched.setKey(key, watched.size);
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
  workspace: WorkspaceCoverage | undefined,
  deps: CycleDeps,
  budget: CycleBudget,
  deadline: Deadline,
  errors: string[],
  delivery: DeliveryResult,
  phase: Phase,
): Promise<Map<string, AlertRecord>> {
  const stored = await deps.alerts.loadAll();
  const now = deps.clock();
  const findings = evaluate(evidence, kql, workspace, deps.policy, now, phase);
  await deps.probe?.('evaluated');
  const watched = watchedTenants(deps);
  const unwatched = (labels: AlertLabels) => noLongerWatched(labels, watched);
  const { changed } = reconcile({
    stored,
    findings,
    now,
    // An alert of the other part of the delivery is held as it is: that part judges it.
    inView: (labels: AlertLabels) =>
      inPhase(phase, labels.condition, deps.policy.rules) &&
      (unwatched(labels) || judgedThisCycle(labels, evidence, kql, workspace, deps)),
    endReasonOf: (labels): EndReason | undefined =>
      unwatched(labels) ? 'no-longer-watched' : evidence.absence(labels).endReason,
    missingSinceOf: (labels) => evidence.absence(labels).missingSince,
    keepFiringForMs: (labels) => keepFiringForMs(labels, deps.policy.rules, deps.policy.tenantNames),
  });

  // Claim every alert this cycle will speak about by writing it: an instance that read the same
  // rows without the lease (an older version) loses the ETag race for them and stays silent.
  const current = new Map(stored);
  for (const record of changed) current.set(record.fingerprint, record);
  const outbox = await deps.outbox.list();
  const planned = new Set(outbox.flatMap((e) => e.items.map((i) => i.key)));
  const policy = await withSnoozes(deps.policy, deps.silences, now);
  const decisions = await decisionsByAlert(deps, errors);
  const { notices, muted } = dispatch([...current.values()], policy, now, planned, decisions);
  const toClaim = new Map(changed.map((r) => [r.fingerprint, r]));
  for (const { item } of notices) toClaim.set(item.fingerprint, current.get(item.fingerprint) as AlertRecord);
  const lost = await writeAlerts([...toClaim.values()], current, deps, errors);
  for (const fp of lost) current.delete(fp);
  if (phase !== 'jobs') {
    // The alerts these events produced are written: now the watermarks may move past them.
    if (deps.logs) await commitTenantLogs(evidence.logReads, deps.logs, deps.log, errors);
    await commitCoverage([...evidence.coverageWrites, ...(workspace?.write ? [workspace.write] : [])], deps);
    await forgetUnwatchedTenants(deps, watched);
  }
  for (const { alert, reason } of muted)
    deps.log.info(
      `muted alert ${alert.fingerprint} (${alert.labels.condition}, ${String(alert.annotations.servicePrincipalName ?? alert.labels.tenantId)}): ${reason}`,
    );
  await deps.probe?.('state-written');

  const groups = groupNotices(
    notices.filter((n) => !lost.has(n.item.fingerprint)),
    endedBadlyIn(current, deps, now),
  );
  const fresh = await planMessages(groups, deps);
  // Routes whose daily digest is due: planned beside the last part's notices, delivered the same way.
  const tenants = deps.targets.map((t) => t.tenantId);
  const digests = phase === 'jobs' ? [] : await planDigests([...current.values()], policy, tenants, deps, now);
  await deps.probe?.('planned');

  // Resolved notices say what is still muted: with the snoozes among the silences, as dispatch saw them.
  await sendPlanned(
    [...outbox, ...fresh, ...digests],
    current,
    { ...deps, policy },
    errors,
    { deadline, callMs: budget.limits.callMs },
    delivery,
  );
  if (phase === 'jobs') return current;
  await forgetOldAlerts(
    current,
    new Set([...outbox, ...fresh].flatMap((e) => e.items.map((i) => i.fingerprint))),
    deps,
  );
  await forgetUsedLinks(deps, now, errors);
  return current;
}

/** Uses of links that expired, and decisions past the audit's retention, leave the link ledger; a failure waits for a later cycle. */
async function forgetUsedLinks(deps: CycleDeps, now: Date, errors: string[]): Promise<void> {
  try {
    await deps.forgetUsedLinks?.(now);
  } catch (error) {
    errors.push(`forgetting expired link uses: ${(error as Error).message}`);
  }
}

/** How long the job alerts wait for the provisioning logs still being read before they go out on their own. */
const LOGS_GRACE_MS = 500;

/** Whether a promise settles within `ms` (it is left running either way). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Which tenants have a log alert open (firing or pending), from the stored alerts read once: their
 * logs are read every cycle so the alert can resolve. A failure to read them reads every tenant's logs.
 */
function openLogAlerts(deps: CycleDeps): LogPlanInput {
  let open: Promise<Set<string>> | undefined;
  return {
    watchedTenants: deps.targets.length,
    async openLogAlert(tenantId) {
      open ??= deps.alerts
        .loadAll()
        .then((all) => new Set([...all.values()].filter(isOpenLogAlert).map((a) => a.labels.tenantId.toLowerCase())));
      return (await open).has(tenantId.toLowerCase());
    },
  };
}

/**
 * One monitoring cycle, as named stages over state in Table Storage, within a deadline derived
 * from the schedule (lib/cycle/limits.ts):
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
  await deps.outbox.ready();

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
  /** One part of the delivery, under the planning lease (taken for each part, so an overlapping instance waits less). */
  const deliver = async (
    evidence: Evidence,
    kql: KqlEvaluation | undefined,
    workspace: WorkspaceCoverage | undefined,
    phase: Phase,
  ) => {
    if (storageFailed) return;
    const lease = await takePlanningLease(deps, budget, deadline).catch((error: unknown) => {
      if (!(error instanceof StorageError)) throw error;
      failedMidCycle(error);
      return { taken: false, release: async () => undefined } as PlanningLease;
    });
    if (lease.taken) {
      try {
        await deps.probe?.('leased');
        // What still waits is what the last part left: each part sends the outbox again.
        delivery.waiting = 0;
        current = await decideAndDeliver(evidence, kql, workspace, deps, budget, deadline, errors, delivery, phase);
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
  };

  const observeBy = deadline.within(budget.limits.observeMs);
  const kqlRun = runKql(deps, observeBy, errors);
  const plan = openLogAlerts(deps);
  // The job alerts of the tenants read so far go out in waves while the rest are read (lib/cycle/waves.ts).
  const early = (some: Evidence) => deliver(some, undefined, undefined, 'jobs');
  const observed: Observed = deps.fanOut
    ? await deps.fanOut.observe(deps, budget, observeBy, errors, plan, early)
    : await observeHere(deps, budget, observeBy, errors, plan, early);

  let evidence = observed.jobs;
  let phase: Phase = 'all';
  if (observed.logs) {
    const logs = observed.logs();
    // The job alerts first, unless the logs are read within a moment (then one delivery tells
    // both, grouped as they belong): a quarantine does not wait for every tenant's logs.
    if (observed.jobsDeliveredEarly || !(await settlesWithin(logs, LOGS_GRACE_MS))) {
      await deliver(evidence, undefined, undefined, 'jobs');
      phase = 'logs';
    }
    evidence = await logs;
    await deps.probe?.('logs-read');
  }
  const kql = await kqlRun;
  const workspace = await workspaceCoverage(deps, kql);
  await deliver(evidence, kql, workspace, phase);

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
    ...withCoverage(evidence.coverage),
    errors,
    heartbeat: 'skipped',
  };
  await finish(summary, deps, !storageFailed);
  return summary;
}

function withCoverage(coverages: TenantCoverage[]): Pick<CycleSummary, 'coverage'> {
  const coverage = coverageCounts(coverages);
  return coverage ? { coverage } : {};
}

/** How long a resolved alert is kept before its row is deleted (a new firing period starts a new row). */
const RESOLVED_RETENTION_MS = 7 * 24 * 3600_000;

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
    await deps.cycles.record(summary);
  } catch (error) {
    deps.log.warn(`recording the cycle summary failed: ${(error as Error).message}`);
  }
}
