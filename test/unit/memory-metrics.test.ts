import { describe, expect, it } from 'vitest';
import { memoryMetrics, type MemorySource } from '../../lib/cycle/metrics';

const GIB = 1024 ** 3;
const source = (constrained: number | undefined, total = 24 * GIB): MemorySource => ({
  maxRssKiB: () => 215 * 1024 + 300,
  heapLimitBytes: () => 1048 * 1024 * 1024,
  constrainedBytes: () => constrained,
  totalBytes: () => total,
  nodeArguments: () => ['--heap-growing-percent=25'],
});

describe("the cycle's memory metrics (what an Azure instance gives the worker, seen from inside)", () => {
  it('reports the peak RSS, the heap limit and the memory limit Node sees', () => {
    expect(memoryMetrics(source(2 * GIB))).toEqual({
      peakRssMiB: 215,
      heapLimitMiB: 1048,
      memoryLimitMiB: 2048,
      nodeArguments: '--heap-growing-percent=25',
    });
  });

  it('reports no memory limit when Node sees none (0, undefined, or a cgroup limit past the machine)', () => {
    for (const none of [0, undefined, 2 ** 64, 32 * GIB]) {
      const metrics = memoryMetrics(source(none));
      expect(metrics).toEqual({ peakRssMiB: 215, heapLimitMiB: 1048, nodeArguments: '--heap-growing-percent=25' });
      expect('memoryLimitMiB' in metrics).toBe(false);
    }
  });

  it("reads this process's own figures by default", () => {
    const metrics = memoryMetrics();
    const peak = process.resourceUsage().maxRSS / 1024;
    expect(metrics.peakRssMiB).toBeGreaterThan(10);
    expect(metrics.peakRssMiB).toBeLessThanOrEqual(Math.round(peak) + 1);
    expect(metrics.heapLimitMiB).toBeGreaterThan(100);
    expect(metrics.nodeArguments).toBe(process.execArgv.join(' '));
  });
});
