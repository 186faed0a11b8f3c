import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { coverageCounts } from '../../lib/cycle/coverage';
import { evaluateTenant } from '../../lib/evaluate/evaluate';
import { inView } from '../../lib/evaluate/evaluate';
import { monitoringPartial } from '../../lib/evaluate/rules/monitoring-partial';
import { checkLabel, type TenantCoverage } from '../../lib/model/coverage';
import { jobTypeOf } from '../../lib/model/job-type';
import type { AccessProblem, JobSnapshot, TenantObservation } from '../../lib/model/observation';
import type { LogProblem, ProvisioningObservation } from '../../lib/model/provisioning';
import { kqlCoverage, tenantCoverage, type CoverageContext } from '../../lib/observe/coverage';
import { emptyDigest } from '../../lib/observe/provisioning-digest';

/**
 * Coverage from one cycle's observation (lib/observe/coverage.ts), and "Monitoring is partial"
 * judged on it (lib/evaluate/rules/monitoring-partial.ts): pure, on a fixed clock.
 */

const TENANT = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const NOW = new Date('2026-11-27T12:00:00.000Z');
const DAY = 24 * 3600_000;
const CROSS_TENANT = '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7';
const CUSTOM_SCIM = '8adf8e6e-67b2-4cf2-a259-e3dc5476c621';

const sp = (id: string, applicationTemplateId?: string) => ({
  id,
  appId: `app-${id}`,
  displayName: id,
  applicationTemplateId,
});

function job(id: string, templateId: string, applicationTemplateId?: string): JobSnapshot {
  return {
    tenantId: TENANT,
    servicePrincipal: sp(`sp-${id}`, applicationTemplateId),
    jobId: id,
    templateId,
    status: { known: 'Active', raw: 'Active' },
  };
}

function logs(
  problems: LogProblem[] = [],
  read: Partial<ProvisioningObservation['read']> = {},
): ProvisioningObservation {
  return {
    source: 'graph',
    complete: problems.length === 0,
    problems,
    digest: emptyDigest(),
    heldDeletes: new Map(),
    activity: new Map(),
    activityUnknown: new Set(),
    eventsRead: 0,
    pagesRead: 1,
    read: {
      filter: 'server',
      pageSize: 500,
      overlapMs: 15 * 60_000,
      maxOverlapMs: 2 * 3600_000,
      overlapCapped: false,
      changes: [],
      ...read,
    },
  };
}

function observation(extra: Partial<TenantObservation> = {}): TenantObservation {
  return {
    tenantId: TENANT,
    jobs: [job('a', 'Azure2Azure', CROSS_TENANT), job('b', 'API2AAD'), job('c', 'ServiceNowOutDelta')],
    servicePrincipalsRead: new Set(),
    servicePrincipalProblems: [],
    provisioning: logs(),
    ...extra,
  };
}

const context = (extra: Partial<CoverageContext> = {}): CoverageContext => ({
  now: NOW,
  secretsRead: true,
  logs: 'graph',
  ...extra,
});
const refused = (operation: string, extra: Partial<AccessProblem> = {}): AccessProblem => ({
  kind: 'access',
  status: 403,
  code: 'Authorization_RequestDenied',
  message: 'Insufficient privileges to complete the operation.',
  operation,
  ...extra,
});
const checkOf = (coverage: TenantCoverage, name: string) => coverage.checks.find((c) => c.check === name);

describe('coverage of a tenant', () => {
  it('has a job-status check per kind of configuration, discovery, the early warnings and the logs, all active', () => {
    const coverage = tenantCoverage(observation(), context());
    expect(coverage.checks.map((c) => `${c.check}:${c.state}`)).toEqual([
      'job-status:cross-tenant:active',
      'job-status:hr-inbound:active',
      'job-status:scim-gallery:active',
      'discovery:active',
      'early-warnings:active',
      'provisioning-logs:active',
    ]);
    expect(coverage.provisioningLogs).toEqual({
      source: 'graph',
      filter: 'server',
      pageSize: 500,
      overlapMs: 15 * 60_000,
      maxOverlapMs: 2 * 3600_000,
    });
    expect(checkLabel('job-status:hr-inbound')).toBe('job status (HR-driven inbound provisioning)');
    expect(jobTypeOf({ templateId: 'Workday2AD' })).toBe('hr-inbound');
    expect(jobTypeOf({ templateId: 'x', applicationTemplateId: CUSTOM_SCIM.toUpperCase() })).toBe('scim-custom');
  });

  it('degrades the job status of the kind of a configuration whose jobs cannot be read, and says its own alert reports it', () => {
    const coverage = tenantCoverage(
      observation({
        servicePrincipalProblems: [
          {
            servicePrincipal: sp('legacy', CUSTOM_SCIM),
            problem: refused('synchronization/jobs', {
              status: 401,
              code: 'UnknownError',
              likelyMissingPermission: 'Synchronization.Read.All',
            }),
          },
        ],
      }),
      context(),
    );
    expect(checkOf(coverage, 'job-status:scim-custom')).toMatchObject({
      state: 'degraded',
      cause: {
        kind: 'permission',
        words: expect.stringMatching(
          /^the jobs of 1 custom SCIM app provisioning configuration\(s\) could not be read: 401 UnknownError/,
        ),
      },
      fix: { kind: 'permission', permission: 'Synchronization.Read.All' },
      alertedBy: 'jobs-unreadable',
      since: NOW.toISOString(),
    });
  });

  it('says what keeps discovery from running and what fixes it; a refused probe is only a note', () => {
    const degraded = (operation: string, problem: AccessProblem, consequence = 'x') => ({
      operation,
      problem,
      consequence,
    });
    const listRefused = tenantCoverage(
      observation({
        degraded: [
          degraded(
            'servicePrincipals',
            refused('servicePrincipals', { likelyMissingPermission: 'Application.Read.All' }),
          ),
        ],
      }),
      context(),
    );
    expect(checkOf(listRefused, 'discovery')).toMatchObject({
      state: 'degraded',
      cause: { kind: 'permission' },
      fix: { kind: 'permission', permission: 'Application.Read.All' },
    });
    const truncated = tenantCoverage(
      observation({
        degraded: [
          degraded('servicePrincipals', {
            kind: 'invalid-response',
            message: 'more than 50 pages',
            operation: 'servicePrincipals',
          }),
        ],
      }),
      context(),
    );
    expect(checkOf(truncated, 'discovery')?.fix).toMatchObject({
      kind: 'setting',
      setting: 'discovery.servicePrincipals',
    });
    const cache = tenantCoverage(
      observation({
        degraded: [
          degraded('discovery cache', { kind: 'transient', message: 'ECONNREFUSED', operation: 'discovery cache' }),
        ],
      }),
      context(),
    );
    expect(checkOf(cache, 'discovery')?.cause?.kind).toBe('storage');
    const probe = tenantCoverage(
      observation({
        degraded: [degraded('synchronization/jobs', refused('synchronization/jobs'), '2 refused their jobs')],
      }),
      context(),
    );
    expect(checkOf(probe, 'discovery')).toEqual({ check: 'discovery', state: 'active', note: '2 refused their jobs' });
  });

  it('has the early warnings degraded on a refused secrets read, with the permissions known to work, and off when WATCH_SECRETS_READ=off', () => {
    const secretsRefused = observation({
      secretsUnread: new Map([
        [
          'sp-a',
          refused('synchronization/secrets', { status: 404, code: 'ResourceNotFound', kind: 'invalid-response' }),
        ],
      ]),
      syncSettings: new Map([['sp-b', { keys: [] }]]),
    });
    expect(checkOf(tenantCoverage(secretsRefused, context()), 'early-warnings')).toMatchObject({
      state: 'degraded',
      cause: {
        kind: 'permission',
        words: expect.stringMatching(
          /^Graph refused the synchronization secrets of 1 of 2 configuration\(s\) \(404 ResourceNotFound/,
        ),
      },
      fix: {
        kind: 'permission',
        permission: 'Application.ReadWrite.All',
        words: expect.stringContaining('WATCH_SECRETS_READ=off'),
      },
    });
    const throttled = observation({
      secretsUnread: new Map([
        [
          'sp-a',
          {
            kind: 'transient',
            status: 429,
            message: 'Too many requests',
            operation: 'synchronization/secrets',
          } as AccessProblem,
        ],
      ]),
    });
    expect(checkOf(tenantCoverage(throttled, context()), 'early-warnings')).toMatchObject({
      state: 'degraded',
      cause: { kind: 'throttled', words: expect.stringMatching(/^Graph did not answer/) },
      fix: { kind: 'none' },
    });
    expect(checkOf(tenantCoverage(secretsRefused, context({ secretsRead: false })), 'early-warnings')).toMatchObject({
      state: 'off',
      cause: { kind: 'setting' },
    });
  });

  it('says why the logs are degraded, which of it their own alert reports, and how they are read', () => {
    const problem = (kind: LogProblem['kind'], extra: Partial<LogProblem> = {}): LogProblem => ({
      kind,
      source: 'graph',
      operation: 'provisioning logs',
      message: kind,
      ...extra,
    });
    const of = (o: Partial<TenantObservation>, ctx: Partial<CoverageContext> = {}) =>
      checkOf(tenantCoverage(observation(o), context(ctx)), 'provisioning-logs');
    expect(of({ provisioning: logs([problem('access', { status: 403 })]) })).toMatchObject({
      state: 'degraded',
      cause: { kind: 'permission' },
      fix: { kind: 'permission', permission: 'AuditLog.Read.All' },
      alertedBy: 'provisioning-logs-unreadable',
    });
    expect(of({ provisioning: logs([problem('licence')]) })?.fix).toMatchObject({
      kind: 'licence',
      licence: 'a Microsoft Entra ID P1 or P2 licence',
    });
    expect(of({ provisioning: logs([problem('page-cap')]) })).toMatchObject({
      cause: { kind: 'backlog' },
      fix: { setting: 'provisioningLogs.maxPagesPerCycle' },
    });
    expect(of({ provisioning: logs([problem('page-cap')]) })?.alertedBy).toBeUndefined();
    const timeOnly = of({
      provisioning: logs([problem('page-cap')], {
        filter: 'time-only',
        filterFallback: { reason: 'refused', since: NOW.getTime(), retryAt: NOW.getTime() + DAY },
      }),
    });
    expect(timeOnly).toMatchObject({
      cause: {
        kind: 'filter-refused',
        words: expect.stringContaining('read by time only since Graph refused the status filter'),
      },
      note: 'fallback: read by time only, the failures kept on the client (Graph refused the status filter)',
    });
    expect(
      of({ provisioning: logs([], { overlapCapped: true, lateness: { maxMs: 100 * 60_000, at: NOW.getTime() } }) }),
    ).toMatchObject({
      state: 'degraded',
      cause: {
        kind: 'late-events',
        words: 'events arrive up to 100 min late, later than the widest overlap (120 min) catches: some may be missed',
      },
      fix: { setting: 'provisioningLogs.maxOverlap' },
    });
    expect(of({ provisioning: undefined }, { logsNotRead: { kind: 'timeout', words: 'timed out' } })).toMatchObject({
      state: 'degraded',
      cause: { kind: 'timeout' },
    });
    expect(of({}, { logs: 'off' })).toMatchObject({ state: 'off' });
  });

  it('keeps the time a check became degraded while it stays so, and forgets it once it runs again', () => {
    const refusedSecrets = observation({ secretsUnread: new Map([['sp-a', refused('synchronization/secrets')]]) });
    const first = tenantCoverage(refusedSecrets, context({ now: new Date(NOW.getTime() - DAY) }));
    const second = tenantCoverage(refusedSecrets, context({ previous: first }));
    expect(checkOf(second, 'early-warnings')?.since).toBe(new Date(NOW.getTime() - DAY).toISOString());
    const healed = tenantCoverage(observation(), context({ previous: second }));
    expect(checkOf(healed, 'early-warnings')).toEqual({ check: 'early-warnings', state: 'active' });
    const again = tenantCoverage(refusedSecrets, context({ now: new Date(NOW.getTime() + 60_000), previous: healed }));
    expect(checkOf(again, 'early-warnings')?.since).toBe(new Date(NOW.getTime() + 60_000).toISOString());
  });

  it('has every check a tenant had degraded while it cannot be read, left to tenant-unreadable', () => {
    const before = tenantCoverage(observation(), context({ now: new Date(NOW.getTime() - DAY) }));
    const unreadable = tenantCoverage(
      {
        ...observation(),
        jobs: [],
        problem: {
          kind: 'access',
          code: 'AADSTS700016',
          message: 'not found',
          operation: 'token',
          likelyMissingPermission: 'admin consent for the app in this tenant',
        },
      },
      context({ previous: before }),
    );
    expect(unreadable.checks.map((c) => c.check)).toEqual(before.checks.map((c) => c.check));
    for (const check of unreadable.checks)
      expect(check).toMatchObject({
        state: 'degraded',
        cause: {
          kind: 'tenant-unreadable',
          words: 'the tenant cannot be read (permission: AADSTS700016 while reading token)',
        },
        fix: { kind: 'consent' },
        alertedBy: 'tenant-unreadable',
      });
  });

  it("has the KQL rules' coverage under their workspace", () => {
    const rule = (name: string) => ({
      name,
      query: 'x',
      timeSpanMs: 3600_000,
      threshold: { operator: '>' as const, value: 0 },
      severity: 'warning' as const,
      pendingCycles: 0,
      labels: {},
    });
    const coverage = kqlCoverage(
      'ws-1',
      [rule('kql-a'), rule('kql-b')],
      {
        judged: new Set(['kql-a']),
        problems: [
          { kind: 'query-error', source: 'log-analytics', operation: 'kql rule kql-b', message: 'no column Count' },
        ],
      },
      undefined,
      NOW,
    );
    expect(coverage.subject).toBe('workspace:ws-1');
    expect(coverage.checks).toEqual([
      { check: 'kql:kql-a', state: 'active' },
      expect.objectContaining({
        check: 'kql:kql-b',
        state: 'degraded',
        fix: expect.objectContaining({ setting: 'kqlRules' }),
        since: NOW.toISOString(),
      }),
    ]);
    const notSet = kqlCoverage(
      undefined,
      [rule('kql-a')],
      { judged: new Set(), problems: [], notRun: 'LOG_ANALYTICS_WORKSPACE_ID is not set' },
      undefined,
      NOW,
    );
    expect(notSet).toMatchObject({
      subject: 'workspace:not set',
      checks: [{ state: 'degraded', cause: { kind: 'setting' }, fix: { setting: 'LOG_ANALYTICS_WORKSPACE_ID' } }],
    });
  });

  it('is counted per check for the cycle summary', () => {
    const partial = tenantCoverage(
      observation({ secretsUnread: new Map([['sp-a', refused('synchronization/secrets')]]) }),
      context(),
    );
    const off = { ...tenantCoverage(observation(), context({ logs: 'off' })), subject: 'other' };
    expect(coverageCounts([partial, off])).toEqual({
      tenants: 2,
      partial: 1,
      degraded: { 'early-warnings': 1 },
      off: { 'provisioning-logs': 1 },
    });
    expect(coverageCounts([])).toBeUndefined();
  });
});

describe('Monitoring is partial', () => {
  const refusedSecrets = observation({ secretsUnread: new Map([['sp-a', refused('synchronization/secrets')]]) });
  const degradedSince = (ms: number, o = refusedSecrets) => {
    const first = tenantCoverage(o, context({ now: new Date(NOW.getTime() - ms) }));
    return { ...o, coverage: tenantCoverage(o, context({ previous: first })) };
  };
  const partial = (o: TenantObservation, rules = buildPolicy({}, { emailTo: ['ops@contoso.com'] }).rules) =>
    evaluateTenant(o, { now: NOW, rules }).filter((f) => f.labels.condition === 'monitoring-partial');

  it('fires once a check has been degraded for a day, naming it, its cause and its fix', () => {
    expect(partial(degradedSince(DAY - 60_000))).toEqual([]);
    const [finding] = partial(degradedSince(DAY));
    expect(finding).toMatchObject({
      labels: { tenantId: TENANT, servicePrincipalId: '-', jobId: '-', condition: 'monitoring-partial' },
      severity: 'warning',
      material: 'early-warnings',
      annotations: {
        degradedForMs: DAY,
        permissionFix: true,
        checks: [
          {
            check: 'early-warnings',
            causeKind: 'permission',
            fixKind: 'permission',
            fix: expect.stringContaining('Application.ReadWrite.All'),
            since: new Date(NOW.getTime() - DAY).toISOString(),
          },
        ],
      },
    });
  });

  it('takes its limit from the config, per tenant too', () => {
    const rules = buildPolicy(
      {
        rules: {
          'monitoring-partial': { degradedFor: '2h', overrides: [{ match: { tenant: 'other' }, degradedFor: '3d' }] },
        },
      },
      { emailTo: ['ops@contoso.com'] },
    ).rules;
    expect(partial(degradedSince(2 * 3600_000), rules)).toHaveLength(1);
    expect(partial(degradedSince(3600_000), rules)).toEqual([]);
  });

  it('does not name what another alert reports, and is held while the tenant cannot be read or the time is unknown', () => {
    const jobsUnread = observation({
      servicePrincipalProblems: [
        { servicePrincipal: sp('legacy', CUSTOM_SCIM), problem: refused('synchronization/jobs') },
      ],
    });
    expect(partial(degradedSince(2 * DAY, jobsUnread))).toEqual([]);
    const unknown = degradedSince(2 * DAY);
    unknown.coverage = { ...unknown.coverage, sinceUnknown: true };
    expect(partial(unknown)).toEqual([]);
    const labels = { tenantId: TENANT, servicePrincipalId: '-', jobId: '-', condition: 'monitoring-partial' };
    expect(inView(labels, unknown)).toBe(false);
    expect(inView(labels, { ...degradedSince(2 * DAY), problem: refused('token') })).toBe(false);
    expect(inView(labels, degradedSince(2 * DAY))).toBe(true);
  });

  it('tells what changed: a check newly past its limit, one running again', () => {
    expect(monitoringPartial.describeChange?.('early-warnings, kql:kql-a', 'discovery, early-warnings')).toBe(
      'Now also degraded for too long: discovery. Running again: KQL rule kql-a.',
    );
  });
});
