import type { TokenCredential } from '@azure/core-auth';

/**
 * A credential that keeps its tokens between cycles (the identity library caches each tenant's
 * token until shortly before it expires), and can be told to drop one tenant's: a tenant whose
 * reads were refused may have been granted the missing permission since, and a token carries the
 * permissions of the moment it was issued.
 */
export interface RenewableCredential extends TokenCredential {
  /** The next token for this tenant (undefined: the credential's own tenant) is a new one. */
  renew(tenantId: string | undefined): void;
  /** A caller stopped waiting for this tenant's token: a request it shared is not shared again. */
  abandon?(scopes: string | string[], tenantId: string | undefined): void;
}
