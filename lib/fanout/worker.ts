import { hostname } from 'node:os';
import { commitTenantLogs } from '../cycle/logs';
import {
  commitCoverage,
  logsSettled,
  observeTenants,
  reportProblems,
  type LogPlanInput,
  type TenantReading,
  type ObserveDeps,
} from '../cycle/observe';
import { isOpenLogAlert } from '../cycle/log-plan';
import { Deadline } from '../util/deadline';
import type { AlertStore } from '../store/alert-store';
import type { CycleBudget } from '../cycle/limits';
import { absenceOf, evaluateTenant, inView } from '../evaluate/evaluate';
import { isKqlCondition } from '../evaluate/rules/kql';
import type { BatchReport, FanOutStore, TenantReport } from '../store/fanout-store';
import { logsCycle, type ObserveMessage } from './message';

/**
 * The queue-triggered function's work (functions/observe.ts): read one batch of tenants exactly as
 * the timer reads them itself (each under its own deadline, within the cycle's observe deadline),
 * judge them with the rules, and record the findings, and which stored alerts could be judged, for
 * the cycle's planner (lib/fanout/planner.ts). The planner alone changes alerts and sends.
 */

export type BatchOutcome =
  | { kind: 'reported'; report: BatchReport; refused: string[] }
  /** The cycle's observe deadline passed before the message was taken: the planner has reported these tenants as not checked. */
  | { kind: 'stale'; lateByMs: number };

/** What reading a batch takes of a cycle's dependencies: observing, the stored alerts of a tenant, the cycle's time. */
type WorkerCycleDeps = ObserveDeps & { alerts: Pick<AlertStore, 'loadTenant'>; budget?: CycleBudget };

export interface WorkerDeps {
  /** The cycle's dependencies built from this instance's settings (its targets are replaced by the message's). */
  cycle: WorkerCycleDeps;
  store: FanOutStore;
  /** Who this instance is, for the planner's log. */
  worker?: string;
  /** Wall clock (epoch ms) for the message's deadlines. */
  now?: () => number;
}

/** A tenant's stored alerts, by fingerprint. */
type StoredAlerts = (tenantId: string) => ReturnType<AlertStore['loadTenant']>;

/** What one tenant's reading says for the planner, beside its stored alerts. */
async function tenantReport(
  reading: TenantReading,
  deps: WorkerCycleDeps,
  storedAlerts: StoredAlerts,
): Promise<TenantReport> {
  const o = reading.observation;
  const findings = evaluateTenant(o, {
    now: deps.clock(),
    rules: deps.policy.rules,
    tenantNames: deps.policy.tenantNames,
  });
  const stored = await storedAlerts(o.tenantId);
  const alerts = [...stored.values()].filter((a) => !isKqlCondition(a.labels.condition));
  const judged = alerts.filter((a) => inView(a.labels, o)).map((a) => a.fingerprint);
  const gone: string[] = [];
  const missing: Record<string, string> = {};
  for (const a of alerts) {
    const { endReason, missingSince } = absenceOf(a.labels, o);
    if (endReason) gone.push(a.fingerprint);
    if (missingSince) missing[a.fingerprint] = missingSince;
  }
  return {
    tenantId: o.tenantId,
    findings,
    judged,
    gone,
    missing,
    unreadable: o.problem !== undefined,
    jobsSeen: o.jobs.length,
    coverage: o.coverage,
  };
}

/**
 * Whether a tenant has a log alert open (its logs are then read every cycle): as the planner's
 * message says, or, from a planner that could not tell, from the tenant's stored alerts.
 */
function openLogAlerts(deps: WorkerCycleDeps, message: ObserveMessage): LogPlanInput {
  const told = message.openLogAlerts && new Set(message.openLogAlerts.map((t) => t.toLowerCase()));
  return {
    watchedTenants: deps.targets.length,
    async openLogAlert(tenantId) {
      if (told) return told.has(tenantId.toLowerCase());
      const stored = await deps.alerts.loadTenant(tenantId);
      return [...stored.values()].some(isOpenLogAlert);
    },
  };
}

export async function observeBatch(message: ObserveMessage, deps: WorkerDeps): Promise<BatchOutcome> {
  const now = deps.now ?? Date.now;
  const started = now();
  const { cycle } = deps;
  if (started >= message.observeBy) {
    cycle.log.warn(
      `fan-out batch ${message.batch + 1} of ${message.of} (cycle ${message.cycle}) taken ${started - message.observeBy} ms after its observe deadline: its ${message.tenants.length} tenant(s) were reported as not checked; nothing read`,
    );
    return { kind: 'stale', lateByMs: started - message.observeBy };
  }
  // Only tenants this instance is configured to watch are read: a message naming others (settings
  // changed in between, or a message not from our timer) does not make it read them.
  const watched = new Map(cycle.targets.map((t) => [t.tenantId.toLowerCase(), t]));
  const targets = message.tenants.flatMap((t) => watched.get(t.tenantId.toLowerCase()) ?? []);
  const refused = message.tenants.filter((t) => !watched.has(t.tenantId.toLowerCase())).map((t) => t.tenantId);
  const errors: string[] = [];
  if (refused.length > 0) {
    const line = `fan-out batch ${message.batch + 1} of ${message.of} names tenant(s) not in this instance's WATCH_TENANTS, not read: ${refused.join(', ')}`;
    cycle.log.error(line);
    errors.push(line);
  }

  const observeBy = Deadline.in(message.observeBy - started);
  const readings = await observeTenants(
    { ...cycle, targets },
    cycle.budget!,
    observeBy,
    errors,
    openLogAlerts(cycle, message),
  );
  reportProblems(
    readings.map((r) => r.observation),
    cycle.log,
    errors,
  );
  // Read once for both reports: an alert the planner writes in between is held in the second, as it was.
  const loaded = new Map<string, ReturnType<StoredAlerts>>();
  const forget = (key: string) => (error: unknown) => {
    loaded.delete(key);
    throw error;
  };
  const storedAlerts: StoredAlerts = (tenantId) => {
    const key = tenantId.toLowerCase();
    // A read that failed is tried again for the next report.
    if (!loaded.has(key)) loaded.set(key, cycle.alerts.loadTenant(tenantId).catch(forget(key)));
    return loaded.get(key)!;
  };
  const reportOf = async (): Promise<BatchReport> => ({
    batch: message.batch,
    tenants: await Promise.all(readings.map((r) => tenantReport(r, cycle, storedAlerts))),
    errors: [...errors],
    worker: deps.worker ?? `${hostname()}#${process.pid}`,
    durationMs: now() - started,
  });
  // Two parts: the jobs as soon as they are read (the planner sends the job alerts), then everything
  // once the logs due are read (lib/cycle/log-plan.ts); one part: everything at once.
  if (message.parts === 2) await deps.store.writeReport(message.cycle, await reportOf());
  await logsSettled(readings);
  const report = await reportOf();
  await deps.store.writeReport(message.parts === 2 ? logsCycle(message.cycle) : message.cycle, report);
  // The findings are recorded, so the watermarks may move: the digest stored with each keeps the
  // failures counted, and a planner that never plans this cycle leaves them to the next one.
  if (cycle.logs) {
    const late: string[] = [];
    await commitTenantLogs(
      readings.flatMap((r) => (r.logRead ? [r.logRead] : [])),
      cycle.logs,
      cycle.log,
      late,
    );
    for (const line of late) cycle.log.error(line);
  }
  await commitCoverage(
    readings.flatMap((r) => (r.coverageWrite ? [r.coverageWrite] : [])),
    cycle,
  );
  return { kind: 'reported', report, refused };
}
