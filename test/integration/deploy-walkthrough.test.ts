import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runProcess, type ProcessResult } from '../support/process';
import { DEMO_SCENARIO, ownStorage, startWorld, type World } from '../support/world';

/**
 * docs/deploying.md followed step by step where it can be without Azure: the commands of its code
 * blocks, as written, in a project folder whose `azd` is a stand-in answering `azd env get-values`
 * with a deployment's settings pointed at the emulators (an app registration's secret standing in
 * for the managed identity, which exists only in Azure). What needs Azure (`azd up`, `az`, the curl
 * to the deployed app) is left out; the deploy's own config check runs as azure.yaml runs it.
 */

const root = join(__dirname, '..', '..');
const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const NORTHWIND = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
const deploying = readFileSync(join(root, 'docs', 'deploying.md'), 'utf8');

/** The command lines of the page's first sh block holding `marker`, comments dropped. */
function commandsOf(marker: string): string[] {
  const block = [...deploying.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((m) => m[1] as string)
    .find((b) => b.includes(marker));
  expect(block, marker).toBeDefined();
  return (block as string)
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** What `azd env get-values` prints: KEY="value" lines. */
function dotenv(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}="${value}"`)
    .join('\n');
}

const FAKE_AZD = `#!/bin/sh
# A stand-in for the Azure Developer CLI: the environment's values, from a file.
if [ "$1 $2" = "env get-values" ]; then cat "$FAKE_AZD_VALUES"; exit 0; fi
if [ "$1 $2" = "env get-value" ]; then sed -n "s/^$3=\\"\\(.*\\)\\"$/\\1/p" "$FAKE_AZD_VALUES"; exit 0; fi
echo "fake azd: not something the docs' local steps run: azd $*" >&2
exit 1
`;

type Step = ProcessResult;

describe('docs/deploying.md, step by step against the emulators', () => {
  let world: World;
  let project: string;
  let bin: string;
  const run = (command: string): Promise<Step> =>
    runProcess('sh', ['-c', command], {
      cwd: project,
      env: {
        PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
        HOME: project,
        NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS,
        FAKE_AZD_VALUES: join(bin, 'values.env'),
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
      },
      label: `sh -c ${command}`,
    });

  beforeAll(async () => {
    world = await startWorld(DEMO_SCENARIO, { AzureWebJobsStorage: ownStorage('walkthrough') });
    // The project folder as a person has it after `git clone` and `npm ci`, with a config file at its root.
    project = mkdtempSync(join(tmpdir(), 'esw-walkthrough-'));
    for (const entry of ['package.json', 'node_modules', 'lib', 'tsconfig.json'])
      symlinkSync(join(root, entry), join(project, entry));
    copyFileSync(join(root, 'emulators', 'scenarios', 'demo-config.json'), join(project, 'watch-config.json'));
    mkdirSync(join(project, '.azure'));
    bin = mkdtempSync(join(tmpdir(), 'esw-fake-azd-'));
    writeFileSync(join(bin, 'azd'), FAKE_AZD);
    chmodSync(join(bin, 'azd'), 0o755);
    // What the environment holds after `azd up`, `azd env set WATCH_CONFIG ...` and the outputs.
    writeFileSync(
      join(bin, 'values.env'),
      dotenv({
        AZURE_ENV_NAME: 'sync-watch-prod',
        AZURE_RESOURCE_GROUP: 'rg-sync-watch-prod',
        AZURE_FUNCTION_NAME: 'func-sync-watch-prod',
        ...(world.env as Record<string, string>),
        WATCH_CONFIG: '/home/site/wwwroot/watch-config.json',
      }),
    );
  }, 60_000);
  afterAll(() => world.stop());

  it('consents, checks the config as the deploy does, runs the doctor, a cycle and the status, in that order', async () => {
    // "Many tenants without a secret (MSPs)": the deployment's settings into the shell, then the consent link.
    const [source, onboard] = commandsOf('azd env get-values > .azure/values.env');
    expect(source).toBe('azd env get-values > .azure/values.env && set -a && . .azure/values.env && set +a');
    expect(onboard).toBe('npm run onboard -- <customer tenant ID or domain>');
    const inShell = (command: string) => run(`${source} && ${command}`);

    const consent = await inShell((onboard as string).replace('<customer tenant ID or domain>', NORTHWIND));
    expect(consent.err).not.toMatch(/Invalid settings|no such file/);
    expect(consent.code).toBe(0);
    expect(consent.out).toContain(
      `Tenant ${NORTHWIND}: admin consent for the Entra Sync Watch app ${world.cloud.clientId}`,
    );

    // "A config file": azd deploy checks it before it packages (azure.yaml's prepackage, as azd runs it).
    const prepackage = (
      parseYaml(readFileSync(join(root, 'azure.yaml'), 'utf8')) as {
        services: { api: { hooks: { prepackage: { posix: { run: string } } } } };
      }
    ).services.api.hooks.prepackage.posix.run.split(' && ')[0] as string;
    expect(prepackage).toBe('npm run doctor -- --config-only');
    const configCheck = await inShell(prepackage);
    expect(configCheck.code).toBe(0);
    expect(configCheck.out).toMatch(new RegExp(`^config +ok: ${join(project, 'watch-config.json')}: valid`, 'm'));

    // "Check the deployment: npm run doctor", both commands of its block.
    const [doctor, oneTenant] = commandsOf('npm run doctor -- --tenant <tenant ID>');
    expect(doctor).toBe('npm run doctor');
    const all = await inShell(doctor as string);
    expect(all.err).toContain(
      'settings: WATCH_CONFIG="/home/site/wwwroot/watch-config.json" is the deployed app\'s path',
    );
    expect(all.code).toBe(0);
    expect(all.out).toContain(`── Tenant Contoso (${CONTOSO})`);
    expect(all.out).toContain(`── Tenant Northwind (${NORTHWIND})`);
    expect(all.out).toMatch(/Everything the config needs works: exit code 0\./);
    const one = await inShell((oneTenant as string).replace('<tenant ID>', CONTOSO));
    expect(one.code).toBe(0);
    expect(one.out).toContain(`── Tenant Contoso (${CONTOSO})`);
    expect(one.out).not.toContain('── Tenant Northwind');

    // "Run it against your tenant": one cycle, then the state.
    const cycle = await inShell('npm run cycle');
    expect(cycle.code).toBe(0);
    expect(cycle.out).toMatch(/cycle: 2 tenant\(s\) checked, \d+ job\(s\) seen/);
    const status = await inShell('npm run status');
    expect(status.code).toBe(0);
    expect(status.out).toContain('Entra Sync Watch status at');
  }, 180_000);
});
