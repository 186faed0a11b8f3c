/**
 * The monitor of one bench world, in a process of its own (its peak RSS is the monitor's alone):
 * runs the cycles `npm run bench` asks for, as the timer would (dependencies built from the
 * settings anew each cycle, credentials and tokens kept by the process), and prints one line
 * `result {json}` with each cycle's time and the Graph traffic the emulator saw.
 *   BENCH_RUN='{"mode":"in-process","logs":true,"cycles":["first","steady"],"graphEndpoint":"..."}' node --import tsx scripts/bench/monitor.ts
 *
 * Where the memory goes (set on `npm run bench`, they reach every monitor it starts; docs/scale.md):
 *   BENCH_LIVE=1            a full GC every second: the peak of what is live, beside the peak RSS (`live` in each cycle's peaks)
 *   BENCH_TRACE_GC=<prefix> V8's --trace-gc, each child's output in <prefix>.<pid>.log (when the heap is collected, and what is left);
 *                           with BENCH_TRACE_GC_VERBOSE=1 also --trace-gc-verbose (the growing factor V8 chose, and why)
 *   BENCH_SNAPSHOT=<prefix> a heap snapshot when the steady cycle sends its first message
 *   BENCH_ALLOCATIONS=<prefix> where the garbage is allocated (a sampling heap profile of each cycle)
 *   BENCH_CPU=<prefix>      where the first cycle's time goes until its first email (a CPU profile, <prefix>.<pid>.cpuprofile)
 *   BENCH_STORAGE_CALLS=1   the Table Storage (and other HTTP) calls of each cycle, by method and table, on stderr
 *   BENCH_SMAPS=1           at each cycle's peak RSS, its file-backed and anonymous parts and V8's heap then (`atPeak*` in its peaks)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { getHeapStatistics } from 'node:v8';
import { cycleDepsFromSettings } from '../../lib/app';
import { loadSettings } from '../../lib/settings/settings';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import { mapLimit } from '../../lib/util/map-limit';
import type { LogState } from '../../lib/model/provisioning';
import type { RequestLogEntry, TokenRequestRecord } from '../../emulators';
import { benchJobId, benchTenantId, JOBS_PER_TENANT, troubledTenants } from './world';
import { MAX_HOURS, MAX_RUNS, MAX_WEEKS } from '../../lib/evaluate/history';
import { marksOf, type JobHistory } from '../../lib/model/history';

export interface RunSpec {
  mode: 'in-process' | 'fan-out';
  /** Read provisioning logs (the product's default); false: job status only. */
  logs: boolean;
  cycles: string[];
  graphEndpoint: string;
  /**
   * The rotation of the cycles after the first (provisioningLogs.rotation, written to WATCH_CONFIG):
   * `per-gap`, 12 times the time between the first two cycles' starts, so the share of tenants due
   * equals what the default rotation (1 h) gives on the default schedule (5 min). Absent: the
   * default (1 h).
   */
  rotation?: 'per-gap';
  /**
   * Before the second cycle: every tenant not in trouble is made to look read at the first cycle's
   * start (its stored log watermark set to it; a tenant never read gets an empty state), as in the
   * steady state every tenant's logs were read on its turn, within the last cycle. Without it, the
   * first cycle's reads spread over that cycle leave fewer tenants due than the rotation's share;
   * and at 10,000 tenants the first pass over everyone's logs takes several cycles (the reports
   * limit), so a steady cycle could not be measured at all. The seed and the new rotation move
   * every tenant's coverage (when its logs were read, when next), so that cycle writes them all: a
   * third cycle (`['first', 'settle', 'steady']`) starts from what the second left, as a real
   * steady cycle does.
   */
  seedReadAt?: boolean;
  /** Before the steady cycle, a healthy job of a tenant not in trouble is quarantined: its email's time is the steady cycle's first email. */
  newQuarantine?: { tenantId: string; jobId: string };
  /** provisioningLogs.everyCycleUpTo in the config (absent: the default, 100). */
  everyCycleUpTo?: number;
  /**
   * Before the first cycle, every job is given the history a week of watching leaves (MAX_RUNS
   * runs, a week of hours, four weeks by hour of the week), as in a deployment past its first
   * week: without it the histories the cycle loads and holds are a few runs long.
   */
  matureHistories?: boolean;
  /**
   * Before the steady cycle, one healthy job in eight ends a new run (its state set again: the
   * emulator starts its runs anew), as on the default schedule a job running every 40 minutes ends
   * a run in one 5-minute cycle of eight: the histories that have something to add are read.
   */
  newRuns?: boolean;
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
  /** From the cycle's start to the first message sent (deps.probe 'sent'); absent when none was. */
  firstSentMs?: number;
  /** provisioningLogs.rotation in force (ms). */
  rotationMs: number;
  /** Tenants whose provisioning logs were read (a call answered): those the world put in trouble, and the others (their turn in the rotation, or never read before). */
  logReads: { troubled: number; rotation: number };
  /** The peaks of process.memoryUsage() during this cycle (MiB, sampled every 50 ms). */
  peaks?: Record<string, number>;
  /** CPU time the monitor's process used in the cycle (user and system, ms; the garbage collector's threads included). */
  cpuMs?: number;
}

/** Graph's rate windows (10 s), and a little more. */
const GRAPH_WINDOW_MS = 11_000;

async function control<T>(graph: string, path: string, method = 'GET', body?: unknown): Promise<T> {
  const response = await fetch(`${graph}/_emulator/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
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
  extra: Pick<CycleFigures, 'firstSentMs' | 'rotationMs'> & { troubled: Set<string> },
): CycleFigures {
  const top = requests.filter((r) => r.batchId === undefined);
  const perTenant = new Map<string, number>();
  for (const r of top)
    if (r.tenantId && r.status !== 429) perTenant.set(r.tenantId, (perTenant.get(r.tenantId) ?? 0) + 1);
  const logTenants = new Set(
    top
      .filter((r) => r.path.endsWith('/auditLogs/provisioning') && r.status !== 429 && r.tenantId)
      .map((r) => r.tenantId!.toLowerCase()),
  );
  const troubledRead = [...logTenants].filter((t) => extra.troubled.has(t)).length;
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
    ...(extra.firstSentMs !== undefined ? { firstSentMs: Math.round(extra.firstSentMs) } : {}),
    rotationMs: extra.rotationMs,
    logReads: { troubled: troubledRead, rotation: logTenants.size - troubledRead },
  };
}

/**
 * The cycle's figures with the Graph traffic the emulator logged. Its own function: the request
 * log (thousands of entries) is garbage once the figures are made, instead of a local of main()'s
 * loop that the next cycle's heap would still hold.
 */
async function trafficFigures(
  graph: string,
  label: string,
  ms: number,
  summary: Awaited<ReturnType<typeof runCycle>>,
  extra: Parameters<typeof figures>[6],
): Promise<CycleFigures> {
  const [requests, tokens, limits] = await Promise.all([
    control<RequestLogEntry[]>(graph, 'requests'),
    control<TokenRequestRecord[]>(graph, 'tokens'),
    control<{ throttled: { identity: number; reports: number } }>(graph, 'limits'),
  ]);
  return figures(label, ms, summary, requests, tokens, limits.throttled, extra);
}

/** provisioningLogs.rotation of the bench's config (whole seconds, as the config's durations are). */
function writeRotation(path: string, ms: number, everyCycleUpTo: number | undefined): number {
  const secs = Math.max(1, Math.round(ms / 1000));
  writeFileSync(path, JSON.stringify({ provisioningLogs: { rotation: `${secs}s`, everyCycleUpTo } }));
  return secs * 1000;
}

/** spec.seedReadAt: every tenant not in trouble looks read once, at `at` (its stored watermark). */
async function seedReadAt(deps: CycleDeps, troubled: Set<string>, at: number): Promise<void> {
  const store = deps.logs?.store;
  if (!store) throw new Error('seedReadAt: the monitor reads no provisioning logs');
  const tenants = deps.targets.map((t) => t.tenantId.toLowerCase()).filter((t) => !troubled.has(t));
  await mapLimit(tenants, 32, async (tenant) => {
    const stored = await store.load(tenant);
    const state: LogState = stored
      ? { ...stored.state, watermark: at, backlog: false }
      : {
          version: 1,
          source: 'graph',
          watermark: at,
          backlog: false,
          seen: [],
          digest: { jobs: {} },
          activity: {},
          seenSince: at,
        };
    await store.save(tenant, state, stored?.etag);
  });
}

/**
 * BENCH_ALLOCATIONS=<prefix>: V8's sampling heap profile of one cycle, the objects collected since
 * included, written to <prefix>.<pid>.<cycle label>.heapprofile (open it in Chrome DevTools' Memory
 * tab): where the garbage behind the cycle's peak RSS is allocated. The profiler slows the monitor:
 * its times are not the bench's.
 */
async function profileAllocations(label: string): Promise<(() => Promise<void>) | undefined> {
  const file = process.env.BENCH_ALLOCATIONS;
  if (!file) return undefined;
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 64 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(`${file}.${process.pid}.${label}.heapprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

/**
 * BENCH_CPU=<prefix>: V8's CPU profile of the first cycle from its start to its first email, or its
 * end if it sends none (a fresh process's cycle: what keeps its first email from coming sooner),
 * written to <prefix>.<pid>.cpuprofile.
 */
async function profileFirstEmail(): Promise<{ stop: () => Promise<void> } | undefined> {
  const file = process.env.BENCH_CPU;
  if (!file) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  let stopped = false;
  return {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(`${file}.${process.pid}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/**
 * BENCH_SMAPS=1: the RSS at its peak split as the kernel counts it (/proc/self/smaps_rollup):
 * file-backed pages (the node binary's code and data, ICU) and anonymous memory, of which V8's heap
 * is `heapTotal`; the rest is Node's and the libraries' own (sockets, TLS, buffers, the allocator).
 */
function rssParts(m: Record<string, number>): Record<string, number> {
  const text = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  const mib = (k: number) => Math.round(k / 1024);
  return {
    atPeakFile: mib(kib('Rss') - kib('Anonymous')),
    atPeakAnon: mib(kib('Anonymous')),
    atPeakHeapTotal: Math.round(m.heapTotal! / 1048576),
    atPeakArrayBuffers: Math.round(m.arrayBuffers! / 1048576),
  };
}

/** The history a week of watching leaves a job with: full, as lib/evaluate/history.ts bounds it. */
function weekOfHistory(now: number, seed: number): JobHistory {
  const hour = Math.floor(now / 3600_000);
  const runs = Array.from({ length: MAX_RUNS }, (_, i) => ({
    at: now - (MAX_RUNS - i) * 40 * 60_000 - 3600_000,
    escrowed: (seed + i) % 5,
    escrowedRaw: (seed + i) % 7,
    entitled: 1000 + seed,
    completeFailures: 0,
    pruned: false,
  }));
  const hours = Array.from({ length: MAX_HOURS }, (_, i): [number, number] => [hour - MAX_HOURS + i, (seed * i) % 13]);
  const byHourOfWeek: Record<string, number[]> = {};
  for (let h = 0; h < 168; h++)
    byHourOfWeek[String(h)] = Array.from({ length: MAX_WEEKS }, (_, w) => (seed + h + w) % 11);
  return { version: 1, runs, profile: { hours, byHourOfWeek, since: now - 28 * 24 * 3600_000 } };
}

/** spec.newRuns: one healthy job in eight (of tenants not in trouble, bar the one quarantined) ends a new run. */
async function endNewRuns(graph: string, tenants: number, troubled: Set<string>, skip?: string): Promise<void> {
  const jobs: [string, string][] = [];
  for (let i = 0; i < tenants; i++)
    for (let k = 0; k < JOBS_PER_TENANT; k++)
      if ((i * JOBS_PER_TENANT + k) % 8 === 0 && !troubled.has(benchTenantId(i).toLowerCase()))
        jobs.push([benchTenantId(i), benchJobId(i, k)]);
  await mapLimit(
    jobs.filter(([, job]) => job !== skip),
    16,
    ([tenant, job]) => control(graph, `jobs/${tenant}/${encodeURIComponent(job)}`, 'PUT', {}),
  );
}

/** spec.matureHistories: every job of every tenant gets a week's history (lib/store/history-store.ts). */
async function seedHistories(deps: CycleDeps): Promise<void> {
  const store = deps.histories;
  if (!store) throw new Error('matureHistories: the monitor keeps no job histories');
  const now = Date.now();
  const indices = deps.targets.map((_, i) => i);
  await mapLimit(indices, 32, async (i) => {
    const tenantId = benchTenantId(i);
    const week = new Map(
      Array.from({ length: JOBS_PER_TENANT }, (_, k) => [benchJobId(i, k), weekOfHistory(now, i + k)] as const),
    );
    await store.saveTenant(
      tenantId,
      [...week],
      new Map([...week].map(([jobId, history]) => [jobId, marksOf(history)])),
    );
  });
}

/**
 * A request's shape for BENCH_STORAGE_CALLS: its table, whether it names a row (a point read or
 * write) or queries, and the partition's prefix (`history_`, `coverage`...), without the tenant.
 */
function storageCallShape(path: string): string {
  const [pathname, query = ''] = path.split('?');
  const decoded = decodeURIComponent(query + ' ' + pathname!);
  const partition = /PartitionKey(?:%20| |=)(?:eq )?'([a-z]+[_/]?)/i.exec(decoded)?.[1] ?? '';
  const kind = /\(PartitionKey=/.test(decoded) ? 'row' : /\(\)/.test(pathname!) ? 'query' : '';
  return `${pathname!.replace(/\(.*\)/, '(…)')} ${kind} ${partition}`.trim();
}

async function main(): Promise<void> {
  if (process.env.BENCH_TRACE_GC)
    (await import('node:v8')).setFlagsFromString(
      process.env.BENCH_TRACE_GC_VERBOSE ? '--trace-gc --trace-gc-verbose' : '--trace-gc',
    );
  const storageCalls = new Map<string, number>();
  if (process.env.BENCH_STORAGE_CALLS) {
    const builtin = (process as unknown as { getBuiltinModule(id: string): { request: unknown } }).getBuiltinModule;
    for (const mod of [builtin('node:https'), builtin('node:http')]) {
      const original = mod.request;
      (mod as { request: unknown }).request = (...args: unknown[]) => {
        const a = args[0] as { path?: string; method?: string } | string | URL;
        const path = typeof a === 'string' ? new URL(a).pathname : a instanceof URL ? a.pathname : (a.path ?? '');
        const method = typeof a === 'object' && !(a instanceof URL) ? (a.method ?? 'GET') : 'GET';
        const key = `${method} ${storageCallShape(path)}`;
        storageCalls.set(key, (storageCalls.get(key) ?? 0) + 1);
        return (original as (...x: unknown[]) => unknown)(...args);
      };
    }
  }
  const spec = JSON.parse(process.env.BENCH_RUN ?? '{}') as RunSpec;
  // 10,000 tenant IDs are longer than one environment variable may be (128 KiB on Linux): the bench passes them in a file.
  if (process.env.BENCH_TENANTS_FILE) process.env.WATCH_TENANTS = readFileSync(process.env.BENCH_TENANTS_FILE, 'utf8');
  const configPath = process.env.WATCH_CONFIG;
  if (!configPath) throw new Error('WATCH_CONFIG: the bench gives the monitor a config file of its own');
  let rotationMs = writeRotation(configPath, 3600_000, spec.everyCycleUpTo);
  const settings = loadSettings(process.env);
  const troubled = troubledTenants(settings.tenants.length);
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const results: CycleFigures[] = [];
  let peakHeap = 0;
  /** The peak of each figure of process.memoryUsage() (MiB): what the RSS is made of. */
  const peaks: Record<string, number> = {};
  /** The same, during the cycle running now. */
  let cyclePeaks: Record<string, number> = {};
  const sampler = setInterval(() => {
    const m = process.memoryUsage() as unknown as Record<string, number>;
    // Diagnostic (BENCH_SMAPS=1): at each new peak of the RSS, what it is made of (the kernel's count).
    if (process.env.BENCH_SMAPS && m.rss! / 1048576 > (cyclePeaks.rss ?? 0)) Object.assign(cyclePeaks, rssParts(m));
    peakHeap = Math.max(peakHeap, m.heapUsed!);
    for (const [k, v] of Object.entries(m)) {
      peaks[k] = Math.max(peaks[k] ?? 0, Math.round(v / 1048576));
      cyclePeaks[k] = Math.max(cyclePeaks[k] ?? 0, Math.round(v / 1048576));
    }
  }, 50);
  // Diagnostic (BENCH_LIVE=1): once a second, a full GC and the heap left: the peak of what is live.
  let livePeak = 0;
  if (process.env.BENCH_LIVE) {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    setInterval(() => {
      gc();
      livePeak = Math.max(livePeak, Math.round(process.memoryUsage().heapUsed / 1048576));
      cyclePeaks.live = Math.max(cyclePeaks.live ?? 0, Math.round(process.memoryUsage().heapUsed / 1048576));
    }, 1000).unref();
  }
  /** When the previous cycle started. */
  let lastReadAt: number | undefined;
  const depsNow = () => {
    // As a timer invocation: the dependencies from the settings, anew (credentials are kept by the process).
    const deps: CycleDeps = cycleDepsFromSettings(settings, process.env, quiet, undefined, {
      fanOut: spec.mode === 'fan-out',
    });
    if (!spec.logs) deps.logs = undefined;
    if (spec.mode === 'fan-out' && !deps.fanOut)
      throw new Error('fan-out asked for, but the settings do not fan out (WATCH_FANOUT_TENANTS, a queue endpoint)');
    return deps;
  };
  if (spec.matureHistories) await seedHistories(depsNow());
  for (const [i, label] of spec.cycles.entries()) {
    if (i === 1 && spec.seedReadAt && lastReadAt !== undefined) await seedReadAt(depsNow(), troubled, lastReadAt);
    // A timer's cycles are minutes apart, so Graph's 10-second windows are empty when one begins;
    // back to back, the reports limit would still count the previous cycle's reads.
    if (i > 0) await new Promise((r) => setTimeout(r, GRAPH_WINDOW_MS));
    await control(spec.graphEndpoint, 'requests', 'DELETE');
    if (i === 1 && spec.rotation === 'per-gap' && lastReadAt !== undefined)
      rotationMs = writeRotation(configPath, 12 * (Date.now() - lastReadAt), spec.everyCycleUpTo);
    if (label === 'steady' && spec.newRuns)
      await endNewRuns(spec.graphEndpoint, settings.tenants.length, troubled, spec.newQuarantine?.jobId);
    if (label === 'steady' && spec.newQuarantine)
      await control(
        spec.graphEndpoint,
        `jobs/${spec.newQuarantine.tenantId}/${encodeURIComponent(spec.newQuarantine.jobId)}`,
        'PUT',
        { state: 'quarantined', quarantine: { reason: 'EncounteredQuarantineException' } },
      );
    const deps = depsNow();
    let firstSentMs: number | undefined;
    const cpu = label === 'first' ? await profileFirstEmail() : undefined;
    const probe = deps.probe;
    deps.probe = async (point) => {
      if (point === 'sent' && firstSentMs === undefined) {
        firstSentMs = performance.now() - started;
        await cpu?.stop();
        if (process.env.BENCH_SNAPSHOT && label === 'steady')
          (await import('node:v8')).writeHeapSnapshot(`${process.env.BENCH_SNAPSHOT}.${process.pid}.heapsnapshot`);
      }
      await probe?.(point);
    };
    const stopProfiling = await profileAllocations(label);
    lastReadAt = Date.now();
    cyclePeaks = {};
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const summary = await runCycle(deps);
    const cpuUsed = process.cpuUsage(cpuBefore);
    await cpu?.stop(); // a cycle that sent nothing: profiled to its end
    await stopProfiling?.();
    const ms = performance.now() - started;
    const during = cyclePeaks;
    if (storageCalls.size) {
      console.error(label, JSON.stringify([...storageCalls].sort((a, b) => b[1] - a[1])));
      storageCalls.clear();
    }
    results.push({
      ...(await trafficFigures(spec.graphEndpoint, label, ms, summary, { firstSentMs, rotationMs, troubled })),
      peaks: during,
      cpuMs: Math.round((cpuUsed.user + cpuUsed.system) / 1000),
    });
  }
  clearInterval(sampler);
  const peakRssMiB = Math.round((process.resourceUsage().maxRSS * 1024) / 1048576);
  console.log(
    `result ${JSON.stringify({ cycles: results, peakRssMiB, peakHeapMiB: Math.round(peakHeap / 1048576), peaks, heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 1048576) })}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
