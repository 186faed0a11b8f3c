import { CLOUDS } from '../settings/clouds';
import type { Settings } from '../settings/settings';
import { GRAPH_APPLICATION_PERMISSIONS } from './permissions';

/** The app registration customer tenants consent to, or why there is none. */
export function consentApp(settings: Settings): { appId: string } | { none: string } {
  const { identity } = settings;
  if (identity.mode === 'federated') return { appId: identity.appClientId };
  if (identity.mode === 'certificate' || identity.mode === 'secret') return { appId: identity.clientId };
  return {
    none:
      'the monitor signs in as its managed identity, which reads only its own tenant and needs no consent ' +
      '(the deployment grants its Graph roles). To watch customer tenants, set WATCH_APP_CLIENT_ID to a multi-tenant app registration (see docs/deploying.md, "Many tenants without a secret (MSPs)").',
  };
}

/** Where an admin lands after consenting: the cloud's Entra admin center, registered as the app's redirect URI by infra/. */
function consentRedirectUri(settings: Settings): string {
  return `${CLOUDS[settings.cloud].portal}/`;
}

/**
 * The admin-consent URL for one customer tenant (Microsoft identity platform v2.0 admin consent,
 * scope `<graph>/.default`: every application permission the app registration requires, at once).
 * `state` carries the tenant so a landing page can tell which consent came back.
 */
export function adminConsentUrl(
  settings: Settings,
  appId: string,
  tenant: string,
  redirectUri = consentRedirectUri(settings),
): string {
  const authority = settings.authorityHost ?? CLOUDS[settings.cloud].authorityHost;
  const query = new URLSearchParams({
    client_id: appId,
    scope: `${settings.graphEndpoint}/.default`,
    redirect_uri: redirectUri,
    state: tenant,
  });
  return `${authority}/${encodeURIComponent(tenant)}/v2.0/adminconsent?${query.toString()}`;
}

/** What an operator sends a customer tenant's admin: the link, what they grant, and what comes next. */
export function onboardingText(settings: Settings, appId: string, tenant: string): string {
  const permissions = Object.entries(GRAPH_APPLICATION_PERMISSIONS).map(([name, why]) => `    ${name}: ${why}`);
  const watched = settings.tenants.includes(tenant.toLowerCase());
  return [
    `Tenant ${tenant}: admin consent for the Entra Sync Watch app ${appId}`,
    `  ${adminConsentUrl(settings, appId, tenant)}`,
    '  An administrator of that tenant who may grant application permissions (Privileged Role Administrator or Global Administrator)',
    '  opens the link, signs in, and accepts these Microsoft Graph application permissions (read only):',
    ...permissions,
    watched
      ? '  The tenant is in WATCH_TENANTS: the next cycle reads it.'
      : `  Then add ${tenant} to WATCH_TENANTS; the next cycle reads it.`,
  ].join('\n');
}
