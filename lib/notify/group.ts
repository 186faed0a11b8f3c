import { createHash } from 'node:crypto';
import type { Route } from '../config/policy';
import type { NotificationItem, PlannedChannel, Recipients } from '../model';

export interface EmailGroup {
  recipients: Recipients;
  items: NotificationItem[];
  /** The channel of one route the group goes to instead of an email. */
  channel?: PlannedChannel;
}

const KIND_ORDER = { firing: 0, changed: 1, reminder: 2, resolved: 3 } as const;

function recipientKey(r: Recipients): string {
  const norm = (list: string[] | undefined) => [...new Set((list ?? []).map((a) => a.toLowerCase()))].sort().join(',');
  return `${norm(r.to)}|${norm(r.cc)}`;
}

/**
 * Groups one cycle's notices into one email per recipient set (ACS allows few emails a minute, and
 * one email about three jobs is easier to act on than three), and into one message per channel of a
 * route (a Teams card, a webhook post), with resolved notices in an email (or message) of
 * their own: a subject never mixes new and resolved alerts, so mail rules can tell them apart. An
 * alert that ended badly (`endedBadly`: a quarantine that ended because Entra disabled the job) is
 * no good news: it stays with the open alerts, beside the alert that says what happened instead.
 * Within an email: new alerts first, then changes, then reminders.
 */
export function groupByRecipients(
  notices: { item: NotificationItem; route: Route }[],
  endedBadly: (item: NotificationItem) => boolean = () => false,
): EmailGroup[] {
  const groups = new Map<string, EmailGroup>();
  for (const { item, route } of notices) {
    const recipients: Recipients = { to: route.to, cc: route.cc.length ? route.cc : undefined };
    const goodNews = item.kind === 'resolved' && !endedBadly(item);
    // A channel's notices go to that channel of that route; emails to a recipient set.
    const destination = route.channel ? `channel:${route.id}` : recipientKey(recipients);
    const key = `${destination}|${goodNews ? 'resolved' : 'open'}`;
    const group: EmailGroup = groups.get(key) ?? {
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

/** The items of an email to render: one per alert and kind, even when two routes to the same people matched. */
export function uniqueForRendering(items: NotificationItem[]): NotificationItem[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const key = `${i.fingerprint}:${i.kind}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Idempotency key of an email: the same notices always make the same key. */
export function emailKey(items: NotificationItem[]): string {
  const keys = items.map((i) => i.key).sort();
  return createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 40);
}

/**
 * Most alerts in one email: a reader can act on 50, and 50 bounded sections stay far below ACS's
 * 10 MB per message (docs/reference/platform-notes.md §4.4). A mass incident of 1,000 alerts is
 * then 20 emails, sent within the send budget over as many cycles as it takes.
 */
export const MAX_ALERTS_PER_EMAIL = 50;

/**
 * One group's items in parts of at most `max` alerts each, every part a complete email (an alert's
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

/**
 * Most alerts in one Teams card: Workflows refuses a card over 28 KB (docs/reference: Teams message
 * size limit), and ten full sections of bounded text stay inside it (the card is made more compact
 * at send time if they do not; lib/notify/channels/teams.ts).
 */
export const MAX_ALERTS_PER_TEAMS_CARD = 10;

/** Most alerts in one message of a channel: the same 50 as an email for webhooks, fewer for a Teams card. */
export function maxAlertsPerMessage(channel: PlannedChannel | undefined): number {
  return channel?.type === 'teams' ? MAX_ALERTS_PER_TEAMS_CARD : MAX_ALERTS_PER_EMAIL;
}
