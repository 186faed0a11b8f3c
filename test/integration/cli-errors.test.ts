import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cycleCommand } from '../../lib/cli/cycle-command';
import type { Env } from '../../lib/settings/env';
import { recordSecret } from '../../emulators/secrets';
import { captureLog } from '../support/log-capture';
import { closedPort } from '../support/ports';
import { runTypeScript } from '../support/process';
import { DEMO_SCENARIO, ownStorage, startWorld, type World } from '../support/world';
import { NORTHWIND } from '../support/demo';

/**
 * `npm run cycle` with every kind of user mistake: each is named (the setting, the file, the
 * service) and none prints a stack trace. Run in process for speed; one real process proves that
 * a hung tenant neither hangs the cycle nor keeps the process alive.
 */

const dir = mkdtempSync(join(tmpdir(), 'esw-cli-'));

async function run(
  env: Env,
  localSettingsFile = join(dir, 'no-local-settings.json'),
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await cycleCommand(env, { out: (l) => out.push(l), err: (l) => err.push(l) }, localSettingsFile);
  captureLog('npm run cycle (in process)', [...out, ...err].join('\n'));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A stack trace line, as Node prints one. */
const STACK = /\n\s+at .+\(|\n\s+at .+:\d+:\d+/;

describe('npm run cycle names every user mistake, without a stack trace', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(DEMO_SCENARIO, { AzureWebJobsStorage: ownStorage('clierrors') });
  });
  afterAll(() => world.stop());

  it('bad settings: storage garbage, a bad tenant, a missing certificate, a schedule out of range (exit 2)', async () => {
    const { AZURE_CLIENT_SECRET: _secret, ...withoutSecret } = world.env;
    const result = await run({
      ...withoutSecret,
      AzureWebJobsStorage: 'garbage',
      AZURE_TENANT_ID: 'not a tenant',
      AZURE_CLIENT_CERTIFICATE_PATH: join(dir, 'missing.pem'),
      WATCH_SCHEDULE: '99 99 99 * * *',
    });
    expect(result.code).toBe(2);
    expect(result.err).toContain('AzureWebJobsStorage is not a storage connection string');
    expect(result.err).toContain('AZURE_TENANT_ID="not a tenant" is neither a tenant ID (GUID) nor a domain name');
    expect(result.err).toContain(`AZURE_CLIENT_CERTIFICATE_PATH="${join(dir, 'missing.pem')}": no such file`);
    expect(result.err).toContain(
      'WATCH_SCHEDULE="99 99 99 * * *" is not an NCRONTAB expression: second field "99": 99 is out of range 0-59',
    );
    expect(result.err).not.toMatch(STACK);
  });

  it('a five-field schedule and an http:// table URI with a SAS: named, and the signature is never echoed (exit 2)', async () => {
    const { AzureWebJobsStorage: _storage, ...rest } = world.env;
    recordSecret('sas-signature', 'TopSecretSignature%3D');
    const result = await run({
      ...rest,
      WATCH_SCHEDULE: '*/5 * * * *',
      AzureWebJobsStorage__tableServiceUri:
        'http://account.table.core.windows.net/?sv=2022-11-02&sig=TopSecretSignature%3D',
    });
    expect(result.code).toBe(2);
    expect(result.err).toContain('has 5 fields; the Azure Functions timer takes six');
    expect(result.err).toContain('did you mean "0 */5 * * * *"?');
    expect(result.err).toContain(
      'AzureWebJobsStorage__tableServiceUri="http://account.table.core.windows.net (query hidden)" must use https://',
    );
    expect(result.err).not.toContain('TopSecretSignature');
    expect(result.err).not.toContain('sig=');
  });

  it('a wrong account key: Table Storage refused the credentials, in words rather than XML (exit 2)', async () => {
    const wrongKey = inject('storageConnectionString').replace(
      /AccountKey=[^;]+/,
      `AccountKey=${Buffer.from('not the key').toString('base64')}`,
    );
    const result = await run({ ...world.env, AzureWebJobsStorage: wrongKey });
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /^cannot run: Table Storage at http:\/\/127\.0\.0\.1:\d+ refused the credentials \(403 AuthorizationFailure\): check the AccountKey/m,
    );
    expect(result.err).not.toContain('<?xml');
    expect(result.err).not.toMatch(STACK);
  });

  it('unreachable storage: says so and says to start Azurite (exit 2)', async () => {
    const port = await closedPort();
    const result = await run({
      ...world.env,
      AzureWebJobsStorage: inject('storageConnectionString').replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`),
    });
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      new RegExp(
        `cannot run: Table Storage at http://127\\.0\\.0\\.1:${port} cannot be reached \\(ECONNREFUSED.*start Azurite \\(npx azurite-table\\)`,
      ),
    );
    expect(result.err).not.toMatch(STACK);
  });

  it('a config nested 2,000 levels deep is a config error, not a RangeError (exit 2)', async () => {
    let route: unknown = { to: ['deep@contoso.com'] };
    for (let i = 0; i < 2000; i++) route = { routes: [route] };
    const file = join(dir, 'deep.json');
    writeFileSync(file, JSON.stringify({ route }));
    const result = await run({ ...world.env, WATCH_CONFIG: file });
    expect(result.code).toBe(2);
    expect(result.err).toContain(`Invalid config ${file}:`);
    expect(result.err).toMatch(/nested \d+ levels deep; a config is at most 64 levels deep/);
    expect(result.err).not.toMatch(/RangeError|Maximum call stack/);
  });

  it('a local.settings.json beside it: one line per setting both give differently, naming the winner and both sources, secrets hidden', async () => {
    const { AZURE_CLIENT_SECRET: secret, ...withoutSecret } = world.env;
    const file = join(dir, 'overlapping.local.settings.json');
    writeFileSync(
      file,
      JSON.stringify({
        IsEncrypted: false,
        Values: {
          AZURE_CLIENT_SECRET: secret, // kept out of the environment: taken from the file, no line
          ALERT_EMAIL_TO: 'file-only@contoso.com',
          WATCH_SCHEDULE: '0 */5 * * * *',
          OPS_WEBHOOK_SECRET: 'a-stale-signing-secret-from-last-month',
        },
      }),
    );
    const result = await run({ ...withoutSecret, WATCH_SCHEDULE: '0 */10 * * * *' }, file);
    expect(result.out).toMatch(/^cycle: /m);
    expect(result.code).not.toBe(2);
    const lines = result.err.split('\n').filter((l) => l.startsWith('settings: '));
    expect(lines).toEqual([
      `settings: ALERT_EMAIL_TO: the environment's "ops@contoso.com" wins over "file-only@contoso.com" from ${file} (a variable set in the environment wins, as with Azure Functions Core Tools)`,
      `settings: WATCH_SCHEDULE: the environment's "0 */10 * * * *" wins over "0 */5 * * * *" from ${file} (a variable set in the environment wins, as with Azure Functions Core Tools)`,
      expect.stringMatching(
        /^settings: OPS_WEBHOOK_SECRET: the environment's a hidden value \(\d+ characters, sha256 [0-9a-f]{8}…\) wins over a hidden value \(38 characters, sha256 [0-9a-f]{8}…\) from /,
      ),
    ]);
    expect(result.err).not.toContain(world.env.OPS_WEBHOOK_SECRET as string);
    expect(result.err).not.toContain('a-stale-signing-secret');
  });

  it('a local.settings.json whose app would sign in to the tenant the environment names: refused, both sources named (exit 2)', async () => {
    const { AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID, ...rest } = world.env;
    const file = join(dir, 'other-identity.local.settings.json');
    writeFileSync(file, JSON.stringify({ Values: { AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET } }));
    const result = await run({ ...rest, AZURE_TENANT_ID: NORTHWIND }, file);
    expect(result.code).toBe(2);
    expect(result.err).toContain(
      `AZURE_TENANT_ID="${NORTHWIND}" from the environment would sign in with AZURE_CLIENT_ID and AZURE_CLIENT_SECRET from ${file}, which gives AZURE_TENANT_ID="${AZURE_TENANT_ID}" for them`,
    );
    expect(result.out).not.toMatch(/^cycle: /m);
    expect(result.err).not.toMatch(STACK);
  });

  it('a hung tenant: a real process reports it "timed out" and exits 1 within its deadline, the other tenant checked', async () => {
    world.cloud.control.reset();
    world.cloud.control.injectFault({ status: 0, hang: true, times: 1000, tenantId: NORTHWIND });
    // Every 10 s: an 8 s cycle, 3 s a tenant.
    const env = { ...world.env, WATCH_SCHEDULE: '*/10 * * * * *' };
    const started = Date.now();
    const result = await runTypeScript('lib/cli/cycle.ts', {
      cwd: dir,
      env: { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, ...env },
      label: 'npm run cycle',
    });
    expect(result.code).toBe(1);
    // Whole tenant, or each configuration read under the tenant's deadline: named as timed out either way.
    expect(result.err).toMatch(
      new RegExp(`tenant ${NORTHWIND}: (cannot monitor: |jobs of .* not read: ).*timed out after [0-9.]+ s`),
    );
    expect(result.out).toMatch(/cycle: 2 tenant\(s\) checked, 8 job\(s\) seen/);
    expect(Date.now() - started).toBeLessThan(8000 + 4000); // the deadline, plus starting Node and tsx
  }, 20_000);
});
