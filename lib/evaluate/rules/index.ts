import type { RuleDefinition } from '../rule';
import { deletionPreventionOff } from './deletion-prevention-off';
import { deletionThreshold } from './deletion-threshold';
import { jobDisabled } from './job-disabled';
import { jobFailing } from './job-failing';
import { jobStalled } from './job-stalled';
import { jobsUnreadable } from './jobs-unreadable';
import { notificationEmailOff } from './notification-email-off';
import { quarantine } from './quarantine';
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
  jobStalled,
  jobFailing,
  scimTokenExpiring,
  deletionPreventionOff,
  notificationEmailOff,
];

const BY_CONDITION = new Map(RULES.map((rule) => [rule.condition, rule]));

/** The rule of a condition; undefined for a condition no longer (or not yet) registered. */
export function ruleFor(condition: string): RuleDefinition | undefined {
  return BY_CONDITION.get(condition);
}

export const CONDITIONS: readonly string[] = RULES.map((rule) => rule.condition);
