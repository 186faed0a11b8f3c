import { describeProblem } from '../../observe/errors';
import { servicePrincipalAnnotations } from '../job-facts';
import { appName, configurationScripts, jobLinks, shortTenant, str } from '../present';
import type { ServicePrincipalRule } from '../rule';

/**
 * The jobs of one configuration could not be read while the rest of the tenant could: that
 * configuration's problem, not the tenant's, so only its alerts are held (a whole tenant that
 * cannot be read is tenant-unreadable). Access errors fire at once; throttling or an outage must
 * last two cycles.
 */
export const jobsUnreadable: ServicePrincipalRule = {
  condition: 'jobs-unreadable',
  scope: 'servicePrincipal',
  title: 'Cannot read jobs',
  counted: { one: 'configuration unreadable', many: 'configurations unreadable' },
  description:
    'The jobs of one configuration (service principal) could not be read although the tenant could: its job alerts are held until they can. Access errors fire at once; throttling or outages after two cycles.',
  defaultSeverity: 'critical',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {},
  // Judged whenever the tenant was read: the problem is this cycle's own evidence.
  inView: (_labels, tenant) => tenant.problem === undefined,
  check({ servicePrincipal, problem, settings }) {
    if (!problem) return undefined;
    return {
      annotations: {
        ...servicePrincipalAnnotations(servicePrincipal),
        problem: describeProblem(problem),
        problemKind: problem.kind,
        httpStatus: problem.status,
        errorCode: problem.code,
        errorMessage: problem.message,
        likelyMissingPermission: problem.likelyMissingPermission,
      },
      pendingCycles: problem.kind === 'access' ? settings.pendingCycles : Math.max(1, settings.pendingCycles),
    };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const app = appName(alert);
    return {
      title: 'Cannot read jobs',
      about: app,
      what: `Entra Sync Watch cannot read the jobs of ${app} in tenant ${shortTenant(alert.labels.tenantId, ctx)}, while it can read the others there.`,
      facts: [['Graph answered', str(n.problem)]],
      scripts: configurationScripts(alert),
      runbook: {
        meaning:
          'The jobs of this configuration could not be read, so its job alerts are held as they were (neither resolved nor re-sent) until they can.',
        steps:
          n.problemKind === 'access'
            ? [
                "Graph refused this configuration only: check whether the monitoring app's access is limited to some apps (Application.ReadWrite.OwnedBy only reads apps it owns) and grant Synchronization.Read.All.",
                'Check that the configuration still exists and is not being deleted or re-created.',
              ]
            : [
                'Graph failed or throttled these reads for two cycles: check Microsoft 365 / Entra service health; the monitor retries every cycle.',
              ],
      },
      links: jobLinks(alert, ctx),
      ended: 'can be read again',
    };
  },
};
