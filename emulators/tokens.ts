import { createHash, generateKeyPair, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { recordSecret } from './secrets';

/** Claims of an app-only access token, as Entra puts them in a v2 client-credentials token. */
export interface AccessTokenClaims {
  /** Audience: the resource the scope named, e.g. `https://127.0.0.1:8443` for scope `https://127.0.0.1:8443/.default`. */
  aud: string;
  iss: string;
  /** Tenant the token was issued in. */
  tid: string;
  /** Client (application) id. */
  appid: string;
  /** Application permissions granted in that tenant (e.g. `Synchronization.Read.All`). */
  roles: string[];
  iat: number;
  exp: number;
  /** Subject and object ID: set in managed identity tokens (the identity's principal ID) and users' tokens. */
  sub?: string;
  oid?: string;
}

/** A public key as the authority's `jwks_uri` lists it (RFC 7517; the members Entra's keys document has). */
export interface PublicJwk {
  kty: 'RSA';
  use: 'sig';
  alg: 'RS256';
  kid: string;
  n: string;
  e: string;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * Mints and checks the JWTs of the local private cloud. One signer is shared by the authority
 * (which mints access tokens and users' ID tokens) and every resource emulator (which checks), so
 * a token is only good where the real one would be: right audience, right tenant, not expired,
 * signed by our authority. RS256 with one RSA key whose public half the authority publishes at
 * `jwks_uri` (`kid` in every token header), as Entra signs its tokens, so a relying party can check
 * an ID token the way it would check Entra's.
 */
export class TokenSigner {
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  /**
   * A signer with a new key, made off the event loop (an RSA key takes a few hundred milliseconds to find, which a
   * synchronous constructor would block everything else in the process for).
   */
  static async create(): Promise<TokenSigner> {
    return new TokenSigner(await promisify(generateKeyPair)('rsa', { modulusLength: 2048 }));
  }

  constructor(
    keys: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ) {
    const { privateKey, publicKey } = keys;
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    const jwk = publicKey.export({ format: 'jwk' });
    // RFC 7638 thumbprint: stable for the key, the shape of Entra's kids (base64url, no padding).
    this.keyId = b64url(
      createHash('sha256')
        .update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }))
        .digest(),
    );
    recordSecret('signing-key', String(privateKey.export({ format: 'jwk' }).d));
  }

  mint(claims: AccessTokenClaims): string {
    const token = this.sign(claims as unknown as Record<string, unknown>);
    recordSecret('access-token', token);
    return token;
  }

  /** Any claims (an ID token's, a user's access token's), signed like an access token. */
  sign(claims: Record<string, unknown>): string {
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: this.keyId }));
    const payload = b64url(JSON.stringify(claims));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), this.privateKey);
    return `${header}.${payload}.${b64url(signature)}`;
  }

  /** The key set the authority serves at `jwks_uri`. */
  jwks(): { keys: PublicJwk[] } {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return { keys: [{ kty: 'RSA', use: 'sig', alg: 'RS256', kid: this.keyId, n: String(jwk.n), e: String(jwk.e) }] };
  }

  /** Whether `token` names this signer's key in its header (what it was signed with is checked by `verify`). */
  names(token: string): boolean {
    try {
      const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
        kid?: unknown;
      };
      return header.kid === this.keyId;
    } catch {
      return false;
    }
  }

  /** The claims of a valid token, or a reason it is not valid (for the 401 message). */
  verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): { claims: AccessTokenClaims } | { error: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { error: 'IDX14100: JWT is not well formed.' };
    const [header, payload, signature] = parts as [string, string, string];
    let valid = false;
    try {
      valid = verify(
        'sha256',
        Buffer.from(`${header}.${payload}`),
        this.publicKey,
        Buffer.from(signature, 'base64url'),
      );
    } catch {
      valid = false;
    }
    if (!valid) return { error: 'Invalid signature.' };
    let claims: AccessTokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AccessTokenClaims;
    } catch {
      return { error: 'IDX14100: JWT is not well formed.' };
    }
    if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds)
      return { error: 'Lifetime validation failed, the token is expired.' };
    return { claims };
  }
}

/** `Authorization: Bearer <token>` → the token, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return match?.[1];
}
