import type { AlertLabels, Annotations, Severity } from '../evaluate/types';

export type AlertState = 'pending' | 'firing' | 'resolved';
export type NotificationKind = 'firing' | 'reminder' | 'resolved';

/**
 * What one route was last told about an alert: its notification log entry (Alertmanager's nflog).
 * Kept on the alert's own row, so one ETag guards the alert and what was sent about it.
 */
export interface RouteLog {
  /** The firing period the route was told about. */
  startsAt: string;
  /** When the last firing notice or reminder for that period went out. */
  lastAt: string;
  /** Reminders sent for that period. */
  reminders: number;
  /** Whether its resolved notice went out. */
  resolved: boolean;
}

/** One alert as the store keeps it between cycles. */
export interface AlertRecord {
  fingerprint: string;
  labels: AlertLabels;
  severity: Severity;
  state: AlertState;
  annotations: Annotations;
  /** When the current (or last) firing period began. */
  startsAt?: string;
  /** When the last firing period ended. */
  endsAt?: string;
  /** When the condition was last seen. */
  lastSeenAt?: string;
  /** Consecutive cycles seen while pending. */
  pendingCount?: number;
  /** Notification log per route id. */
  notified: Record<string, RouteLog>;
  /** Optimistic concurrency token of the stored row; undefined for a new alert. */
  etag?: string;
}
