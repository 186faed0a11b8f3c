import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cycleDepsFromSettings } from '../../lib/app';
import { localSettings } from '../../lib/settings/local-settings';
import { loadSettings } from '../../lib/settings/settings';
import { runCycle } from '../../lib/cycle/cycle';
import { settingsFor } from '../../emulators';
import { localCloudSettings, writeLocalSettings } from '../../scripts/local-settings';
import { memoryLogger, startWorld, withOwnTables, type World } from '../support/world';

/**
 * Running the product as a user does on their machine: `npm start` without Core Tools says what
 * to install, and the local.settings.json that `npm run local-cloud` writes for the Functions host
 * runs a whole cycle against the private cloud, read the way the host and `npm run cycle` read it.
 */
const root = join(__dirname, '..', '..');

describe('npm start without Azure Functions Core Tools', () => {
  it('says how to install them on each platform instead of "func: not found", and builds nothing', () => {
    const result = spawnSync(process.execPath, [join(root, 'scripts', 'start.mjs')], {
      cwd: root,
      env: { PATH: dirname(process.execPath) }, // node, and no func
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    for (const way of [
      'npm install --global azure-functions-core-tools@4',
      'winget install Microsoft.Azure.FunctionsCoreTools',
      'brew install azure-functions-core-tools@4',
      'apt-get install azure-functions-core-tools-4',
    ]) {
      expect(result.stderr).toContain(way);
    }
    expect(result.stderr).not.toMatch(/not found$/m);
  });
});

describe('local.settings.json for the Functions host watching the private cloud', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());

  it('runs a whole cycle with the settings the host would get', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esw-local-'));
    const file = join(dir, 'local.settings.json');
    writeLocalSettings(file, localCloudSettings(settingsFor(world.cloud), process.env.NODE_EXTRA_CA_CERTS as string));
    const env = localSettings({}, file).env;
    expect(env).toMatchObject({
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS,
    });
    const settings = loadSettings(env);
    expect(settings.schedule).toBe('*/30 * * * * *');

    // The host would use Azurite on its default ports; the test's Azurite stands in for it (every table the cycle uses).
    const summary = await runCycle(
      withOwnTables(cycleDepsFromSettings(settings, env, memoryLogger()), `local${Date.now()}`),
    );
    expect(summary).toMatchObject({ tenantsChecked: 2, errors: [] });
    expect(summary.jobsSeen).toBeGreaterThan(0);
  });

  it('never overwrites a local.settings.json a person wrote', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'esw-local-')), 'local.settings.json');
    writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: { AZURE_CLIENT_SECRET: 'mine' } }));
    expect(() => writeLocalSettings(file, localCloudSettings({}, 'ca.pem'))).toThrow(
      /exists and was not written by npm run local-cloud; move it aside/,
    );
    writeFileSync(file, '{ not json');
    expect(() => writeLocalSettings(file, localCloudSettings({}, 'ca.pem'))).toThrow(/move it aside/);
    writeFileSync(file, JSON.stringify(localCloudSettings({ WATCH_TENANTS: 'old' }, 'ca.pem')));
    writeLocalSettings(file, localCloudSettings({ WATCH_TENANTS: 'new' }, 'ca.pem'));
    expect(localSettings({}, file).env.WATCH_TENANTS).toBe('new');
  });
});
