import { describe, expect, it } from 'vitest';
import type { GraphReader } from '../../lib/clients/graph';
import { buildPolicy } from '../../lib/config/config';
import { needsOf } from '../../lib/doctor/needs';
import { reportOf, type CheckRow } from '../../lib/doctor/report';
import { checkTenant, type TenantProbe } from '../../lib/doctor/tenant-checks';
import { renderDoctorText } from '../../lib/doctor/text';

/**
 * The doctor's pure parts: what the config needs of a tenant, the checks' decisions on answers the
 * emulators cannot give (a person's token, a tenant with no configuration found), and the table.
 */

const TENANT = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const policy = (config: unknown = {}) => buildPolicy(config, { emailTo: ['ops@contoso.com'] });

function token(claims: Record<string, unknown>): { token: string; expiresOnTimestamp: number } {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return { token: `${part({ alg: 'RS256' })}.${part(claims)}.signature`, expiresOnTimestamp: Date.now() + 3600_000 };
}

/** A Graph that answers each path from a table (a function of the path), and records what was asked. */
function graph(answer: (path: string) => unknown): GraphReader & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async get(path) {
      asked.push(path);
      const value = answer(path);
      if (value instanceof Error) throw value;
      return value;
    },
    async batch(requests) {
      return requests.map((r) => {
        asked.push(`$batch ${r.url}`);
        return { id: r.id, status: 200, headers: {}, body: answer(r.url) };
      });
    },
  };
}

function probe(overrides: Partial<TenantProbe>): TenantProbe {
  return {
    tenantId: TENANT,
    needs: needsOf(policy(), TENANT),
    token: async () => token({ tid: TENANT, roles: ['Application.Read.All', 'Synchronization.Read.All'] }),
    graph: graph(() => ({ value: [] })),
    known: async () => [],
    now: new Date('2026-12-01T10:00:00Z'),
    ...overrides,
  };
}

const statuses = (rows: CheckRow[]) => Object.fromEntries(rows.map((r) => [r.check, r.status]));

describe('what the config needs of a tenant', () => {
  it('by default: the logs from Graph for the failure digest, and the early warnings', () => {
    expect(needsOf(policy(), TENANT)).toEqual({ listed: [], earlyWarnings: true, logs: 'graph', failureDigest: true });
  });

  it('nothing of the logs or the secrets once their rules are off, and the listed configurations', () => {
    const off = { enabled: false };
    const needs = needsOf(
      policy({
        rules: {
          'provisioning-failures': off,
          'scim-token-expiring': off,
          'notification-email-off': off,
          'deletion-prevention-off': off,
        },
        discovery: { servicePrincipals: { [TENANT]: ['11a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601'] } },
      }),
      TENANT,
    );
    expect(needs).toEqual({
      listed: ['11a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601'],
      earlyWarnings: false,
      logs: 'none',
      failureDigest: false,
    });
  });

  it('nothing of the secrets with WATCH_SECRETS_READ=off, and an early-warnings row that says so', async () => {
    const needs = needsOf(policy(), TENANT, false);
    expect(needs).toMatchObject({ earlyWarnings: false, secretsReadOff: true });
    const rows = await checkTenant(probe({ needs }));
    expect(rows.find((r) => r.check === 'early-warnings')).toMatchObject({
      status: 'off',
      result: 'WATCH_SECRETS_READ=off: the synchronization secrets are not read',
    });
  });

  it('a rule off everywhere but turned on for one app of the tenant, or one tenant: needed there only', () => {
    const config = policy({
      rules: {
        'provisioning-failures': { enabled: false, overrides: [{ match: { tenant: TENANT }, enabled: true }] },
        'no-provisioning-events': { overrides: [{ match: { app: 'ServiceNow' }, enabled: true }] },
      },
      provisioningLogs: { source: 'logAnalytics' },
    });
    expect(needsOf(config, TENANT)).toMatchObject({ logs: 'logAnalytics', failureDigest: true });
    expect(needsOf(config, '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d')).toMatchObject({
      logs: 'logAnalytics', // no-provisioning-events may run for a ServiceNow app there too
      failureDigest: false,
    });
  });
});

describe('the checks of a tenant', () => {
  it("refuses a person's token (a managed identity off Azure is your az login) and checks nothing with it", async () => {
    const reader = graph(() => ({ value: [] }));
    const rows = await checkTenant(
      probe({ token: async () => token({ tid: TENANT, scp: 'Directory.Read.All' }), graph: reader }),
    );
    expect(rows[0]).toMatchObject({
      check: 'sign-in',
      status: 'fail',
      result: expect.stringContaining("the token is a person's (delegated), not the monitor's"),
      fix: expect.stringContaining('GET https://<function app>/api/doctor?code=<function key>'),
    });
    expect(rows.slice(1).every((r) => r.status === 'skipped')).toBe(true);
    expect(reader.asked).toEqual([]);
  });

  it('with no configuration to read a job from: a warning when the token carries Synchronization.Read.All, a failure when it does not', async () => {
    const page = graph((path) =>
      path.startsWith('/servicePrincipals?') ? { value: [{ id: 'sp-1' }] } : { value: [] },
    );
    const held = statuses(await checkTenant(probe({ graph: page })));
    expect(held['job-status']).toBe('warn');
    expect(held['early-warnings']).toBe('skipped');
    const lacking = await checkTenant(
      probe({ graph: page, token: async () => token({ tid: TENANT, roles: ['Application.Read.All'] }) }),
    );
    expect(lacking.find((r) => r.check === 'job-status')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('Synchronization.Read.All'),
    });
  });

  it('reads the listed and known configurations first, proving discovery with a page of one', async () => {
    const listed = '11a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601';
    const reader = graph((path) =>
      path.endsWith('/synchronization/jobs') ? { value: [{ id: 'job.1' }] } : { value: [{ id: listed }] },
    );
    const rows = await checkTenant(
      probe({
        graph: reader,
        needs: { ...needsOf(policy(), TENANT), listed: [listed], logs: 'none', earlyWarnings: false },
        known: async () => [{ id: 'sp-known', appId: '', displayName: 'Known app' }],
      }),
    );
    expect(reader.asked).toEqual([
      '/servicePrincipals?$select=id,appId,displayName,applicationTemplateId&$top=1',
      `$batch /servicePrincipals/${listed}/synchronization/jobs`,
      '$batch /servicePrincipals/sp-known/synchronization/jobs',
    ]);
    expect(statuses(rows)).toEqual({
      'sign-in': 'ok',
      discovery: 'ok',
      'job-status': 'ok',
      'early-warnings': 'off',
      'provisioning-logs': 'off',
      licence: 'off',
      'log-filter': 'off',
    });
    expect(rows.find((r) => r.check === 'discovery')?.needed).toBe(false);
  });

  it('adds the actions check when decisions from alerts are on, with the consent link when it lacks their permission', async () => {
    const rows = await checkTenant(
      probe({
        consentUrl: 'https://login.microsoftonline.com/x/v2.0/adminconsent?client_id=y',
        actions: async () => ({ possible: false, missing: ['the write permission'], reason: 'the token lacks it' }),
      }),
    );
    expect(rows.at(-1)).toMatchObject({
      check: 'actions',
      status: 'fail',
      result: 'the token lacks it',
      link: 'https://login.microsoftonline.com/x/v2.0/adminconsent?client_id=y',
    });
  });
});

describe('the table', () => {
  const now = new Date('2026-12-01T10:00:00Z');
  const rows: CheckRow[] = [
    { check: 'config', status: 'ok', needed: true, result: 'watch-config.json: valid' },
    {
      check: 'provisioning-logs',
      tenant: TENANT,
      tenantName: 'Contoso\u001b[31m',
      status: 'fail',
      needed: true,
      result:
        '403 Authentication_MSGraphPermissionMissing: Calling principal does not have required MSGraph permissions AuditLog.Read.All\r\nInjected line',
      fix: 'Grant the app AuditLog.Read.All; an administrator consents with the link',
      link: 'https://login.microsoftonline.com/3f2a7c1e/v2.0/adminconsent?client_id=a&state=3f2a7c1e',
    },
    {
      check: 'kql:kql-a-rule-with-a-name-longer-than-its-column',
      status: 'warn',
      needed: true,
      result: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant_and_then_some_more',
      fix: 'Grant the app AuditLog.Read.All; an administrator consents with the link',
      link: 'https://login.microsoftonline.com/3f2a7c1e/v2.0/adminconsent?client_id=a&state=3f2a7c1e',
    },
  ];
  const text = renderDoctorText(reportOf(rows, now), 100);
  const lines = text.trimEnd().split('\n');

  it('fits 100 columns, groups rows under their tenant, and keeps a link whole as one note', () => {
    expect(lines.filter((l) => l.length > 99 && !l.startsWith('['))).toEqual([]);
    expect(lines).toContain('── The deployment');
    expect(lines).toContain(`── Tenant Contoso [31m (${TENANT})`);
    expect(lines.filter((l) => l.startsWith('[1] '))).toEqual([`[1] ${rows[1]!.link}`]);
    expect(text.match(/\[1\]/g)).toHaveLength(3); // the note, and both fixes that point at it
    expect(lines.at(-1)).toBe('1 check(s) the config needs failed (and 1 warning(s) worth a look): exit code 1.');
  });

  it("prints no control character from Graph's words, and forges no line of its own", () => {
    // eslint-disable-next-line no-control-regex -- what must not be there
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(lines.some((l) => l.startsWith('Injected line'))).toBe(false);
  });

  it('cuts a word wider than its column after a separator where it can', () => {
    expect(lines).toContainEqual(expect.stringMatching(/^kql:kql-a-rule-/));
    expect(lines.some((l) => l.includes('Authentication_') && !l.includes('Authentication_RequestFrom'))).toBe(true);
  });
});
