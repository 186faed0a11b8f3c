import type { ChannelTarget, MatchLabels, Severity } from './index';
import { matches } from './matchers';
import type { Matchers, MaintenanceWindowConfig } from './config-file';

/** A route with every default applied and a stable id (its path in the tree: `root`, `root.0`, `root.0.1`). */
export interface Route {
  id: string;
  match?: Matchers;
  to: string[];
  cc: string[];
  repeatMs: Record<Severity, number>;
  sendResolved: boolean;
  continue: boolean;
  routes: Route[];
  /** Channels besides email (Teams, webhooks); inherited from the parent when not given. */
  channels?: ChannelTarget[];
  /** A daily digest of this route's alerts (not inherited). */
  digest?: DigestPolicy;
  /** The IANA time zone its messages show times in (canonical); inherited from the parent; absent: UTC. */
  timeZone?: string;
  /** On a receiver (dispatch/route.ts receiversOf): the channel this copy of the route delivers to; absent for email. */
  channel?: ChannelTarget;
  /** Who hears of an alert of this route that nobody acknowledged in time, step by step (not inherited). */
  escalate?: EscalationStep[];
  /** On a receiver of an escalation step (receiversOf): which step, after how long, for which severities. */
  escalation?: { step: number; afterMs: number; severities?: Severity[] };
}

/**
 * One step of a route's escalation: an alert of the route firing and unacknowledged for `afterMs`
 * (from its firing start, or from when a change cleared its acknowledgement) is sent once to these
 * recipients and channels, as an escalation notice with its own notification log.
 */
export interface EscalationStep {
  afterMs: number;
  to: string[];
  cc: string[];
  channels?: ChannelTarget[];
  /** Only alerts of these severities escalate (absent: every severity). */
  severities?: Severity[];
}

/** Once a day at a local time in an IANA time zone: open alerts, what resolved, silences ending soon, or all healthy. */
export interface DigestPolicy {
  /** Local `HH:MM`. */
  at: string;
  /** IANA time zone, canonical (`Europe/Berlin`): its own, else the route's `timeZone`, else UTC. */
  timeZone: string;
}

export interface Silence {
  matchers: Matchers;
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
}

/** A rule's settings from the config: the rule-wide ones, then overrides for matching subjects (later ones win). */
export interface RulePolicy {
  settings: RuleSettings;
  overrides: {
    match: Matchers;
    settings: Partial<Omit<RuleSettings, 'params'>> & { params?: RuleSettings['params'] };
  }[];
}

/** The validated config with defaults applied: what the pipeline stages read. */
export interface Policy {
  route: Route;
  silences: Silence[];
  maintenanceWindows: MaintenanceWindowConfig[];
  /** Per condition; a condition absent here uses its rule's defaults. */
  rules: Record<string, RulePolicy>;
  budget: { perMinute: number; perHour: number };
  heartbeat?: { url: string; method: 'GET' | 'POST' };
  /** Lower-case tenant id → name. */
  tenantNames: Map<string, string>;
  /** How service principals with synchronization jobs are found (absent: the defaults). */
  discovery?: DiscoveryPolicy;
  /** Where provisioning events come from and how much a cycle reads (default: Graph, see logs-config.ts). */
  provisioningLogs?: ProvisioningLogsPolicy;
  /** The config's own rules over a Log Analytics workspace (enabled ones). */
  kqlRules?: KqlRule[];
  /** Who may act on alerts (decisions from an alert); absent: the app role SyncWatch.Operator everywhere. */
  actions?: ActionsAccess;
}

/** Who may act: an app role, or membership of a group (object IDs), in the ID token of the sign-in. */
export interface Operators {
  roles: string[];
  groups: string[];
}

/** The config's `actions` section: who may act anywhere, and per customer tenant who may act there instead. */
export interface ActionsAccess {
  operators: Operators;
  /** Lower-case tenant ID → who may act on that tenant's alerts. */
  tenants: Map<string, Operators>;
}

interface DiscoveryPolicy {
  /** How often every service principal is swept for jobs. */
  refreshMs: number;
  /** Lower-case tenant id (or domain) → service principal object ids read every cycle. */
  servicePrincipals: Map<string, string[]>;
}

/** A sweep of every service principal once a day; between sweeps only the known ones are read. */
export const DEFAULT_DISCOVERY_REFRESH_MS = 24 * 3600_000;

export const DEFAULT_REPEAT_MS: Record<Severity, number> = { critical: 4 * 3600_000, warning: 24 * 3600_000 };
/** What kind of domain ACS sends from: Azure-managed (`*.azurecomm.net`) or the user's own verified one. */
export type EmailDomainKind = 'managed' | 'custom';

/**
 * ACS's sending limits per kind of sender domain, counted per subscription (Learn, "Service limits
 * for Azure Communication Services", Rate limits for Email; docs/reference/platform-notes.md §4.4):
 * an Azure-managed domain accepts 5 emails a minute and 10 an hour, and Microsoft does not raise
 * them; a custom domain starts at 30 and 100, which a support request can raise (then say so in
 * `sendBudget`). A budget above them only turns into 429s.
 */
export const SEND_BUDGETS: Record<EmailDomainKind, { perMinute: number; perHour: number }> = {
  managed: { perMinute: 5, perHour: 10 },
  custom: { perMinute: 30, perHour: 100 },
};

/** The budget when nothing says what the sender domain is: the lower, the managed domain's. */
export const DEFAULT_BUDGET = SEND_BUDGETS.managed;

/**
 * The settings of a rule for one subject: its rule-wide settings with every matching override
 * laid over them in order. The subject is what is known before an alert exists (tenant, app,
 * job...), so overrides match on those labels only.
 */
export function settingsFor(rule: RulePolicy, subject: Partial<MatchLabels>): RuleSettings {
  let settings = rule.settings;
  for (const override of rule.overrides) {
    if (!matches(override.match, subject)) continue;
    const { params, ...rest } = override.settings;
    settings = { ...settings, ...rest, params: { ...settings.params, ...params } };
  }
  return settings;
}

// ---- rules -------------------------------------------------------------------------------------

export type ParamValues = Record<string, number | boolean | string>;

/** A rule's settings for one subject, after the config's defaults and overrides are applied. */
export interface RuleSettings {
  enabled: boolean;
  severity: Severity;
  /** Consecutive cycles a condition must be seen before it fires. */
  pendingCycles: number;
  /** How long an alert keeps firing after its condition was last seen (flap damping). */
  keepFiringForMs: number;
  params: ParamValues;
}

// ---- provisioning logs and KQL rules ------------------------------------------------------------------

/** A custom condition's name: `kql-` and lower-case words, so it never collides with a built-in condition. */
export const KQL_NAME = /^kql-[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const THRESHOLD_OPERATORS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type ThresholdOperator = (typeof THRESHOLD_OPERATORS)[number];

/** Labels a KQL rule's alerts carry, for routes, silences and subjects. */
export interface KqlLabels {
  tenant?: string;
  servicePrincipal?: string;
  job?: string;
  app?: string;
  jobTemplate?: string;
}

/** A user-defined rule over a Log Analytics workspace: it fires when its query's result crosses the threshold. */
export interface KqlRule {
  /** Also its condition in routes and silences. */
  name: string;
  query: string;
  /** The time span the query runs over. */
  timeSpanMs: number;
  /** On the number of rows, or (with `column`) on that column of any row. */
  threshold: { column?: string; operator: ThresholdOperator; value: number };
  severity: Severity;
  pendingCycles: number;
  labels: KqlLabels;
  description?: string;
  steps?: string[];
}

export interface ProvisioningLogsPolicy {
  /** Where provisioning events come from: Graph, or the workspace in LOG_ANALYTICS_WORKSPACE_ID. */
  source: 'graph' | 'logAnalytics';
  /** Pages of events one cycle reads per tenant before the rest waits for the next cycle. */
  maxPagesPerCycle: number;
  /** How far before its watermark each read starts, for events that arrive late. */
  overlapMs: number;
  /** The most the overlap widens to when events arrive later than it (the reader measures how late they are). */
  maxOverlapMs: number;
  /**
   * A tenant whose jobs show no trouble and that has no open log alert has its logs read at least
   * once in this period, on a rotation spread evenly over it (lib/cycle/log-plan.ts); 0 reads every
   * tenant's logs every cycle.
   */
  rotationMs: number;
  /**
   * Up to this many watched tenants, every tenant's logs are read every cycle: they fit within one
   * 10-second window of Graph's reports limit (122 requests per app), so the rotation would save
   * no time and only make failures that leave no trace in the job status wait.
   */
  everyCycleUpTo: number;
}

export const DEFAULT_PROVISIONING_LOGS: ProvisioningLogsPolicy = {
  source: 'graph',
  maxPagesPerCycle: 20,
  overlapMs: 15 * 60_000,
  maxOverlapMs: 2 * 3600_000,
  rotationMs: 3600_000,
  everyCycleUpTo: 100,
};
