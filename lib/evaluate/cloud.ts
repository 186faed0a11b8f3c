import type { LinkTargets } from '../model';

/**
 * The Microsoft clouds a tenant can live in, and where their people sign in and administer Entra.
 * Each national cloud has its own Graph, sign-in authority and admin center, so a link built for
 * the global cloud opens the wrong portal for a US Government or China tenant.
 *
 * Sources: Microsoft identity platform "National clouds" (sign-in endpoints
 * login.microsoftonline.com / .us / login.partner.microsoftonline.cn; Graph hosts as in
 * docs/reference/platform-notes.md §2.3), and the Entra admin center hosts of the Entra FAQ's
 * firewall allow-list (entra.microsoft.com, entra.microsoft.us, entra.microsoftonline.cn).
 */
export type CloudName = 'global' | 'usgov' | 'usgov-dod' | 'china';

const CLOUDS: Record<CloudName, { graphHosts: string[]; portalOrigin: string; loginOrigin: string }> = {
  global: {
    graphHosts: ['graph.microsoft.com', 'canary.graph.microsoft.com'],
    portalOrigin: 'https://entra.microsoft.com',
    loginOrigin: 'https://login.microsoftonline.com',
  },
  // GCC High. GCC (moderate) tenants use the global cloud's Graph, sign-in and admin center.
  usgov: {
    graphHosts: ['graph.microsoft.us'],
    portalOrigin: 'https://entra.microsoft.us',
    loginOrigin: 'https://login.microsoftonline.us',
  },
  // DoD has its own Graph host but shares the US Government sign-in and admin center.
  'usgov-dod': {
    graphHosts: ['dod-graph.microsoft.us'],
    portalOrigin: 'https://entra.microsoft.us',
    loginOrigin: 'https://login.microsoftonline.us',
  },
  china: {
    graphHosts: ['microsoftgraph.chinacloudapi.cn'],
    portalOrigin: 'https://entra.microsoftonline.cn',
    loginOrigin: 'https://login.partner.microsoftonline.cn',
  },
};

/**
 * The cloud a Graph endpoint belongs to. An endpoint of no known cloud (a private cloud such as
 * the emulators) counts as global: its links then open the global admin center, as they would for
 * any tenant whose cloud the monitor cannot tell.
 */
export function cloudOfGraphEndpoint(graphEndpoint: string): CloudName {
  let host: string;
  try {
    host = new URL(graphEndpoint).hostname.toLowerCase();
  } catch {
    return 'global';
  }
  const match = (Object.keys(CLOUDS) as CloudName[]).find((name) => CLOUDS[name].graphHosts.includes(host));
  return match ?? 'global';
}

/** Where alert links point for a cloud (by name or by its Graph endpoint), for the monitoring app `clientId`. */
export function linkTargetsFor(cloud: CloudName | { graphEndpoint: string }, clientId?: string): LinkTargets {
  const name = typeof cloud === 'string' ? cloud : cloudOfGraphEndpoint(cloud.graphEndpoint);
  const { portalOrigin, loginOrigin } = CLOUDS[name];
  const id = clientId?.trim();
  return id ? { portalOrigin, loginOrigin, clientId: id } : { portalOrigin, loginOrigin };
}
