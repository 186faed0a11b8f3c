import type { AlertLabels, AlertRecord, AlertView, Annotations, LinkTargets, Severity } from '../model';
import type {
  AccessProblem,
  JobSnapshot,
  ServicePrincipalRef,
  SyncSettings,
  TenantObservation,
} from '../model/observation';
import type { RulePolicy, RuleSettings } from '../model/policy';

/**
 * The contract of one condition. Each lives in its own file under rules/ and is registered in
 * rules/index.ts; config validation, the schema, evaluation, inhibition and every channel read it
 * from there, so adding a condition touches nothing else.
 */

/** A tunable of a rule, declared once for config validation, the schema and the conditions table of docs/configuration.md. */
export interface ParamSpec {
  /** `duration` values are milliseconds in code and duration text (`30m`, `6h`, `P1D`) in the config file. */
  type: 'integer' | 'number' | 'duration' | 'boolean' | 'choice';
  default: number | boolean | string;
  /** The values a `choice` takes. */
  choices?: readonly string[];
  /** Inclusive bounds for numbers (durations: milliseconds). */
  min?: number;
  max?: number;
  description: string;
}

/** What a rule found about one subject; evaluate.ts makes a Finding of it. */
export interface RuleHit {
  /** The job it is about; absent for a tenant-wide condition. */
  job?: Pick<JobSnapshot, 'jobId' | 'servicePrincipal'> & Partial<Pick<JobSnapshot, 'templateId'>>;
  /** A severity other than the configured one (e.g. raised in a quarantine's last week). */
  severity?: Severity;
  /** A pending period other than the configured one (e.g. longer for a transient problem). */
  pendingCycles?: number;
  annotations: Annotations;
  /** See Finding.material. */
  material?: string;
}

interface JobRuleInput {
  job: JobSnapshot;
  tenant: TenantObservation;
  settings: RuleSettings;
  now: Date;
}

/** One service principal (a configuration, e.g. a Cloud Sync agent config with three jobs), for settings shared by its jobs. */
export interface ServicePrincipalRuleInput {
  servicePrincipal: ServicePrincipalRef;
  /** Its jobs as read this cycle (none when they could not be read). */
  jobs: JobSnapshot[];
  /** What its synchronization secrets say; undefined when they were not read. */
  syncSettings?: SyncSettings;
  /** Why its jobs could not be read this cycle, if they could not. */
  problem?: AccessProblem;
  tenant: TenantObservation;
  settings: RuleSettings;
  now: Date;
}

interface TenantRuleInput {
  tenant: TenantObservation;
  settings: RuleSettings;
  now: Date;
  /** The rule's settings for one job of the tenant (its per-app or per-job overrides applied), for rules that judge jobs from tenant-wide data. */
  settingsForJob?(job: JobSubject): RuleSettings;
}

/** What is known of a job before it is an alert, for rule overrides: from a job snapshot or from its provisioning events. */
export interface JobSubject {
  jobId: string;
  servicePrincipal: { id: string; displayName?: string };
  templateId?: string;
}

export interface PresentContext {
  now: Date;
  /** The tenant's name from the config, if it has one. */
  tenantName(tenantId: string): string | undefined;
  /** Other alerts about the same job as it stands now (to say, e.g., that a quarantine ended because the job was disabled). */
  related: AlertRecord[];
  /** Where admin-center and consent links point (the tenants' cloud, the monitoring app); default: the global cloud. */
  links?: LinkTargets;
  /** The IANA time zone times are shown in (the route's `timeZone`); default UTC. */
  timeZone?: string;
}

interface RuleBase {
  /** The condition name: part of every fingerprint and route matcher, so it never changes once released. */
  condition: string;
  /** Short name for subjects and headings: `Quarantined`, `Job stalled`. */
  title: string;
  /** How a summary counts its alerts: `1 deletion hold`, `3 deletion holds`. */
  counted: { one: string; many: string };
  /** What the condition means and when it fires, in plain English (docs/configuration.md, schema descriptions). */
  description: string;
  defaultSeverity: Severity;
  /** Whether the condition is on without a config saying so (default true; an opt-in condition says false). */
  defaultEnabled?: boolean;
  defaultPendingCycles: number;
  defaultKeepFiringForMs: number;
  params: Record<string, ParamSpec>;
  /**
   * A root cause mutes the lesser (non-root-cause) alerts of the same job while it fires: a
   * quarantined job need not also report that it fails or stalls.
   */
  rootCause?: boolean;
  /**
   * The rule judges what the provisioning logs (or the coverage built after them) say: it is
   * judged in a cycle's second delivery, once the logs are read, not with the job alerts that go
   * out first (lib/cycle/cycle.ts).
   */
  readsLogs?: boolean;
  /**
   * The rule reads, as the config sets it, what a cycle learns after the jobs (a job's history,
   * lib/cycle/baselines.ts): then it is judged in the second delivery too, since in the first one
   * the history of a tenant whose logs are still being read is not there yet.
   */
  readsHistory?(rule: RulePolicy): boolean;
  /** How long its alerts keep firing after the condition was last seen, when its settings call for more than `keepFiringFor` (default: `keepFiringFor`). */
  keepFiringFor?(settings: RuleSettings): number;
  /** Whether an existing alert of this rule can be judged from this cycle's observation; default: the job's tenant and service principal were read. */
  inView?(labels: AlertLabels, tenant: TenantObservation): boolean;
  /** What every channel shows of an alert of this rule. */
  present(alert: AlertRecord, ctx: PresentContext): AlertView;
  /**
   * For a rule whose hits carry a `material`: what changed, in a sentence or two, from the material
   * the route heard before to the one the change notice tells of. A change notice says it first,
   * so the reader need not remember the last email.
   */
  describeChange?(before: string, after: string): string | undefined;
}

export interface JobRule extends RuleBase {
  scope: 'job';
  /** Judges one job; undefined when the condition does not hold. */
  check(input: JobRuleInput): RuleHit | undefined;
}

/** A condition of a whole configuration (service principal): its alerts carry job `-`. */
export interface ServicePrincipalRule extends RuleBase {
  scope: 'servicePrincipal';
  check(input: ServicePrincipalRuleInput): RuleHit | undefined;
}

export interface TenantRule extends RuleBase {
  scope: 'tenant';
  /** Judges a whole tenant observation. */
  check(input: TenantRuleInput): RuleHit[];
}

export type RuleDefinition = JobRule | ServicePrincipalRule | TenantRule;

/** A rule's settings as the registry declares them, before the config changes any. */
export function defaultRuleSettings(rule: RuleDefinition): RuleSettings {
  return {
    enabled: rule.defaultEnabled ?? true,
    severity: rule.defaultSeverity,
    pendingCycles: rule.defaultPendingCycles,
    keepFiringForMs: rule.defaultKeepFiringForMs,
    params: Object.fromEntries(Object.entries(rule.params).map(([name, spec]) => [name, spec.default])),
  };
}
