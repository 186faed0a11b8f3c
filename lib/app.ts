import { createCredentials, createEmailClient, createQueueClient, createTableClient } from './clients';
import { keptCredentials } from './clients/credentials';
import { createGraphReader } from './clients/graph';
import { boundedCredential } from './clients/timeouts';
import { createLogsQueryClient } from './clients/logs';
import { ConfigError, loadPolicy } from './config/config';
import { SEND_BUDGETS, type Policy } from './model/policy';
import { Env } from './settings/env';
import { loadSettings, Settings } from './settings/settings';
import { deployedPathHere } from './settings/local-settings';
import { CycleDeps, runCycle } from './cycle/cycle';
import { CycleSummary } from './model';
import { Target } from './cycle/observe';
import { createHeartbeat } from './clients/heartbeat';
import { CycleBudget, limitsForSchedule, type CycleLimits } from './cycle/limits';
import type { Logger } from './util/log';
import { countingGraph, type GraphCounters } from './cycle/metrics';
import { createAcsMailer } from './clients/mailer';
import { createHttpPoster } from './clients/http-poster';
import { renderOptionsFor } from './notify/render';
import { adminConsentUrl, consentApp } from './clients/consent';
import { ALERTS_TABLE, AlertStore } from './store/alert-store';
import { DISCOVERY_TABLE, DiscoveryStore } from './store/discovery-store';
import { ProvisioningLogStore } from './store/provisioning-log-store';
import { HistoryStore } from './store/history-store';
import { SilenceStore } from './store/silence-store';
import { STATE_TABLE, stateStores } from './store/state-table';
import { FANOUT_QUEUE, decodeMessage } from './fanout/message';
import { DEFAULT_FANOUT_BATCH, queueFanOut } from './fanout/planner';
import { SharedWindowLimiter } from './store/shared-limiter';
import { FANOUT_TABLE, FanOutStore } from './store/fanout-store';
import { GRAPH_REPORTS_APP_LIMIT } from './observe/event-source';
import type { TokenCredential } from '@azure/core-auth';
import type { CallLimits } from './clients/timeouts';
import { observeBatch, type BatchOutcome } from './fanout/worker';
import { handleSnooze, type SnoozeResponse } from './snooze/handler';
import { problemPage, LINK_PAGE_HEADERS } from './snooze/page';
import type { LinkPageRequest } from './util/link-form';
import { readStatus, type StatusView } from './status/status';
import { ManagedIdentityCredential } from '@azure/identity';
import { DEFAULT_ACCESS } from './actions/access';
import { alertDecisions, DecisionAudit } from './actions/audit';
import type { TableClient } from '@azure/data-tables';
import type { AlertDecision } from './model';
import { createJobActions } from './actions/graph-actions';
import type { DecideDeps } from './actions/handler';
import { actionsPossible } from './actions/readiness';
import { msalSignIn } from './actions/sign-in';
import { CLOUDS } from './settings/clouds';
import { LINK_LEDGER_TABLE, LinkLedger } from './store/link-ledger';
import { handleAcknowledge, type AcknowledgeRequest, type AcknowledgeResponse } from './acknowledge/handler';
import { configReport, runDoctor, type DoctorDeps } from './doctor/doctor';
import type { ConfigCheck } from './doctor/deployment-checks';
import type { DoctorReport } from './doctor/report';
import { Deadline } from './util/deadline';
/** The tenants to watch: WATCH_TENANTS, or the credential's own tenant. */
function targetsOf(settings: Settings, env: Env): Target[] {
  if (settings.tenants.length > 0) return settings.tenants.map((tenantId) => ({ tenantId, tokenTenant: tenantId }));
  return [{ tenantId: env.AZURE_TENANT_ID?.toLowerCase() || 'home' }];
}

/**
 * Wires a cycle from settings and the config file: the composition root shared by the timer
 * function, `npm run cycle` and the demo, so every entry point runs the same code against
 * whatever endpoints are configured. The config is read anew each cycle, so edits apply without a restart.
 */
/** What a caller may add to the dependencies built from settings. */
export interface CycleOptions {
  /** Counts this cycle's Graph traffic for its metrics (lib/cycle/metrics.ts). */
  graphCounters?: GraphCounters;
  /** The cycle's time limits (default: derived from WATCH_SCHEDULE and host.json, lib/cycle/limits.ts). */
  limits?: CycleLimits;
  /**
   * May the tenants be handed to the queue-triggered function past WATCH_FANOUT_TENANTS? Only the
   * timer sets it: `npm run cycle` has no instances to hand them to.
   */
  fanOut?: boolean;
  /** This process reads provisioning logs beside other instances (a fan-out worker): Graph's reports limit across tenants is kept in Table Storage. */
  sharedReportsLimit?: boolean;
  /**
   * Whether the config's KQL rules are checked with the Kusto language service when it loads
   * (default true). A fan-out worker reads tenants and never runs the rules: the timer that
   * planned its message checked them, and the check costs a new process about 1.5 s of CPU and 100 MB.
   */
  checkKql?: boolean;
}

/** Past this many tenants the timer fans out, unless WATCH_FANOUT_TENANTS says otherwise (docs/scale.md). */
const DEFAULT_FANOUT_TENANTS = 500;

/** The fan-out's reports table, on the app's storage. */
export function fanOutStore(settings: Settings, azure: TokenCredential, limits: CallLimits): FanOutStore {
  return new FanOutStore(createTableClient(settings, azure, FANOUT_TABLE, limits));
}

/** Graph's reports limit across tenants, shared by every instance through the fan-out table (lib/store/shared-limiter.ts). */
function sharedReportsLimiter(settings: Settings, azure: TokenCredential, limits: CallLimits): SharedWindowLimiter {
  return new SharedWindowLimiter(
    createTableClient(settings, azure, FANOUT_TABLE, limits),
    { partitionKey: 'limits', rowKey: 'graph-reports' },
    GRAPH_REPORTS_APP_LIMIT,
  );
}

export function cycleDepsFromSettings(
  settings: Settings,
  env: Env,
  log: Logger,
  clock: () => Date = () => new Date(),
  options: CycleOptions = {},
): CycleDeps {
  // Kept across cycles in this process, with their tokens (lib/clients/credentials.ts).
  const credentials = keptCredentials(settings, env);
  const policy = loadPolicy(settings.configPath, {
    emailTo: settings.emailTo,
    sendBudget: SEND_BUDGETS[settings.emailDomainKind],
    checkKql: options.checkKql,
  });
  requireWorkspaceWhereNeeded(policy, settings);
  // Every outbound call is bounded by the cycle's deadline (lib/cycle/limits.ts); Graph readers by their tenant's.
  const budget = new CycleBudget(options.limits ?? limitsForSchedule(settings.schedule, env));
  const azure = boundedCredential(credentials.azure, budget.calls());
  const targets = targetsOf(settings, env);
  // One client for the state table: its stores (outbox, send budget, lease, digests, cycles, snoozes, log watermarks) share it.
  const state = createTableClient(settings, azure, STATE_TABLE, budget.calls());
  const fanOut = options.fanOut ? fanOutFor(settings, targets.length, azure, budget.calls(), log) : undefined;
  const appLimiter =
    fanOut || options.sharedReportsLimit ? sharedReportsLimiter(settings, azure, budget.calls()) : undefined;
  return {
    targets,
    fanOut,
    graphFor: (target, limits) => {
      const reader = createGraphReader(
        credentials.graph,
        settings.graphEndpoint,
        target.tokenTenant,
        limits ?? { ...budget.calls(), maxRetryAfterMs: budget.limits.maxRetryAfterMs },
      );
      return options.graphCounters ? countingGraph(reader, options.graphCounters) : reader;
    },
    renewToken: (target) => credentials.graph.renew(target.tokenTenant),
    alerts: new AlertStore(createTableClient(settings, azure, ALERTS_TABLE, budget.calls())),
    ...stateStores(state),
    discovery: new DiscoveryStore(createTableClient(settings, azure, DISCOVERY_TABLE, budget.calls())),
    histories: new HistoryStore(state),
    silences: new SilenceStore(state),
    mailer: createAcsMailer(createEmailClient(settings, azure, budget.calls()), settings.emailFrom),
    // Teams and webhooks: their URLs and secrets are read from the settings the config names, at each post.
    poster: createHttpPoster(env, { timeoutMs: Math.min(10_000, budget.limits.callMs) }),
    budget,
    concurrency: settings.scale?.concurrency,
    secretsRead: settings.secretsRead,
    policy,
    // The consent link of a "cannot monitor" email is for the app customer tenants consent to.
    render: renderOptionsFor({
      graphEndpoint: settings.graphEndpoint,
      emailFrom: settings.emailFrom,
      clientId: consentAppId(settings),
      snooze: settings.snooze,
      actions: settings.actions,
    }),
    heartbeat: policy.heartbeat ? createHeartbeat(policy.heartbeat) : undefined,
    // Decisions made from alerts' messages (WATCH_ACTIONS): told to the alerts' routes, named in resolved notices.
    ...(settings.actions
      ? { decisions: decisionsReader(createTableClient(settings, azure, LINK_LEDGER_TABLE, budget.calls()), clock) }
      : {}),
    ...(settings.actions || settings.snooze
      ? { forgetUsedLinks: ledgerSweeper(createTableClient(settings, azure, LINK_LEDGER_TABLE, budget.calls())) }
      : {}),
    clock,
    log,
    logs: {
      store: new ProvisioningLogStore(state),
      appLimiter,
      logAnalytics: settings.logAnalytics
        ? {
            client: createLogsQueryClient(azure, settings.logAnalytics.endpoint),
            workspaceId: settings.logAnalytics.workspaceId,
          }
        : undefined,
    },
  };
}

/** How far back a cycle reads decisions: longer than an alert waits for one (Entra disables a quarantined job after four weeks). */
const DECISIONS_LOOKBACK_MS = 35 * 24 * 3600_000;

function decisionsReader(table: TableClient, clock: () => Date): () => Promise<AlertDecision[]> {
  const audit = new DecisionAudit(new LinkLedger(table));
  return async () => alertDecisions(await audit.decisions(new Date(clock().getTime() - DECISIONS_LOOKBACK_MS)));
}

/** How often an instance sweeps the link ledger: its rows expire over days, not minutes. */
const LEDGER_SWEEP_EVERY_MS = 3600_000;
let ledgerSweptAt = 0;

function ledgerSweeper(table: TableClient): (now: Date) => Promise<void> {
  return async (now) => {
    if (now.getTime() - ledgerSweptAt < LEDGER_SWEEP_EVERY_MS) return;
    await new LinkLedger(table).sweep(['snooze', 'decide'], now);
    ledgerSweptAt = now.getTime();
  };
}

/** The queue fan-out, when the timer has more tenants than WATCH_FANOUT_TENANTS and a queue to hand them to. */
function fanOutFor(settings: Settings, tenants: number, azure: TokenCredential, limits: CallLimits, log: Logger) {
  const threshold = settings.scale?.fanOutTenants ?? DEFAULT_FANOUT_TENANTS;
  if (threshold === 0 || tenants <= threshold) return undefined;
  const queue = createQueueClient(settings, azure, FANOUT_QUEUE, limits);
  if (!queue) {
    log.warn(
      `${tenants} tenants are more than WATCH_FANOUT_TENANTS (${threshold}), but the settings name no queue (AzureWebJobsStorage__queueServiceUri): this instance reads them all itself`,
    );
    return undefined;
  }
  return queueFanOut({
    queue,
    store: fanOutStore(settings, azure, limits),
    batchSize: settings.scale?.fanOutBatch ?? DEFAULT_FANOUT_BATCH,
  });
}

function consentAppId(settings: Settings): string | undefined {
  const app = consentApp(settings);
  return 'appId' in app ? app.appId : undefined;
}

/** A config that reads from Log Analytics needs the workspace setting: say so before the cycle starts. */
function requireWorkspaceWhereNeeded(policy: Policy, settings: Settings): void {
  if (settings.logAnalytics) return;
  const problems: string[] = [];
  if (policy.provisioningLogs?.source === 'logAnalytics')
    problems.push('provisioningLogs.source: "logAnalytics" needs the setting LOG_ANALYTICS_WORKSPACE_ID');
  if ((policy.kqlRules?.length ?? 0) > 0)
    problems.push(
      'kqlRules: the rules run in the workspace named by the setting LOG_ANALYTICS_WORKSPACE_ID, which is not set',
    );
  if (problems.length > 0) throw new ConfigError(settings.configPath ?? 'WATCH_CONFIG', problems);
}

/** Validates the settings and config in `env` and runs one cycle with them. Throws SettingsError or ConfigError when they are bad. */
export async function runCycleFromEnv(
  env: Env,
  log: Logger,
  graphCounters?: GraphCounters,
  options: Pick<CycleOptions, 'fanOut'> = {},
): Promise<CycleSummary> {
  const settings = loadSettings(env);
  return runCycle(cycleDepsFromSettings(settings, env, log, undefined, { graphCounters, ...options }));
}

export function formatSummary(summary: CycleSummary): string {
  const parts = [
    `${summary.tenantsChecked} tenant(s) checked`,
    `${summary.jobsSeen} job(s) seen`,
    `${summary.alertsFiring} alert(s) firing`,
    `${summary.notificationsSent - (summary.postsSent ?? 0)} email(s) sent`,
  ];
  if (summary.postsSent) parts.push(`${summary.postsSent} channel post(s) sent`);
  if (summary.notificationsPending > 0)
    parts.push(`${summary.notificationsPending} message(s) waiting for the next cycle`);
  const spent = summary.emailBudgetSpent;
  if (spent?.at === 'ACS')
    parts.push(
      `the email budget ran out at ACS (429)${spent.sendsResumeAt ? `: no email before ${spent.sendsResumeAt}` : ''}`,
    );
  else if (spent) parts.push('the email budget ran out');
  if (summary.tenantsUnreadable.length > 0) parts.push(`unreadable: ${summary.tenantsUnreadable.join(', ')}`);
  // What is not watched is said every cycle, not only when its alert fires a day later.
  if (summary.coverage?.partial) parts.push(`${summary.coverage.partial} tenant(s) partially watched (see coverage)`);
  parts.push(`${summary.durationMs} ms`);
  return parts.join(', ');
}

// ---- the other entry points: the fan-out worker, the status view, the snooze, acknowledge and decide endpoints ----

/**
 * One message of the fan-out queue, with this instance's settings: what functions/observe.ts runs.
 * Throws InvalidMessage for a message that is not ours (the host retries it, then moves it to the
 * poison queue), SettingsError or ConfigError for bad settings, and StorageError when the report
 * cannot be written (a retry may still make it in time). Problems of the tenants themselves do
 * not throw: they are in the report, for the cycle's planner to report.
 */
export async function observeMessageFromEnv(entry: unknown, env: Env, log: Logger): Promise<BatchOutcome> {
  const message = decodeMessage(entry);
  const settings = loadSettings(env);
  // The cycle's deadline is the message's: every call this instance makes ends by it.
  const limits = {
    ...limitsForSchedule(settings.schedule, env),
    cycleMs: Math.max(1000, message.deadline - Date.now()),
  };
  const cycle = cycleDepsFromSettings(settings, env, log, undefined, {
    limits,
    sharedReportsLimit: true,
    checkKql: false,
  });
  cycle.budget?.start();
  const calls = cycle.budget!.calls();
  const store = fanOutStore(settings, boundedCredential(keptCredentials(settings, env).azure, calls), calls);
  return observeBatch(message, { cycle, store });
}

/** The status view of the state the settings in `env` point at. */
export async function readStatusFromEnv(env: Env): Promise<StatusView> {
  const settings = loadSettings(env);
  const credential = createCredentials(settings, env).azure;
  let policy: Policy | undefined;
  let configProblem: string | undefined;
  try {
    // The status view never runs the KQL rules: the timer checks them (and reports a bad one).
    policy = loadPolicy(settings.configPath, { emailTo: settings.emailTo, checkKql: false });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    configProblem = error.message;
  }
  const app = consentApp(settings);
  const state = createTableClient(settings, credential, STATE_TABLE);
  return readStatus(
    {
      alerts: new AlertStore(createTableClient(settings, credential, ALERTS_TABLE)),
      ...stateStores(state),
      jobHistories: new HistoryStore(state),
    },
    {
      policy,
      configProblem,
      consentUrl: 'appId' in app ? (tenantId) => adminConsentUrl(settings, app.appId, tenantId) : undefined,
      snoozes: new SilenceStore(state),
      ...(settings.actions
        ? { audit: new DecisionAudit(new LinkLedger(createTableClient(settings, credential, LINK_LEDGER_TABLE))) }
        : {}),
    },
  );
}

/**
 * The snooze endpoint wired from settings, as the Function App runs it: the alert and silence
 * stores of AzureWebJobsStorage, the key of SNOOZE_SIGNING_KEY, tenant names from the config file
 * (a config that cannot be read only costs the names). Without SNOOZE_SIGNING_KEY there are no
 * snooze links, and the endpoint says so.
 */
export async function snoozeFromEnv(env: Env, request: LinkPageRequest, now = new Date()): Promise<SnoozeResponse> {
  const settings = loadSettings(env);
  if (!settings.snooze) {
    return {
      status: 404,
      headers: LINK_PAGE_HEADERS,
      body: problemPage(
        'Snooze links are off',
        'This monitor makes no snooze links (SNOOZE_SIGNING_KEY is not set). Add a silence to the config file instead.',
      ),
    };
  }
  const credential = createCredentials(settings, env).azure;
  return handleSnooze(request, {
    snooze: settings.snooze,
    alerts: new AlertStore(createTableClient(settings, credential, ALERTS_TABLE)),
    silences: new SilenceStore(createTableClient(settings, credential, STATE_TABLE)),
    ledger: new LinkLedger(createTableClient(settings, credential, LINK_LEDGER_TABLE)),
    tenantNames: readablePolicy(settings)?.tenantNames ?? new Map<string, string>(),
    now,
  });
}

/** The config file's policy for a link's page, or undefined when it cannot be read (that costs the page names, not the page). */
function readablePolicy(settings: Settings): Policy | undefined {
  try {
    return loadPolicy(settings.configPath, { emailTo: settings.emailTo, checkKql: false });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return undefined;
  }
}

/**
 * The acknowledge endpoint wired from settings, as the Function App runs it: the alerts and the
 * link ledger of AzureWebJobsStorage, the key and address of SNOOZE_SIGNING_KEY and SNOOZE_BASE_URL
 * (acknowledge links share them), the config's routes (whose recipients the page offers) and
 * tenant names; a config that cannot be read only costs those (the page then asks a name).
 * Without SNOOZE_SIGNING_KEY no message carries an Acknowledge link, and the endpoint says so.
 */
export async function acknowledgeFromEnv(
  env: Env,
  request: AcknowledgeRequest,
  now = new Date(),
): Promise<AcknowledgeResponse> {
  const settings = loadSettings(env);
  if (!settings.snooze) {
    return {
      status: 404,
      headers: LINK_PAGE_HEADERS,
      body: problemPage(
        'Acknowledge links are off',
        'This monitor makes no Acknowledge links (SNOOZE_SIGNING_KEY is not set): reminders go on until the alert ends.',
      ),
    };
  }
  const policy = readablePolicy(settings);
  const credential = createCredentials(settings, env).azure;
  return handleAcknowledge(request, {
    settings: settings.snooze,
    alerts: new AlertStore(createTableClient(settings, credential, ALERTS_TABLE)),
    ledger: new LinkLedger(createTableClient(settings, credential, LINK_LEDGER_TABLE)),
    ...(policy ? { policy } : {}),
    // With decisions from an alert on, someone signed in on the decide pages acknowledges in their own name.
    ...(settings.actions ? { sessionKey: settings.actions.signingKey } : {}),
    now,
  });
}

/**
 * The decide endpoint wired from settings, as the Function App runs it: the alert store and the
 * link ledger of AzureWebJobsStorage, the monitor's Graph credential for the writes, the sign-in
 * app of ACTIONS_SIGNIN_CLIENT_ID (its secret, or the managed identity as its federated
 * credential), who may act and tenant names from the config file (a config that cannot be read
 * leaves the app role alone and costs the names). `undefined` while WATCH_ACTIONS is off.
 */
export function decideDepsFromEnv(env: Env, log?: (line: string) => void): DecideDeps | undefined {
  const settings = loadSettings(env);
  const actions = settings.actions;
  if (!actions) return undefined;
  let policy: Policy | undefined;
  try {
    policy = loadPolicy(settings.configPath, { emailTo: settings.emailTo });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log?.(`decide: the config file cannot be read, so only the app role may act: ${error.message}`);
  }
  const credentials = createCredentials(settings, env);
  const audience = `${CLOUDS[settings.cloud].tokenExchangeAudience}/.default`;
  const managed = actions.signIn.clientSecret
    ? undefined
    : new ManagedIdentityCredential(
        actions.signIn.managedIdentityClientId ? { clientId: actions.signIn.managedIdentityClientId } : {},
      );
  return {
    settings: actions,
    access: policy?.actions ?? DEFAULT_ACCESS,
    alerts: new AlertStore(createTableClient(settings, credentials.azure, ALERTS_TABLE)),
    ledger: new LinkLedger(createTableClient(settings, credentials.azure, LINK_LEDGER_TABLE)),
    graphFor: (tenantId) => createJobActions(credentials.graph, settings.graphEndpoint, tenantId),
    readiness: (tenantId) => actionsPossible(credentials.graph, settings.graphEndpoint, tenantId),
    signIn: msalSignIn(actions, {
      ...(managed
        ? {
            clientAssertion: async () => {
              const token = await managed.getToken(audience);
              if (!token) throw new Error(`the managed identity returned no token for ${audience}`);
              return token.token;
            },
          }
        : {}),
    }),
    tenantNames: policy?.tenantNames ?? new Map(),
    now: () => new Date(),
    ...(log ? { log } : {}),
  };
}
// ---- npm run doctor ---------------------------------------------------------------------------------

/**
 * The config as the doctor sees it: valid (its KQL rules checked with the Kusto language service,
 * the workspace they need set), or what is wrong with it, the defaults standing in for the other checks.
 */
function doctorConfig(settings: Settings): ConfigCheck & { policy: Policy } {
  const defaults = { emailTo: settings.emailTo, sendBudget: SEND_BUDGETS[settings.emailDomainKind] };
  try {
    const policy = loadPolicy(settings.configPath, defaults);
    requireWorkspaceWhereNeeded(policy, settings);
    return { path: settings.configPath, policy };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { path: settings.configPath, policy: loadPolicy(undefined, defaults), problems: error.problems };
  }
}

/** How long the doctor gives one tenant, one call, and the longest Retry-After it waits for. */
const DOCTOR_TENANT_MS = 60_000;
const DOCTOR_CALL_MS = 20_000;
const DOCTOR_RETRY_AFTER_MS = 10_000;

/** The doctor's dependencies from settings, as the timer's are: the same credentials, clients and tables. */
function doctorDepsFromSettings(
  settings: Settings,
  env: Env,
  options: { tenants?: string[]; clock?: () => Date } = {},
): DoctorDeps {
  const credentials = createCredentials(settings, env);
  const calls = { deadline: () => Deadline.never(), callMs: DOCTOR_CALL_MS };
  const app = consentApp(settings);
  const discovery = new DiscoveryStore(createTableClient(settings, credentials.azure, DISCOVERY_TABLE, calls));
  const targets = targetsOf(settings, env).map((t) => t.tenantId);
  const tenants = options.tenants?.length ? options.tenants.map((t) => t.toLowerCase()) : targets;
  const config = doctorConfig(settings);
  return {
    config,
    tenants,
    probeFor(tenantId) {
      // The tenant's time starts when its turn comes.
      const tenantDeadline = Deadline.in(DOCTOR_TENANT_MS);
      const limits = { deadline: () => tenantDeadline, callMs: DOCTOR_CALL_MS, maxRetryAfterMs: DOCTOR_RETRY_AFTER_MS };
      const graphCredential = boundedCredential(credentials.graph, limits);
      return {
        token: () => graphCredential.getToken(`${settings.graphEndpoint}/.default`, { tenantId }),
        graph: createGraphReader(credentials.graph, settings.graphEndpoint, tenantId, limits),
        consentUrl: 'appId' in app ? adminConsentUrl(settings, app.appId, tenantId) : undefined,
        known: async () =>
          ((await discovery.load(tenantId))?.servicePrincipals ?? [])
            .filter((sp) => Object.keys(sp.jobsFirstSeen).length > 0)
            .map((sp) => ({ id: sp.id, appId: sp.appId, displayName: sp.displayName })),
        // Decisions from alerts (WATCH_ACTIONS): may the monitor write here (lib/actions/readiness.ts)?
        ...(settings.actions
          ? { actions: () => actionsPossible(graphCredential, settings.graphEndpoint, tenantId) }
          : {}),
      };
    },
    storage: createTableClient(settings, credentials.azure, STATE_TABLE, calls),
    sender: {
      address: settings.emailFrom,
      domainKind: settings.emailDomainKind,
      kindSetting: env.ACS_EMAIL_DOMAIN_KIND?.trim() || undefined,
      auth: settings.acs.connectionString ? 'connection string' : 'identity',
      budget: config.policy.budget,
      mailer: createAcsMailer(createEmailClient(settings, credentials.azure, calls), settings.emailFrom),
    },
    logAnalytics: settings.logAnalytics
      ? {
          client: createLogsQueryClient(credentials.azure, settings.logAnalytics.endpoint),
          workspaceId: settings.logAnalytics.workspaceId,
        }
      : undefined,
    secretsRead: settings.secretsRead,
    clock: options.clock ?? (() => new Date()),
  };
}

/** `npm run doctor`: every check with the settings in `env`. Throws SettingsError for bad settings. */
export function runDoctorFromEnv(env: Env, options: { tenants?: string[] } = {}): Promise<DoctorReport> {
  return runDoctor(doctorDepsFromSettings(loadSettings(env), env, options));
}

/**
 * `npm run doctor -- --config-only`: the config file alone, as the deployment will read it, before
 * the package ships (azure.yaml, prepackage), so a bad KQL rule stops the deploy rather than the
 * monitor. Only WATCH_CONFIG and ALERT_EMAIL_TO are read (the other settings may not exist yet);
 * a WATCH_CONFIG in the app's folder in Azure (/home/site/wwwroot/...) is read from `root`, the
 * folder that becomes it.
 */
export function configReportFromEnv(env: Env, root = process.cwd()): DoctorReport {
  const given = env.WATCH_CONFIG?.trim() || undefined;
  const path = deployedPathHere(given, root) ?? given;
  const emailTo = (env.ALERT_EMAIL_TO ?? '')
    .split(/[,;]/)
    .map((a) => a.trim())
    .filter((a) => a !== '');
  let config: ConfigCheck;
  try {
    config = { path, policy: loadPolicy(path, { emailTo }) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    config = { path, problems: error.problems };
  }
  return configReport(config, new Date());
}
