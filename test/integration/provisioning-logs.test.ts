import { withoutSince } from '../support/subjects';
import { buildPolicy } from '../../lib/config/config';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import { type CyclePoint } from '../../lib/model';
import type { ProvisioningEventSpec } from '../../emulators';
import { demoScenario, startWorld, type World } from '../support/world';
import { CONTOSO, emailSubjects, freshStart, NORTHWIND, NORTHWIND_JOB, SERVICENOW_JOB } from '../support/demo';

const HOUR = 3600_000;

const failures = (
  count: number,
  errorCode: string,
  extra: Partial<ProvisioningEventSpec> = {},
): ProvisioningEventSpec[] => [
  { job: SERVICENOW_JOB, count, status: 'failure', errorCode, spreadMinutes: 2, ...extra },
];

describe('provisioning logs from Graph, through the real Graph client, in whole cycles', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(demoScenario());
  });
  afterAll(() => world.stop());
  beforeEach(() => freshStart(world, 'p'));

  const subjects = () => emailSubjects(world);
  // The monitor's clock jumps ahead while the emulator's job times do not: running jobs would look stalled.
  const noStalls = buildPolicy({ rules: { 'job-stalled': { enabled: false } } }, { emailTo: ['ops@contoso.com'] });
  const later = (ms: number): Partial<CycleDeps> => ({ clock: () => new Date(Date.now() + ms), policy: noStalls });
  const digestOf = async (deps: CycleDeps) =>
    [...(await deps.alerts.loadAll()).values()].find((a) => a.labels.condition === 'provisioning-failures');

  it('digests failures per error code, updates the alert in place, tells a new code at once, and resolves once the window is clean', async () => {
    const { control } = world.cloud;
    expect((await runCycle(world.deps())).errors).toEqual([]);
    control.addProvisioningEvents(
      CONTOSO,
      failures(10, 'EntryConflict', { reason: 'A user with the same user_name already exists in ServiceNow.' }),
    );
    const fired = await runCycle(world.deps());
    expect(fired.errors).toEqual([]);
    expect(subjects().map(withoutSince)).toEqual([`${CONTOSO}: Provisioning failures: ServiceNow`]);
    const email = world.cloud.acs.messages()[0]!.plainText;
    expect(email).toContain('Failures: 10 since ');
    expect(email).toContain('EntryConflict: 10 failure(s), first ');
    expect(email).toContain('Reason: A user with the same user_name already exists in ServiceNow.');
    expect(email).toMatch(/For example: \w+ \w+ \(\w+\.\w+@contoso\.example\)/);
    expect(email).toContain('1. EntryConflict: A value must be unique in the target and is already taken');

    control.addProvisioningEvents(CONTOSO, failures(3, 'EntryConflict'));
    await runCycle(world.deps());
    expect(subjects()).toHaveLength(1);
    expect((await digestOf(world.deps()))?.annotations).toMatchObject({ failures: 13, inWindow: 13 });

    control.addProvisioningEvents(CONTOSO, failures(1, 'InvalidAnchor'));
    await runCycle(world.deps());
    expect(subjects()[1]).toBe(`Re: ${subjects()[0]}`);
    expect(world.cloud.acs.messages()[1]!.headers?.['X-Entra-Sync-Watch-Kind']).toBe('changed');
    expect(world.cloud.acs.messages()[1]!.plainText).toContain('InvalidAnchor: 1 failure(s)');

    // Two hours on, the one-hour window holds none of them: resolved, and the events are not told again.
    await runCycle(world.deps(later(2 * HOUR)));
    expect(subjects()[2]).toBe(`Re: ${subjects()[0]}`);
    expect(world.cloud.acs.messages()[2]!.headers?.['X-Entra-Sync-Watch-Kind']).toBe('resolved');
    expect(world.cloud.acs.messages()[2]!.plainText).toMatch(/Has no failures left in its window at .*, after /);
    await runCycle(world.deps(later(2 * HOUR + 60_000)));
    expect(subjects()).toHaveLength(3);
  });

  it('names the held deletes of a deletion-threshold trip from the stagedDelete events', async () => {
    world.cloud.control.step('deletion-threshold-tripped');
    const summary = await runCycle(world.deps());
    expect(summary.errors).toEqual([]);
    const email = world.cloud.acs.messages()[0]!;
    expect(withoutSince(email.subject)).toBe(`${CONTOSO}: Deletion threshold tripped: Fabrikam to Contoso`);
    expect(email.plainText).toContain(
      'This cycle would have deleted or disabled 612 objects in the target, more than the accidental-deletion threshold of 500 allows.',
    );
    expect(email.plainText).toContain('Held deletes: 612 object(s), staged ');
    expect(email.plainText).toMatch(
      /Held objects \(10 of 612\): Adele Archie \(adele\.archie@fabrikam\.example\), .*, and 602 more/,
    );
    expect(email.plainText).toContain('Deletion threshold: 500');
    expect(email.plainText).toContain('"resetScope":"ForceDeletes"');
    expect(email.html).toContain('Adele Archie (adele.archie@fabrikam.example)');
  });

  it("plays the demo's failure digest: ServiceNow's failing users arrive with Woodgrove's quarantine", async () => {
    world.cloud.control.step('woodgrove-quarantined');
    await runCycle(world.deps());
    expect(subjects()).toEqual(['3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b: Quarantined: Woodgrove to Contoso (+1 more)']);
    const text = world.cloud.acs.messages()[0]!.plainText;
    expect(text).toContain('Failures: 15 since ');
    expect(text).toContain('EntryConflict: 11 failure(s)');
    expect(text).toContain('MandatoryFieldsMissing: 4 failure(s)');
    expect(text).toContain(
      'For example: Isaiah Langer (isaiah.langer@contoso.example), Lynne Robinson (lynne.robinson@contoso.example), Miriam Garcia (miriam.garcia@contoso.example)',
    ); // the newest three
  });

  it('without AuditLog.Read.All or a P1/P2 licence: one warning per tenant naming what is missing, and the job checks go on', async () => {
    const { control } = world.cloud;
    control.setGrants(NORTHWIND, ['Application.Read.All', 'Synchronization.Read.All']);
    control.setJob(NORTHWIND, NORTHWIND_JOB, {
      state: 'quarantined',
      quarantine: { reason: 'EncounteredQuarantineException' },
    });
    const first = await runCycle(world.deps());
    expect(first.errors).toEqual([]); // degraded, not failed: the heartbeat still goes out
    expect(subjects()).toEqual(['8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d: Quarantined: Contoso to Northwind (+1 more)']);
    const email = world.cloud.acs.messages()[0]!.plainText;
    expect(email).toContain('Quarantines and deletion holds are still reported from the job status.');
    expect(email).toContain('Likely missing: the application permission AuditLog.Read.All');
    expect(world.log.lines.join('\n')).toContain(
      '403 Authentication_MSGraphPermissionMissing: Calling principal does not have required MSGraph permissions AuditLog.Read.All while reading provisioning logs from Graph',
    );
    await runCycle(world.deps());
    expect(subjects()).toHaveLength(1); // once

    control.setGrants(NORTHWIND, ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All']);
    control.setPremium(NORTHWIND, false);
    world.tableName = `p${Math.random().toString(36).slice(2)}`;
    await runCycle(world.deps());
    expect(world.cloud.acs.messages().at(-1)!.plainText).toContain(
      'Likely missing: a Microsoft Entra ID P1 or P2 licence in the tenant',
    );
    control.setPremium(NORTHWIND, true);
    await runCycle(world.deps());
    expect(withoutSince(subjects().at(-1)!)).toBe(
      'Re: 8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d: Provisioning logs unreadable',
    );
    expect(world.cloud.acs.messages().at(-1)!.plainText).toMatch(/Provisioning logs can be read again at .*, after/);
  });

  it('reads a backlog over several cycles at the page cap, and a crash before the write counts nothing twice', async () => {
    const { control } = world.cloud;
    await runCycle(world.deps());
    control.addProvisioningEvents(CONTOSO, failures(23, 'Timeout'));
    const capped = (point?: CyclePoint): CycleDeps => {
      const deps = world.deps(
        point
          ? {
              probe: (p) => {
                if (p === point) throw new Error(`stopped at ${p}`);
              },
            }
          : {},
      );
      return { ...deps, logs: { ...deps.logs!, pageSize: 5, read: { maxPages: 2 } } };
    };
    await expect(runCycle(capped('evaluated'))).rejects.toThrow('stopped at evaluated');
    await runCycle(capped());
    expect(
      world.log.lines.some(
        (l) => l.includes('read 2 page(s) of failed events up to') && l.includes('the rest is read next cycle'),
      ),
    ).toBe(true);
    expect((await digestOf(world.deps()))?.annotations.failures).toBe(10);
    // Until the backlog is read, the count is a lower bound, and the email says so.
    expect((await digestOf(world.deps()))?.annotations.stillReading).toBe(true);
    const told = world.cloud.acs.messages().at(-1)!.plainText;
    expect(told).toContain('At least 10 object(s) failed to provision');
    expect(told).toContain('Failures: at least 10 since they began');
    expect(told).toContain('still reading the logs');
    await runCycle(capped());
    await runCycle(capped());
    expect((await digestOf(world.deps()))?.annotations.failures).toBe(23);
    expect((await digestOf(world.deps()))?.annotations.stillReading).toBeUndefined();
    await runCycle(capped());
    expect((await digestOf(world.deps()))?.annotations.failures).toBe(23);
    expect(subjects().map(withoutSince)).toEqual([`${CONTOSO}: Provisioning failures: ServiceNow`]); // 23 is still the first tier
  });
});

describe('the reports limit', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ ...demoScenario(), timeline: [], reportsRateLimit: { requests: 5, windowSeconds: 1 } });
  });
  afterAll(() => world.stop());

  const logRequests = () => world.cloud.control.requestLog().filter((r) => r.path.endsWith('/auditLogs/provisioning'));

  it('is kept by the reader, and a 429 past it is retried after its Retry-After', async () => {
    world.cloud.control.addProvisioningEvents(CONTOSO, failures(14, 'EntryConflict'));
    const kept = world.deps();
    const started = Date.now();
    // The reader keeps a margin, as it does for Graph's 10 s: the emulator counts requests when they arrive.
    await runCycle({ ...kept, logs: { ...kept.logs!, pageSize: 2, rateLimit: { requests: 5, windowMs: 1250 } } });
    const contoso = logRequests().filter((r) => r.tenantId === CONTOSO);
    expect(contoso.map((r) => r.status)).toEqual(Array(7).fill(200));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(world.cloud.acs.messages()[0]?.plainText).toContain('Failures: 14 since');

    world.cloud.control.clearLogs();
    world.tableName = `r${Math.random().toString(36).slice(2)}`;
    const careless = world.deps();
    await runCycle({
      ...careless,
      logs: { ...careless.logs!, pageSize: 2, rateLimit: { requests: 100, windowMs: 1000 } },
    });
    const statuses = logRequests()
      .filter((r) => r.tenantId === CONTOSO)
      .map((r) => r.status);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 200)).toHaveLength(7);
    expect(world.cloud.acs.messages().at(-1)?.plainText).toContain('Failures: 14 since');
  });
});
