import type { LogProblem } from '../../model/provisioning';
import type { AlertRecord, Link } from '../../model';
import { describeLogProblem } from '../../observe/errors';
import { adminConsentLink, auditLogLink, shortTenant, str } from '../present';
import type { PresentContext, TenantRule } from '../rule';

/**
 * The provisioning logs of a tenant cannot be read (no AuditLog.Read.All, no Entra ID P1/P2
 * licence, or the workspace refuses): one warning per tenant naming what is missing. The job
 * status checks go on regardless; only what needs the logs waits (failure digests, the held
 * deletes by name, silence checks), and its alerts are held, not resolved.
 */

const LOGS_UNREADABLE_CONDITION = 'provisioning-logs-unreadable';

/** Problems that mean the logs themselves cannot be read (a page cap or a bad query do not). */
const UNREADABLE = new Set<LogProblem['kind']>([
  'access',
  'licence',
  'throttled',
  'timeout',
  'transient',
  'invalid-response',
]);

/** Admin consent when Graph refused a permission (the fix), then the tenant's audit log. */
function logsLinks(alert: AlertRecord, ctx: PresentContext): Link[] {
  const consent =
    alert.annotations.source !== 'log-analytics' && alert.annotations.missing
      ? adminConsentLink(alert.labels.tenantId, ctx)
      : undefined;
  return [...(consent ? [consent] : []), auditLogLink(alert.labels.tenantId, ctx)];
}

export const provisioningLogsUnreadable: TenantRule = {
  condition: LOGS_UNREADABLE_CONDITION,
  scope: 'tenant',
  readsLogs: true,
  title: 'Provisioning logs unreadable',
  counted: { one: 'logs unreadable', many: 'logs unreadable' },
  description:
    'The provisioning logs of the tenant cannot be read (a missing permission or licence, or two cycles of throttling or outage): job status checks go on, failure digests and held deletes by name wait.',
  defaultSeverity: 'warning',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {},
  // Judged when the logs were read (or meant to be) this cycle; a tenant whose turn has not come is held.
  inView: (_labels, tenant) => !tenant.problem && tenant.logsDeferred === undefined,
  check({ tenant, settings }) {
    const problem = tenant.provisioning?.problems.find(
      (p) => p.operation === 'provisioning logs' && UNREADABLE.has(p.kind),
    );
    if (!problem) return [];
    const lasting = problem.kind === 'access' || problem.kind === 'licence';
    return [
      {
        annotations: {
          problem: describeLogProblem(problem),
          problemKind: problem.kind,
          source: problem.source,
          httpStatus: problem.status,
          errorCode: problem.code,
          errorMessage: problem.message,
          missing: problem.missing,
        },
        // A missing permission or licence does not fix itself; throttling or an outage must last two cycles.
        pendingCycles: lasting ? settings.pendingCycles : Math.max(1, settings.pendingCycles),
      },
    ];
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const tenant = shortTenant(alert.labels.tenantId, ctx);
    const facts: [string, string][] = [['Answer', str(n.problem)]];
    if (n.missing) facts.push(['Likely missing', str(n.missing)]);
    const steps =
      n.source === 'log-analytics'
        ? [
            'Give the monitoring identity the Log Analytics Reader role on the workspace in LOG_ANALYTICS_WORKSPACE_ID.',
            "Check that the tenant's diagnostic settings send ProvisioningLogs to that workspace.",
          ]
        : [
            'Grant the monitoring app the Microsoft Graph application permission AuditLog.Read.All in this tenant, with admin consent (if Graph still refuses, see docs/deploying.md, "Permissions": Microsoft\'s page lists a second permission beside it).',
            'The provisioning logs need a Microsoft Entra ID P1 or P2 licence in the tenant.',
          ];
    return {
      title: 'Provisioning logs unreadable',
      about: `tenant ${tenant}`,
      what: `Entra Sync Watch cannot read the provisioning logs of tenant ${tenant}; it still checks the jobs themselves.`,
      facts,
      scripts: [['Tenant ID', alert.labels.tenantId]],
      runbook: {
        meaning:
          'Quarantines and deletion holds are still reported from the job status. What needs the provisioning logs waits until they can be read: failure digests, the held deletes by name, and checks for jobs that fell silent.',
        steps,
      },
      links: logsLinks(alert, ctx),
      ended: 'provisioning logs can be read again',
    };
  },
};
