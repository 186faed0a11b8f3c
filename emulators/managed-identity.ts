import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TokenSigner } from './tokens';

/**
 * The managed identity endpoint of App Service and Azure Functions (Flex Consumption included), as
 * `ManagedIdentityCredential` (through MSAL node's `AppService` source) calls it: the platform sets
 * IDENTITY_ENDPOINT and IDENTITY_HEADER; the client sends
 * `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<resource>[&client_id=<id>]` with
 * `X-IDENTITY-HEADER: {IDENTITY_HEADER}` and reads `{access_token, expires_on, resource,
 * token_type, client_id}` (expires_on in epoch seconds, as a string). Plain HTTP on loopback, like
 * the real endpoint (`http://localhost:<port>/msi/token`); @azure/identity allows insecure
 * connections for managed identity only.
 *
 * Tokens are minted by the private cloud's signer, so Graph accepts them (single-tenant mode) and
 * the authority accepts them as federated assertions (multi-tenant mode) when the app registration
 * trusts this identity's issuer and subject.
 */

const APP_SERVICE_API_VERSION = '2019-08-01';

export interface ManagedIdentityOptions {
  signer: TokenSigner;
  /** The authority's origin: tokens are issued as `${authorityOrigin}/${tenantId}/v2.0`, like Entra's v2 issuer. */
  authorityOrigin: string;
  /** The identity's home tenant. */
  tenantId: string;
  /** The user-assigned identity's client ID and principal (object) ID. */
  clientId: string;
  principalId: string;
  /** Application permissions granted to the identity (the `roles` of its Graph tokens), read at each request. */
  roles: () => string[];
  tokenLifetimeSeconds?: number;
}

interface ManagedIdentityRequest {
  at: string;
  resource?: string;
  clientId?: string;
  status: number;
}

export interface ManagedIdentityEmulator {
  /** The value of IDENTITY_ENDPOINT: `http://127.0.0.1:<port>/msi/token`. */
  endpoint: string;
  /** The value of IDENTITY_HEADER. */
  header: string;
  tenantId: string;
  clientId: string;
  principalId: string;
  /** The issuer of its tokens (what a federated identity credential on the app must name). */
  issuer: string;
  /** The platform variables a process needs to use this identity: IDENTITY_ENDPOINT and IDENTITY_HEADER. */
  env: Record<'IDENTITY_ENDPOINT' | 'IDENTITY_HEADER', string>;
  requests(): ManagedIdentityRequest[];
  stop(): Promise<void>;
}

export async function startManagedIdentityEndpoint(options: ManagedIdentityOptions): Promise<ManagedIdentityEmulator> {
  const secret = randomBytes(16).toString('hex');
  const lifetime = options.tokenLifetimeSeconds ?? 86_399; // managed identity tokens live about 24 h
  const issuer = `${options.authorityOrigin}/${options.tenantId}/v2.0`;
  const log: ManagedIdentityRequest[] = [];

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const resource = url.searchParams.get('resource') ?? undefined;
    const clientId = url.searchParams.get('client_id') ?? undefined;
    const answer = (status: number, body: unknown): void => {
      log.push({ at: new Date().toISOString(), resource, clientId, status });
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    // Error bodies: App Service answers `{statusCode, message, correlationId}`; the messages are the emulator's.
    const error = (status: number, message: string) =>
      answer(status, { statusCode: status, message, correlationId: randomUUID() });

    if (req.method !== 'GET' || url.pathname !== '/msi/token')
      return error(404, `No route for ${req.method} ${url.pathname}`);
    if (req.headers['x-identity-header'] !== secret)
      return error(401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.');
    if (url.searchParams.get('api-version') !== APP_SERVICE_API_VERSION)
      return error(400, `api-version must be ${APP_SERVICE_API_VERSION}.`);
    if (!resource) return error(400, "Required query parameter 'resource' is missing.");
    const principalId = url.searchParams.get('principal_id') ?? url.searchParams.get('object_id');
    if (
      (clientId && clientId.toLowerCase() !== options.clientId) ||
      (principalId && principalId.toLowerCase() !== options.principalId)
    ) {
      return error(
        400,
        'No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.',
      );
    }
    if (url.searchParams.has('mi_res_id'))
      return error(400, 'mi_res_id is not supported by this emulator; use client_id.');

    const iat = Math.floor(Date.now() / 1000);
    const token = options.signer.mint({
      // `https://communication.azure.com/` → `https://communication.azure.com`, as the authority does.
      aud: resource.replace(/\/$/, ''),
      iss: issuer,
      tid: options.tenantId,
      appid: options.clientId,
      sub: options.principalId,
      oid: options.principalId,
      roles: resource.startsWith('api://') ? [] : options.roles(),
      iat,
      exp: iat + lifetime,
    });
    answer(200, {
      access_token: token,
      expires_on: String(iat + lifetime),
      resource,
      token_type: 'Bearer',
      client_id: options.clientId,
    });
  };

  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}/msi/token`;
  return {
    endpoint,
    header: secret,
    tenantId: options.tenantId,
    clientId: options.clientId,
    principalId: options.principalId,
    issuer,
    env: { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: secret },
    requests: () => log.map((entry) => ({ ...entry })),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
