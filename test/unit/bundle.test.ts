import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleFunctions, runtimeModules } from '../../scripts/bundle';
import { startSettings } from '../../scripts/kql-check-cost';

/**
 * `npm run bundle` (what the deployment ships, docs/deploying.md, "Deploy with azd"): one file that registers every
 * function of functions/ with the Functions host, loaded by plain Node with no node_modules but
 * the host's own `@azure/functions-core`, stood in for here by one that records registrations.
 */
const root = join(__dirname, '..', '..');

/** The names functions/*.ts register (`app.timer('watch', ...)`). */
function registeredInSources(): string[] {
  return readdirSync(join(root, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      [...readFileSync(join(root, 'functions', f), 'utf8').matchAll(/^app\.\w+\('([^']+)'/gm)].map(
        (m) => m[1] as string,
      ),
    )
    .sort();
}

const FAKE_CORE = `
const registered = [];
process.on('exit', () => console.log('registered ' + JSON.stringify(registered)));
module.exports = new Proxy({}, {
  get: (_, name) => name === 'registerFunction' ? (metadata) => { registered.push(metadata.name); return { dispose() {} }; }
    : name === 'version' ? '3.10.1' : () => ({ dispose() {} }),
});
`;

describe('the deployment bundle', () => {
  it('registers every function of functions/, with nothing from node_modules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esw-bundle-'));
    await bundleFunctions(root, join(dir, 'dist', 'functions', 'app.js'));
    mkdirSync(join(dir, 'node_modules', '@azure', 'functions-core'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', '@azure', 'functions-core', 'index.js'), FAKE_CORE);
    const out = execFileSync(
      process.execPath,
      ['-e', `require(${JSON.stringify(join(dir, 'dist', 'functions', 'app.js'))})`],
      { cwd: dir, env: { PATH: process.env.PATH }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const line = out.split('\n').find((l) => l.startsWith('registered '));
    expect(JSON.parse(line?.slice('registered '.length) ?? '[]').sort()).toEqual(registeredInSources());
    expect(registeredInSources().length).toBeGreaterThan(2);
  });

  it('leaves the Kusto language service out, and loads it from node_modules at start for a config with KQL rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esw-bundle-kql-'));
    const bundle = join(dir, 'dist', 'functions', 'app.js');
    await bundleFunctions(root, bundle);
    // Neither of its two scripts is inside (each defines its assembly and runtime by these names).
    expect(readFileSync(bundle, 'utf8')).not.toMatch(/Bridge\.assembly\("Kusto\.Language\.Bridge"|Bridge\.NET/);
    runtimeModules(root, dir, FAKE_CORE);
    const config = join(dir, 'watch-config.json');
    writeFileSync(
      config,
      JSON.stringify({
        kqlRules: [
          {
            name: 'kql-typo',
            timeSpan: '1h',
            query: 'AADProvisioningLogs | where ResultType == "Failure" | summarize count() by BogusColumn',
            threshold: { operator: '>', value: 5 },
          },
        ],
      }),
    );
    // What functions/watch.ts does when the host loads it: validate the settings and the config, loudly.
    const result = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(bundle)})`], {
      cwd: dir,
      env: startSettings(config),
      encoding: 'utf8',
    });
    expect(result.stderr).toContain(
      "kqlRules[0].query: line 1, column 76: The name 'BogusColumn' does not refer to any known column, table, variable or function. (KS142)",
    );
  });
});
