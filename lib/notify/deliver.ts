import type { HttpPoster } from '../clients/http-poster';
import type { Mailer } from '../clients/mailer';
import { alreadySent, mootByAcknowledgement } from '../dispatch/dedup';
import { allReceivers, routeIdOfReceiver } from '../dispatch/route';
import { openInScope, routePath } from '../digest/digest';
import { relatedAlerts } from '../evaluate/view';
import type { AlertRecord, CyclePoint, EmailBudgetSpent, PlannedChannel, PlannedMessage } from '../model';
import type { Policy, Route } from '../model/policy';
import type { OutboxStore } from '../store/outbox-store';
import type { SendBudgetStore } from '../store/send-budget-store';
import { Deadline } from '../util/deadline';
import type { Logger } from '../util/log';
import type { Channel, DeliveryContext } from './channels/channel';
import { CHANNELS, destinationOf, routeOf } from './channels';
import { maxAlertsPerMessage, messageKey, splitIntoParts, type MessageGroup } from './group';
import { withAlertLinks } from './digest-words';
import { noticeViews, type Notice } from './notice';
import type { StillOpen } from './still-open';
import { recordSent, type RecordDeps } from './record';
import type { RenderOptions } from './render';

/**
 * The send step of a cycle, for every channel: one loop over destinations that asks the channel
 * registry (lib/notify/channels/) how each lays out, posts and reads its answer. Every message was
 * written down (the outbox) before anything is sent; once its channel took it, each of its notices
 * is recorded in its alert's notification log (the route's, or the route's channel's) and it
 * leaves the outbox. A destination that fails holds back only its own messages, which wait for the
 * next cycle; the others go on.
 */

/** What planning a cycle's messages takes: the outbox to write them in. */
export interface PlanDeps {
  outbox: Pick<OutboxStore, 'plan'>;
  clock: () => Date;
}

/** What delivery takes: the outbox, the shared send budget, the transports, and the alerts to record in. */
export interface DeliveryDeps extends PlanDeps, RecordDeps {
  outbox: Pick<OutboxStore, 'plan' | 'update' | 'done'>;
  sendBudget: Pick<SendBudgetStore, 'take' | 'hold' | 'heldUntil'>;
  /** ACS Email, for the routes' own channel. */
  mailer: Mailer;
  /** Posts to the channels that are HTTP endpoints (Teams, webhooks, ...); without it, their messages wait and say why. */
  poster?: HttpPoster;
  /** The cycle's policy; its silences (with the snoozes) say what a resolved notice counts as muted. */
  policy: Pick<Policy, 'budget' | 'route' | 'tenantNames' | 'silences' | 'maintenanceWindows'>;
  log: Logger;
  probe?: (point: CyclePoint) => void | Promise<void>;
  /** Where links point, snooze links, and the domain of Message-IDs (renderOptionsFor); default: the global cloud. */
  render?: RenderOptions;
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
  /** How many of them were posts to the channels routes list besides their email. */
  posted?: number;
  /** Planned messages still waiting (budget spent, the send failed, the deadline near, or its earlier send still running). */
  waiting: number;
  /** Set when emails waited because the send budget ran out: ours, or ACS's (a 429). */
  budgetSpent?: EmailBudgetSpent;
}

/**
 * Writes each message down (the outbox) before anything is sent; returns the ones this cycle
 * planned. A group with more alerts than one message of its channel should carry is planned as
 * several complete messages, each knowing its part ("part 2 of 3").
 */
export async function planMessages(groups: MessageGroup[], deps: PlanDeps): Promise<PlannedMessage[]> {
  const plannedAt = deps.clock().toISOString();
  const planned: PlannedMessage[] = [];
  for (const group of groups) {
    const parts = splitIntoParts(group.items, maxAlertsPerMessage(group.channel));
    for (const [i, items] of parts.entries()) {
      const message: PlannedMessage = {
        key: messageKey(items),
        recipients: group.recipients,
        items,
        plannedAt,
        failedAttempts: 0,
      };
      if (group.channel) message.channel = group.channel;
      if (parts.length > 1) message.part = { index: i + 1, total: parts.length };
      if (await deps.outbox.plan(message)) planned.push(message);
    }
  }
  return planned;
}

/** The messages of one destination: the routes' emails together, or one channel of one route. */
interface Queue {
  channel: Channel | undefined;
  /** The channel of one route the queue is for; undefined for a shared queue (every email). */
  target?: PlannedChannel;
  messages: PlannedMessage[];
}

/** Planned messages by destination: the shared queues first (email), then each route's channel in order of first appearance. */
function queuesOf(planned: PlannedMessage[]): Queue[] {
  const queues = new Map<string, Queue>();
  for (const channel of CHANNELS) if (channel.delivery.sharedQueue) queues.set(channel.type, { channel, messages: [] });
  for (const message of planned) {
    const { channel, target } = destinationOf(message);
    const key = channel?.delivery.sharedQueue ? channel.type : target.receiver;
    const queue = queues.get(key) ?? { channel, target, messages: [] };
    queue.messages.push(message);
    queues.set(key, queue);
  }
  return [...queues.values()].filter((q) => q.messages.length > 0);
}

/**
 * Delivers planned messages, each destination on its own: the emails first, then each channel of
 * each route. A destination that fails holds back only its own messages.
 */
export async function sendPlanned(
  planned: PlannedMessage[],
  current: Map<string, AlertRecord>,
  deps: DeliveryDeps,
  errors: string[],
  limits: DeliveryLimits = UNBOUNDED,
  tally: DeliveryResult = { sent: 0, waiting: 0 },
): Promise<DeliveryResult> {
  // Counted in the caller's tally the moment a message is out: a Table Storage failure while
  // recording it must not make a cycle that sent four emails report none.
  tally.posted ??= 0;
  for (const queue of queuesOf(await withoutSentNotices(planned, current, deps))) {
    await deliverQueue(queue, current, deps, errors, limits, tally);
  }
  return tally;
}

/**
 * The planned messages less the notices their alerts' logs show were already sent (alreadySent)
 * and the reminders and escalations of firing periods someone has acknowledged since they were
 * planned (mootByAcknowledgement): a message left with none leaves the outbox unsent, one left with
 * some goes with those. Only messages never attempted: one whose send may have reached ACS keeps
 * its content and Operation-Id.
 */
async function withoutSentNotices(
  planned: PlannedMessage[],
  current: Map<string, AlertRecord>,
  deps: DeliveryDeps,
): Promise<PlannedMessage[]> {
  const kept: PlannedMessage[] = [];
  for (const message of planned) {
    const sent = (item: PlannedMessage['items'][number]) => alreadySent(current.get(item.fingerprint), item);
    const moot = (item: PlannedMessage['items'][number]) => mootByAcknowledgement(current.get(item.fingerprint), item);
    const sentAlready =
      message.attempt || message.items.length === 0 ? [] : message.items.filter((item) => sent(item) || moot(item));
    if (sentAlready.length === 0) {
      kept.push(message);
      continue;
    }
    const acknowledged = sentAlready.filter((item) => !sent(item)).length;
    const why = [
      ...(sentAlready.length > acknowledged
        ? [`${sentAlready.length - acknowledged} were sent already by another plan`]
        : []),
      ...(acknowledged > 0 ? [`${acknowledged} are reminders or escalations of alerts acknowledged since`] : []),
    ];
    deps.log.warn(
      `planned message ${message.key}: of its ${message.items.length} notice(s), ${why.join(' and ')}; those are not sent`,
    );
    if (sentAlready.length === message.items.length) {
      await deps.outbox.done(message.key);
      continue;
    }
    // The outbox keeps the message whole; this is worked out again at each cycle until it is sent.
    kept.push({ ...message, items: message.items.filter((item) => !sentAlready.includes(item)) });
  }
  return kept;
}

/** Whether the config still has this channel on this route or escalation step (routes are known by their place in the tree). */
function stillConfigured(root: Route, target: PlannedChannel): boolean {
  return allReceivers(root).some((r) => r.id === target.receiver && r.channel?.id === target.id);
}

/** How the log and errors name a queue's messages: `3 email(s)`, `3 message(s) to the Teams channel T of route root`. */
function countOf(queue: Queue, describe: string, n: number): string {
  const noun = queue.channel?.noun ?? 'message';
  return queue.target ? `${n} ${noun}(s) to the ${describe}` : `${n} ${noun}(s)`;
}

/** `email 4f2a…`, `message 4f2a… to the Teams channel T of route root`. */
function messageName(queue: Queue, describe: string, key: string): string {
  const noun = queue.channel?.noun ?? 'message';
  return queue.target ? `${noun} ${key} to the ${describe}` : `${noun} ${key}`;
}

/** One destination's delivery this cycle: its queue, its channel and what sending needs. */
interface Run {
  queue: Queue;
  channel: Channel;
  /** `Teams channel TEAMS_OPS_URL of route root`; empty for a shared queue. */
  describe: string;
  ctx: DeliveryContext;
  current: Map<string, AlertRecord>;
  deps: DeliveryDeps;
  errors: string[];
  /** The cycle's running count, updated as each message goes out. */
  tally: DeliveryResult;
}

/** Counts one message out, in the cycle's tally (and as a post, for the channels a route lists besides its email). */
function countSent(run: Run): void {
  run.tally.sent++;
  if (run.channel.config.kind === 'entry') run.tally.posted = (run.tally.posted ?? 0) + 1;
}

/** What became of one message: sent, recorded without sending, waiting, or waiting with every message after it. */
type Step = 'sent' | 'handled' | 'wait' | 'stop';

/**
 * Sends one destination's messages, oldest first, within the cycle's deadline, each as its channel
 * says; a message that stops the destination (its channel down, its quota spent) leaves the rest
 * waiting for the next cycle.
 */
async function deliverQueue(
  queue: Queue,
  current: Map<string, AlertRecord>,
  deps: DeliveryDeps,
  errors: string[],
  limits: DeliveryLimits,
  tally: DeliveryResult,
): Promise<void> {
  const { channel, messages } = queue;
  const describe = queue.target
    ? `${channel ? channel.name(queue.target) : queue.target.type} of route ${routeOf(queue.target)}`
    : '';
  if (!channel || (queue.target && !stillConfigured(deps.policy.route, queue.target))) {
    // Taken out of the config (or its route moved): what it still had to post would fail or go
    // where nobody wants it any more; its notices are planned again for where the config now says.
    deps.log.warn(
      `the ${describe} is no longer in the config: ${messages.length} message(s) planned for it are dropped`,
    );
    for (const message of messages) await deps.outbox.done(message.key);
    return;
  }
  const ctx: DeliveryContext = {
    mailer: deps.mailer,
    poster: deps.poster,
    sendBudget: deps.sendBudget,
    budget: deps.policy.budget,
    now: deps.clock,
    log: deps.log,
    signal: limits.deadline.signal,
  };
  const run: Run = { queue, channel, describe, ctx, current, deps, errors, tally };
  for (const [index, message] of messages.entries()) {
    const left = messages.length - index;
    if (limits.deadline.remainingMs() < limits.callMs) {
      deps.log.warn(`the cycle's deadline is near: ${countOf(queue, describe, left)} wait for the next cycle`);
      tally.waiting += left;
      break;
    }
    const step = await deliverOne(message, run, left);
    if (step === 'wait') tally.waiting++;
    else if (step === 'stop') {
      tally.waiting += left;
      break;
    }
  }
}

/** One message: what became of an earlier send, the shared quota, the layout, then the send. */
async function deliverOne(original: PlannedMessage, run: Run, left: number): Promise<Step> {
  const { queue, channel, describe, deps } = run;
  const notices = original.items.map((item) => ({ item, alert: run.current.get(item.fingerprint) }));
  if (notices.some((n) => n.alert === undefined)) {
    // An alert of this message was taken by another instance this cycle: leave it to that
    // instance, or to the next cycle.
    deps.log.warn(
      `${messageName(queue, describe, original.key)} waits: one of its alerts is being handled by another instance`,
    );
    return 'wait';
  }
  if (!(channel.delivery.transport === 'mail' ? deps.mailer : deps.poster)) {
    run.errors.push(`${countOf(queue, describe, left)} wait: this instance cannot post to channels`);
    return 'stop';
  }
  const message = original.attempt ? await afterEarlierSend(original, run) : original;
  if (typeof message === 'string') return message;
  const refused = await channel.delivery.admit?.(run.ctx);
  if (refused) {
    deps.log.warn(`${refused.reason}: ${countOf(queue, describe, left)} wait for a later cycle`);
    if (refused.budgetSpent) run.tally.budgetSpent = refused.budgetSpent;
    return 'stop';
  }
  const content = layout(message, notices as Notice[], run);
  if (content === undefined) {
    // Nothing to send for these notices on this channel (a reminder of an incident that stays
    // open): they are recorded as told, so they are not planned again.
    deps.log.info(`${messageName(queue, describe, message.key)}: nothing to send on this channel, recorded as told`);
    await recordSent(message, run.current, deps);
    await deps.outbox.done(message.key);
    return 'handled';
  }
  return send(message, content, run, left);
}

/**
 * A message whose earlier send's outcome is unknown: its channel says what became of that send
 * before anything is sent again. The message to send (as updated), or what became of it.
 */
async function afterEarlierSend(message: PlannedMessage, run: Run): Promise<PlannedMessage | Step> {
  const { channel, deps } = run;
  if (!channel.delivery.earlier) return message;
  const earlier = await channel.delivery.earlier(message, run.ctx);
  switch (earlier.outcome) {
    case 'unknown':
      run.errors.push(earlier.error);
      deps.log.error(earlier.error);
      return 'stop';
    case 'in-flight':
      return 'wait';
    case 'delivered':
      countSent(run);
      await recordSent(message, run.current, deps);
      await deps.outbox.done(message.key);
      return 'sent';
    case 'resend': {
      await deps.outbox.update(earlier.message);
      // It never reached anyone: what an acknowledgement made moot since it was planned is not sent now either.
      const left = earlier.message.items.filter(
        (item) => !mootByAcknowledgement(run.current.get(item.fingerprint), item),
      );
      if (left.length === earlier.message.items.length) return earlier.message;
      deps.log.warn(
        `planned message ${message.key}: ${earlier.message.items.length - left.length} of its notice(s) are reminders or escalations of alerts acknowledged since, not sent`,
      );
      if (left.length > 0) return { ...earlier.message, items: left };
      await deps.outbox.done(message.key);
      return 'handled';
    }
  }
}

/** The routes a message's notices are for, in order (an escalation step's are its route's). */
function routesOf(message: PlannedMessage): string[] {
  return [...new Set(message.items.map((i) => routeIdOfReceiver(i.routeId)))];
}

/**
 * The time zone a message shows times in: its route's (`timeZone`, inherited; UTC by default). An
 * email to the recipients of several routes takes the first route's.
 */
function timeZoneOf(routeIds: string[], root: Route): string {
  const [first] = routeIds;
  return (first ? routePath(root, first)?.at(-1)?.timeZone : undefined) ?? 'UTC';
}

/** For a message of resolved notices: what is still open (and what is muted) in its routes' scopes now. */
function stillOpenOf(message: PlannedMessage, routeIds: string[], run: Run): StillOpen | undefined {
  if (!message.items.length || message.items.some((i) => i.kind !== 'resolved')) return undefined;
  const { policy } = run.deps;
  const paths = routeIds.map((id) => routePath(policy.route, id)).filter((p) => p !== undefined);
  if (!paths.length) return undefined;
  const own = new Set(message.items.map((i) => i.fingerprint));
  const open = openInScope(paths, [...run.current.values()], policy, run.deps.clock()).filter(
    (a) => !own.has(a.fingerprint),
  );
  return { open: open.filter((a) => !a.mutedBy), muted: open.filter((a) => a.mutedBy) };
}

/** The message laid out by its channel: its digest, or its notices as every channel words them. */
function layout(message: PlannedMessage, notices: Notice[], run: Run): unknown {
  const { channel, deps } = run;
  const { target } = destinationOf(message);
  const routeIds = routesOf(message);
  const ctx = {
    target,
    route: routeOf(target),
    id: message.key,
    now: deps.clock(),
    part: message.part,
    messageIdDomain: deps.render?.messageIdDomain,
    stillOpen: stillOpenOf(message, routeIds, run),
  };
  if (message.digest) {
    const viewCtx = { now: deps.clock(), tenantNames: deps.policy.tenantNames, links: deps.render?.links };
    return channel.layout.digest(
      withAlertLinks(message.digest, (fp) => run.current.get(fp), viewCtx),
      ctx,
    );
  }
  const views = noticeViews(notices, {
    ...deps.render,
    now: deps.clock(),
    tenantNames: deps.policy.tenantNames,
    timeZone: timeZoneOf(routeIds, deps.policy.route),
    related: (alert) => relatedAlerts(alert, run.current),
  });
  return channel.layout.notices(views, ctx);
}

/**
 * Sends a laid-out message: what the channel writes down first (email: its attempt), the send, then
 * its notices recorded and the message out of the outbox. A failure is what its channel says it is.
 */
async function send(original: PlannedMessage, content: unknown, run: Run, left: number): Promise<Step> {
  const { channel, deps, describe } = run;
  let message = original;
  if (channel.delivery.beforeSend) {
    message = channel.delivery.beforeSend(message, deps.clock());
    await deps.outbox.update(message);
  }
  await deps.probe?.('sending');
  try {
    const { target } = destinationOf(message);
    deps.log.info(await channel.delivery.send(content, { ...run.ctx, message, target, describe }));
  } catch (error) {
    const failure = channel.delivery.failed(message, content, error as Error, describe, deps.clock());
    if (failure.quotaSpent) {
      // The provider's own quota ran out (ACS's 429): not an error of the cycle; the message waits
      // as if never sent, and no instance sends before the provider's time has passed.
      deps.log.warn(`${failure.quotaSpent.log}: ${countOf(run.queue, describe, left)} wait for a later cycle`);
      if (failure.update) await deps.outbox.update(failure.update);
      await deps.sendBudget.hold(failure.quotaSpent.until);
      run.tally.budgetSpent = failure.quotaSpent.budgetSpent;
      return 'stop';
    }
    run.errors.push(failure.error);
    deps.log.error(failure.error);
    if (failure.update) await deps.outbox.update(failure.update);
    return failure.next === 'stop' ? 'stop' : 'wait';
  }
  countSent(run);
  await deps.probe?.('sent');
  await recordSent(message, run.current, deps);
  await deps.outbox.done(message.key);
  await deps.probe?.('recorded');
  return 'sent';
}
