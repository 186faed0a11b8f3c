import { constants, createHash, verify, X509Certificate, type KeyObject } from 'node:crypto';
import type { AccessTokenClaims, TokenSigner } from './tokens';

/**
 * The credentials of the emulated app registration besides its client secret: certificates
 * (Certificates & secrets) and federated identity credentials (workload identity federation), and
 * how the authority checks a `client_assertion` against them. The assertion rules follow the
 * Microsoft identity platform's certificate credentials and workload identity federation docs;
 * the error wording for the certificate checks is the emulator's own where Entra's is undocumented
 * (see emulators/README.md).
 */

/** A federated identity credential as Graph's `federatedIdentityCredential` resource has it. */
export interface FederatedCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

interface Certificate {
  publicKey: KeyObject;
  /** base64url SHA-1 and SHA-256 of the DER certificate: the `x5t` and `x5t#S256` JWT headers. */
  x5t: string;
  x5tS256: string;
}

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type ClientAuth = 'secret' | 'certificate' | 'federated';

export type AssertionVerdict = { ok: true; kind: ClientAuth } | { ok: false; code: number; message: string };

export class AppCredentials {
  private certificates: Certificate[] = [];
  private federated: FederatedCredential[] = [];

  /** Registers a certificate (PEM; only the certificate part is read, never a private key). */
  addCertificate(pem: string): void {
    const certificate = new X509Certificate(pem);
    this.certificates.push({
      publicKey: certificate.publicKey,
      x5t: createHash('sha1').update(certificate.raw).digest('base64url'),
      x5tS256: createHash('sha256').update(certificate.raw).digest('base64url'),
    });
  }

  addFederatedCredential(credential: FederatedCredential): void {
    for (const key of ['name', 'issuer', 'subject'] as const) {
      if (typeof credential[key] !== 'string' || credential[key] === '')
        throw new Error(`federated credential: ${key} must be a non-empty string`);
    }
    if (!Array.isArray(credential.audiences) || credential.audiences.length !== 1) {
      throw new Error('federated credential: audiences must hold exactly one audience (as Graph requires)');
    }
    this.federated.push({ ...credential, audiences: [...credential.audiences] });
  }

  clear(): void {
    this.certificates = [];
    this.federated = [];
  }

  /**
   * Checks a client assertion for the app: a JWT signed by one of its certificates (iss = sub =
   * client id, aud = the token endpoint), or a token from a trusted issuer matching one of its
   * federated credentials (issuer, subject, audience compared case-sensitively, as Entra does).
   */
  verify(
    assertion: string,
    context: { clientId: string; tokenEndpoints: string[]; signer: TokenSigner; nowSeconds?: number },
  ): AssertionVerdict {
    const parts = assertion.split('.');
    const decode = (part: string | undefined): Record<string, unknown> | undefined => {
      try {
        return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    };
    const header = decode(parts[0]);
    const payload = decode(parts[1]);
    if (parts.length !== 3 || !header || !payload)
      return { ok: false, code: 50027, message: 'JWT token is invalid or malformed.' };
    const now = context.nowSeconds ?? Math.floor(Date.now() / 1000);
    if (typeof payload.exp === 'number' && payload.exp <= now) {
      return { ok: false, code: 700024, message: 'Client assertion is not within its valid time range.' };
    }
    // A token the private cloud's own signer issued (a managed identity's) is a federated assertion; anything else
    // must be signed by one of the app's certificates.
    return context.signer.names(assertion)
      ? this.verifyFederated(assertion, context.signer, now)
      : this.verifyCertificate(parts as [string, string, string], header, payload, context);
  }

  private verifyFederated(assertion: string, signer: TokenSigner, now: number): AssertionVerdict {
    const verified = signer.verify(assertion, now);
    if ('error' in verified)
      return { ok: false, code: 700211, message: `The federated token could not be validated: ${verified.error}` };
    const claims: AccessTokenClaims = verified.claims;
    const byIssuer = this.federated.filter((f) => f.issuer === claims.iss);
    const hint =
      'Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.';
    if (byIssuer.length === 0)
      return {
        ok: false,
        code: 700211,
        message: `No matching federated identity record found for presented assertion issuer '${claims.iss}'. ${hint}`,
      };
    const bySubject = byIssuer.filter((f) => f.subject === claims.sub);
    if (bySubject.length === 0)
      return {
        ok: false,
        code: 700213,
        message: `No matching federated identity record found for presented assertion subject '${claims.sub ?? ''}'. ${hint}`,
      };
    if (!bySubject.some((f) => f.audiences.includes(claims.aud))) {
      return {
        ok: false,
        code: 700212,
        message: `No matching federated identity record found for presented assertion audience '${claims.aud}'.`,
      };
    }
    return { ok: true, kind: 'federated' };
  }

  private verifyCertificate(
    [header64, payload64, signature64]: [string, string, string],
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
    context: { clientId: string; tokenEndpoints: string[] },
  ): AssertionVerdict {
    const thumbprint = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : header.x5t;
    const certificate = this.certificates.find((c) => c.x5tS256 === thumbprint || c.x5t === thumbprint);
    if (!certificate) {
      return {
        ok: false,
        code: 700027,
        message: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(thumbprint)}']`,
      };
    }
    const data = Buffer.from(`${header64}.${payload64}`);
    const signature = Buffer.from(signature64, 'base64url');
    const key = certificate.publicKey;
    let valid = false;
    if (header.alg === 'PS256')
      valid = verify(
        'sha256',
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        signature,
      );
    else if (header.alg === 'RS256') valid = verify('sha256', data, key, signature);
    if (!valid) return { ok: false, code: 700027, message: 'Client assertion failed signature validation.' };
    if (payload.iss !== context.clientId || payload.sub !== context.clientId) {
      return {
        ok: false,
        code: 700021,
        message: `Client assertion application identifier doesn't match 'client_id' parameter.`,
      };
    }
    if (typeof payload.aud !== 'string' || !context.tokenEndpoints.includes(payload.aud)) {
      return {
        ok: false,
        code: 700027,
        message: `Client assertion contains an invalid audience '${String(payload.aud)}'; expected the token endpoint.`,
      };
    }
    return { ok: true, kind: 'certificate' };
  }
}
