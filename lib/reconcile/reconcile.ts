import type { Acknowledgement, AlertLabels, AlertRecord, EndReason, Finding, Severity } from '../model';
import { standingAcknowledgement } from '../model/acknowledgement';

export interface ReconcileInput {
  /** Every stored alert, by fingerprint. */
  stored: Map<string, AlertRecord>;
  /** What the rules found this cycle. */
  findings: Finding[];
  /** Whether an existing alert can be judged this cycle (false = hold it as it was). */
  inView: (labels: AlertLabels) => boolean;
  /** How long an alert keeps firing after its condition was last seen (flap damping). */
  keepFiringForMs?: (labels: AlertLabels) => number;
  /**
   * For an alert in view without a finding: why it ends, when not by its condition clearing (its
   * configuration is confirmed gone, its tenant is no longer watched). It then ends at once, with that reason.
   */
  endReasonOf?: (labels: AlertLabels) => EndReason | undefined;
  /** For an alert not in view: since when its configuration has been missing from Graph's reads, while that is confirmed. */
  missingSinceOf?: (labels: AlertLabels) => string | undefined;
  now: Date;
}

/** The alerts whose stored row must change this cycle. */
export interface ReconcileResult {
  changed: AlertRecord[];
}

function fromFinding(f: Finding, previous: AlertRecord | undefined, at: string): AlertRecord {
  const base = previous ?? { fingerprint: f.fingerprint, state: 'pending' as const, notified: {} };
  return {
    ...base,
    labels: f.labels,
    severity: f.severity,
    annotations: f.annotations,
    material: f.material,
    lastSeenAt: at,
    endReason: undefined,
    missingSince: undefined,
  };
}

const URGENCY: Record<Severity, number> = { critical: 0, warning: 1 };

/**
 * The acknowledgement of a firing alert after this cycle's finding: a change worth telling at once
 * (a new material: reason, error code, threshold tier) or a more urgent severity clears it, so
 * reminders and escalation resume until someone acknowledges the alert as it is now. The cleared
 * record stays, so the change notice can say who had acknowledged it.
 */
function acknowledgementAfter(previous: AlertRecord, f: Finding, at: string): Acknowledgement | undefined {
  const ack = standingAcknowledgement(previous);
  if (!ack) return previous.acknowledged;
  if ((f.material ?? '') !== (previous.material ?? ''))
    return { ...ack, cleared: { at, why: 'the alert changed (a new reason or error code)' } };
  if (URGENCY[f.severity] < URGENCY[previous.severity])
    return { ...ack, cleared: { at, why: `its severity rose to ${f.severity}` } };
  return ack;
}

/**
 * The alert lifecycle (Alertmanager's): inactive → pending → firing → resolved, per fingerprint,
 * pure over stored state and the clock. A finding makes an alert pending, then firing once it has
 * been seen `pendingCycles + 1` times; while firing only its annotations change; when the condition
 * is gone (and stays gone for `keepFiringFor`) it resolves; one that ends for another reason (its
 * configuration gone, its tenant no longer watched) ends at once and keeps the reason. Alerts not
 * in view are left as they are (but for whether their configuration is being confirmed missing).
 * Which notices that causes is decided later, per route (dispatch, dedup).
 */
export function reconcile({
  stored,
  findings,
  inView,
  keepFiringForMs,
  endReasonOf,
  missingSinceOf,
  now,
}: ReconcileInput): ReconcileResult {
  const at = now.toISOString();
  const changed: AlertRecord[] = [];
  const found = new Set<string>();

  for (const f of findings) {
    found.add(f.fingerprint);
    const previous = stored.get(f.fingerprint);
    const record = fromFinding(f, previous, at);
    if (previous?.state === 'firing') {
      changed.push({ ...record, acknowledged: acknowledgementAfter(previous, f, at) });
      continue;
    }
    const seen = previous?.state === 'pending' ? (previous.pendingCount ?? 0) + 1 : 1;
    // A new firing period starts with nobody on it: the last period's acknowledgement ended with it.
    changed.push(
      seen > f.pendingCycles
        ? {
            ...record,
            state: 'firing',
            startsAt: at,
            endsAt: undefined,
            pendingCount: undefined,
            acknowledged: undefined,
          }
        : { ...record, state: 'pending', pendingCount: seen },
    );
  }

  for (const record of stored.values()) {
    if (found.has(record.fingerprint) || record.state === 'resolved') continue;
    if (!inView(record.labels)) {
      // Held as it was; only whether its configuration is being confirmed missing may change.
      const missingSince = missingSinceOf?.(record.labels);
      if (missingSince !== record.missingSince) changed.push({ ...record, missingSince });
      continue;
    }
    const endReason = endReasonOf?.(record.labels);
    const ended = { endReason, missingSince: undefined };
    if (record.state === 'pending') {
      changed.push({ ...record, ...ended, state: 'resolved', pendingCount: undefined });
      continue;
    }
    const keep = endReason ? 0 : (keepFiringForMs?.(record.labels) ?? 0);
    const lastSeen = record.lastSeenAt ? Date.parse(record.lastSeenAt) : 0;
    if (keep > 0 && now.getTime() - lastSeen < keep) continue;
    changed.push({ ...record, ...ended, state: 'resolved', endsAt: at });
  }
  return { changed };
}
