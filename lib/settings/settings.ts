import { existsSync } from 'node:fs';
import { cloudNamed, CLOUD_NAMES, CLOUDS, DEFAULT_CLOUD, type CloudName } from './clouds';
import { identityFromEnv, type Identity } from './identity';
import { NcrontabError, parseNcrontab } from './ncrontab';
import type { EmailDomainKind } from '../model/policy';
import { actionsSettings, type ActionsSettings } from './actions';
import { scaleSettings, type ScaleSettings } from './scale';
import type { Env } from './env';

/** The validated settings of the app (names in DESIGN.md; they are a public contract). */
export interface Settings {
  /** Tenants to watch; empty = the credential's own tenant. */
  tenants: string[];
  schedule: string;
  configPath?: string;
  emailTo: string[];
  emailFrom: string;
  /** ACS_EMAIL_DOMAIN_KIND, else inferred from ALERT_EMAIL_FROM: what the default send budget follows. */
  emailDomainKind: EmailDomainKind;
  acs: { endpoint: string; connectionString?: undefined } | { connectionString: string; endpoint: string };
  graphEndpoint: string;
  authorityHost?: string;
  storage: { connectionString: string } | { tableServiceUri: string; queueServiceUri?: string };
  /** AZURE_CLOUD: which cloud's authority, Graph and portal (explicit GRAPH_ENDPOINT / AZURE_AUTHORITY_HOST win). */
  cloud: CloudName;
  /** How the monitor signs in (lib/settings/identity.ts). */
  identity: Identity;
  /** A Log Analytics workspace receiving AADProvisioningLogs, for KQL rules (and, if the config says so, the failure digest). */
  logAnalytics?: { workspaceId: string; endpoint: string };
  /** Snooze links in messages (SNOOZE_SIGNING_KEY), answered by the Function App at baseUrl/api/snooze. */
  snooze?: { key: string; baseUrl: string };
  /** WATCH_CONCURRENCY, WATCH_FANOUT_*: how many tenants are read at once, and when the timer fans out (lib/settings/scale.ts). */
  scale?: ScaleSettings;
  /**
   * WATCH_SECRETS_READ: whether the synchronization secrets are read for the early warnings (an
   * undocumented read whose permission is unknown, lib/clients/permissions.ts). `off`: the early
   * warnings are off in coverage, not degraded, and nothing asks Graph for the secrets.
   */
  secretsRead: boolean;
  /** Decisions from an alert (WATCH_ACTIONS, ACTIONS_*; lib/settings/actions.ts); absent while off. */
  actions?: ActionsSettings;
}

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

export const DEFAULT_SCHEDULE = '0 */5 * * * *';
/** Shapes shared by the settings and the config file. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
export const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:"]+$/;

/** Domains reserved for documentation and testing (RFC 2606 §3, RFC 6761 §6): mail to them never arrives. */
const RESERVED_SECOND_LEVEL = ['example.com', 'example.net', 'example.org'];
const RESERVED_TLDS = ['example', 'test', 'invalid', 'localhost'];
/** The sender local.settings.sample.json ships with, a placeholder on no real ACS domain. */
const SAMPLE_SENDER = 'donotreply@example.azurecomm.net';

/**
 * Why an address cannot be a real recipient or sender, or undefined: one on a domain reserved for
 * examples (`ops@example.com`, `x@contoso.example`, `a@b.test`), or the sample file's sender.
 * Such an address passes as valid but nothing sent to or from it ever arrives.
 */
export function exampleAddressProblem(address: string): string | undefined {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  if (address.toLowerCase() === SAMPLE_SENDER)
    return "the sample's placeholder sender: use the MailFrom address of your ACS email domain (Email Communication Service → Domains → MailFrom addresses)";
  const tld = domain.slice(domain.lastIndexOf('.') + 1);
  const reserved =
    RESERVED_SECOND_LEVEL.find((d) => domain === d || domain.endsWith(`.${d}`)) ??
    (RESERVED_TLDS.includes(tld) ? `.${tld}` : undefined);
  return reserved
    ? `an example address: ${reserved} is reserved for documentation (RFC 2606, RFC 6761) and no mail to or from it arrives; use a real mailbox`
    : undefined;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * A URL as it may be shown: without its query and fragment, which can hold a SAS signature or a
 * key (`?sv=...&sig=...`). Text that is not a URL is shown only by its length.
 */
export function shownUrl(value: string): string {
  try {
    const url = new URL(value);
    const hidden = url.search || url.hash ? ' (query hidden)' : '';
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}${hidden}`;
  } catch {
    return `(${value.length} characters that are not a URL)`;
  }
}

function httpsRoot(name: string, value: string, problems: string[], allowPath = false): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name}=${shownUrl(value)} is not a URL; expected https://host[:port]`);
    return undefined;
  }
  if (url.protocol !== 'https:') {
    problems.push(`${name}="${shownUrl(value)}" must use https:// (tokens are never sent over plain HTTP)`);
    return undefined;
  }
  if (!allowPath && url.pathname !== '/' && url.pathname !== '') {
    problems.push(
      `${name}="${shownUrl(value)}" must be the service root without a path (e.g. https://graph.microsoft.com, not .../v1.0)`,
    );
    return undefined;
  }
  return `${url.protocol}//${url.host}`;
}

/** Whether an expression is a valid six-field NCRONTAB schedule (lib/settings/ncrontab.ts). */
export function isNcrontab(expression: string): boolean {
  return scheduleProblem(expression) === undefined;
}

/** What is wrong with a schedule, as the field and the value at fault, or undefined. */
function scheduleProblem(expression: string): string | undefined {
  try {
    parseNcrontab(expression);
    return undefined;
  } catch (error) {
    if (error instanceof NcrontabError) return error.message;
    throw error;
  }
}

const STORAGE_SHAPES =
  'expected UseDevelopmentStorage=true, DefaultEndpointsProtocol=https;AccountName=<account>;AccountKey=<key>;EndpointSuffix=core.windows.net, or TableEndpoint=https://...;SharedAccessSignature=<sas>';

/**
 * Checks the shape of a storage connection string without ever echoing it (it holds a key or a
 * SAS): the parts the table client needs must be there, and a key must be base64.
 */
function storageConnectionProblem(value: string): string | undefined {
  if (/^UseDevelopmentStorage=true;?$/i.test(value)) return undefined;
  const parts = new Map<string, string>();
  for (const piece of value.split(';').filter((p) => p.trim() !== '')) {
    const eq = piece.indexOf('=');
    if (eq <= 0)
      return `AzureWebJobsStorage is not a storage connection string (a part has no name=value); ${STORAGE_SHAPES}`;
    parts.set(piece.slice(0, eq).trim().toLowerCase(), piece.slice(eq + 1).trim());
  }
  const sas = parts.get('sharedaccesssignature');
  if (sas !== undefined) {
    return parts.has('tableendpoint') || parts.has('accountname')
      ? undefined
      : 'AzureWebJobsStorage has a SharedAccessSignature but no TableEndpoint (or AccountName)';
  }
  const name = parts.get('accountname');
  const key = parts.get('accountkey');
  if (!name || key === undefined)
    return `AzureWebJobsStorage is not a storage connection string (no AccountName and AccountKey); ${STORAGE_SHAPES}`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key))
    return "AzureWebJobsStorage: its AccountKey is not base64 (copy the key again from the storage account's Access keys)";
  const endpoint = parts.get('tableendpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/i.test(endpoint))
    return `AzureWebJobsStorage: TableEndpoint="${shownUrl(endpoint)}" is not an http(s) URL`;
  return undefined;
}

function emails(name: string, value: string | undefined, problems: string[]): string[] {
  const items = list(value);
  if (items.length === 0) {
    problems.push(`${name} is required: comma-separated email addresses`);
    return [];
  }
  for (const item of items) {
    if (!EMAIL.test(item)) problems.push(`${name} holds "${item}", which is not an email address`);
    else {
      const example = exampleAddressProblem(item);
      if (example) problems.push(`${name} holds "${item}", ${example}`);
    }
  }
  return items;
}

/**
 * ACS_EMAIL_DOMAIN_KIND (`managed` or `custom`), else what the sender's domain says: ACS's
 * Azure-managed domains are `<guid>.azurecomm.net` and a custom domain cannot be under
 * azurecomm.net, so the address tells the kind exactly (docs/reference/platform-notes.md §4.4).
 * Inferred rather than defaulted to `managed` so that a custom domain gets its own, higher limits
 * without a setting; the setting is there to say it outright (or for a domain the rule misreads).
 */
function emailDomainKindOf(value: string | undefined, sender: string | undefined, problems: string[]): EmailDomainKind {
  const given = value?.trim().toLowerCase();
  if (given === 'managed' || given === 'custom') return given;
  if (given)
    problems.push(
      `ACS_EMAIL_DOMAIN_KIND="${value?.trim().slice(0, 80)}" is not a kind of ACS email domain; expected managed (an Azure-managed domain, *.azurecomm.net: 5 emails a minute, 10 an hour) or custom (your own verified domain: 30 a minute, 100 an hour)`,
    );
  return /\.azurecomm\.net$/i.test(sender ?? '') ? 'managed' : 'custom';
}

function acsSettings(env: Env, problems: string[]): Settings['acs'] | undefined {
  const endpoint = env.ACS_ENDPOINT?.trim();
  const connectionString = env.ACS_CONNECTION_STRING?.trim();
  if (endpoint && connectionString) {
    problems.push(
      'ACS_ENDPOINT and ACS_CONNECTION_STRING are both set; set only one (ACS_ENDPOINT for Entra auth, preferred)',
    );
    return undefined;
  }
  if (endpoint) {
    const root = httpsRoot('ACS_ENDPOINT', endpoint, problems);
    return root ? { endpoint: root } : undefined;
  }
  if (connectionString) {
    const match = /^endpoint=([^;]+);accesskey=([^;]+);?$/i.exec(connectionString);
    if (!match) {
      problems.push(
        'ACS_CONNECTION_STRING must look like endpoint=https://<resource>.communication.azure.com/;accesskey=<key>',
      );
      return undefined;
    }
    const root = httpsRoot('ACS_CONNECTION_STRING endpoint', match[1] as string, problems);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(match[2] as string))
      problems.push('ACS_CONNECTION_STRING accesskey is not base64');
    return root ? { connectionString, endpoint: root } : undefined;
  }
  problems.push('ACS_ENDPOINT (Entra auth) or ACS_CONNECTION_STRING is required to send email');
  return undefined;
}

/** LOG_ANALYTICS_WORKSPACE_ID (the workspace's GUID) and LOG_ANALYTICS_ENDPOINT (default: the cloud's, from AZURE_CLOUD; set it for a private cloud). */
function logAnalyticsSettings(env: Env, cloudEndpoint: string, problems: string[]): Settings['logAnalytics'] {
  const workspaceId = env.LOG_ANALYTICS_WORKSPACE_ID?.trim();
  const endpointText = env.LOG_ANALYTICS_ENDPOINT?.trim();
  const endpoint = httpsRoot('LOG_ANALYTICS_ENDPOINT', endpointText || cloudEndpoint, problems);
  if (!workspaceId) {
    if (endpointText)
      problems.push(
        'LOG_ANALYTICS_ENDPOINT is set without LOG_ANALYTICS_WORKSPACE_ID; set the workspace ID too (or neither)',
      );
    return undefined;
  }
  if (!GUID.test(workspaceId)) {
    problems.push(
      `LOG_ANALYTICS_WORKSPACE_ID="${workspaceId}" is not a workspace ID; expected the workspace's GUID (Log Analytics workspace > Overview > Workspace ID)`,
    );
    return undefined;
  }
  return endpoint ? { workspaceId: workspaceId.toLowerCase(), endpoint } : undefined;
}

/** WATCH_SECRETS_READ: `on` (default) or `off`, in any casing. */
function secretsReadSetting(value: string | undefined, problems: string[]): boolean {
  const given = value?.trim().toLowerCase();
  if (!given || given === 'on') return true;
  if (given === 'off') return false;
  problems.push(
    `WATCH_SECRETS_READ="${value?.trim().slice(0, 80)}" is neither on nor off; on (default) reads each configuration's synchronization secrets for the early warnings (notification email, deletion prevention, SCIM token expiry), off turns those warnings off`,
  );
  return true;
}

/** The shortest SNOOZE_SIGNING_KEY accepted. */
const MIN_SNOOZE_KEY = 32;

/**
 * SNOOZE_SIGNING_KEY switches snooze links on; they point at SNOOZE_BASE_URL, or at the Function
 * App's own https address (WEBSITE_HOSTNAME, set by Azure). The key is a secret: never shown.
 */
function snoozeSettings(env: Env, problems: string[]): Settings['snooze'] {
  const key = env.SNOOZE_SIGNING_KEY?.trim();
  const baseText = env.SNOOZE_BASE_URL?.trim();
  if (!key) {
    if (baseText)
      problems.push(
        'SNOOZE_BASE_URL is set without SNOOZE_SIGNING_KEY; set the key too (e.g. openssl rand -base64 48), or neither',
      );
    return undefined;
  }
  if (key.length < MIN_SNOOZE_KEY)
    problems.push(
      `SNOOZE_SIGNING_KEY is ${key.length} characters; use at least ${MIN_SNOOZE_KEY} random ones (e.g. openssl rand -base64 48)`,
    );
  const host = env.WEBSITE_HOSTNAME?.trim();
  const base = baseText || (host ? `https://${host}` : undefined);
  if (!base) {
    problems.push(
      "SNOOZE_SIGNING_KEY is set but the snooze links have no address: set SNOOZE_BASE_URL to the Function App's https address (e.g. https://<app>.azurewebsites.net)",
    );
    return undefined;
  }
  const root = httpsRoot('SNOOZE_BASE_URL', base, problems, true);
  if (!root || key.length < MIN_SNOOZE_KEY) return undefined;
  const path = new URL(base).pathname.replace(/\/+$/, '');
  return { key, baseUrl: `${root}${path}` };
}

/**
 * The standard `@azure/identity` settings the product reads itself: a tenant that is neither a
 * GUID nor a domain, or a certificate file that is not there, would otherwise surface later as
 * "cannot monitor" on every tenant.
 */
function identitySettings(env: Env, problems: string[]): void {
  const tenant = env.AZURE_TENANT_ID?.trim();
  if (tenant && !GUID.test(tenant) && !DOMAIN.test(tenant))
    problems.push(`AZURE_TENANT_ID="${tenant.slice(0, 80)}" is neither a tenant ID (GUID) nor a domain name`);
  const clientId = env.AZURE_CLIENT_ID?.trim();
  if (clientId && !GUID.test(clientId))
    problems.push(`AZURE_CLIENT_ID="${clientId.slice(0, 80)}" is not an application (client) ID, which is a GUID`);
  const certificate = env.AZURE_CLIENT_CERTIFICATE_PATH?.trim();
  if (certificate && !env.AZURE_CLIENT_SECRET && !existsSync(certificate)) {
    problems.push(
      `AZURE_CLIENT_CERTIFICATE_PATH="${certificate}": no such file (a PEM file with the certificate and its private key)`,
    );
  }
}

/**
 * Reads and validates every setting at once, so one start names every problem, not the first.
 * Throws SettingsError listing each bad or missing setting and what is expected.
 */
export function loadSettings(given: Env): Settings {
  const problems: string[] = [];
  const env = withoutPlaceholders(given, problems);

  const tenants = [...new Set(list(env.WATCH_TENANTS).map((t) => t.toLowerCase()))];
  for (const t of tenants)
    if (!GUID.test(t) && !DOMAIN.test(t))
      problems.push(`WATCH_TENANTS holds "${t}", which is neither a tenant ID (GUID) nor a domain name`);

  const schedule = env.WATCH_SCHEDULE?.trim() || DEFAULT_SCHEDULE;
  const scheduleIssue = scheduleProblem(schedule);
  if (scheduleIssue)
    problems.push(
      `WATCH_SCHEDULE="${schedule}" is not an NCRONTAB expression: ${scheduleIssue} (the default is "${DEFAULT_SCHEDULE}", every 5 minutes)`,
    );

  const configPath = env.WATCH_CONFIG?.trim() || undefined;
  if (configPath && !existsSync(configPath)) problems.push(`WATCH_CONFIG="${configPath}": no such file`);

  const emailTo = emails('ALERT_EMAIL_TO', env.ALERT_EMAIL_TO, problems);
  const from = list(env.ALERT_EMAIL_FROM);
  if (from.length !== 1 || !EMAIL.test(from[0] as string)) {
    problems.push(
      'ALERT_EMAIL_FROM is required: one sender address on a verified ACS domain (e.g. DoNotReply@<domain>)',
    );
  } else {
    const example = exampleAddressProblem(from[0] as string);
    if (example) problems.push(`ALERT_EMAIL_FROM holds "${from[0]}", ${example}`);
  }
  const emailDomainKind = emailDomainKindOf(env.ACS_EMAIL_DOMAIN_KIND, from[0], problems);
  const acs = acsSettings(env, problems);
  const cloud = cloudNamed(env.AZURE_CLOUD?.trim() || DEFAULT_CLOUD);
  if (!cloud)
    problems.push(
      `AZURE_CLOUD="${env.AZURE_CLOUD}" is not a cloud this app knows; expected one of ${CLOUD_NAMES.join(', ')}`,
    );
  const endpoints = cloud ?? CLOUDS[DEFAULT_CLOUD];
  const graphEndpoint = httpsRoot('GRAPH_ENDPOINT', env.GRAPH_ENDPOINT?.trim() || endpoints.graphEndpoint, problems);
  const authorityHost = httpsRoot(
    'AZURE_AUTHORITY_HOST',
    env.AZURE_AUTHORITY_HOST?.trim() || endpoints.authorityHost,
    problems,
  );
  const identity = identityFromEnv(env, problems);

  identitySettings(env, problems);

  const tableServiceUri = env.AzureWebJobsStorage__tableServiceUri?.trim();
  const storageConnection = env.AzureWebJobsStorage?.trim();
  let storage: Settings['storage'];
  if (storageConnection) {
    const issue = storageConnectionProblem(storageConnection);
    if (issue) problems.push(issue);
    storage = { connectionString: storageConnection };
  } else if (tableServiceUri) {
    const root = httpsRoot('AzureWebJobsStorage__tableServiceUri', tableServiceUri, problems, true);
    // The queue of the tenant fan-out (lib/fanout/), on the same account; the Functions host reads it too.
    const queueText = env.AzureWebJobsStorage__queueServiceUri?.trim();
    const queueServiceUri = queueText
      ? httpsRoot('AzureWebJobsStorage__queueServiceUri', queueText, problems, true)
      : undefined;
    storage = { tableServiceUri: root ?? tableServiceUri, ...(queueServiceUri ? { queueServiceUri } : {}) };
  } else storage = { connectionString: 'UseDevelopmentStorage=true' };

  const logAnalytics = logAnalyticsSettings(env, endpoints.logAnalyticsEndpoint, problems);
  const snooze = snoozeSettings(env, problems);
  const scale = scaleSettings(env, problems);
  const secretsRead = secretsReadSetting(env.WATCH_SECRETS_READ, problems);
  const actions = actionsSettings(
    env,
    { authorityHost: authorityHost ?? endpoints.authorityHost, chinaCloud: cloud?.name === 'AzureChinaCloud' },
    problems,
  );

  if (problems.length > 0 || !acs || !graphEndpoint || !cloud) throw new SettingsError(problems);
  return {
    tenants,
    schedule,
    configPath,
    emailTo,
    emailFrom: from[0] as string,
    emailDomainKind,
    acs,
    graphEndpoint,
    authorityHost,
    storage,
    cloud: cloud.name,
    identity,
    ...(logAnalytics ? { logAnalytics } : {}),
    ...(snooze ? { snooze } : {}),
    ...(scale ? { scale } : {}),
    secretsRead,
    ...(actions ? { actions } : {}),
  };
}

/**
 * Every app setting a deployment deals with, and who sets it. The infra contract test
 * (test/unit/infra-contract.test.ts) checks that every setting the code reads is listed here, and
 * that infra/ sets every `required` and `host` one.
 * - `required`: the app cannot run in Azure without it (some have a default locally).
 * - `optional`: has a default, or is an alternative to a required one (a secret instead of the managed identity).
 * - `host`: read by the Functions host, not by our code: identity-based storage and Application Insights.
 * - `platform`: set by Azure itself (the managed identity endpoint); a deployment never sets it.
 */
export const DEPLOYMENT_SETTINGS = {
  WATCH_TENANTS: 'required',
  WATCH_SCHEDULE: 'required',
  WATCH_CONFIG: 'optional',
  ALERT_EMAIL_TO: 'required',
  ALERT_EMAIL_FROM: 'required',
  ACS_ENDPOINT: 'required',
  ACS_CONNECTION_STRING: 'optional',
  ACS_EMAIL_DOMAIN_KIND: 'optional',
  AZURE_CLOUD: 'required',
  GRAPH_ENDPOINT: 'optional',
  AZURE_AUTHORITY_HOST: 'optional',
  AZURE_TENANT_ID: 'required',
  AZURE_CLIENT_ID: 'required',
  WATCH_APP_CLIENT_ID: 'optional',
  AZURE_CLIENT_CERTIFICATE_PATH: 'optional',
  AZURE_CLIENT_CERTIFICATE_PASSWORD: 'optional',
  AZURE_CLIENT_SECRET: 'optional',
  AzureFunctionsJobHost__functionTimeout: 'optional',
  LOG_ANALYTICS_WORKSPACE_ID: 'optional',
  LOG_ANALYTICS_ENDPOINT: 'optional',
  SNOOZE_SIGNING_KEY: 'optional',
  SNOOZE_BASE_URL: 'optional',
  WATCH_ACTIONS: 'optional',
  ACTIONS_SIGNING_KEY: 'optional',
  ACTIONS_BASE_URL: 'optional',
  ACTIONS_LINK_LIFETIME: 'optional',
  ACTIONS_SIGNIN_CLIENT_ID: 'optional',
  ACTIONS_SIGNIN_CLIENT_SECRET: 'optional',
  ACTIONS_SIGNIN_TENANT_ID: 'optional',
  WATCH_CONCURRENCY: 'optional',
  WATCH_FANOUT_TENANTS: 'optional',
  WATCH_FANOUT_BATCH: 'optional',
  WATCH_SECRETS_READ: 'optional',
  AzureWebJobsStorage: 'optional',
  AzureWebJobsStorage__tableServiceUri: 'required',
  AzureWebJobsStorage__blobServiceUri: 'host',
  AzureWebJobsStorage__queueServiceUri: 'required',
  AzureWebJobsStorage__credential: 'host',
  AzureWebJobsStorage__clientId: 'host',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'host',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'host',
  // The Node worker's arguments (lib/settings/worker-arguments.ts).
  languageWorkers__node__arguments: 'host',
  IDENTITY_ENDPOINT: 'platform',
  IDENTITY_HEADER: 'platform',
  MSI_ENDPOINT: 'platform',
  WEBSITE_HOSTNAME: 'platform',
} as const satisfies Record<string, 'required' | 'optional' | 'host' | 'platform'>;

const PLACEHOLDER = /<[^<>]*>/;
const ZERO_GUID = /\b0{8}-0{4}-0{4}-0{4}-0{12}\b/;

/** The placeholder of local.settings.sample.json a value still holds (`<...>`, the all-zero GUID), if any. */
export function placeholderIn(text: string): string | undefined {
  return PLACEHOLDER.exec(text)?.[0] ?? ZERO_GUID.exec(text)?.[0];
}

/**
 * The settings without the placeholders of local.settings.sample.json (`<...>`, the all-zero
 * GUID), each named as a problem: a copied sample must not run against a made-up tenant.
 */
function withoutPlaceholders(env: Env, problems: string[]): Env {
  const kept: Env = { ...env };
  for (const name of Object.keys(DEPLOYMENT_SETTINGS)) {
    const text = env[name];
    if (text === undefined) continue;
    const placeholder = placeholderIn(text);
    if (placeholder === undefined) continue;
    problems.push(
      `${name} still holds the placeholder "${placeholder}" from local.settings.sample.json; replace it with the real value`,
    );
    delete kept[name];
  }
  return kept;
}
