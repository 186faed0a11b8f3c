import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localSettings, shownValue } from '../../lib/settings/local-settings';
import { SettingsError } from '../../lib/settings/settings';
import { type Env } from '../../lib/settings/env';

/**
 * Which source wins when the environment and a local.settings.json both give a setting, what the
 * commands say about it, and which merges they refuse (lib/settings/local-settings.ts). The commands
 * themselves print these lines: test/integration/cli-errors.test.ts and local-settings-cli.test.ts.
 */

const dir = mkdtempSync(join(tmpdir(), 'esw-local-settings-'));
let files = 0;
function file(values: Record<string, string>): string {
  const path = join(dir, `local.settings.${++files}.json`);
  writeFileSync(path, JSON.stringify({ IsEncrypted: false, Values: values }));
  return path;
}
function refusal(env: Env, path: string): string {
  try {
    localSettings(env, path);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('not refused');
}

const TENANT_A = '3f6a1c52-8d4e-4b7a-9c21-5e0d7f4a2b19';
const TENANT_B = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
const APP = '1b2c3d4e-5f60-4718-9a0b-c1d2e3f4a5b6';
const SECRET_ENV = 'env-secret-Value-9f8e7d6c5b4a3f2e1d0c';
const SECRET_FILE = 'file-secret-Value-0a1b2c3d4e5f6a7b8c9d';

describe('local.settings.json and the environment', () => {
  it('the environment wins a setting both give, and one line says so with both values and where each came from', () => {
    const path = file({ WATCH_SCHEDULE: '0 */5 * * * *', ALERT_EMAIL_TO: 'ops@contoso.com' });
    const { env, notes } = localSettings({ WATCH_SCHEDULE: '0 */10 * * * *' }, path);
    expect(env.WATCH_SCHEDULE).toBe('0 */10 * * * *');
    expect(env.ALERT_EMAIL_TO).toBe('ops@contoso.com');
    expect(notes).toEqual([
      `settings: WATCH_SCHEDULE: the environment's "0 */10 * * * *" wins over "0 */5 * * * *" from ${path} (a variable set in the environment wins, as with Azure Functions Core Tools)`,
    ]);
  });

  it('says nothing about a setting both give alike, or one the environment leaves empty', () => {
    const path = file({ WATCH_TENANTS: TENANT_A, WATCH_SCHEDULE: '0 */5 * * * *' });
    const { env, notes } = localSettings({ WATCH_TENANTS: TENANT_A, WATCH_SCHEDULE: '' }, path);
    expect(notes).toEqual([]);
    expect(env.WATCH_SCHEDULE).toBe('0 */5 * * * *');
  });

  it('never prints a secret: its length and a hash prefix tell two values apart', () => {
    const path = file({ AZURE_CLIENT_SECRET: SECRET_FILE, TEAMS_OPS_URL: 'https://x.example/invoke?sig=FileSig' });
    const { notes } = localSettings(
      { AZURE_CLIENT_SECRET: SECRET_ENV, TEAMS_OPS_URL: 'https://x.example/invoke?sig=EnvSig' },
      path,
    );
    const text = notes.join('\n');
    expect(notes).toHaveLength(2);
    expect(text).not.toMatch(/env-secret|file-secret|EnvSig|FileSig/);
    expect(text).toMatch(
      new RegExp(
        `AZURE_CLIENT_SECRET: the environment's a hidden value \\(${SECRET_ENV.length} characters, sha256 [0-9a-f]{8}…\\) wins over a hidden value \\(${SECRET_FILE.length} characters, sha256 [0-9a-f]{8}…\\)`,
      ),
    );
    expect(shownValue('AZURE_CLIENT_SECRET', SECRET_ENV)).not.toBe(shownValue('AZURE_CLIENT_SECRET', SECRET_FILE));
    expect(shownValue('GRAPH_ENDPOINT', 'https://graph.example/?sig=abc')).toBe(
      '"https://graph.example (query hidden)"',
    );
  });

  it('the environment replacing a placeholder, or the whole identity, is no conflict', () => {
    const sample = file({ AZURE_TENANT_ID: '00000000-0000-0000-0000-000000000000', AZURE_CLIENT_ID: APP });
    expect(localSettings({ AZURE_TENANT_ID: TENANT_A }, sample).env.AZURE_TENANT_ID).toBe(TENANT_A);
    const whole = file({ AZURE_TENANT_ID: TENANT_B, AZURE_CLIENT_ID: APP, AZURE_CLIENT_SECRET: SECRET_FILE });
    const { notes } = localSettings(
      {
        AZURE_TENANT_ID: TENANT_A,
        AZURE_CLIENT_ID: 'aaaaaaaa-5f60-4718-9a0b-c1d2e3f4a5b6',
        AZURE_CLIENT_SECRET: SECRET_ENV,
      },
      whole,
    );
    expect(notes).toHaveLength(3);
    // A secret kept out of the file, the app named in it: one identity, two places, no conflict.
    const secretElsewhere = file({ AZURE_TENANT_ID: TENANT_B, AZURE_CLIENT_ID: APP });
    expect(localSettings({ AZURE_CLIENT_SECRET: SECRET_ENV }, secretElsewhere).notes).toEqual([]);
  });

  it('refuses a tenant from the environment with the app and secret of the file, naming both sources', () => {
    const path = file({ AZURE_TENANT_ID: TENANT_B, AZURE_CLIENT_ID: APP, AZURE_CLIENT_SECRET: SECRET_FILE });
    const text = refusal({ AZURE_TENANT_ID: TENANT_A }, path);
    expect(text).toBe(
      `AZURE_TENANT_ID="${TENANT_A}" from the environment would sign in with AZURE_CLIENT_ID and AZURE_CLIENT_SECRET from ${path}, which gives AZURE_TENANT_ID="${TENANT_B}" for them: one identity from two sources. Set AZURE_TENANT_ID, AZURE_CLIENT_ID, the secret or certificate in one place.`,
    );
    expect(text).not.toContain(SECRET_FILE);
  });

  it('refuses endpoints of two clouds from the two sources', () => {
    const path = file({ GRAPH_ENDPOINT: 'https://graph.microsoft.com' });
    expect(refusal({ AZURE_CLOUD: 'AzureUSGovernment' }, path)).toBe(
      `AZURE_CLOUD="AzureUSGovernment" from the environment and GRAPH_ENDPOINT="https://graph.microsoft.com" from ${path} point at two clouds (AzureUSGovernment, AzurePublicCloud): the command would sign in to one and read the other. Set the cloud and its endpoints in one place.`,
    );
    // The same cloud from both, or an endpoint no cloud owns (a private cloud, the emulators): fine.
    expect(
      localSettings({ AZURE_CLOUD: 'AzureUSGovernment' }, file({ GRAPH_ENDPOINT: 'https://graph.microsoft.us' })).notes,
    ).toEqual([]);
    expect(
      localSettings({ AZURE_CLOUD: 'AzurePublicCloud' }, file({ GRAPH_ENDPOINT: 'https://127.0.0.1:7443' })).notes,
    ).toEqual([]);
  });

  it("refuses moving the file's tenants to another cloud, and allows it once the environment gives them too", () => {
    const path = file({
      AZURE_CLOUD: 'AzurePublicCloud',
      WATCH_TENANTS: TENANT_B,
      ALERT_EMAIL_TO: 'ops@contoso.com',
    });
    expect(refusal({ AZURE_CLOUD: 'AzureChinaCloud' }, path)).toBe(
      `AZURE_CLOUD="AzureChinaCloud" from the environment would be used with WATCH_TENANTS from ${path}, which names them for AzurePublicCloud: the command would look for them in the wrong cloud. Set the cloud and these settings in one place.`,
    );
    const { env, notes } = localSettings({ AZURE_CLOUD: 'AzureChinaCloud', WATCH_TENANTS: TENANT_A }, path);
    expect(env.AZURE_CLOUD).toBe('AzureChinaCloud');
    expect(notes.map((n) => n.split(':')[1]?.trim())).toEqual(['AZURE_CLOUD', 'WATCH_TENANTS']);
  });
});

describe('WATCH_CONFIG as a deployment sets it, on this machine', () => {
  /** A project folder with the config file at its root, as azd packages it. */
  function project(withConfig = true): string {
    const dir = mkdtempSync(join(tmpdir(), 'esw-deployed-config-'));
    if (withConfig) writeFileSync(join(dir, 'watch-config.json'), '{}');
    return dir;
  }
  const deployed = { WATCH_CONFIG: '/home/site/wwwroot/watch-config.json' };

  it("reads the project's file for the deployed app's /home/site/wwwroot path, and says so (azd env get-values, then npm run onboard)", () => {
    const dir = project();
    const { env, notes } = localSettings(deployed, join(dir, 'local.settings.json'));
    expect(env.WATCH_CONFIG).toBe(join(dir, 'watch-config.json'));
    expect(notes).toEqual([
      `settings: WATCH_CONFIG="/home/site/wwwroot/watch-config.json" is the deployed app's path; ${join(dir, 'watch-config.json')}, the file the deployment ships, is read instead`,
    ]);
  });

  it('leaves it alone when the project has no such file, and any other path', () => {
    expect(localSettings(deployed, join(project(false), 'local.settings.json')).env).toEqual(deployed);
    const other = { WATCH_CONFIG: '/etc/watch-config.json' };
    expect(localSettings(other, join(project(), 'local.settings.json'))).toEqual({ env: other, notes: [] });
  });
});
