import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../lib/settings/settings';
import { adminConsentUrl, consentApp, onboardingText } from '../../lib/clients/consent';

const base = {
  ALERT_EMAIL_TO: 'ops@contoso.com',
  ALERT_EMAIL_FROM: 'DoNotReply@contoso.azurecomm.net',
  ACS_ENDPOINT: 'https://contoso.communication.azure.com',
  AZURE_TENANT_ID: '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b',
  AZURE_CLIENT_ID: '1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9',
  WATCH_APP_CLIENT_ID: 'a9c4e1d2-6b3f-4a8e-9d7c-5e1f2a3b4c6d',
};
const FABRIKAM = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';

describe('onboarding a customer tenant', () => {
  it('links to the v2.0 admin consent of the multi-tenant app, for every Graph permission at once', () => {
    const settings = loadSettings(base);
    const url = new URL(adminConsentUrl(settings, 'a9c4e1d2-6b3f-4a8e-9d7c-5e1f2a3b4c6d', FABRIKAM));
    expect(url.origin + url.pathname).toBe(`https://login.microsoftonline.com/${FABRIKAM}/v2.0/adminconsent`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'a9c4e1d2-6b3f-4a8e-9d7c-5e1f2a3b4c6d',
      scope: 'https://graph.microsoft.com/.default',
      redirect_uri: 'https://entra.microsoft.com/',
      state: FABRIKAM,
    });
  });

  it('uses the sovereign authority, Graph and portal of AZURE_CLOUD', () => {
    const url = new URL(adminConsentUrl(loadSettings({ ...base, AZURE_CLOUD: 'AzureUSGovernment' }), 'app', FABRIKAM));
    expect(url.host).toBe('login.microsoftonline.us');
    expect(url.searchParams.get('scope')).toBe('https://graph.microsoft.us/.default');
    expect(url.searchParams.get('redirect_uri')).toBe('https://entra.microsoft.us/');
  });

  it('says what the admin grants and what happens next', () => {
    const text = onboardingText(
      loadSettings({ ...base, WATCH_TENANTS: FABRIKAM }),
      'a9c4e1d2-6b3f-4a8e-9d7c-5e1f2a3b4c6d',
      FABRIKAM,
    );
    expect(text).toContain('Synchronization.Read.All');
    expect(text).toContain('Application.Read.All');
    expect(text).toContain('AuditLog.Read.All');
    expect(text).toContain('The tenant is in WATCH_TENANTS');
    expect(onboardingText(loadSettings(base), 'app', 'fabrikam.onmicrosoft.com')).toContain(
      'Then add fabrikam.onmicrosoft.com to WATCH_TENANTS',
    );
  });

  it('consents to the app the settings sign in with, and to nothing for a managed identity alone', () => {
    expect(consentApp(loadSettings(base))).toEqual({ appId: 'a9c4e1d2-6b3f-4a8e-9d7c-5e1f2a3b4c6d' });
    const { WATCH_APP_CLIENT_ID: _, ...managed } = base;
    expect(consentApp(loadSettings(managed))).toMatchObject({
      none: expect.stringMatching(/managed identity.*WATCH_APP_CLIENT_ID/),
    });
  });
});
