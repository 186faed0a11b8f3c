import type { Route } from '../config/policy';
import type { AlertRecord, PlannedChannel, PlannedEmail } from '../model';
import { channelDigest, channelMessage, type ChannelMessage } from './channels';
import type { DeliveryDeps, DeliveryLimits, DeliveryResult } from './deliver';
import { noticeViews, type Notice } from './notice';
import { recordSent } from './record';
import { relatedAlerts, type ViewContext } from './view';

/**
 * The send step for the channels besides email (Teams, webhooks), over the same outbox, lease and
 * notification log as email: each planned message was written down before anything is posted, and
 * its notices are recorded in their alerts' logs (the log of that channel of that route) once the
 * channel took it. A channel that fails (down, refusing, too slow, a setting missing) keeps its
 * messages for the next cycle and holds back nobody else: not email, not another channel.
 *
 * A webhook's retry carries the same id (X-Entra-Sync-Watch-Delivery, Idempotency-Key), so a
 * receiver that got a post whose answer was lost drops the second one. A Teams workflow has no such
 * key: a post Teams took whose answer was lost is posted again (README, "Delivery to channels").
 */

/** What channels need to present alerts, from the delivery dependencies and the current alerts. */
export function viewContextOf(deps: DeliveryDeps, current: Map<string, AlertRecord>): ViewContext {
  return {
    ...deps.render,
    now: deps.clock(),
    tenantNames: deps.policy.tenantNames,
    related: (alert) => relatedAlerts(alert, current),
  };
}

/** `Teams channel TEAMS_OPS_URL of route root`. */
export function channelName(channel: PlannedChannel): string {
  return `${channel.type === 'teams' ? 'Teams channel' : 'webhook'} ${channel.urlSetting} of route ${channel.receiver.split('~')[0]}`;
}

function render(
  message: PlannedEmail,
  channel: PlannedChannel,
  notices: Notice[],
  deps: DeliveryDeps,
  current: Map<string, AlertRecord>,
): ChannelMessage {
  if (message.digest) return channelDigest(channel, message.digest, { id: message.key, now: deps.clock() });
  return channelMessage(channel, noticeViews(notices, viewContextOf(deps, current)), {
    part: message.part,
    id: message.key,
    now: deps.clock(),
  });
}

/** Whether the config still has this channel on this route (routes are known by their place in the tree). */
function stillConfigured(root: Route, channel: PlannedChannel): boolean {
  const routeId = channel.receiver.split('~')[0];
  const find = (route: Route): Route | undefined =>
    route.id === routeId ? route : route.routes.map(find).find((r) => r !== undefined);
  return find(root)?.channels?.some((c) => c.id === channel.id) ?? false;
}

/** Posts one channel's planned messages, oldest first, until one fails or the deadline is near. */
export async function postToChannel(
  planned: PlannedEmail[],
  current: Map<string, AlertRecord>,
  deps: DeliveryDeps,
  errors: string[],
  limits: DeliveryLimits,
  onSent: () => void = () => undefined,
): Promise<DeliveryResult> {
  let sent = 0;
  let waiting = 0;
  const channel = planned[0]?.channel as PlannedChannel;
  if (!stillConfigured(deps.policy.route, channel)) {
    // Taken out of the config (or its route moved): what it still had to post would fail or go
    // where nobody wants it any more; its notices are planned again for where the config now says.
    deps.log.warn(
      `the ${channelName(channel)} is no longer in the config: ${planned.length} message(s) planned for it are dropped`,
    );
    for (const message of planned) await deps.state.donePlanned(message.key);
    return { sent: 0, waiting: 0, posted: 0 };
  }
  for (const [index, message] of planned.entries()) {
    const left = planned.length - index;
    if (limits.deadline.remainingMs() < limits.callMs) {
      deps.log.warn(
        `the cycle's deadline is near: ${left} message(s) to the ${channelName(channel)} wait for the next cycle`,
      );
      return { sent, waiting: waiting + left, posted: sent };
    }
    const notices = message.items.map((item) => ({ item, alert: current.get(item.fingerprint) }));
    if (notices.some((n) => n.alert === undefined)) {
      deps.log.warn(
        `message ${message.key} to the ${channelName(channel)} waits: one of its alerts is being handled by another instance`,
      );
      waiting++;
      continue;
    }
    if (!deps.poster) {
      errors.push(`${left} message(s) to the ${channelName(channel)} wait: this instance cannot post to channels`);
      return { sent, waiting: waiting + left, posted: sent };
    }
    const content = render(message, channel, notices as Notice[], deps, current);
    await deps.probe?.('sending');
    try {
      await deps.poster.post(channel, content, { idempotencyKey: message.key, abortSignal: limits.deadline.signal });
      deps.log.info(`posted to the ${channelName(channel)}: ${content.summary}`);
    } catch (error) {
      const text = `posting "${content.summary}" to the ${channelName(channel)} failed, will retry next cycle: ${(error as Error).message}`;
      errors.push(text);
      deps.log.error(text);
      await deps.state.updatePlanned({ ...message, failedAttempts: message.failedAttempts + 1 });
      // Down, refusing or set up wrong: its other messages would fail the same way, and wait with it.
      return { sent, waiting: waiting + left, posted: sent };
    }
    sent++;
    onSent();
    await deps.probe?.('sent');
    await recordSent(message, current, deps);
    await deps.state.donePlanned(message.key);
    await deps.probe?.('recorded');
  }
  return { sent, waiting, posted: sent };
}
