import { createHash } from 'node:crypto';
import { settingsFor, type Policy, type RulePolicy, type RuleSettings } from '../model/policy';
import type { AlertLabels, EndReason, Finding, MatchLabels } from '../model';
import type { JobSnapshot, MissingConfiguration, ServicePrincipalRef, TenantObservation } from '../model/observation';
import { boundedAnnotations, boundedMaterial } from '../util/text';
import {
  defaultRuleSettings,
  type JobSubject,
  type RuleDefinition,
  type RuleHit,
  type ServicePrincipalRuleInput,
} from './rule';
import { RULES, ruleFor } from './rules';

export function fingerprintOf(labels: AlertLabels): string {
  const key = [labels.tenantId, labels.servicePrincipalId, labels.jobId, labels.condition].join('\u0000');
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

/** What rule overrides can match before an alert exists. */
function subjectOf(
  tenantId: string,
  job: JobSnapshot | JobSubject | undefined,
  tenantNames: Map<string, string>,
  servicePrincipal?: ServicePrincipalRef,
): Partial<MatchLabels> {
  const subject: Partial<MatchLabels> = { tenant: tenantId, tenantName: tenantNames.get(tenantId.toLowerCase()) };
  if (servicePrincipal) {
    subject.servicePrincipal = servicePrincipal.id;
    subject.app = servicePrincipal.displayName || undefined;
  }
  if (job) {
    subject.servicePrincipal = job.servicePrincipal.id;
    subject.app = job.servicePrincipal.displayName || undefined;
    subject.jobTemplate = job.templateId || undefined;
    subject.job = job.jobId;
  }
  return subject;
}

function findingOf(rule: RuleDefinition, tenantId: string, hit: RuleHit, settings: RuleSettings): Finding {
  const labels: AlertLabels = {
    tenantId,
    servicePrincipalId: hit.job?.servicePrincipal.id ?? '-',
    jobId: hit.job?.jobId ?? '-',
    condition: rule.condition,
  };
  return {
    fingerprint: fingerprintOf(labels),
    labels,
    severity: hit.severity ?? settings.severity,
    pendingCycles: hit.pendingCycles ?? settings.pendingCycles,
    // Bounded here, where findings are made, so what is compared, stored and sent is the same text.
    annotations: boundedAnnotations(hit.annotations),
    material: boundedMaterial(hit.material),
  };
}

export interface EvaluateOptions {
  now: Date;
  /** The config's rule settings; rules absent here use their defaults. */
  rules?: Policy['rules'];
  tenantNames?: Map<string, string>;
  /** The rules to run (default: every registered rule). */
  registry?: readonly RuleDefinition[];
}

/**
 * Runs every enabled rule over one tenant's observation: tenant rules once, job rules once per
 * job, each with its settings for that subject (the config's overrides per tenant, app or job).
 * Pure: the same observation, config and clock give the same findings.
 */
export function evaluateTenant(observation: TenantObservation, options: EvaluateOptions): Finding[] {
  const { now, rules = {}, tenantNames = new Map(), registry = RULES } = options;
  const findings: Finding[] = [];
  for (const rule of registry) {
    const policy: RulePolicy = rules[rule.condition] ?? { settings: defaultRuleSettings(rule), overrides: [] };
    if (rule.scope === 'tenant') {
      const settings = settingsFor(policy, subjectOf(observation.tenantId, undefined, tenantNames));
      if (!settings.enabled && !policy.overrides.some((o) => o.settings.enabled)) continue;
      const settingsForJob = (job: JobSubject) =>
        settingsFor(policy, subjectOf(observation.tenantId, job, tenantNames));
      for (const hit of rule.check({ tenant: observation, settings, now, settingsForJob })) {
        const hitSettings = hit.job ? settingsForJob(hit.job) : settings;
        if (hitSettings.enabled) findings.push(findingOf(rule, observation.tenantId, hit, hitSettings));
      }
      continue;
    }
    if (observation.problem) continue; // nothing was read: job rules have nothing to judge
    if (rule.scope === 'servicePrincipal') {
      for (const input of servicePrincipalInputs(observation)) {
        const settings = settingsFor(
          policy,
          subjectOf(observation.tenantId, undefined, tenantNames, input.servicePrincipal),
        );
        if (!settings.enabled) continue;
        const hit = rule.check({ ...input, tenant: observation, settings, now });
        if (hit)
          findings.push(
            findingOf(
              rule,
              observation.tenantId,
              { ...hit, job: hit.job ?? { jobId: '-', servicePrincipal: input.servicePrincipal } },
              settings,
            ),
          );
      }
      continue;
    }
    for (const job of observation.jobs) {
      const settings = settingsFor(policy, subjectOf(observation.tenantId, job, tenantNames));
      if (!settings.enabled) continue;
      const hit = rule.check({ job, tenant: observation, settings, now });
      if (hit) findings.push(findingOf(rule, observation.tenantId, hit, settings));
    }
  }
  return findings;
}

/** Each service principal of an observation with its jobs, secrets and problem, in a stable order. */
function servicePrincipalInputs(
  observation: TenantObservation,
): Pick<ServicePrincipalRuleInput, 'servicePrincipal' | 'jobs' | 'syncSettings' | 'problem'>[] {
  const refs = new Map<string, ServicePrincipalRef>();
  for (const sp of observation.servicePrincipals ?? []) refs.set(sp.id, sp);
  for (const job of observation.jobs)
    if (!refs.has(job.servicePrincipal.id)) refs.set(job.servicePrincipal.id, job.servicePrincipal);
  for (const { servicePrincipal } of observation.servicePrincipalProblems)
    if (!refs.has(servicePrincipal.id)) refs.set(servicePrincipal.id, servicePrincipal);
  return [...refs.values()].map((servicePrincipal) => ({
    servicePrincipal,
    jobs: observation.jobs.filter((j) => j.servicePrincipal.id === servicePrincipal.id),
    syncSettings: observation.syncSettings?.get(servicePrincipal.id),
    problem: observation.servicePrincipalProblems.find((p) => p.servicePrincipal.id === servicePrincipal.id)?.problem,
  }));
}

/**
 * Whether an existing alert can be judged from this observation. Alerts of a tenant that could not
 * be read, or of a service principal whose jobs could not be read, are held as they were: absence
 * of evidence is not a recovery. A rule may judge otherwise (a tenant-wide alert is always judged).
 */
export function inView(labels: AlertLabels, observation: TenantObservation): boolean {
  if (labels.tenantId !== observation.tenantId) return false;
  // A configuration missing from this read is judged only once a later read confirmed it gone.
  const missing = observation.problem ? undefined : missingOf(labels, observation);
  if (missing) return missing.confirmed;
  const rule = ruleFor(labels.condition);
  if (rule?.inView) return rule.inView(labels, observation);
  if (observation.problem) return false;
  if (observation.servicePrincipalProblems.some((p) => p.servicePrincipal.id === labels.servicePrincipalId))
    return false;
  // A service principal that is no longer listed (deleted, or no longer watched) has no jobs.
  return true;
}

/** The missing configuration (its service principal, or its job) an alert is about, if this read missed it. */
function missingOf(labels: AlertLabels, observation: TenantObservation): MissingConfiguration | undefined {
  if (labels.servicePrincipalId === '-') return undefined;
  const sp = labels.servicePrincipalId.toLowerCase();
  return observation.missing?.find(
    (m) => m.servicePrincipal.id.toLowerCase() === sp && (m.jobId === undefined || m.jobId === labels.jobId),
  );
}

/**
 * What a read says of an alert's configuration beyond its findings: it is gone (confirmed: the
 * alert ends as such), or it was not seen on the last read and is being confirmed (the alert is
 * held, since when it was first missed).
 */
export function absenceOf(
  labels: AlertLabels,
  observation: TenantObservation,
): { endReason?: EndReason; missingSince?: string } {
  if (labels.tenantId !== observation.tenantId || observation.problem) return {};
  const missing = missingOf(labels, observation);
  if (!missing) return {};
  return missing.confirmed ? { endReason: 'configuration-gone' } : { missingSince: missing.since };
}

/** A rule's settings for one job, as evaluation will apply them (the cycle needs them before it: e.g. a digest's window). */
export function ruleSettingsForJob(
  condition: string,
  tenantId: string,
  job: JobSubject,
  rules: Policy['rules'] = {},
  tenantNames: Map<string, string> = new Map(),
): RuleSettings | undefined {
  const rule = ruleFor(condition);
  if (!rule) return undefined;
  const policy = rules[rule.condition] ?? { settings: defaultRuleSettings(rule), overrides: [] };
  return settingsFor(policy, subjectOf(tenantId, job, tenantNames));
}

/** How long an alert keeps firing after its condition was last seen, for its subject. */
export function keepFiringForMs(
  labels: AlertLabels,
  rules: Policy['rules'],
  tenantNames: Map<string, string> = new Map(),
): number {
  const rule = ruleFor(labels.condition);
  if (!rule) return 0;
  const policy = rules[rule.condition] ?? { settings: defaultRuleSettings(rule), overrides: [] };
  const subject: Partial<MatchLabels> = {
    tenant: labels.tenantId,
    tenantName: tenantNames.get(labels.tenantId.toLowerCase()),
    servicePrincipal: labels.servicePrincipalId,
    job: labels.jobId,
  };
  const settings = settingsFor(policy, subject);
  return rule.keepFiringFor?.(settings) ?? settings.keepFiringForMs;
}
