import { formatDuration, formatTime } from '../../util/text';
import { appName, jobLinks, jobScripts, str } from '../present';
import type { JobRule } from '../rule';

/**
 * An Active job that has written no provisioning event for too long: Microsoft's second
 * recommended alert, "the service stopped" (docs/reference/graph-provisioning-api.md §4.2). Off
 * unless the config switches it on (for all jobs or, with overrides, for some), because a quiet
 * job is often just a job with nothing to change. Each watched job costs one small log query a
 * cycle, fewer while it writes events.
 */

export const SILENCE_CONDITION = 'no-provisioning-events';

export const noProvisioningEvents: JobRule = {
  condition: SILENCE_CONDITION,
  scope: 'job',
  readsLogs: true,
  title: 'No provisioning events',
  counted: { one: 'silent job', many: 'silent jobs' },
  description:
    'An Active job has written no provisioning event for longer than silentFor (off unless switched on: a job with nothing to change is quiet too).',
  defaultSeverity: 'warning',
  defaultEnabled: false,
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {
    silentFor: {
      type: 'duration',
      default: 24 * 3600_000,
      min: 3600_000,
      max: 30 * 24 * 3600_000,
      description: 'How long an Active job may write no provisioning event',
    },
  },
  inView(labels, tenant) {
    if (
      tenant.problem ||
      tenant.servicePrincipalProblems.some((p) => p.servicePrincipal.id === labels.servicePrincipalId)
    )
      return false;
    return tenant.provisioning !== undefined && !tenant.provisioning.activityUnknown.has(labels.jobId);
  },
  check({ job, tenant, settings, now }) {
    if (job.status.known !== 'Active') return undefined;
    const activity = tenant.provisioning?.activity.get(job.jobId);
    if (!activity) return undefined;
    const since = activity.lastEventAt ?? activity.watchingSince;
    const silentMs = now.getTime() - since;
    const limit = Number(settings.params.silentFor);
    if (silentMs <= limit) return undefined; // silentFor is the allowance: only a longer silence fires
    return {
      job,
      annotations: {
        servicePrincipalName: job.servicePrincipal.displayName,
        appId: job.servicePrincipal.appId,
        templateId: job.templateId,
        lastEventAt: activity.lastEventAt !== undefined ? new Date(activity.lastEventAt).toISOString() : undefined,
        watchingSince: new Date(activity.watchingSince).toISOString(),
        silentForMs: limit,
        lastRunEnded: job.lastExecution?.timeEnded?.toISOString(),
      },
    };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const last = n.lastEventAt
      ? `since ${formatTime(n.lastEventAt, ctx.timeZone)}`
      : `since at least ${formatTime(n.watchingSince, ctx.timeZone)} (none found in the logs)`;
    const facts: [string, string][] = [['Allowed silence', formatDuration(Number(n.silentForMs))]];
    if (n.lastRunEnded) facts.push(['Last run ended (job status)', formatTime(n.lastRunEnded, ctx.timeZone)]);
    return {
      title: 'No provisioning events',
      about: appName(alert),
      what: `${appName(alert)} is Active but has written no provisioning event ${last}.`,
      since: str(n.lastEventAt ?? n.watchingSince) || undefined,
      facts,
      scripts: jobScripts(alert),
      runbook: {
        meaning:
          'An Active job logs an event for every object it creates, updates, disables or deletes. None for this long means either that nothing in scope changed, or that the service stopped processing the job.',
        steps: [
          'Open the configuration in the Entra admin center > Provisioning: check the progress, the last cycle and its statistics.',
          'Provision one assigned user on demand: if it works, the job is healthy and simply had nothing to do.',
          'If the cycle is stuck, restart the job (Restart provisioning); for Cloud Sync, check the provisioning agents.',
          'If this job is expected to be quiet this long, raise silentFor for it (rules.no-provisioning-events overrides) or switch it off.',
        ],
      },
      links: jobLinks(alert, ctx),
      ended: 'wrote provisioning events again',
    };
  },
};
