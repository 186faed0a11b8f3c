import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ClientAuth } from './app-credentials';
import { sendJson } from './http';
import { recordSecret } from './secrets';
import type { CloudState, Person, TenantState } from './state';
import type { TokenSigner } from './tokens';

/**
 * The authority signing PEOPLE in: the OAuth 2.0 authorization code flow with PKCE of the Microsoft
 * identity platform (MicrosoftDocs/entra-docs docs/identity-platform/v2-oauth2-auth-code-flow.md), for
 * web pages behind Entra sign-in. There is no login form: `/authorize` signs in the tenant's person
 * named by `login_hint` (or its first person) at once and sends the browser back with a code, so
 * tests and the demo can sign in without typing. The token endpoint redeems the code (single use,
 * short-lived, PKCE S256 or plain) for an ID token signed by the cloud's token signer (verifiable
 * through `jwks_uri`), an access token and `client_info`, as MSAL node expects.
 *
 * Errors: Entra's sign-in page for what cannot go back to the app (unknown client, redirect URI not
 * registered: AADSTS700016, AADSTS500113, AADSTS50011, unknown user AADSTS50034), an error redirect
 * (`error`, `error_description`, `state`) for the rest; the token endpoint answers Entra's OAuth JSON.
 * AADSTS codes from docs/identity-platform/reference-error-codes.md; wording as reported where the
 * page only names the code (see emulators/README.md).
 */

export interface PeopleSignInOptions {
  signer: TokenSigner;
  state: CloudState;
  /** The authority's origin (`https://127.0.0.1:P`), known once its server listens. */
  origin: () => string;
  /** Lifetime of the tokens it issues, seconds. */
  tokenLifetimeSeconds: number;
  /** How long a code can be redeemed, seconds (Entra: "about 10 minutes"). */
  codeLifetimeSeconds?: number;
  oauthError: (res: ServerResponse, status: number, error: string, code: number, message: string) => void;
}

/** What the token endpoint hands the code grant once the client is known and authenticated. */
interface CodeRedemption {
  form: URLSearchParams;
  tenant: TenantState;
  clientId: string;
  clientAuth: ClientAuth;
  /** Records the token request (status, error, the person) in the token log. */
  record: (status: number, error?: string, extra?: { clientAuth?: ClientAuth; user?: string }) => void;
  res: ServerResponse;
}

interface IssuedCode {
  tenantId: string;
  clientId: string;
  redirectUri: string;
  person: Person;
  scopes: string[];
  nonce?: string;
  challenge?: { value: string; method: 'S256' | 'plain' };
  expiresAt: number;
  redeemed: boolean;
}

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
/** Microsoft Graph's application id: the audience of a user token asked for with bare Graph scopes (User.Read). */
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

export interface PeopleSignIn {
  /** `GET /{tenant}/oauth2/v2.0/authorize` and `GET /{tenant}/oauth2/v2.0/logout`; false if it is neither. */
  handle(method: string, rest: string, tenantSegment: string, url: URL, res: ServerResponse): boolean;
  /** `grant_type=authorization_code` at the token endpoint. */
  redeem(redemption: CodeRedemption): void;
}

export function peopleSignIn(options: PeopleSignInOptions): PeopleSignIn {
  const { state, signer } = options;
  const codeLifetimeMs = (options.codeLifetimeSeconds ?? 600) * 1000;
  const codes = new Map<string, IssuedCode>();

  function authorize(tenantSegment: string, url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const tenant = state.tenant(tenantSegment);
    if (!tenant)
      return errorPage(
        res,
        90002,
        `Tenant '${tenantSegment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    const clientId = q.get('client_id');
    if (!clientId) return errorPage(res, 900144, "The request body must contain the following parameter: 'client_id'.");
    if (clientId.toLowerCase() !== state.app.clientId.toLowerCase() || !tenant.consented)
      return errorPage(
        res,
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    if (state.redirectUris.length === 0)
      return errorPage(res, 500113, 'No reply address is registered for the application.');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!state.redirectUris.includes(redirectUri))
      return errorPage(
        res,
        50011,
        `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${state.app.clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
      );

    // From here on the app is known and its redirect URI trusted: errors go back to it.
    const appState = q.get('state') ?? undefined;
    const mode = q.get('response_mode') ?? 'query';
    const back = (params: Record<string, string>) =>
      sendBack(res, redirectUri, mode === 'form_post' || mode === 'fragment' ? mode : 'query', {
        ...params,
        ...(appState !== null && appState !== undefined ? { state: appState } : {}),
      });
    const fail = (error: string, code: number, message: string) =>
      back({
        error,
        error_description: `AADSTS${code}: ${message}${traceSuffix()}`,
        error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      });
    if (!['query', 'form_post', 'fragment'].includes(mode))
      return fail('invalid_request', 70007, `The response_mode '${mode}' is not supported for this request.`);
    if (q.get('response_type') !== 'code')
      return fail(
        'unsupported_response_type',
        70005,
        `The response_type '${q.get('response_type') ?? ''}' is not supported by the emulator: it runs the authorization code flow (code).`,
      );
    const scopes = (q.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (scopes.length === 0)
      return fail('invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
    const challenge = q.get('code_challenge') ?? undefined;
    const method = q.get('code_challenge_method') ?? (challenge ? 'plain' : undefined);
    if (method !== undefined && method !== 'S256' && method !== 'plain')
      return fail('invalid_request', 501491, `The code_challenge_method '${method}' is not supported: S256 or plain.`);
    if (challenge !== undefined && !/^[A-Za-z0-9._~-]{43,128}$/.test(challenge))
      return fail('invalid_request', 501491, 'Invalid size of Code_Challenge parameter.');

    const hint = q.get('login_hint');
    const person = hint ? tenant.people.find((p) => p.upn.toLowerCase() === hint.toLowerCase()) : tenant.people[0];
    if (!person)
      return errorPage(
        res,
        50034,
        `The user account ${hint ?? '(none)'} does not exist in the '${tenant.id}' directory. To sign into this application, the account must be added to the directory.`,
      );
    const code = randomBytes(48).toString('base64url');
    recordSecret('authorization-code', code);
    codes.set(code, {
      tenantId: tenant.id,
      clientId: state.app.clientId,
      redirectUri,
      person,
      scopes,
      nonce: q.get('nonce') ?? undefined,
      challenge: challenge && method ? { value: challenge, method: method as 'S256' | 'plain' } : undefined,
      expiresAt: Date.now() + codeLifetimeMs,
      redeemed: false,
    });
    back({ code, session_state: randomUUID() });
  }

  function logout(url: URL, res: ServerResponse): void {
    const target = url.searchParams.get('post_logout_redirect_uri');
    if (target && state.redirectUris.includes(target)) {
      const state_ = url.searchParams.get('state');
      const location = new URL(target);
      if (state_ !== null) location.searchParams.set('state', state_);
      res.writeHead(302, { Location: location.toString(), 'Content-Length': 0 });
      res.end();
      return;
    }
    html(res, 200, '<h1>You signed out of your account</h1><p>It\u2019s a good idea to close all browser windows.</p>');
  }

  function redeem({ form, tenant, clientAuth, record, res }: CodeRedemption): void {
    const fail = (status: number, error: string, code: number, message: string, user?: string) => {
      record(status, error, user ? { user } : undefined);
      options.oauthError(res, status, error, code, message);
    };
    const code = form.get('code');
    if (!code)
      return fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'code'.");
    const issued = codes.get(code);
    if (!issued || issued.tenantId !== tenant.id)
      return fail(400, 'invalid_grant', 70000, "The provided value for the 'code' parameter is not valid.");
    const user = issued.person.upn;
    if (issued.redeemed)
      return fail(
        400,
        'invalid_grant',
        54005,
        'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
        user,
      );
    // Single use: any attempt that reaches the code spends it.
    issued.redeemed = true;
    if (Date.now() > issued.expiresAt)
      return fail(
        400,
        'invalid_grant',
        70008,
        'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
        user,
      );
    const redirectUri = form.get('redirect_uri') ?? '';
    if (redirectUri !== issued.redirectUri)
      return fail(
        400,
        'invalid_grant',
        50011,
        `The reply address '${redirectUri}' does not match the reply address '${issued.redirectUri}' provided when requesting Authorization code.`,
        user,
      );
    if (issued.challenge && !verifierMatches(form.get('code_verifier'), issued.challenge))
      return fail(
        400,
        'invalid_grant',
        501481,
        'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
        user,
      );
    record(200, undefined, { clientAuth, user });
    sendJson(res, 200, tokensFor(issued, tenant));
  }

  function tokensFor(issued: IssuedCode, tenant: TenantState): Record<string, unknown> {
    const origin = options.origin();
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + options.tokenLifetimeSeconds;
    const person = issued.person;
    const iss = `${origin}/${tenant.id}/v2.0`;
    const sub = createHash('sha256').update(`${issued.clientId}:${person.id}`).digest('base64url').slice(0, 43);
    const assigned = {
      ...(person.roles.length > 0 ? { roles: [...person.roles] } : {}),
      ...(person.groups.length > 0 ? { groups: [...person.groups] } : {}),
    };
    const resourceScopes = issued.scopes.filter((s) => !OIDC_SCOPES.has(s.toLowerCase()));
    const audience = audienceOfUserScopes(resourceScopes, issued.clientId);
    const accessToken = signer.sign({
      aud: audience,
      iss,
      iat,
      nbf: iat,
      exp,
      tid: tenant.id,
      oid: person.id,
      sub,
      name: person.name,
      preferred_username: person.upn,
      appid: issued.clientId,
      azp: issued.clientId,
      scp: (resourceScopes.length > 0 ? resourceScopes : ['User.Read']).map((s) => s.split('/').pop()).join(' '),
      // App roles are for tokens to the app's own API.
      ...(audience === issued.clientId ? assigned : {}),
      ver: '2.0',
    });
    recordSecret('access-token', accessToken);
    const answer: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: [
        ...issued.scopes.filter((s) => s !== 'offline_access'),
        ...(resourceScopes.length ? [] : ['User.Read']),
      ].join(' '),
      expires_in: options.tokenLifetimeSeconds,
      ext_expires_in: options.tokenLifetimeSeconds,
      access_token: accessToken,
      client_info: Buffer.from(JSON.stringify({ uid: person.id, utid: tenant.id })).toString('base64url'),
    };
    if (issued.scopes.includes('openid')) {
      const idToken = signer.sign({
        aud: issued.clientId,
        iss,
        iat,
        nbf: iat,
        exp,
        name: person.name,
        ...(issued.nonce !== undefined ? { nonce: issued.nonce } : {}),
        oid: person.id,
        preferred_username: person.upn,
        sub,
        tid: tenant.id,
        uti: randomBytes(16).toString('base64url'),
        ver: '2.0',
        ...assigned,
      });
      recordSecret('access-token', idToken);
      answer.id_token = idToken;
    }
    return answer;
  }

  return {
    handle(method, rest, tenantSegment, url, res) {
      if (method !== 'GET') return false;
      if (rest === 'oauth2/v2.0/authorize') authorize(tenantSegment, url, res);
      else if (rest === 'oauth2/v2.0/logout') logout(url, res);
      else return false;
      return true;
    },
    redeem,
  };
}

/**
 * The audience of a user's access token: the resource of its non-OIDC scopes (`https://host/x` → `https://host`,
 * `api://<app>/x` or `<app id>/.default` → the app id), Microsoft Graph for bare names (`User.Read`) or none.
 */
function audienceOfUserScopes(scopes: string[], clientId: string): string {
  const [first] = scopes;
  if (!first || !first.includes('/')) return GRAPH_APP_ID;
  const resource = first.slice(0, first.lastIndexOf('/'));
  if (resource === `api://${clientId}` || resource === clientId) return clientId;
  return resource.replace(/\/$/, '');
}

/** RFC 7636 §4.6: S256 compares BASE64URL(SHA256(verifier)) with the challenge; plain compares them as they are. */
function verifierMatches(verifier: string | null, challenge: { value: string; method: 'S256' | 'plain' }): boolean {
  if (!verifier) return false;
  const derived = challenge.method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return derived === challenge.value;
}

/** Back to the app: a 302 with the parameters in the query or fragment, or Entra's auto-submitting form for form_post. */
function sendBack(
  res: ServerResponse,
  redirectUri: string,
  mode: 'query' | 'form_post' | 'fragment',
  params: Record<string, string>,
): void {
  if (mode === 'form_post') {
    const inputs = Object.entries(params)
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}" />`)
      .join('');
    html(
      res,
      200,
      `<form method="POST" name="hiddenform" action="${escapeHtml(redirectUri)}">${inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript></form><script language="javascript">document.forms[0].submit();</script>`,
      'Working...',
    );
    return;
  }
  const location = new URL(redirectUri);
  if (mode === 'fragment') location.hash = new URLSearchParams(params).toString();
  else for (const [k, v] of Object.entries(params)) location.searchParams.set(k, v);
  res.writeHead(302, { Location: location.toString(), 'Content-Length': 0 });
  res.end();
}

/** Entra's sign-in error page: the AADSTS code and message, for what cannot be sent back to the app. */
function errorPage(res: ServerResponse, code: number, message: string): void {
  html(
    res,
    400,
    `<h1>Sign in</h1><p>Sorry, but we\u2019re having trouble signing you in.</p><p id="error">AADSTS${code}: ${escapeHtml(message)}</p>` +
      `<p>Request Id: ${randomUUID()}<br />Correlation Id: ${randomUUID()}<br />Timestamp: ${new Date().toISOString()}</p>`,
  );
}

function html(res: ServerResponse, status: number, body: string, title = 'Sign in to your account'): void {
  const text = `<!DOCTYPE html><html><head><title>${title}</title></head><body>${body}</body></html>`;
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function traceSuffix(): string {
  return ` Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z')}`;
}
