import { describe, expect, it } from 'vitest';
import type { BatchRequest, GraphReader } from '../../lib/clients/graph';
import { GRAPH_APP_UNITS, GRAPH_TENANT_UNITS, pacedGraph, UnitWindow } from '../../lib/observe/pacing';

/** Graph's resource units, kept by the reader before Graph has to refuse (lib/observe/pacing.ts). */

function recorder() {
  const calls: { at: number; what: string }[] = [];
  const started = performance.now();
  const reader: GraphReader = {
    get: async (path) => {
      calls.push({ at: performance.now() - started, what: path });
      return { value: [] };
    },
    batch: async (requests) => {
      calls.push({ at: performance.now() - started, what: `batch of ${requests.length}` });
      return requests.map((r) => ({ id: r.id, status: 200, headers: {}, body: {} }));
    },
  };
  return { calls, reader };
}

const requests = (n: number, url = '/servicePrincipals/x/synchronization/jobs'): BatchRequest[] =>
  Array.from({ length: n }, (_, i) => ({ id: String(i + 1), method: 'GET', url }));

describe("pacing within Graph's resource units", () => {
  it("keeps Graph's figures with room to spare", () => {
    expect(GRAPH_TENANT_UNITS.requests / (GRAPH_TENANT_UNITS.windowMs / 1000)).toBeLessThan(3500 / 10);
    expect(GRAPH_APP_UNITS.requests / (GRAPH_APP_UNITS.windowMs / 1000)).toBeLessThan(150_000 / 20);
  });

  it('counts every request of a $batch, and makes what does not fit wait until the window has room', async () => {
    const { calls, reader } = recorder();
    const paced = pacedGraph(reader, [new UnitWindow(10, 300)]);
    await paced.batch(requests(6));
    await paced.batch(requests(4));
    await paced.batch(requests(5)); // 15 units: waits until the first 6 leave the window
    await paced.get('/servicePrincipals?$top=999');
    expect(calls.map((c) => c.what)).toEqual(['batch of 6', 'batch of 4', 'batch of 5', '/servicePrincipals?$top=999']);
    expect(calls[1]!.at).toBeLessThan(100);
    expect(calls[2]!.at).toBeGreaterThanOrEqual(290);
  });

  it('leaves the reports endpoints to their own limits', async () => {
    const { calls, reader } = recorder();
    const paced = pacedGraph(reader, [new UnitWindow(1, 10_000)]);
    await paced.get('/servicePrincipals/x/synchronization/jobs');
    await paced.get('https://graph.example/v1.0/auditLogs/provisioning?$top=500');
    await paced.batch(requests(3, '/auditLogs/provisioning?$top=1'));
    expect(calls).toHaveLength(3);
  });

  it('serves waiters in order, lets a request larger than the limit through an empty window, and gives up when its signal fires', async () => {
    const window = new UnitWindow(3, 250);
    const order: number[] = [];
    await Promise.all([
      window.take(2).then(() => order.push(1)),
      window.take(2).then(() => order.push(2)),
      window.take(1).then(() => order.push(3)),
    ]);
    expect(order).toEqual([1, 2, 3]);
    const big = new UnitWindow(3, 250);
    await big.take(20); // a 20-request batch against a limit of 3 is not stuck forever
    await expect(big.take(1, AbortSignal.timeout(50))).rejects.toThrow();
  });
});
