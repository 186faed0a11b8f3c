import type { TokenCredential } from '@azure/core-auth';
import { GRAPH_ACTION_PERMISSIONS } from '../clients/permissions';

/**
 * Whether decisions can be carried out in a tenant: the monitor's Graph token for that tenant
 * carries every action permission in its `roles` (admin consent given there). For `npm run doctor`
 * and the decide endpoint's own notes; it asks the authority for a token, never Graph.
 */

export type ActionsReadiness = { possible: true } | { possible: false; missing: string[]; reason: string };

const ACTION_PERMISSIONS = Object.keys(GRAPH_ACTION_PERMISSIONS);

/** The `roles` claim of an access token (read, not verified: it is our own, just received over TLS). */
function rolesOf(token: string): string[] {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      roles?: unknown;
    };
    return Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

/** Are actions possible for `tenantId`: a token for Graph there, with Synchronization.ReadWrite.All in its roles. */
export async function actionsPossible(
  credential: TokenCredential,
  graphEndpoint: string,
  tenantId: string,
): Promise<ActionsReadiness> {
  let token: string;
  try {
    const answer = await credential.getToken(`${graphEndpoint.replace(/\/+$/, '')}/.default`, { tenantId });
    if (!answer) throw new Error('the credential returned no token');
    token = answer.token;
  } catch (error) {
    return {
      possible: false,
      missing: ACTION_PERMISSIONS,
      reason: `no Graph token for tenant ${tenantId}: ${(error as Error).message.split(/\r?\n/)[0]}`,
    };
  }
  const roles = rolesOf(token);
  const missing = ACTION_PERMISSIONS.filter((p) => !roles.includes(p));
  if (missing.length === 0) return { possible: true };
  return {
    possible: false,
    missing,
    reason: `the monitor's token for tenant ${tenantId} lacks ${missing.join(', ')}: an administrator there must consent to it (or keep the monitor read-only there)`,
  };
}
