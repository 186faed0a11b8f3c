import { existsSync } from 'node:fs';
import type { Env } from './env';

/**
 * How the monitor proves who it is, from the most to the least preferred (secretless first):
 *
 * - `managed-identity`: one tenant, the Function App's own managed identity (no credential to keep).
 * - `federated`: many tenants through one multi-tenant app registration whose credential is the
 *   managed identity, as a federated identity credential (workload identity federation). Each
 *   customer tenant's admin consents to the app; no secret exists anywhere.
 * - `certificate`: the app registration with a certificate (the fallback where there is no
 *   managed identity, e.g. outside Azure).
 * - `secret`: the app registration with a client secret: the last resort, warned about at start.
 */
export type Identity =
  | {
      mode: 'managed-identity';
      /** A user-assigned identity's client ID; none = system-assigned. */ clientId?: string;
      tenantId?: string;
    }
  | { mode: 'federated'; appClientId: string; tenantId: string; managedIdentityClientId?: string }
  | { mode: 'certificate'; tenantId: string; clientId: string; certificatePath: string; certificatePassword?: string }
  | { mode: 'secret'; tenantId: string; clientId: string; clientSecret: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$/i;

const value = (env: Env, name: string): string | undefined => env[name]?.trim() || undefined;

function checkId(name: string, id: string | undefined, pattern: RegExp, what: string, problems: string[]): void {
  if (id !== undefined && !pattern.test(id)) problems.push(`${name}="${id}" is not ${what}`);
}

/** The identity the settings describe, validated: every problem is added to `problems`. */
export function identityFromEnv(env: Env, problems: string[]): Identity {
  const tenantId = value(env, 'AZURE_TENANT_ID');
  const clientId = value(env, 'AZURE_CLIENT_ID');
  const appClientId = value(env, 'WATCH_APP_CLIENT_ID');
  const certificatePath = value(env, 'AZURE_CLIENT_CERTIFICATE_PATH');
  const clientSecret = value(env, 'AZURE_CLIENT_SECRET');
  checkId('AZURE_TENANT_ID', tenantId, TENANT, 'a tenant ID (GUID) or domain name', problems);
  checkId('AZURE_CLIENT_ID', clientId, GUID, 'a client ID (GUID)', problems);
  checkId(
    'WATCH_APP_CLIENT_ID',
    appClientId,
    GUID,
    'the client ID (GUID) of the multi-tenant app registration',
    problems,
  );

  if (appClientId) {
    if (!tenantId)
      problems.push(
        'AZURE_TENANT_ID is required with WATCH_APP_CLIENT_ID: the home tenant of the app registration and of the managed identity',
      );
    return { mode: 'federated', appClientId, tenantId: tenantId ?? '', managedIdentityClientId: clientId };
  }
  const appCredential = certificatePath
    ? 'AZURE_CLIENT_CERTIFICATE_PATH'
    : clientSecret
      ? 'AZURE_CLIENT_SECRET'
      : undefined;
  if (appCredential && (!tenantId || !clientId)) {
    problems.push(
      `${appCredential} needs AZURE_TENANT_ID and AZURE_CLIENT_ID: the home tenant and client ID of the app registration it belongs to`,
    );
  }
  if (certificatePath) {
    if (!existsSync(certificatePath))
      problems.push(
        `AZURE_CLIENT_CERTIFICATE_PATH="${certificatePath}": no such file (a PEM file with the private key and the certificate)`,
      );
    return {
      mode: 'certificate',
      tenantId: tenantId ?? '',
      clientId: clientId ?? '',
      certificatePath,
      certificatePassword: value(env, 'AZURE_CLIENT_CERTIFICATE_PASSWORD'),
    };
  }
  if (clientSecret) return { mode: 'secret', tenantId: tenantId ?? '', clientId: clientId ?? '', clientSecret };

  return { mode: 'managed-identity', clientId, tenantId };
}

/** What the operator should hear at start about the identity: the secret as a last resort, credentials set but unused. */
export function identityWarnings(identity: Identity, env: Env): string[] {
  const warnings: string[] = [];
  const unused = (name: string, because: string) => {
    if (value(env, name)) warnings.push(`${name} is set but not used (${because}); remove it`);
  };
  if (identity.mode === 'secret') {
    warnings.push(
      'the monitoring app signs in with a client secret (AZURE_CLIENT_SECRET): a long-lived secret that can read every consented tenant. ' +
        'Prefer the managed identity (one tenant), WATCH_APP_CLIENT_ID with the managed identity as a federated credential (many tenants), or a certificate.',
    );
  }
  if (identity.mode === 'federated') {
    unused('AZURE_CLIENT_SECRET', 'WATCH_APP_CLIENT_ID: the managed identity is the credential');
    unused('AZURE_CLIENT_CERTIFICATE_PATH', 'WATCH_APP_CLIENT_ID: the managed identity is the credential');
  }
  if (identity.mode === 'certificate') unused('AZURE_CLIENT_SECRET', 'the certificate takes precedence');
  return warnings;
}
