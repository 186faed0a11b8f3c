import { readBody, sendJson, startHttpsServer } from './http';
import type { TlsMaterial } from './tls';

interface Ping {
  at: string;
  method: string;
  body: string;
}

export interface HeartbeatReceiver {
  /** `https://127.0.0.1:P/ping/<id>`: what a heartbeat config points at. */
  url: string;
  pings(): Ping[];
  /** The next `times` pings are answered with `status` (e.g. 503). */
  failNext(status: number, times: number): void;
  stop(): Promise<void>;
}

/**
 * A stand-in for a dead man's switch service (Healthchecks.io and the like): it records each ping
 * and answers 200, or an error on demand, so tests and the demo can see the heartbeat arrive.
 */
export async function startHeartbeatReceiver(tls: TlsMaterial): Promise<HeartbeatReceiver> {
  const pings: Ping[] = [];
  let failing: { status: number; times: number } | undefined;
  const server = await startHttpsServer(tls, async (req, res) => {
    const body = await readBody(req);
    if (!req.url?.startsWith('/ping/')) return sendJson(res, 404, { error: 'not found' });
    if (failing && failing.times > 0) {
      failing.times--;
      return sendJson(res, failing.status, { error: 'failing on demand' });
    }
    pings.push({ at: new Date().toISOString(), method: req.method ?? 'GET', body });
    sendJson(res, 200, { ok: true });
  });
  return {
    url: `${server.origin}/ping/entra-sync-watch`,
    pings: () => [...pings],
    failNext: (status, times) => {
      failing = { status, times };
    },
    stop: () => server.close(),
  };
}
