import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOUDS } from '../../lib/settings/clouds';
import { identityWarnings } from '../../lib/settings/identity';
import { loadSettings, SettingsError } from '../../lib/settings/settings';
import { type Env } from '../../lib/settings/env';

const valid = {
  ALERT_EMAIL_TO: 'ops@contoso.com',
  ALERT_EMAIL_FROM: 'DoNotReply@contoso.azurecomm.net',
  ACS_ENDPOINT: 'https://contoso.communication.azure.com',
};
const TENANT = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const APP = 'a9c4e1d2-6b3f-4a8e-9d7c-5e1f2a3b4c6d';
const MI = '1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9';

function problems(env: Env): string[] {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

describe('AZURE_CLOUD', () => {
  it('chooses the authority and Graph of each sovereign cloud', () => {
    for (const cloud of Object.values(CLOUDS)) {
      const s = loadSettings({ ...valid, AZURE_CLOUD: cloud.name });
      expect(s).toMatchObject({
        cloud: cloud.name,
        graphEndpoint: cloud.graphEndpoint,
        authorityHost: cloud.authorityHost,
      });
    }
    expect(loadSettings({ ...valid, AZURE_CLOUD: 'azureusgovernment' })).toMatchObject({
      graphEndpoint: 'https://graph.microsoft.us',
      authorityHost: 'https://login.microsoftonline.us',
    });
    expect(loadSettings(valid)).toMatchObject({
      cloud: 'AzurePublicCloud',
      graphEndpoint: 'https://graph.microsoft.com',
      authorityHost: 'https://login.microsoftonline.com',
    });
  });

  it('lets explicit GRAPH_ENDPOINT and AZURE_AUTHORITY_HOST win (US DoD, private clouds)', () => {
    const s = loadSettings({
      ...valid,
      AZURE_CLOUD: 'AzureUSGovernment',
      GRAPH_ENDPOINT: 'https://dod-graph.microsoft.us',
      AZURE_AUTHORITY_HOST: 'https://127.0.0.1:8443',
    });
    expect(s).toMatchObject({
      cloud: 'AzureUSGovernment',
      graphEndpoint: 'https://dod-graph.microsoft.us',
      authorityHost: 'https://127.0.0.1:8443',
    });
  });

  it('names an unknown cloud and lists the known ones', () => {
    expect(problems({ ...valid, AZURE_CLOUD: 'AzureGermanCloud' })).toEqual([
      'AZURE_CLOUD="AzureGermanCloud" is not a cloud this app knows; expected one of AzurePublicCloud, AzureUSGovernment, AzureChinaCloud',
    ]);
  });
});

describe('placeholders from local.settings.sample.json', () => {
  it('are rejected by name, every one of them', () => {
    const sample = (JSON.parse(readFileSync('local.settings.sample.json', 'utf8')) as { Values: Env }).Values;
    const found = problems(sample).filter((p) => p.includes('placeholder'));
    const named = found.map((p) => p.split(' ')[0]);
    for (const [name, value] of Object.entries(sample)) {
      if (/<[^<>]*>|00000000-0000-0000-0000-000000000000/.test(value ?? '')) expect(named).toContain(name);
    }
    expect(found).toContain(
      'AZURE_CLIENT_CERTIFICATE_PATH still holds the placeholder "<path of a PEM file with the monitoring app registration\'s private key and certificate>" from local.settings.sample.json; replace it with the real value',
    );
    expect(found).toContain(
      'WATCH_TENANTS still holds the placeholder "00000000-0000-0000-0000-000000000000" from local.settings.sample.json; replace it with the real value',
    );
  });

  it('leave real values alone', () => {
    expect(problems({ ...valid, WATCH_TENANTS: TENANT, AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: MI })).toEqual([]);
  });
});

describe('the identity, secretless first', () => {
  it('is the managed identity when no app credential is set', () => {
    expect(loadSettings({ ...valid, AZURE_CLIENT_ID: MI }).identity).toEqual({
      mode: 'managed-identity',
      clientId: MI,
      tenantId: undefined,
    });
  });

  it('is the multi-tenant app with the managed identity as its federated credential when WATCH_APP_CLIENT_ID is set', () => {
    const env = {
      ...valid,
      WATCH_APP_CLIENT_ID: APP,
      AZURE_CLIENT_ID: MI,
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_SECRET: 'left-over',
    };
    const s = loadSettings(env);
    expect(s.identity).toEqual({ mode: 'federated', appClientId: APP, tenantId: TENANT, managedIdentityClientId: MI });
    expect(identityWarnings(s.identity, env)).toEqual([
      'AZURE_CLIENT_SECRET is set but not used (WATCH_APP_CLIENT_ID: the managed identity is the credential); remove it',
    ]);
    expect(problems({ ...valid, WATCH_APP_CLIENT_ID: APP })).toEqual([
      'AZURE_TENANT_ID is required with WATCH_APP_CLIENT_ID: the home tenant of the app registration and of the managed identity',
    ]);
    expect(problems({ ...valid, WATCH_APP_CLIENT_ID: 'my-app', AZURE_TENANT_ID: TENANT })).toEqual([
      'WATCH_APP_CLIENT_ID="my-app" is not the client ID (GUID) of the multi-tenant app registration',
    ]);
  });

  it('prefers a certificate to a secret, and warns about a secret at start', () => {
    const cert = {
      ...valid,
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: APP,
      AZURE_CLIENT_CERTIFICATE_PATH: 'package.json',
      AZURE_CLIENT_SECRET: 's',
    };
    expect(loadSettings(cert).identity.mode).toBe('certificate');
    expect(identityWarnings(loadSettings(cert).identity, cert)).toEqual([
      'AZURE_CLIENT_SECRET is set but not used (the certificate takes precedence); remove it',
    ]);
    expect(problems({ ...cert, AZURE_CLIENT_CERTIFICATE_PATH: '/no/such.pem' })).toEqual([
      'AZURE_CLIENT_CERTIFICATE_PATH="/no/such.pem": no such file (a PEM file with the private key and the certificate)',
    ]);

    const secret = { ...valid, AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: APP, AZURE_CLIENT_SECRET: 's' };
    const warnings = identityWarnings(loadSettings(secret).identity, secret);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^the monitoring app signs in with a client secret \(AZURE_CLIENT_SECRET\).*Prefer the managed identity/,
    );
    expect(problems({ ...valid, AZURE_CLIENT_SECRET: 's' })).toEqual([
      'AZURE_CLIENT_SECRET needs AZURE_TENANT_ID and AZURE_CLIENT_ID: the home tenant and client ID of the app registration it belongs to',
    ]);
  });

  it('warns about nothing for the managed identity', () => {
    const env = { ...valid, AZURE_CLIENT_ID: MI };
    expect(identityWarnings(loadSettings(env).identity, env)).toEqual([]);
  });
});
