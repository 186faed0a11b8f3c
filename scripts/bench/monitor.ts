/**
 * The monitor of one bench world, in a process of its own (its peak RSS is the monitor's alone):
 * runs the cycles `npm run bench` asks for, as the timer would (dependencies built from the
 * settings anew each cycle, credentials and tokens kept by the process), and prints one line
 * `result {json}` with each cycle's time and the Graph traffic the emulator saw.
 *   BENCH_RUN='{"mode":"in-process","logs":true,"cycles":["first","steady"],"graphEndpoint":"..."}' node --import tsx scripts/bench/monitor.ts
 */
import { cycleDepsFromSettings } from '../../lib/app';
import { loadSettings } from '../../lib/settings/settings';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import type { RequestLogEntry, TokenRequestRecord } from '../../emulators';

export interface RunSpec {
  mode: 'in-process' | 'fan-out';
  /** Read provisioning logs (the product's default); false: job status only. */
  logs: boolean;
  cycles: string[];
  graphEndpoint: string;
}

export interface CycleFigures {
  label: string;
  ms: number;
  tenantsChecked: number;
  tenantsUnreadable: number;
  jobsSeen: number;
  alertsFiring: number;
  emailsSent: number;
  errors: number;
  firstErrors: string[];
  /** HTTP calls to Graph (a $batch is one). */
  graphCalls: number;
  /** Those Graph answered (not with a 429): the round trips any poller needs. */
  roundTrips: number;
  /** Requests Graph counted ($batch members one by one). */
  graphRequests: number;
  /** Calls to /auditLogs/provisioning Graph answered (the reports limit; 429s not counted). */
  reportsCalls: number;
  /** The most calls Graph answered for one tenant (they depend on each other): the shortest chain of round trips. */
  longestChain: number;
  tokenRequests: number;
  /** 429s Graph's limits gave (identity units, reports). */
  throttled: { identity: number; reports: number };
}

/** Graph's rate windows (10 s), and a little more. */
const GRAPH_WINDOW_MS = 11_000;

async function control<T>(graph: string, path: string, method = 'GET'): Promise<T> {
  const response = await fetch(`${graph}/_emulator/${path}`, { method });
  if (!response.ok) throw new Error(`emulator control ${method} ${path}: ${response.status}`);
  return (await response.json()) as T;
}

function figures(
  label: string,
  ms: number,
  summary: Awaited<ReturnType<typeof runCycle>>,
  requests: RequestLogEntry[],
  tokens: TokenRequestRecord[],
  throttled: { identity: number; reports: number },
): CycleFigures {
  const top = requests.filter((r) => r.batchId === undefined);
  const perTenant = new Map<string, number>();
  for (const r of top)
    if (r.tenantId && r.status !== 429) perTenant.set(r.tenantId, (perTenant.get(r.tenantId) ?? 0) + 1);
  return {
    label,
    ms: Math.round(ms),
    tenantsChecked: summary.tenantsChecked,
    tenantsUnreadable: summary.tenantsUnreadable.length,
    jobsSeen: summary.jobsSeen,
    alertsFiring: summary.alertsFiring,
    emailsSent: summary.notificationsSent,
    errors: summary.errors.length,
    firstErrors: summary.errors.slice(0, 3),
    graphCalls: top.length,
    roundTrips: top.filter((r) => r.status !== 429).length,
    graphRequests: requests.filter((r) => !r.path.endsWith('/$batch')).length,
    reportsCalls: top.filter((r) => r.path.endsWith('/auditLogs/provisioning') && r.status !== 429).length,
    longestChain: Math.max(0, ...perTenant.values()),
    tokenRequests: tokens.filter((t) => t.status === 200).length,
    throttled,
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_RUN ?? '{}') as RunSpec;
  const settings = loadSettings(process.env);
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const results: CycleFigures[] = [];
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
  for (const [i, label] of spec.cycles.entries()) {
    // A timer's cycles are minutes apart, so Graph's 10-second windows are empty when one begins;
    // back to back, the reports limit would still count the previous cycle's reads.
    if (i > 0) await new Promise((r) => setTimeout(r, GRAPH_WINDOW_MS));
    await control(spec.graphEndpoint, 'requests', 'DELETE');
    // As a timer invocation: the dependencies from the settings, anew (credentials are kept by the process).
    const deps: CycleDeps = cycleDepsFromSettings(settings, process.env, quiet, undefined, {
      fanOut: spec.mode === 'fan-out',
    });
    if (!spec.logs) deps.logs = undefined;
    if (spec.mode === 'fan-out' && !deps.fanOut)
      throw new Error('fan-out asked for, but the settings do not fan out (WATCH_FANOUT_TENANTS, a queue endpoint)');
    const started = performance.now();
    const summary = await runCycle(deps);
    const ms = performance.now() - started;
    const [requests, tokens, limits] = await Promise.all([
      control<RequestLogEntry[]>(spec.graphEndpoint, 'requests'),
      control<TokenRequestRecord[]>(spec.graphEndpoint, 'tokens'),
      control<{ throttled: { identity: number; reports: number } }>(spec.graphEndpoint, 'limits'),
    ]);
    results.push(figures(label, ms, summary, requests, tokens, limits.throttled));
  }
  clearInterval(sampler);
  const peakRssMiB = Math.round((process.resourceUsage().maxRSS * 1024) / 1048576);
  console.log(`result ${JSON.stringify({ cycles: results, peakRssMiB, peakHeapMiB: Math.round(peakHeap / 1048576) })}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
