import {
  ConfidentialClientApplication,
  CryptoProvider,
  ResponseMode,
  type AuthenticationResult,
} from '@azure/msal-node';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startPrivateCloud, type PrivateCloud } from '../../emulators/index';
import { runPrivateCloud } from './graph-clients';
import { loadScenario, validateScenario, type Scenario } from '../../emulators/scenario';

/**
 * The authority signs people in: authorization code + PKCE with the real MSAL node confidential
 * client, over HTTPS, and ID tokens verified against the tenant's jwks_uri with `jose`.
 */

const CONTOSO = '0f0f2f1e-1111-4a4a-8b8b-000000000001';
const REDIRECT = 'https://watch.contoso.example/auth/callback';
const OPERATORS_GROUP = 'b1b1b1b1-0000-4000-8000-000000000001';
const ADELE = {
  upn: 'adele@contoso.com',
  name: 'Adele Vance',
  roles: ['SyncWatch.Operator'],
  groups: [OPERATORS_GROUP],
};
const MEGAN = { upn: 'megan@contoso.com', name: 'Megan Bowen', roles: [] };

const scenario: Scenario = {
  name: 'people',
  app: {
    clientId: 'c6c6c6c6-0000-4000-8000-00000000c11e',
    clientSecret: 'people-secret~123',
    redirectUris: [REDIRECT],
  },
  tenants: [{ id: CONTOSO, displayName: 'Contoso', grants: [], servicePrincipals: [], people: [ADELE, MEGAN] }],
};

let cloud: PrivateCloud;
runPrivateCloud(scenario, (started) => (cloud = started));

function msal(target = cloud): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: target.clientId,
      clientSecret: target.clientSecret,
      authority: `${target.authorityHost}/${CONTOSO}`,
      knownAuthorities: [new URL(target.authorityHost).host],
    },
  });
}

interface Attempt {
  app: ConfidentialClientApplication;
  code: string;
  verifier: string;
  state: string;
  nonce: string;
}

/** Up to the redirect: the authorize URL MSAL builds, followed by hand (no browser), and the code it brings back. */
async function signIn(loginHint?: string, target = cloud): Promise<Attempt> {
  const app = msal(target);
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const state = randomUUID();
  const nonce = randomUUID();
  const url = await app.getAuthCodeUrl({
    scopes: ['openid', 'profile'],
    redirectUri: REDIRECT,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    responseMode: ResponseMode.QUERY,
    state,
    nonce,
    ...(loginHint ? { loginHint } : {}),
  });
  const response = await fetch(url, { redirect: 'manual' });
  expect(response.status).toBe(302);
  const back = new URL(response.headers.get('location')!);
  expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
  expect(back.searchParams.get('state')).toBe(state);
  return { app, code: back.searchParams.get('code')!, verifier, state, nonce };
}

const redeem = (a: Attempt, overrides: { verifier?: string; redirectUri?: string } = {}) =>
  a.app.acquireTokenByCode(
    {
      code: a.code,
      scopes: ['openid', 'profile'],
      redirectUri: overrides.redirectUri ?? REDIRECT,
      codeVerifier: overrides.verifier ?? a.verifier,
      // MSAL node checks the ID token's nonce against the request's, and the state the redirect brought back.
      nonce: a.nonce,
      state: a.state,
    },
    { code: a.code, state: a.state },
  );

async function refusal(promise: Promise<unknown>): Promise<{ errorCode: string; errorMessage: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { errorCode: string; errorMessage: string };
  }
  throw new Error('expected MSAL to refuse');
}

async function verified(result: AuthenticationResult) {
  const discovery = (await (
    await fetch(`${cloud.authorityHost}/${CONTOSO}/v2.0/.well-known/openid-configuration`)
  ).json()) as Record<string, string>;
  const { payload } = await jwtVerify(result.idToken, createRemoteJWKSet(new URL(discovery.jwks_uri!)), {
    issuer: discovery.issuer,
    audience: cloud.clientId,
  });
  return payload;
}

describe('people sign in (authorization code + PKCE, MSAL node)', () => {
  it("signs in the login_hint's person: an ID token MSAL accepts, verified with the tenant's JWKS, with roles and groups", async () => {
    const result = await redeem(await signIn('Adele@contoso.com'));
    const claims = await verified(result);
    expect(claims).toMatchObject({
      aud: cloud.clientId,
      iss: `${cloud.authorityHost}/${CONTOSO}/v2.0`,
      tid: CONTOSO,
      name: 'Adele Vance',
      preferred_username: 'adele@contoso.com',
      roles: ['SyncWatch.Operator'],
      groups: [OPERATORS_GROUP],
      ver: '2.0',
    });
    expect(claims.oid).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.sub).toEqual(expect.any(String));
    expect((claims.exp as number) - (claims.iat as number)).toBe(3599);
    expect(claims.nbf).toBe(claims.iat);
    expect(result.idTokenClaims).toMatchObject({ nonce: expect.any(String), roles: ['SyncWatch.Operator'] });
    expect(result.account).toMatchObject({
      username: 'adele@contoso.com',
      tenantId: CONTOSO,
      homeAccountId: `${claims.oid}.${CONTOSO}`,
    });
    expect(decodeProtectedHeader(result.idToken)).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(cloud.control.tokenRequests().at(-1)).toMatchObject({
      grantType: 'authorization_code',
      status: 200,
      user: 'adele@contoso.com',
      clientAuth: 'secret',
    });
  });

  it('gives a person without app roles an ID token without roles (and without groups)', async () => {
    const claims = await verified(await redeem(await signIn('megan@contoso.com')));
    expect(claims.name).toBe('Megan Bowen');
    expect(claims).not.toHaveProperty('roles');
    expect(claims).not.toHaveProperty('groups');
    const first = await verified(await redeem(await signIn())); // no login_hint: the tenant's first person
    expect(first.preferred_username).toBe('adele@contoso.com');
  });

  it('refuses a wrong PKCE verifier and a second redemption with invalid_grant', async () => {
    const attempt = await signIn('adele@contoso.com');
    const wrong = await refusal(redeem(attempt, { verifier: new CryptoProvider().createNewGuid() + 'x'.repeat(20) }));
    expect(wrong.errorCode).toBe('invalid_grant');
    expect(wrong.errorMessage).toMatch(/AADSTS501481: The Code_Verifier does not match the code_challenge/);
    const once = await signIn('adele@contoso.com');
    await redeem(once);
    const again = await refusal(redeem(once));
    expect(again.errorCode).toBe('invalid_grant');
    expect(again.errorMessage).toMatch(/AADSTS54005: OAuth2 Authorization code was already redeemed/);
    expect(cloud.control.tokenRequests().map((t) => [t.status, t.error])).toEqual([
      [400, 'invalid_grant'],
      [200, undefined],
      [400, 'invalid_grant'],
    ]);
  });

  it('refuses a redirect URI the app did not register, on the sign-in page, and one that differs at the token endpoint', async () => {
    const app = msal();
    const url = await app.getAuthCodeUrl({ scopes: ['openid'], redirectUri: 'https://evil.example/callback' });
    const page = await fetch(url, { redirect: 'manual' });
    expect(page.status).toBe(400);
    expect(page.headers.get('location')).toBeNull();
    expect(await page.text()).toContain(
      `AADSTS50011: The redirect URI &#39;https://evil.example/callback&#39; specified in the request does not match the redirect URIs configured for the application &#39;${cloud.clientId}&#39;.`,
    );
    const other = 'https://watch.contoso.example/other';
    cloud.control.setRedirectUris([REDIRECT, other]);
    const mismatch = await refusal(redeem(await signIn('adele@contoso.com'), { redirectUri: other }));
    expect(mismatch.errorCode).toBe('invalid_grant');
    expect(mismatch.errorMessage).toContain(
      `AADSTS50011: The reply address '${other}' does not match the reply address '${REDIRECT}' provided when requesting Authorization code.`,
    );
  });

  it('names an unknown client, an unknown person and an app without redirect URIs on the sign-in page', async () => {
    const authorize = (params: Record<string, string>) =>
      fetch(
        `${cloud.authorityHost}/${CONTOSO}/oauth2/v2.0/authorize?${new URLSearchParams({ response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, client_id: cloud.clientId, ...params })}`,
        {
          redirect: 'manual',
        },
      );
    const texts = async (params: Record<string, string>) => {
      const r = await authorize(params);
      return `${r.status} ${await r.text()}`;
    };
    expect(await texts({ client_id: 'deadbeef-0000-4000-8000-000000000000' })).toMatch(
      /^400 .*AADSTS700016: Application with identifier/,
    );
    expect(await texts({ login_hint: 'nobody@contoso.com' })).toMatch(
      /^400 .*AADSTS50034: The user account nobody@contoso.com does not exist/,
    );
    const unsupported = await authorize({ response_type: 'token', state: 's1' });
    const back = new URL(unsupported.headers.get('location')!);
    expect([back.searchParams.get('error'), back.searchParams.get('state')]).toEqual([
      'unsupported_response_type',
      's1',
    ]);
    expect(back.searchParams.get('error_description')).toMatch(/^AADSTS70005: /);
    cloud.control.setRedirectUris([]);
    expect(await texts({})).toMatch(/^400 .*AADSTS500113: No reply address is registered for the application\./);
  });

  it('answers response_mode=form_post with the auto-submitting form, whose code redeems', async () => {
    const app = msal();
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const url = await app.getAuthCodeUrl({
      scopes: ['openid'],
      redirectUri: REDIRECT,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      responseMode: ResponseMode.FORM_POST,
      state: 'st"ate<',
      loginHint: 'megan@contoso.com',
    });
    const page = await fetch(url, { redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`<form method="POST" name="hiddenform" action="${REDIRECT}">`);
    expect(html).toContain('<input type="hidden" name="state" value="st&#34;ate&#60;" />');
    const code = /name="code" value="([^"]+)"/.exec(html)![1]!;
    const result = await app.acquireTokenByCode({
      code,
      scopes: ['openid'],
      redirectUri: REDIRECT,
      codeVerifier: verifier,
    });
    expect(result.account?.username).toBe('megan@contoso.com');
  });

  it('lists the endpoints MSAL needs in the discovery document, and the signing key at jwks_uri', async () => {
    const discovery = (await (
      await fetch(`${cloud.authorityHost}/${CONTOSO}/v2.0/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    for (const [key, path] of <Array<[string, string]>>[
      ['authorization_endpoint', 'oauth2/v2.0/authorize'],
      ['end_session_endpoint', 'oauth2/v2.0/logout'],
      ['jwks_uri', 'discovery/v2.0/keys'],
      ['token_endpoint', 'oauth2/v2.0/token'],
    ])
      expect(discovery[key]).toBe(`${cloud.authorityHost}/${CONTOSO}/${path}`);
    const keys = (await (await fetch(discovery.jwks_uri!)).json()) as { keys: unknown[] };
    expect(keys.keys).toEqual([
      { kty: 'RSA', use: 'sig', alg: 'RS256', kid: expect.any(String), n: expect.any(String), e: 'AQAB' },
    ]);
    const logout = await fetch(
      `${discovery.end_session_endpoint}?post_logout_redirect_uri=${encodeURIComponent(REDIRECT)}&state=x`,
      {
        redirect: 'manual',
      },
    );
    expect(logout.headers.get('location')).toBe(`${REDIRECT}?state=x`);
  });

  it('refuses a code that outlived its lifetime (AADSTS70008)', async () => {
    const quick = await startPrivateCloud({ scenario, authorizationCodeLifetimeSeconds: 0.2 });
    try {
      const attempt = await signIn('adele@contoso.com', quick);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const expired = await refusal(redeem(attempt));
      expect(expired.errorCode).toBe('invalid_grant');
      expect(expired.errorMessage).toMatch(/AADSTS70008: The provided authorization code or refresh token has expired/);
    } finally {
      await quick.stop();
    }
  });

  it('takes people from the scenario, with errors that name the field, and from the control API', async () => {
    const withPeople = (people: unknown) => () =>
      validateScenario({ ...scenario, tenants: [{ ...scenario.tenants[0]!, people }] });
    expect(withPeople([ADELE, { ...MEGAN, upn: 'ADELE@contoso.com' }])).toThrow(
      'tenants[0].people[1].upn: duplicate person ADELE@contoso.com',
    );
    expect(withPeople([{ upn: 'adele', name: 'A' }])).toThrow(
      'tenants[0].people[0].upn: expected a user principal name such as adele@contoso.com, got "adele"',
    );
    expect(withPeople([{ ...ADELE, groups: ['operators'] }])).toThrow(
      'tenants[0].people[0].groups[0]: expected a GUID, got "operators"',
    );
    expect(withPeople([{ ...ADELE, title: 'x' }])).toThrow(/tenants\[0\]\.people\[0\]\.title: unknown field/);
    expect(() =>
      validateScenario({ ...scenario, app: { ...scenario.app, redirectUris: ['http://watch.contoso.example/cb'] } }),
    ).toThrow(
      'app.redirectUris[0]: expected an absolute https URL (or http://localhost) without a fragment, got "http://watch.contoso.example/cb"',
    );
    const put = await fetch(`${cloud.graphEndpoint}/_emulator/people/${CONTOSO}`, {
      method: 'PUT',
      body: JSON.stringify([{ upn: 'lee@contoso.com', name: 'Lee Gu', roles: ['SyncWatch.Operator'] }]),
    });
    expect(put.status).toBe(200);
    expect((await verified(await redeem(await signIn('lee@contoso.com')))).roles).toEqual(['SyncWatch.Operator']);
  });

  it('gives the demo scenario an operator and someone without the role', () => {
    const demo = loadScenario('emulators/scenarios/demo.json');
    const people = demo.tenants.flatMap((t) => t.people ?? []);
    expect(people.filter((p) => p.roles?.includes('SyncWatch.Operator'))).toHaveLength(1);
    expect(people.filter((p) => !p.roles?.length)).toHaveLength(1);
  });
});
