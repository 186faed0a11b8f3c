/**
 * The Microsoft clouds Entra Sync Watch can run in (AZURE_CLOUD), and the endpoints that differ
 * between them. Names follow the Azure SDKs' and ARM's environment names. GRAPH_ENDPOINT and
 * AZURE_AUTHORITY_HOST still win over these, e.g. for the US Department of Defense
 * (`https://dod-graph.microsoft.us`) or a private cloud.
 */
export interface Cloud {
  name: CloudName;
  /** Entra ID authority (token and admin-consent endpoints). */
  authorityHost: string;
  /** Microsoft Graph root (no version). */
  graphEndpoint: string;
  /** Where an admin manages Entra ID: the Entra admin center, or the Azure portal where there is none. */
  portal: string;
  /** Log Analytics query API (no path): where KQL rules and the digest from AADProvisioningLogs run. */
  logAnalyticsEndpoint: string;
  /**
   * Audience of the managed identity's token that a federated identity credential accepts
   * (workload identity federation: `api://AzureADTokenExchange` and its sovereign variants).
   */
  tokenExchangeAudience: string;
}

export const CLOUD_NAMES = ['AzurePublicCloud', 'AzureUSGovernment', 'AzureChinaCloud'] as const;
export type CloudName = (typeof CLOUD_NAMES)[number];
export const DEFAULT_CLOUD: CloudName = 'AzurePublicCloud';

// Sources: Microsoft identity platform "National clouds" and Microsoft Graph "National cloud
// deployments" (authority, Graph and portal hosts); msgraph-bicep-types quickstart
// "msi-as-a-fic-secretless" (token exchange audiences per cloud).
export const CLOUDS: Record<CloudName, Cloud> = {
  AzurePublicCloud: {
    name: 'AzurePublicCloud',
    authorityHost: 'https://login.microsoftonline.com',
    graphEndpoint: 'https://graph.microsoft.com',
    portal: 'https://entra.microsoft.com',
    logAnalyticsEndpoint: 'https://api.loganalytics.io',
    tokenExchangeAudience: 'api://AzureADTokenExchange',
  },
  AzureUSGovernment: {
    name: 'AzureUSGovernment',
    authorityHost: 'https://login.microsoftonline.us',
    graphEndpoint: 'https://graph.microsoft.us',
    portal: 'https://entra.microsoft.us',
    logAnalyticsEndpoint: 'https://api.loganalytics.us',
    tokenExchangeAudience: 'api://AzureADTokenExchangeUSGov',
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    authorityHost: 'https://login.chinacloudapi.cn',
    graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn',
    portal: 'https://portal.azure.cn',
    logAnalyticsEndpoint: 'https://api.loganalytics.azure.cn',
    tokenExchangeAudience: 'api://AzureADTokenExchangeChina',
  },
};

/** The cloud named (case-insensitively), or undefined for a name that is not one. */
export function cloudNamed(name: string): Cloud | undefined {
  const found = CLOUD_NAMES.find((n) => n.toLowerCase() === name.trim().toLowerCase());
  return found ? CLOUDS[found] : undefined;
}
