import { describeProblem } from '../../observe/errors';
import { shortTenant, str, tenantLabel } from '../present';
import type { TenantRule } from '../rule';

/**
 * A tenant the monitor cannot read is an alert of its own. Credentials and permissions do not fix
 * themselves, so they fire at once; throttling or an outage must last two cycles.
 */
export const tenantUnreadable: TenantRule = {
  condition: 'tenant-unreadable',
  scope: 'tenant',
  title: 'Cannot monitor',
  counted: { one: 'tenant unreadable', many: 'tenants unreadable' },
  description: 'The monitor cannot read the tenant (no consent, a missing permission, a rejected credential, or Graph failing for two cycles): its job alerts are held until it can.',
  defaultSeverity: 'critical',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {},
  inView: () => true,
  check({ tenant, settings }) {
    const problem = tenant.problem;
    if (!problem) return [];
    return [{
      annotations: {
        problem: describeProblem(problem),
        problemKind: problem.kind,
        httpStatus: problem.status,
        errorCode: problem.code,
        errorMessage: problem.message,
        operation: problem.operation,
        likelyMissingPermission: problem.likelyMissingPermission,
      },
      // Throttling or an outage must last at least two cycles before it is an alert.
      pendingCycles: problem.kind === 'access' ? settings.pendingCycles : Math.max(1, settings.pendingCycles),
    }];
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const facts: [string, string][] = [['Tenant', tenantLabel(alert.labels.tenantId, ctx)], ['Graph answered', str(n.problem)]];
    if (n.likelyMissingPermission) facts.push(['Likely missing', str(n.likelyMissingPermission)]);
    return {
      title: 'Cannot monitor',
      about: `tenant ${shortTenant(alert.labels.tenantId, ctx)}`,
      what: `Entra Sync Watch cannot read tenant ${shortTenant(alert.labels.tenantId, ctx)}.`,
      facts,
      runbook: {
        meaning: 'Entra Sync Watch cannot read this tenant\'s synchronization jobs. Its job alerts are held as they were (neither resolved nor re-sent) until it can.',
        steps: [
          'Check that the monitoring app is consented in this tenant with the application permissions Application.Read.All and Synchronization.Read.All (admin consent).',
          'Check that its credential (client secret, certificate or managed identity) is valid and not expired.',
        ],
      },
      links: [],
      ended: 'can be read again',
    };
  },
};
