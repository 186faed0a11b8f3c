import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localSettings } from '../../lib/config/local-settings';
import { isNcrontab, loadSettings, SettingsError, type Env } from '../../lib/config/settings';

const valid = {
  ALERT_EMAIL_TO: 'ops@contoso.com, oncall@contoso.com',
  ALERT_EMAIL_FROM: 'DoNotReply@contoso.azurecomm.net',
  ACS_ENDPOINT: 'https://contoso.communication.azure.com',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadSettings', () => {
  it('applies the documented defaults', () => {
    const s = loadSettings(valid);
    expect(s).toMatchObject({
      tenants: [],
      schedule: '0 */5 * * * *',
      emailTo: ['ops@contoso.com', 'oncall@contoso.com'],
      graphEndpoint: 'https://graph.microsoft.com',
      acs: { endpoint: 'https://contoso.communication.azure.com' },
      storage: { connectionString: 'UseDevelopmentStorage=true' },
    });
  });

  it('names every missing setting at once', () => {
    const p = problems({});
    expect(p.some((m) => m.startsWith('ALERT_EMAIL_TO is required'))).toBe(true);
    expect(p.some((m) => m.startsWith('ALERT_EMAIL_FROM is required'))).toBe(true);
    expect(p.some((m) => m.startsWith('ACS_ENDPOINT (Entra auth) or ACS_CONNECTION_STRING is required'))).toBe(true);
  });

  it('says what is wrong with malformed values', () => {
    expect(problems({ ...valid, WATCH_TENANTS: 'contoso.onmicrosoft.com, not a tenant' })).toEqual([
      'WATCH_TENANTS holds "not a tenant", which is neither a tenant ID (GUID) nor a domain name',
    ]);
    expect(problems({ ...valid, WATCH_SCHEDULE: 'every five minutes' })[0]).toMatch(
      /^WATCH_SCHEDULE="every five minutes" is not an NCRONTAB expression/,
    );
    expect(problems({ ...valid, ALERT_EMAIL_TO: 'ops@contoso.com,bob' })).toEqual([
      'ALERT_EMAIL_TO holds "bob", which is not an email address',
    ]);
    expect(problems({ ...valid, GRAPH_ENDPOINT: 'http://graph.example' })[0]).toMatch(
      /^GRAPH_ENDPOINT=.* must use https/,
    );
    expect(problems({ ...valid, GRAPH_ENDPOINT: 'https://graph.microsoft.com/v1.0' })[0]).toMatch(/without a path/);
    expect(
      problems({ ...valid, ACS_CONNECTION_STRING: 'endpoint=https://x.communication.azure.com/;accesskey=abc=' })[0],
    ).toMatch(/both set/);
    expect(problems({ ...valid, ACS_ENDPOINT: '', ACS_CONNECTION_STRING: 'accesskey=abc' })[0]).toMatch(
      /^ACS_CONNECTION_STRING must look like/,
    );
    expect(problems({ ...valid, WATCH_CONFIG: '/no/such/file.json' })).toEqual([
      'WATCH_CONFIG="/no/such/file.json": no such file',
    ]);
  });

  it('accepts tenant GUIDs and domains, de-duplicated and lower-cased', () => {
    const s = loadSettings({
      ...valid,
      WATCH_TENANTS:
        'AAAAAAAA-0000-0000-0000-000000000001,contoso.onmicrosoft.com,aaaaaaaa-0000-0000-0000-000000000001',
    });
    expect(s.tenants).toEqual(['aaaaaaaa-0000-0000-0000-000000000001', 'contoso.onmicrosoft.com']);
  });

  it('validates NCRONTAB shapes: six fields, as the README says', () => {
    expect(isNcrontab('0 */5 * * * *')).toBe(true);
    expect(isNcrontab('0 30 9 * Jan Mon')).toBe(true);
    expect(isNcrontab('*/5 * * * *')).toBe(false);
    expect(isNcrontab('0 */5 * *')).toBe(false);
    expect(isNcrontab('0 */5 * * * * *')).toBe(false);
  });
});

describe('local.settings.json merged into the environment', () => {
  const localEnv = (env: Env, file: string) => localSettings(env, file).env;
  const dir = mkdtempSync(join(tmpdir(), 'esw-settings-'));

  it('fills names the environment does not set from local.settings.json Values', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(
      file,
      JSON.stringify({ IsEncrypted: false, Values: { ALERT_EMAIL_TO: 'file@x.com', WATCH_TENANTS: 'contoso.com' } }),
    );
    expect(localEnv({ ALERT_EMAIL_TO: 'env@x.com' }, file)).toEqual({
      ALERT_EMAIL_TO: 'env@x.com',
      WATCH_TENANTS: 'contoso.com',
    });
  });

  it('fills a name the environment sets empty, as Core Tools does (an empty variable is not a value)', () => {
    const file = join(dir, 'empty-env.json');
    writeFileSync(file, JSON.stringify({ Values: { WATCH_TENANTS: 'contoso.com' } }));
    expect(localEnv({ WATCH_TENANTS: '' }, file).WATCH_TENANTS).toBe('contoso.com');
  });

  it('rejects a malformed file by name', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ "Values": { ');
    expect(() => localEnv({}, file)).toThrow(/bad\.json is not valid JSON/);
    writeFileSync(file, JSON.stringify({ Values: { N: 5 } }));
    expect(() => localEnv({}, file)).toThrow(/Values\.N must be a string/);
  });

  it('ignores a missing file', () => {
    expect(localEnv({ A: '1' }, join(dir, 'none.json'))).toEqual({ A: '1' });
  });
});
