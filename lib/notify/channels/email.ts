import { headerSafe } from '../../util/text';
import { DeliveryFailedError, operationIdOf, SendThrottledError } from '../../clients/mailer';
import type { ChannelTarget, EmailContent, PlannedMessage, Recipients } from '../../model';
import type { Route } from '../../model/policy';
import { defineChannel, type DeliveryContext, type EarlierSend } from './channel';
import { emailFromViews } from './email/compose';
import { digestEmail } from './email/digest';

/**
 * Email, a route's own channel: its address is the route's recipients (`to`, `cc`; the root's
 * default is ALERT_EMAIL_TO), its notification log is the route's own id, and its messages go
 * through ACS Email. Its words are the notice views'; the email/ folder beside this file lays them
 * out as a subject, threading headers, an HTML part and a plain-text part that says the same.
 *
 * What email adds to the delivery every channel has (outbox, lease, notification log):
 * - one email per recipient set and cycle, whatever the number of routes that send to it, in parts
 *   of at most 100 alerts (MAX_ALERTS_PER_EMAIL);
 * - the send budget shared by every instance (ACS allows few emails a minute), taken before each send;
 * - an Operation-Id derived from the message's key, written down before the send (the attempt),
 *   so a send whose answer was lost is asked about before anything is sent again, never sent blind;
 * - a send ACS accepted and then failed moves to a new Operation-Id (failedAttempts).
 */

/** The route's own email has no entry of its own: its target is the same for every route. */
type EmailTarget = ChannelTarget & { type: 'email' };

/**
 * Most alerts in one email: a reader can act on 50, and 50 bounded sections stay far below ACS's
 * 10 MB per message (docs/reference/platform-notes.md §4.4). A mass incident of 1,000 alerts is
 * then 20 emails, sent within the send budget over as many cycles as it takes.
 */
export const MAX_ALERTS_PER_EMAIL = 100;
/** ACS's limit on one send request, attachments included (platform-notes §4.4). */
const ACS_MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** One email per recipient set: the same people, in any order or case, get one email. */
function recipientKey(route: Route): string {
  const norm = (list: string[] | undefined) => [...new Set((list ?? []).map((a) => a.toLowerCase()))].sort().join(',');
  return `${norm(route.to)}|${norm(route.cc)}`;
}

/** The key a send goes under: the message's, moved on by each send ACS accepted and then failed. */
function sendKey(message: PlannedMessage): string {
  return message.failedAttempts > 0 ? `${message.key}#${message.failedAttempts}` : message.key;
}

/**
 * Asks ACS what became of a message's earlier send before anything is sent again: delivered (record
 * it, send nothing), still running (wait), failed (send again under a new Operation-Id) or unknown
 * to ACS (it never arrived: send again). Nothing here relies on what ACS does with a repeated
 * Operation-Id, which is not documented.
 */
async function earlierSend(message: PlannedMessage, ctx: DeliveryContext): Promise<EarlierSend> {
  const attempt = message.attempt as NonNullable<PlannedMessage['attempt']>;
  let status;
  try {
    status = await ctx.mailer!.status(attempt.operationId, { abortSignal: ctx.signal });
  } catch (error) {
    return {
      outcome: 'unknown',
      error: `asking ACS about the earlier send of email ${message.key} failed, it waits for the next cycle: ${(error as Error).message}`,
    };
  }
  ctx.log.info(
    `email ${message.key}: ACS says its send of ${attempt.startedAt} (operation ${attempt.operationId}) is ${status}`,
  );
  switch (status) {
    case 'Succeeded':
      return { outcome: 'delivered' };
    case 'Running':
    case 'NotStarted':
      return { outcome: 'in-flight' };
    case 'Failed':
    case 'Canceled':
      return {
        outcome: 'resend',
        message: { ...message, failedAttempts: message.failedAttempts + 1, attempt: undefined },
      };
    case 'Unknown':
      return { outcome: 'resend', message: { ...message, attempt: undefined } };
  }
}

export const email = defineChannel<EmailTarget, EmailContent>({
  type: 'email',
  noun: 'email',
  name: () => 'email',
  config: { kind: 'route' },
  limits: { alertsPerMessage: MAX_ALERTS_PER_EMAIL, bytes: ACS_MAX_REQUEST_BYTES },
  groupKey: recipientKey,
  layout: {
    notices: (views, ctx) =>
      emailFromViews(views, {
        messageIdDomain: ctx.messageIdDomain,
        part: ctx.part,
        now: ctx.now,
        stillOpen: ctx.stillOpen,
      }),
    digest: (digest, ctx) => digestEmail(digest, { messageIdDomain: ctx.messageIdDomain }),
  },
  delivery: {
    transport: 'mail',
    // Every email goes through ACS and its budget: a failing ACS holds back the emails, and only them.
    sharedQueue: true,
    earlier: earlierSend,
    async admit(ctx) {
      if (await ctx.sendBudget.take(ctx.now(), ctx.budget)) return undefined;
      const heldUntil = await ctx.sendBudget.heldUntil(ctx.now());
      if (heldUntil)
        return {
          reason: `ACS asked for no sends before ${heldUntil.toISOString()} (its 429)`,
          budgetSpent: { at: 'ACS', sendsResumeAt: heldUntil.toISOString() },
        };
      return {
        reason: `send budget spent (${ctx.budget.perMinute}/min, ${ctx.budget.perHour}/h)`,
        budgetSpent: { at: 'budget' },
      };
    },
    // Its Operation-Id is written down before the send, so if this process dies or the answer is
    // lost, the next cycle asks ACS what became of it instead of sending blind.
    beforeSend: (message, now) => ({
      ...message,
      attempt: { operationId: operationIdOf(sendKey(message)), startedAt: now.toISOString() },
    }),
    async send(content, ctx) {
      const recipients: Recipients = ctx.message.recipients;
      const { operationId } = await ctx.mailer!.send(content, recipients, sendKey(ctx.message), {
        abortSignal: ctx.signal,
      });
      return `sent to ${recipients.to.join(', ')} (operation ${operationId}): ${content.subject}`;
    },
    failed(message, content, error, _describe, now) {
      // ACS answered 429: its sending limit ran out, as if our budget had. ACS rejects, it does not
      // queue, so the email waits with its attempt cleared and goes later under the same Operation-Id.
      if (error instanceof SendThrottledError) {
        const until = new Date(now.getTime() + error.retryAfterMs);
        return {
          quotaSpent: {
            until,
            log: `ACS answered 429 (its sending limit, Retry-After ${Math.ceil(error.retryAfterMs / 1000)} s): the email budget ran out at ACS; no email is sent before ${until.toISOString()}`,
            budgetSpent: { at: 'ACS', sendsResumeAt: until.toISOString() },
          },
          update: { ...message, attempt: undefined },
        };
      }
      // The subject names the email in a problem line, short enough that what went wrong is not cut off with it.
      const text = `sending "${headerSafe(content.subject, 80)}" failed, will retry next cycle: ${error.message}`;
      // ACS took it and then failed it: a new Operation-Id next time, and the other emails still go.
      if (error instanceof DeliveryFailedError)
        return {
          error: text,
          update: { ...message, failedAttempts: message.failedAttempts + 1, attempt: undefined },
          next: 'go-on',
        };
      // The outcome is unknown (no answer, a timeout, the service failing): the attempt stays
      // written down for the next cycle to ask about, and the rest would fail the same way.
      return { error: text, next: 'stop' };
    },
  },
});
