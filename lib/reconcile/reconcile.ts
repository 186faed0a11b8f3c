import type { Finding } from '../evaluate/types';
import type { AlertLabels } from '../evaluate/types';
import type { AlertRecord, NotificationKind, PendingNotification } from './types';

export interface ReconcileInput {
  /** Every stored alert, by fingerprint. */
  stored: Map<string, AlertRecord>;
  /** What the rules found this cycle. */
  findings: Finding[];
  /** Whether an existing alert can be judged this cycle (false = hold it as it was). */
  inView: (labels: AlertLabels) => boolean;
  now: Date;
}

/** The alerts whose stored row must change this cycle (new state, annotations or outbox). */
export interface ReconcileResult {
  changed: AlertRecord[];
}

export function notificationKey(fingerprint: string, kind: NotificationKind, startsAt: string): string {
  return `${fingerprint}:${kind}:${startsAt}`;
}

function enqueue(record: AlertRecord, kind: NotificationKind, now: string): PendingNotification[] {
  const key = notificationKey(record.fingerprint, kind, record.startsAt ?? now);
  if (record.outbox.some((n) => n.key === key)) return record.outbox;
  return [...record.outbox, { kind, key, createdAt: now, startsAt: record.startsAt, endsAt: record.endsAt }];
}

/**
 * The alert lifecycle, pure over stored state and the clock: a finding makes an alert pending or
 * firing; a firing alert notifies once when it starts and once when it resolves; while it keeps
 * firing only its annotations change. Alerts not in view are left exactly as they are.
 */
export function reconcile({ stored, findings, inView, now }: ReconcileInput): ReconcileResult {
  const at = now.toISOString();
  const changed: AlertRecord[] = [];
  const found = new Set<string>();

  for (const f of findings) {
    found.add(f.fingerprint);
    const previous = stored.get(f.fingerprint);
    const base: AlertRecord = previous
      ? { ...previous, labels: f.labels, severity: f.severity, annotations: f.annotations, lastSeenAt: at }
      : { fingerprint: f.fingerprint, labels: f.labels, severity: f.severity, state: 'pending', annotations: f.annotations, lastSeenAt: at, outbox: [] };

    if (previous?.state === 'firing') {
      changed.push(base);
      continue;
    }
    const seen = previous?.state === 'pending' ? (previous.pendingCount ?? 0) + 1 : 1;
    if (seen > f.pendingCycles) {
      const firing: AlertRecord = { ...base, state: 'firing', startsAt: at, endsAt: undefined, pendingCount: undefined };
      firing.outbox = enqueue(firing, 'firing', at);
      changed.push(firing);
    } else {
      changed.push({ ...base, state: 'pending', pendingCount: seen });
    }
  }

  for (const record of stored.values()) {
    if (found.has(record.fingerprint) || record.state === 'resolved') continue;
    if (!inView(record.labels)) continue;
    if (record.state === 'pending') {
      changed.push({ ...record, state: 'resolved', pendingCount: undefined });
      continue;
    }
    const resolved: AlertRecord = { ...record, state: 'resolved', endsAt: at };
    resolved.outbox = enqueue(resolved, 'resolved', at);
    changed.push(resolved);
  }
  return { changed };
}
