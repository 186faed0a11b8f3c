import { ConfidentialClientApplication, CryptoProvider, LogLevel, type Configuration } from '@azure/msal-node';
import type { Person } from './access';
import { fetchJson, IdTokenError, TenantKeys, verifyIdToken, type FetchJson, type OpenIdMetadata } from './id-token';
import { seal, unseal } from './sealed';
import type { ActionsSettings } from '../settings/actions';

/**
 * Sign-in for the decide endpoint: the OAuth 2.0 authorization-code flow with PKCE against the
 * monitor's home tenant, in the function itself (@azure/msal-node), because the App Service
 * built-in authentication cannot be relied on for a Flex Consumption app (docs/decisions.md,
 * "Decisions from an alert"). MSAL makes the authorize URL and redeems the code; the ID token is then verified
 * here (lib/actions/id-token.ts), since MSAL does not check its signature.
 *
 * The PKCE verifier, state and nonce wait in a sealed, HttpOnly, Secure, SameSite=Lax cookie for
 * ten minutes; Entra answers with `response_mode=query` (a top-level GET back to us), so that Lax
 * cookie is sent with it (a form_post callback is a cross-site POST, which Lax withholds).
 */

/** How long a sign-in may take, from the redirect to Entra to the way back. */
const SIGN_IN_WINDOW_MS = 10 * 60_000;
/** The path Entra sends people back to (the redirect URI the sign-in app registers). */
export const SIGNED_IN_PATH = '/api/decide/signed-in';
const SCOPES = ['openid', 'profile'];

interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  /** The query of the link the person opened, to return to (never a URL: no open redirect). */
  returnTo: string;
}

type SignInResult = { ok: true; person: Person; returnTo: string } | { ok: false; reason: string; detail?: string };

export interface SignInService {
  /** Where to send the person to sign in, and the cookie value to keep meanwhile. */
  start(returnTo: string, now: Date): Promise<{ location: string; pending: string }>;
  /** The person, from Entra's answer and the cookie kept at the start. */
  finish(query: Record<string, string | undefined>, pending: string | undefined, now: Date): Promise<SignInResult>;
}

const HOSTS_MSAL_KNOWS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
]);

/** Who the verified claims say signed in. */
export function personOf(claims: {
  oid: string;
  tid: string;
  name?: string;
  preferred_username?: string;
  roles?: unknown;
  groups?: unknown;
  _claim_names?: { groups?: string };
  hasgroups?: boolean;
}): Person {
  const strings = (value: unknown) =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  return {
    oid: claims.oid,
    tid: claims.tid,
    name: (claims.name ?? claims.preferred_username ?? claims.oid).slice(0, 200),
    upn: (claims.preferred_username ?? '').slice(0, 200),
    roles: strings(claims.roles),
    groups: strings(claims.groups),
    groupsOverage: Boolean(claims._claim_names?.groups) || claims.hasgroups === true,
  };
}

export interface SignInOptions {
  fetcher?: FetchJson;
  /** The client assertion (the managed identity's token for the token-exchange audience), when there is no secret. */
  clientAssertion?: () => Promise<string>;
}

/** The sign-in of the settings' app registration, with MSAL Node. */
export function msalSignIn(settings: ActionsSettings, options: SignInOptions = {}): SignInService {
  const { signIn, signingKey, baseUrl } = settings;
  const authority = `${signIn.authorityHost}/${signIn.tenantId}`;
  const redirectUri = `${baseUrl}${SIGNED_IN_PATH}`;
  const fetcher = options.fetcher ?? fetchJson;
  let metadata: Promise<{ document: OpenIdMetadata; keys: TenantKeys }> | undefined;

  const tenantMetadata = () => {
    metadata ??= (async () => {
      const document = (await fetcher(`${authority}/v2.0/.well-known/openid-configuration`)) as OpenIdMetadata;
      if (!document?.issuer || !document.jwks_uri || !document.authorization_endpoint || !document.token_endpoint)
        throw new Error(`the OpenID configuration of ${authority} lacks issuer, endpoints or jwks_uri`);
      return { document, keys: new TenantKeys(document.jwks_uri, fetcher) };
    })().catch((error: unknown) => {
      metadata = undefined;
      throw error;
    });
    return metadata;
  };

  /** A client per sign-in: nothing of one person's sign-in stays in memory for the next. */
  const client = async (): Promise<ConfidentialClientApplication> => {
    const { document } = await tenantMetadata();
    const host = new URL(signIn.authorityHost).host;
    const auth: Configuration['auth'] = {
      clientId: signIn.clientId,
      authority,
      // Our own copy of the metadata: MSAL makes no discovery request, and never for an authority it does not know.
      authorityMetadata: JSON.stringify(document),
      ...(HOSTS_MSAL_KNOWS.has(host) ? {} : { knownAuthorities: [host] }),
    };
    if (signIn.clientSecret) auth.clientSecret = signIn.clientSecret;
    else if (options.clientAssertion) {
      const assertion = options.clientAssertion;
      auth.clientAssertion = () => assertion();
    } else
      throw new Error('the sign-in app has neither ACTIONS_SIGNIN_CLIENT_SECRET nor a managed identity to assert it');
    return new ConfidentialClientApplication({
      auth,
      system: {
        loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined },
      },
    });
  };

  return {
    async start(returnTo, now) {
      const crypto = new CryptoProvider();
      const { verifier, challenge } = await crypto.generatePkceCodes();
      const pending: PendingSignIn = {
        state: crypto.createNewGuid(),
        nonce: crypto.createNewGuid(),
        verifier,
        returnTo,
      };
      const location = await (
        await client()
      ).getAuthCodeUrl({
        scopes: SCOPES,
        redirectUri,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        state: pending.state,
        nonce: pending.nonce,
        responseMode: 'query' as never,
        prompt: 'select_account',
      });
      return { location, pending: seal('signin', pending, signingKey, new Date(now.getTime() + SIGN_IN_WINDOW_MS)) };
    },

    async finish(query, sealed, now) {
      const pending = unseal<PendingSignIn>('signin', sealed, signingKey, now);
      if (!pending)
        return {
          ok: false,
          reason:
            'The sign-in took longer than ten minutes, or this browser did not keep its cookie. Open the link from the message again.',
        };
      if (query.error)
        return {
          ok: false,
          reason: 'Entra ID did not sign you in.',
          detail: `${query.error}: ${(query.error_description ?? '').split(/\r?\n/)[0]?.slice(0, 300) ?? ''}`,
        };
      if (!query.code || !query.state || query.state !== pending.state)
        return {
          ok: false,
          reason: 'This answer from Entra ID is not for the sign-in this browser started. Open the link again.',
        };
      const { document, keys } = await tenantMetadata();
      try {
        const result = await (
          await client()
        ).acquireTokenByCode(
          {
            code: query.code,
            codeVerifier: pending.verifier,
            redirectUri,
            scopes: SCOPES,
            nonce: pending.nonce,
            state: pending.state,
          },
          { code: query.code, state: query.state },
        );
        const claims = await verifyIdToken(
          result.idToken,
          {
            issuer: document.issuer,
            clientId: signIn.clientId,
            nonce: pending.nonce,
            tenantId: /^[0-9a-f-]{36}$/i.test(signIn.tenantId) ? signIn.tenantId : undefined,
            now,
          },
          keys,
        );
        return { ok: true, person: personOf(claims), returnTo: pending.returnTo };
      } catch (error) {
        const message = (error as Error).message ?? String(error);
        return {
          ok: false,
          reason:
            error instanceof IdTokenError
              ? 'The answer from Entra ID did not check out, so you are not signed in.'
              : 'Entra ID did not complete the sign-in.',
          detail: message.split(/\r?\n/)[0]?.slice(0, 300),
        };
      }
    },
  };
}
