import type { Acknowledgement, AlertRecord } from './index';

/**
 * What an alert's acknowledgement means now, for every stage that asks (dispatch, delivery, the
 * status view, the acknowledge page): one reading of the stored record, so they never disagree.
 */

/** The acknowledgement of one firing period of the alert (standing or cleared), if it has one. */
export function acknowledgementOf(alert: AlertRecord, startsAt = alert.startsAt): Acknowledgement | undefined {
  const ack = alert.acknowledged;
  return ack && startsAt !== undefined && ack.startsAt === startsAt ? ack : undefined;
}

/** The acknowledgement that holds for the alert's current firing period (not cleared by a change), if any. */
export function standingAcknowledgement(alert: AlertRecord): Acknowledgement | undefined {
  const ack = acknowledgementOf(alert);
  return ack && !ack.cleared ? ack : undefined;
}

/**
 * Since when the alert has been firing with nobody on it: its firing start, or the moment a change
 * cleared its acknowledgement; undefined while an acknowledgement holds (or before it fired).
 */
export function unacknowledgedSince(alert: AlertRecord): string | undefined {
  if (alert.startsAt === undefined) return undefined;
  const ack = acknowledgementOf(alert);
  if (!ack) return alert.startsAt;
  if (!ack.cleared) return undefined;
  return Date.parse(ack.cleared.at) > Date.parse(alert.startsAt) ? ack.cleared.at : alert.startsAt;
}
