import type { AlertDecision } from '../model';
import type { LinkLedger, LinkUse } from '../store/link-ledger';
import { NOTICE_TITLES } from './plans';
import type { GraphAnswer } from './graph-actions';
import type { OnDemandResult } from './on-demand';
import type { ActionCall } from './plans';
import type { ActionName } from '../settings/actions';

/**
 * The audit of decisions. A decision is the use of its link in the link ledger: one row, keyed by
 * the link's id, created (insert-if-absent) before Graph is called and completed after Graph
 * answers, so the claim, the intent and the outcome can never disagree and a crash can never leave
 * an action without its row. Refused attempts that name somebody or a genuine link are notes
 * beside them. Rows are kept for AUDIT_RETENTION_MS.
 */

/** How long decisions and refusals are kept (13 months: a year back, plus the month it began). */
export const AUDIT_RETENTION_MS = 400 * 24 * 3600_000;

/**
 * Where an attempt stands: `started` (the row exists, Graph may be being called), `done` (Graph
 * accepted it), `refused` (Graph said no: nothing was done), `unknown` (no answer, or 5xx: it may
 * have been done), `interrupted` (the monitor stopped before Graph answered, and Graph's state
 * shows it was not done).
 */
export type DecisionStatus = 'started' | 'done' | 'refused' | 'unknown' | 'interrupted';

/** Who acted, as their verified ID token said, and what let them. */
export interface Actor {
  name: string;
  upn: string;
  oid: string;
  /** `app role SyncWatch.Operator`, `group <id>`. */
  via: string;
}

export interface Attempt {
  n: number;
  action: ActionName;
  call: ActionCall;
  resetScope?: string;
  subject?: { objectId: string; objectTypeName: 'User' | 'Group'; name?: string };
  by: Actor;
  startedAt: string;
  endedAt?: string;
  status: DecisionStatus;
  /** The state seen just before acting (stateHash, and in words). */
  stateHash: string;
  stateSeen: string;
  /** Graph's marker of the job's last run (epoch ms) and its quarantine's evaluations, as read just before acting. */
  runSeen?: number;
  seriesCountSeen?: number;
  graph?: GraphAnswer;
  /** How an interrupted attempt was settled, in words. */
  note?: string;
}

export interface DecisionRecord {
  v: 1;
  tenantId: string;
  tenantName?: string;
  fingerprint: string;
  alertStartsAt: string;
  condition: string;
  /** `Deletion threshold tripped: Fabrikam to Contoso (Contoso)`. */
  heading: string;
  servicePrincipalId: string;
  jobId: string;
  /** The configuration's (service principal's) name. */
  configuration: string;
  status: DecisionStatus;
  attempts: Attempt[];
  /** provisionOnDemand's steps, for the result page. */
  result?: OnDemandResult;
  /** Routes the decision's notice was planned for (the notification pipeline fills it). */
  told?: string[];
}

/** A refused attempt, for the audit: what was refused and why, and who, when known. */
export interface RefusalRecord {
  v: 1;
  /** The named refusal: `no-role`, `tampered`, `stale`, `csrf`, `get-acts`, ... */
  refusal: string;
  /** What the page said. */
  words: string;
  by?: Actor | { name: string; upn: string; oid: string };
  tenantId?: string;
  fingerprint?: string;
  jobId?: string;
  linkId?: string;
  action?: string;
}

export type Decision = LinkUse<DecisionRecord>;

/** The last attempt of a decision. */
export function lastAttempt(record: DecisionRecord): Attempt {
  return record.attempts[record.attempts.length - 1] as Attempt;
}

/** The audit as the status page and the notices read it. */
export class DecisionAudit {
  constructor(private readonly ledger: LinkLedger) {}

  /** Decisions made from `since` on, newest first. */
  decisions(since?: Date): Promise<Decision[]> {
    return this.ledger.uses<DecisionRecord>('decide', since);
  }

  /** The newest refusals. */
  async refusals(limit = 20): Promise<{ at: string; record: RefusalRecord }[]> {
    return (await this.ledger.notes<RefusalRecord>('decide', limit)).map((n) => ({ at: n.at, record: n.record }));
  }

  /** Writes a refusal down. */
  async refuse(record: RefusalRecord, now: Date): Promise<void> {
    await this.ledger.note('decide', now, new Date(now.getTime() + AUDIT_RETENTION_MS), record);
  }
}

/** What Graph was asked and answered, in a sentence, for the decided notice. */
function detailOf(attempt: Attempt, record: DecisionRecord): string {
  if (attempt.call === 'provisionOnDemand') {
    const who = attempt.subject?.name ?? attempt.subject?.objectId ?? 'one object';
    const result = record.result?.result
      ? `: ${record.result.result}${record.result.reason ? ` (${record.result.reason})` : ''}`
      : '';
    return `Graph provisioned ${who} on demand${result}.`;
  }
  const scope = attempt.resetScope ? ` with resetScope ${attempt.resetScope}` : '';
  if (!attempt.graph)
    return `Graph's answer to the restart${scope} was lost, but the job showed it took effect. ${attempt.note ?? ''}`.trim();
  return `Graph accepted the restart${scope} (${attempt.graph.status}); the job carries it out when it next runs.`;
}

/** Decisions that took effect, as the cycle tells them to the alert's routes and names them in its resolved notice. */
export function alertDecisions(decisions: Decision[]): AlertDecision[] {
  return decisions
    .filter((d) => d.record.status === 'done')
    .map((d) => {
      const last = lastAttempt(d.record);
      const by = last.by.upn && last.by.upn !== last.by.name ? `${last.by.name} (${last.by.upn})` : last.by.name;
      return {
        linkId: d.linkId,
        fingerprint: d.record.fingerprint,
        startsAt: d.record.alertStartsAt,
        title: NOTICE_TITLES[last.action] ?? last.action,
        by,
        at: last.endedAt ?? last.startedAt,
        detail: detailOf(last, d.record),
      };
    })
    .sort((a, b) => a.at.localeCompare(b.at));
}
