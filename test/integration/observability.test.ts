import { getHeapStatistics } from 'node:v8';
import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watch } from '../../functions/watch';
import { CYCLE_METRICS_EVENT, type CycleMetrics } from '../../lib/cycle/metrics';
import { DEMO_SCENARIO, ownStorage, startWorld, type World } from '../support/world';

/**
 * What the timer function leaves in Application Insights: structured lines with the tenant they
 * are about, and one `cycle-metrics` trace per cycle whose numbers match what happened.
 */
let world: World;
const saved = { ...process.env };
beforeAll(async () => {
  world = await startWorld(DEMO_SCENARIO, { AzureWebJobsStorage: ownStorage('observability') });
});
afterAll(async () => {
  process.env = saved;
  await world.stop();
});

const timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

async function invoke(): Promise<{ lines: string[]; metrics: CycleMetrics; failed?: Error }> {
  const lines: string[] = [];
  const context = new InvocationContext({
    functionName: 'watch',
    logHandler: (level, ...args) => lines.push(`${level}: ${args.join(' ')}`),
  });
  let failed: Error | undefined;
  await watch(timer, context).catch((error: Error) => (failed = error));
  const line = lines.find((l) => l.startsWith(`information: ${CYCLE_METRICS_EVENT} `));
  if (!line) throw new Error(`no ${CYCLE_METRICS_EVENT} line in:\n${lines.join('\n')}`);
  return {
    lines,
    metrics: JSON.parse(line.slice(`information: ${CYCLE_METRICS_EVENT} `.length)) as CycleMetrics,
    failed,
  };
}

describe('the watch function as Application Insights sees it', () => {
  it('writes one cycle-metrics trace per cycle, counting Graph requests and throttles', async () => {
    Object.assign(process.env, world.env, { AzureWebJobsStorage: world.env.AzureWebJobsStorage });
    world.cloud.control.reset();
    const first = await invoke();
    expect(first.failed).toBeUndefined();
    const graphLog = world.cloud.control.requestLog();
    expect(first.metrics).toMatchObject({ tenantsChecked: 2, tenantsUnreadable: 0, errors: 0, graphThrottled: 0 });
    // Requests: the list calls and every $batch member; calls: what went over HTTP ($batch is one).
    expect(first.metrics.graphRequests).toBe(graphLog.filter((r) => !r.path.endsWith('/$batch')).length);
    expect(first.metrics.graphCalls).toBe(graphLog.filter((r) => !r.batchId).length);
    expect(first.metrics.durationMs).toBeGreaterThanOrEqual(0);
    // The worker's memory as the instance gives it: the peak so far, and V8's heap limit as Node sized it.
    expect(first.metrics.peakRssMiB).toBeGreaterThan(0);
    expect(first.metrics.peakRssMiB).toBeLessThanOrEqual(Math.ceil(process.resourceUsage().maxRSS / 1024));
    expect(first.metrics.heapLimitMiB).toBe(Math.round(getHeapStatistics().heap_size_limit / 2 ** 20));

    // One member of a $batch is throttled with Retry-After 0: the cycle retries it and counts the 429.
    world.cloud.control.clearLogs();
    world.cloud.control.injectFault({
      status: 429,
      retryAfterSeconds: 0,
      times: 1,
      inBatch: true,
      pathIncludes: 'synchronization/jobs',
    });
    const throttled = await invoke();
    expect(throttled.metrics.graphThrottled).toBe(1);
    expect(throttled.metrics.errors).toBe(0);
  });

  it('says which tenant a problem is about, in a field Application Insights can query', async () => {
    const northwind = world.cloud.tenants[1] as string;
    world.cloud.control.setConsented(northwind, false);
    const { lines, metrics, failed } = await invoke();
    expect(failed?.message).toMatch(/cycle incomplete/);
    expect(metrics).toMatchObject({ tenantsUnreadable: 1, errors: 1 }); // the metrics are written before the invocation fails
    const line = lines.find((l) => l.startsWith('error: ') && l.includes('cannot monitor'));
    expect(line).toBeDefined();
    expect(JSON.parse(/(\{[^{}]*\})$/.exec(line as string)?.[1] ?? '{}')).toEqual({ tenantId: northwind });
  });
});
