import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { doctor } from '../../functions/doctor';
import { doctorCommand } from '../../lib/cli/doctor-command';
import type { CheckRow, DoctorReport } from '../../lib/doctor/report';
import type { Env } from '../../lib/settings/env';
import { captureLog } from '../support/log-capture';
import { closedPort } from '../support/ports';
import { runTypeScript } from '../support/process';
import { DEMO_SCENARIO, ownStorage, startWorld, type World } from '../support/world';

/**
 * `npm run doctor` against the private cloud: per tenant every permission the config needs,
 * proven by the cheapest read, the licence and the status filter of the logs, the config (its KQL
 * rules through the Kusto language service), Table Storage and the ACS sender; one table, and an
 * exit code that fails only for what the config needs. The done-when cases run it as a real
 * process, as a person does; the others run its command function, for speed.
 */

const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const NORTHWIND = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
const SERVICENOW_JOB = 'ServiceNowOutDelta.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e04';
const DEMO_CONFIG = join(__dirname, '..', '..', 'emulators', 'scenarios', 'demo-config.json');
const EVERY_GRANT = ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'];

const dir = mkdtempSync(join(tmpdir(), 'esw-doctor-'));
const STACK = /\n\s+at .+\(|\n\s+at .+:\d+:\d+/;

function configFile(name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** `npm run doctor` as a person runs it: a process, in a folder without local.settings.json. */
function doctorProcess(env: Env, args: string[] = []) {
  return runTypeScript('lib/cli/doctor.ts', {
    cwd: dir,
    env: { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, ...env },
    args,
    label: 'npm run doctor',
  });
}

/** The doctor's command in this process, its report as JSON. */
async function doctorJson(env: Env): Promise<{ code: number; report: DoctorReport; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await doctorCommand(env, { out: (l) => out.push(l), err: (l) => err.push(l) }, ['--json'], {
    localSettingsFile: join(dir, 'no-local-settings.json'),
  });
  captureLog('npm run doctor -- --json (in process)', [...out, ...err].join('\n'));
  return { code, report: JSON.parse(out.join('\n') || '{}') as DoctorReport, err: err.join('\n') };
}

const rowOf = (report: DoctorReport, check: string, tenant?: string): CheckRow | undefined =>
  report.checks.find((c) => c.check === check && c.tenant === tenant);

/** The lines of one group of the table (from its `── ...` line to the next group or the end). */
function groupOf(lines: string[], title: string): string[] {
  const start = lines.indexOf(title);
  expect(start, title).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && (l.startsWith('── ') || l === ''));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** One row of a group, its result and fix read back from their columns (where the header puts them). */
function rowIn(group: string[], check: string): { result: string; fix: string } {
  const start = group.findIndex((l) => l.startsWith(`${check} `));
  expect(start, check).toBeGreaterThanOrEqual(0);
  const next = group.findIndex((l, i) => i > start && !l.startsWith(' '));
  const rows = group.slice(start, next < 0 ? undefined : next);
  const columns = { result: 19, fix: TABLE_HEADER_FIX };
  const text = (from: number, to?: number) =>
    rows
      .map((l) => l.slice(from, to).trim())
      .filter(Boolean)
      .join(' ');
  const hasFix = rows.some((l) => l.length > columns.fix && l.slice(columns.fix - 2, columns.fix) === '  ');
  return hasFix
    ? { result: text(columns.result, columns.fix), fix: text(columns.fix) }
    : { result: text(columns.result), fix: '' };
}

/** Where the FIX column starts in a 100-column table (the header's FIX). */
const TABLE_HEADER_FIX = 'CHECK              RESULT                                      FIX'.indexOf('FIX');

describe('npm run doctor', () => {
  let world: World;
  let env: Env;
  beforeAll(async () => {
    world = await startWorld(DEMO_SCENARIO, { AzureWebJobsStorage: ownStorage('doctor') });
    env = { ...world.env, WATCH_CONFIG: DEMO_CONFIG };
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    world.cloud.control.reset();
    world.cloud.acs.reset();
    world.cloud.logAnalytics.reset();
  });

  it('against the emulators: one table no wider than 100 columns, every check ok, exit 0', async () => {
    const result = await doctorProcess(env);
    expect(result.err).not.toMatch(STACK);
    expect(result.code).toBe(0);
    const lines = result.out.trimEnd().split('\n');
    expect(lines.filter((l) => l.length > 100)).toEqual([]);
    expect(lines).toContainEqual(expect.stringMatching(/^CHECK +RESULT +FIX$/));
    for (const check of ['config', 'table-storage', 'acs-sender'])
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${check} +ok: `)));
    for (const check of [
      'sign-in',
      'discovery',
      'job-status',
      'early-warnings',
      'provisioning-logs',
      'licence',
      'log-filter',
    ])
      expect(
        lines.filter((l) => new RegExp(`^${check} +ok: `).test(l)),
        check,
      ).toHaveLength(2);
    // Each tenant's rows under one line naming it by its config name and ID.
    expect(lines.filter((l) => l.startsWith('── Tenant '))).toEqual([
      `── Tenant Contoso (${CONTOSO})`,
      `── Tenant Northwind (${NORTHWIND})`,
    ]);
    expect(lines).toContainEqual(expect.stringMatching(/^sign-in +ok: token \(its tid checked\); app roles: /));
    expect(result.out.trimEnd()).toMatch(/Everything the config needs works: exit code 0\.$/);
    // Nothing secret: the client secret, the ACS key, a token.
    expect(result.out + result.err).not.toContain(world.env.AZURE_CLIENT_SECRET as string);
    expect(result.out + result.err).not.toMatch(/accesskey=|eyJ[A-Za-z0-9_-]{20,}\./i);
  }, 60_000);

  it('without AuditLog.Read.All in one tenant: exit 1, naming the permission and the consent link for that tenant only', async () => {
    world.cloud.control.setGrants(NORTHWIND, ['Application.Read.All', 'Synchronization.Read.All']);
    const result = await doctorProcess(env);
    expect(result.code).toBe(1);
    const lines = result.out.split('\n');
    const group = groupOf(lines, `── Tenant Northwind (${NORTHWIND})`);
    const row = rowIn(group, 'provisioning-logs');
    expect(row.result).toMatch(
      /^FAIL: 403 Authentication_MSGraphPermissionMissing: Calling principal does not have required MSGraph permissions AuditLog\.Read\.All/,
    );
    expect(row.fix).toMatch(
      /^Grant the app the Microsoft Graph application permission AuditLog\.Read\.All .* consents with the link \[1\]$/,
    );
    const link = lines.find((l) => l.startsWith('[1] ')) ?? '';
    expect(link).toContain(`/${NORTHWIND}/v2.0/adminconsent?client_id=${world.cloud.clientId}`);
    expect(link).toContain(`state=${NORTHWIND}`);
    // Contoso keeps every grant: its logs are fine.
    expect(rowIn(groupOf(lines, `── Tenant Contoso (${CONTOSO})`), 'provisioning-logs').result).toMatch(/^ok: /);
    expect(result.out).toMatch(/1 check\(s\) the config needs failed: exit code 1\.\s*$/);
  }, 60_000);

  it('with the synchronization secrets refused: says the early warnings are degraded and why, and exits 0', async () => {
    world.cloud.control.setSecretsPolicy(CONTOSO, '403');
    const result = await doctorProcess(env);
    expect(result.code).toBe(0);
    const row = rowIn(groupOf(result.out.split('\n'), `── Tenant Contoso (${CONTOSO})`), 'early-warnings');
    expect(row.result).toBe(
      'WARN: degraded: the early warnings (scim-token-expiring, notification-email-off, deletion-prevention-off\'s secret check) are skipped where Graph does not give the synchronization secrets; those of "Fabrikam to Contoso": 403 Authorization_RequestDenied: Insufficient privileges to complete the operation.',
    );
    expect(row.fix).toContain(
      'Optional (the other checks do not need them): grant Application.ReadWrite.All or Directory.ReadWrite.All (known to work for this undocumented read; both can also write), or set WATCH_SECRETS_READ=off',
    );
    expect(result.out).toMatch(/Everything the config needs works \(and 1 warning\(s\) worth a look\): exit code 0\./);
  }, 60_000);

  it("a tenant without a P1/P2 licence: the licence fails with Graph's code and what to do, the other tenant is fine", async () => {
    world.cloud.control.setLicence(CONTOSO, 'free');
    const { code, report } = await doctorJson(env);
    expect(code).toBe(1);
    expect(rowOf(report, 'licence', CONTOSO)).toMatchObject({
      status: 'fail',
      needed: true,
      result: expect.stringContaining('403 Authentication_RequestFromNonPremiumTenantOrB2CTenant'),
      fix: expect.stringContaining('A Microsoft Entra ID P1 or P2 licence in this tenant'),
    });
    expect(rowOf(report, 'provisioning-logs', CONTOSO)?.status).toBe('skipped');
    expect(rowOf(report, 'licence', NORTHWIND)?.status).toBe('ok');
    expect(report.checks.filter((c) => c.status === 'fail')).toHaveLength(1);
  }, 30_000);

  it('the status filter refused or ignored is a warning (the monitor falls back to reading by time and filters itself)', async () => {
    world.cloud.control.setProvisioningLogModes(CONTOSO, { statusFilter: 'refused' });
    const refused = await doctorJson(env);
    expect(refused.code).toBe(0);
    expect(rowOf(refused.report, 'log-filter', CONTOSO)).toMatchObject({
      status: 'warn',
      result: expect.stringContaining('400 BadRequest Invalid filter clause'),
      fix: expect.stringContaining("reads this tenant's logs by time only"),
    });

    world.cloud.control.reset();
    world.cloud.control.addProvisioningEvents(CONTOSO, [{ job: SERVICENOW_JOB, count: 3, status: 'success' }]);
    world.cloud.control.setProvisioningLogModes(CONTOSO, { statusFilter: 'ignored' });
    const ignored = await doctorJson(env);
    expect(ignored.code).toBe(0);
    expect(rowOf(ignored.report, 'log-filter', CONTOSO)).toMatchObject({
      status: 'warn',
      result: 'Graph ignored the status filter: 3 of 3 event(s) of the day are not failures',
    });
    // The filter honoured: only failures come back.
    world.cloud.control.setProvisioningLogModes(CONTOSO, { statusFilter: 'supported' });
    expect(rowOf((await doctorJson(env)).report, 'log-filter', CONTOSO)?.status).toBe('ok');
  }, 60_000);

  it('a KQL rule with an unknown column fails the config check with its line and column; the tenants are still checked', async () => {
    const file = configFile('bad-kql.json', {
      kqlRules: [
        {
          name: 'kql-failure-spike',
          timeSpan: '1h',
          query: 'AADProvisioningLogs\n| where ResultType == "Failure"\n| summarize Failures = count() by BogusColumn',
          threshold: { column: 'Failures', operator: '>', value: 5 },
        },
      ],
    });
    const { code, report } = await doctorJson({ ...env, WATCH_CONFIG: file });
    expect(code).toBe(1);
    expect(rowOf(report, 'config')).toMatchObject({
      status: 'fail',
      result: `${file}: 1 problem(s):\nkqlRules[0].query: line 3, column 35: The name 'BogusColumn' does not refer to any known column, table, variable or function. (KS142)\n(the other checks follow the defaults)`,
    });
    expect(rowOf(report, 'job-status', CONTOSO)?.status).toBe('ok');
    expect(report.checks.some((c) => c.check.startsWith('kql:'))).toBe(false);
  }, 30_000);

  it('runs each valid KQL rule in the workspace; KQL the emulator does not run is a warning of its own, not a config error', async () => {
    const file = configFile('kql.json', {
      kqlRules: [
        {
          name: 'kql-failure-spike',
          timeSpan: '1h',
          query: 'AADProvisioningLogs | where ResultType == "Failure" | summarize Failures = count() by JobId',
          threshold: { column: 'Failures', operator: '>', value: 5 },
          labels: { tenant: CONTOSO },
        },
        {
          name: 'kql-chart',
          timeSpan: '1h',
          query: 'AADProvisioningLogs | where ResultType == "Failure" | render timechart',
          threshold: { operator: '>', value: 5 },
        },
      ],
    });
    const { code, report } = await doctorJson({ ...env, WATCH_CONFIG: file });
    expect(rowOf(report, 'config')?.result).toBe(
      `${file}: valid; 2 KQL rule(s) pass the Kusto language service's check against AADProvisioningLogs`,
    );
    expect(rowOf(report, 'kql:kql-failure-spike', CONTOSO)).toMatchObject({
      status: 'ok',
      result: expect.stringMatching(/ran it over the last 5 minutes: 0 row\(s\)$/),
    });
    expect(rowOf(report, 'kql:kql-chart')).toMatchObject({
      status: 'warn',
      result: expect.stringContaining('the Log Analytics emulator does not run it: 400 EmulatorUnsupported'),
    });
    expect(code).toBe(0);
    expect(world.cloud.logAnalytics.queries().map((q) => q.timespan)).toEqual(['PT300S', 'PT300S']);
  }, 30_000);

  it('Table Storage unreachable: it fails with what to check, and every other check still runs', async () => {
    const port = await closedPort();
    const { code, report } = await doctorJson({
      ...env,
      AzureWebJobsStorage: ownStorage('doctor').replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`),
    });
    expect(code).toBe(1);
    expect(rowOf(report, 'table-storage')).toMatchObject({
      status: 'fail',
      result: expect.stringMatching(
        new RegExp(`^Table Storage at http://127\\.0\\.0\\.1:${port} cannot be reached \\(ECONNREFUSED`),
      ),
      fix: expect.stringContaining('Storage Table Data Contributor'),
    });
    expect(rowOf(report, 'acs-sender')?.status).toBe('ok');
    expect(rowOf(report, 'job-status', NORTHWIND)?.status).toBe('ok');
  }, 60_000);

  it('ACS refusing the credential: the sender check fails naming the access key; nothing is sent', async () => {
    const wrongKey = (world.env.ACS_CONNECTION_STRING as string).replace(
      /accesskey=[^;]+/i,
      `accesskey=${Buffer.from('not the key').toString('base64')}`,
    );
    const { code, report } = await doctorJson({ ...env, ACS_CONNECTION_STRING: wrongKey });
    expect(code).toBe(1);
    expect(rowOf(report, 'acs-sender')).toMatchObject({
      status: 'fail',
      result: expect.stringContaining('asking ACS the status of a send: 401'),
      fix: 'Check the access key in ACS_CONNECTION_STRING (Communication Services resource > Keys)',
    });
    expect(world.cloud.acs.messages()).toEqual([]);
  }, 30_000);

  it('an Azure-managed sender domain: its limits, and a sendBudget above them is a warning', async () => {
    const file = configFile('budget.json', { sendBudget: { perMinute: 30, perHour: 100 } });
    const { code, report } = await doctorJson({
      ...env,
      WATCH_CONFIG: file,
      ALERT_EMAIL_FROM: 'DoNotReply@0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d.azurecomm.net',
    });
    expect(code).toBe(0);
    expect(rowOf(report, 'acs-sender')).toMatchObject({
      status: 'warn',
      result: expect.stringContaining(
        'Azure-managed domain (*.azurecomm.net): ACS allows 5 emails a minute, 10 an hour per subscription, never more',
      ),
      fix: 'Lower sendBudget to 5 and 10',
    });
  }, 30_000);

  it('a tenant that has not consented: sign-in fails with the consent link, its other checks are skipped', async () => {
    world.cloud.control.setConsented(NORTHWIND, false);
    const { code, report } = await doctorJson(env);
    expect(code).toBe(1);
    expect(rowOf(report, 'sign-in', NORTHWIND)).toMatchObject({
      status: 'fail',
      result: expect.stringMatching(/AADSTS\d+/),
      link: expect.stringContaining(`/${NORTHWIND}/v2.0/adminconsent?`),
    });
    expect(report.checks.filter((c) => c.tenant === NORTHWIND && c.check !== 'sign-in').map((c) => c.status)).toEqual(
      Array(6).fill('skipped'),
    );
    expect(rowOf(report, 'sign-in', CONTOSO)?.status).toBe('ok');
  }, 30_000);

  it('without Synchronization.Read.All the job reads fail by name; without Application.Read.All discovery does', async () => {
    world.cloud.control.setGrants(CONTOSO, ['Application.Read.All', 'AuditLog.Read.All']);
    world.cloud.control.setGrants(NORTHWIND, ['Synchronization.Read.All', 'AuditLog.Read.All']);
    const { code, report } = await doctorJson(env);
    expect(code).toBe(1);
    expect(rowOf(report, 'job-status', CONTOSO)).toMatchObject({
      status: 'fail',
      result: expect.stringContaining('401 UnknownError'),
      fix: expect.stringContaining('Synchronization.Read.All'),
    });
    expect(rowOf(report, 'discovery', NORTHWIND)).toMatchObject({
      status: 'fail',
      result: expect.stringContaining('403 Authorization_RequestDenied'),
      fix: expect.stringContaining('Application.Read.All'),
    });
    world.cloud.control.setGrants(CONTOSO, EVERY_GRANT);
  }, 30_000);

  it("GET /api/doctor runs it with the Function App's own settings and identity: text, ?format=json, the exit code in a header", async () => {
    const saved = { ...process.env };
    const context = new InvocationContext({
      functionName: 'doctor',
      logHandler: (level, ...args) => captureLog('doctor function', `${level}: ${args.join(' ')}`),
    });
    const get = (query = '') =>
      doctor(new HttpRequest({ method: 'GET', url: `https://localhost/api/doctor${query}` }), context);
    try {
      Object.assign(process.env, env);
      world.cloud.control.setLicence(NORTHWIND, 'free');
      const text = await get();
      expect(text.status).toBe(200);
      expect(text.headers).toMatchObject({ 'X-Doctor-Exit-Code': '1', 'Content-Type': 'text/plain; charset=utf-8' });
      expect(String(text.body)).toMatch(/^licence +FAIL: 403 +A Microsoft Entra ID P1 or P2/m);
      const json = await get('?format=json');
      expect((json.jsonBody as DoctorReport).exitCode).toBe(1);
      expect(rowOf(json.jsonBody as DoctorReport, 'licence', NORTHWIND)?.status).toBe('fail');

      process.env.ALERT_EMAIL_TO = 'not-an-address';
      const bad = await get();
      expect(bad.status).toBe(503);
      expect(String(bad.body)).toContain('ALERT_EMAIL_TO holds "not-an-address", which is not an email address');
    } finally {
      process.env = saved;
    }
  }, 30_000);

  it('bad settings: exit 2 with the settings named, nothing checked', async () => {
    const result = await doctorJson({ ...env, WATCH_SCHEDULE: '99 * * * * *' });
    expect(result.code).toBe(2);
    expect(result.err).toContain('WATCH_SCHEDULE="99 * * * * *" is not an NCRONTAB expression');
    expect(result.err).not.toMatch(STACK);
  });
});

describe('at deploy: the config checked before the package ships (azure.yaml prepackage)', () => {
  const root = join(__dirname, '..', '..');
  const hook = (
    parseYaml(readFileSync(join(root, 'azure.yaml'), 'utf8')) as {
      services: { api: { hooks: { prepackage: Record<'posix' | 'windows', { run: string }> } } };
    }
  ).services.api.hooks.prepackage;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

  it('runs npm run doctor -- --config-only before it bundles, on POSIX and Windows, stopping there when it fails', () => {
    expect(hook.posix.run).toBe('npm run doctor -- --config-only && npm run bundle');
    expect(hook.windows.run).toBe('npm run doctor -- --config-only; if ($?) { npm run bundle }');
    expect(pkg.scripts.doctor).toBe('tsx lib/cli/doctor.ts');
  });

  /** The project folder as azd packages it, with the azd environment's WATCH_CONFIG (the path in Azure). */
  function projectWith(config: unknown): string {
    const project = mkdtempSync(join(tmpdir(), 'esw-deploy-'));
    writeFileSync(join(project, 'watch-config.json'), JSON.stringify(config));
    // A local.settings.json is not what the deployment gets: it is not read.
    writeFileSync(join(project, 'local.settings.json'), JSON.stringify({ Values: { WATCH_CONFIG: 'elsewhere.json' } }));
    mkdirSync(join(project, 'node_modules'));
    return project;
  }
  const azdEnv = { WATCH_CONFIG: '/home/site/wwwroot/watch-config.json', ALERT_EMAIL_TO: 'identity-ops@contoso.com' };
  const prepackage = (cwd: string, env: Env) =>
    runTypeScript('lib/cli/doctor.ts', { cwd, env, args: ['--config-only'], label: 'npm run doctor -- --config-only' });

  it('a KQL rule with an unknown column stops the deploy with its line and column, read from the folder that becomes /home/site/wwwroot', async () => {
    const project = projectWith({
      kqlRules: [
        {
          name: 'kql-deletes-spike',
          timeSpan: '1h',
          query: 'AADProvisioningLogs | where Action in ("Delete", "Disable") | count',
          threshold: { column: 'Count', operator: '>', value: 100 },
        },
      ],
    });
    const result = await prepackage(project, azdEnv);
    expect(result.code).toBe(1);
    const row = rowIn(groupOf(result.out.split('\n'), '── The deployment'), 'config');
    expect(row.result).toBe(
      `FAIL: ${join(project, 'watch-config.json')}: 1 problem(s): kqlRules[0].query: line 1, column 29: The name 'Action' does not refer to any known column, table, variable or function. (the table's column is ProvisioningAction: Microsoft's sample queries say Action, which its published schema does not have) (KS142)`,
    );
    // A path longer than its column is cut after a separator; read back, the pieces are a space apart.
    expect(row.fix.replace(/ (?=json)/, '')).toBe(`Correct ${join(project, 'watch-config.json')} at the paths named`);
    expect(result.out).toMatch(/1 check\(s\) the config needs failed: exit code 1\.\s*$/);
  }, 30_000);

  it('a valid config, and no config at all, let it go on (exit 0), with nothing but the config checked', async () => {
    const valid = await prepackage(
      projectWith({
        kqlRules: [
          {
            name: 'kql-deletes-spike',
            timeSpan: '1h',
            query: 'AADProvisioningLogs | where ProvisioningAction in ("Delete", "Disable") | count',
            threshold: { column: 'Count', operator: '>', value: 100 },
          },
        ],
      }),
      azdEnv,
    );
    expect(valid.code).toBe(0);
    expect(valid.out).toMatch(/^config +ok: .*watch-config\.json: valid; 1 KQL rule\(s\) pass/m);
    expect(valid.out).toMatch(/^Entra Sync Watch doctor, \S+: 1 check\(s\)$/m);
    const none = await prepackage(projectWith({}), { ALERT_EMAIL_TO: 'identity-ops@contoso.com' });
    expect(none.code).toBe(0);
    expect(none.out).toMatch(/^config +ok: no config file \(WATCH_CONFIG is not set\): valid$/m);
  }, 30_000);
});
