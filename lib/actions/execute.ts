import { LedgerConflict, type LinkLedger } from '../links/ledger';
import type { SignedLink } from '../links/signed-links';
import {
  AUDIT_RETENTION_MS,
  lastAttempt,
  type Actor,
  type Attempt,
  type Decision,
  type DecisionRecord,
  type DecisionStatus,
} from './audit';
import { GraphWriteError, type JobActions, type OnDemandSubject } from './graph-actions';
import type { DecideBinding } from './links';
import type { ActionPlan } from './plans';
import { describeState, stateHash, stateNow } from './state';
import type { AlertRecord } from '../model';

/**
 * Carries out a decision exactly once, whatever stops the process on the way. The order:
 *
 *   1. claim the link: insert the decision's row, status `started`, with who, what, the state seen
 *      (insert-if-absent: of two requests, two instances, one wins; the other reads the row);
 *   2. call Graph, once, with no automatic retry;
 *   3. complete the row with Graph's answer (`done`, `refused`, `unknown`), ETag-conditional.
 *
 * A kill before 1 leaves nothing: the link is unused. A kill between 1 and 3 leaves a `started`
 * row. Whoever comes next (the same POST again, a visit of the link) finds it, and once the row is
 * older than the longest a call can take (IN_FLIGHT_MS) settles it from Graph's job instead of
 * calling again: if the job no longer shows the state the decision was about (the restart lifted
 * the quarantine or ran the deletes), it is `done`; if it shows the same state, the call never took
 * effect and it is `interrupted`, which a person may try again from a page showing the state now.
 * Nothing ever calls restart for a link whose last attempt may have been carried out without first
 * asking Graph. A kill after 3 leaves a complete row; the notice is the notification pipeline's.
 */

/** Longer than a write may take (its timeout is 20 s) and its token request: a `started` row older than this is not in flight. */
export const IN_FLIGHT_MS = 60_000;

/** Named points of the execution, where the crash tests stop the process. */
export type ExecutionPoint = 'claimed' | 'graph-answered' | 'recorded';

export interface ExecuteDeps {
  ledger: LinkLedger;
  graph: JobActions;
  now: () => Date;
  /** Called at each point; a test throws here to play a kill. */
  checkpoint?: (point: ExecutionPoint) => void | Promise<void>;
}

export interface ExecuteRequest {
  link: SignedLink;
  binding: DecideBinding;
  plan: ActionPlan;
  by: Actor;
  /** The alert as stored now, and the job as Graph returned it just before. */
  alert: AlertRecord;
  stateSeenHash: string;
  stateSeen: string;
  heading: string;
  tenantName?: string;
  configuration: string;
  subject?: OnDemandSubject & { name?: string };
  ruleId?: string;
}

export type ExecuteOutcome =
  /** This request carried the decision through (whatever Graph answered): the row as completed. */
  | { kind: 'acted'; decision: Decision }
  /** The link was used: Graph accepted its decision before. */
  | { kind: 'used'; decision: Decision }
  /** Another request is carrying it out right now. */
  | { kind: 'in-progress'; decision: Decision }
  /** A half-done decision was settled from Graph's state, without calling again. */
  | { kind: 'settled'; decision: Decision };

function attemptOf(request: ExecuteRequest, n: number, now: Date): Attempt {
  return {
    n,
    action: request.plan.name,
    call: request.plan.call,
    ...(request.plan.resetScope ? { resetScope: request.plan.resetScope } : {}),
    ...(request.subject ? { subject: request.subject } : {}),
    by: request.by,
    startedAt: now.toISOString(),
    status: 'started',
    stateHash: request.stateSeenHash,
    stateSeen: request.stateSeen,
  };
}

function recordOf(request: ExecuteRequest, attempt: Attempt): DecisionRecord {
  const b = request.binding;
  return {
    v: 1,
    tenantId: b.tenantId,
    ...(request.tenantName ? { tenantName: request.tenantName } : {}),
    fingerprint: b.fingerprint,
    alertStartsAt: b.startsAt,
    condition: b.condition,
    heading: request.heading,
    servicePrincipalId: b.servicePrincipalId,
    jobId: b.jobId,
    configuration: request.configuration,
    status: 'started',
    attempts: [attempt],
  };
}

function withLast(record: DecisionRecord, change: Partial<Attempt> & { status: DecisionStatus }): DecisionRecord {
  const attempts = [...record.attempts];
  attempts[attempts.length - 1] = { ...lastAttempt(record), ...change };
  return { ...record, status: change.status, attempts };
}

/**
 * Settles a decision whose last attempt may or may not have reached Graph (`started` past
 * IN_FLIGHT_MS, or `unknown`), from the job as Graph has it now; never by calling again.
 */
export async function settle(decision: Decision, alert: AlertRecord, deps: ExecuteDeps): Promise<Decision> {
  const last = lastAttempt(decision.record);
  const now = deps.now();
  let status: DecisionStatus;
  let note: string;
  if (last.call !== 'restart') {
    status = 'interrupted';
    note =
      'The monitor stopped before Graph answered, and provisioning one object leaves no trace in the job to tell by. Provisioning it again is harmless: try again.';
  } else {
    const job = await deps.graph.job(decision.record.servicePrincipalId, decision.record.jobId);
    const state = stateNow(alert, job);
    if (stateHash(state) !== last.stateHash) {
      status = 'done';
      note = `Graph's answer was lost, but the job no longer shows the state this decision was about (now: ${describeState(state)}), so it took effect. Nothing was sent again.`;
    } else {
      status = 'interrupted';
      note = `The monitor stopped before Graph answered, and the job still shows the state this decision was about (${describeState(state)}): it did not take effect. Nothing was sent again; you can try again.`;
    }
  }
  const record = withLast(decision.record, { status, note, endedAt: now.toISOString() });
  return deps.ledger.update(decision, record);
}

/** Calls Graph for the last attempt of `decision` and completes its row. */
async function act(decision: Decision, request: ExecuteRequest, deps: ExecuteDeps): Promise<Decision> {
  await deps.checkpoint?.('claimed');
  const { binding, plan } = request;
  let change: Partial<Attempt> & { status: DecisionStatus };
  let result: DecisionRecord['result'];
  try {
    if (plan.call === 'restart') {
      const graph = await deps.graph.restart(binding.servicePrincipalId, binding.jobId, plan.resetScope as string);
      change = { status: 'done', graph };
    } else {
      if (!request.subject || !request.ruleId) throw new Error('provisionOnDemand needs a subject and a rule');
      const answer = await deps.graph.provisionOnDemand(binding.servicePrincipalId, binding.jobId, request.ruleId, {
        objectId: request.subject.objectId,
        objectTypeName: request.subject.objectTypeName,
      });
      change = { status: 'done', graph: answer.answer };
      result = answer.result;
    }
  } catch (error) {
    if (!(error instanceof GraphWriteError)) throw error;
    change = { status: error.outcome, graph: error.answer };
  }
  await deps.checkpoint?.('graph-answered');
  const record = withLast(decision.record, { ...change, endedAt: deps.now().toISOString() });
  const done = await deps.ledger.update(decision, result ? { ...record, result } : record);
  await deps.checkpoint?.('recorded');
  return done;
}

/**
 * Decides: claims the link and acts, or, when the link was used before, says how it stands
 * (settling a half-done decision from Graph first), or starts a new attempt when the last one
 * ended without effect (refused by Graph, interrupted, or unknown and Graph shows no change).
 */
export async function execute(request: ExecuteRequest, deps: ExecuteDeps): Promise<ExecuteOutcome> {
  const now = deps.now();
  let decision = await deps.ledger.get<DecisionRecord>('decide', request.link.id);
  if (!decision) {
    const claim = await deps.ledger.claim('decide', request.link.id, {
      at: now,
      expiresAt: new Date(request.link.expires * 1000),
      keepUntil: new Date(now.getTime() + AUDIT_RETENTION_MS),
      record: recordOf(request, attemptOf(request, 1, now)),
    });
    if (claim.claimed) return { kind: 'acted', decision: await act(claim.use, request, deps) };
    decision = claim.use;
  }
  try {
    switch (decision.record.status) {
      case 'done':
        return { kind: 'used', decision };
      case 'started':
        if (now.getTime() - Date.parse(lastAttempt(decision.record).startedAt) < IN_FLIGHT_MS)
          return { kind: 'in-progress', decision };
        return { kind: 'settled', decision: await settle(decision, request.alert, deps) };
      case 'unknown': {
        // Graph may have carried it out: ask the job before anything else.
        const settled =
          lastAttempt(decision.record).call === 'restart' ? await settle(decision, request.alert, deps) : decision;
        if (settled.record.status === 'done') return { kind: 'settled', decision: settled };
        decision = settled;
        break;
      }
      default:
        break;
    }
    // The last attempt ended without effect: this request is a person's new decision.
    const next = { ...decision.record, status: 'started' as const };
    next.attempts = [...decision.record.attempts, attemptOf(request, decision.record.attempts.length + 1, now)];
    const claimed = await deps.ledger.update(decision, next);
    return { kind: 'acted', decision: await act(claimed, request, deps) };
  } catch (error) {
    if (!(error instanceof LedgerConflict)) throw error;
    const current = (await deps.ledger.get<DecisionRecord>('decide', request.link.id)) as Decision;
    return { kind: current.record.status === 'done' ? 'used' : 'in-progress', decision: current };
  }
}
