import { createCredential, createEmailClient, createTableClient } from './clients';
import { createGraphReader } from './clients/graph';
import { Env, loadSettings, Settings } from './config/settings';
import { CycleDeps, CycleSummary, Logger, runCycle, Target } from './cycle';
import { createAcsMailer } from './notify/mailer';
import { AlertStore } from './store/alert-store';

/** The tenants to watch: WATCH_TENANTS, or the credential's own tenant. */
export function targetsOf(settings: Settings, env: Env): Target[] {
  if (settings.tenants.length > 0) return settings.tenants.map((tenantId) => ({ tenantId, tokenTenant: tenantId }));
  return [{ tenantId: env.AZURE_TENANT_ID?.toLowerCase() || 'home' }];
}

/**
 * Wires a cycle from settings: the composition root shared by the timer function, `npm run cycle`
 * and the demo, so every entry point runs the same code against whatever endpoints are configured.
 */
export function cycleDepsFromSettings(settings: Settings, env: Env, log: Logger, clock: () => Date = () => new Date()): CycleDeps {
  const credential = createCredential(settings, env);
  return {
    targets: targetsOf(settings, env),
    graphFor: (target) => createGraphReader(credential, settings.graphEndpoint, target.tokenTenant),
    store: new AlertStore(createTableClient(settings, credential)),
    mailer: createAcsMailer(createEmailClient(settings, credential), settings.emailFrom),
    recipients: { to: settings.emailTo },
    clock,
    log,
  };
}

/** Validates the settings in `env` and runs one cycle with them. Throws SettingsError on bad settings. */
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
