import { startAcsEmulator, type AcsEmulator } from './acs';
import { startAuthority, type AuthorityEmulator } from './authority';
import { startGraph, type GraphEmulator } from './graph';
import { guidFrom } from './jobs';
import { startManagedIdentityEndpoint, type ManagedIdentityEmulator } from './managed-identity';
import { startLogAnalytics, type LogAnalyticsEmulator } from './log-analytics';
import { loadScenario, validateScenario, type Scenario } from './scenario';
import { recordSecret } from './secrets';
import { CloudState, type EmulatorControl } from './state';
import { loadTlsMaterial, type TlsMaterial } from './tls';
import { TokenSigner } from './tokens';
import { startPagerDutyReceiver, type PagerDutyReceiver } from './pagerduty-receiver';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver';

/**
 * The local private cloud: an Entra ID authority, Microsoft Graph, ACS Email, Log Analytics and the
 * receivers of Teams and webhook posts and PagerDuty events, on HTTPS loopback ports, sharing one token signer and
 * driven by a scenario. The product code talks to it
 * unchanged; only endpoints differ (see emulators/README.md).
 */

export interface PrivateCloudOptions {
  /** A scenario object, or the path of a scenario JSON file (e.g. `emulators/scenarios/demo.json`). */
  scenario: Scenario | string;
  /** Default: `loadTlsMaterial()` (EMULATOR_TLS_DIR, set by scripts/with-emulator-ca.mjs). */
  tls?: TlsMaterial;
  /** Where ACS writes delivered mail as .eml/.html. */
  outboxDir?: string;
  /** Lifetime of issued access tokens in seconds (default 3599, like Entra). */
  tokenLifetimeSeconds?: number;
  /** How long an authorization code (people's sign-in) can be redeemed, seconds (default 600, Entra's "about 10 minutes"). */
  authorizationCodeLifetimeSeconds?: number;
  /**
   * The clock of the tenants' data (ms): when jobs run, what the provisioning logs hold. Default
   * the real one; a test that plays hours of runs passes its own (tokens keep real time).
   */
  clock?: () => number;
}

export interface PrivateCloud {
  /** `https://127.0.0.1:P`: `authorityHost` / `AZURE_AUTHORITY_HOST`. */
  authorityHost: string;
  /** Graph root WITHOUT `/v1.0`: `https://127.0.0.1:P` (token scope: `${graphEndpoint}/.default`). */
  graphEndpoint: string;
  /** `https://127.0.0.1:P` */
  acsEndpoint: string;
  /** `endpoint=https://127.0.0.1:P/;accesskey=...` */
  acsConnectionString: string;
  clientId: string;
  clientSecret: string;
  /** Tenant ids of the scenario (lower case), in scenario order. */
  tenants: string[];
  /** Timeline steps, job/grant/consent changes, fault injection, logs. Also over HTTPS at `${graphEndpoint}/_emulator/`. */
  control: EmulatorControl;
  acs: AcsEmulator;
  /**
   * The managed identity endpoint (App Service protocol) of a user-assigned identity in the first
   * tenant; its Graph roles are that tenant's grants. Give a process its `env` to use it.
   */
  managedIdentity: ManagedIdentityEmulator;
  /** Azure Monitor Logs for one workspace receiving every tenant's provisioning logs (LOG_ANALYTICS_ENDPOINT, LOG_ANALYTICS_WORKSPACE_ID). */
  logAnalytics: LogAnalyticsEmulator;
  /** A Teams Workflows webhook and a signed-webhook receiver (TEAMS_OPS_URL, OPS_WEBHOOK_URL, OPS_WEBHOOK_SECRET). */
  webhooks: WebhookReceiver;
  /** PagerDuty's Events API v2 with one integration (PAGERDUTY_EVENTS_URL, PD_ROUTING_KEY). */
  pagerduty: PagerDutyReceiver;
  stop(): Promise<void>;
}

/**
 * The app settings (names as in DESIGN.md) that point Entra Sync Watch at this private cloud, as a
 * deployment would set them for real Azure. `acs: 'entra'` uses ACS_ENDPOINT with a token from the
 * authority instead of the connection string.
 */
export function settingsFor(
  cloud: PrivateCloud,
  options: { storage?: string; acs?: 'key' | 'entra' } = {},
): Record<string, string> {
  const settings: Record<string, string> = {
    WATCH_TENANTS: cloud.tenants.join(','),
    ALERT_EMAIL_TO: 'ops@contoso.com',
    ALERT_EMAIL_FROM: 'DoNotReply@watch.contoso.com',
    GRAPH_ENDPOINT: cloud.graphEndpoint,
    AZURE_AUTHORITY_HOST: cloud.authorityHost,
    AZURE_TENANT_ID: cloud.tenants[0] ?? '',
    AZURE_CLIENT_ID: cloud.clientId,
    AZURE_CLIENT_SECRET: cloud.clientSecret,
    ...(options.acs === 'entra'
      ? { ACS_ENDPOINT: cloud.acsEndpoint }
      : { ACS_CONNECTION_STRING: cloud.acsConnectionString }),
    LOG_ANALYTICS_ENDPOINT: cloud.logAnalytics.endpoint,
    LOG_ANALYTICS_WORKSPACE_ID: cloud.logAnalytics.workspaceId,
    // Channels besides email, read only when the config names them (emulators/scenarios/demo-config.json does).
    TEAMS_OPS_URL: cloud.webhooks.teamsUrl('ops'),
    OPS_WEBHOOK_URL: cloud.webhooks.webhookUrl('ops'),
    OPS_WEBHOOK_SECRET: cloud.webhooks.secret,
    PAGERDUTY_EVENTS_URL: cloud.pagerduty.eventsUrl,
    PD_ROUTING_KEY: cloud.pagerduty.routingKey,
  };
  if (options.storage) settings.AzureWebJobsStorage = options.storage;
  return settings;
}

export async function startPrivateCloud(options: PrivateCloudOptions): Promise<PrivateCloud> {
  const scenario =
    typeof options.scenario === 'string' ? loadScenario(options.scenario) : validateScenario(options.scenario);
  const tls = options.tls ?? loadTlsMaterial();
  const signer = await TokenSigner.create();
  const state = new CloudState(scenario, options.clock);
  recordSecret('client-secret', scenario.app.clientSecret);

  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const authority: AuthorityEmulator = await startAuthority({
      tls,
      signer,
      state,
      tokenLifetimeSeconds: options.tokenLifetimeSeconds,
      authorizationCodeLifetimeSeconds: options.authorizationCodeLifetimeSeconds,
    });
    started.push(authority);
    const graph: GraphEmulator = await startGraph({ tls, signer, state });
    started.push(graph);
    const acs = await startAcsEmulator({ tls, signer, outboxDir: options.outboxDir });
    started.push(acs);
    const home = state.tenantIds()[0] ?? '';
    const managedIdentity = await startManagedIdentityEndpoint({
      signer,
      authorityOrigin: authority.origin,
      tenantId: home,
      clientId: guidFrom(`managed-identity-client:${home}`),
      principalId: guidFrom(`managed-identity-principal:${home}`),
      roles: () => state.tenant(home)?.grants ?? [],
      tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    });
    started.push(managedIdentity);
    const workspace = scenario.logAnalytics;
    const logAnalytics = await startLogAnalytics({
      tls,
      signer,
      state,
      workspaceId: workspace?.workspaceId ?? guidFrom(`workspace:${scenario.name}`),
      readerAccess: workspace?.readerAccess,
    });
    started.push(logAnalytics);
    const webhooks = await startWebhookReceiver({ tls, outboxDir: options.outboxDir });
    started.push(webhooks);
    const pagerduty = await startPagerDutyReceiver({ tls, outboxDir: options.outboxDir });
    started.push(pagerduty);
    return {
      authorityHost: authority.origin,
      graphEndpoint: graph.origin,
      acsEndpoint: acs.endpoint,
      acsConnectionString: acs.connectionString,
      clientId: scenario.app.clientId,
      clientSecret: scenario.app.clientSecret,
      tenants: state.tenantIds(),
      control: state,
      acs,
      managedIdentity,
      logAnalytics,
      webhooks,
      pagerduty,
      stop: async () => {
        await Promise.all(started.map((s) => s.stop()));
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw error;
  }
}

export { guidFrom, jobIdFor } from './jobs';
export { loadScenario } from './scenario';
export type { Scenario } from './scenario';
export type { TokenRequestRecord } from './state';
export type { Fault, RequestLogEntry } from './faults';
export type { ProvisioningEventSpec } from './provisioning-logs';
export type { ReceivedPost } from './webhook-receiver';
