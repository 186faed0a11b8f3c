import { createEmailClient, createTableClient } from './clients';
import { keptCredentials } from './clients/credentials';
import { createGraphReader } from './clients/graph';
import { boundedCredential } from './clients/timeouts';
import { createLogsQueryClient } from './clients/logs';
import { ConfigError, loadPolicy } from './config/config';
import type { Policy } from './config/policy';
import { Env, loadSettings, Settings } from './config/settings';
import { CycleDeps, CycleSummary, runCycle, Target } from './cycle';
import { createHeartbeat } from './heartbeat';
import { CycleBudget, limitsForSchedule, type CycleLimits } from './limits';
import type { Logger } from './log';
import { countingGraph, type GraphCounters } from './metrics';
import { createAcsMailer } from './notify/mailer';
import { renderOptionsFor } from './notify/render';
import { consentApp } from './onboard';
import { ALERTS_TABLE, AlertStore } from './store/alert-store';
import { DISCOVERY_TABLE, DiscoveryStore } from './store/discovery-store';
import { ProvisioningLogStore } from './store/provisioning-log-store';
import { STATE_TABLE, StateStore } from './store/state-store';

/** The tenants to watch: WATCH_TENANTS, or the credential's own tenant. */
export function targetsOf(settings: Settings, env: Env): Target[] {
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
  /** Counts this cycle's Graph traffic for its metrics (lib/metrics.ts). */
  graphCounters?: GraphCounters;
  /** The cycle's time limits (default: derived from WATCH_SCHEDULE and host.json, lib/limits.ts). */
  limits?: CycleLimits;
}

export function cycleDepsFromSettings(settings: Settings, env: Env, log: Logger, clock: () => Date = () => new Date(), options: CycleOptions = {}): CycleDeps {
  // Kept across cycles in this process, with their tokens (lib/clients/credentials.ts).
  const credentials = keptCredentials(settings, env);
  const policy = loadPolicy(settings.configPath, { emailTo: settings.emailTo });
  requireWorkspaceWhereNeeded(policy, settings);
  // Every outbound call is bounded by the cycle's deadline (lib/limits.ts); Graph readers by their tenant's.
  const budget = new CycleBudget(options.limits ?? limitsForSchedule(settings.schedule, env));
  const azure = boundedCredential(credentials.azure, budget.calls());
  return {
    targets: targetsOf(settings, env),
    graphFor: (target, limits) => {
      const reader = createGraphReader(credentials.graph, settings.graphEndpoint, target.tokenTenant, limits ?? { ...budget.calls(), maxRetryAfterMs: budget.limits.maxRetryAfterMs });
      return options.graphCounters ? countingGraph(reader, options.graphCounters) : reader;
    },
    renewToken: (target) => credentials.graph.renew(target.tokenTenant),
    alerts: new AlertStore(createTableClient(settings, azure, ALERTS_TABLE, budget.calls())),
    state: new StateStore(createTableClient(settings, azure, STATE_TABLE, budget.calls())),
    discovery: new DiscoveryStore(createTableClient(settings, azure, DISCOVERY_TABLE, budget.calls())),
    mailer: createAcsMailer(createEmailClient(settings, azure, budget.calls()), settings.emailFrom),
    budget,
    concurrency: settings.scale?.concurrency,
    policy,
    // The consent link of a "cannot monitor" email is for the app customer tenants consent to.
    render: renderOptionsFor({ graphEndpoint: settings.graphEndpoint, emailFrom: settings.emailFrom, clientId: consentAppId(settings) }),
    heartbeat: policy.heartbeat ? createHeartbeat(policy.heartbeat) : undefined,
    clock,
    log,
    logs: {
      store: new ProvisioningLogStore(createTableClient(settings, azure, STATE_TABLE, budget.calls())),
      logAnalytics: settings.logAnalytics
        ? { client: createLogsQueryClient(azure, settings.logAnalytics.endpoint), workspaceId: settings.logAnalytics.workspaceId }
        : undefined,
    },
  };
}

function consentAppId(settings: Settings): string | undefined {
  const app = consentApp(settings);
  return 'appId' in app ? app.appId : undefined;
}

/** A config that reads from Log Analytics needs the workspace setting: say so before the cycle starts. */
function requireWorkspaceWhereNeeded(policy: Policy, settings: Settings): void {
  if (settings.logAnalytics) return;
  const problems: string[] = [];
  if (policy.provisioningLogs?.source === 'logAnalytics') problems.push('provisioningLogs.source: "logAnalytics" needs the setting LOG_ANALYTICS_WORKSPACE_ID');
  if ((policy.kqlRules?.length ?? 0) > 0) problems.push('kqlRules: the rules run in the workspace named by the setting LOG_ANALYTICS_WORKSPACE_ID, which is not set');
  if (problems.length > 0) throw new ConfigError(settings.configPath ?? 'WATCH_CONFIG', problems);
}

/** Validates the settings and config in `env` and runs one cycle with them. Throws SettingsError or ConfigError when they are bad. */
export async function runCycleFromEnv(env: Env, log: Logger, graphCounters?: GraphCounters): Promise<CycleSummary> {
  const settings = loadSettings(env);
  return runCycle(cycleDepsFromSettings(settings, env, log, undefined, { graphCounters }));
}

export function formatSummary(summary: CycleSummary): string {
  const parts = [
    `${summary.tenantsChecked} tenant(s) checked`,
    `${summary.jobsSeen} job(s) seen`,
    `${summary.alertsFiring} alert(s) firing`,
    `${summary.notificationsSent} email(s) sent`,
  ];
  if (summary.notificationsPending > 0) parts.push(`${summary.notificationsPending} email(s) waiting for the next cycle`);
  if (summary.tenantsUnreadable.length > 0) parts.push(`unreadable: ${summary.tenantsUnreadable.join(', ')}`);
  parts.push(`${summary.durationMs} ms`);
  return parts.join(', ');
}
