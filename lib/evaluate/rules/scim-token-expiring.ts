import { formatTime } from '../../util/text';
import { inUse, secretsInView, servicePrincipalAnnotations } from '../job-facts';
import { appName, configurationScripts, jobLinks, sentences } from '../present';
import type { ServicePrincipalRule } from '../rule';

const DAY = 86_400_000;

type Tier = 'warning' | 'critical' | 'expired';

/** "in 12 days (2026-12-09 00:00 UTC)" or "expired 2026-11-20 00:00 UTC". */
function expiryText(at: string, now: Date, timeZone?: string): string {
  const left = Date.parse(at) - now.getTime();
  if (left <= 0) return `expired ${formatTime(at, timeZone)}`;
  const days = Math.ceil(left / DAY);
  return `expires in ${days === 1 ? '1 day' : `${days} days`} (${formatTime(at, timeZone)})`;
}

/**
 * The secret token a provisioning configuration (usually a SCIM app) authenticates with expires
 * soon: the `TokenExpiration` synchronization secret (reference §1.14; anchors §0). Once the app
 * refuses the token, the job quarantines with invalid credentials. Needs the synchronization
 * secrets to be readable; a warning within `within`, critical within `criticalWithin` or once
 * expired (each step is told at once).
 */
export const scimTokenExpiring: ServicePrincipalRule = {
  condition: 'scim-token-expiring',
  scope: 'servicePrincipal',
  title: 'Secret token expiring',
  counted: { one: 'token expiring', many: 'tokens expiring' },
  description:
    'The secret token a configuration in use authenticates with (synchronization secret TokenExpiration) expires within `within`: critical within `criticalWithin` or once expired. Needs the synchronization secrets to be readable.',
  defaultSeverity: 'warning',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {
    within: {
      type: 'duration',
      default: 30 * DAY,
      min: 0,
      description: 'How long before the token expires the warning starts',
    },
    criticalWithin: {
      type: 'duration',
      default: 3 * DAY,
      min: 0,
      description: 'How long before the token expires the alert becomes critical',
    },
  },
  inView: secretsInView,
  check({ servicePrincipal, jobs, syncSettings, settings, now }) {
    const at = syncSettings?.tokenExpiration?.at;
    if (!at || !inUse(jobs)) return undefined;
    const left = at.getTime() - now.getTime();
    if (left > Number(settings.params.within)) return undefined;
    const tier: Tier = left <= 0 ? 'expired' : left <= Number(settings.params.criticalWithin) ? 'critical' : 'warning';
    return {
      annotations: { ...servicePrincipalAnnotations(servicePrincipal), tokenExpiration: at.toISOString(), tier },
      severity: tier === 'warning' ? undefined : 'critical',
      material: tier,
    };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const app = appName(alert);
    const when = expiryText(String(n.tokenExpiration), ctx.now, ctx.timeZone);
    return {
      title: n.tier === 'expired' ? 'Secret token expired' : 'Secret token expiring',
      about: app,
      what: `The secret token ${app} uses to reach its provisioning endpoint ${when}.`,
      since: undefined,
      next:
        n.tier === 'expired'
          ? 'Provisioning fails (and Entra quarantines the job) as soon as the app refuses the token.'
          : undefined,
      facts: [],
      scripts: configurationScripts(alert),
      runbook: {
        meaning:
          "When the token expires, the app refuses Entra's requests: the job fails and is quarantined with invalid credentials (EncounteredQuarantineException).",
        steps: [
          "Get a new token from the target app's administrator (its SCIM or provisioning settings).",
          'Entra admin center > Enterprise applications > this app > Provisioning > Admin Credentials: paste the new Secret Token, Test Connection, Save.',
          'The alert resolves on the next cycle after the new expiration is stored.',
        ],
      },
      links: jobLinks(alert, ctx),
      ended: 'has a renewed token',
    };
  },
  describeChange(before, after) {
    const said = (tier: string) =>
      tier === 'expired'
        ? 'expired'
        : tier === 'critical'
          ? 'about to expire (critical)'
          : tier === 'warning'
            ? 'expiring (a warning)'
            : tier || 'not known';
    return sentences([`the token was ${said(before)}; it is now ${said(after)}`]);
  },
};
