import type { AlertRecord, Annotations } from '../../model';
import type { JobSnapshot } from '../../model/observation';
import { formatTime } from '../../util/text';
import { jobAnnotations } from '../job-facts';
import { appName, jobLinks, jobScripts, sentences, str, troubleshooting, wasNow } from '../present';
import type { JobRule, PresentContext } from '../rule';
import type { ParamValues } from '../../model/policy';
import { quarantineRunbook } from '../runbooks';

const DAY = 86_400_000;
/** Entra disables a job that stays quarantined for four weeks (docs/reference/graph-provisioning-api.md §6.3). */
const DISABLED_AFTER_MS = 28 * DAY;

const iso = (d: Date | undefined) => d?.toISOString();

/** What Graph says about a quarantine, as annotations (shared with the deletion-threshold rule). */
export function quarantineAnnotations(job: JobSnapshot): Annotations {
  const q = job.quarantine;
  const error = q?.error ?? job.lastExecution?.error;
  const began = q?.seriesBegan ?? q?.currentBegan;
  return {
    ...jobAnnotations(job),
    reason: q?.reason.known ?? (q?.reason.raw || 'not given by Graph'),
    reasonKnown: q?.reason.known !== undefined,
    errorCode: error?.code,
    errorMessage: error?.message,
    tenantActionable: error?.tenantActionable,
    currentBegan: iso(q?.currentBegan),
    seriesBegan: iso(q?.seriesBegan),
    seriesCount: q?.seriesCount,
    nextAttempt: iso(q?.nextAttempt),
    disablesAt: began ? new Date(began.getTime() + DISABLED_AFTER_MS).toISOString() : undefined,
    deleteThreshold: job.deleteThreshold,
  };
}

/** Whether Graph reports the job quarantined for too many deletes, in any casing. */
export function isDeletionTrip(job: JobSnapshot): boolean {
  return job.status.known === 'Quarantine' && job.quarantine?.reason.known === 'TooManyDeletes';
}

/**
 * "in 5 days (2026-12-01 10:00 UTC)", or that the four weeks are over. An alert stored before
 * `disablesAt` was annotated counts four weeks from the quarantine's start.
 */
function disableCountdown(annotations: Annotations, now: Date, timeZone?: string): string | undefined {
  const began = Date.parse(str(annotations.seriesBegan ?? annotations.currentBegan));
  const disablesAt =
    typeof annotations.disablesAt === 'string'
      ? annotations.disablesAt
      : Number.isFinite(began)
        ? new Date(began + DISABLED_AFTER_MS).toISOString()
        : undefined;
  const at = disablesAt !== undefined ? Date.parse(disablesAt) : NaN;
  if (!Number.isFinite(at)) return undefined;
  const left = at - now.getTime();
  if (left <= 0) return `any time now (its four weeks in quarantine ended ${formatTime(disablesAt, timeZone)})`;
  const days = Math.ceil(left / DAY);
  return `in ${days === 1 ? '1 day' : `${days} days`} (${formatTime(disablesAt, timeZone)})`;
}

/**
 * The facts of a quarantine or a deletion hold, as Entra reports them, less what a notice says
 * already: the reason only when it is not the error code itself, no "since" (the notice's since
 * line), no next attempt or disable date (its "what happens next").
 */
export function quarantineFacts(alert: AlertRecord, ctx: PresentContext): [string, string][] {
  const n = alert.annotations;
  const facts: [string, string][] = [];
  if (str(n.reason) !== str(n.errorCode)) facts.push(['Reason', str(n.reason)]);
  if (n.errorCode) facts.push(['Error code', str(n.errorCode)]);
  if (n.errorMessage) facts.push(['Error', str(n.errorMessage)]);
  if (n.currentBegan && n.seriesBegan && n.currentBegan !== n.seriesBegan)
    facts.push(['Current attempt since', formatTime(n.currentBegan, ctx.timeZone)]);
  if (n.seriesCount !== undefined) facts.push(['Re-evaluations in this quarantine', str(n.seriesCount)]);
  const guide = troubleshooting(n.troubleshootingUrl);
  if (guide.text) facts.push(['Troubleshooting link from Graph (not a Microsoft site, so not linked)', guide.text]);
  return facts;
}

/** What Entra does next with a quarantined job: its next attempt, and when it disables the job. */
export function quarantineNext(alert: AlertRecord, ctx: PresentContext, attempt: string): string | undefined {
  const n = alert.annotations;
  const countdown = disableCountdown(n, ctx.now, ctx.timeZone);
  const next = [
    n.nextAttempt ? `${attempt.replace('{at}', formatTime(n.nextAttempt, ctx.timeZone))}` : '',
    countdown ? `If it stays quarantined, Entra disables this job ${countdown}.` : '',
  ]
    .filter((s) => s !== '')
    .join(' ');
  return next || undefined;
}

/** The job's admin-center links, and Entra's troubleshooting guide when it is on a Microsoft site. */
export function quarantineLinks(
  alert: AlertRecord,
  ctx?: Pick<PresentContext, 'links'>,
): { label: string; href: string }[] {
  const links = jobLinks(alert, ctx);
  const guide = troubleshooting(alert.annotations.troubleshootingUrl);
  if (guide.link) links.push(guide.link);
  return links;
}

/**
 * How a quarantine (or a deletion hold) ended, from the other alerts of its job: a quarantine
 * that ends because the job was disabled is no recovery (docs/reference/graph-provisioning-api.md
 * §6.3: after four weeks Entra removes the escrow and disables the job), so it never says "resolved".
 */
export function quarantineEnding(ctx: PresentContext, recovered: string): { ended: string; endedWell: boolean } {
  const stopped = ctx.related.find((a) => a.labels.condition === 'job-disabled' && a.state !== 'resolved');
  if (!stopped) return { ended: recovered, endedWell: true };
  const by = stopped.annotations.stoppedAfterFailures === true ? 'was disabled by Entra' : 'was paused';
  return {
    ended: `${by}, not recovered (nothing syncs until the cause is fixed and the job is started again); the quarantine ended`,
    endedWell: false,
  };
}

/** Where a quarantine stands against Entra's four-week limit, with the rule's parameters. */
function quarantineAge(job: JobSnapshot, params: ParamValues, now: Date): { disablesAt?: Date; finalWeek: boolean } {
  const began = job.quarantine?.seriesBegan ?? job.quarantine?.currentBegan;
  if (!began) return { finalWeek: false };
  const disablesAt = new Date(began.getTime() + Number(params.disabledAfter));
  return { disablesAt, finalWeek: disablesAt.getTime() - now.getTime() <= Number(params.finalWarning) };
}

/**
 * A job Entra quarantined for any reason but too many deletes (which is its own condition),
 * known reason or not. Fires at once: Entra already debounced it. The reason and the error code
 * are material: a change of either is told at once, as Entra's own notice is re-sent when the
 * reason changes. So is the start of its last week before Entra disables the job, when its
 * severity is raised to critical whatever the config says.
 */
export const quarantine: JobRule = {
  condition: 'quarantine',
  scope: 'job',
  title: 'Quarantined',
  counted: { one: 'quarantined', many: 'quarantined' },
  description:
    'Entra quarantined the job (status.code Quarantine) for any reason other than too many deletes: it now retries at a reduced rate and disables the job after four weeks. A change of reason or error code, and the last week before Entra disables the job, are told at once.',
  defaultSeverity: 'critical',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {
    disabledAfter: {
      type: 'duration',
      default: DISABLED_AFTER_MS,
      min: DAY,
      description: 'How long after a quarantine began Entra disables the job (four weeks, as Entra documents)',
    },
    finalWarning: {
      type: 'duration',
      default: 7 * DAY,
      min: 0,
      description: 'How long before Entra disables the job the alert becomes critical and a notice goes out at once',
    },
  },
  rootCause: true,
  check({ job, settings, now }) {
    if (job.status.known !== 'Quarantine' || isDeletionTrip(job)) return undefined;
    const annotations = quarantineAnnotations(job);
    const age = quarantineAge(job, settings.params, now);
    annotations.disablesAt = age.disablesAt?.toISOString();
    annotations.finalWeek = age.finalWeek;
    const material = `${str(annotations.reason)}|${str(annotations.errorCode)}${age.finalWeek ? '|final-week' : ''}`;
    return { job, annotations, material, severity: age.finalWeek ? 'critical' : undefined };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const code = n.errorCode ? `, error ${str(n.errorCode)}` : '';
    return {
      title: 'Quarantined',
      about: appName(alert),
      what: `Entra quarantined ${appName(alert)} (${str(n.reason)}${code}): the job has stopped syncing and Entra only retries it at a reduced rate.`,
      since: str(n.seriesBegan ?? n.currentBegan) || undefined,
      next: quarantineNext(
        alert,
        ctx,
        'Entra tries again at {at}; a successful attempt lifts the quarantine by itself.',
      ),
      facts: quarantineFacts(alert, ctx),
      scripts: jobScripts(alert),
      runbook: quarantineRunbook(str(n.reason), n.errorCode ? str(n.errorCode) : undefined),
      links: quarantineLinks(alert, ctx),
      ...quarantineEnding(ctx, 'left quarantine'),
    };
  },
  describeChange(before, after) {
    const [reasonBefore = '', codeBefore = '', finalBefore] = before.split('|');
    const [reason = '', code = '', final] = after.split('|');
    const clauses: string[] = [];
    if (reason !== reasonBefore) clauses.push(wasNow('the reason', reasonBefore, reason, 'not given'));
    if (code !== codeBefore) clauses.push(wasNow('the error code', codeBefore, code));
    if (final && !finalBefore)
      clauses.push('its last week before Entra disables the job has begun, so the alert is now critical');
    return sentences(clauses);
  },
};
