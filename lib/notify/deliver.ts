import type { Policy } from '../config/policy';
import { Deadline } from '../deadline';
import type { Logger } from '../log';
import type { AlertRecord, EmailBudgetSpent, PlannedEmail } from '../model';
import type { AlertStore } from '../store/alert-store';
import type { StateStore } from '../store/state-store';
import { alreadySent } from './dedup';
import { postToChannel } from './deliver-channels';
import { emailKey, maxAlertsPerMessage, splitIntoParts, type EmailGroup } from './group';
import { DeliveryFailedError, operationIdOf, SendThrottledError, type Mailer } from './mailer';
import type { ChannelPoster } from './poster';
import { recordSent } from './record';
import { digestEmail } from './channels/email/digest';
import { renderEmail, type Notice, type RenderOptions } from './render';
import { relatedAlerts } from './view';

/**
 * Named points of a cycle, where tests stop it to prove a crash anywhere loses and doubles nothing:
 * the tenants are observed and evaluated, this instance holds the planning lease, the alert state
 * is written, the emails are planned, a send is about to be made (its attempt written down), it was
 * made, and it was recorded.
 */
export type CyclePoint = 'evaluated' | 'leased' | 'state-written' | 'planned' | 'sending' | 'sent' | 'recorded';

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
  /** Posts to the channels besides email (Teams, webhooks); without it, a channel's messages wait and say why. */
  poster?: ChannelPoster;
}

/** What bounds delivery: the cycle's deadline, and the time one call (a send, a status question) may take. */
export interface DeliveryLimits {
  deadline: Deadline;
  callMs: number;
}

const UNBOUNDED: DeliveryLimits = { deadline: Deadline.never(), callMs: 0 };

export interface DeliveryResult {
  /** Messages sent: emails and channel posts. */
  sent: number;
  /** How many of them were channel posts. */
  posted?: number;
  /** Planned emails still waiting (budget spent, the send failed, the deadline near, or its earlier send still running). */
  waiting: number;
  /** Set when emails waited because the send budget ran out: ours, or ACS's (a 429). */
  budgetSpent?: EmailBudgetSpent;
}

/**
 * Writes each email down (the outbox) before anything is sent; returns the ones this cycle planned.
 * A group with more alerts than one email should carry is planned as several complete emails,
 * each knowing its part ("part 2 of 3").
 */
export async function planEmails(groups: EmailGroup[], deps: DeliveryDeps): Promise<PlannedEmail[]> {
  const plannedAt = deps.clock().toISOString();
  const planned: PlannedEmail[] = [];
  for (const group of groups) {
    const parts = splitIntoParts(group.items, maxAlertsPerMessage(group.channel));
    for (const [i, items] of parts.entries()) {
      const email: PlannedEmail = {
        key: emailKey(items),
        recipients: group.recipients,
        items,
        plannedAt,
        failedAttempts: 0,
      };
      if (group.channel) email.channel = group.channel;
      if (parts.length > 1) email.part = { index: i + 1, total: parts.length };
      if (await deps.state.plan(email)) planned.push(email);
    }
  }
  return planned;
}

/** What became of a send whose outcome was not known, as ACS tells it. */
type EarlierSend = { outcome: 'delivered' } | { outcome: 'in-flight' } | { outcome: 'resend'; email: PlannedEmail };

/**
 * Asks ACS what became of an email's earlier send before anything is sent again: delivered (record
 * it, send nothing), still running (wait), failed (send again under a new Operation-Id) or unknown
 * to ACS (it never arrived: send again). Nothing here relies on what ACS does with a repeated
 * Operation-Id, which is not documented.
 */
async function earlierSend(email: PlannedEmail, deps: DeliveryDeps, limits: DeliveryLimits): Promise<EarlierSend> {
  const attempt = email.attempt as NonNullable<PlannedEmail['attempt']>;
  const status = await deps.mailer.status(attempt.operationId, { abortSignal: limits.deadline.signal });
  deps.log.info(
    `email ${email.key}: ACS says its send of ${attempt.startedAt} (operation ${attempt.operationId}) is ${status}`,
  );
  switch (status) {
    case 'Succeeded':
      return { outcome: 'delivered' };
    case 'Running':
    case 'NotStarted':
      return { outcome: 'in-flight' };
    case 'Failed':
    case 'Canceled':
      return { outcome: 'resend', email: { ...email, failedAttempts: email.failedAttempts + 1, attempt: undefined } };
    case 'Unknown':
      return { outcome: 'resend', email: { ...email, attempt: undefined } };
  }
}

/**
 * Delivers planned messages, each destination on its own: the emails first, then each channel of
 * each route (lib/notify/deliver-channels.ts). A destination that fails holds back only its own
 * messages, which wait for the next cycle; the others go on.
 */
export async function sendPlanned(
  planned: PlannedEmail[],
  current: Map<string, AlertRecord>,
  deps: DeliveryDeps,
  errors: string[],
  limits: DeliveryLimits = UNBOUNDED,
  tally: DeliveryResult = { sent: 0, waiting: 0 },
): Promise<DeliveryResult> {
  const queues = new Map<string, PlannedEmail[]>([['email', []]]);
  for (const message of await withoutSentNotices(planned, current, deps)) {
    const destination = message.channel ? message.channel.receiver : 'email';
    queues.set(destination, [...(queues.get(destination) ?? []), message]);
  }
  // Counted the moment a message is out, in the caller's tally: a Table Storage failure while
  // recording it must not make a cycle that sent four emails report none.
  const sentEmail = () => void tally.sent++;
  const posted = () => {
    tally.sent++;
    tally.posted = (tally.posted ?? 0) + 1;
  };
  for (const [destination, messages] of queues) {
    if (messages.length === 0) continue;
    const outcome =
      destination === 'email'
        ? await sendEmails(messages, current, deps, errors, limits, sentEmail)
        : await postToChannel(messages, current, deps, errors, limits, posted);
    tally.waiting += outcome.waiting;
    tally.posted ??= 0;
    if (outcome.budgetSpent) tally.budgetSpent = outcome.budgetSpent;
  }
  return tally;
}

/**
 * The planned messages less the notices their alerts' logs show were already sent (alreadySent):
 * a message left with none leaves the outbox unsent, one left with some goes with those. Only
 * messages never attempted: one whose send may have reached ACS keeps its content and Operation-Id.
 */
async function withoutSentNotices(
  planned: PlannedEmail[],
  current: Map<string, AlertRecord>,
  deps: DeliveryDeps,
): Promise<PlannedEmail[]> {
  const kept: PlannedEmail[] = [];
  for (const message of planned) {
    const sentAlready =
      message.attempt || message.items.length === 0
        ? []
        : message.items.filter((item) => alreadySent(current.get(item.fingerprint), item));
    if (sentAlready.length === 0) {
      kept.push(message);
      continue;
    }
    deps.log.warn(
      `planned message ${message.key}: ${sentAlready.length} of its ${message.items.length} notice(s) were sent already by another plan, not sent again`,
    );
    if (sentAlready.length === message.items.length) {
      await deps.state.donePlanned(message.key);
      continue;
    }
    // The outbox keeps the message whole; this is worked out again at each cycle until it is sent.
    kept.push({ ...message, items: message.items.filter((item) => !sentAlready.includes(item)) });
  }
  return kept;
}

/**
 * Sends planned emails, oldest first, within the shared send budget and the cycle's deadline.
 * Before each send its Operation-Id is written on the email (the attempt), so if this process dies
 * or the answer is lost, the next cycle asks ACS what became of it instead of sending blind. Once
 * ACS took it, each notice is recorded in its alert's route log and the email leaves the outbox.
 */
async function sendEmails(
  planned: PlannedEmail[],
  current: Map<string, AlertRecord>,
  deps: DeliveryDeps,
  errors: string[],
  limits: DeliveryLimits,
  onSent: () => void = () => undefined,
): Promise<DeliveryResult> {
  let sent = 0;
  let waiting = 0;
  for (const [index, original] of planned.entries()) {
    if (limits.deadline.remainingMs() < limits.callMs) {
      const left = planned.length - index;
      deps.log.warn(`the cycle's deadline is near: ${left} email(s) wait for the next cycle`);
      return { sent, waiting: waiting + left };
    }
    const notices = original.items.map((item) => ({ item, alert: current.get(item.fingerprint) }));
    if (notices.some((n) => n.alert === undefined)) {
      // An alert of this email was taken by another instance this cycle: leave the email to it,
      // or to the next cycle.
      deps.log.warn(`email ${original.key} waits: one of its alerts is being handled by another instance`);
      waiting++;
      continue;
    }
    let email = original;
    if (email.attempt) {
      let earlier: EarlierSend;
      try {
        earlier = await earlierSend(email, deps, limits);
      } catch (error) {
        const message = `asking ACS about the earlier send of email ${email.key} failed, it waits for the next cycle: ${(error as Error).message}`;
        errors.push(message);
        deps.log.error(message);
        return { sent, waiting: waiting + planned.length - index };
      }
      if (earlier.outcome === 'in-flight') {
        waiting++;
        continue;
      }
      if (earlier.outcome === 'delivered') {
        sent++;
        onSent();
        await recordSent(email, current, deps);
        await deps.state.donePlanned(email.key);
        continue;
      }
      email = earlier.email;
      await deps.state.updatePlanned(email);
    }
    if (!(await deps.state.takeSend(deps.clock(), deps.policy.budget))) {
      const left = planned.length - index;
      const heldUntil = await deps.state.sendsHeldUntil(deps.clock());
      if (heldUntil) {
        deps.log.warn(
          `ACS asked for no sends before ${heldUntil.toISOString()} (its 429): ${left} email(s) wait for a later cycle`,
        );
        return { sent, waiting: waiting + left, budgetSpent: { at: 'ACS', sendsResumeAt: heldUntil.toISOString() } };
      }
      deps.log.warn(
        `send budget spent (${deps.policy.budget.perMinute}/min, ${deps.policy.budget.perHour}/h): ${left} email(s) wait for the next cycle`,
      );
      return { sent, waiting: waiting + left, budgetSpent: { at: 'budget' } };
    }
    const content = email.digest
      ? digestEmail(email.digest, deps.render)
      : renderEmail(notices as Notice[], {
          ...deps.render,
          now: deps.clock(),
          tenantNames: deps.policy.tenantNames,
          related: (alert) => relatedAlerts(alert, current),
          part: email.part,
        });
    const key = email.failedAttempts > 0 ? `${email.key}#${email.failedAttempts}` : email.key;
    const attempt = { operationId: operationIdOf(key), startedAt: deps.clock().toISOString() };
    await deps.state.updatePlanned({ ...email, attempt });
    await deps.probe?.('sending');
    try {
      const { operationId } = await deps.mailer.send(content, email.recipients, key, {
        abortSignal: limits.deadline.signal,
      });
      deps.log.info(`sent to ${email.recipients.to.join(', ')} (operation ${operationId}): ${content.subject}`);
    } catch (error) {
      if (error instanceof SendThrottledError)
        return throttled(error, email, planned.length - index, deps, { sent, waiting });
      const message = `sending "${content.subject}" failed, will retry next cycle: ${(error as Error).message}`;
      errors.push(message);
      deps.log.error(message);
      if (error instanceof DeliveryFailedError) {
        await deps.state.updatePlanned({ ...email, failedAttempts: email.failedAttempts + 1, attempt: undefined });
        waiting++;
        continue;
      }
      // The outcome is unknown (no answer, a timeout, the service failing): the attempt stays
      // written down for the next cycle to ask about, and the rest would fail the same way.
      return { sent, waiting: waiting + planned.length - index };
    }
    sent++;
    onSent();
    await deps.probe?.('sent');
    await recordSent(email, current, deps);
    await deps.state.donePlanned(email.key);
    await deps.probe?.('recorded');
  }
  return { sent, waiting };
}

/**
 * ACS answered 429: its sending limit ran out, as if our budget had. The email was not taken (ACS
 * rejects, it does not queue), so it waits with its attempt cleared and is sent later under the same
 * Operation-Id; nothing is counted as sent; no instance sends again before the Retry-After has
 * passed (the hold is kept in the shared budget row). The 429 is not an error of the cycle: the
 * emails wait in the outbox, and the summary says the budget ran out at ACS.
 */
async function throttled(
  error: SendThrottledError,
  email: PlannedEmail,
  left: number,
  deps: DeliveryDeps,
  sofar: { sent: number; waiting: number },
): Promise<DeliveryResult> {
  const until = new Date(deps.clock().getTime() + error.retryAfterMs);
  await deps.state.updatePlanned({ ...email, attempt: undefined });
  await deps.state.holdSends(until);
  deps.log.warn(
    `ACS answered 429 (its sending limit, Retry-After ${Math.ceil(error.retryAfterMs / 1000)} s): the email budget ran out at ACS; ${left} email(s) wait, and none is sent before ${until.toISOString()}`,
  );
  return {
    sent: sofar.sent,
    waiting: sofar.waiting + left,
    budgetSpent: { at: 'ACS', sendsResumeAt: until.toISOString() },
  };
}
