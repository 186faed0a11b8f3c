/**
 * Cold start, as far as the app decides it: from a new Node process to the first outbound request
 * of a timer invocation, for the app as tsc builds it (dist/ and node_modules) and as one
 * esbuild bundle (`npm run bundle`, scripts/bundle.ts). Each is measured several times, alternating, in fresh processes
 * (scripts/bench/cold-start-probe.cjs); the medians are reported. What the platform adds before
 * the app's code runs (the host's own start, fetching the package) is not measured here.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFunctions } from '../bundle';
import { settingsFor, startPrivateCloud } from '../../emulators';
import type { Azurite } from '../../emulators/azurite';

export interface ColdStart {
  runs: number;
  variants: Record<string, { loadMs: number; firstRequestMs: number; packageMiB: number }>;
}

interface Probe {
  started: number;
  loaded: number;
  firstRequest: number;
}

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((n, entry) => n + sizeOf(join(path, entry)), 0);
}

/** Bytes of the production dependencies as `npm prune --omit=dev` leaves them. */
function productionModulesSize(root: string): number {
  const paths = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((p) => p.includes('node_modules'));
  // Nested packages are inside their parents' folders: count the outermost ones only.
  const outer = paths.filter((p) => !paths.some((q) => q !== p && p.startsWith(`${q}/`)));
  return outer.reduce((n, p) => n + sizeOf(p), 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function probe(root: string, files: string[], env: NodeJS.ProcessEnv): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'scripts/bench/cold-start-probe.cjs'), ...files], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', () => undefined);
    child.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('result '));
      const result = line ? (JSON.parse(line.slice('result '.length)) as Probe & { error?: string }) : undefined;
      if (result && !result.error) resolve(result);
      else reject(new Error(`cold-start probe: ${result?.error ?? out.slice(-300)}`));
    });
  });
}

export async function measureColdStart(root: string, azurite: Azurite, runs = 7): Promise<ColdStart> {
  const out = mkdtempSync(join(root, '.emulator', 'cold-start-'));
  // `npm run build` (tsc) and node_modules.
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      join(out, 'dist'),
      '--sourceMap',
      'false',
    ],
    { cwd: root },
  );
  const functions = readdirSync(join(root, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''));
  // The alternative: every function in one file, its dependencies inside, as `npm run bundle` writes it.
  await bundleFunctions(root, join(out, 'bundle', 'index.js'));

  const cloud = await startPrivateCloud({
    scenario: join(root, 'emulators/scenarios/demo.json'),
    outboxDir: mkdtempSync(join(tmpdir(), 'esw-cold-')),
  });
  try {
    const env = { ...process.env, ...settingsFor(cloud, { storage: azurite.connectionString }) };
    const variants = {
      'tsc output and node_modules': functions.map((f) => join(out, 'dist', 'functions', `${f}.js`)),
      'one esbuild bundle (npm run bundle)': [join(out, 'bundle', 'index.js')],
    };
    const samples = new Map<string, Probe[]>(Object.keys(variants).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) {
      for (const [name, files] of Object.entries(variants)) samples.get(name)!.push(await probe(root, files, env));
    }
    const sizes = {
      'tsc output and node_modules': sizeOf(join(out, 'dist')) + productionModulesSize(root),
      'one esbuild bundle (npm run bundle)': sizeOf(join(out, 'bundle')),
    };
    return {
      runs,
      variants: Object.fromEntries(
        [...samples].map(([name, s]) => [
          name,
          {
            loadMs: Math.round(median(s.map((p) => p.loaded))),
            firstRequestMs: Math.round(median(s.map((p) => p.firstRequest))),
            packageMiB: Number((sizes[name as keyof typeof sizes] / 1048576).toFixed(1)),
          },
        ]),
      ),
    };
  } finally {
    await cloud.stop();
  }
}
