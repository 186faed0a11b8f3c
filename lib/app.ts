import { createCredentials, createEmailClient, createTableClient } from './clients';
import { createGraphReader } from './clients/graph';
import { ConfigError, loadPolicy } from './config/config';
import { createLogsQueryClient } from './clients/logs';
import { ProvisioningLogStore } from './store/provisioning-log-store';
import type { Policy } from './config/policy';
import { Env, loadSettings, Settings } from './config/settings';
import { CycleDeps, CycleSummary, runCycle, Target } from './cycle';
import { createHeartbeat } from './heartbeat';
import type { Logger } from './log';
import { countingGraph, type GraphCounters } from './metrics';
import { createAcsMailer } from './notify/mailer';
import { renderOptionsFor } from './notify/render';
import { consentApp } from './onboard';
import { ALERTS_TABLE, AlertStore } from './store/alert-store';
import { STATE_TABLE, StateStore } from './store/state-store';
import { DISCOVERY_TABLE, DiscoveryStore } from './store/discovery-store';

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
export function cycleDepsFromSettings(
  settings: Settings,
  env: Env,
  log: Logger,
  clock: () => Date = () => new Date(),
  /** Counts this cycle's Graph traffic for its metrics (lib/metrics.ts). */
  graphCounters?: GraphCounters,
): CycleDeps {
  const credentials = createCredentials(settings, env);
  const policy = loadPolicy(settings.configPath, { emailTo: settings.emailTo });
  requireWorkspaceWhereNeeded(policy, settings);
  return {
    targets: targetsOf(settings, env),
    graphFor: (target) => {
      const reader = createGraphReader(credentials.graph, settings.graphEndpoint, target.tokenTenant);
      return graphCounters ? countingGraph(reader, graphCounters) : reader;
    },
    alerts: new AlertStore(createTableClient(settings, credentials.azure, ALERTS_TABLE)),
    state: new StateStore(createTableClient(settings, credentials.azure, STATE_TABLE)),
    discovery: new DiscoveryStore(createTableClient(settings, credentials.azure, DISCOVERY_TABLE)),
    mailer: createAcsMailer(createEmailClient(settings, credentials.azure), settings.emailFrom),
    policy,
    // The consent link of a "cannot monitor" email is for the app customer tenants consent to.
    render: renderOptionsFor({ graphEndpoint: settings.graphEndpoint, emailFrom: settings.emailFrom, clientId: consentAppId(settings) }),
    heartbeat: policy.heartbeat ? createHeartbeat(policy.heartbeat) : undefined,
    clock,
    log,
    logs: {
      store: new ProvisioningLogStore(createTableClient(settings, credentials.azure, STATE_TABLE)),
      logAnalytics: settings.logAnalytics
        ? { client: createLogsQueryClient(credentials.azure, settings.logAnalytics.endpoint), workspaceId: settings.logAnalytics.workspaceId }
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
  return runCycle(cycleDepsFromSettings(settings, env, log, undefined, graphCounters));
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
