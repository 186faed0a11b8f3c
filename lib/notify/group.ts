import { createHash } from 'node:crypto';
import type { Route } from '../config/policy';
import type { NotificationItem, Recipients } from '../model';

export interface EmailGroup {
  recipients: Recipients;
  items: NotificationItem[];
}

const KIND_ORDER = { firing: 0, changed: 1, reminder: 2, resolved: 3 } as const;

function recipientKey(r: Recipients): string {
  const norm = (list: string[] | undefined) => [...new Set((list ?? []).map((a) => a.toLowerCase()))].sort().join(',');
  return `${norm(r.to)}|${norm(r.cc)}`;
}

/**
 * Groups one cycle's notices into one email per recipient set (ACS allows few emails a minute, and
 * one email about three jobs is easier to act on than three), with resolved notices in an email of
 * their own: a subject never mixes new and resolved alerts, so mail rules can tell them apart. An
 * alert that ended badly (`endedBadly`: a quarantine that ended because Entra disabled the job) is
 * no good news: it stays with the open alerts, beside the alert that says what happened instead.
 * Within an email: new alerts first, then changes, then reminders.
 */
export function groupByRecipients(notices: { item: NotificationItem; route: Route }[], endedBadly: (item: NotificationItem) => boolean = () => false): EmailGroup[] {
  const groups = new Map<string, EmailGroup>();
  for (const { item, route } of notices) {
    const recipients: Recipients = { to: route.to, cc: route.cc.length ? route.cc : undefined };
    const goodNews = item.kind === 'resolved' && !endedBadly(item);
    const key = `${recipientKey(recipients)}|${goodNews ? 'resolved' : 'open'}`;
    const group = groups.get(key) ?? { recipients, items: [] };
    // Every route's item is kept (each route's log records it); rendering shows each alert once.
    group.items.push(item);
    groups.set(key, group);
  }
  for (const group of groups.values()) {
    group.items.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.startsAt.localeCompare(b.startsAt) || a.key.localeCompare(b.key));
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
