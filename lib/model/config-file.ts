import type { Condition, Severity } from './index';

/**
 * The optional JSON config file (WATCH_CONFIG): routing, silences, maintenance windows, rules,
 * send budget, heartbeat and per-tenant names. Everything has a default; an absent file means
 * "everything to ALERT_EMAIL_TO, reminders every 4 h, resolved notices on".
 * `config.schema.json` describes the same shape for editors.
 */

/** A label to match and what it must be: a string (`*` is a wildcard, case-insensitive) or a list of them (any). */
export type MatchValue = string | string[];

/** Labels an alert can be matched on. All given ones must match. */
export interface Matchers {
  tenant?: MatchValue;
  /** The tenant's name from `tenants` in this config. */
  tenantName?: MatchValue;
  servicePrincipal?: MatchValue;
  /** The service principal's display name, e.g. `Fabrikam to Contoso` or `Fabrikam*`. */
  app?: MatchValue;
  /** The job's templateId, e.g. `Azure2Azure`, `scim`. */
  jobTemplate?: MatchValue;
  job?: MatchValue;
  condition?: Condition | Condition[];
  severity?: Severity | Severity[];
}

/** A duration such as `30s`, `5m`, `4h`, `1d`, `1h30m`. */
type DurationText = string;

interface RouteConfig {
  /** Which alerts this route takes (all, when absent). Not allowed on the root route. */
  match?: Matchers;
  /** Recipients; a child inherits its parent's when it gives none. The root defaults to ALERT_EMAIL_TO. */
  to?: string[];
  cc?: string[];
  /** Repeat while firing: one duration, or one per severity. */
  repeatInterval?: DurationText | Partial<Record<Severity, DurationText>>;
  /** Send a notice when an alert resolves (default true). */
  sendResolved?: boolean;
  /** After this route matched, go on matching its later siblings too (default false). */
  continue?: boolean;
  routes?: RouteConfig[];
  /** Channels besides email; a child inherits its parent's when it gives none (`[]` stops it). */
  channels?: ChannelConfig[];
  /** A daily digest of this route's alerts at a local time (not inherited); in the route's time zone unless it names one. */
  digest?: { at: string; timeZone?: string };
  /** The IANA time zone its messages show times in (e.g. `Europe/Berlin`); inherited; UTC by default. */
  timeZone?: string;
}

/**
 * A channel besides email. URLs and secrets are secrets: the config names the app settings that
 * hold them (`TEAMS_OPS_URL`), never the values.
 */
type ChannelConfig =
  | { type: 'teams'; urlSetting: string; cardVersion?: '1.4' | '1.5' }
  | { type: 'webhook'; urlSetting: string; secretSetting: string };

interface SilenceConfig {
  matchers: Matchers;
  /** ISO 8601 date-times. */
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface WeeklyWindow {
  /** Days the window starts on (a window past midnight ends the next day). */
  days: Weekday[];
  /** Local `HH:MM` in `timeZone`. */
  start: string;
  /** Local `HH:MM`; at or before `start` means the next day. */
  end: string;
}

export interface MaintenanceWindowConfig {
  name: string;
  matchers: Matchers;
  /** IANA time zone, e.g. `Europe/Berlin`. */
  timeZone: string;
  weekly: WeeklyWindow[];
  createdBy: string;
  comment: string;
}

/** A rule's settings; each rule adds its own parameters (thresholds) beside these, listed in config.schema.json. */
interface RuleSettingsConfig {
  /** Off: the condition is never raised (default on). */
  enabled?: boolean;
  severity?: Severity;
  /** Consecutive cycles the condition must be seen before it fires. */
  pendingCycles?: number;
  /** Keep firing this long after the condition was last seen, to damp flapping. */
  keepFiringFor?: DurationText;
  [param: string]: unknown;
}

interface RuleConfig extends RuleSettingsConfig {
  /** Settings for some tenants, apps or jobs; later overrides win. */
  overrides?: (RuleSettingsConfig & { match: Omit<Matchers, 'condition' | 'severity'> })[];
}

export interface WatchConfig {
  $schema?: string;
  route?: RouteConfig;
  silences?: SilenceConfig[];
  maintenanceWindows?: MaintenanceWindowConfig[];
  rules?: Record<Condition, RuleConfig>;
  /** Emails per minute and per hour, across all instances (default: the sender domain's ACS limits, SEND_BUDGETS). */
  sendBudget?: { perMinute?: number; perHour?: number };
  /** Called after each cycle that did its whole job (a dead man's switch). */
  heartbeat?: { url: string; method?: 'GET' | 'POST' };
  /** Names for tenant IDs, used in subjects and for matching (`tenantName`). */
  tenants?: Record<string, { name: string }>;
  /** How the configurations (service principals) that own synchronization jobs are found. */
  discovery?: DiscoveryConfig;
  /** Where provisioning events are read from and how much one cycle reads. */
  provisioningLogs?: {
    source?: 'graph' | 'logAnalytics';
    maxPagesPerCycle?: number;
    overlap?: DurationText;
    maxOverlap?: DurationText;
    /** A tenant whose jobs show no trouble has its logs read at least once in this period (default 1h; 0m: every cycle). */
    rotation?: DurationText;
    /** Up to this many watched tenants, every tenant's logs are read every cycle (default 100). */
    everyCycleUpTo?: number;
  };
  /** Rules over a Log Analytics workspace (LOG_ANALYTICS_WORKSPACE_ID); each name is also a condition. */
  kqlRules?: KqlRuleConfig[];
}

interface DiscoveryConfig {
  /**
   * How often every service principal of a tenant is swept for synchronization jobs (default 1d);
   * between sweeps only those found to own jobs are read. A tenant new to the monitor is swept at once.
   */
  refreshInterval?: DurationText;
  /** Service principals (object IDs) read every cycle whatever a sweep finds, per tenant (ID or domain, as in WATCH_TENANTS). */
  servicePrincipals?: Record<string, string[]>;
}

/** A user-defined rule: a KQL query, run every cycle over `timeSpan`, alerting when its result crosses `threshold`. */
interface KqlRuleConfig {
  /** `kql-` and lower-case words: the condition its alerts carry, for routes and silences. */
  name: string;
  query: string;
  timeSpan: DurationText;
  /** On the row count, or with `column` on that column of any row; operator default `>=`. */
  threshold: { column?: string; operator?: '>' | '>=' | '<' | '<=' | '==' | '!='; value: number };
  severity?: Severity;
  pendingCycles?: number;
  /** Labels its alerts carry for routing (no wildcards). */
  labels?: { tenant?: string; servicePrincipal?: string; job?: string; app?: string; jobTemplate?: string };
  description?: string;
  steps?: string[];
  enabled?: boolean;
}
