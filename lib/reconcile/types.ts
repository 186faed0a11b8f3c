import type { AlertLabels, Annotations, Severity } from '../evaluate/types';

export type AlertState = 'pending' | 'firing' | 'resolved';
export type NotificationKind = 'firing' | 'resolved';

/** A notification decided by reconcile and not yet confirmed sent: the outbox of an alert. */
export interface PendingNotification {
  kind: NotificationKind;
  /** Idempotency key: the same transition always has the same key, so a retry is never a second email. */
  key: string;
  createdAt: string;
  /** The firing period the notification speaks of (a resolved notice reports how long it lasted). */
  startsAt?: string;
  endsAt?: string;
  /**
   * Sends that ACS accepted and then definitively failed (e.g. EmailDropped). A failed operation
   * cannot be retried under its own Operation-Id, so each such failure moves to a new one.
   */
  failedAttempts?: number;
}

/** One alert as the store keeps it between cycles. */
export interface AlertRecord {
  fingerprint: string;
  labels: AlertLabels;
  severity: Severity;
  state: AlertState;
  annotations: Annotations;
  /** When the current firing period began. */
  startsAt?: string;
  /** When the last firing period ended. */
  endsAt?: string;
  lastSeenAt?: string;
  /** Consecutive cycles seen while pending. */
  pendingCount?: number;
  outbox: PendingNotification[];
  lastNotifiedAt?: string;
  lastNotifiedKind?: NotificationKind;
  /** Optimistic concurrency token of the stored row; undefined for a new alert. */
  etag?: string;
}
