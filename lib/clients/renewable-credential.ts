import type { TokenCredential } from '@azure/core-auth';

/**
 * The credential that reads Graph: a TokenCredential whose kept tokens can be given up per tenant
 * (lib/clients/credentials.ts makes it; lib/clients/tenant-check.ts checks each token's tenant).
 */
export interface RenewableCredential extends TokenCredential {
  /** The next token for this tenant (undefined: the credential's own tenant) is a new one. */
  renew(tenantId: string | undefined): void;
  /** A caller stopped waiting for this tenant's token: a request it shared is not shared again. */
  abandon?(scopes: string | string[], tenantId: string | undefined): void;
}
