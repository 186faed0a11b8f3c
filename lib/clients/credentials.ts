import { createHash } from 'node:crypto';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import {
  ClientAssertionCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
} from '@azure/identity';
import { CLOUDS } from '../settings/clouds';
import type { Identity } from '../settings/identity';
import type { Env } from '../settings/env';
import type { Settings } from '../settings/settings';
import { tenantChecked, tenantResolver, type MismatchText } from './tenant-check';
import type { RenewableCredential } from './renewable-credential';

const MICROSOFT_AUTHORITY_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.microsoftonline.de',
]);

function isMicrosoftAuthority(authorityHost: string): boolean {
  return MICROSOFT_AUTHORITY_HOSTS.has(new URL(authorityHost).hostname.toLowerCase());
}

/** The identities the app uses: one to read Graph in the watched tenants, one for its own Azure resources. */
export interface Credentials {
  mode: Identity['mode'];
  /** Reads Microsoft Graph; asked for a token per watched tenant (`GetTokenOptions.tenantId`). */
  graph: RenewableCredential;
  /** Reaches this deployment's Table Storage and ACS: the managed identity where there is one. */
  azure: TokenCredential;
}

/**
 * Whether the process runs where a managed identity endpoint exists: App Service and Functions
 * (Flex Consumption included) set IDENTITY_ENDPOINT and IDENTITY_HEADER, older hosts MSI_ENDPOINT.
 * @azure/identity (through MSAL) reads these from process.env, so they are checked there too.
 */
function onManagedIdentityHost(env: Env): boolean {
  return Boolean(
    env.IDENTITY_ENDPOINT || env.MSI_ENDPOINT || process.env.IDENTITY_ENDPOINT || process.env.MSI_ENDPOINT,
  );
}

function commonOptions(settings: Settings) {
  return {
    authorityHost: settings.authorityHost,
    // MSAL validates an authority against Microsoft's instance-discovery endpoint, which only knows
    // Microsoft's clouds. A private authority (Azure Stack, a sovereign gateway, our emulator)
    // must skip that validation, as the identity SDK documents for private clouds.
    disableInstanceDiscovery: settings.authorityHost !== undefined && !isMicrosoftAuthority(settings.authorityHost),
  };
}

/**
 * The managed identity: the platform's endpoint in Azure; elsewhere DefaultAzureCredential, so a
 * developer's `az login` stands in for it on their machine.
 */
function managedIdentity(
  settings: Settings,
  env: Env,
  clientId: string | undefined,
  tenantId?: string,
): TokenCredential {
  if (onManagedIdentityHost(env)) return new ManagedIdentityCredential(clientId ? { clientId } : {});
  return new DefaultAzureCredential({ ...commonOptions(settings), managedIdentityClientId: clientId, tenantId });
}

/**
 * A multi-tenant app registration whose credential is the managed identity (a federated identity
 * credential): for each watched tenant a ClientAssertionCredential whose assertion is the managed
 * identity's token for the token-exchange audience of the cloud (docs/reference/platform-notes.md §3.2).
 */
function federatedApp(
  settings: Settings,
  identity: Extract<Identity, { mode: 'federated' }>,
  managed: TokenCredential,
): TokenCredential {
  const audience = `${CLOUDS[settings.cloud].tokenExchangeAudience}/.default`;
  const assertion = async (): Promise<string> => {
    const token = await managed.getToken(audience);
    if (!token) throw new Error(`the managed identity returned no token for ${audience}`);
    return token.token;
  };
  const perTenant = new Map<string, ClientAssertionCredential>();
  const forTenant = (tenantId: string): ClientAssertionCredential => {
    const key = tenantId.toLowerCase();
    let credential = perTenant.get(key);
    if (!credential) {
      credential = new ClientAssertionCredential(tenantId, identity.appClientId, assertion, commonOptions(settings));
      perTenant.set(key, credential);
    }
    return credential;
  };
  return {
    getToken: (scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> =>
      forTenant(options?.tenantId ?? identity.tenantId).getToken(scopes, options),
  };
}

/**
 * A managed identity gets tokens only for its own tenant, whatever tenant is asked for: its token
 * for another tenant is refused (tenantChecked) with what to do instead.
 */
const MANAGED_IDENTITY_MISMATCH: MismatchText = (asked, askedId, issued) =>
  `the managed identity belongs to tenant ${issued} and cannot read tenant ${asked === askedId ? askedId : `${asked} (${askedId})`}; to watch other tenants, ` +
  'set WATCH_APP_CLIENT_ID to a multi-tenant app registration whose federated credential is this managed identity, and have each tenant consent to it';

/** Credentials the tenants' tokens are spread over (see sharded()). */
const TOKEN_SHARDS = 16;

/**
 * One app credential for many tenants, as TOKEN_SHARDS credentials each holding the tokens of a
 * share of the tenants. The identity library's cache (MSAL's) scans every token it holds when it
 * looks one up and again when it saves one, so a single credential asked for 1,000 tenants' tokens
 * does a million comparisons, and allocates for each: at a cold start that was most of the
 * monitor's memory. A tenant always goes to the same credential.
 */
function sharded(make: () => TokenCredential, first: TokenCredential): TokenCredential {
  const shards: TokenCredential[] = [first];
  const shardOf = (tenantId: string | undefined): TokenCredential => {
    const key = (tenantId ?? '').toLowerCase();
    let hash = 0;
    for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
    const index = hash % TOKEN_SHARDS;
    return (shards[index] ??= make());
  };
  return { getToken: (scopes, options) => shardOf(options?.tenantId).getToken(scopes, options) };
}

/** A token is used until this long before it expires, when the identity library has not said when to refresh it. */
const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * One credential for every tenant, except those told to renew: each of them gets a credential of
 * its own, made afresh (so with an empty token cache), whose next token is a new one. The identity
 * library gives no way to drop one tenant's token from a credential's cache, hence a new instance.
 *
 * Tokens are also kept here, per tenant and scope, until their refresh time: the identity
 * library's own cache (MSAL's) looks a token up by scanning every token it holds, which for 1,000
 * tenants, asked for a token at every Graph request, cost more CPU than the reads themselves.
 */
export function renewableCredential(
  make: () => TokenCredential,
  shared: TokenCredential = make(),
  clock: () => number = Date.now,
): RenewableCredential {
  const renewed = new Map<string, TokenCredential>();
  const tokens = new Map<string, AccessToken>();
  const pending = new Map<string, Promise<AccessToken | null>>();
  const keyOf = (tenantId: string | undefined) => (tenantId ?? '').toLowerCase();
  /** What tokens and shared requests are kept under: the tenant and the scopes. */
  const keyFor = (tenantId: string | undefined, scopes: string | string[]) =>
    `${keyOf(tenantId)} ${[scopes].flat().join(' ')}`;
  /** Asks the tenant's credential, and keeps the token unless renew() was called for it meanwhile. */
  const ask = (
    key: string,
    credential: TokenCredential,
    scopes: string | string[],
    options?: GetTokenOptions,
  ): Promise<AccessToken | null> => {
    const asked: Promise<AccessToken | null> = credential.getToken(scopes, options).then(
      (token) => {
        if (pending.get(key) === asked) {
          pending.delete(key);
          if (token) tokens.set(key, token);
        }
        return token;
      },
      (error: unknown) => {
        if (pending.get(key) === asked) pending.delete(key);
        throw error;
      },
    );
    pending.set(key, asked);
    return asked;
  };
  /**
   * A shared request, no longer shared once a caller waiting for it gives up (its signal aborts):
   * the identity library may never settle a request that hung (a token endpoint that does not
   * answer), and the next caller, in this cycle or the next, must ask anew. The caller's own wait
   * is ended by its time limit (boundedCredential, lib/clients/timeouts.ts), which names the call.
   */
  const share = (
    key: string,
    asked: Promise<AccessToken | null>,
    signal: GetTokenOptions['abortSignal'],
  ): Promise<AccessToken | null> => {
    if (!signal) return asked;
    const forget = () => {
      if (pending.get(key) === asked) pending.delete(key);
    };
    if (signal.aborted) forget();
    else {
      signal.addEventListener('abort', forget);
      const done = () => signal.removeEventListener('abort', forget);
      asked.then(done, done);
    }
    return asked;
  };
  return {
    getToken(scopes, options) {
      const tenant = keyOf(options?.tenantId);
      const credential = renewed.get(tenant) ?? shared;
      const key = keyFor(options?.tenantId, scopes);
      // A claims challenge (continuous access evaluation) always asks the authority; its token replaces the kept one.
      if (options?.claims) return share(key, ask(key, credential, scopes, options), options.abortSignal);
      const kept = tokens.get(key);
      if (kept && clock() < (kept.refreshAfterTimestamp ?? kept.expiresOnTimestamp - REFRESH_MARGIN_MS))
        return Promise.resolve(kept);
      // Callers asking at once (a tenant's concurrent reads) share one request.
      return share(key, pending.get(key) ?? ask(key, credential, scopes, options), options?.abortSignal);
    },
    abandon(scopes, tenantId) {
      pending.delete(keyFor(tenantId, scopes));
    },
    renew(tenantId) {
      const tenant = keyOf(tenantId);
      renewed.set(tenant, make());
      for (const map of [tokens, pending])
        for (const key of map.keys()) if (key.startsWith(`${tenant} `)) map.delete(key);
    },
  };
}

/**
 * The credentials the settings describe (lib/settings/identity.ts), secretless first. In every mode
 * each Graph token must carry the tenant asked for as its `tid`, a domain resolved to its tenant ID
 * once per process (lib/clients/tenant-check.ts): a token of another tenant reads that tenant.
 */
export function createCredentials(settings: Settings, env: Env): Credentials {
  const { identity } = settings;
  const multiTenant = { ...commonOptions(settings), additionallyAllowedTenants: ['*'] };
  const resolve = tenantResolver(settings.authorityHost ?? CLOUDS[settings.cloud].authorityHost);
  switch (identity.mode) {
    case 'managed-identity': {
      const managed = managedIdentity(settings, env, identity.clientId, identity.tenantId);
      const graph = renewableCredential(
        () => managedIdentity(settings, env, identity.clientId, identity.tenantId),
        managed,
      );
      return { mode: identity.mode, graph: tenantChecked(graph, resolve, MANAGED_IDENTITY_MISMATCH), azure: managed };
    }
    case 'federated': {
      const managed = managedIdentity(settings, env, identity.managedIdentityClientId, identity.tenantId);
      return {
        mode: identity.mode,
        graph: tenantChecked(
          renewableCredential(() => federatedApp(settings, identity, managed)),
          resolve,
        ),
        azure: managed,
      };
    }
    case 'certificate':
    case 'secret': {
      const makeApp = () =>
        identity.mode === 'certificate'
          ? new ClientCertificateCredential(
              identity.tenantId,
              identity.clientId,
              { certificatePath: identity.certificatePath, certificatePassword: identity.certificatePassword },
              multiTenant,
            )
          : new ClientSecretCredential(identity.tenantId, identity.clientId, identity.clientSecret, multiTenant);
      const app = makeApp();
      // In Azure the host's own identity (the one it uses for storage) owns the resource roles;
      // elsewhere the app registration reaches them, as a local run against emulators does.
      const azure = onManagedIdentityHost(env)
        ? managedIdentity(settings, env, env.AzureWebJobsStorage__clientId)
        : app;
      return {
        mode: identity.mode,
        graph: tenantChecked(renewableCredential(makeApp, sharded(makeApp, app)), resolve),
        azure,
      };
    }
  }
}

/** Credentials kept by this process, by what they were made from (a hash: the key holds secrets). */
const KEPT = new Map<string, Credentials>();
/** Settings a process switches between (tests, a local run after an edit): a few at most. */
const KEPT_MAX = 8;

function credentialsKey(settings: Settings, env: Env): string {
  const inputs = {
    identity: settings.identity,
    authorityHost: settings.authorityHost,
    cloud: settings.cloud,
    managedIdentityHost: onManagedIdentityHost(env),
    identityEndpoint:
      env.IDENTITY_ENDPOINT ?? process.env.IDENTITY_ENDPOINT ?? env.MSI_ENDPOINT ?? process.env.MSI_ENDPOINT,
    storageClientId: env.AzureWebJobsStorage__clientId,
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('base64url');
}

/**
 * The credentials for these settings, made once per process and kept: a Functions instance runs
 * many cycles, and each credential keeps its tokens (one per tenant, about an hour each) instead of
 * asking the authority for a new one per tenant per cycle (1,000 tenants every 5 minutes would be
 * 12,000 token requests an hour). Different settings get different credentials.
 */
export function keptCredentials(settings: Settings, env: Env): Credentials {
  const key = credentialsKey(settings, env);
  let credentials = KEPT.get(key);
  if (credentials) {
    KEPT.delete(key); // most recently used last
  } else {
    credentials = createCredentials(settings, env);
    if (KEPT.size >= KEPT_MAX) KEPT.delete(KEPT.keys().next().value as string);
  }
  KEPT.set(key, credentials);
  return credentials;
}

/** Forgets every kept credential (tests that must start without cached tokens). */
export function forgetKeptCredentials(): void {
  KEPT.clear();
}
