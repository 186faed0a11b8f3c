import type { AlertRecord, Link, Runbook } from '../../model';
import { describeProblem, TENANT_MISMATCH } from '../../observe/errors';
import { adminConsentLink, auditLogLink, shortTenant, str } from '../present';
import type { PresentContext, TenantRule } from '../rule';

const REQUIRED = 'Application.Read.All and Synchronization.Read.All';
/** The error code of a tenant the fan-out handed out and no instance reported (lib/fanout/planner.ts). */
export const NOT_CHECKED = 'NotChecked';

/** What to do depends on why Graph would not answer: access (consent, permission, credential) or Graph itself failing. */
function unreadableRunbook(alert: AlertRecord, ctx: PresentContext): Runbook {
  const n = alert.annotations;
  const app = ctx.links?.clientId ? `the monitoring app (client ID ${ctx.links.clientId})` : 'the monitoring app';
  if (n.errorCode === TENANT_MISMATCH) {
    return {
      meaning:
        "The token the monitor got for this tenant belongs to another tenant (its tid claim): Graph would have answered with that tenant's jobs, reported under this tenant's name. Nothing of this tenant is read, and its job alerts are held as they were, until a token of this tenant is issued.",
      steps: [
        "With the managed identity alone (no WATCH_APP_CLIENT_ID) the monitor can read only the identity's own tenant: set WATCH_APP_CLIENT_ID to a multi-tenant app registration whose federated credential is the managed identity, and have this tenant's administrator consent to it.",
        "Otherwise check WATCH_TENANTS: the domain or tenant ID listed must be this tenant's; the error names both tenant IDs.",
      ],
    };
  }
  if (n.problemKind === 'access') {
    const missing = str(n.likelyMissingPermission);
    return {
      meaning:
        'Graph refused the monitoring app access to this tenant, so none of its synchronization jobs are watched. Its job alerts are held as they were (neither resolved nor re-sent) until the monitor can read the tenant again.',
      steps: [
        missing && missing !== 'admin consent for the app in this tenant'
          ? `Grant ${app} the Microsoft Graph application permission ${missing} in this tenant, with admin consent: a Global Administrator or Privileged Role Administrator of the tenant opens the admin-consent link below.`
          : `Check that ${app} is consented in this tenant with the Microsoft Graph application permissions ${REQUIRED}: a Global Administrator or Privileged Role Administrator of the tenant opens the admin-consent link below.`,
        'Check that its credential (client secret, certificate or managed identity) is valid and not expired: an expired or wrong secret shows in the error as AADSTS7000222 or AADSTS7000215.',
        'With a managed identity there is no consent link: assign the app roles with Graph (POST /servicePrincipals/{managed identity id}/appRoleAssignments) or New-MgServicePrincipalAppRoleAssignment.',
      ],
    };
  }
  if (n.errorCode === NOT_CHECKED) {
    return {
      meaning:
        "The tenant was handed to the queue-triggered function of the fan-out (WATCH_FANOUT_TENANTS), and no instance reported it before the cycle's deadline, for at least two cycles: an instance was lost or too slow. Its job alerts are held as they were until it is read again.",
      steps: [
        'Check the failures of the function "observe" in Application Insights, and the poison queue syncwatch-observe-poison for messages the host gave up on.',
        "If instances are simply too slow, lower WATCH_FANOUT_BATCH (fewer tenants per message) or raise the plan's maximum instance count.",
        'Nothing needs changing if it clears by itself: every cycle hands every tenant out again.',
      ],
    };
  }
  if (n.problemKind === 'transient') {
    return {
      meaning:
        'Graph kept failing (throttling, a server error or a network failure) for this tenant for at least two cycles, so its jobs are not being watched. Its job alerts are held as they were until the monitor can read the tenant again.',
      steps: [
        'Check Microsoft 365 and Azure service health for Microsoft Graph and Entra ID.',
        'Nothing needs changing on your side if it clears by itself; the monitor tries again every cycle and honours Retry-After.',
        'If it lasts for hours, check the Functions app logs for the full error of each attempt.',
      ],
    };
  }
  return {
    meaning:
      "Graph answered with something the monitor could not use, so this tenant's jobs are not being watched. Its job alerts are held as they were until the monitor can read the tenant again.",
    steps: ['Read the error below; if it persists, check the Functions app logs and report it with the error text.'],
  };
}

function unreadableLinks(alert: AlertRecord, ctx: PresentContext): Link[] {
  const links: Link[] = [];
  const consent = alert.annotations.problemKind === 'access' ? adminConsentLink(alert.labels.tenantId, ctx) : undefined;
  if (consent) links.push(consent);
  links.push(auditLogLink(alert.labels.tenantId, ctx));
  return links;
}

/**
 * A tenant the monitor cannot read is an alert of its own. Credentials and permissions do not fix
 * themselves, so they fire at once; throttling or an outage must last two cycles.
 */
export const tenantUnreadable: TenantRule = {
  condition: 'tenant-unreadable',
  scope: 'tenant',
  title: 'Cannot monitor',
  counted: { one: 'tenant unreadable', many: 'tenants unreadable' },
  description:
    'The monitor cannot read the tenant (no consent, a missing permission, a rejected credential, or Graph failing for two cycles): its job alerts are held until it can.',
  defaultSeverity: 'critical',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {},
  inView: () => true,
  check({ tenant, settings }) {
    const problem = tenant.problem;
    if (!problem) return [];
    return [
      {
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
      },
    ];
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const tenant = shortTenant(alert.labels.tenantId, ctx);
    const facts: [string, string][] = [['Graph answered', str(n.problem)]];
    if (n.problemKind === 'access' && n.errorCode !== TENANT_MISMATCH)
      facts.push(['Likely missing', str(n.likelyMissingPermission) || `one of ${REQUIRED}, or admin consent`]);
    facts.push([
      'Monitoring app (client ID)',
      ctx.links?.clientId ?? 'not set (AZURE_CLIENT_ID): a managed identity or the default credential',
    ]);
    const access = n.problemKind === 'access';
    return {
      title: 'Cannot monitor',
      about: `tenant ${tenant}`,
      what:
        n.errorCode === TENANT_MISMATCH
          ? `Entra Sync Watch does not read tenant ${tenant}: the token it got for it belongs to another tenant, so this tenant's synchronization jobs are not being watched.`
          : access
            ? `Entra Sync Watch cannot read tenant ${tenant}: Graph refused access, so this tenant's synchronization jobs are not being watched.`
            : n.errorCode === NOT_CHECKED
              ? `Entra Sync Watch did not read tenant ${tenant}: the instance it was handed to did not report in time, so this tenant's synchronization jobs are not being watched.`
              : `Entra Sync Watch cannot read tenant ${tenant}: Graph kept failing, so this tenant's synchronization jobs are not being watched.`,
      next: "The monitor tries again every cycle and says so when it can read the tenant again; until then the tenant's job alerts stay as they were.",
      facts,
      scripts: [['Tenant ID', alert.labels.tenantId]],
      runbook: unreadableRunbook(alert, ctx),
      links: unreadableLinks(alert, ctx),
      ended: 'can be read again',
    };
  },
};
