import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import type { BatchRequest, GraphReader } from '../clients/graph';
import type { CycleSummary } from '../model';

/**
 * Custom metrics of a cycle, written as one trace line per cycle (`cycle-metrics {json}`) through
 * the Functions host's own logging, which Application Insights already receives with Entra auth.
 * Chosen over OpenTelemetry (`@azure/monitor-opentelemetry`) because it needs no new dependency,
 * no second exporter beside the host's and no extra setting; KQL turns the lines into metrics
 * (infra/monitoring/cycle-metrics.kql) and the "no cycle finished" alert counts them
 * (infra/monitoring/no-cycle-finished.kql).
 */
export const CYCLE_METRICS_EVENT = 'cycle-metrics';

/** Graph traffic of one cycle, counted at the reader the cycle uses. */
export interface GraphCounters {
  /** HTTP calls to Graph (a `$batch` is one). */
  calls: number;
  /** Requests Graph answered, `$batch` members counted one by one (what Graph's throttling counts). */
  requests: number;
  /** 429 answers that reached the monitor: `$batch` members, and calls that stayed throttled after the client's retries. */
  throttled: number;
}

export function newGraphCounters(): GraphCounters {
  return { calls: 0, requests: 0, throttled: 0 };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Counts what a Graph reader sends and what comes back throttled. Retries inside the Graph client's
 * RetryHandler are not seen here: a call that succeeded after a retried 429 counts once, unthrottled.
 */
export function countingGraph(reader: GraphReader, counters: GraphCounters): GraphReader {
  return {
    async get(pathOrUrl: string) {
      counters.calls++;
      counters.requests++;
      try {
        return await reader.get(pathOrUrl);
      } catch (error) {
        if (statusOf(error) === 429) counters.throttled++;
        throw error;
      }
    },
    async batch(requests: BatchRequest[]) {
      counters.calls++;
      counters.requests += requests.length;
      try {
        const responses = await reader.batch(requests);
        counters.throttled += responses.filter((r) => r.status === 429).length;
        return responses;
      } catch (error) {
        if (statusOf(error) === 429) counters.throttled++;
        throw error;
      }
    },
  };
}

/** The metrics of one cycle (names are the KQL columns). */
export interface CycleMetrics {
  durationMs: number;
  tenantsChecked: number;
  tenantsUnreadable: number;
  jobsSeen: number;
  graphCalls: number;
  graphRequests: number;
  graphThrottled: number;
  alertsFiring: number;
  emailsSent: number;
  /** Posts to Teams and webhooks. */
  channelPostsSent: number;
  /** Messages (emails and channel posts) waiting for the next cycle. */
  emailsPending: number;
  errors: number;
  heartbeat: CycleSummary['heartbeat'];
  /** The worker process's peak resident memory since it started (MiB): what the instance's memory must hold. */
  peakRssMiB: number;
  /** V8's heap limit (MiB). Node sizes it from the memory it sees: 1,048 MiB in a 2,048 MB cgroup, over 4 GiB on a large machine. */
  heapLimitMiB: number;
  /** The memory limit Node sees for the process (a cgroup's, MiB); absent when it sees none (docs/operating.md#metrics). */
  memoryLimitMiB?: number;
  /**
   * The arguments Node was started with (process.execArgv): whether the deployment's
   * `languageWorkers__node__arguments` (lib/settings/worker-arguments.ts) reached the worker.
   */
  nodeArguments: string;
}

/** What the process's memory figures are read from (Node's own, by default; tests give their own). */
export interface MemorySource {
  maxRssKiB(): number;
  heapLimitBytes(): number;
  /** process.constrainedMemory(): 0, undefined or a number past the machine's memory when there is no limit. */
  constrainedBytes(): number | undefined;
  totalBytes(): number;
  nodeArguments(): readonly string[];
}

const NODE_MEMORY: MemorySource = {
  maxRssKiB: () => process.resourceUsage().maxRSS,
  heapLimitBytes: () => getHeapStatistics().heap_size_limit,
  constrainedBytes: () => process.constrainedMemory?.(),
  totalBytes: () => totalmem(),
  nodeArguments: () => process.execArgv,
};

const MIB = 1024 * 1024;

/**
 * The process's memory: its peak RSS, V8's heap limit and the limit Node sees, and the arguments
 * Node was started with. Whether an Azure instance's memory reaches Node as a limit, and whether
 * the host passes the worker its arguments, are not verified; these say it from the instance.
 */
export function memoryMetrics(
  source: MemorySource = NODE_MEMORY,
): Pick<CycleMetrics, 'peakRssMiB' | 'heapLimitMiB' | 'memoryLimitMiB' | 'nodeArguments'> {
  const constrained = source.constrainedBytes() ?? 0;
  const limited = constrained > 0 && constrained < source.totalBytes();
  return {
    peakRssMiB: Math.round(source.maxRssKiB() / 1024),
    heapLimitMiB: Math.round(source.heapLimitBytes() / MIB),
    ...(limited ? { memoryLimitMiB: Math.round(constrained / MIB) } : {}),
    nodeArguments: source.nodeArguments().join(' '),
  };
}

export function cycleMetrics(summary: CycleSummary, graph: GraphCounters, memory = memoryMetrics()): CycleMetrics {
  return {
    durationMs: summary.durationMs,
    tenantsChecked: summary.tenantsChecked,
    tenantsUnreadable: summary.tenantsUnreadable.length,
    jobsSeen: summary.jobsSeen,
    graphCalls: graph.calls,
    graphRequests: graph.requests,
    graphThrottled: graph.throttled,
    alertsFiring: summary.alertsFiring,
    emailsSent: summary.notificationsSent - (summary.postsSent ?? 0),
    channelPostsSent: summary.postsSent ?? 0,
    emailsPending: summary.notificationsPending,
    errors: summary.errors.length,
    heartbeat: summary.heartbeat,
    ...memory,
  };
}

/** `cycle-metrics {"durationMs":412,...}`: one trace per finished cycle. */
export function metricsLine(metrics: CycleMetrics): string {
  return `${CYCLE_METRICS_EVENT} ${JSON.stringify(metrics)}`;
}
