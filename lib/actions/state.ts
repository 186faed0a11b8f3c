import { createHash } from 'node:crypto';
import type { AlertRecord } from '../model';
import type { JobSnapshot } from '../model/observation';
import { formatTime } from '../util/text';

/**
 * The state a decision is about, so that a link acts only on what its message described. A link
 * binds the hash of the state its alert was sent about; before a page offers an action, and again
 * before it acts, the state is worked out anew from Graph's job (read then) and the alert as the
 * last cycle stored it, and a different hash refuses the action as stale.
 *
 * What counts: whether the job is quarantined, the quarantine reason and when its series began
 * (a new trip begins a new series; Entra's re-evaluations within one series do not count, or a
 * link would go stale every few hours while nothing changed), and for a deletion hold the number
 * of held deletes (from the provisioning logs, as of the last cycle: another count means Entra now
 * holds other deletes than the ones the message named).
 */

export interface DecisionState {
  quarantined: boolean;
  reason?: string;
  /** When the quarantine series began (ISO). */
  series?: string;
  /** Held deletes, when known. */
  held?: number;
}

/** The state as the alert record says (the annotations the rule stored), for a link made with its message. */
export function stateOfAlert(alert: AlertRecord): DecisionState {
  const n = alert.annotations;
  if (alert.labels.condition !== 'quarantine' && alert.labels.condition !== 'deletion-threshold')
    return { quarantined: false };
  return {
    quarantined: true,
    ...(typeof n.reason === 'string' ? { reason: n.reason } : {}),
    ...(typeof (n.seriesBegan ?? n.currentBegan) === 'string'
      ? { series: String(n.seriesBegan ?? n.currentBegan) }
      : {}),
    ...(alert.labels.condition === 'deletion-threshold' && typeof n.heldDeletes === 'number'
      ? { held: n.heldDeletes }
      : {}),
  };
}

/**
 * The state now: the job as Graph returns it this moment, the held count as the last cycle stored
 * it on the alert. Alerts not about a quarantine (failures) bind no job state: their link stays
 * good while the alert fires.
 */
export function stateNow(alert: AlertRecord, job: JobSnapshot): DecisionState {
  if (alert.labels.condition !== 'quarantine' && alert.labels.condition !== 'deletion-threshold')
    return { quarantined: false };
  const q = job.quarantine;
  if (job.status.known !== 'Quarantine' || !q) return { quarantined: false };
  const series = q.seriesBegan ?? q.currentBegan;
  const held = alert.annotations.heldDeletes;
  return {
    quarantined: true,
    reason: q.reason.known ?? (q.reason.raw || 'not given by Graph'),
    ...(series ? { series: series.toISOString() } : {}),
    ...(alert.labels.condition === 'deletion-threshold' &&
    q.reason.known === 'TooManyDeletes' &&
    typeof held === 'number'
      ? { held }
      : {}),
  };
}

/**
 * 22 base64url characters of SHA-256 over the job's side of the state: what a link binds as `h`.
 * The held count is bound beside it, in clear (`n`), and only when the message knew it: a count
 * the logs gave only after the message was sent is no change the person missed.
 */
export function stateHash(state: DecisionState): string {
  const text = JSON.stringify([state.quarantined, state.reason ?? '', state.series ?? '']);
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** Whether the state now is still the one a link was made for: its hash, and its held count when it named one. */
export function sameState(bound: { hash: string; held: string }, now: DecisionState): boolean {
  if (stateHash(now) !== bound.hash) return false;
  return bound.held === '' || String(now.held ?? '') === bound.held;
}

/** The state in words: `quarantined (TooManyDeletes) since 27 Nov 03:10 UTC, 612 deletes held`. */
export function describeState(state: DecisionState): string {
  if (!state.quarantined) return 'not quarantined';
  const parts = [`quarantined (${state.reason ?? 'no reason given'})`];
  if (state.series) parts.push(`since ${formatTime(state.series)}`);
  const words = parts.join(' ');
  return state.held !== undefined ? `${words}, ${state.held} deletes held` : words;
}
