import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localSettings } from '../../lib/settings/local-settings';
import { isNcrontab, loadSettings, SettingsError } from '../../lib/settings/settings';
import { type Env } from '../../lib/settings/env';

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

  it('refuses reserved example addresses (RFC 2606, RFC 6761) and the sample sender, naming the setting', () => {
    for (const address of [
      'ops@example.com',
      'you@example.com',
      'Ops@Example.NET',
      'a@mail.example.org',
      'ops@contoso.example',
      'x@watch.test',
      'x@nowhere.invalid',
      'x@localhost.localhost',
    ])
      expect(problems({ ...valid, ALERT_EMAIL_TO: `ops@contoso.com, ${address}` }), address).toEqual([
        expect.stringMatching(
          new RegExp(`^ALERT_EMAIL_TO holds "${address.replace(/\./g, '\\.')}", an example address: .* reserved`),
        ),
      ]);
    expect(problems({ ...valid, ALERT_EMAIL_FROM: 'DoNotReply@example.azurecomm.net' })).toEqual([
      expect.stringMatching(/^ALERT_EMAIL_FROM holds "DoNotReply@example\.azurecomm\.net", the sample's placeholder/),
    ]);
    expect(problems({ ...valid, ALERT_EMAIL_FROM: 'DoNotReply@example.com' })[0]).toMatch(
      /^ALERT_EMAIL_FROM holds "DoNotReply@example\.com", an example address/,
    );
    // Look-alikes that are real domains pass.
    for (const address of ['ops@example.company.com', 'ops@myexample.com', 'ops@test.contoso.com', 'x@fabrikam.com'])
      expect(problems({ ...valid, ALERT_EMAIL_TO: address }), address).toEqual([]);
  });

  it('the sample local.settings.sample.json fails loudly until its addresses are edited', () => {
    const sample = JSON.parse(readFileSync(join(__dirname, '..', '..', 'local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    };
    const p = problems(sample.Values);
    expect(p.some((m) => m.startsWith('ALERT_EMAIL_TO holds "ops@example.com", an example address'))).toBe(true);
    expect(p.some((m) => m.startsWith('ALERT_EMAIL_FROM holds "DoNotReply@example.azurecomm.net"'))).toBe(true);
  });

  it('accepts tenant GUIDs and domains, de-duplicated and lower-cased', () => {
    const s = loadSettings({
      ...valid,
      WATCH_TENANTS:
        'AAAAAAAA-0000-0000-0000-000000000001,contoso.onmicrosoft.com,aaaaaaaa-0000-0000-0000-000000000001',
    });
    expect(s.tenants).toEqual(['aaaaaaaa-0000-0000-0000-000000000001', 'contoso.onmicrosoft.com']);
  });

  it('validates NCRONTAB shapes: six fields, as docs/configuration.md says', () => {
    expect(isNcrontab('0 */5 * * * *')).toBe(true);
    expect(isNcrontab('0 30 9 * Jan Mon')).toBe(true);
    expect(isNcrontab('*/5 * * * *')).toBe(false);
    expect(isNcrontab('0 */5 * *')).toBe(false);
    expect(isNcrontab('0 */5 * * * * *')).toBe(false);
  });
});

describe('ACS_EMAIL_DOMAIN_KIND: the sender domain sets the default send budget', () => {
  const custom = { ...valid, ALERT_EMAIL_FROM: 'DoNotReply@alerts.contoso.com' };
  it('infers an Azure-managed domain from a sender under azurecomm.net, and a custom one otherwise', () => {
    expect(loadSettings(valid).emailDomainKind).toBe('managed');
    expect(
      loadSettings({ ...valid, ALERT_EMAIL_FROM: 'DoNotReply@0f1e2d3c-AAAA-4bbb-8ccc-123456789abc.AzureComm.NET' })
        .emailDomainKind,
    ).toBe('managed');
    expect(loadSettings(custom).emailDomainKind).toBe('custom');
    // A look-alike is not Azure's domain.
    expect(loadSettings({ ...valid, ALERT_EMAIL_FROM: 'a@notazurecomm.net' }).emailDomainKind).toBe('custom');
  });
  it('takes the setting over the inference, in any case', () => {
    expect(loadSettings({ ...custom, ACS_EMAIL_DOMAIN_KIND: 'Managed' }).emailDomainKind).toBe('managed');
    expect(loadSettings({ ...valid, ACS_EMAIL_DOMAIN_KIND: ' custom ' }).emailDomainKind).toBe('custom');
  });
  it('rejects another value, naming the setting and what it accepts', () => {
    expect(problems({ ...valid, ACS_EMAIL_DOMAIN_KIND: 'azure' })).toEqual([
      'ACS_EMAIL_DOMAIN_KIND="azure" is not a kind of ACS email domain; expected managed (an Azure-managed domain, *.azurecomm.net: 5 emails a minute, 10 an hour) or custom (your own verified domain: 30 a minute, 100 an hour)',
    ]);
  });
});

describe('WATCH_SECRETS_READ: the undocumented secrets read, on or off', () => {
  it('is on unless it says off, in any case', () => {
    expect(loadSettings(valid).secretsRead).toBe(true);
    expect(loadSettings({ ...valid, WATCH_SECRETS_READ: ' On ' }).secretsRead).toBe(true);
    expect(loadSettings({ ...valid, WATCH_SECRETS_READ: 'OFF' }).secretsRead).toBe(false);
  });
  it('rejects another value, naming the setting and what each value does', () => {
    expect(problems({ ...valid, WATCH_SECRETS_READ: 'no' })).toEqual([
      'WATCH_SECRETS_READ="no" is neither on nor off; on (default) reads each configuration\'s synchronization secrets for the early warnings (notification email, deletion prevention, SCIM token expiry), off turns those warnings off',
    ]);
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
