import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * Checks the ID token of a person who signed in, as the OpenID Connect core spec (§3.1.3.7) and
 * Entra's ID token reference ask: MSAL Node does not verify the signature (it only decodes the
 * payload; docs/notes research memo §9.2), so this does, against the keys the tenant publishes at
 * its `jwks_uri`, and then the issuer, the audience, the times, the nonce and the tenant.
 * node:crypto only: RS256 is the one algorithm Entra signs ID tokens with, and accepting only it
 * closes the `alg` confusion attacks a general JWT library must guard against.
 */

/** The parts of a tenant's OpenID configuration the sign-in uses. */
export interface OpenIdMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  end_session_endpoint?: string;
}

/** The claims the decide endpoint reads from an ID token. */
export interface IdTokenClaims {
  iss: string;
  aud: string;
  tid: string;
  oid: string;
  exp: number;
  iat?: number;
  nbf?: number;
  nonce?: string;
  name?: string;
  preferred_username?: string;
  roles?: string[];
  groups?: string[];
  /** Groups overage: the token names where to read the groups instead of listing them (over 200). */
  _claim_names?: { groups?: string };
  hasgroups?: boolean;
}

/** An ID token that is not good, with the reason (logged; the person sees a page that says to sign in again). */
export class IdTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdTokenError';
  }
}

/** How much clocks may disagree (Entra's and this instance's). */
const CLOCK_SKEW_S = 300;
/** A key set is fetched again for an unknown key id at most this often (Entra rolls its keys; nobody may make us fetch it per request). */
const JWKS_REFETCH_MS = 5 * 60_000;

export type FetchJson = (url: string) => Promise<unknown>;

/** GET a JSON document over https with a time limit, as the sign-in needs it (metadata, keys). */
export const fetchJson: FetchJson = async (url) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${new URL(url).origin}${new URL(url).pathname} answered ${response.status}`);
  return (await response.json()) as unknown;
};

function decodePart(part: string | undefined, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new IdTokenError(`the ID token's ${what} is not JSON`);
}

/** The tenant's signing keys, fetched once and again when a token names a key not seen yet. */
export class TenantKeys {
  private keys = new Map<string, KeyObject>();
  private fetchedAt = 0;
  private fetching: Promise<void> | undefined;

  constructor(
    private readonly jwksUri: string,
    private readonly fetcher: FetchJson = fetchJson,
  ) {}

  private async refresh(): Promise<void> {
    const body = (await this.fetcher(this.jwksUri)) as { keys?: unknown };
    const keys = new Map<string, KeyObject>();
    for (const jwk of Array.isArray(body?.keys) ? (body.keys as Record<string, unknown>[]) : []) {
      if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      try {
        keys.set(jwk.kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e } as JsonWebKey, format: 'jwk' }));
      } catch {
        // A key this runtime cannot read is not one a token can be checked with.
      }
    }
    this.keys = keys;
    this.fetchedAt = Date.now();
  }

  async key(kid: string): Promise<KeyObject | undefined> {
    if (!this.keys.has(kid) && Date.now() - this.fetchedAt > JWKS_REFETCH_MS) {
      this.fetching ??= this.refresh().finally(() => (this.fetching = undefined));
      await this.fetching;
    }
    return this.keys.get(kid);
  }
}

/**
 * The claims of an ID token, once its signature (RS256, a key of the tenant's), issuer, audience,
 * times, nonce and tenant all check out; IdTokenError naming the first that does not.
 */
export async function verifyIdToken(
  token: string,
  expected: { issuer: string; clientId: string; nonce: string; tenantId?: string; now: Date },
  keys: TenantKeys,
): Promise<IdTokenClaims> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new IdTokenError('the ID token is not a JWT');
  const header = decodePart(parts[0], 'header');
  if (header.alg !== 'RS256') throw new IdTokenError(`the ID token is signed with ${String(header.alg)}, not RS256`);
  if (typeof header.kid !== 'string') throw new IdTokenError('the ID token names no signing key');
  const key = await keys.key(header.kid);
  if (!key) throw new IdTokenError(`the ID token's key ${header.kid.slice(0, 40)} is not one the tenant publishes`);
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  if (!verify('sha256', signed, key, Buffer.from(parts[2] as string, 'base64url')))
    throw new IdTokenError('the ID token signature does not verify');

  const claims = decodePart(parts[1], 'payload') as unknown as IdTokenClaims;
  const now = Math.floor(expected.now.getTime() / 1000);
  if (claims.iss !== expected.issuer)
    throw new IdTokenError(`the ID token was issued by ${String(claims.iss).slice(0, 120)}, not ${expected.issuer}`);
  if (claims.aud !== expected.clientId) throw new IdTokenError('the ID token is for another application');
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_S < now) throw new IdTokenError('the ID token expired');
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_S > now)
    throw new IdTokenError('the ID token is not valid yet');
  if (claims.nonce !== expected.nonce) throw new IdTokenError('the ID token is for another sign-in (nonce)');
  if (typeof claims.tid !== 'string' || typeof claims.oid !== 'string')
    throw new IdTokenError('the ID token has no tenant or object ID');
  if (expected.tenantId && claims.tid.toLowerCase() !== expected.tenantId.toLowerCase())
    throw new IdTokenError('the ID token is from another tenant');
  return claims;
}
