import { formatTime } from '../../text';
import { appName, str } from '../present';
import type { JobRule } from '../rule';
import { deletionThresholdRunbook } from '../runbooks';
import { isDeletionTrip, quarantineAnnotations, quarantineFacts, quarantineLinks } from './quarantine';

/**
 * A job quarantined with reason TooManyDeletes (any casing): the accidental-deletion threshold
 * tripped, the deletes are held and wait for a decision. Fires at once.
 */
export const deletionThreshold: JobRule = {
  condition: 'deletion-threshold',
  scope: 'job',
  title: 'Deletion threshold tripped',
  counted: { one: 'deletion hold', many: 'deletion holds' },
  description: 'The accidental-deletion threshold tripped (quarantine reason TooManyDeletes): Entra holds the deletes and the job until someone approves or rejects them.',
  defaultSeverity: 'critical',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {},
  rootCause: true,
  check({ job }) {
    return isDeletionTrip(job) ? { job, annotations: quarantineAnnotations(job) } : undefined;
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const facts = quarantineFacts(alert, ctx);
    if (n.deleteThreshold !== undefined) facts.push(['Deletion threshold', str(n.deleteThreshold)]);
    return {
      title: 'Deletion threshold tripped',
      about: appName(alert),
      what: `${appName(alert)} is holding deletes for your decision.`,
      since: str(n.seriesBegan ?? n.currentBegan) || undefined,
      next: n.nextAttempt ? `Entra re-evaluates at ${formatTime(n.nextAttempt)}; the deletes stay held until someone decides.` : undefined,
      facts,
      runbook: deletionThresholdRunbook(alert.labels.servicePrincipalId, alert.labels.jobId, typeof n.deleteThreshold === 'number' ? n.deleteThreshold : undefined),
      links: quarantineLinks(alert, ctx),
      ended: 'deletion hold cleared',
    };
  },
};
