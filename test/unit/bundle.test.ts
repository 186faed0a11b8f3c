import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleFunctions } from '../../scripts/bundle';
import { startSettings, WORKER_STAND_IN } from '../../scripts/kql-check-cost';
import { NODE_WORKER_ARGUMENTS } from '../../lib/settings/worker-arguments';
import { filesUnder, shipsIn } from '../support/funcignore';

/**
 * `npm run bundle` as the deployment ships it (docs/deploying.md, "What the package holds"): the
 * package alone (dist/ and the root files .funcignore keeps, no node_modules), copied to a temp
 * folder and loaded as the Functions worker loads it (scripts/functions-worker-stand-in.cjs: the
 * worker's own `@azure/functions-core`, package.json `main`, `require`; any module found only
 * outside the folder refused).
 */
const root = join(__dirname, '..', '..');

/** The trigger type each `app.*` registration of @azure/functions v4 gives the host. */
const TRIGGERS: Record<string, string> = { http: 'httpTrigger', timer: 'timerTrigger', storageQueue: 'queueTrigger' };

interface Registered {
  name: string;
  trigger: string;
}

/** What functions/*.ts register (`app.timer('watch', ...)`), by name, with their trigger types. */
function registeredInSources(): Registered[] {
  return readdirSync(join(root, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      [...readFileSync(join(root, 'functions', f), 'utf8').matchAll(/^app\.(\w+)\('([^']+)'/gm)].map((m) => ({
        name: m[2] as string,
        trigger: TRIGGERS[m[1] as string] ?? `unknown app.${m[1]}`,
      })),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
}

let bundled: string;

beforeAll(async () => {
  bundled = mkdtempSync(join(tmpdir(), 'esw-bundle-'));
  await bundleFunctions(root, join(bundled, 'dist', 'functions', 'app.js'));
}, 120_000);

/** A new folder holding what the package holds: `npm run bundle`'s dist/ and the project's files that ship. */
function stagePackage(parent = mkdtempSync(join(tmpdir(), 'esw-package-'))): string {
  const dir = join(parent, 'wwwroot');
  cpSync(join(bundled, 'dist'), join(dir, 'dist'), { recursive: true });
  const ships = shipsIn(root);
  for (const file of filesUnder(root, new Set(['.git', 'node_modules', 'dist'])).filter(ships)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(root, file), join(dir, file));
  }
  return dir;
}

/** The package loaded as the Functions worker loads it, in a Node started with the deployment's worker arguments. */
function loadAsTheWorker(dir: string, env: Record<string, string | undefined> = { PATH: process.env.PATH }) {
  const result = spawnSync(process.execPath, [...NODE_WORKER_ARGUMENTS, WORKER_STAND_IN, dir], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  const line = result.stdout.split('\n').find((l) => l.startsWith('{"registered"'));
  return { ...result, registered: line ? (JSON.parse(line) as { registered: Registered[] }).registered : undefined };
}

/** The settings of a Function App whose config (in the package, as docs/deploying.md suggests) is `config`. */
function settingsWith(dir: string, config: object): Record<string, string | undefined> {
  const file = join(dir, 'watch-config.json');
  writeFileSync(file, JSON.stringify(config));
  return startSettings(file);
}

const kqlConfig = (query: string) => ({
  kqlRules: [{ name: 'kql-rule', timeSpan: '1h', query, threshold: { operator: '>', value: 5 } }],
});

describe('the deployment package', () => {
  it('holds no node_modules, and registers every function of functions/ with its trigger when the worker loads it', () => {
    const dir = stagePackage();
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    expect(readdirSync(join(dir, 'dist', 'functions'))).toEqual(['app.js']);
    const result = loadAsTheWorker(dir, settingsWith(dir, {}));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const sorted = [...(result.registered ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    expect(sorted).toEqual(registeredInSources());
    expect(registeredInSources().map((r) => r.trigger)).toEqual(
      expect.arrayContaining(['httpTrigger', 'timerTrigger', 'queueTrigger']),
    );
  });

  it('would fail to load a bundle that needs node_modules, even with a node_modules in a parent folder', async () => {
    // What the loader must catch: @azure/functions left out of the bundle, found only in this project's node_modules.
    const parent = mkdtempSync(join(tmpdir(), 'esw-package-'));
    symlinkSync(join(root, 'node_modules'), join(parent, 'node_modules'));
    const dir = stagePackage(parent);
    await bundleFunctions(root, join(dir, 'dist', 'functions', 'app.js'), {
      external: ['@azure/functions-core', '@azure/functions'],
    });
    const result = loadAsTheWorker(dir, settingsWith(dir, {}));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("Cannot find module '@azure/functions' in the package (found only outside it");
  }, 60_000);

  it('checks a config with KQL rules with the Kusto scripts of dist/kusto/, and still registers every function', () => {
    const dir = stagePackage();
    expect(readdirSync(join(dir, 'dist', 'kusto')).sort()).toEqual(
      ['Kusto.Language.Bridge.min.js', 'bridge.min.js', 'package.json'].sort(),
    );
    // Neither of its two scripts is inside the bundle (each defines its assembly and runtime by these names).
    expect(readFileSync(join(dir, 'dist', 'functions', 'app.js'), 'utf8')).not.toMatch(
      /Bridge\.assembly\("Kusto\.Language\.Bridge"|Bridge\.NET/,
    );
    const typo = kqlConfig('AADProvisioningLogs | where ResultType == "Failure" | summarize count() by BogusColumn');
    // What functions/watch.ts does when the host loads it: validate the settings and the config, loudly.
    const bad = loadAsTheWorker(dir, settingsWith(dir, typo));
    expect(bad.stderr).toContain(
      "kqlRules[0].query: line 1, column 76: The name 'BogusColumn' does not refer to any known column, table, variable or function. (KS142)",
    );
    expect(bad.registered?.length).toBe(registeredInSources().length);
    const good = loadAsTheWorker(dir, settingsWith(dir, kqlConfig('AADProvisioningLogs | count')));
    expect(good.stderr).toBe('');
    expect(good.registered?.length).toBe(registeredInSources().length);
  });

  it('says what to do when the Kusto scripts are missing from dist/, instead of failing quietly', () => {
    const dir = stagePackage();
    rmSync(join(dir, 'dist', 'kusto'), { recursive: true });
    const result = loadAsTheWorker(dir, settingsWith(dir, kqlConfig('AADProvisioningLogs | count')));
    expect(result.stderr).toContain(
      'the KQL rules cannot be checked: @kusto/language-service-next could not be loaded',
    );
    expect(result.stderr).toContain('a deployment carries it in dist/kusto/, written by npm run bundle');
    expect(result.registered?.length).toBe(registeredInSources().length);
  });
});
