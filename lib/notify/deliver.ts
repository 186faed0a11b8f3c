import type { Policy } from '../config/policy';
import type { Logger } from '../log';
import type { AlertRecord, NotificationItem, PlannedEmail } from '../model';
import { AlertStore, ConcurrentUpdateError } from '../store/alert-store';
import type { StateStore } from '../store/state-store';
import { afterSent } from './dedup';
import { emailKey, type EmailGroup } from './group';
import { DeliveryFailedError, type Mailer } from './mailer';
import { renderEmail, type Notice, type RenderOptions } from './render';
import { relatedAlerts } from './view';

/** Named points of a cycle, where tests stop it to prove a crash anywhere loses and doubles nothing. */
export type CyclePoint = 'evaluated' | 'state-written' | 'planned' | 'sent' | 'recorded';

export interface DeliveryDeps {
  alerts: AlertStore;
  state: StateStore;
  mailer: Mailer;
  policy: Policy;
  clock: () => Date;
  log: Logger;
  probe?: (point: CyclePoint) => void | Promise<void>;
  /** Where email links point and the domain of Message-IDs (renderOptionsFor); default: the global cloud. */
  render?: RenderOptions;
}

export interface DeliveryResult {
  sent: number;
  /** Planned emails still waiting (budget spent, or the send failed). */
  waiting: number;
}

/** Writes each email down (the outbox) before anything is sent; returns the ones this cycle planned. */
export async function planEmails(groups: EmailGroup[], deps: DeliveryDeps): Promise<PlannedEmail[]> {
  const plannedAt = deps.clock().toISOString();
  const planned: PlannedEmail[] = [];
  for (const group of groups) {
    const email: PlannedEmail = { key: emailKey(group.items), recipients: group.recipients, items: group.items, plannedAt, failedAttempts: 0 };
    if (await deps.state.plan(email)) planned.push(email);
  }
  return planned;
}

/**
 * Sends planned emails, oldest first, within the shared send budget; records each in the alerts'
 * route logs once ACS took it, then removes it from the outbox. Its ACS Operation-Id comes from
 * its key, so if this process dies between the send and the record, the next cycle's resend is
 * the same operation and ACS delivers nothing new.
 */
export async function sendPlanned(planned: PlannedEmail[], current: Map<string, AlertRecord>, deps: DeliveryDeps, errors: string[]): Promise<DeliveryResult> {
  let sent = 0;
  for (const [index, email] of planned.entries()) {
    const notices = email.items.map((item) => ({ item, alert: current.get(item.fingerprint) }));
    if (notices.some((n) => n.alert === undefined)) {
      // An alert of this email was taken by another instance this cycle: leave the email to it,
      // or to the next cycle (the same key makes a second send harmless either way).
      deps.log.warn(`email ${email.key} waits: one of its alerts is being handled by another instance`);
      continue;
    }
    if (!(await deps.state.takeSend(deps.clock(), deps.policy.budget))) {
      const waiting = planned.length - index;
      deps.log.warn(`send budget spent (${deps.policy.budget.perMinute}/min, ${deps.policy.budget.perHour}/h): ${waiting} email(s) wait for the next cycle`);
      return { sent, waiting };
    }
    const content = renderEmail(notices as Notice[], { ...deps.render, now: deps.clock(), tenantNames: deps.policy.tenantNames, related: (alert) => relatedAlerts(alert, current) });
    const key = email.failedAttempts > 0 ? `${email.key}#${email.failedAttempts}` : email.key;
    try {
      const { operationId } = await deps.mailer.send(content, email.recipients, key);
      deps.log.info(`sent to ${email.recipients.to.join(', ')} (operation ${operationId}): ${content.subject}`);
    } catch (error) {
      const message = `sending "${content.subject}" failed, will retry next cycle: ${(error as Error).message}`;
      errors.push(message);
      deps.log.error(message);
      if (error instanceof DeliveryFailedError) {
        await deps.state.updatePlanned({ ...email, failedAttempts: email.failedAttempts + 1 });
        continue;
      }
      // The service is unreachable or failing: the rest would fail the same way.
      return { sent, waiting: planned.length - index };
    }
    sent++;
    await deps.probe?.('sent');
    await recordSent(email, current, deps);
    await deps.state.donePlanned(email.key);
    await deps.probe?.('recorded');
  }
  return { sent, waiting: 0 };
}

/** Writes each notice into its alert's route log, re-reading the alert if another instance moved it. */
async function recordSent(email: PlannedEmail, current: Map<string, AlertRecord>, deps: DeliveryDeps): Promise<void> {
  const sentAt = deps.clock().toISOString();
  for (const item of email.items) {
    const alert = current.get(item.fingerprint);
    if (!alert) continue;
    current.set(item.fingerprint, await saveWithRetry(alert, item, sentAt, deps));
  }
}

async function saveWithRetry(alert: AlertRecord, item: NotificationItem, sentAt: string, deps: DeliveryDeps): Promise<AlertRecord> {
  try {
    return await deps.alerts.save(afterSent(alert, item, sentAt));
  } catch (error) {
    if (!(error instanceof ConcurrentUpdateError)) throw error;
    const fresh = await deps.alerts.get(alert.labels.tenantId, alert.fingerprint);
    if (!fresh) throw error;
    return deps.alerts.save(afterSent(fresh, item, sentAt));
  }
}

