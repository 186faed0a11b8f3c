import type { AlertRecord, Annotations } from '../../model';
import type { JobSnapshot } from '../../observe/types';
import { formatTime } from '../../text';
import { appName, jobIdentityFacts, jobLinks, str, troubleshooting } from '../present';
import type { JobRule, PresentContext } from '../rule';
import { quarantineRunbook } from '../runbooks';

const iso = (d: Date | undefined) => d?.toISOString();

/** What Graph says about a quarantine, as annotations (shared with the deletion-threshold rule). */
export function quarantineAnnotations(job: JobSnapshot): Annotations {
  const q = job.quarantine;
  const error = q?.error ?? job.lastExecution?.error;
  return {
    servicePrincipalName: job.servicePrincipal.displayName,
    appId: job.servicePrincipal.appId,
    templateId: job.templateId,
    statusCode: job.status.raw,
    reason: q?.reason.known ?? (q?.reason.raw || 'not given by Graph'),
    reasonKnown: q?.reason.known !== undefined,
    errorCode: error?.code,
    errorMessage: error?.message,
    tenantActionable: error?.tenantActionable,
    currentBegan: iso(q?.currentBegan),
    seriesBegan: iso(q?.seriesBegan),
    seriesCount: q?.seriesCount,
    nextAttempt: iso(q?.nextAttempt),
    deleteThreshold: job.deleteThreshold,
    troubleshootingUrl: job.troubleshootingUrl,
  };
}

/** Whether Graph reports the job quarantined for too many deletes, in any casing. */
export function isDeletionTrip(job: JobSnapshot): boolean {
  return job.status.known === 'Quarantine' && job.quarantine?.reason.known === 'TooManyDeletes';
}

/** The facts of a quarantine or a deletion hold, as Entra reports them. */
export function quarantineFacts(alert: AlertRecord, ctx: PresentContext): [string, string][] {
  const n = alert.annotations;
  const facts = [...jobIdentityFacts(alert, ctx), ['Reason', str(n.reason)] as [string, string]];
  if (n.errorCode) facts.push(['Error code', str(n.errorCode)]);
  if (n.errorMessage) facts.push(['Error', str(n.errorMessage)]);
  facts.push(['Quarantined since', formatTime(n.seriesBegan ?? n.currentBegan)]);
  if (n.currentBegan && n.seriesBegan && n.currentBegan !== n.seriesBegan) facts.push(['Current attempt since', formatTime(n.currentBegan)]);
  if (n.seriesCount !== undefined) facts.push(['Re-evaluations in this quarantine', str(n.seriesCount)]);
  facts.push(['Next attempt by Entra', formatTime(n.nextAttempt)]);
  const guide = troubleshooting(n.troubleshootingUrl);
  if (guide.text) facts.push(['Troubleshooting link from Graph (not a Microsoft site, so not linked)', guide.text]);
  return facts;
}

/** The job's admin-center links, and Entra's troubleshooting guide when it is on a Microsoft site. */
export function quarantineLinks(alert: AlertRecord, ctx?: Pick<PresentContext, 'links'>): { label: string; href: string }[] {
  const links = jobLinks(alert, ctx);
  const guide = troubleshooting(alert.annotations.troubleshootingUrl);
  if (guide.link) links.push(guide.link);
  return links;
}

/** Entra disables a job after more than four weeks in quarantine (docs/reference/graph-provisioning-api.md §6.3). */
const DISABLED_AFTER_MS = 28 * 24 * 3600_000;

/** What Entra does next with a quarantined job: its next attempt, and when it gives up and disables the job. */
export function quarantineNext(alert: AlertRecord): string | undefined {
  const n = alert.annotations;
  const parts: string[] = [];
  if (n.nextAttempt) parts.push(`Entra tries again at ${formatTime(n.nextAttempt)}; a successful attempt lifts the quarantine by itself.`);
  const began = Date.parse(str(n.seriesBegan ?? n.currentBegan));
  if (Number.isFinite(began)) {
    parts.push(`If it stays quarantined, Entra disables the job after four weeks in quarantine, around ${formatTime(new Date(began + DISABLED_AFTER_MS).toISOString())}.`);
  }
  return parts.length ? parts.join(' ') : undefined;
}

/**
 * A job Entra quarantined for any reason but too many deletes (which is its own condition),
 * known reason or not. Fires at once: Entra already debounced it. The reason and the error code
 * are material: a change of either is told at once, as Entra's own notice is re-sent when the
 * reason changes.
 */
export const quarantine: JobRule = {
  condition: 'quarantine',
  scope: 'job',
  title: 'Quarantined',
  counted: { one: 'quarantined', many: 'quarantined' },
  description: 'Entra quarantined the job (status.code Quarantine) for any reason other than too many deletes: it now retries at a reduced rate and disables the job after four weeks.',
  defaultSeverity: 'critical',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {},
  rootCause: true,
  check({ job }) {
    if (job.status.known !== 'Quarantine' || isDeletionTrip(job)) return undefined;
    const annotations = quarantineAnnotations(job);
    return { job, annotations, material: `${str(annotations.reason)}|${str(annotations.errorCode)}` };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const code = n.errorCode ? `, error ${str(n.errorCode)}` : '';
    return {
      title: 'Quarantined',
      about: appName(alert),
      what: `Entra quarantined ${appName(alert)} (${str(n.reason)}${code}): the job has stopped syncing and Entra only retries it at a reduced rate.`,
      since: str(n.seriesBegan ?? n.currentBegan) || undefined,
      next: quarantineNext(alert),
      facts: quarantineFacts(alert, ctx),
      runbook: quarantineRunbook(str(n.reason), n.errorCode ? str(n.errorCode) : undefined),
      links: quarantineLinks(alert, ctx),
      ended: 'left quarantine',
    };
  },
};
