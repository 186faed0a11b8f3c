import { matches } from '../model/matchers';
import { DEFAULT_PROVISIONING_LOGS, settingsFor, type Policy } from '../model/policy';
import { deletionPreventionOff } from '../evaluate/rules/deletion-prevention-off';
import { FAILURES_CONDITION } from '../evaluate/rules/provisioning-failures';
import { SILENCE_CONDITION } from '../evaluate/rules/no-provisioning-events';
import { notificationEmailOff } from '../evaluate/rules/notification-email-off';
import { scimTokenExpiring } from '../evaluate/rules/scim-token-expiring';

/**
 * What the config needs of one tenant, so the doctor can tell a failure (the config needs it: exit
 * 1) from a degraded check (it can do without: a warning) and leave alone what is off:
 * - the job reads always (every job rule reads them);
 * - the service principal list, unless the config lists the tenant's configurations itself;
 * - the synchronization secrets for the early warnings, which are optional by design: without
 *   them only those three checks are skipped (never needed, so at worst a warning);
 * - the provisioning logs where a rule that reads them may run (the failure digest, silent jobs),
 *   from Graph (with its P1/P2 licence, and its status filter for the failure reads) or Log Analytics.
 */

/** The rules that read the synchronization secrets. */
export const EARLY_WARNING_RULES = [scimTokenExpiring, notificationEmailOff, deletionPreventionOff].map(
  (r) => r.condition,
);

export interface TenantNeeds {
  /** Service principals the config lists for the tenant (read every cycle, whatever the sweep finds). */
  listed: string[];
  /** The early warnings may run (one of their rules is on for the tenant or one of its apps, and WATCH_SECRETS_READ is not off). */
  earlyWarnings: boolean;
  /** WATCH_SECRETS_READ=off: the secrets are not read at all. */
  secretsReadOff?: boolean;
  /** Where the logs a rule needs come from, or `none` when no rule that reads them may run. */
  logs: 'graph' | 'logAnalytics' | 'none';
  /** The failure digest may run: the Graph reads of failures use the status filter. */
  failureDigest: boolean;
}

/**
 * Whether a rule may run for anything in the tenant: on for the tenant itself, or turned on by an
 * override that can match something in it (an app, a job).
 */
function mayRun(policy: Policy, condition: string, tenant: string, tenantName: string | undefined): boolean {
  const rule = policy.rules[condition];
  if (!rule) return false;
  const subject = { tenant, tenantName };
  if (settingsFor(rule, subject).enabled) return true;
  return rule.overrides.some(
    (o) => o.settings.enabled === true && matches({ tenant: o.match.tenant, tenantName: o.match.tenantName }, subject),
  );
}

export function needsOf(policy: Policy, tenant: string, secretsRead = true): TenantNeeds {
  const name = policy.tenantNames.get(tenant.toLowerCase());
  const runs = (condition: string) => mayRun(policy, condition, tenant, name);
  const failureDigest = runs(FAILURES_CONDITION);
  const logsRead = failureDigest || runs(SILENCE_CONDITION);
  return {
    listed: policy.discovery?.servicePrincipals.get(tenant.toLowerCase()) ?? [],
    earlyWarnings: secretsRead && EARLY_WARNING_RULES.some(runs),
    ...(secretsRead ? {} : { secretsReadOff: true }),
    logs: logsRead ? (policy.provisioningLogs ?? DEFAULT_PROVISIONING_LOGS).source : 'none',
    failureDigest,
  };
}
