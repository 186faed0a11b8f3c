import type { GraphReader } from './clients/graph';
import { dispatch } from './dispatch/dispatch';
import { matchLabelsOf, routesFor } from './dispatch/route';
import { evaluateTenant, inView, keepFiringForMs } from './evaluate/evaluate';
import type { Logger } from './log';
import { planEmails, sendPlanned, type DeliveryDeps } from './notify/deliver';
import { neededNotification } from './notify/dedup';
import { groupByRecipients } from './notify/group';
import { relatedAlerts, viewOf } from './notify/view';
import { describeProblem } from './observe/errors';
import { observeTenant, type ObserveOptions } from './observe/observe';
import type { TenantObservation } from './observe/types';
import { reconcile } from './reconcile/reconcile';
import type { AlertLabels, AlertRecord, CycleSummary, NotificationItem } from './model';
import { ConcurrentUpdateError } from './store/alert-store';
import type { DiscoveryCache } from './store/discovery-store';
import { DEFAULT_DISCOVERY_REFRESH_MS } from './config/policy';
import { commitTenantLogs, readTenantLogs, runKqlStage, type LogsDeps, type TenantLogRead } from './cycle-logs';
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
  graphFor(target: Target): GraphReader;
  /** Called after each cycle that did its whole job (the dead man's switch); throws on failure. */
  heartbeat?: (summary: CycleSummary) => Promise<void>;
  /** Tenants read at once. */
  concurrency?: number;
  observe?: ObserveOptions;
  /** What discovery sweeps found (Table Storage); without it every cycle sweeps every service principal. */
  discovery?: DiscoveryCache;
  /** Provisioning logs (Graph or Log Analytics) and KQL rules; absent: job status only. */
  logs?: LogsDeps;
}

/** How a target's service principals are found: the cache, the refresh interval and the ones the config lists. */
function observeOptions(deps: CycleDeps, target: Target): ObserveOptions {
  const policy = deps.policy.discovery;
  return {
    ...deps.observe,
    now: deps.clock(),
    discovery: {
      cache: deps.discovery,
      refreshMs: policy?.refreshMs ?? DEFAULT_DISCOVERY_REFRESH_MS,
      listed: policy?.servicePrincipals.get(target.tenantId.toLowerCase()) ?? [],
    },
  };
}

export type { CycleSummary } from './model';

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function reportProblems(observations: TenantObservation[], log: Logger, errors: string[]): void {
  for (const o of observations) {
    if (o.problem) {
      const message = `tenant ${o.tenantId}: cannot monitor: ${describeProblem(o.problem)}`;
      errors.push(message);
      log.error(message, { tenantId: o.tenantId });
    }
    for (const { servicePrincipal, problem } of o.servicePrincipalProblems) {
      const message = `tenant ${o.tenantId}: jobs of "${servicePrincipal.displayName}" (${servicePrincipal.id}) not read: ${describeProblem(problem)}`;
      errors.push(message);
      log.warn(message);
    }
    // A check a permission is missing for is named once per tenant, and does not make the cycle incomplete.
    for (const d of o.degraded ?? []) log.warn(`tenant ${o.tenantId}: ${d.operation} not read (${describeProblem(d.problem)}): ${d.consequence}`);
    if (o.discovery?.swept) log.info(`tenant ${o.tenantId}: discovery sweep: ${o.discovery.candidates} service principal(s) probed, ${o.discovery.known} watched`);
  }
}

/** Writes changed alerts under their ETags; an alert another instance moved first is theirs this cycle. */
async function writeAlerts(records: AlertRecord[], current: Map<string, AlertRecord>, deps: CycleDeps, errors: string[]): Promise<Set<string>> {
  const lost = new Set<string>();
  for (const record of records) {
    try {
      current.set(record.fingerprint, await deps.alerts.save(record));
    } catch (error) {
      lost.add(record.fingerprint);
      if (error instanceof ConcurrentUpdateError) deps.log.warn(`${error.message}; leaving it to that instance`);
      else errors.push(`saving alert ${record.fingerprint}: ${(error as Error).message}`);
    }
  }
  return lost;
}

/**
 * One monitoring cycle, as named stages over state in Table Storage:
 * observe (Graph) → evaluate (rules) → reconcile (alert lifecycle) → write alert state →
 * dispatch (route, inhibit, silence, dedup) → group → plan (outbox) → send → record.
 * Everything is written before the step that depends on it, and each email's idempotency key comes
 * from its notices, so a crash at any point neither loses an email nor sends one twice.
 */
export async function runCycle(deps: CycleDeps): Promise<CycleSummary> {
  const started = deps.clock();
  const errors: string[] = [];
  const stored = await deps.alerts.loadAll();

  const kqlRun = runKqlStage(deps.logs, deps.policy, deps.log, errors).catch((error: unknown) => {
    errors.push(`kqlRules: not run: ${(error as Error).message}`);
    return undefined;
  });
  const logReads: TenantLogRead[] = [];
  const observations = await mapLimit(deps.targets, deps.concurrency ?? 4, async (target) => {
    const graph = deps.graphFor(target);
    const observation = await observeTenant(graph, target.tenantId, observeOptions(deps, target));
    const read = deps.logs && (await readTenantLogs(observation, graph, deps.logs, deps.policy, deps.clock().getTime(), deps.log, errors));
    if (read) logReads.push(read);
    return observation;
  });
  const byTenant = new Map(observations.map((o) => [o.tenantId, o]));
  reportProblems(observations, deps.log, errors);
  const kql = await kqlRun;

  const now = deps.clock();
  const findings = observations.flatMap((o) => evaluateTenant(o, { now, rules: deps.policy.rules, tenantNames: deps.policy.tenantNames }));
  findings.push(...(kql?.findings ?? []));
  const kqlRules = new Set((deps.policy.kqlRules ?? []).map((r) => r.name));
  const { changed } = reconcile({
    stored,
    findings,
    now,
    inView: (labels: AlertLabels) => {
      // A KQL rule's alert is judged when its query was answered; one whose rule is gone from the config resolves.
      if (isKqlCondition(labels.condition)) return kqlRules.has(labels.condition) ? (kql?.judged.has(labels.condition) ?? false) : true;
      const o = byTenant.get(labels.tenantId);
      return o !== undefined && inView(labels, o);
    },
    keepFiringForMs: (labels) => keepFiringForMs(labels, deps.policy.rules, deps.policy.tenantNames),
  });
  await deps.probe?.('evaluated');

  // Claim every alert this cycle will speak about by writing it: another instance that read the
  // same rows loses the ETag race for them and stays silent about them.
  const current = new Map(stored);
  for (const record of changed) current.set(record.fingerprint, record);
  const outbox = await deps.state.listPlanned();
  const planned = new Set(outbox.flatMap((e) => e.items.map((i) => i.key)));
  const { notices, muted } = dispatch([...current.values()], deps.policy, now, planned);
  const toClaim = new Map(changed.map((r) => [r.fingerprint, r]));
  for (const { item } of notices) toClaim.set(item.fingerprint, current.get(item.fingerprint) as AlertRecord);
  const lost = await writeAlerts([...toClaim.values()], current, deps, errors);
  for (const fp of lost) current.delete(fp);
  // The alerts these events produced are written: now the watermarks may move past them.
  if (deps.logs) await commitTenantLogs(logReads, deps.logs, deps.log, errors);
  for (const { alert, reason } of muted) deps.log.info(`muted alert ${alert.fingerprint} (${alert.labels.condition}, ${String(alert.annotations.servicePrincipalName ?? alert.labels.tenantId)}): ${reason}`);
  await deps.probe?.('state-written');

  const endedBadly = (item: NotificationItem): boolean => {
    const alert = current.get(item.fingerprint);
    const ctx = { now, tenantNames: deps.policy.tenantNames, related: (a: AlertRecord) => relatedAlerts(a, current) };
    return alert !== undefined && viewOf(alert, ctx).endedWell === false;
  };
  const groups = groupByRecipients(notices.filter((n) => !lost.has(n.item.fingerprint)), endedBadly);
  const fresh = await planEmails(groups, deps);
  await deps.probe?.('planned');

  const delivery = await sendPlanned([...outbox, ...fresh], current, deps, errors);
  await forgetOldAlerts(current, new Set([...outbox, ...fresh].flatMap((e) => e.items.map((i) => i.fingerprint))), deps);

  const all = [...current.values()];
  const summary: CycleSummary = {
    startedAt: started.toISOString(),
    durationMs: deps.clock().getTime() - started.getTime(),
    tenantsChecked: observations.length,
    tenantsUnreadable: observations.filter((o) => o.problem).map((o) => o.tenantId),
    jobsSeen: observations.reduce((n, o) => n + o.jobs.length, 0),
    alertsFiring: all.filter((r) => r.state === 'firing').length,
    notificationsSent: delivery.sent,
    notificationsPending: delivery.waiting,
    errors,
    heartbeat: 'skipped',
  };
  await finish(summary, deps);
  return summary;
}

/** How long a resolved alert is kept before its row is deleted (a new firing period starts a new row). */
export const RESOLVED_RETENTION_MS = 7 * 24 * 3600_000;

/**
 * Deletes alerts that resolved (or cleared while pending) more than a week ago and have nothing
 * left to say, so the table holds what matters and a cycle's read stays small for MSPs.
 */
async function forgetOldAlerts(current: Map<string, AlertRecord>, inOutbox: Set<string>, deps: CycleDeps): Promise<void> {
  const cutoff = deps.clock().getTime() - RESOLVED_RETENTION_MS;
  for (const alert of current.values()) {
    if (alert.state !== 'resolved' || inOutbox.has(alert.fingerprint)) continue;
    const ended = Date.parse(alert.endsAt ?? alert.lastSeenAt ?? '');
    if (!(ended < cutoff)) continue;
    const routes = routesFor(deps.policy.route, matchLabelsOf(alert, deps.policy.tenantNames));
    if (routes.some((route) => neededNotification(alert, route, deps.clock()))) continue; // a resolved notice is still owed (muted until now?)
    try {
      if (await deps.alerts.deleteIfUnchanged(alert)) current.delete(alert.fingerprint);
    } catch (error) {
      deps.log.warn(`forgetting resolved alert ${alert.fingerprint}: ${(error as Error).message}`);
    }
  }
}

/** The heartbeat (only when the cycle did its whole job) and the summary for the status view. */
async function finish(summary: CycleSummary, deps: CycleDeps): Promise<void> {
  if (deps.heartbeat && summary.errors.length === 0) {
    try {
      await deps.heartbeat(summary);
      summary.heartbeat = 'sent';
    } catch (error) {
      summary.heartbeat = 'failed';
      deps.log.warn(`heartbeat failed: ${(error as Error).message}`);
    }
  }
  try {
    await deps.state.recordCycle(summary);
  } catch (error) {
    deps.log.warn(`recording the cycle summary failed: ${(error as Error).message}`);
  }
}
