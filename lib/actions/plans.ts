import type { AlertRecord } from '../model';
import type { ActionName } from '../settings/actions';

/**
 * What can be decided from which alert, and what each decision asks of Graph. The reset scopes
 * follow Microsoft's documentation of `synchronizationJobRestartCriteria` and the research memo
 * (notes §6.3):
 *
 * - Approve held deletes: `ForceDeletes` alone ("forces the system to delete the pending deleted
 *   users when using the accidental deletions prevention feature and the deletion threshold is
 *   exceeded"; the Cloud Sync how-to: "restart with just ForceDeletes as the scope"). It is the
 *   portal's "Allow deletes".
 * - Re-evaluate after fixing the cause of a deletion hold: `Watermark, Escrows, QuarantineState`,
 *   which is what the portal's "Restart provisioning" does (an empty scope "is similar to setting
 *   the resetScope to include QuarantineState, Watermark, and Escrows"). QuarantineState lifts the
 *   quarantine; Watermark makes Entra evaluate every object again instead of the changes since the
 *   watermark, so the pending deletes are computed afresh from the fixed scope or assignments;
 *   Escrows restarts the failure counter that leads to quarantine. Never ForceDeletes (it runs the
 *   held deletes), never `Full` (it includes ConnectorDataStore, "DO NOT USE"). If the cause was not
 *   fixed, the threshold trips again on the next cycle: the worst case is a new alert, not a delete.
 * - Retry a quarantined job: `QuarantineState` ("temporarily lifts the quarantine"); for the
 *   escrow thresholds also `Escrows` (the accrued failures would quarantine it again at once) and
 *   `Watermark` (cleared escrows are not retried by themselves, so every object is evaluated again),
 *   as the quarantine runbooks say: fix the errors, then restart.
 * - Verify one user: `provisionOnDemand` for one object, never for a deletion hold (it could carry
 *   out that object's held delete).
 */

export type ActionCall = 'restart' | 'provisionOnDemand';

export interface ActionPlan {
  name: ActionName;
  /** The button on the decision page. */
  label: string;
  call: ActionCall;
  resetScope?: string;
  /** What it does, in one or two sentences, for the confirmation page and the audit. */
  does: string;
  /** Said before the button on the confirmation page. */
  warning?: string;
  /** How the notice to the alert's routes words it: `Deletes approved`. */
  noticeTitle: string;
}

export const FORCE_DELETES = 'ForceDeletes';
const NOTICE_TITLE_APPROVE = 'Deletes approved';
const NOTICE_TITLE_RETRY = 'Retried';
export const RE_EVALUATE_SCOPE = 'Watermark, Escrows, QuarantineState';
const ESCROW_REASONS = new Set([
  'EncounteredBaseEscrowThreshold',
  'EncounteredTotalEscrowThreshold',
  'EncounteredEscrowProportionThreshold',
]);

/** The reset scope of "retry now" for a quarantine reason. */
export function retryScope(reason: string | undefined): string {
  return reason && ESCROW_REASONS.has(reason) ? 'QuarantineState, Escrows, Watermark' : 'QuarantineState';
}

function approve(held: string): ActionPlan {
  return {
    name: 'approve-deletes',
    label: 'Approve the held deletes',
    call: 'restart',
    resetScope: FORCE_DELETES,
    does: `Entra deletes or disables the ${held} it is holding in the target, and the job leaves quarantine.`,
    warning: 'This cannot be undone from here: deleted objects must be restored in the target tenant or app.',
    noticeTitle: NOTICE_TITLE_APPROVE,
  };
}

const RE_EVALUATE: ActionPlan = {
  name: 're-evaluate',
  label: 'Reject: re-evaluate after fixing the cause',
  call: 'restart',
  resetScope: RE_EVALUATE_SCOPE,
  does: 'Entra lifts the quarantine and evaluates every object again from the start (a full cycle, slower than usual), so the deletes are worked out afresh from the fixed scoping or assignments. The held deletes are not run.',
  warning:
    'Fix the cause first (assignments, scoping filters, source objects). If it is not fixed, the threshold trips again on the next cycle and you get a new alert.',
  noticeTitle: 'Deletes rejected, job re-evaluating',
};

function retry(reason: string | undefined): ActionPlan {
  const scope = retryScope(reason);
  return {
    name: 'retry',
    label: 'Retry now',
    call: 'restart',
    resetScope: scope,
    does:
      scope === 'QuarantineState'
        ? 'Entra lifts the quarantine and runs the job again now instead of at its next retry.'
        : 'Entra lifts the quarantine, clears the failures that counted toward it and evaluates every object again (a full cycle, slower than usual).',
    warning: 'Fix the cause first; if it is not fixed, Entra quarantines the job again.',
    noticeTitle: NOTICE_TITLE_RETRY,
  };
}

const VERIFY_USER: ActionPlan = {
  name: 'verify-user',
  label: 'Verify one user',
  call: 'provisionOnDemand',
  does: "Entra provisions one object now with the job's rules (provision on demand) and shows each step: import, matching, scoping, export. The job itself is not restarted.",
  warning: 'The object is changed in the target as the rules say, as in a normal cycle.',
  noticeTitle: 'One user verified',
};

/** The held count as words: `612 objects`. */
function heldWords(alert: AlertRecord): string {
  const n = alert.annotations.heldDeletes;
  if (typeof n !== 'number') return 'objects';
  return `${alert.annotations.heldCapped ? 'at least ' : ''}${n} object${n === 1 ? '' : 's'}`;
}

/** The decisions an alert offers, of those turned on, in the order the page shows them. */
export function plansFor(alert: AlertRecord, enabled: readonly ActionName[]): ActionPlan[] {
  const reason = typeof alert.annotations.reason === 'string' ? alert.annotations.reason : undefined;
  const all: ActionPlan[] =
    alert.labels.jobId === '-' || alert.labels.servicePrincipalId === '-'
      ? []
      : alert.labels.condition === 'deletion-threshold'
        ? [approve(heldWords(alert)), RE_EVALUATE]
        : alert.labels.condition === 'quarantine'
          ? [retry(reason), VERIFY_USER]
          : alert.labels.condition === 'provisioning-failures' || alert.labels.condition === 'job-failing'
            ? [VERIFY_USER]
            : [];
  return all.filter((plan) => enabled.includes(plan.name));
}

/** How a notice titles each decision (the plan's noticeTitle, known without the alert). */
export const NOTICE_TITLES: Record<ActionName, string> = {
  'approve-deletes': NOTICE_TITLE_APPROVE,
  're-evaluate': RE_EVALUATE.noticeTitle,
  retry: NOTICE_TITLE_RETRY,
  'verify-user': VERIFY_USER.noticeTitle,
};
