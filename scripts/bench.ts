/**
 * `npm run bench` (second part): how a cycle scales to an MSP's 1,000 tenants, honestly. Each world
 * (1, 100 and 1,000 tenants, five jobs each, with provisioning logs) runs in a private cloud of its
 * own process that answers like Graph a network away (100 ms a round trip, tokens included) and
 * enforces Graph's documented limits (emulators/throttle.ts: resource units per tenant and per app,
 * the reports limit per tenant and across tenants, 429 with Retry-After). The monitor runs in a
 * process of its own too (its peak RSS is its own), against Azurite.
 *
 * For each world it prints, and writes to bench/results.json (committed, so a regression shows in
 * review): the first cycle (discovery sweep, alerts fire, emails go out) and a steady cycle, with
 * Graph calls and requests, token requests, 429s, peak RSS; the naive sequential poller doing the
 * same reads; the floor (the fastest any poller could be within Graph's limits at this latency);
 * at the largest world also job status alone. 5 % of each world's tenants are in trouble
 * (scripts/bench/world.ts), so their logs are read every cycle; the others' on the rotation, set
 * for the cycles after the first to 12 times the time between the first two cycles' starts (the
 * share of tenants the default rotation, 1 h, makes due on the default schedule, 5 min). Issue
 * 20's figures: the time from a fresh monitor's first cycle start to its first email, and the
 * steady cycle, beside main's before it. Then the fan-out world (--fanout-world, default 10,000
 * tenants, about 12 minutes; on 2 cores a few tenants may still not be read in time, see
 * docs/scale.md): the queue fan-out over worker processes, a first, a settle and a steady cycle,
 * the steady one against the default schedule's deadline and the rotation period it achieves. It
 * asserts nothing: figures on a shared machine are not a pass/fail signal. Not run by `npm test`.
 *
 * It ends with the cold start (scripts/bench/cold-start.ts).
 *
 *   node scripts/with-emulator-ca.mjs tsx scripts/bench.ts [--worlds 1,100,1000] [--latency 100] [--naive-sample 25]
 *     [--fanout-world 10000] [--fanout-jobs 5] [--fanout-every-cycle-up-to N|default] [--workers 4] [--no-fanout] [--no-cold-start] [--no-node-defaults] [--worker-args "<node arguments instead of the deployment's>"] [--out bench/results.json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, tmpdir, totalmem } from 'node:os';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { limitsFor } from '../lib/cycle/limits';
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { startAzurite, type Azurite } from '../emulators/azurite';
import { DEFAULT_CONCURRENCY } from '../lib/cycle/observe';
import { DEFAULT_FANOUT_BATCH } from '../lib/fanout/planner';
import { queueExtensionSettings } from '../emulators/queue-host';
import { measureColdStart, type ColdStart } from './bench/cold-start';
import { NODE_BUNDLE } from './bundle';
import type { CycleFigures, RunSpec } from './bench/monitor';
import { benchJobId, benchTenantId, healthyTenantFrom, JOBS_PER_TENANT } from './bench/world';
import { NODE_WORKER_ARGUMENTS } from '../lib/settings/worker-arguments';

const root = resolve(__dirname, '..');

interface Options {
  worlds: number[];
  latencyMs: number;
  naiveSample: number;
  workers: number;
  fanOut: boolean;
  fanOutWorld: number;
  fanOutJobs: number;
  /** provisioningLogs.everyCycleUpTo of the fan-out world (default: the product's, 100; below the fan-out world's size either way). */
  fanOutEveryCycleUpTo?: number;
  coldStart: boolean;
  /** The largest world's monitor is run again in a memory cgroup of this many MB (0: not). */
  instanceMemoryMB: number;
  /** The largest world's monitor is run again with Node's defaults, without the deployment's worker arguments. */
  nodeDefaults: boolean;
  /**
   * The Node arguments the monitors and the fan-out workers run with: the deployment's
   * (languageWorkers__node__arguments, lib/settings/worker-arguments.ts), as the Functions host
   * starts its worker, unless `--worker-args` gives others to try.
   */
  workerArgs: readonly string[];
  out: string;
}

function options(): Options {
  const args = process.argv.slice(2);
  const value = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  return {
    worlds: (value('--worlds') ?? '1,100,1000').split(',').map(Number),
    latencyMs: Number(value('--latency') ?? 100),
    naiveSample: Number(value('--naive-sample') ?? 25),
    workers: Number(value('--workers') ?? 4),
    fanOut: !args.includes('--no-fanout'),
    fanOutWorld: Number(value('--fanout-world') ?? 10_000),
    fanOutJobs: Number(value('--fanout-jobs') ?? JOBS_PER_TENANT),
    fanOutEveryCycleUpTo:
      (value('--fanout-every-cycle-up-to') ?? 'default') === 'default'
        ? undefined
        : Number(value('--fanout-every-cycle-up-to')),
    coldStart: !args.includes('--no-cold-start'),
    instanceMemoryMB: Number(value('--instance-memory') ?? 2048),
    nodeDefaults: !args.includes('--no-node-defaults'),
    workerArgs: value('--worker-args')?.split(' ').filter(Boolean) ?? NODE_WORKER_ARGUMENTS,
    out: resolve(root, value('--out') ?? 'bench/results.json'),
  };
}

// ---- child processes ------------------------------------------------------------------------------

const TSX = ['--import', 'tsx'];

/**
 * The monitor, the naive poller and the workers run as the deployment does: plain JavaScript,
 * bundled here with esbuild (a TypeScript loader would add its own compiler to their memory).
 * `@azure/functions-core` is the Functions host's own module, given to the worker at run time.
 */
const PROFILED = Boolean(process.env.BENCH_ALLOCATIONS || process.env.BENCH_SNAPSHOT || process.env.BENCH_CPU);
const BUNDLES = mkdtempSync(join(tmpdir(), 'esw-bench-js-'));
const bundled = (script: string) => join(BUNDLES, `${script.replace(/[/\\]/g, '_').replace(/\.ts$/, '')}.js`);

async function bundle(scripts: string[]): Promise<void> {
  await Promise.all(
    // Minified, as the deployment's bundle is (scripts/bundle.ts): V8 keeps a script's source in memory.
    // Not when a profile or snapshot is asked for: its functions and lines must be readable.
    scripts.map((script) =>
      build({ ...NODE_BUNDLE, minify: !PROFILED, entryPoints: [join(root, script)], outfile: bundled(script) }),
    ),
  );
}

/** Runs a bundled script to its end and returns the JSON of its `result {...}` line. */
function runScript<T>(
  script: string,
  env: NodeJS.ProcessEnv,
  { nodeArgs = [], cgroupProcs }: { nodeArgs?: readonly string[]; cgroupProcs?: string } = {},
): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const command = [process.execPath, ...nodeArgs, bundled(script)];
    // In a memory cgroup: the shell moves itself in, then becomes Node, which sizes its heap from the cgroup's limit.
    const [file, ...argv] = cgroupProcs
      ? ['/bin/sh', '-c', `echo $$ > '${cgroupProcs}' && exec "$0" "$@"`, ...command]
      : command;
    const child = spawn(file!, argv, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      if (process.env.BENCH_TRACE_GC) writeFileSync(`${process.env.BENCH_TRACE_GC}.${child.pid}.log`, `${out}\n${err}`);
      const line = out.split('\n').find((l) => l.startsWith('result '));
      if (code === 0 && line) resolvePromise(JSON.parse(line.slice('result '.length)) as T);
      else reject(new Error(`${script} exited with ${code}: ${err.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

interface CloudInfo {
  settings: Record<string, string>;
  graphEndpoint: string;
  authorityHost: string;
  tenants: string[];
}

/** Starts a world's private cloud in its own process and waits until it is ready. */
function startCloud(
  tenants: number,
  latencyMs: number,
  jobsPerTenant = JOBS_PER_TENANT,
): Promise<{ info: CloudInfo; child: ChildProcess }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [...TSX, join(root, 'scripts/bench/cloud.ts'), String(tenants), String(latencyMs), String(jobsPerTenant)],
      { env: process.env, stdio: ['ignore', 'pipe', 'inherit'], cwd: root },
    );
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      // Only a whole line: the settings of 1,000 tenants arrive in several chunks.
      const line = out
        .split('\n')
        .slice(0, -1)
        .find((l) => l.startsWith('ready '));
      if (line) resolvePromise({ info: JSON.parse(line.slice('ready '.length)) as CloudInfo, child });
    });
    child.on('exit', (code) => reject(new Error(`the private cloud exited with ${code}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
    child.once('exit', () => resolvePromise());
    child.kill('SIGTERM');
  });
}

/** Peak resident memory of a running process (Linux), in MiB. */
function peakRssOf(pid: number | undefined): number | undefined {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A memory cgroup of `mb` MiB for a process to run in, as a Flex Consumption instance gives its app
 * `instanceMemoryMB` (2,048 in the template): Node sizes V8's heap from it (process.constrainedMemory),
 * as it would there, if the instance's limit is a cgroup limit (not verified in Azure). Needs
 * root and cgroup v1's memory controller or cgroup v2; returns the cgroup's procs file, or throws why not.
 */
function memoryCgroup(mb: number): string {
  const bytes = String(mb * 1024 * 1024);
  const v1 = '/sys/fs/cgroup/memory';
  const dir = existsSync(v1) ? join(v1, `esw-bench-${mb}`) : join('/sys/fs/cgroup', `esw-bench-${mb}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, existsSync(v1) ? 'memory.limit_in_bytes' : 'memory.max'), bytes);
  return join(dir, 'cgroup.procs');
}

/** CPU time a running process has used so far (Linux: user and system, /proc/<pid>/stat), in seconds. */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    // The fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** How busy each process was over a stretch of wall time: CPU seconds per second (1 = one core all the time). */
function busyness(pids: Record<string, (number | undefined)[]>): () => Record<string, number> {
  const started = performance.now();
  const total = (list: (number | undefined)[]): number => list.reduce<number>((t, pid) => t + cpuSecondsOf(pid), 0);
  const before = Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, total(list)]));
  return () => {
    const wall = (performance.now() - started) / 1000;
    return Object.fromEntries(
      Object.entries(pids).map(([name, list]) => [
        name,
        Number(((total(list) - (before[name] ?? 0)) / wall).toFixed(2)),
      ]),
    );
  };
}

/**
 * The settings a world's processes get: the cloud's, with the tenant list in a file (10,000
 * tenant IDs are longer than one environment variable may be on Linux, 128 KiB) and a config
 * file of the run's own (the monitor writes provisioningLogs.rotation in it; the workers read it
 * at each invocation, as the deployed app reads WATCH_CONFIG).
 */
function worldEnv(info: CloudInfo, run: string): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), `esw-bench-${run}-`));
  const tenantsFile = join(dir, 'tenants.txt');
  writeFileSync(tenantsFile, info.settings.WATCH_TENANTS ?? '');
  const configFile = join(dir, 'watch-config.json');
  writeFileSync(configFile, '{}');
  const { WATCH_TENANTS: _, ...settings } = info.settings;
  return { ...process.env, ...settings, BENCH_TENANTS_FILE: tenantsFile, WATCH_CONFIG: configFile };
}

/** Starts worker processes running the queue-triggered function under the emulated queue host. */
async function startWorkers(
  n: number,
  env: NodeJS.ProcessEnv,
  jobsOnly: boolean,
  nodeArgs: readonly string[],
): Promise<ChildProcess[]> {
  const args = jobsOnly ? ['--jobs-only'] : [];
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ChildProcess>((resolvePromise, reject) => {
          const child = spawn(process.execPath, [...nodeArgs, bundled('scripts/bench/worker.ts'), ...args], {
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
            cwd: root,
          });
          child.stdout!.on('data', (c: Buffer) => {
            if (c.toString().includes('listening on')) resolvePromise(child);
          });
          child.stderr!.on('data', () => undefined);
          child.on('exit', (code) => reject(new Error(`a worker exited with ${code}`)));
        }),
    ),
  );
}

// ---- the floor ------------------------------------------------------------------------------------

/** Graph's reports limit across tenants (reference §5): 122 requests per 10 s per app. */
const REPORTS_PER_APP = { requests: 122, windowSeconds: 10 };

interface Floor {
  seconds: number;
  /** What sets it. */
  bound: string;
}

/**
 * The floor: the fastest these round trips could be made within Graph's documented limits at this
 * latency, with `inFlight` of them at once. Graph documents no cap on concurrent requests to these
 * endpoints, only rates, so the cap is the monitor's own (WATCH_CONCURRENCY tenants at once, a
 * tenant's calls one after another). It is the largest of: every round trip × latency ÷ inFlight;
 * the longest chain of round trips of one tenant (its calls depend on each other); and for the
 * reports limit, the log reads beyond what its window admits at once, at its rate. The identity
 * limits (3,500 per tenant and 150,000 per app a window) are far from binding here. A 429 and its
 * retry are not counted: a poller that kept to the limits would not have sent them.
 */
function floorOf(c: CycleFigures, latencyMs: number, inFlight: number): Floor {
  const tokenTrips = c.tokenRequests > 0 ? 2 : 0;
  const trips = c.roundTrips + c.tokenRequests;
  const bounds: Floor[] = [
    {
      seconds: ((c.longestChain + tokenTrips) * latencyMs) / 1000,
      bound: `one tenant's chain of ${c.longestChain + tokenTrips} round trips`,
    },
    {
      seconds: (trips * latencyMs) / 1000 / inFlight,
      bound: `${n(trips)} round trips x ${latencyMs} ms / ${inFlight} at once`,
    },
    {
      seconds:
        Math.max(0, c.reportsCalls - REPORTS_PER_APP.requests) /
          (REPORTS_PER_APP.requests / REPORTS_PER_APP.windowSeconds) +
        latencyMs / 1000,
      bound: `Graph's reports limit: ${n(c.reportsCalls)} provisioning-log reads at 122 per 10 s per app`,
    },
  ];
  return bounds.reduce((a, b) => (b.seconds > a.seconds ? b : a));
}

// ---- output ---------------------------------------------------------------------------------------

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const n = (x: number) => x.toLocaleString('en');

function cycleLine(c: CycleFigures, latencyMs: number, inFlight: number, peakRss?: number): string {
  const floor = floorOf(c, latencyMs, inFlight);
  const errors = c.errors > 0 ? `, ${c.errors} error(s): ${c.firstErrors.join(' | ')}` : '';
  return (
    `${s(c.ms)} (floor ${floor.seconds.toFixed(1)} s, ${(c.ms / 1000 / Math.max(floor.seconds, 0.001)).toFixed(2)}x; ${floor.bound}), ` +
    `${n(c.graphCalls)} Graph calls / ${n(c.graphRequests)} requests, ${n(c.tokenRequests)} token requests, ${c.throttled.identity + c.throttled.reports} throttled, ` +
    `${n(c.jobsSeen)} jobs, ${c.alertsFiring} alerts firing, ${c.emailsSent} email(s)${peakRss ? `, peak RSS ${peakRss} MiB` : ''}${errors}`
  );
}

interface MonitorResult {
  cycles: CycleFigures[];
  peakRssMiB: number;
  peakHeapMiB: number;
  /** V8's heap limit in the monitor's process (sized by Node from the memory it sees). */
  heapLimitMiB?: number;
}

interface NaiveResult {
  tenants: number;
  ms: number;
  requests: number;
  tokens: number;
  throttled: number;
}

// ---- the summary ---------------------------------------------------------------------------------

const steadyOf = (m: Measured) => ({
  cycle: m.cycles.find((c) => c.label === 'steady')!,
  floor: m.floors[m.cycles.findIndex((c) => c.label === 'steady')]!,
});

/** The table docs/scale.md shows, and the issue's targets checked against the largest world. */
function summarize(worlds: WorldResult[], o: Options): void {
  const rows: string[] = [];
  for (const w of worlds) {
    const kinds: [string, Measured | undefined][] = [
      ['provisioning logs', w.inProcess],
      ['job status only', w.jobsOnly],
    ];
    for (const [kind, m] of kinds) {
      if (!m) continue;
      const { cycle, floor } = steadyOf(m);
      const first = m.cycles.find((c) => c.label === 'first');
      const naive = w.naive
        ? `${s(w.naive.extrapolatedMs)}${w.naive.tenants < w.tenants ? '*' : ''} (${(w.naive.extrapolatedMs / cycle.ms).toFixed(0)}x slower)`
        : '';
      rows.push(
        `| ${n(w.tenants)} x ${w.jobsPerTenant}, ${kind} | ${s(cycle.ms)} | ${n(cycle.graphCalls)} / ${n(cycle.graphRequests)} | ${first ? n(first.tokenRequests) : '-'} / ${n(cycle.tokenRequests)} | ${m.peakRssMiB} MiB | ${naive} | ${floor.seconds.toFixed(1)} s (${(cycle.ms / 1000 / floor.seconds).toFixed(2)}x) |`,
      );
    }
  }
  console.log(
    `\nSummary (steady cycles, ${o.latencyMs} ms per Graph answer; * the naive poller measured on ${o.naiveSample} tenants and extrapolated):`,
  );
  console.log(
    '| World (tenants x jobs) | Cycle | Graph calls / requests | Token requests (first / steady) | Monitor peak RSS | Naive poller | Floor (cycle / floor) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  const largest = worlds.at(-1);
  if (!largest?.inProcess) return;
  console.log(
    `\nTargets at ${n(largest.tenants)} tenants (under 60 s, >= 10x the naive poller, <= 1.5x the floor, < 256 MiB):`,
  );
  for (const [kind, m] of [
    ['provisioning logs', largest.inProcess],
    ['job status only', largest.jobsOnly],
  ] as const) {
    if (!m) continue;
    const { cycle, floor } = steadyOf(m);
    const naiveMs = largest.naive?.extrapolatedMs ?? 0;
    const checks = [
      `${s(cycle.ms)} ${cycle.ms < 60_000 ? 'under' : 'NOT under'} 60 s${cycle.ms >= 60_000 && floor.seconds >= 60 ? ` (the floor itself is ${floor.seconds.toFixed(0)} s: ${floor.bound})` : ''}`,
      `${(naiveMs / cycle.ms).toFixed(1)}x the naive poller ${naiveMs / cycle.ms >= 10 ? 'ok' : 'MISSED'}`,
      `${(cycle.ms / 1000 / floor.seconds).toFixed(2)}x the floor ${cycle.ms / 1000 / floor.seconds <= 1.5 ? 'ok' : 'MISSED'}`,
      `${m.peakRssMiB} MiB ${m.peakRssMiB < 256 ? 'ok' : 'MISSED'}`,
    ];
    console.log(`  ${kind}: ${checks.join('; ')}`);
  }
}

// ---- the run --------------------------------------------------------------------------------------

interface Measured extends MonitorResult {
  inFlight: number;
  floors: Floor[];
}

interface WorldResult {
  tenants: number;
  jobsPerTenant: number;
  inProcess?: Measured;
  naive?: NaiveResult & { extrapolatedTo: number; extrapolatedMs: number; speedup: number };
  jobsOnly?: Measured & { naiveSpeedup: number };
  /** The same monitor run (logs, both cycles) in a memory cgroup of the instance's size; or why it was not measured. */
  inInstance?: (MonitorResult & { instanceMemoryMB: number }) | { instanceMemoryMB: number; notMeasured: string };
  /** The monitor's run with logs with Node's defaults, not the deployment's worker arguments. */
  nodeDefaults?: MonitorResult;
}

/** What the fan-out world measured, and what follows from it for the default schedule. */
interface FanOutResult extends Measured {
  tenants: number;
  jobsPerTenant: number;
  workers: number;
  workerPeakRssMiB: number[];
  /** The default schedule's (every 5 minutes) cycle deadline and observe share (lib/cycle/limits.ts). */
  deadlineMs: number;
  observeMs: number;
  /** Tenants not in trouble, read on the rotation (or the first time) per steady cycle, measured. */
  rotationReadsPerCycle: number;
  /** How long until every tenant not in trouble is read once, at that many a 5-minute cycle (computed). */
  rotationPeriodMinutes: number;
  /** The most provisioning-log reads one cycle's observe share admits at Graph's reports limit (computed). */
  reportsCapacityPerCycle: number;
  /** The shortest rotation the reports limit allows on the default schedule (computed). */
  shortestRotationMinutes: number;
  /** How long the first pass over every tenant's logs takes (a new deployment), at the first cycle's 'first' reads (computed). */
  firstPassMinutes: number;
  /**
   * Cores each process kept busy over the planner's run (all its cycles): what bound the cycle on this
   * machine (the emulated Graph, Azurite's table and queue services, the workers).
   */
  coresBusy?: Record<string, number>;
}

/** The default schedule (every 5 minutes) and its limits: the cycle's deadline, the observe share. */
const SCHEDULE_MS = 5 * 60_000;
const DEFAULT_LIMITS = limitsFor(SCHEDULE_MS);

/** Main's figures before issue 20 (bench/results.json of 2026-11-27, 1,000 x 5 at 100 ms): logs read every cycle. */
const BEFORE = {
  cycleWithLogsMs: 87_400,
  firstEmailMs: 89_000,
  jobsOnlyMs: 8_000,
  /** The 10,000-tenant fan-out's first email before the waves (bench/results.json of a0ba538, its first cycle). */
  fanOutFirstEmailMs: 154_500,
};

/**
 * A world's monitor run: a fresh process's first cycle, as a new user's `npm run cycle`, then a
 * steady one with its rotation set per gap; as a deployment past its first week, every job's
 * history is full (the run with job status only finds it too), and one job in eight ends a run
 * before the steady cycle.
 */
const WEEK_OLD_RUN: Omit<RunSpec, 'graphEndpoint'> = {
  mode: 'in-process',
  logs: true,
  cycles: ['first', 'steady'],
  rotation: 'per-gap',
  seedReadAt: true,
  matureHistories: true,
  newRuns: true,
};

async function world(tenants: number, o: Options, azurite: Azurite, largest: boolean): Promise<WorldResult> {
  const { info, child } = await startCloud(tenants, o.latencyMs);
  const result: WorldResult = { tenants, jobsPerTenant: JOBS_PER_TENANT };
  try {
    const run = (account: string, spec: Omit<RunSpec, 'graphEndpoint'>, how: MonitorProcess = {}) =>
      runScript<MonitorResult>(
        'scripts/bench/monitor.ts',
        {
          ...worldEnv(info, `${account}-${spec.logs ? 'logs' : 'jobs'}`),
          AzureWebJobsStorage: azurite.connectionStringFor(account),
          BENCH_RUN: JSON.stringify({ ...spec, graphEndpoint: info.graphEndpoint }),
        },
        { nodeArgs: how.nodeArgs ?? o.workerArgs, cgroupProcs: how.cgroupProcs },
      );
    // The week-old histories are written by a process of their own: the monitor measured is fresh,
    // its memory and its connections those of a new `npm run cycle`, not of the seeding.
    const monitor: Monitor = async (account, spec, how) => {
      if (spec.matureHistories)
        await run(account, { mode: 'in-process', logs: false, cycles: [], matureHistories: true });
      return run(account, { ...spec, matureHistories: false }, how);
    };
    const inFlight = Math.min(tenants, DEFAULT_CONCURRENCY);
    console.log(
      `\n${n(tenants)} tenant(s) x ${JOBS_PER_TENANT} jobs, provisioning logs, 5 % in trouble, ${o.latencyMs} ms per Graph answer (${inFlight} tenants at once):`,
    );

    const here = await monitor(`bench${tenants}`, {
      ...WEEK_OLD_RUN,
      // A job of the fourth tenant (never in trouble) is quarantined before the steady cycle.
      ...(tenants > 3 ? { newQuarantine: { tenantId: benchTenantId(3), jobId: benchJobId(3, 1) } } : {}),
    });
    for (const c of here.cycles)
      console.log(
        `  ${c.label === 'first' ? 'first cycle ' : 'steady cycle'}  ${cycleLine(c, o.latencyMs, inFlight, c.label === 'steady' ? here.peakRssMiB : undefined)}; ${logReadsLine(c, tenants)}`,
      );
    result.inProcess = { ...here, inFlight, floors: here.cycles.map((c) => floorOf(c, o.latencyMs, inFlight)) };

    const sample = info.tenants.slice(
      0,
      Math.min(tenants, o.naiveSample > 0 && tenants > o.naiveSample ? o.naiveSample : tenants),
    );
    const naive = await runScript<NaiveResult>('scripts/bench/naive.ts', {
      ...worldEnv(info, `naive${tenants}`),
      BENCH_NAIVE: JSON.stringify({
        tenants: sample,
        graphEndpoint: info.graphEndpoint,
        authorityHost: info.authorityHost,
        clientId: info.settings.AZURE_CLIENT_ID,
        clientSecret: info.settings.AZURE_CLIENT_SECRET,
      }),
    });
    // Sequential: its time grows with the tenants one for one, so a sample tells the whole.
    const scale = tenants / sample.length;
    const naiveMs = naive.ms * scale;
    const steady = here.cycles.find((c) => c.label === 'steady')!;
    console.log(
      `  naive poller  ${s(naiveMs)}${scale > 1 ? ` (measured on ${sample.length} of the tenants: ${s(naive.ms)}, times ${scale})` : ''}, ${n(Math.round(naive.requests * scale))} requests, ${n(Math.round(naive.tokens * scale))} token requests, ${naive.throttled} throttled: ` +
        `the steady cycle is ${(naiveMs / steady.ms).toFixed(1)}x faster (the poller reads every tenant's logs)`,
    );
    result.naive = {
      ...naive,
      extrapolatedTo: tenants,
      extrapolatedMs: Math.round(naiveMs),
      speedup: Number((naiveMs / steady.ms).toFixed(1)),
    };

    if (largest) {
      // A new process: a first cycle to get its tokens, then the steady one.
      const jobsOnly = await monitor(`bench${tenants}`, {
        mode: 'in-process',
        logs: false,
        cycles: ['warm-up', 'steady'],
        newRuns: true,
      });
      jobsOnly.cycles = jobsOnly.cycles.filter((c) => c.label === 'steady');
      console.log(
        `  job status only (no provisioning logs), steady  ${cycleLine(jobsOnly.cycles[0]!, o.latencyMs, inFlight, jobsOnly.peakRssMiB)}; the naive poller is ${(naiveMs / jobsOnly.cycles[0]!.ms).toFixed(1)}x slower`,
      );
      result.jobsOnly = {
        ...jobsOnly,
        inFlight,
        floors: jobsOnly.cycles.map((c) => floorOf(c, o.latencyMs, inFlight)),
        naiveSpeedup: Number((naiveMs / jobsOnly.cycles[0]!.ms).toFixed(1)),
      };
      if (o.instanceMemoryMB > 0) result.inInstance = await inInstance(tenants, o.instanceMemoryMB, monitor);
      if (o.nodeDefaults) result.nodeDefaults = await withNodeDefaults(tenants, monitor, o.workerArgs);
    }
  } finally {
    await stop(child);
  }
  return result;
}

/** How a monitor's process is started: in a memory cgroup, with other Node arguments than the deployment's. */
interface MonitorProcess {
  cgroupProcs?: string;
  nodeArgs?: readonly string[];
}

type Monitor = (account: string, spec: Omit<RunSpec, 'graphEndpoint'>, how?: MonitorProcess) => Promise<MonitorResult>;

/**
 * The monitor's run with logs again, with Node's defaults: what the deployment's worker arguments
 * (lib/settings/worker-arguments.ts) change, printed beside the figure as deployed.
 */
async function withNodeDefaults(
  tenants: number,
  monitor: Monitor,
  workerArgs: readonly string[],
): Promise<MonitorResult> {
  const run = await monitor(`bench${tenants}d`, WEEK_OLD_RUN, { nodeArgs: [] });
  console.log(
    `  with Node's defaults (without ${workerArgs.join(' ')}): ` +
      run.cycles.map((c) => `${c.label} cycle ${s(c.ms)}, peak RSS ${c.peaks?.rss} MiB`).join('; ') +
      `; the process's peak RSS ${run.peakRssMiB} MiB`,
  );
  return run;
}

/**
 * The monitor's run with logs again, in a memory cgroup of a Flex Consumption instance's size (its
 * own storage account, a fresh process): the peak RSS where V8 sizes its heap from the instance's
 * memory, as it does from the machine's otherwise. No heap limit is given (the deployment's worker
 * arguments are, as everywhere): `heapLimitMiB` is V8's own.
 */
async function inInstance(
  tenants: number,
  mb: number,
  monitor: Monitor,
): Promise<NonNullable<WorldResult['inInstance']>> {
  let procs: string;
  try {
    procs = memoryCgroup(mb);
  } catch (error) {
    const why = (error as Error).message.split('\n')[0]!;
    console.log(`  in a ${n(mb)} MB memory cgroup (a Flex Consumption instance's memory): not measured: ${why}`);
    return { instanceMemoryMB: mb, notMeasured: why };
  }
  const run = await monitor(`bench${tenants}i`, WEEK_OLD_RUN, { cgroupProcs: procs });
  console.log(
    `  in a ${n(mb)} MB memory cgroup (a Flex Consumption instance's memory; V8's heap limit there ${run.heapLimitMiB} MiB, its own): ` +
      run.cycles.map((c) => `${c.label} cycle ${s(c.ms)}, peak RSS ${c.peaks?.rss} MiB`).join('; ') +
      `; the process's peak RSS ${run.peakRssMiB} MiB`,
  );
  return { ...run, instanceMemoryMB: mb };
}

/** The CPU time each cycle of a monitor run took (the collector's threads included): what the worker arguments cost. */
function cpuOf(run: MonitorResult): string {
  return `CPU used: ${run.cycles.map((c) => `${c.label} cycle ${c.cpuMs !== undefined ? s(c.cpuMs) : '?'}`).join(', ')}`;
}

/** Whose logs a cycle read: the tenants in trouble (every cycle) and the others (their turn, or never read before). */
function logReadsLine(c: CycleFigures, tenants: number): string {
  return (
    `logs read of ${n(c.logReads.troubled)} tenant(s) in trouble and ${n(c.logReads.rotation)} other(s) ` +
    `(rotation ${(c.rotationMs / 60_000).toFixed(1)} min${tenants <= 100 ? '; up to 100 tenants every cycle' : ''})` +
    (c.firstSentMs !== undefined ? `; first email ${s(c.firstSentMs)} after the start` : '; no email')
  );
}

/**
 * The fan-out world: N tenants read by worker processes through the queue (WATCH_FANOUT_TENANTS=1),
 * the reports limit shared (Table Storage), the rotation. A first cycle (discovery, tokens, the
 * first reads of as many tenants' logs as the reports limit lets in); then every tenant not in
 * trouble is made to look read once, now (the state after the first pass, which takes several
 * cycles at 10,000), and a steady cycle starts with the rotation at 12 times the time since: the
 * share of tenants due that the default rotation (1 h) gives on the default schedule (5 min).
 */
async function fanOutWorld(o: Options, azurite: Azurite): Promise<FanOutResult> {
  const tenants = o.fanOutWorld;
  const midTenant = healthyTenantFrom(Math.floor(tenants / 2));
  const { info, child } = await startCloud(tenants, o.latencyMs, o.fanOutJobs);
  const fanInFlight = Math.min(
    tenants,
    o.workers *
      queueExtensionSettings(join(root, 'host.json')).batchSize *
      Math.min(DEFAULT_FANOUT_BATCH, DEFAULT_CONCURRENCY),
  );
  console.log(
    `\nFan-out: ${n(tenants)} tenants x ${o.fanOutJobs} jobs, 5 % in trouble, ${o.latencyMs} ms per Graph answer, over ${o.workers} worker processes (${fanInFlight} tenants at once)` +
      `, provisioningLogs.everyCycleUpTo ${o.fanOutEveryCycleUpTo ?? 'default (100)'}:`,
  );
  try {
    const env = {
      ...worldEnv(info, `fan${tenants}`),
      AzureWebJobsStorage: azurite.connectionStringFor(`fan${tenants}`),
      WATCH_FANOUT_TENANTS: '1',
    };
    const workers = await startWorkers(o.workers, env, false, o.workerArgs);
    try {
      const busy = busyness({
        'emulated Graph': [child.pid],
        "Azurite's table service": [azurite.pids.table],
        "Azurite's queue service": [azurite.pids.queue],
        [`${o.workers} workers`]: workers.map((w) => w.pid),
      });
      const fanned = await runScript<MonitorResult>(
        'scripts/bench/monitor.ts',
        {
          ...env,
          BENCH_RUN: JSON.stringify({
            mode: 'fan-out',
            logs: true,
            // The steady cycle starts from what a cycle after the seed left (seedReadAt in RunSpec).
            cycles: ['first', 'settle', 'steady'],
            rotation: 'per-gap',
            seedReadAt: true,
            newRuns: true,
            everyCycleUpTo: o.fanOutEveryCycleUpTo,
            graphEndpoint: info.graphEndpoint,
            // A job of a healthy tenant halfway down the batches is quarantined before the steady
            // cycle: its email waits for its batch's report (and the next wave), not the first's.
            newQuarantine: { tenantId: benchTenantId(midTenant), jobId: benchJobId(midTenant, 1) },
          } satisfies RunSpec),
        },
        { nodeArgs: o.workerArgs },
      );
      const coresBusy = busy();
      const workerRss = workers.map((w) => peakRssOf(w.pid) ?? 0);
      for (const c of fanned.cycles)
        console.log(
          `  ${`${c.label} cycle`.padEnd(12)}  ${cycleLine(c, o.latencyMs, fanInFlight)}; ${logReadsLine(c, tenants)}; planner peak RSS ${fanned.peakRssMiB} MiB, workers ${workerRss.join('/')} MiB`,
        );
      console.log(
        `  cores kept busy over the three cycles (CPU seconds a second, of ${cpus().length}): ${Object.entries(
          coresBusy,
        )
          .map(([name, cores]) => `${name} ${cores}`)
          .join(', ')}`,
      );
      return { ...fanOutFigures(fanned, tenants, o, fanInFlight, workerRss), coresBusy };
    } finally {
      await Promise.all(workers.map(stop));
    }
  } finally {
    await stop(child);
  }
}

/**
 * What the fan-out world's cycles say for the default schedule. Measured: the steady cycle's time
 * and how many tenants not in trouble it read. Computed: the rotation period those reads achieve
 * (every such tenant read once in N_ok / reads cycles of 5 minutes; no shorter than the rotation
 * itself), the reads the observe share of a cycle admits at Graph's reports limit, the shortest
 * rotation that allows, and the first pass of a new deployment at the first cycle's reads.
 */
function fanOutFigures(
  fanned: MonitorResult,
  tenants: number,
  o: Options,
  inFlight: number,
  workerPeakRssMiB: number[],
): FanOutResult {
  const first = fanned.cycles.find((c) => c.label === 'first')!;
  const steady = fanned.cycles.find((c) => c.label === 'steady')!;
  const troubled = Math.round(tenants * 0.05);
  const healthy = tenants - troubled;
  const perCycle = steady.logReads.rotation;
  const rotationPeriodMinutes = perCycle > 0 ? (healthy / perCycle) * (SCHEDULE_MS / 60_000) : Infinity;
  const capacity = Math.floor(
    (DEFAULT_LIMITS.observeMs / 1000 / REPORTS_PER_APP.windowSeconds) * REPORTS_PER_APP.requests,
  );
  const spare = Math.max(0, capacity - troubled);
  return {
    ...fanned,
    tenants,
    jobsPerTenant: o.fanOutJobs,
    workers: o.workers,
    workerPeakRssMiB,
    inFlight,
    floors: fanned.cycles.map((c) => floorOf(c, o.latencyMs, inFlight)),
    deadlineMs: DEFAULT_LIMITS.cycleMs,
    observeMs: DEFAULT_LIMITS.observeMs,
    rotationReadsPerCycle: perCycle,
    rotationPeriodMinutes: Number(rotationPeriodMinutes.toFixed(1)),
    reportsCapacityPerCycle: capacity,
    shortestRotationMinutes: Number((spare > 0 ? (healthy / spare) * (SCHEDULE_MS / 60_000) : Infinity).toFixed(1)),
    firstPassMinutes: Number(
      (first.logReads.rotation > 0 ? (healthy / first.logReads.rotation) * (SCHEDULE_MS / 60_000) : Infinity).toFixed(
        1,
      ),
    ),
  };
}

/** Issue 20's "Done when": the figures, their goals, and main's before. */
function summarizeIssue20(worlds: WorldResult[], fan: FanOutResult | undefined, workerArgs: readonly string[]): void {
  const thousandWorld = worlds.find((w) => w.tenants === 1000);
  const thousand = thousandWorld?.inProcess;
  console.log(`\nIssue 20 (1,000 x 5 at 100 ms with logs, 5 % of tenants in trouble):`);
  if (thousand) {
    const first = thousand.cycles.find((c) => c.label === 'first')!;
    const steady = thousand.cycles.find((c) => c.label === 'steady')!;
    const sent = first.firstSentMs;
    console.log(
      `  first job-alert email, from a fresh monitor's first cycle start: ${sent !== undefined ? s(sent) : 'none sent'} (goal <= 10 s; before: ~${s(BEFORE.firstEmailMs)}); that cycle ${s(first.ms)}, reading every tenant's logs (never read before)`,
    );
    console.log(
      `  steady cycle: ${s(steady.ms)} (goal <= 15 s; before: ${s(BEFORE.cycleWithLogsMs)} with logs, ${s(BEFORE.jobsOnlyMs)} job status only), ` +
        `rotation set to ${(steady.rotationMs / 1000).toFixed(0)} s = 12 x the ${(steady.rotationMs / 12 / 1000).toFixed(0)} s between the two cycles' starts ` +
        `(the share due that 1 h gives every 5 min): logs of ${steady.logReads.troubled} tenant(s) in trouble and ${steady.logReads.rotation} on their turn`,
    );
    console.log(
      `  a new quarantine in the steady cycle: emailed ${steady.firstSentMs !== undefined ? s(steady.firstSentMs) : 'never'} after the cycle's start (goal <= 10 s)`,
    );
    const jobsOnlyRss = thousandWorld?.jobsOnly ? `; job status only ${thousandWorld.jobsOnly.peakRssMiB} MiB` : '';
    console.log(
      `  monitor peak RSS, as deployed (node ${workerArgs.join(' ')}): ${thousand.peakRssMiB} MiB on this machine (${Math.round(totalmem() / 1073741824)} GiB; V8's heap limit ${thousand.heapLimitMiB ?? '?'} MiB; ` +
        `${thousand.cycles.map((c) => `${c.label} cycle ${c.peaks?.rss} MiB`).join(', ')})${jobsOnlyRss} (goal < 256 MiB); ${cpuOf(thousand)}`,
    );
    const defaults = thousandWorld?.nodeDefaults;
    if (defaults)
      console.log(
        `  monitor peak RSS with Node's defaults: ${defaults.peakRssMiB} MiB (${defaults.cycles.map((c) => `${c.label} cycle ${c.peaks?.rss} MiB`).join(', ')}): V8 let the heap grow to up to 4 times what was live; ${cpuOf(defaults)}`,
      );
    const instance = thousandWorld?.inInstance;
    if (instance && 'cycles' in instance)
      console.log(
        `  monitor peak RSS in a ${n(instance.instanceMemoryMB)} MB memory cgroup (a Flex Consumption instance's memory; V8's heap limit ${instance.heapLimitMiB} MiB): ` +
          `${instance.cycles.map((c) => `${c.label} cycle ${c.peaks?.rss} MiB`).join(', ')} (the process's peak ${instance.peakRssMiB} MiB)`,
      );
  } else console.log('  (no 1,000-tenant world run: --worlds without 1000)');
  if (!fan) return;
  const steady = fan.cycles.find((c) => c.label === 'steady')!;
  const first = fan.cycles.find((c) => c.label === 'first')!;
  console.log(
    `\nIssue 20 (${n(fan.tenants)} x ${fan.jobsPerTenant} with the queue fan-out over ${fan.workers} worker processes):`,
  );
  console.log(
    `  steady cycle ${s(steady.ms)} against the default schedule's deadline of ${s(fan.deadlineMs)} (reading ends by ${s(fan.observeMs)}); ` +
      `first cycle ${s(first.ms)}; ${steady.errors} error(s) in the steady cycle (${n(steady.tenantsUnreadable)} of ${n(fan.tenants)} tenants not read)`,
  );
  console.log(
    `  job alerts in waves: the first cycle's first email ${first.firstSentMs !== undefined ? s(first.firstSentMs) : 'never'} after its start; ` +
      `a new quarantine of a tenant halfway down the batches emailed ${steady.firstSentMs !== undefined ? s(steady.firstSentMs) : 'never'} into the steady cycle ` +
      `(before the waves: once every batch had reported its jobs, ${s(BEFORE.fanOutFirstEmailMs)} in the first cycle)`,
  );
  if (fan.coresBusy) {
    const [busiest, cores] = Object.entries(fan.coresBusy).sort((a, b) => b[1] - a[1])[0] ?? [];
    console.log(
      `  what bound it here: ${busiest} kept ${cores} of a core busy (${Object.entries(fan.coresBusy)
        .map(([name, c]) => `${name} ${c}`)
        .join(', ')}; ${cpus().length} cores)`,
    );
  }
  console.log(
    `  rotation: the steady cycle read the logs of ${n(steady.logReads.troubled)} tenant(s) in trouble and ${n(fan.rotationReadsPerCycle)} other(s) (measured); ` +
      `at that many a 5-minute cycle every one of the ${n(Math.round(fan.tenants * 0.95))} others is read once in ${fan.rotationPeriodMinutes} min (computed: others / reads per cycle x 5 min; the rotation asked for is 60 min)`,
  );
  console.log(
    `  the reports limit (122 per 10 s per app) admits ${n(fan.reportsCapacityPerCycle)} log reads in a cycle's ${s(fan.observeMs)} of reading: ` +
      `no rotation shorter than ${fan.shortestRotationMinutes} min at this size (computed); a new deployment's first pass over every tenant's logs takes ${fan.firstPassMinutes} min at the first cycle's ${n(first.logReads.rotation)} first reads`,
  );
}

function coldStartFailed(error: unknown): undefined {
  console.log(
    `\nCold start: not measured: ${String((error as Error).message)
      .split('\n')[0]!
      .slice(0, 300)}`,
  );
  return undefined;
}

async function main(): Promise<void> {
  const o = options();
  await bundle(['scripts/bench/monitor.ts', 'scripts/bench/naive.ts', 'scripts/bench/worker.ts']);
  const largestWorld = Math.max(...o.worlds);
  const accounts = [
    ...o.worlds.map((t) => `bench${t}`),
    ...(o.instanceMemoryMB > 0 ? [`bench${largestWorld}i`] : []),
    ...(o.nodeDefaults ? [`bench${largestWorld}d`] : []),
    ...(o.fanOut ? [`fan${o.fanOutWorld}`] : []),
  ];
  const azurite = await startAzurite({ cwd: root, queue: true, accounts });
  const worlds: WorldResult[] = [];
  let fan: FanOutResult | undefined;
  let coldStart: ColdStart | undefined;
  try {
    const largest = Math.max(...o.worlds);
    for (const t of o.worlds) worlds.push(await world(t, o, azurite, t === largest));
    if (o.fanOut) fan = await fanOutWorld(o, azurite);
    // A cold start that cannot be measured (its package step failed) leaves the other figures standing.
    if (o.coldStart) coldStart = await measureColdStart(root, azurite).catch(coldStartFailed);
    if (coldStart) {
      console.log(`
Cold start, from a new Node process to the first outbound request of a timer invocation (median of ${coldStart.runs}):`);
      for (const [name, v] of Object.entries(coldStart.variants))
        console.log(
          `  ${name}: function files loaded at ${v.loadMs} ms, first request at ${v.firstRequestMs} ms; package ${v.packageMiB} MiB`,
        );
    }
  } finally {
    await azurite.stop();
  }
  summarize(worlds, o);
  summarizeIssue20(worlds, fan, o.workerArgs);
  mkdirSync(dirname(o.out), { recursive: true });
  const results = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    latencyMs: o.latencyMs,
    observeConcurrency: DEFAULT_CONCURRENCY,
    before: BEFORE,
    worlds,
    fanOut: fan,
    coldStart,
  };
  writeFileSync(o.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten to ${o.out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
