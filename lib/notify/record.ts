import { mapLimit } from '../util/map-limit';
import type { AlertRecord, NotificationItem, PlannedMessage } from '../model';
import { ConcurrentUpdateError } from '../store/alert-store';
import { afterSent } from '../dispatch/dedup';
import type { AlertStore } from '../store/alert-store';

/**
 * The record step of delivery, for every channel: once a message went out, each of its notices is
 * written into its alert's notification log (the route's, or the route's channel's), so it is never
 * planned again.
 */

/** What recording takes: the alerts to write the notices into, and the time. */
export interface RecordDeps {
  alerts: Pick<AlertStore, 'save' | 'saveMany' | 'get'>;
  clock: () => Date;
}

/** Writes each notice into its alert's route log, re-reading the alert if another instance moved it. */
export async function recordSent(
  email: PlannedMessage,
  current: Map<string, AlertRecord>,
  deps: RecordDeps,
): Promise<void> {
  const sentAt = deps.clock().toISOString();
  // Every notice of the email written into its alert's log, then the alerts saved together.
  const updated = new Map<string, AlertRecord>();
  for (const item of email.items) {
    const alert = updated.get(item.fingerprint) ?? current.get(item.fingerprint);
    if (alert) updated.set(item.fingerprint, afterSent(alert, item, sentAt));
  }
  const records = [...updated.values()];
  const results = await deps.alerts.saveMany(records);
  await mapLimit(
    records.map((record, i) => ({ record, result: results[i] })),
    8,
    async ({ record, result }) => {
      if (!(result instanceof Error)) {
        current.set(record.fingerprint, result as AlertRecord);
        return;
      }
      // Moved by someone else since it was read: record the notices on the row as it is now.
      const items = email.items.filter((item) => item.fingerprint === record.fingerprint);
      let alert = current.get(record.fingerprint) as AlertRecord;
      for (const item of items) alert = await saveWithRetry(alert, item, sentAt, deps);
      current.set(record.fingerprint, alert);
    },
  );
}

async function saveWithRetry(
  alert: AlertRecord,
  item: NotificationItem,
  sentAt: string,
  deps: RecordDeps,
): Promise<AlertRecord> {
  try {
    return await deps.alerts.save(afterSent(alert, item, sentAt));
  } catch (error) {
    if (!(error instanceof ConcurrentUpdateError)) throw error;
    const fresh = await deps.alerts.get(alert.labels.tenantId, alert.fingerprint);
    if (!fresh) throw error;
    return deps.alerts.save(afterSent(fresh, item, sentAt));
  }
}
