import type { Annotations, Runbook } from '../../model';
import type { JobSnapshot, TenantObservation } from '../../model/observation';
import { bounded, formatTime } from '../../util/text';
import { describeLogProblem } from '../../observe/errors';
import { appName, jobScripts, listAnnotation, str, UNREADABLE_LIST } from '../present';
import type { JobRule } from '../rule';
import {
  isDeletionTrip,
  quarantineAnnotations,
  quarantineEnding,
  quarantineFacts,
  quarantineLinks,
  quarantineNext,
} from './quarantine';

/**
 * A job quarantined with reason TooManyDeletes (any casing): the accidental-deletion threshold
 * tripped, the deletes are held and wait for a decision. Fires at once. With the provisioning logs
 * readable, the alert names what is held: the job's stagedDelete events (docs/reference/graph-provisioning-api.md §2)
 * give the number of held deletes and a sample of the objects by name.
 */

/** Entra's default accidental-deletion threshold (reference §2), when the job does not report its own. */
const DEFAULT_THRESHOLD = 500;
/** Held objects named in the alert (the logs reader samples as many by default), and the longest name or UPN kept. */
const HELD_SHOWN = 10;
const HELD_NAME_CHARS = 200;

/** What the provisioning logs say is held, as annotations (plain values; the sample a list bounded by what it holds). */
function heldAnnotations(job: JobSnapshot, tenant: TenantObservation): Annotations {
  const held = tenant.provisioning?.heldDeletes.get(job.jobId);
  if (!held)
    return {
      heldUnknown: tenant.provisioning
        ? 'the provisioning logs were not read this cycle'
        : 'the provisioning logs are not read',
    };
  if ('kind' in held) return { heldUnknown: describeLogProblem(held) };
  if (held.count === 0)
    return { heldUnknown: 'no stagedDelete events in the provisioning logs yet (they can arrive minutes late)' };
  return {
    heldDeletes: held.count,
    heldCapped: held.capped,
    heldSample: held.sample.slice(0, HELD_SHOWN).map((o) => ({
      name: bounded(o.displayName, HELD_NAME_CHARS),
      ...(o.upn ? { upn: bounded(o.upn, HELD_NAME_CHARS) } : {}),
      ...(o.identityType ? { type: bounded(o.identityType, HELD_NAME_CHARS) } : {}),
    })),
    heldCycleId: held.cycleId,
    heldStagedAt: held.lastAt !== undefined ? new Date(held.lastAt).toISOString() : undefined,
  };
}

function heldCount(n: Annotations): string | undefined {
  if (typeof n.heldDeletes !== 'number') return undefined;
  return n.heldCapped ? `at least ${n.heldDeletes}` : String(n.heldDeletes);
}

/** The decision and its steps in the admin center, with the numbers when the logs gave them; the Graph requests are in deletionThresholdScripts. */
export function deletionThresholdRunbook(threshold: number | undefined, held: string | undefined): Runbook {
  const limit =
    threshold !== undefined ? `${threshold}` : `the configured number (Entra's default is ${DEFAULT_THRESHOLD})`;
  return {
    meaning:
      `This cycle would have deleted or disabled ${held ?? 'more'} objects in the target, more than the accidental-deletion threshold of ${limit} allows. ` +
      'Entra has held every one of those deletes and quarantined the job; nothing has been deleted yet, and nothing else syncs until someone decides.',
    steps: [
      'Review the held objects: Entra admin center > Enterprise applications > this configuration > Provisioning logs, filter Action = StagedDelete.',
      'If the deletes are expected, approve them: Provisioning > "Allow deletes". The held deletes run and the job leaves quarantine on its next cycle.',
      'If they are not expected, reject them: fix the cause first (user and group assignments, scoping filters, source objects deleted or disabled by mistake), ' +
        'then restart the job (Provisioning > Restart provisioning). Do not restart before fixing, or the deletes run.',
      'The same with Microsoft Graph: the requests are in "Details for scripts".',
    ],
  };
}

/** The Graph requests of the runbook's steps, for scripts: list the held deletes, approve them, restart after a fix. */
function deletionThresholdScripts(servicePrincipalId: string, jobId: string): [string, string][] {
  const restart = `POST /servicePrincipals/${servicePrincipalId}/synchronization/jobs/${jobId}/restart`;
  return [
    [
      'List the held deletes',
      `GET /auditLogs/provisioning?$filter=jobId eq '${jobId}' and provisioningAction eq 'stagedDelete'`,
    ],
    ['Approve the deletes', `${restart} {"criteria":{"resetScope":"ForceDeletes"}}`],
    ['Restart after fixing the cause', `${restart} {"criteria":{"resetScope":"Watermark, Escrows, QuarantineState"}}`],
  ];
}

export const deletionThreshold: JobRule = {
  condition: 'deletion-threshold',
  scope: 'job',
  readsLogs: true,
  title: 'Deletion threshold tripped',
  counted: { one: 'deletion hold', many: 'deletion holds' },
  description:
    'The accidental-deletion threshold tripped (quarantine reason TooManyDeletes): Entra holds the deletes and the job until someone approves or rejects them.',
  defaultSeverity: 'critical',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {},
  rootCause: true,
  check({ job, tenant }) {
    return isDeletionTrip(job)
      ? { job, annotations: { ...quarantineAnnotations(job), ...heldAnnotations(job, tenant) } }
      : undefined;
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const threshold = typeof n.deleteThreshold === 'number' ? n.deleteThreshold : undefined;
    const held = heldCount(n);
    const facts = quarantineFacts(alert, ctx);
    facts.push([
      'Deletion threshold',
      threshold !== undefined ? String(threshold) : `not reported by Graph (Entra's default is ${DEFAULT_THRESHOLD})`,
    ]);
    if (held) {
      facts.push(['Held deletes', `${held} object(s), staged ${formatTime(n.heldStagedAt, ctx.timeZone)}`]);
      const sample = listAnnotation<{ name: string; upn?: string }>(n.heldSample);
      if (sample === 'unreadable') facts.push(['Held objects', UNREADABLE_LIST]);
      else {
        const rest = Number(n.heldDeletes) - sample.length;
        const names = sample.map((o) => (o.upn && o.upn !== o.name ? `${o.name} (${o.upn})` : o.name)).join(', ');
        facts.push([
          `Held objects (${sample.length} of ${held})`,
          rest > 0 ? `${names}, and ${n.heldCapped ? 'at least ' : ''}${rest} more` : names,
        ]);
      }
    } else if (n.heldUnknown) {
      facts.push(['Held deletes', `unknown: ${str(n.heldUnknown)}`]);
    }
    return {
      title: 'Deletion threshold tripped',
      about: appName(alert),
      what: held
        ? `${appName(alert)} is holding ${held} deletes for your decision.`
        : `${appName(alert)} is holding deletes for your decision.`,
      since: str(n.seriesBegan ?? n.currentBegan) || undefined,
      next: quarantineNext(alert, ctx, 'Entra re-evaluates at {at}; the deletes stay held until someone decides.'),
      facts,
      scripts: [...jobScripts(alert), ...deletionThresholdScripts(alert.labels.servicePrincipalId, alert.labels.jobId)],
      runbook: deletionThresholdRunbook(threshold, held),
      links: quarantineLinks(alert, ctx),
      ...quarantineEnding(ctx, 'deletion hold cleared'),
    };
  },
};
