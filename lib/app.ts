import { createCredential, createEmailClient, createTableClient } from './clients';
import { createGraphReader } from './clients/graph';
import { boundedCredential } from './clients/timeouts';
import { loadPolicy } from './config/config';
import { Env, loadSettings, Settings } from './config/settings';
import { CycleDeps, CycleSummary, runCycle, Target } from './cycle';
import { createHeartbeat } from './heartbeat';
import { CycleBudget, limitsForSchedule, type CycleLimits } from './limits';
import type { Logger } from './log';
import { createAcsMailer } from './notify/mailer';
import { ALERTS_TABLE, AlertStore } from './store/alert-store';
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
export function cycleDepsFromSettings(settings: Settings, env: Env, log: Logger, clock: () => Date = () => new Date(), limits?: CycleLimits): CycleDeps {
  const identity = createCredential(settings, env);
  const policy = loadPolicy(settings.configPath, { emailTo: settings.emailTo });
  // Every outbound call is bounded by the cycle's deadline (lib/limits.ts); Graph readers by their tenant's.
  const budget = new CycleBudget(limits ?? limitsForSchedule(settings.schedule, env));
  const credential = boundedCredential(identity, budget.calls());
  return {
    targets: targetsOf(settings, env),
    graphFor: (target, limits) => createGraphReader(identity, settings.graphEndpoint, target.tokenTenant, limits ?? { ...budget.calls(), maxRetryAfterMs: budget.limits.maxRetryAfterMs }),
    alerts: new AlertStore(createTableClient(settings, credential, ALERTS_TABLE, budget.calls())),
    state: new StateStore(createTableClient(settings, credential, STATE_TABLE, budget.calls())),
    mailer: createAcsMailer(createEmailClient(settings, credential, budget.calls()), settings.emailFrom),
    budget,
    policy,
    heartbeat: policy.heartbeat ? createHeartbeat(policy.heartbeat) : undefined,
    clock,
    log,
  };
}

/** Validates the settings and config in `env` and runs one cycle with them. Throws SettingsError or ConfigError when they are bad. */
export async function runCycleFromEnv(env: Env, log: Logger): Promise<CycleSummary> {
  const settings = loadSettings(env);
  return runCycle(cycleDepsFromSettings(settings, env, log));
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
