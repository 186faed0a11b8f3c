import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JWT_BEARER, type AssertionVerdict, type ClientAuth } from './app-credentials';
import { peopleSignIn } from './authority-people';
import { MALFORMED_JSON, never, pause } from './faults';
import { readBody, sendJson, startHttpsServer, type RunningServer } from './http';
import type { CloudState } from './state';
import { roundTrip } from './throttle';
import type { TlsMaterial } from './tls';
import type { TokenSigner } from './tokens';

/**
 * A Microsoft Entra ID (v2.0 endpoints) stand-in, enough for `@azure/identity` / MSAL node
 * client-credential flows: OpenID discovery, instance discovery, and the token endpoint.
 * Errors use Entra's OAuth error shape (`error`, `error_description: 'AADSTS…: …'`, `error_codes`, …).
 */

export interface AuthorityEmulator {
  /** `https://127.0.0.1:<port>`: pass as `authorityHost` / `AZURE_AUTHORITY_HOST`. */
  origin: string;
  stop(): Promise<void>;
}

export interface AuthorityOptions {
  tls: TlsMaterial;
  signer: TokenSigner;
  state: CloudState;
  /** Lifetime of issued tokens, seconds (Entra: ~3599). */
  tokenLifetimeSeconds?: number;
  /** How long an authorization code can be redeemed, seconds (default 600; emulators/authority-people.ts). */
  authorizationCodeLifetimeSeconds?: number;
}

const USER_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

export async function startAuthority(options: AuthorityOptions): Promise<AuthorityEmulator> {
  const { signer, state } = options;
  const lifetime = options.tokenLifetimeSeconds ?? 3599;
  let origin = '';
  // People's sign-in (authorization code + PKCE) lives in authority-people.ts.
  const people = peopleSignIn({
    signer,
    state,
    origin: () => origin,
    tokenLifetimeSeconds: lifetime,
    codeLifetimeSeconds: options.authorizationCodeLifetimeSeconds,
    oauthError,
  });

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', origin);
    const segments = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';

    // MSAL's cloud instance discovery. MSAL itself always asks login.microsoftonline.com (see emulators/README.md);
    // this answers anyone who asks us directly, listing this host as its own cloud.
    if (method === 'GET' && segments.length === 3 && segments[1] === 'discovery' && segments[2] === 'instance') {
      const host = url.host;
      sendJson(res, 200, {
        tenant_discovery_endpoint: `${origin}/${segments[0]}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      });
      return;
    }

    const tenantSegment = segments[0]?.toLowerCase() ?? '';
    const rest = segments.slice(1).join('/');
    // The same round trip as Graph's (scenario graphLimits.latencyMs): token requests cost time too.
    await roundTrip(state.throttle.latencyMs);

    // Injected faults for the authority (`service: "authority"`): a hung or failing token endpoint.
    const fault = state.faults.take({
      service: 'authority',
      tenantId: tenantSegment,
      path: url.pathname,
      inBatch: false,
    });
    if (fault) {
      await pause(fault.delayMs);
      if (fault.hang) return never();
      if (fault.malformedJson) {
        res.writeHead(fault.status, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(MALFORMED_JSON);
        return;
      }
      if (fault.status >= 400) {
        // AADSTS90033 is Entra's "a transient error has occurred"; the emulator uses it for every injected status.
        oauthError(
          res,
          fault.status,
          'temporarily_unavailable',
          90033,
          'A transient error has occurred. Please try again. (injected by the emulator)',
        );
        return;
      }
    }

    if (people.handle(method, rest, tenantSegment, url, res)) return;

    if (method === 'GET' && rest === 'v2.0/.well-known/openid-configuration') {
      const tenant = state.tenant(tenantSegment);
      if (!tenant) {
        oauthError(res, 400, 'invalid_tenant', 90002, tenantNotFound(tenantSegment));
        return;
      }
      const base = `${origin}/${tenant.id}`;
      sendJson(res, 200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${base}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${origin}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid', 'roles', 'appid'],
        kerberos_endpoint: `${base}/kerberos`,
        tenant_region_scope: 'EU',
        cloud_instance_name: url.host,
        cloud_graph_host_name: url.host,
        msgraph_host: url.host,
        rbac_url: url.host,
      });
      return;
    }

    if (method === 'GET' && rest === 'discovery/v2.0/keys') {
      // The public half of the signer's RSA key: ID tokens (and access tokens) verify against it, as against Entra's keys.
      sendJson(res, 200, signer.jwks());
      return;
    }

    if (method === 'POST' && rest === 'oauth2/v2.0/token') {
      const form = new URLSearchParams(await readBody(req));
      const clientId = form.get('client_id') ?? undefined;
      const scope = form.get('scope') ?? undefined;
      const grantType = form.get('grant_type') ?? undefined;
      const record = (status: number, error?: string, clientAuth?: ClientAuth, user?: string): void =>
        state.recordToken({
          at: new Date().toISOString(),
          tenantId: tenantSegment,
          clientId,
          scope,
          grantType,
          status,
          error,
          ...(clientAuth ? { clientAuth } : {}),
          ...(user ? { user } : {}),
        });
      const fail = (status: number, error: string, code: number, description: string): void => {
        record(status, error);
        oauthError(res, status, error, code, description);
      };

      const tenant = state.tenant(tenantSegment);
      if (!tenant) return fail(400, 'invalid_request', 90002, tenantNotFound(tenantSegment));
      if (grantType !== 'client_credentials' && grantType !== 'authorization_code') {
        return fail(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
      }
      if (!clientId) {
        return fail(
          400,
          'invalid_request',
          900144,
          "The request body must contain the following parameter: 'client_id'.",
        );
      }
      if (clientId.toLowerCase() !== state.app.clientId.toLowerCase() || !tenant.consented) {
        return fail(
          400,
          'unauthorized_client',
          700016,
          `Application with identifier '${clientId}' was not found in the directory '${tenant.displayName}'. ` +
            'This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. ' +
            'You may have sent your authentication request to the wrong tenant.',
        );
      }
      const auth = authenticateClient(req, form, state, {
        clientId,
        signer,
        // MSAL signs the assertion for the token endpoint of the discovery document (tenant id in the path).
        tokenEndpoints: [`${origin}/${tenant.id}/oauth2/v2.0/token`, `${origin}/${tenantSegment}/oauth2/v2.0/token`],
      });
      if (!auth.ok) return fail(401, 'invalid_client', auth.code, auth.message);
      if (grantType === 'authorization_code')
        return people.redeem({
          form,
          tenant,
          clientId,
          clientAuth: auth.kind,
          record: (status, error, extra) => record(status, error, extra?.clientAuth, extra?.user),
          res,
        });
      const scopes = (scope ?? '').split(/\s+/).filter((s) => s && !USER_SCOPES.has(s));
      const resourceScope = scopes.length === 1 && scopes[0]!.endsWith('/.default') ? scopes[0]! : undefined;
      if (!resourceScope) {
        return fail(
          400,
          'invalid_scope',
          1002012,
          `The provided value for scope ${scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        );
      }
      const iat = Math.floor(Date.now() / 1000);
      // Every token carries the tenant it was issued in as `tid`, unless the fault issueTokensAs says otherwise.
      const issuedIn = state.tokensIssuedAs(tenant.id) ?? tenant;
      const accessToken = signer.mint({
        aud: audienceOf(resourceScope),
        iss: `${origin}/${issuedIn.id}/v2.0`,
        tid: issuedIn.id,
        appid: state.app.clientId,
        roles: [...issuedIn.grants],
        iat,
        exp: iat + lifetime,
      });
      record(200, undefined, auth.kind);
      sendJson(res, 200, {
        token_type: 'Bearer',
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: accessToken,
      });
      return;
    }

    oauthError(res, 404, 'invalid_request', 90010, `The endpoint ${url.pathname} is not supported by this emulator.`);
  };

  const server: RunningServer = await startHttpsServer(options.tls, handler);
  origin = server.origin;
  return { origin, stop: () => server.close() };
}

/** `https://x/.default` → `https://x`; `https://communication.azure.com//.default` → `https://communication.azure.com`. */
export function audienceOf(scope: string): string {
  const resource = scope.slice(0, -'/.default'.length);
  return resource.endsWith('/') ? resource.slice(0, -1) : resource;
}

function tenantNotFound(tenant: string): string {
  return (
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. ` +
    'Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.'
  );
}

/**
 * How the client proves it is the app: a client secret (form or HTTP Basic), or a client assertion
 * (`client_assertion_type` jwt-bearer): a JWT signed with one of the app's certificates, or a
 * federated token (e.g. a managed identity's) that one of its federated credentials trusts.
 */
function authenticateClient(
  req: IncomingMessage,
  form: URLSearchParams,
  state: CloudState,
  context: { clientId: string; signer: TokenSigner; tokenEndpoints: string[] },
): AssertionVerdict {
  const assertion = form.get('client_assertion');
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== JWT_BEARER) {
      return { ok: false, code: 700038, message: `client_assertion_type must be '${JWT_BEARER}'.` };
    }
    return state.appCredentials.verify(assertion, context);
  }
  const secret = form.get('client_secret') ?? basicAuthSecret(req);
  if (secret === undefined) {
    return {
      ok: false,
      code: 7000218,
      message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    };
  }
  if (secret !== state.app.clientSecret) {
    return {
      ok: false,
      code: 7000215,
      message:
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, ' +
        `not the client secret ID, for a secret added to app '${state.app.clientId}'.`,
    };
  }
  return { ok: true, kind: 'secret' };
}

function basicAuthSecret(req: IncomingMessage): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decodeURIComponent(decoded.slice(colon + 1));
}

/** Entra's OAuth error body. */
function oauthError(res: ServerResponse, status: number, error: string, code: number, message: string): void {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  sendJson(res, status, {
    error,
    error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}
