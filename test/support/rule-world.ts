import { defaultRuleSettings, type PresentContext } from '../../lib/evaluate/rule';
import { type RuleSettings } from '../../lib/model/policy';
import type { AlertView } from '../../lib/model';
import type { JobSnapshot, ServicePrincipalRef, TenantObservation } from '../../lib/model/observation';

/**
 * The world the rules' edge tests (test/unit/rule-edges*.test.ts) judge: a fixed clock, one
 * configuration, and a healthy job as a normalised snapshot, so that one field at a time can
 * differ from it.
 */

export const NOW = new Date('2026-11-27T12:00:00.000Z');
export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
export const TENANT = 'aaaaaaaa-0000-4000-8000-000000000001';
export const ago = (ms: number) => new Date(NOW.getTime() - ms);
export const later = (ms: number) => new Date(NOW.getTime() + ms);

export const SP: ServicePrincipalRef = {
  id: 'bbbbbbbb-0000-4000-8000-000000000001',
  appId: 'cccccccc-0000-4000-8000-000000000001',
  displayName: 'Fabrikam HR',
  applicationTemplateId: '8adf8e6e-67b2-4cf2-a259-e3dc5476c621',
};
export const JOB_ID = 'scim.aaaaaaaa00004000800000000001.0a1b2c3d-0000-4000-8000-000000000001';

/** A healthy Active job on a 40-minute schedule whose last run ended 10 minutes ago; `patch` replaces top-level fields. */
export function job(patch: Partial<JobSnapshot> = {}): JobSnapshot {
  const ended = ago(10 * MIN);
  return {
    tenantId: TENANT,
    servicePrincipal: SP,
    jobId: JOB_ID,
    templateId: 'scim',
    status: { known: 'Active', raw: 'Active' },
    schedule: { state: { known: 'Active', raw: 'Active' }, interval: 'PT40M', intervalMs: 40 * MIN },
    countSuccessiveCompleteFailures: 0,
    escrowsPruned: false,
    steadyStateFirstAchievedTime: ago(30 * DAY),
    steadyStateLastAchievedTime: ended,
    lastSuccessfulExecution: { timeBegan: ended, timeEnded: ended },
    lastExecution: {
      state: 'Succeeded',
      result: 'Succeeded',
      timeBegan: ended,
      timeEnded: ended,
      countEscrowed: 0,
      countEntitled: 80,
    },
    ...patch,
  };
}

/** The tenant's observation: SP read, no jobs unless given. */
export function tenant(patch: Partial<TenantObservation> = {}): TenantObservation {
  return {
    tenantId: TENANT,
    jobs: [],
    servicePrincipalsRead: new Set([SP.id]),
    servicePrincipalProblems: [],
    ...patch,
  };
}

/** A rule's default settings with some parameters (and other settings) changed. */
export function settingsOf(
  rule: Parameters<typeof defaultRuleSettings>[0],
  params: RuleSettings['params'] = {},
  rest: Partial<RuleSettings> = {},
): RuleSettings {
  const base = defaultRuleSettings(rule);
  return { ...base, ...rest, params: { ...base.params, ...params } };
}

export const CTX: PresentContext = { now: NOW, tenantName: () => undefined, related: [] };

/** The value of a view's fact, by its label. */
export const fact = (view: AlertView, name: string) => view.facts.find(([k]) => k === name)?.[1];
/** A value of a view's details for scripts (IDs, Graph requests). */
export const script = (view: AlertView, name: string) => view.scripts?.find(([k]) => k === name)?.[1];
