import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { CoverageStore } from '../../lib/store/coverage-store';
import { buildPolicy } from '../../lib/config/config';
import { forgetKeptCredentials } from '../../lib/clients/credentials';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import type { CoverageCheck, TenantCoverage } from '../../lib/model/coverage';
import { readStatus } from '../../lib/status/status';
import { renderStatusText } from '../../lib/status/text';
import { freshDemoWorld } from '../support/world';

/**
 * Coverage through whole cycles against the Graph emulator and Azurite: what each tenant's checks
 * can do, kept across cycles in Table Storage (every cycle builds its dependencies afresh, as a new
 * instance would), and "Monitoring is partial" once a check has been degraded for a day, on the
 * monitor's clock.
 */

const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const NORTHWIND = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
const HOUR = 3600_000;

describe('coverage per tenant and check', () => {
  const world = freshDemoWorld('c');

  // The monitor's clock runs a day ahead of the emulator's job times here: running jobs would look stalled.
  const policy = buildPolicy(
    { tenants: { [CONTOSO]: { name: 'Contoso' } }, rules: { 'job-stalled': { enabled: false } } },
    { emailTo: ['ops@contoso.com'] },
  );
  const start = Date.now();
  const at = (ms: number): Partial<CycleDeps> => ({ clock: () => new Date(start + ms), policy });
  const subjects = () =>
    world()
      .cloud.acs.messages()
      .map((m) => m.subject);
  const coverageOf = async (tenant: string): Promise<TenantCoverage | undefined> =>
    (await world().deps().coverage?.load(tenant))?.coverage;
  const check = (coverage: TenantCoverage | undefined, name: string): CoverageCheck | undefined =>
    coverage?.checks.find((c) => c.check === name);

  it('says which checks run in each tenant, and raises "Monitoring is partial" once a check is degraded for a day, once, until it runs again', async () => {
    world().cloud.control.setSecretsPolicy(CONTOSO, '403');
    const first = await runCycle(world().deps(at(0)));
    expect(first.errors).toEqual([]);
    expect(first.coverage).toEqual({ tenants: 2, partial: 1, degraded: { 'early-warnings': 1 }, off: {} });

    const contoso = await coverageOf(CONTOSO);
    expect(contoso?.checks.map((c) => [c.check, c.state])).toEqual([
      ['job-status:cross-tenant', 'active'],
      ['job-status:cloud-sync', 'active'],
      ['job-status:scim-custom', 'active'],
      ['job-status:scim-gallery', 'active'],
      ['discovery', 'active'],
      ['early-warnings', 'degraded'],
      ['provisioning-logs', 'active'],
    ]);
    expect(check(contoso, 'early-warnings')).toMatchObject({
      since: new Date(start).toISOString(),
      cause: {
        kind: 'permission',
        words: expect.stringMatching(/^Graph refused the synchronization secrets of 6 of 6 configuration\(s\) \(403 /),
      },
      fix: {
        kind: 'permission',
        permission: 'Application.ReadWrite.All',
        words: expect.stringContaining('or set WATCH_SECRETS_READ=off'),
      },
    });
    expect(contoso?.provisioningLogs).toMatchObject({ source: 'graph', filter: 'server', pageSize: 500 });
    expect((await coverageOf(NORTHWIND))?.checks.every((c) => c.state === 'active')).toBe(true);
    // The log names the same permissions as the status view and the README.
    expect(world().log.lines.join('\n')).toMatch(
      /synchronization\/secrets not read \(403 .*likely missing Synchronization\.Read\.All or more: .*Application\.ReadWrite\.All or Directory\.ReadWrite\.All is known to work\)/,
    );

    // A day less a minute: still within the limit. Each cycle is a new instance: the time it became degraded comes from Table Storage.
    await runCycle(world().deps(at(24 * HOUR - 60_000)));
    expect(subjects()).toEqual([]);
    expect(check(await coverageOf(CONTOSO), 'early-warnings')?.since).toBe(new Date(start).toISOString());

    await runCycle(world().deps(at(24 * HOUR + 60_000)));
    expect(subjects()).toEqual([expect.stringMatching(/^Contoso: Monitoring is partial \(since /)]);
    expect(world().cloud.acs.messages()[0]!.headers?.['X-Entra-Sync-Watch-Severity']).toBe('warning');
    const email = world().cloud.acs.messages()[0]!.plainText;
    expect(email).toContain(
      'Entra Sync Watch has not been able to run one check in tenant Contoso for more than 24 h: early warnings (synchronization secrets).',
    );
    expect(email).toMatch(
      /early warnings \(synchronization secrets\): Graph refused the synchronization secrets of 6 of 6/,
    );
    expect(email).toContain(
      'early warnings (synchronization secrets): grant Application.ReadWrite.All or Directory.ReadWrite.All (known to work for this undocumented read; both can also write), or set WATCH_SECRETS_READ=off to turn the early warnings off.',
    );
    expect(email).toMatch(new RegExp(`/${CONTOSO}/adminconsent\\?client_id=`));

    // Once: the next cycle says nothing new.
    await runCycle(world().deps(at(25 * HOUR)));
    expect(subjects()).toHaveLength(1);

    // What the operator sees meanwhile.
    const view = await readStatus(world().deps(), { policy, now: new Date(start + 25 * HOUR) });
    const listed = view.coverage.tenants.map((t) => t.subject);
    expect(listed[0]).toBe(CONTOSO); // a tenant with a degraded check comes first
    expect(view.coverage.counts).toMatchObject({ tenants: 2, partial: 1 });
    const text = renderStatusText(view);
    expect(text).toContain('Coverage (1 of 2 tenant(s) partially watched at the last cycle)');
    expect(text).toContain(`Contoso (${CONTOSO}): 1 check(s) degraded`);
    expect(text).toMatch(
      /early warnings \(synchronization secrets\)\s+degraded\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+Graph refused/,
    );
    expect(text).toMatch(
      /provisioning logs: failures filtered by Graph; pages of 500; overlap 15 min \(widens up to 2 h\)/,
    );

    // Granted: the check runs again and the alert resolves.
    world().cloud.control.setSecretsPolicy(CONTOSO, 'allowed');
    await runCycle(world().deps(at(25 * HOUR + 60_000)));
    // In the same thread as the alert (one subject per firing, Re:), a resolved notice by its header.
    expect(subjects()[1]).toBe(`Re: ${subjects()[0]}`);
    expect(world().cloud.acs.messages()[1]!.headers?.['X-Entra-Sync-Watch-Kind']).toBe('resolved');
    const healed = await coverageOf(CONTOSO);
    expect(check(healed, 'early-warnings')).toEqual({ check: 'early-warnings', state: 'active' });
  });

  it('counts a 404 or 400 on the secrets as a refusal, and WATCH_SECRETS_READ=off reads none and says the early warnings are off', async () => {
    const { control } = world().cloud;
    control.setSecretsPolicy(CONTOSO, '404');
    control.setSecretsPolicy(NORTHWIND, '400');
    await runCycle(world().deps());
    for (const tenant of [CONTOSO, NORTHWIND])
      expect(check(await coverageOf(tenant), 'early-warnings')).toMatchObject({
        state: 'degraded',
        cause: { kind: 'permission' },
        fix: { permission: 'Application.ReadWrite.All' },
      });

    control.clearLogs();
    await runCycle(world().deps({ secretsRead: false }));
    expect(control.requestLog().filter((r) => r.path.endsWith('/synchronization/secrets'))).toEqual([]);
    expect(check(await coverageOf(CONTOSO), 'early-warnings')).toMatchObject({
      state: 'off',
      cause: { kind: 'setting', words: expect.stringMatching(/^WATCH_SECRETS_READ=off: /) },
    });
  });

  it('names the tenant that cannot be read in its coverage, and leaves the alert to tenant-unreadable', async () => {
    await runCycle(world().deps(at(0)));
    world().cloud.control.setConsented(NORTHWIND, false);
    // As on a new instance: a kept token would be refused by Graph this cycle and renewed at the next.
    forgetKeptCredentials();
    await runCycle(world().deps(at(HOUR)));
    await runCycle(world().deps(at(2 * 24 * HOUR)));
    const northwind = await coverageOf(NORTHWIND);
    expect(northwind?.checks.every((c) => c.state === 'degraded' && c.alertedBy === 'tenant-unreadable')).toBe(true);
    expect(northwind?.checks.map((c) => c.check)).toContain('job-status:cross-tenant'); // what it had before
    expect(subjects().some((s) => s.includes('Monitoring is partial'))).toBe(false);
    expect(subjects().some((s) => s.includes('Cannot monitor'))).toBe(true);
  });
});

describe('the coverage rows in Table Storage', () => {
  const store = () =>
    new CoverageStore(
      TableClient.fromConnectionString(
        inject('storageConnectionString'),
        `cov${Date.now()}${Math.random().toString(36).slice(2, 8)}`,
        {
          allowInsecureConnection: true,
        },
      ),
    );
  const coverage = (subject: string, degraded: boolean, checks = 4): TenantCoverage => ({
    subject,
    checkedAt: '2026-11-27T12:00:00.000Z',
    checks: Array.from({ length: checks }, (_, i) => ({
      check: `kql:kql-${i}`,
      state: degraded && i === 0 ? 'degraded' : 'active',
      ...(degraded && i === 0
        ? { cause: { kind: 'outage' as const, words: 'x' }, since: '2026-11-26T12:00:00.000Z' }
        : {}),
    })),
  });

  it('lists a bounded number, those with a degraded check first, and counts them all', async () => {
    const rows = store();
    for (let i = 0; i < 60; i++) expect(await rows.save(coverage(`tenant-${i}`, i % 20 === 7), undefined)).toBe(true);
    const listed = await rows.list(10);
    expect(listed.total).toBe(60);
    expect(listed.coverages).toHaveLength(10);
    expect(
      listed.coverages
        .slice(0, 3)
        .map((c) => c.subject)
        .sort(),
    ).toEqual(['tenant-27', 'tenant-47', 'tenant-7']);
    expect(listed.coverages.slice(3).every((c) => c.checks.every((k) => k.state === 'active'))).toBe(true);
    // A second instance that read the same row before the first wrote keeps the first's (no lost update, no error).
    const loaded = await rows.load('tenant-7');
    expect(await rows.save(coverage('tenant-7', false), loaded?.etag)).toBe(true);
    expect(await rows.save(coverage('tenant-7', true), loaded?.etag)).toBe(false);
    await rows.forget('tenant-7');
    expect(await rows.load('tenant-7')).toBeUndefined();
    expect(await rows.subjects()).toHaveLength(59);
  });

  it('keeps one row within what a table property holds, whatever the checks', async () => {
    const rows = store();
    const big = coverage('workspace:ws', true, 400);
    big.checks = big.checks.map((c) => ({
      ...c,
      state: 'degraded',
      cause: { kind: 'outage', words: 'é'.repeat(400) },
    }));
    expect(await rows.save(big, undefined)).toBe(true);
    const kept = (await rows.load('workspace:ws'))?.coverage;
    expect(kept?.checks.length).toBeLessThan(400);
    expect(kept?.checks.at(-1)).toMatchObject({
      state: 'degraded',
      note: 'not kept: too many checks for one table row',
    });
    expect(kept?.checks[0]?.state).toBe('degraded');
  });
});
