import { createHash } from 'node:crypto';
import type { Route } from '../model/policy';
import type { NotificationItem, PlannedChannel, Recipients } from '../model';
import { channelOf } from './channels';
import { MAX_ALERTS_PER_EMAIL } from './channels/email';

export interface MessageGroup {
  recipients: Recipients;
  items: NotificationItem[];
  /** The channel of one route the group goes to instead of an email. */
  channel?: PlannedChannel;
}

const KIND_ORDER = { firing: 0, escalation: 1, changed: 2, decided: 3, reminder: 4, resolved: 5 } as const;

/**
 * Groups one cycle's notices into messages as each channel groups them (lib/notify/channels/): one
 * email per recipient set (ACS allows few emails a minute, and one email about three jobs is easier
 * to act on than three), one message per channel of a route (a Teams card, a webhook post), with
 * resolved notices in a message of their own: a subject never mixes new and resolved alerts, so mail
 * rules can tell them apart. An alert that ended badly (`endedBadly`: a quarantine that ended because
 * Entra disabled the job) is no good news: it stays with the open alerts, beside the alert that says
 * what happened instead; a decided notice is about an open alert too. Within a message: new alerts
 * first, then escalations, changes, decisions, then reminders.
 */
export function groupNotices(
  notices: { item: NotificationItem; route: Route }[],
  endedBadly: (item: NotificationItem) => boolean = () => false,
): MessageGroup[] {
  const groups = new Map<string, MessageGroup>();
  for (const { item, route } of notices) {
    const recipients: Recipients = { to: route.to, cc: route.cc.length ? route.cc : undefined };
    const goodNews = item.kind === 'resolved' && !endedBadly(item);
    // Each channel says which notices share a message; by default, those of one route's channel.
    const destination = channelOf(route.channel)?.groupKey?.(route) ?? `channel:${route.id}`;
    const key = `${destination}|${goodNews ? 'resolved' : 'open'}`;
    const group: MessageGroup = groups.get(key) ?? {
      recipients,
      items: [],
      ...(route.channel ? { channel: { ...route.channel, receiver: route.id } } : {}),
    };
    // Every route's item is kept (each route's log records it); rendering shows each alert once.
    group.items.push(item);
    groups.set(key, group);
  }
  for (const group of groups.values()) {
    group.items.sort(
      (a, b) =>
        KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.startsAt.localeCompare(b.startsAt) || a.key.localeCompare(b.key),
    );
  }
  return [...groups.values()];
}

/** Idempotency key of a message: the same notices always make the same key. */
export function messageKey(items: NotificationItem[]): string {
  const keys = items.map((i) => i.key).sort();
  return createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 40);
}

/**
 * One group's items in parts of at most `max` alerts each, every part a complete message (an alert's
 * items for several routes stay together). One part when they fit.
 */
export function splitIntoParts(items: NotificationItem[], max = MAX_ALERTS_PER_EMAIL): NotificationItem[][] {
  const byAlert = new Map<string, NotificationItem[]>();
  for (const item of items) {
    const key = `${item.fingerprint}:${item.kind}`;
    byAlert.set(key, [...(byAlert.get(key) ?? []), item]);
  }
  const alerts = [...byAlert.values()];
  const parts: NotificationItem[][] = [];
  for (let i = 0; i < alerts.length; i += max) parts.push(alerts.slice(i, i + max).flat());
  return parts;
}

/** Most alerts in one message of a channel (the route's own, email, for none); a channel no longer registered gets one a message. */
export function maxAlertsPerMessage(channel: PlannedChannel | undefined): number {
  return channelOf(channel)?.limits.alertsPerMessage ?? 1;
}
