/**
 * The ground floor: the types every stage of a cycle speaks. Nothing here imports from a stage,
 * so config, observe, evaluate, reconcile, dispatch, notify and store can all import from here
 * without any of them importing from a stage above it.
 *
 *   finding (evaluate) → alert record (reconcile, store) → notification item (dispatch, dedup)
 *   → planned email (notify, store) → cycle summary (cycle, status, heartbeat)
 */

// ---- what Graph says ---------------------------------------------------------------------------

/** An enum value from Graph: the canonical spelling when we know it, otherwise the raw text. */
export interface EnumValue<T extends string> {
  known?: T;
  raw: string;
}

// ---- alerts -------------------------------------------------------------------------------------

/** How urgent an alert is; each has its own repeat interval. */
export type Severity = 'critical' | 'warning';
export const SEVERITIES: readonly Severity[] = ['critical', 'warning'];

/**
 * A condition a rule raises (`quarantine`, `job-stalled`, ...). The names come from the rule
 * registry (lib/evaluate/rules/index.ts) and user-defined rules in the config file; they are part
 * of every fingerprint and every route matcher, so a name never changes once released.
 */
export type Condition = string;

/** Stable identity of an alert. `-` stands for "not applicable" (a tenant-wide alert has no job). */
export interface AlertLabels {
  tenantId: string;
  servicePrincipalId: string;
  jobId: string;
  condition: Condition;
}

/**
 * What routes, silences, rule overrides and inhibition see of an alert (or, before it is one, of a
 * job): the names the config file's matchers use.
 */
export interface MatchLabels {
  tenant: string;
  /** The tenant's name from the config file. */
  tenantName?: string;
  servicePrincipal: string;
  /** The service principal's display name. */
  app?: string;
  /** The job's templateId. */
  jobTemplate?: string;
  job: string;
  condition: Condition;
  severity: Severity;
}

/** What JSON holds: the entries of a structured annotation. */
export type StructuredValue =
  string | number | boolean | null | StructuredValue[] | { [key: string]: StructuredValue | undefined };

/**
 * An annotation a rule's view reads back entry by entry (a digest's error codes, a sample of held
 * objects, a KQL rule's rows). Kept as structure, never as JSON text: a bound on text could cut it
 * into something that no longer parses. Bounded by what it holds (lib/text.ts, boundedList).
 */
export type AnnotationList = StructuredValue[];

/** Facts that may change from cycle to cycle without making a new alert. All plain JSON. */
export type Annotations = Record<string, string | number | boolean | undefined | AnnotationList>;

/** What one rule found about one subject this cycle. */
export interface Finding {
  fingerprint: string;
  labels: AlertLabels;
  severity: Severity;
  /** Consecutive cycles the condition must be seen before it fires; 0 fires at once. */
  pendingCycles: number;
  annotations: Annotations;
  /**
   * What is worth telling again at once when it changes while the alert fires (a new quarantine
   * reason or error code, a new failing error code, a new threshold tier). Other annotation
   * changes only update the alert in place. Undefined: nothing beyond firing and resolving.
   */
  material?: string;
}

type AlertState = 'pending' | 'firing' | 'resolved';

/**
 * Why an alert ended other than by its condition clearing: its configuration was confirmed gone
 * from Graph, or its tenant was taken out of the watched tenants. Neither is a recovery, so its
 * notice never says "Resolved".
 */
export type EndReason = 'configuration-gone' | 'no-longer-watched';

/**
 * What a notice says: it started, it is still on, it changed materially, someone decided from it, it
 * ended; or (to an escalation step's receivers, once per firing period) that nobody acknowledged it in time.
 */
export type NotificationKind = 'firing' | 'reminder' | 'changed' | 'decided' | 'resolved' | 'escalation';

/**
 * A decision someone made from an alert's message (lib/actions/), as notices tell it: the decided
 * notice of the alert's routes, and the resolved notice that follows. Plain JSON, kept with the
 * planned notice in the outbox.
 */
export interface DecisionNote {
  /** The decide link's id: one decision per link. */
  linkId: string;
  /** `Deletes approved`, `Retried`. */
  title: string;
  /** `Adele Vance (adele.vance@contoso.com)`. */
  by: string;
  /** When Graph accepted it (ISO). */
  at: string;
  /** What was asked of Graph and what it answered, in a sentence. */
  detail: string;
}

/** A decision about one firing period of one alert. */
export interface AlertDecision extends DecisionNote {
  fingerprint: string;
  /** The firing period it was made in (the alert's startsAt then). */
  startsAt: string;
}

/**
 * Someone said "I'm on it" about one firing period of an alert (an Acknowledge link, confirmed).
 * Kept on the alert's own row, so one ETag guards the alert, what was sent about it and who
 * acknowledged it. While it holds, no route or channel is reminded of the alert and no escalation
 * step fires; a change notice (new reason or code) or a higher severity clears it (`cleared`), and
 * a new firing period starts without one.
 */
export interface Acknowledgement {
  /** The firing period it is about: the alert's `startsAt` when it was made. */
  startsAt: string;
  /** Who: the recipient chosen on the confirmation page, the name given there, or the signed-in person. */
  by: string;
  /** When (ISO). */
  at: string;
  /** Their comment, bounded; absent when none was given. */
  comment?: string;
  /** The receiver (route or route's channel) whose message carried the link: `root.0`, `root.0~teams:TEAMS_OPS_URL`. */
  via: string;
  /** The link it was made with (its use in the link ledger). */
  linkId: string;
  /** Set when a change cleared it (reminders and escalation resume): when, and why in a few words. */
  cleared?: { at: string; why: string };
}

/**
 * What one route was last told about an alert: its notification log entry (Alertmanager's nflog).
 * Kept on the alert's own row, so one ETag guards the alert and what was sent about it.
 */
export interface RouteLog {
  /** The firing period the route was told about. */
  startsAt: string;
  /** When the last firing notice, change or reminder for that period went out. */
  lastAt: string;
  /** Reminders sent for that period. */
  reminders: number;
  /** Whether its resolved notice went out. */
  resolved: boolean;
  /** The alert's `material` as the route last heard it (undefined: told before materials existed). */
  material?: string;
  /** The decisions (decide link ids) of that period the route was told of. */
  decisions?: string[];
  /**
   * An earlier period the route was told began and not yet told ended: its firing notice went out
   * late (it waited in the outbox) together with this period's, so the log moved on before that
   * end could be told. Its resolved notice is owed until it goes out.
   */
  unresolvedBefore?: string;
}

/** One alert as the store keeps it between cycles. */
export interface AlertRecord {
  fingerprint: string;
  labels: AlertLabels;
  severity: Severity;
  state: AlertState;
  annotations: Annotations;
  /** The finding's `material` as last seen. */
  material?: string;
  /** When the current (or last) firing period began. */
  startsAt?: string;
  /** When the last firing period ended. */
  endsAt?: string;
  /** When the condition was last seen. */
  lastSeenAt?: string;
  /** Consecutive cycles seen while pending. */
  pendingCount?: number;
  /** Why it ended, when not by its condition clearing (absent: it cleared, or it has not ended). */
  endReason?: EndReason;
  /**
   * Since when its configuration has been missing from Graph's reads while that is confirmed
   * (lib/observe/observe.ts): the alert is held meanwhile, and the status page says so.
   */
  missingSince?: string;
  /** Notification log per route id. */
  notified: Record<string, RouteLog>;
  /** Who acknowledged its current (or last) firing period; absent on rows written before acknowledgements existed. */
  acknowledged?: Acknowledgement;
  /** Optimistic concurrency token of the stored row; undefined for a new alert. */
  etag?: string;
}

// ---- notifications ------------------------------------------------------------------------------

/** One thing to tell one route about one alert. Its key is the idempotency of the notice. */
export interface NotificationItem {
  key: string;
  fingerprint: string;
  routeId: string;
  kind: NotificationKind;
  /** The firing period the notice speaks of. */
  startsAt: string;
  endsAt?: string;
  /** For reminders: which one (1, 2, ...). */
  reminder?: number;
  /** For changes: the material the notice tells of. */
  material?: string;
  /** For changes: the material the route heard before, so the notice can say what it was. */
  previousMaterial?: string;
  /** A decided notice: the decision it tells of; a resolved notice: the decisions of its period, to name who decided. */
  decisions?: DecisionNote[];
  /** For escalations: which step of the route's `escalate` (0-based), after how long unacknowledged, since when. */
  escalation?: { step: number; afterMs: number; unacknowledgedSince: string };
}

export interface Recipients {
  to: string[];
  cc?: string[];
}

/** A rendered email. */
export interface EmailContent {
  subject: string;
  html: string;
  plainText: string;
  /**
   * Custom headers for the ACS `headers` field: threading (Message-ID, In-Reply-To, References),
   * Auto-Submitted, importance. Values are single lines.
   */
  headers?: Record<string, string>;
}

// ---- channels --------------------------------------------------------------------------------------

/**
 * A channel a route lists besides its own email (`channels` in the config file): its kind, one of
 * the channels registered in lib/notify/channels/index.ts, which also declares its other fields.
 * Addresses and secrets are secrets, so a target names the app settings that hold them, never the
 * values; they are read when a message is posted.
 */
export interface ChannelTarget {
  /** `teams:TEAMS_OPS_URL`: its type and the setting it is addressed by, unique within its route. */
  id: string;
  /** `teams`, `webhook`, ...: the name of its channel in the registry. */
  type: string;
}

/** Where a planned message goes when it is not the route's email: a channel of one route (its notification log id). */
export type PlannedChannel = ChannelTarget & {
  /** `root.0~teams:TEAMS_OPS_URL`: the route's id and the channel's, the `routeId` of its items' log. */
  receiver: string;
};

/**
 * A message decided and written down before it is sent: the outbox of the notification log. The
 * route's email unless `channel` says which other channel of which route it goes to; a daily digest
 * when `digest` says so (then it has no items of its own).
 */
export interface PlannedMessage {
  /** Idempotency key (the ACS Operation-Id is derived from it). */
  key: string;
  recipients: Recipients;
  items: NotificationItem[];
  plannedAt: string;
  /** Sends ACS accepted and then failed; each moves the email to a new Operation-Id. */
  failedAttempts: number;
  /** Which part it is when one cycle's notices to the same people were too many for one email. */
  part?: { index: number; total: number };
  /**
   * A send that was started and whose outcome is not known (the process died, ACS timed out):
   * before sending again, ACS is asked what became of this operation.
   */
  attempt?: { operationId: string; startedAt: string };
  /** A post to one of the route's other channels (Teams, a webhook, ...) instead of its email. */
  channel?: PlannedChannel;
  /** The daily digest of a route for one local date, as it stood when planned (lib/digest/digest.ts). */
  digest?: DigestView;
}

// ---- the daily digest --------------------------------------------------------------------------------

/** One alert as a digest lists it. Text is untrusted where it quotes Graph: channels escape it. */
export interface DigestAlert {
  fingerprint: string;
  severity: Severity;
  condition: Condition;
  /** `Quarantined: Fabrikam to Contoso (Contoso)`. */
  heading: string;
  tenant: string;
  /** When it began firing (ISO). */
  since?: string;
  /** When it ended (ISO), for resolved ones. */
  endedAt?: string;
  /** A silence, maintenance window or another alert that mutes it now. */
  mutedBy?: string;
  /** Its page in the admin center (its notices' `open` action), added when the digest is laid out; never stored. */
  link?: Link;
}

/** A silence (from the config or a snooze link) or maintenance window that ends before the next digest. */
export interface DigestSilence {
  kind: 'silence' | 'maintenance';
  /** `tenant=…, condition=quarantine` or the window's name. */
  what: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

/**
 * A route's daily digest, made when it is due and kept with the planned message, so it says how
 * things stood at its time even if it is sent later: what is open, what resolved in the last day,
 * silences ending soon, or that every tenant in its scope is healthy (so silence is visible).
 * Lists are bounded; `more` says how many were left out.
 */
export interface DigestView {
  routeId: string;
  /** The local date it is for (`2026-11-27`), in `timeZone`. */
  date: string;
  /** The local time it is sent at (`08:00`). */
  at: string;
  timeZone: string;
  /** When it was made (ISO). */
  generatedAt: string;
  /** Tenants watched in the route's scope. */
  tenants: number;
  open: DigestAlert[];
  resolved: DigestAlert[];
  silences: DigestSilence[];
  more: { open: number; resolved: number; silences: number };
  /** Open alerts by severity, all of them (not only those listed). */
  counts: { critical: number; warning: number; muted: number; resolved: number };
}

// ---- cycles ------------------------------------------------------------------------------------

/**
 * Named points of a cycle, where tests stop it to prove a crash anywhere loses and doubles nothing:
 * the tenants are observed and evaluated, this instance holds the planning lease, the alert state
 * is written, the messages are planned, a send is about to be made (its attempt written down), it
 * was made, and it was recorded.
 */
export const CYCLE_POINTS = [
  'evaluated',
  'leased',
  'state-written',
  'planned',
  'sending',
  'sent',
  'recorded',
  // The job alerts are delivered and the due provisioning logs read; the log alerts' delivery comes next.
  'logs-read',
] as const;
export type CyclePoint = (typeof CYCLE_POINTS)[number];

/** How one cycle went: logged, stored for the status view, and sent with the heartbeat. */
export interface CycleSummary {
  startedAt: string;
  durationMs: number;
  tenantsChecked: number;
  tenantsUnreadable: string[];
  jobsSeen: number;
  alertsFiring: number;
  /** Messages sent: emails, and posts to channels (Teams, webhooks). */
  notificationsSent: number;
  notificationsPending: number;
  /** How many of the messages sent were posts to channels (absent: none). */
  postsSent?: number;
  errors: string[];
  heartbeat: 'sent' | 'failed' | 'skipped';
  /** Set when emails waited because the send budget ran out (absent: it did not). */
  emailBudgetSpent?: EmailBudgetSpent;
  /** What the tenants' checks could do this cycle, counted (lib/model/coverage.ts; absent: nothing was read). */
  coverage?: CoverageCounts;
}

/**
 * The coverage of a cycle's tenants, counted: how many were read, how many had a degraded check,
 * and per check how many tenants had it degraded or off. Bounded by the checks there are.
 */
export interface CoverageCounts {
  tenants: number;
  partial: number;
  degraded: Record<string, number>;
  off: Record<string, number>;
}

/**
 * The email budget ran out this cycle: at our own count (`budget`: sendBudget, or the sender
 * domain's ACS limits), or at ACS itself (`ACS`: it answered 429), with when it lets sends resume.
 */
export interface EmailBudgetSpent {
  at: 'budget' | 'ACS';
  sendsResumeAt?: string;
}

// ---- what a channel shows of an alert ------------------------------------------------------------

/** What to do about an alert: one sentence of meaning, then ordered steps. */
export interface Runbook {
  /** What Entra did and why, in plain English. */
  meaning: string;
  /** Ordered steps for the on-call engineer. */
  steps: string[];
}

/** A link a reader can follow; only ever https. */
export interface Link {
  label: string;
  href: string;
}

/**
 * What every channel (email, Teams, webhook) shows of one alert, produced by the alert's rule
 * (`present` in lib/evaluate/rules/<condition>.ts) so a new condition brings its own words and a
 * new channel needs none. All text is untrusted where it quotes Graph: channels escape it.
 */
export interface AlertView {
  /** Short name of the condition for subjects and headings: `Quarantined`, `Job stalled`. */
  title: string;
  /** What it is about: the configuration's name, or the tenant for tenant-wide alerts. */
  about: string;
  /** What happened, in one or two plain sentences. */
  what: string;
  /** When it began according to Entra (ISO), when Entra says; otherwise when the monitor first saw it. */
  since?: string;
  /** What Entra does next, when known: `Entra retries at 2026-11-27 18:00 UTC`, `Entra disables this job in 5 days`. */
  next?: string;
  /**
   * Label and value pairs a person reads, most important first; nothing the heading, `what`,
   * `since` or `next` already say.
   */
  facts: [string, string][];
  /**
   * What scripts and tickets need and a person on a phone does not: IDs (tenant, service
   * principal, job), Graph requests with their paths. Channels show them last, compactly.
   */
  scripts?: [string, string][];
  runbook?: Runbook;
  /** Links, the most useful first: the first is the notice's `open` action (the job's Provisioning page, or for a tenant-wide alert the page that fixes it). */
  links: Link[];
  /** For a resolved notice: how it ended, e.g. `left quarantine`, `was disabled`. */
  ended: string;
  /**
   * Whether the end is good news. False for an alert that ended badly (a quarantine that ended
   * because Entra disabled the job): its notice must not say "Resolved". Undefined: it did.
   */
  endedWell?: boolean;
  /** For an alert that ended badly, how, in a few words for its status: `no longer watched` (`Ended (no longer watched)`). */
  endedAs?: string;
}

/**
 * Where links about an alert point: the admin center and sign-in origins of the cloud the
 * tenants live in (lib/evaluate/cloud.ts derives them from GRAPH_ENDPOINT), and the monitoring
 * app whose admin consent a "cannot monitor" alert asks for.
 */
export interface LinkTargets {
  /** Entra admin center origin: `https://entra.microsoft.com`, `https://entra.microsoft.us`, `https://entra.microsoftonline.cn`. */
  portalOrigin: string;
  /** Entra sign-in origin (admin consent): `https://login.microsoftonline.com`, `.us`, `https://login.partner.microsoftonline.cn`. */
  loginOrigin: string;
  /** Client ID of the monitoring app (AZURE_CLIENT_ID); absent with a managed identity. */
  clientId?: string;
}
