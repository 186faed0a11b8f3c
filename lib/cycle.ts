import type { GraphReader } from './clients/graph';
import { evaluateTenant, inView } from './evaluate/rules';
import type { AlertLabels } from './evaluate/types';
import { DeliveryFailedError, Mailer, Recipients } from './notify/mailer';
import { renderNotification } from './notify/render';
import { describeProblem } from './observe/errors';
import { observeTenant, ObserveOptions } from './observe/observe';
import type { TenantObservation } from './observe/types';
import { reconcile } from './reconcile/reconcile';
import type { AlertRecord } from './reconcile/types';
import { AlertStore, ConcurrentUpdateError } from './store/alert-store';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A tenant to watch: the label alerts carry, and the tenant to request tokens for (none = the credential's own). */
export interface Target {
  tenantId: string;
  tokenTenant?: string;
}

export interface CycleDeps {
  targets: Target[];
  graphFor(target: Target): GraphReader;
  store: AlertStore;
  mailer: Mailer;
  recipients: Recipients;
  clock: () => Date;
  log: Logger;
  /** Tenants read at once. */
  concurrency?: number;
  observe?: ObserveOptions;
}

export interface CycleSummary {
  startedAt: string;
  durationMs: number;
  tenantsChecked: number;
  tenantsUnreadable: string[];
  jobsSeen: number;
  alertsFiring: number;
  notificationsSent: number;
  notificationsPending: number;
  /** Everything that kept the cycle from doing its whole job; empty means it did. */
  errors: string[];
}

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

/**
 * One monitoring cycle: observe every tenant, evaluate the rules, reconcile alert state, write it,
 * then send what the outbox holds (this cycle's transitions and any a previous cycle could not
 * send). State is written before any email goes out, and each email's idempotency key comes from
 * its transition, so a crash anywhere neither loses an email nor sends one twice.
 */
export async function runCycle(deps: CycleDeps): Promise<CycleSummary> {
  const started = deps.clock();
  const errors: string[] = [];
  const stored = await deps.store.loadAll();

  const observations = await mapLimit(deps.targets, deps.concurrency ?? 4, (target) =>
    observeTenant(deps.graphFor(target), target.tenantId, deps.observe),
  );
  const byTenant = new Map<string, TenantObservation>(observations.map((o) => [o.tenantId, o]));
  for (const o of observations) {
    if (o.problem) {
      const message = `tenant ${o.tenantId}: cannot monitor: ${describeProblem(o.problem)}`;
      errors.push(message);
      deps.log.error(message);
    }
    for (const { servicePrincipal, problem } of o.servicePrincipalProblems) {
      const message = `tenant ${o.tenantId}: jobs of "${servicePrincipal.displayName}" (${servicePrincipal.id}) not read: ${describeProblem(problem)}`;
      errors.push(message);
      deps.log.warn(message);
    }
  }

  const findings = observations.flatMap(evaluateTenant);
  const now = deps.clock();
  const { changed } = reconcile({
    stored,
    findings,
    now,
    inView: (labels: AlertLabels) => {
      const o = byTenant.get(labels.tenantId);
      return o !== undefined && inView(labels, o);
    },
  });

  const current = new Map(stored);
  for (const record of changed) {
    try {
      current.set(record.fingerprint, await deps.store.save(record));
    } catch (error) {
      current.delete(record.fingerprint);
      if (error instanceof ConcurrentUpdateError) deps.log.warn(`${error.message}; leaving it to that instance`);
      else errors.push(`saving alert ${record.fingerprint}: ${(error as Error).message}`);
    }
  }

  let sent = 0;
  for (const record of [...current.values()]) {
    if (record.outbox.length === 0) continue;
    const delivery = await deliverOutbox(record, deps, errors);
    sent += delivery.sent;
    current.set(record.fingerprint, delivery.record);
  }

  const after = [...current.values()];
  const pending = after.reduce((n, r) => n + r.outbox.length, 0);
  const summary: CycleSummary = {
    startedAt: started.toISOString(),
    durationMs: deps.clock().getTime() - started.getTime(),
    tenantsChecked: observations.length,
    tenantsUnreadable: observations.filter((o) => o.problem).map((o) => o.tenantId),
    jobsSeen: observations.reduce((n, o) => n + o.jobs.length, 0),
    alertsFiring: after.filter((r) => r.state === 'firing').length,
    notificationsSent: sent,
    notificationsPending: pending,
    errors,
  };
  return summary;
}

/** Sends an alert's pending notifications in order; stops at the first failure (retried next cycle). */
async function deliverOutbox(initial: AlertRecord, deps: CycleDeps, errors: string[]): Promise<{ sent: number; record: AlertRecord }> {
  let record = initial;
  let sent = 0;
  while (record.outbox.length > 0) {
    const notification = record.outbox[0]!;
    const content = renderNotification(record, notification, deps.clock());
    const attempt = notification.failedAttempts ?? 0;
    const idempotencyKey = attempt > 0 ? `${notification.key}#${attempt}` : notification.key;
    try {
      const { operationId } = await deps.mailer.send(content, deps.recipients, idempotencyKey);
      deps.log.info(`sent ${notification.kind} notice for alert ${record.fingerprint} (operation ${operationId}): ${content.subject}`);
    } catch (error) {
      const message = `sending the ${notification.kind} notice for alert ${record.fingerprint} failed, will retry next cycle: ${(error as Error).message}`;
      errors.push(message);
      deps.log.error(message);
      if (error instanceof DeliveryFailedError) await recordFailedAttempt(record, deps, errors);
      return { sent, record };
    }
    sent++;
    const updated: AlertRecord = {
      ...record,
      outbox: record.outbox.slice(1),
      lastNotifiedAt: deps.clock().toISOString(),
      lastNotifiedKind: notification.kind,
    };
    try {
      record = await deps.store.save(updated);
    } catch (error) {
      // The email went out; the next cycle will send it again with the same key, which ACS ignores.
      errors.push(`recording the ${notification.kind} notice of alert ${record.fingerprint}: ${(error as Error).message}`);
      return { sent, record: updated };
    }
  }
  return { sent, record };
}

/** Moves the head of the outbox to a new Operation-Id after ACS definitively failed it. */
async function recordFailedAttempt(record: AlertRecord, deps: CycleDeps, errors: string[]): Promise<void> {
  const [head, ...rest] = record.outbox;
  if (!head) return;
  try {
    await deps.store.save({ ...record, outbox: [{ ...head, failedAttempts: (head.failedAttempts ?? 0) + 1 }, ...rest] });
  } catch (error) {
    errors.push(`recording the failed send of alert ${record.fingerprint}: ${(error as Error).message}`);
  }
}
