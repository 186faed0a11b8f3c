/**
 * `npx tsx scripts/kql-check-cost.ts [runs]`: what checking the config's KQL rules with the Kusto
 * language service (lib/config/kql-check.ts) costs the Function App's process when it starts, as
 * deployed: the package (scripts/bundle.ts's dist/ and package.json, no node_modules) loaded as the
 * Functions worker loads it (scripts/functions-worker-stand-in.cjs), as functions/watch.ts validates
 * its settings and config at load. Each run is a new
 * process; the median of `runs` (default 5) for a config without KQL rules and one with two.
 * Reported in docs/configuration.md, "KQL rules"; CPU time is the figure to compare on a busy machine.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleFunctions } from './bundle';

const root = resolve(__dirname, '..');

/** The worker's stand-in: loads the package's entry points as the host's worker does and prints what it cost. */
export const WORKER_STAND_IN = join(root, 'scripts', 'functions-worker-stand-in.cjs');

const RULES = [
  {
    name: 'kql-failure-spike',
    timeSpan: '1h',
    query: 'AADProvisioningLogs | where ResultType == "Failure" | summarize Failures = count() by JobId',
    threshold: { column: 'Failures', operator: '>', value: 50 },
  },
  {
    name: 'kql-deletes-spike',
    timeSpan: '1h',
    query: 'AADProvisioningLogs | where ProvisioningAction in ("Delete", "Disable") | count',
    threshold: { column: 'Count', operator: '>', value: 100 },
  },
];

/** Settings a Function App starts with (valid, pointing nowhere reachable: nothing is called at start), with this config. */
export function startSettings(config: string): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    WATCH_TENANTS: '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b',
    ALERT_EMAIL_TO: 'ops@contoso.com',
    ALERT_EMAIL_FROM: 'DoNotReply@watch.contoso.com',
    ACS_ENDPOINT: 'https://watch.communication.azure.com',
    LOG_ANALYTICS_WORKSPACE_ID: '7c7c7c7c-0000-4000-8000-00000000a11a',
    WATCH_CONFIG: config,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'esw-kql-cost-'));
  await bundleFunctions(root, join(dir, 'dist', 'functions', 'app.js'));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  const configs = { 'without KQL rules': {}, [`with ${RULES.length} KQL rules`]: { kqlRules: RULES } };
  console.log(`The Function App's process at start (the bundle, new process each run, median of ${runs}):`);
  for (const [label, config] of Object.entries(configs)) {
    const file = join(dir, `${label.replace(/\W+/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(config));
    const env = startSettings(file);
    const samples = Array.from({ length: runs }, () => {
      const out = execFileSync(process.execPath, [WORKER_STAND_IN, dir], { cwd: dir, env, encoding: 'utf8' });
      return JSON.parse(out.trim().split('\n').at(-1) as string) as { wallMs: number; cpuMs: number; rssMB: number };
    });
    const m = (key: 'wallMs' | 'cpuMs' | 'rssMB') => Math.round(median(samples.map((s) => s[key])));
    console.log(`  config ${label}: ${m('cpuMs')} ms CPU, ${m('rssMB')} MB RSS, ${m('wallMs')} ms wall`);
  }
}

if (require.main === module) {
  main(Number(process.argv[2] ?? 5)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
