import type { AccessToken, GetTokenOptions } from '@azure/core-auth';
import type { RenewableCredential } from './renewable-credential';

/**
 * Every Graph token must belong to the tenant it was asked for. A token's `tid` is the tenant whose
 * data Graph serves with it: a managed identity answers with its home tenant's token whatever tenant
 * is asked, so a tenant listed by its domain in WATCH_TENANTS was read as the home tenant and its
 * jobs reported under the foreign name, a false "healthy". Here each asked tenant is resolved to
 * its tenant ID (a domain through its OpenID configuration, once per process), and a token whose
 * `tid` is another tenant's is refused before Graph is called with it.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GUID_IN_PATH = /\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\//i;

/** A token for one tenant carries another's `tid`. Its message names both tenant IDs. */
export class TenantMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantMismatchError';
  }
}

/** A domain in WATCH_TENANTS that the authority does not know (Entra: 400 AADSTS90002), or whose discovery failed. */
export class TenantDiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantDiscoveryError';
  }
}

/**
 * The `tid` claim of an access token, lower-cased. Read without checking the signature: the token
 * came straight from the identity library over TLS from the authority (or the managed identity
 * endpoint), and Graph verifies it before it serves anything. The claim is read to catch the
 * authority's honest answer for the wrong tenant, not a forgery, which Graph would refuse anyway.
 */
export function tokenTenant(token: string): string | undefined {
  const { tid } = claimsOf(token);
  return typeof tid === 'string' ? tid.toLowerCase() : undefined;
}

/**
 * The app roles an app-only token carries (`roles`): the application permissions granted to the app
 * in the token's tenant when the token was issued. Read like `tid`, without checking the signature.
 */
export function tokenRoles(token: string): string[] {
  const { roles } = claimsOf(token);
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
}

/**
 * Whether a token is a person's (delegated: it carries `scp`, or `idtyp` says user) rather than an
 * app's: what a developer's `az login` gives a process that asks for the managed identity off Azure.
 */
export function tokenIsDelegated(token: string): boolean {
  const { scp, idtyp } = claimsOf(token);
  return typeof scp === 'string' || idtyp === 'user';
}

function claimsOf(token: string): { tid?: unknown; roles?: unknown; scp?: unknown; idtyp?: unknown } {
  try {
    const claims: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' ? claims : {};
  } catch {
    return {};
  }
}

/** Resolves a tenant (ID or domain) to its tenant ID. */
export type TenantResolver = (tenant: string, signal?: AbortSignal) => Promise<string>;

/** How long one OpenID configuration request may take, beside the caller's own limit. */
const DISCOVERY_TIMEOUT_MS = 10_000;

/**
 * A domain's tenant ID from its OpenID configuration
 * (`GET {authorityHost}/{domain}/v2.0/.well-known/openid-configuration`), whose `token_endpoint`
 * and `issuer` name the tenant ID. Each domain is asked once per process (a tenant's ID never
 * changes); a failed answer is not kept, so the next cycle asks again. A GUID is its own answer.
 */
export function tenantResolver(authorityHost: string, fetchJson = getJson): TenantResolver {
  const root = authorityHost.replace(/\/+$/, '');
  const known = new Map<string, Promise<string>>();
  return (tenant, signal) => {
    const key = tenant.toLowerCase();
    if (GUID.test(key)) return Promise.resolve(key);
    let resolved = known.get(key);
    if (!resolved) {
      const url = `${root}/${encodeURIComponent(key)}/v2.0/.well-known/openid-configuration`;
      resolved = fetchJson(url, signal).then(({ status, body }) => tenantIdOf(key, url, status, body));
      resolved.catch(() => known.delete(key));
      known.set(key, resolved);
    }
    return resolved;
  };
}

function tenantIdOf(domain: string, url: string, status: number, body: unknown): string {
  const answer = (body ?? {}) as { token_endpoint?: unknown; issuer?: unknown; error_description?: unknown };
  if (status !== 200) {
    const said = typeof answer.error_description === 'string' ? `: ${answer.error_description.split(/\r?\n/)[0]}` : '';
    throw new TenantDiscoveryError(
      `the tenant ${domain} in WATCH_TENANTS could not be resolved to a tenant ID: ${url} answered ${status}${said}` +
        (status === 400 ? ' (is the domain a verified domain of the tenant?)' : ''),
    );
  }
  for (const field of [answer.token_endpoint, answer.issuer]) {
    const id = typeof field === 'string' ? GUID_IN_PATH.exec(`${field}/`)?.[1] : undefined;
    if (id) return id.toLowerCase();
  }
  throw new TenantDiscoveryError(
    `the tenant ${domain} in WATCH_TENANTS could not be resolved to a tenant ID: the OpenID configuration at ${url} names none in its token_endpoint or issuer`,
  );
}

async function getJson(url: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
  const timeout = AbortSignal.timeout(DISCOVERY_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    throw new TenantDiscoveryError(`the OpenID configuration at ${url} could not be read: ${(error as Error).message}`);
  }
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: response.status, body: undefined };
  }
}

/** What the monitor should say of a mismatch: the mode's own words and what to do (lib/clients/credentials.ts). */
export type MismatchText = (asked: string, askedId: string, issued: string) => string;

/** The default words: the authority issued a token of another tenant than the one asked for. */
const MISMATCH: MismatchText = (asked, askedId, issued) =>
  `the token issued for tenant ${asked === askedId ? askedId : `${asked} (${askedId})`} belongs to tenant ${issued}: ` +
  `it is not used, or tenant ${issued}'s jobs would be reported under tenant ${askedId}'s name`;

/**
 * The credential, with every token for a tenant checked to carry that tenant's ID as `tid`
 * (a token without a readable `tid` is passed on: Graph judges it). `renew` and `abandon` go to the
 * credential it wraps.
 */
export function tenantChecked(
  credential: RenewableCredential,
  resolve: TenantResolver,
  mismatch: MismatchText = MISMATCH,
): RenewableCredential {
  const checked = (token: AccessToken | null, asked: string, askedId: string): AccessToken | null => {
    const issued = token ? tokenTenant(token.token) : undefined;
    if (issued && issued !== askedId) throw new TenantMismatchError(mismatch(asked.toLowerCase(), askedId, issued));
    return token;
  };
  return {
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const asked = options?.tenantId;
      if (!asked) return credential.getToken(scopes, options);
      // A tenant ID is asked for at once (the request starts now, as the credential's callers expect);
      // a domain is resolved first, so a token is never asked for a domain that resolves to nothing.
      if (GUID.test(asked))
        return credential.getToken(scopes, options).then((token) => checked(token, asked, asked.toLowerCase()));
      return resolve(asked, options?.abortSignal as AbortSignal | undefined).then((askedId) =>
        credential.getToken(scopes, options).then((token) => checked(token, asked, askedId)),
      );
    },
    renew: (tenantId) => credential.renew(tenantId),
    abandon: (scopes, tenantId) => credential.abandon?.(scopes, tenantId),
  };
}
