import { createHash } from 'node:crypto';
import type { Route } from '../model/policy';
import type { AlertDecision, AlertRecord, DecisionNote, NotificationItem, NotificationKind, RouteLog } from '../model';
import { acknowledgementOf, standingAcknowledgement, unacknowledgedSince } from '../model/acknowledgement';

export type { NotificationItem } from '../model';

function item(
  alert: AlertRecord,
  route: Route,
  kind: NotificationKind,
  reminder?: number,
  previous?: RouteLog,
): NotificationItem {
  const previousAt = previous?.lastAt;
  const startsAt = alert.startsAt as string;
  let suffix = reminder !== undefined ? `:${reminder}` : '';
  // A change is keyed by the material it tells of and the notice it follows, so a material that
  // comes back (A, B, A, B) makes a new notice each time rather than the key of an earlier one.
  if (kind === 'changed')
    suffix = `:${createHash('sha256')
      .update(`${alert.material ?? ''}\n${previousAt ?? ''}`)
      .digest('hex')
      .slice(0, 16)}`;
  return {
    key: `${alert.fingerprint}:${route.id}:${kind}:${startsAt}${suffix}`,
    fingerprint: alert.fingerprint,
    routeId: route.id,
    kind,
    startsAt,
    endsAt: kind === 'resolved' ? alert.endsAt : undefined,
    reminder,
    material: kind === 'resolved' ? undefined : alert.material,
    previousMaterial: kind === 'changed' ? previous?.material : undefined,
  };
}

/**
 * What an escalation step's receiver needs to hear about a firing alert: its escalation notice,
 * once per firing period, when the alert is of a severity the step takes and has been firing with
 * nobody on it (no standing acknowledgement) for the step's delay. Never while an acknowledgement
 * holds; an acknowledgement cleared by a change counts from the change.
 */
function escalationNeeded(alert: AlertRecord, receiver: Route, now: Date): NotificationItem | undefined {
  const step = receiver.escalation as NonNullable<Route['escalation']>;
  if (step.severities && !step.severities.includes(alert.severity)) return undefined;
  const since = unacknowledgedSince(alert);
  if (since === undefined || now.getTime() < Date.parse(since) + step.afterMs) return undefined;
  return {
    ...item(alert, receiver, 'escalation'),
    escalation: { step: step.step, afterMs: step.afterMs, unacknowledgedSince: since },
  };
}

/**
 * What a route needs to hear about an alert now, from the alert's state and the route's log
 * (Alertmanager's DedupStage): the firing notice of a period it has not heard of; a change notice
 * at once when the alert's material (a quarantine reason, an error code) differs from what the
 * route was told; a reminder once the repeat interval has passed since the last notice; the
 * resolved notice of a period it was told about. Muted alerts (silenced, inhibited) need nothing; their log is untouched, so they
 * notify when the mute ends if there is still something to say.
 */
export function neededNotification(alert: AlertRecord, route: Route, now: Date): NotificationItem | undefined {
  if (!alert.startsAt) return undefined;
  const log = alert.notified[route.id];
  const sameLog = log !== undefined && log.startsAt === alert.startsAt;
  if (alert.state === 'firing') {
    // An escalation step's receiver hears of a period once, when it escalates; then only its end.
    if (route.escalation) return sameLog ? undefined : escalationNeeded(alert, route, now);
    if (!sameLog) return item(alert, route, 'firing');
    if (log.resolved) return undefined;
    // A log written before materials were recorded has none: nothing to compare, so no change notice.
    if (log.material !== undefined && (alert.material ?? '') !== log.material)
      return item(alert, route, 'changed', undefined, log);
    // Someone is on it: no reminders on any route or channel until a change clears it or the alert ends.
    if (standingAcknowledgement(alert)) return undefined;
    const due = Date.parse(log.lastAt) + route.repeatMs[alert.severity];
    return now.getTime() >= due ? item(alert, route, 'reminder', log.reminders + 1) : undefined;
  }
  if (alert.state === 'resolved' && route.sendResolved && sameLog && !log.resolved)
    return item(alert, route, 'resolved');
  return undefined;
}

/** The decision as a notice keeps it (without the alert's identity, which the notice has). */
function noteOf(decision: AlertDecision): DecisionNote {
  const { linkId, title, by, at, detail } = decision;
  return { linkId, title, by, at, detail };
}

/**
 * The decided notices a route needs about an alert's current period: one per decision made from
 * its messages (lib/actions/) the route was not told of. Only to a route that heard of the period
 * (a decision means nothing to one that never heard of the alert), and while the alert fires: once
 * it ended, its resolved notice names who decided instead.
 */
function neededDecisions(alert: AlertRecord, route: Route, decisions: AlertDecision[]): NotificationItem[] {
  const log = alert.notified[route.id];
  if (alert.state !== 'firing' || !alert.startsAt || !log || log.startsAt !== alert.startsAt || log.resolved) return [];
  const told = new Set(log.decisions ?? []);
  return decisions
    .filter((d) => d.startsAt === alert.startsAt && !told.has(d.linkId))
    .map((d) => ({
      ...item(alert, route, 'decided'),
      key: `${alert.fingerprint}:${route.id}:decided:${alert.startsAt}:${d.linkId}`,
      material: undefined,
      decisions: [noteOf(d)],
    }));
}

/**
 * Everything a route needs to hear about an alert now: what neededNotification says and, when the
 * alert has started a new period while the route was never told that its previous one ended (that
 * cycle crashed before planning, or the alert was muted then), the resolved notice of that period
 * first. Each period then gets its firing and its resolved notice, even when it flaps.
 */
export function neededNotifications(
  alert: AlertRecord,
  route: Route,
  now: Date,
  decisions: AlertDecision[] = [],
): NotificationItem[] {
  const decided = neededDecisions(alert, route, decisions);
  const withDecisions = (notice: NotificationItem): NotificationItem => {
    if (notice.kind !== 'resolved') return notice;
    const made = decisions.filter((d) => d.startsAt === notice.startsAt).map(noteOf);
    return made.length > 0 ? { ...notice, decisions: made } : notice;
  };
  return [...decided, ...neededPeriodNotifications(alert, route, now).map(withDecisions)];
}

function neededPeriodNotifications(alert: AlertRecord, route: Route, now: Date): NotificationItem[] {
  const next = neededNotification(alert, route, now);
  const log = alert.notified[route.id];
  const unresolved =
    log !== undefined && !log.resolved && alert.startsAt !== undefined && log.startsAt < alert.startsAt;
  // An earlier period ended before the next one began: its end is bounded by the next one's start.
  const endOf = (startsAt: string, endsAt: string): NotificationItem => ({
    ...item({ ...alert, startsAt }, route, 'resolved'),
    endsAt,
  });
  const ended: NotificationItem[] = [];
  if (route.sendResolved && log?.unresolvedBefore) ended.push(endOf(log.unresolvedBefore, log.startsAt));
  if (route.sendResolved && alert.state !== 'pending' && unresolved)
    ended.push(endOf(log.startsAt, alert.startsAt as string));
  return next ? [...ended, next] : ended;
}

/** The route log after a notice went out (a notice of a period older than the one the log is at changes nothing). */
export function afterSent(alert: AlertRecord, notice: NotificationItem, sentAt: string): AlertRecord {
  const previous = alert.notified[notice.routeId];
  if (previous && notice.startsAt < previous.startsAt) {
    // The end of an earlier period the log had to move past (see RouteLog.unresolvedBefore): told now.
    if (notice.kind !== 'resolved' || notice.startsAt !== previous.unresolvedBefore) return alert;
    const { unresolvedBefore: _told, ...log } = previous;
    return { ...alert, notified: { ...alert.notified, [notice.routeId]: log } };
  }
  const same = previous && previous.startsAt === notice.startsAt ? previous : undefined;
  // Moving on from a period the route heard begin and not end (its firing notice went out late,
  // with this one's): that end is still owed, so the new log remembers it.
  const owed = same ? same.unresolvedBefore : previous && !previous.resolved ? previous.startsAt : undefined;
  if (notice.kind === 'decided') {
    // A decision changes neither the reminder clock nor the material the route heard.
    if (!same) return alert;
    const told = [...(same.decisions ?? []), ...(notice.decisions ?? []).map((d) => d.linkId)];
    return {
      ...alert,
      notified: { ...alert.notified, [notice.routeId]: { ...same, decisions: [...new Set(told)].slice(-20) } },
    };
  }
  const log = {
    startsAt: notice.startsAt,
    lastAt: notice.kind === 'resolved' ? (same?.lastAt ?? sentAt) : sentAt,
    reminders:
      notice.kind === 'reminder' ? Math.max(notice.reminder ?? 0, same?.reminders ?? 0) : (same?.reminders ?? 0),
    resolved: notice.kind === 'resolved' || (same?.resolved ?? false),
    material: notice.kind === 'resolved' ? same?.material : (notice.material ?? ''),
    ...(same?.decisions ? { decisions: same.decisions } : {}),
    ...(owed ? { unresolvedBefore: owed } : {}),
  };
  return { ...alert, notified: { ...alert.notified, [notice.routeId]: log } };
}

/**
 * Whether the route log of `alert` shows that `notice` already went out. A notice is planned once
 * (dispatch skips what the outbox holds), but a planner whose lease ran out while its outbox write
 * was still on its way can leave a second plan of a notice another planner has since sent; this
 * tells delivery to drop it. Only what the log proves counts: a notice of a period the log has
 * moved past is kept (the log no longer says).
 */
export function alreadySent(alert: AlertRecord | undefined, notice: NotificationItem): boolean {
  const log = alert?.notified[notice.routeId];
  if (!log || log.startsAt !== notice.startsAt) return false;
  switch (notice.kind) {
    case 'firing':
    case 'escalation':
      // A period's log is written only once a notice of it went out, its firing (or escalation) notice first.
      return true;
    case 'reminder':
      return notice.reminder !== undefined && log.reminders >= notice.reminder;
    case 'changed':
      return log.material !== undefined && log.material === (notice.material ?? '');
    case 'resolved':
      return log.resolved;
    case 'decided':
      return (notice.decisions ?? []).every((d) => (log.decisions ?? []).includes(d.linkId));
  }
}

/**
 * Whether a planned notice has become pointless since it was planned: a reminder or an escalation
 * of a firing period someone has acknowledged since (the acknowledgement still standing). Delivery
 * drops it instead of telling people of an alert somebody is already on.
 */
export function mootByAcknowledgement(alert: AlertRecord | undefined, notice: NotificationItem): boolean {
  if (!alert || (notice.kind !== 'reminder' && notice.kind !== 'escalation')) return false;
  const ack = acknowledgementOf(alert, notice.startsAt);
  return ack !== undefined && !ack.cleared;
}
