import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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
  /** Subject and object ID: set in managed identity tokens (the identity's principal ID). */
  sub?: string;
  oid?: string;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * Mints and checks the JWTs of the local private cloud. One signer is shared by the authority
 * (which mints) and every resource emulator (which checks), so a token is only good where the real
 * one would be: right audience, right tenant, not expired, signed by our authority.
 */
export class TokenSigner {
  private readonly secret: Buffer;

  constructor(secret: Buffer = randomBytes(32)) {
    this.secret = secret;
    recordSecret('signing-key', secret.toString('base64'));
  }

  mint(claims: AccessTokenClaims): string {
    const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = b64url(JSON.stringify(claims));
    const token = `${header}.${payload}.${this.sign(`${header}.${payload}`)}`;
    recordSecret('access-token', token);
    return token;
  }

  /** The claims of a valid token, or a reason it is not valid (for the 401 message). */
  verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): { claims: AccessTokenClaims } | { error: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { error: 'IDX14100: JWT is not well formed.' };
    const [header, payload, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { error: 'Invalid signature.' };
    }
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

  private sign(input: string): string {
    return createHmac('sha256', this.secret).update(input).digest('base64url');
  }
}

/** `Authorization: Bearer <token>` → the token, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return match?.[1];
}
