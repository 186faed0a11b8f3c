import { ClientSecretCredential } from '@azure/identity';
import { Client, GraphError } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startPrivateCloud, type PrivateCloud, type PrivateCloudOptions } from '../../emulators/index';

/** The clients the product uses, pointed at a private cloud, for the emulators' own tests. */

export function credentialFor(cloud: PrivateCloud, tenantId: string): ClientSecretCredential {
  return new ClientSecretCredential(tenantId, cloud.clientId, cloud.clientSecret, {
    authorityHost: cloud.authorityHost,
    disableInstanceDiscovery: true,
  });
}

/** `@microsoft/microsoft-graph-client` with a token from `@azure/identity`, as emulators/README.md, "Pointing the product at it", says. */
export function graphFor(cloud: PrivateCloud, tenantId: string): Client {
  return Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(credentialFor(cloud, tenantId), {
      scopes: [`${cloud.graphEndpoint}/.default`],
      getTokenOptions: { tenantId },
    }),
    baseUrl: `${cloud.graphEndpoint}/`,
    customHosts: new Set(['127.0.0.1']),
  });
}

/** The GraphError a call fails with (the test fails if it does not). */
export async function graphError(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (error) {
    return error as GraphError;
  }
  throw new Error('expected the Graph call to fail');
}

/** `{ status, code, message }` of a GraphError, for one-line assertions. */
export function failure(error: GraphError): { status: number; code: string | null; message: string } {
  return { status: error.statusCode, code: error.code, message: error.message };
}

/**
 * One private cloud for a test file: started before its tests, stopped after them, reset before each.
 * `use` receives it once started: `let cloud: PrivateCloud; runPrivateCloud(scenario, (c) => (cloud = c));`
 */
export function runPrivateCloud(
  scenario: PrivateCloudOptions['scenario'],
  use: (cloud: PrivateCloud) => void,
  options: Omit<PrivateCloudOptions, 'scenario'> = {},
): void {
  let cloud: PrivateCloud | undefined;
  beforeAll(async () => {
    cloud = await startPrivateCloud({ ...options, scenario });
    use(cloud);
  });
  afterAll(async () => {
    await cloud?.stop();
  });
  beforeEach(() => cloud?.control.reset());
}
