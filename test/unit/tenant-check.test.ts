import type { AccessToken } from '@azure/core-auth';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../lib/observe/errors';
import {
  TenantDiscoveryError,
  TenantMismatchError,
  tenantChecked,
  tenantResolver,
  tokenTenant,
} from '../../lib/clients/tenant-check';
import type { RenewableCredential } from '../../lib/clients/renewable-credential';

const HOME = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const OTHER = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
const token = (tid: string): AccessToken => ({
  token: `h.${Buffer.from(JSON.stringify({ tid })).toString('base64url')}.s`,
  expiresOnTimestamp: Date.now() + 3600_000,
});
const discovery = (tenantId: string) => ({
  status: 200,
  body: {
    token_endpoint: `https://login.example/${tenantId}/oauth2/v2.0/token`,
    issuer: `https://login.example/${tenantId}/v2.0`,
  },
});

describe('tenant resolution and the tid check', () => {
  it('resolves a domain once per process from its OpenID configuration; a GUID is its own answer', async () => {
    const asked: string[] = [];
    const resolve = tenantResolver('https://login.example/', async (url) => {
      asked.push(url);
      return discovery(OTHER);
    });
    expect(await resolve('Northwind.onmicrosoft.com')).toBe(OTHER);
    expect(await resolve('northwind.onmicrosoft.com')).toBe(OTHER);
    expect(await resolve(HOME.toUpperCase())).toBe(HOME);
    expect(asked).toEqual(['https://login.example/northwind.onmicrosoft.com/v2.0/.well-known/openid-configuration']);
  });

  it("names an unknown domain with Entra's answer, and asks again next time", async () => {
    let calls = 0;
    const resolve = tenantResolver('https://login.example', async () => {
      calls++;
      return {
        status: 400,
        body: {
          error: 'invalid_tenant',
          error_description: "AADSTS90002: Tenant 'nope.example' not found.\r\nTrace ID: x",
        },
      };
    });
    const failure = await resolve('nope.example').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TenantDiscoveryError);
    expect((failure as Error).message).toMatch(
      /nope\.example in WATCH_TENANTS .* answered 400: AADSTS90002: Tenant 'nope\.example' not found\.( |$)/,
    );
    expect(classifyError(failure, 'servicePrincipals')).toMatchObject({ kind: 'access', code: 'AADSTS90002' });
    await resolve('nope.example').catch(() => undefined);
    expect(calls).toBe(2);
  });

  it('refuses a token of another tenant, naming both, and passes one of the tenant asked for', async () => {
    let issued = HOME;
    const inner: RenewableCredential = { getToken: async () => token(issued), renew: () => undefined };
    const checked = tenantChecked(
      inner,
      tenantResolver('https://login.example', async () => discovery(OTHER)),
    );
    const failure = await checked.getToken('s', { tenantId: 'northwind.onmicrosoft.com' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TenantMismatchError);
    expect((failure as Error).message).toContain(HOME);
    expect((failure as Error).message).toContain(OTHER);
    expect(classifyError(failure, 'servicePrincipals')).toMatchObject({
      kind: 'access',
      code: 'TenantMismatch',
      operation: 'token',
    });
    // As the Graph client passes it on: a GraphError whose code is the credential error's name.
    expect(
      classifyError({ name: 'GraphError', code: 'TenantMismatchError', message: 'x', statusCode: -1 }, 'jobs').code,
    ).toBe('TenantMismatch');
    issued = OTHER;
    expect(tokenTenant((await checked.getToken('s', { tenantId: 'northwind.onmicrosoft.com' }))!.token)).toBe(OTHER);
    // No tenant asked (the credential's own): nothing to compare.
    issued = HOME;
    expect(await checked.getToken('s')).not.toBeNull();
  });
});
