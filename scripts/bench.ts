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
 * at 1,000 tenants also job status alone, and the queue fan-out over worker processes. It
 * asserts nothing: figures on a shared machine are not a pass/fail signal. Not run by `npm test`.
 *
 * It ends with the cold start (scripts/bench/cold-start.ts).
 *
 *   node scripts/with-emulator-ca.mjs tsx scripts/bench.ts [--worlds 1,100,1000] [--latency 100] [--naive-sample 25] [--workers 4] [--no-fanout] [--no-cold-start] [--out bench/results.json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { startAzurite, type Azurite } from '../emulators/azurite';
import { DEFAULT_CONCURRENCY } from '../lib/cycle/observe';
import { DEFAULT_FANOUT_BATCH } from '../lib/fanout/planner';
import { queueExtensionSettings } from '../emulators/queue-host';
import { measureColdStart, type ColdStart } from './bench/cold-start';
import { NODE_BUNDLE } from './bundle';
import type { CycleFigures, RunSpec } from './bench/monitor';
import { JOBS_PER_TENANT } from './bench/world';

const root = resolve(__dirname, '..');

interface Options {
  worlds: number[];
  latencyMs: number;
  naiveSample: number;
  workers: number;
  fanOut: boolean;
  coldStart: boolean;
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
    coldStart: !args.includes('--no-cold-start'),
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
const BUNDLES = mkdtempSync(join(tmpdir(), 'esw-bench-js-'));
const bundled = (script: string) => join(BUNDLES, `${script.replace(/[/\\]/g, '_').replace(/\.ts$/, '')}.js`);

async function bundle(scripts: string[]): Promise<void> {
  await Promise.all(
    scripts.map((script) => build({ ...NODE_BUNDLE, entryPoints: [join(root, script)], outfile: bundled(script) })),
  );
}

/** Runs a bundled script to its end and returns the JSON of its `result {...}` line. */
function runScript<T>(script: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bundled(script), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
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
function startCloud(tenants: number, latencyMs: number): Promise<{ info: CloudInfo; child: ChildProcess }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [...TSX, join(root, 'scripts/bench/cloud.ts'), String(tenants), String(latencyMs)],
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

/** Starts worker processes running the queue-triggered function under the emulated queue host. */
async function startWorkers(n: number, env: NodeJS.ProcessEnv, jobsOnly: boolean): Promise<ChildProcess[]> {
  const args = jobsOnly ? ['--jobs-only'] : [];
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ChildProcess>((resolvePromise, reject) => {
          const child = spawn(process.execPath, [bundled('scripts/bench/worker.ts'), ...args], {
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
    const kinds: [string, Measured | undefined, (Measured & { workers: number }) | undefined][] = [
      ['provisioning logs', w.inProcess, w.fanOut],
      ['job status only', w.jobsOnly, w.fanOutJobsOnly],
    ];
    for (const [kind, m, fan] of kinds) {
      if (!m) continue;
      const { cycle, floor } = steadyOf(m);
      const first = m.cycles.find((c) => c.label === 'first');
      const naive = w.naive
        ? `${s(w.naive.extrapolatedMs)}${w.naive.tenants < w.tenants ? '*' : ''} (${(w.naive.extrapolatedMs / cycle.ms).toFixed(0)}x slower)`
        : '';
      const fanned = fan ? `${s(steadyOf(fan).cycle.ms)} (${fan.workers} workers)` : '';
      rows.push(
        `| ${n(w.tenants)} x ${w.jobsPerTenant}, ${kind} | ${s(cycle.ms)} | ${n(cycle.graphCalls)} / ${n(cycle.graphRequests)} | ${first ? n(first.tokenRequests) : '-'} / ${n(cycle.tokenRequests)} | ${m.peakRssMiB} MiB | ${naive} | ${floor.seconds.toFixed(1)} s (${(cycle.ms / 1000 / floor.seconds).toFixed(2)}x) | ${fanned} |`,
      );
    }
  }
  console.log(
    `\nSummary (steady cycles, ${o.latencyMs} ms per Graph answer; * the naive poller measured on ${o.naiveSample} tenants and extrapolated):`,
  );
  console.log(
    '| World (tenants x jobs) | Cycle | Graph calls / requests | Token requests (first / steady) | Monitor peak RSS | Naive poller | Floor (cycle / floor) | Fan-out |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  const largest = worlds.at(-1);
  if (!largest?.inProcess) return;
  console.log(
    `\nTargets at ${n(largest.tenants)} tenants (under 60 s, >= 10x the naive poller, <= 1.5x the floor, < 256 MiB, fan-out faster):`,
  );
  for (const [kind, m, fan] of [
    ['provisioning logs', largest.inProcess, largest.fanOut],
    ['job status only', largest.jobsOnly, largest.fanOutJobsOnly],
  ] as const) {
    if (!m) continue;
    const { cycle, floor } = steadyOf(m);
    const naiveMs = largest.naive?.extrapolatedMs ?? 0;
    const checks = [
      `${s(cycle.ms)} ${cycle.ms < 60_000 ? 'under' : 'NOT under'} 60 s${cycle.ms >= 60_000 && floor.seconds >= 60 ? ` (the floor itself is ${floor.seconds.toFixed(0)} s: ${floor.bound})` : ''}`,
      `${(naiveMs / cycle.ms).toFixed(1)}x the naive poller ${naiveMs / cycle.ms >= 10 ? 'ok' : 'MISSED'}`,
      `${(cycle.ms / 1000 / floor.seconds).toFixed(2)}x the floor ${cycle.ms / 1000 / floor.seconds <= 1.5 ? 'ok' : 'MISSED'}`,
      `${m.peakRssMiB} MiB ${m.peakRssMiB < 256 ? 'ok' : 'MISSED'}`,
      fan
        ? `fan-out ${s(steadyOf(fan).cycle.ms)} ${steadyOf(fan).cycle.ms < cycle.ms * 0.95 ? 'faster' : 'NOT faster (by 5% or more)'}`
        : 'no fan-out run',
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
  fanOut?: Measured & { workers: number; workerPeakRssMiB: number[] };
  fanOutJobsOnly?: Measured & { workers: number; workerPeakRssMiB: number[] };
}

async function world(tenants: number, o: Options, azurite: Azurite, largest: boolean): Promise<WorldResult> {
  const { info, child } = await startCloud(tenants, o.latencyMs);
  const result: WorldResult = { tenants, jobsPerTenant: JOBS_PER_TENANT };
  try {
    const base = { ...process.env, ...info.settings };
    const monitor = (account: string, spec: Omit<RunSpec, 'graphEndpoint'>, extra: Record<string, string> = {}) =>
      runScript<MonitorResult>('scripts/bench/monitor.ts', {
        ...base,
        AzureWebJobsStorage: azurite.connectionStringFor(account),
        ...extra,
        BENCH_RUN: JSON.stringify({ ...spec, graphEndpoint: info.graphEndpoint }),
      });
    const inFlight = Math.min(tenants, DEFAULT_CONCURRENCY);
    // Each worker takes host.json's batchSize messages at once, each of WATCH_FANOUT_BATCH tenants read together.
    const fanInFlight = Math.min(
      tenants,
      o.workers *
        queueExtensionSettings(join(root, 'host.json')).batchSize *
        Math.min(DEFAULT_FANOUT_BATCH, DEFAULT_CONCURRENCY),
    );
    console.log(
      `\n${n(tenants)} tenant(s) x ${JOBS_PER_TENANT} jobs, provisioning logs, ${o.latencyMs} ms per Graph answer (${inFlight} tenants at once):`,
    );

    const here = await monitor(`bench${tenants}`, { mode: 'in-process', logs: true, cycles: ['first', 'steady'] });
    for (const c of here.cycles)
      console.log(
        `  ${c.label === 'first' ? 'first cycle ' : 'steady cycle'}  ${cycleLine(c, o.latencyMs, inFlight, c.label === 'steady' ? here.peakRssMiB : undefined)}`,
      );
    result.inProcess = { ...here, inFlight, floors: here.cycles.map((c) => floorOf(c, o.latencyMs, inFlight)) };

    const sample = info.tenants.slice(
      0,
      Math.min(tenants, o.naiveSample > 0 && tenants > o.naiveSample ? o.naiveSample : tenants),
    );
    const naive = await runScript<NaiveResult>('scripts/bench/naive.ts', {
      ...base,
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
        `the steady cycle is ${(naiveMs / steady.ms).toFixed(1)}x faster`,
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
    }

    if (largest && o.fanOut) {
      const fanEnv = {
        ...base,
        AzureWebJobsStorage: azurite.connectionStringFor(`fan${tenants}`),
        WATCH_FANOUT_TENANTS: '1',
      };
      for (const [label, logs] of [
        ['fan-out', true],
        ['fan-out, job status only', false],
      ] as const) {
        const workers = await startWorkers(o.workers, fanEnv, !logs);
        try {
          const fanned = await monitor(
            `fan${tenants}`,
            { mode: 'fan-out', logs, cycles: logs ? ['first', 'steady'] : ['warm-up', 'steady'] },
            { WATCH_FANOUT_TENANTS: '1' },
          );
          fanned.cycles = fanned.cycles.filter((c) => c.label !== 'warm-up');
          const workerRss = workers.map((w) => peakRssOf(w.pid) ?? 0);
          for (const c of fanned.cycles)
            console.log(
              `  ${label} over ${o.workers} worker processes, ${c.label}  ${cycleLine(c, o.latencyMs, fanInFlight)}; planner peak RSS ${fanned.peakRssMiB} MiB, workers ${workerRss.join('/')} MiB`,
            );
          result[logs ? 'fanOut' : 'fanOutJobsOnly'] = {
            workers: o.workers,
            ...fanned,
            workerPeakRssMiB: workerRss,
            inFlight: fanInFlight,
            floors: fanned.cycles.map((c) => floorOf(c, o.latencyMs, fanInFlight)),
          };
        } finally {
          await Promise.all(workers.map(stop));
        }
      }
    }
  } finally {
    await stop(child);
  }
  return result;
}

async function main(): Promise<void> {
  const o = options();
  await bundle(['scripts/bench/monitor.ts', 'scripts/bench/naive.ts', 'scripts/bench/worker.ts']);
  const accounts = o.worlds.flatMap((t) => [`bench${t}`, `fan${t}`]);
  const azurite = await startAzurite({ cwd: root, queue: true, accounts });
  const worlds: WorldResult[] = [];
  let coldStart: ColdStart | undefined;
  try {
    const largest = Math.max(...o.worlds);
    for (const t of o.worlds) worlds.push(await world(t, o, azurite, t === largest));
    if (o.coldStart) {
      coldStart = await measureColdStart(root, azurite);
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
  mkdirSync(dirname(o.out), { recursive: true });
  const results = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    latencyMs: o.latencyMs,
    observeConcurrency: DEFAULT_CONCURRENCY,
    worlds,
    coldStart,
  };
  writeFileSync(o.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten to ${o.out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
