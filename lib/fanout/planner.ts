import { randomUUID } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import {
  evidenceOf,
  logsSettled,
  observeTenants,
  reportProblems,
  type EarlyJobs,
  type Evidence,
  type LogPlanInput,
  type FanOut,
  type Target,
  type TenantReading,
  type ObserveDeps,
} from '../cycle/observe';
import { Deadline, seconds, sleep } from '../util/deadline';
import { WaveSchedule } from '../cycle/waves';
import { fingerprintOf } from '../evaluate/evaluate';
import { NOT_CHECKED } from '../evaluate/rules/tenant-unreadable';
import { mapLimit } from '../util/map-limit';
import type { TenantObservation } from '../model/observation';
import { encodeMessage, logsCycle, type ObserveMessage } from './message';
import type { BatchReport, FanOutStore, TenantReport } from '../store/fanout-store';

/**
 * The timer's side of the fan-out (docs/scale.md): past WATCH_FANOUT_TENANTS it puts one message
 * per batch of tenants on the queue, so Azure Functions' own scale controller spreads the reading
 * over instances of the queue-triggered function (functions/observe.ts), and waits for their
 * reports until every batch has reported or the cycle's observe deadline has passed. Then the
 * cycle goes on as usual, here, under the planning lease: notifications are planned from the
 * tenants' findings, grouped per recipient set as without a fan-out. While it waits, the job alerts
 * of the batches reported so far go out in waves (jobWaves, lib/cycle/waves.ts), so a quarantine
 * is not held until the last of a thousand batches has reported.
 *
 * Nothing is skipped silently: a batch no instance reported in time (an instance lost or too slow)
 * makes each of its tenants "not checked" (a problem of the tenant, named in the cycle's errors; its
 * alerts are held); a batch that could not be enqueued is read here instead.
 */

export interface QueueFanOutOptions {
  queue: QueueClient;
  store: FanOutStore;
  /** Tenants per message (WATCH_FANOUT_BATCH). */
  batchSize: number;
  /** How often the planner looks for reports while it waits (default 250 ms). */
  pollMs?: number;
  /** Wall clock (epoch ms). */
  now?: () => number;
}

/** Tenants per message by default: small enough that a lost instance costs few tenants, large enough that 1,000 tenants are 100 messages. */
export const DEFAULT_FANOUT_BATCH = 10;

/** Queues this process has made sure exist. */
const READY = new Set<string>();

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A tenant handed out and not reported: a problem of the tenant, as a tenant read too late is. */
function notChecked(tenantId: string, message: string): TenantObservation {
  return {
    tenantId,
    jobs: [],
    servicePrincipalsRead: new Set(),
    servicePrincipalProblems: [],
    problem: { kind: 'transient', code: NOT_CHECKED, message, operation: 'the tenant' },
  };
}

/** Puts each batch on the queue; returns, per batch, whether it was enqueued. */
async function enqueue(
  options: QueueFanOutOptions,
  messages: ObserveMessage[],
  deps: ObserveDeps,
  signal: AbortSignal,
): Promise<boolean[]> {
  const { queue } = options;
  try {
    if (!READY.has(queue.url)) {
      await queue.createIfNotExists({ abortSignal: signal });
      READY.add(queue.url);
    }
  } catch (error) {
    deps.log.error(
      `fan-out: the queue ${queue.name} cannot be used (${(error as Error).message}); this instance reads every tenant itself`,
    );
    return messages.map(() => false);
  }
  const now = options.now ?? Date.now;
  return mapLimit(messages, 16, async (message) => {
    try {
      // The message expires with the cycle: a late instance never reads for a cycle that is over.
      const messageTimeToLive = Math.max(1, Math.ceil((message.deadline - now()) / 1000));
      await queue.sendMessage(encodeMessage(message), { messageTimeToLive, abortSignal: signal });
      return true;
    } catch (error) {
      deps.log.warn(
        `fan-out: batch ${message.batch + 1} of ${message.of} could not be enqueued (${(error as Error).message}); this instance reads it itself`,
      );
      return false;
    }
  });
}

/**
 * Waits until every enqueued batch has reported, or the observe deadline (and a little grace for
 * the last writes) has passed; `progress` is told which batches have reported at each look.
 */
async function awaitReports(
  options: QueueFanOutOptions,
  cycle: string,
  expected: number[],
  until: Deadline,
  progress?: (reported: Set<number>) => Promise<void>,
): Promise<void> {
  const pollMs = options.pollMs ?? 250;
  for (;;) {
    const reported = await options.store.reportedBatches(cycle);
    if (expected.every((b) => reported.has(b)) || until.expired()) return;
    await progress?.(reported);
    await sleep(Math.min(pollMs, until.remainingMs()), until.signal);
  }
}

/**
 * The waves of a cycle's first part: each delivers the evidence of the batches reported since the
 * last (`early`), so each tenant's job conditions are judged once a cycle, as without waves (an
 * alert's pending count moves once a cycle). `delivered` names the batches given so far: the
 * part's own evidence leaves them out.
 */
function jobWaves(
  options: QueueFanOutOptions,
  cycle: string,
  deps: ObserveDeps,
  schedule: WaveSchedule,
  early: EarlyJobs,
): { progress: (reported: Set<number>) => Promise<void>; delivered: Set<number> } {
  const delivered = new Set<number>();
  return {
    delivered,
    async progress(reported) {
      if (!schedule.due() || ![...reported].some((b) => !delivered.has(b))) return;
      let reports: BatchReport[];
      try {
        reports = (await options.store.readReports(cycle)).filter((r) => !delivered.has(r.batch));
      } catch (error) {
        // Not lost: the part's own read takes them.
        deps.log.warn(
          `fan-out: the reports so far could not be read for an early delivery: ${(error as Error).message}`,
        );
        return;
      }
      if (reports.length === 0) return;
      for (const r of reports) delivered.add(r.batch);
      await early(combine(deps, reports, [], [], undefined));
      schedule.sent();
    },
  };
}

/** The evidence of the reports, of the tenants read here, and of the tenants nobody reported. */
function combine(
  deps: ObserveDeps,
  reports: BatchReport[],
  local: TenantReading[],
  lost: TenantReading[],
  errors: string[] | undefined,
): Evidence {
  const reported = new Map<string, TenantReport & { judgedSet: Set<string> }>();
  for (const report of reports) {
    for (const t of report.tenants) reported.set(t.tenantId.toLowerCase(), { ...t, judgedSet: new Set(t.judged) });
    errors?.push(...report.errors);
  }
  // Said once a cycle, with the last part (the first part's problems are in the second's too).
  if (errors)
    reportProblems(
      [...local, ...lost].map((r) => r.observation),
      deps.log,
      errors,
    );
  const here = evidenceOf([...local, ...lost], deps);
  const remote = [...reported.values()];
  return {
    findings: (now) => [...remote.flatMap((t) => t.findings), ...here.findings(now)],
    judged: (labels) => {
      const t = reported.get(labels.tenantId.toLowerCase());
      return t ? t.judgedSet.has(fingerprintOf(labels)) : here.judged(labels);
    },
    absence: (labels) => {
      const t = reported.get(labels.tenantId.toLowerCase());
      if (!t) return here.absence(labels);
      const fingerprint = fingerprintOf(labels);
      if (t.gone?.includes(fingerprint)) return { endReason: 'configuration-gone' };
      const missingSince = t.missing?.[fingerprint];
      return missingSince ? { missingSince } : {};
    },
    logReads: here.logReads,
    coverageWrites: here.coverageWrites,
    coverage: [...remote.flatMap((t) => (t.coverage ? [t.coverage] : [])), ...here.coverage],
    tenantsChecked: remote.length + here.tenantsChecked,
    tenantsUnreadable: [...remote.filter((t) => t.unreadable).map((t) => t.tenantId), ...here.tenantsUnreadable],
    jobsSeen: remote.reduce((n, t) => n + t.jobsSeen, 0) + here.jobsSeen,
  };
}

/** The reports of one part of a cycle, and the tenants of enqueued batches nobody reported in time (not checked). */
async function collect(
  options: QueueFanOutOptions,
  partition: string,
  messages: ObserveMessage[],
  enqueued: boolean[],
  until: Deadline,
  observeBy: Deadline,
  errors: string[],
  progress?: (reported: Set<number>) => Promise<void>,
): Promise<{ reports: BatchReport[]; lost: TenantReading[] }> {
  const sent = messages.filter((_, i) => enqueued[i]).map((m) => m.batch);
  let reports: BatchReport[] = [];
  try {
    await awaitReports(options, partition, sent, until, progress);
    reports = await options.store.readReports(partition);
  } catch (error) {
    errors.push(`fan-out: the reports of cycle ${partition} could not be read: ${(error as Error).message}`);
  }
  const reportedTenants = new Set(reports.flatMap((r) => r.tenants.map((t) => t.tenantId.toLowerCase())));
  const lost: TenantReading[] = [];
  for (const message of messages) {
    if (!enqueued[message.batch]) continue;
    const report = reports.find((r) => r.batch === message.batch);
    for (const t of message.tenants) {
      if (reportedTenants.has(t.tenantId.toLowerCase())) continue;
      const why = report
        ? `the instance that took batch ${message.batch + 1} of ${message.of} did not read it (see that instance's log)`
        : `no instance reported batch ${message.batch + 1} of ${message.of} within the ${seconds(observeBy.lengthMs)} s the cycle gives to reading tenants (an instance was lost or too slow); it is handed out again next cycle`;
      lost.push({ observation: notChecked(t.tenantId, why) });
    }
  }
  return { reports, lost };
}

/** What the planner logs of one part's reports, and deletes them (read: no longer needed). */
async function closePart(
  options: QueueFanOutOptions,
  partition: string,
  collected: { reports: BatchReport[]; lost: TenantReading[] },
  of: number,
  deps: ObserveDeps,
): Promise<void> {
  await options.store
    .deleteCycle(partition)
    .catch((error: unknown) =>
      deps.log.warn(`fan-out: reports of cycle ${partition} not deleted: ${(error as Error).message}`),
    );
  for (const r of collected.reports)
    deps.log.info(
      `fan-out: batch ${r.batch + 1} of ${of} ${partition.endsWith('-logs') ? 'and its logs ' : ''}read by ${r.worker} in ${r.durationMs} ms`,
    );
  if (collected.lost.length > 0)
    deps.log.warn(
      `fan-out: ${collected.lost.length} tenant(s) of cycle ${partition} were not reported in time and are reported as not checked`,
    );
}

/**
 * The tenants with a log alert open (lower-cased), asked once for every batch (the alerts are read
 * once, lib/cycle/cycle.ts), so no worker queries the alert table per tenant; undefined when they
 * could not be read (each worker then asks for its own).
 */
async function openLogAlertsOf(targets: Target[], plan: LogPlanInput | undefined): Promise<Set<string> | undefined> {
  if (!plan) return undefined;
  try {
    const open = new Set<string>();
    for (const { tenantId } of targets) if (await plan.openLogAlert(tenantId)) open.add(tenantId.toLowerCase());
    return open;
  } catch {
    return undefined;
  }
}

export function queueFanOut(options: QueueFanOutOptions): FanOut {
  return {
    async observe(deps, budget, observeBy, errors, plan, early) {
      const now = options.now ?? Date.now;
      const started = now();
      const cycle = `${new Date(started).toISOString()}_${randomUUID().slice(0, 8)}`;
      // Reports a planner that died left behind (a planner deletes its own once read).
      await options.store
        .pruneBefore(new Date(started - 2 * budget.limits.cycleMs).toISOString())
        .catch((error: unknown) => deps.log.warn(`fan-out: old reports not deleted: ${(error as Error).message}`));

      const batches: Target[][] = chunk(deps.targets, Math.max(1, options.batchSize));
      const observeByAt = started + observeBy.remainingMs();
      const deadlineAt = started + budget.deadline().remainingMs();
      const twoParts = deps.logs !== undefined;
      const open = twoParts ? await openLogAlertsOf(deps.targets, plan) : undefined;
      const messages = batches.map((tenants, batch): ObserveMessage => ({
        v: 1,
        cycle,
        batch,
        of: batches.length,
        tenants,
        observeBy: Math.floor(observeByAt),
        deadline: Math.floor(deadlineAt),
        ...(twoParts ? { parts: 2 as const } : {}),
        ...(open ? { openLogAlerts: tenants.map((t) => t.tenantId).filter((t) => open.has(t.toLowerCase())) } : {}),
      }));
      const enqueued = await enqueue(options, messages, deps, observeBy.signal);
      deps.log.info(
        `fan-out: ${deps.targets.length} tenant(s) in ${enqueued.filter(Boolean).length} message(s) of up to ${options.batchSize} on queue ${options.queue.name} (cycle ${cycle})`,
      );

      // What could not be enqueued is read here, while the instances read the rest.
      const unsent = batches.filter((_, i) => !enqueued[i]).flat();
      const localRead =
        unsent.length > 0
          ? observeTenants({ ...deps, targets: unsent }, budget, observeBy, errors, {
              // Read here in a pinch: the stored alerts are not asked; a log alert of a tenant whose
              // jobs show nothing is held until its turn in the rotation (never resolved unread).
              openLogAlert: async () => false,
              watchedTenants: deps.targets.length,
            })
          : Promise.resolve([]);
      // A little past the observe deadline: the last reports are being written.
      const until = () => budget.deadline().within(observeBy.remainingMs() + Math.min(budget.limits.callMs, 5000));
      const partErrors = twoParts ? [] : errors;
      // Waves only with two parts: a single part judges every condition at once, and a tenant's
      // job conditions would be judged twice in a cycle (in its wave and in the part).
      const waves =
        twoParts && early
          ? jobWaves(options, cycle, deps, new WaveSchedule(budget.limits.firstWaveMs, options.now), early)
          : undefined;
      const first = await collect(options, cycle, messages, enqueued, until(), observeBy, partErrors, waves?.progress);
      await closePart(options, cycle, first, messages.length, deps);
      const local = await localRead;
      if (!twoParts) return { jobs: combine(deps, first.reports, await logsSettled(local), first.lost, errors) };
      const rest = first.reports.filter((r) => !waves?.delivered.has(r.batch));
      return {
        jobs: combine(deps, rest, local, first.lost, undefined),
        ...(waves?.delivered.size ? { jobsDeliveredEarly: true } : {}),
        logs: async () => {
          const partition = logsCycle(cycle);
          const second = await collect(options, partition, messages, enqueued, until(), observeBy, errors);
          await closePart(options, partition, second, messages.length, deps);
          return combine(deps, second.reports, await logsSettled(local), second.lost, errors);
        },
      };
    },
  };
}
