import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TlsMaterial } from './tls';

/** Small HTTPS helpers shared by the emulators of the local private cloud (Entra, Graph, ACS). */

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RunningServer {
  /** `https://127.0.0.1:<port>`, no trailing slash. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Starts an HTTPS server on 127.0.0.1 with an ephemeral port. A handler that throws (or rejects)
 * gets a plain 500 instead of a hung request. `close()` also drops keep-alive connections, so a
 * test run does not wait for idle sockets.
 */
export async function startHttpsServer(tls: TlsMaterial, handler: RequestHandler): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((error: unknown) => {
        console.error('[emulator] handler failed:', error);
        if (!res.headersSent) sendJson(res, 500, { error: { code: 'InternalServerError', message: String(error) } });
        else res.end();
      });
  });
  // Azure's front ends keep an idle connection about four minutes (Node's default is 5 s). With 5 s,
  // a client that reuses a pooled socket just as the server drops it gets "socket hang up": under
  // load, between cycles some seconds apart, a send failed that way for no fault of the service.
  server.keepAliveTimeout = 240_000;
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections?.();
      }),
  };
}

/** Reads the whole request body as UTF-8 text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends `body` as JSON with the given status and extra headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json; charset=utf-8',
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends an empty response (e.g. 204). */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Length': 0 });
  res.end();
}

/** A request id as Microsoft services send it (a GUID). */
export function newRequestId(): string {
  return randomUUID();
}

/** A header value as one string (the first one if repeated). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `2026-11-27T03:14:07.1234567Z`: the 7-fractional-digit form Microsoft services use for
 * DateTimeOffset values (the extra digits are zero-padded milliseconds).
 */
export function msTimestamp(date: Date | number): string {
  const iso = new Date(date).toISOString(); // 2026-11-27T03:14:07.123Z
  return `${iso.slice(0, 23)}0000Z`;
}
