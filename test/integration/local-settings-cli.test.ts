import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTypeScript } from '../support/process';

/**
 * `npm run onboard` and `npm run status` as a person runs them, in a folder with a
 * local.settings.json and variables in the environment: each says which source won a setting both
 * give, and refuses a merge that would mix two clouds, naming both sources. (`npm run cycle`, the
 * same through its command function: test/integration/cli-errors.test.ts.)
 */

const root = join(__dirname, '..', '..');
const APP = '1b2c3d4e-5f60-4718-9a0b-c1d2e3f4a5b6';
const HOME = '3f6a1c52-8d4e-4b7a-9c21-5e0d7f4a2b19';
const CUSTOMER = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
const OTHER = '4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d';

function folderWith(values: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'esw-local-cli-'));
  writeFileSync(join(dir, 'local.settings.json'), JSON.stringify({ IsEncrypted: false, Values: values }));
  return dir;
}

function command(cli: 'onboard' | 'status', cwd: string, env: Record<string, string>) {
  return runTypeScript(`lib/cli/${cli}.ts`, { cwd, env, label: `npm run ${cli}` });
}

const APP_SETTINGS = {
  ALERT_EMAIL_TO: 'ops@contoso.com',
  ALERT_EMAIL_FROM: 'DoNotReply@watch.contoso.com',
  ACS_ENDPOINT: 'https://watch.communication.azure.com',
  AZURE_TENANT_ID: HOME,
  AZURE_CLIENT_ID: APP,
  AZURE_CLIENT_CERTIFICATE_PATH: join(root, 'package.json'), // exists: onboard only reads the settings
};

describe('the commands say where a setting came from when local.settings.json and the environment both give it', () => {
  it('npm run onboard: the environment wins WATCH_TENANTS, one line says so, the link is for its tenant (exit 0)', async () => {
    const dir = folderWith({ ...APP_SETTINGS, WATCH_TENANTS: OTHER });
    const result = await command('onboard', dir, { WATCH_TENANTS: CUSTOMER });
    expect(result.code).toBe(0);
    expect(result.err.trim()).toBe(
      `settings: WATCH_TENANTS: the environment's "${CUSTOMER}" wins over "${OTHER}" from ${join(dir, 'local.settings.json')} (a variable set in the environment wins, as with Azure Functions Core Tools)`,
    );
    expect(result.out).toContain(`Tenant ${CUSTOMER}: admin consent for the Entra Sync Watch app ${APP}`);
    expect(result.out).not.toContain(OTHER);
  }, 20_000);

  it('npm run onboard and npm run status refuse endpoints of two clouds, naming both sources (exit 2)', async () => {
    const dir = folderWith({ ...APP_SETTINGS, WATCH_TENANTS: CUSTOMER, GRAPH_ENDPOINT: 'https://graph.microsoft.com' });
    const expected = `AZURE_CLOUD="AzureUSGovernment" from the environment and GRAPH_ENDPOINT="https://graph.microsoft.com" from ${join(dir, 'local.settings.json')} point at two clouds (AzureUSGovernment, AzurePublicCloud)`;
    for (const cli of ['onboard', 'status'] as const) {
      const result = await command(cli, dir, { AZURE_CLOUD: 'AzureUSGovernment' });
      expect(result.code, cli).toBe(2);
      expect(result.err, cli).toContain(expected);
      expect(result.out, cli).toBe('');
    }
  }, 30_000);

  it('npm run status prints the line too, before it reads any state', async () => {
    const dir = folderWith({
      ...APP_SETTINGS,
      WATCH_TENANTS: CUSTOMER,
      AzureWebJobsStorage__tableServiceUri: 'https://stfile.table.core.windows.net',
    });
    // Storage nobody listens on: the command fails after the settings, which is all this test needs.
    const result = await command('status', dir, { AzureWebJobsStorage__tableServiceUri: 'https://127.0.0.1:9/' });
    expect(result.err).toContain(
      `settings: AzureWebJobsStorage__tableServiceUri: the environment's "https://127.0.0.1:9" wins over "https://stfile.table.core.windows.net" from ${join(dir, 'local.settings.json')}`,
    );
  }, 30_000);
});
