import type { Policy } from '../../model/policy';
import type { RuleDefinition } from '../rule';
import { deletionPreventionOff } from './deletion-prevention-off';
import { deletionThreshold } from './deletion-threshold';
import { jobDisabled } from './job-disabled';
import { jobFailing } from './job-failing';
import { jobStalled } from './job-stalled';
import { jobsUnreadable } from './jobs-unreadable';
import { isKqlCondition, kqlRuleDefinition } from './kql';
import { monitoringPartial } from './monitoring-partial';
import { noProvisioningEvents } from './no-provisioning-events';
import { notificationEmailOff } from './notification-email-off';
import { provisioningFailures } from './provisioning-failures';
import { provisioningLogsUnreadable } from './provisioning-logs-unreadable';
import { quarantine } from './quarantine';
import { quarantineLikely } from './quarantine-likely';
import { scimTokenExpiring } from './scim-token-expiring';
import { tenantUnreadable } from './tenant-unreadable';

/**
 * Every condition the monitor knows, in the order alerts are shown (what blocks most first). A new
 * condition is one file in this folder and one line here: config validation, the schema
 * (`npm run schema`), evaluation, inhibition and every channel read this list.
 */
export const RULES: readonly RuleDefinition[] = [
  tenantUnreadable,
  jobsUnreadable,
  deletionThreshold,
  quarantine,
  jobDisabled,
  quarantineLikely,
  jobStalled,
  jobFailing,
  provisioningFailures,
  noProvisioningEvents,
  scimTokenExpiring,
  deletionPreventionOff,
  notificationEmailOff,
  provisioningLogsUnreadable,
  monitoringPartial,
];

const BY_CONDITION = new Map(RULES.map((rule) => [rule.condition, rule]));

/**
 * The rule of a condition: a registered one, or for a `kql-...` condition the presentation of the
 * config's KQL rules (their queries run apart, see lib/evaluate/kql.ts); undefined for a condition
 * no longer (or not yet) registered.
 */
export function ruleFor(condition: string): RuleDefinition | undefined {
  return BY_CONDITION.get(condition) ?? (isKqlCondition(condition) ? kqlRuleDefinition(condition) : undefined);
}

/**
 * Whether a condition judges what the provisioning logs, a KQL query or the coverage built after
 * them say, or (as `rules` set it) a job's history: judged once the logs are read (lib/cycle/cycle.ts).
 */
export function readsLogs(condition: string, rules?: Policy['rules']): boolean {
  if (isKqlCondition(condition)) return true;
  const rule = ruleFor(condition);
  if (rule?.readsLogs === true) return true;
  const policy = rules?.[condition];
  return policy !== undefined && rule?.readsHistory?.(policy) === true;
}

export const CONDITIONS: readonly string[] = RULES.map((rule) => rule.condition);
