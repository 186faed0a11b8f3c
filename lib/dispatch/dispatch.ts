import type { Policy, Route } from '../model/policy';
import { inhibitedBy } from '../inhibit/inhibit';
import { neededNotifications, type NotificationItem } from './dedup';
import type { AlertDecision, AlertRecord } from '../model';
import { silencedBy } from '../silence/silence';
import { matchLabelsOf, receiversOf, routesFor } from './route';

interface RoutedNotice {
  item: NotificationItem;
  route: Route;
}

export interface DispatchResult {
  notices: RoutedNotice[];
  /** Alerts that would have notified but are muted, and why (for the log and the status view). */
  muted: { alert: AlertRecord; reason: string }[];
}

/**
 * The notification pipeline's pure half, Alertmanager's stages in order: route each alert through
 * the tree, drop what another alert inhibits or a silence or maintenance window mutes, and keep
 * only what each route (its email and each of its channels) still needs to hear (dedup against its log and against emails already
 * planned but not yet sent). Decisions made from an alert's messages (`decisions`, by fingerprint)
 * become decided notices, never muted.
 */
export function dispatch(
  alerts: AlertRecord[],
  policy: Policy,
  now: Date,
  alreadyPlanned: Set<string>,
  decisions: Map<string, AlertDecision[]> = new Map(),
): DispatchResult {
  const firing = alerts.filter((a) => a.state === 'firing');
  const notices: RoutedNotice[] = [];
  const muted: DispatchResult['muted'] = [];
  for (const alert of alerts) {
    if (alert.state === 'pending' || !alert.startsAt) continue;
    const labels = matchLabelsOf(alert, policy.tenantNames);
    const wanted = routesFor(policy.route, labels)
      .flatMap(receiversOf)
      .flatMap((route) =>
        neededNotifications(alert, route, now, decisions.get(alert.fingerprint)).map((item) => ({ route, item })),
      )
      .filter((n) => !alreadyPlanned.has(n.item.key));
    if (wanted.length === 0) continue;
    // Someone decided from the alert's message: its routes hear of it even while it is muted.
    notices.push(...wanted.filter((n) => n.item.kind === 'decided'));
    const told = wanted.filter((n) => n.item.kind !== 'decided');
    if (told.length === 0) continue;
    const reason = inhibitedBy(alert, firing) ?? silencedBy(labels, policy, now)?.description;
    if (reason) {
      muted.push({ alert, reason });
      continue;
    }
    notices.push(...told);
  }
  return { notices, muted };
}
