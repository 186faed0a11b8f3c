import { LedgerConflict, type LinkLedger } from '../store/link-ledger';
import type { SignedLink } from '../util/signed-links';
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
import type { JobSnapshot } from '../model/observation';
import { formatTime } from '../util/text';

/**
 * Carries out a decision exactly once, whatever stops the process on the way. The order:
 *
 *   1. claim the link: insert the decision's row, status `started`, with who, what, the state seen
 *      (insert-if-absent: of two requests, two instances, one wins; the other reads the row);
 *   2. call Graph, once, with no automatic retry;
 *   3. complete the row with Graph's answer (`done`, `refused`, `unknown`), ETag-conditional.
 *
 * A kill before 1 leaves nothing: the link is unused. A kill between 1 and 3 leaves a `started`
 * row; a 5xx or a lost answer leaves an `unknown` one. Either is "in doubt": Graph may or may not
 * have accepted the restart, and an accepted restart changes nothing in the job until the job runs
 * (Entra's next cycle; the Graph emulator models the same). Whoever comes next (the same POST
 * again, a visit of the link), once the row is older than the longest a call can take
 * (IN_FLIGHT_MS), settles it from Graph's job, never by calling again:
 *
 *   - the job no longer shows the state the decision was about → `done` (it took effect);
 *   - the same state, and the job has run since the attempt (its last run, or its quarantine's
 *     current evaluation, began later) → `interrupted`: that run would have carried the restart
 *     out, so it was not accepted; a person may try again from the page that shows the state now;
 *   - the same state and no run since → still `unknown`: the page says to look again after the
 *     job's next run, and offers nothing.
 *
 * So restart is never sent twice for one link unless a run of the job has shown the first did not
 * take effect. A kill after 3 leaves a complete row; the notice is the notification pipeline's.
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
  /** The job as Graph returned it just before: when it last ran, and its quarantine's evaluations, to tell a later run by. */
  jobSeen: JobSnapshot;
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
    runSeen: lastRunBegan(request.jobSeen),
    ...(request.jobSeen.quarantine?.seriesCount !== undefined
      ? { seriesCountSeen: request.jobSeen.quarantine.seriesCount }
      : {}),
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
 * When the job last began to run, as far as Graph shows: its last execution, its quarantine's
 * current evaluation, or its progress. Compared with the same marker read before acting (Graph's
 * times against Graph's, never against this instance's clock).
 */
function lastRunBegan(job: JobSnapshot): number {
  return Math.max(
    job.lastExecution?.timeBegan?.getTime() ?? 0,
    job.quarantine?.currentBegan?.getTime() ?? 0,
    job.progressObservedAt?.getTime() ?? 0,
  );
}

/**
 * Settles a decision whose last attempt is in doubt (`started` past IN_FLIGHT_MS, or `unknown`)
 * from the job as Graph has it now; never by calling again. provisionOnDemand leaves no trace in
 * the job, but provisioning one object again is harmless, so it is `interrupted` at once.
 */
export async function settle(decision: Decision, alert: AlertRecord, deps: ExecuteDeps): Promise<Decision> {
  const last = lastAttempt(decision.record);
  const now = deps.now();
  let status: DecisionStatus;
  let note: string;
  if (last.call !== 'restart') {
    status = 'interrupted';
    note =
      'Graph’s answer never arrived, and provisioning one object leaves no trace in the job to tell by. Provisioning it again is harmless: try again.';
  } else {
    const job = await deps.graph.job(decision.record.servicePrincipalId, decision.record.jobId);
    const state = stateNow(alert, job);
    const ran =
      lastRunBegan(job) > (last.runSeen ?? Date.parse(last.startedAt)) ||
      (job.quarantine?.seriesCount ?? 0) > (last.seriesCountSeen ?? Number.POSITIVE_INFINITY);
    if (stateHash(state) !== last.stateHash) {
      status = 'done';
      note = `Graph’s answer never arrived, but the job no longer shows the state this decision was about (now: ${describeState(state)}), so it took effect. Nothing was sent again.`;
    } else if (ran) {
      status = 'interrupted';
      note = `Graph’s answer never arrived, and the job ran since (${formatTime(new Date(lastRunBegan(job)).toISOString())}) and still shows the state this decision was about (${describeState(state)}): it did not take effect. Nothing was sent again; you can try again.`;
    } else {
      status = 'unknown';
      note = `Graph’s answer never arrived, and the job has not run since, so it cannot tell yet whether it took effect (a restart shows when the job next runs). Nothing is sent again until then: open the link again after the job’s next run.`;
    }
  }
  if (status === decision.record.status && note === last.note) return decision;
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
      case 'unknown':
        // Graph may have carried it out: the job tells, and a new attempt is a person's decision on
        // the page that shows what it told, not this request's.
        return { kind: 'settled', decision: await settle(decision, request.alert, deps) };
      default:
        break;
    }
    // The last attempt ended without effect (refused, interrupted): this request is a person's new decision.
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
