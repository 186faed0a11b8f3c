import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProvisioningEventSpec } from '../../emulators';
import { buildPolicy } from '../../lib/config/config';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import type { CycleLimits } from '../../lib/cycle/limits';
import { latestTurn } from '../../lib/cycle/log-plan';
import type { CyclePoint } from '../../lib/model';
import { marksOf, type JobHistory } from '../../lib/model/history';
import { expectEachOnce } from '../support/notices';
import { withoutSince } from '../support/subjects';
import { demoScenario, startWorld, type World } from '../support/world';
import {
  CONTOSO,
  emailSubjects,
  FABRIKAM_JOB,
  freshStart,
  NORTHWIND,
  NORTHWIND_JOB,
  quarantine,
  SERVICENOW_JOB,
  WOODGROVE_JOB,
} from '../support/demo';

/**
 * Issue 20 against the emulators: the job alerts go out before the provisioning logs are read,
 * a tenant whose jobs show trouble has its logs read in the same cycle, a healthy tenant's logs
 * are read on the rotation within its period, and a kill between the two deliveries doubles
 * nothing. Short deadlines keep the hung endpoints cheap.
 */

const FAST: CycleLimits = { cycleMs: 8000, observeMs: 4800, tenantMs: 2500, callMs: 1500, maxRetryAfterMs: 1000 };
const MIN = 60_000;
const HOUR = 60 * MIN;

const failures = (job: string, count: number, errorCode = 'EntryConflict'): ProvisioningEventSpec[] => [
  { job, count, status: 'failure', errorCode, spreadMinutes: 2 },
];

/** The rotation on with two tenants (everyCycleUpTo 0); the monitor's clock moves ahead of the emulator's, so no job looks stalled. */
const rotating = (rotation = '1h') =>
  buildPolicy(
    {
      provisioningLogs: { rotation, everyCycleUpTo: 0 },
      rules: { 'job-stalled': { enabled: false } },
    },
    { emailTo: ['ops@contoso.com'] },
  );

describe('job alerts first, logs read on evidence and on a rotation', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ ...demoScenario(), timeline: [] });
  });
  afterAll(() => world.stop());
  beforeEach(() => freshStart(world, 'j'));

  const targets = [
    { tenantId: CONTOSO, tokenTenant: CONTOSO },
    { tenantId: NORTHWIND, tokenTenant: NORTHWIND },
  ];
  const deps = (overrides: Partial<CycleDeps> = {}) => world.deps({ targets, ...overrides }, { limits: FAST });
  /** The provisioning-log reads Graph answered for a tenant so far. */
  const logReads = (tenantId: string) =>
    world.cloud.control
      .requestLog()
      .filter((r) => r.tenantId === tenantId && r.path.endsWith('/auditLogs/provisioning')).length;

  /** The monitor's clock, moved on by the test. */
  const movableClock = () => {
    let now = Date.now();
    return { clock: () => new Date(now), advance: (ms: number) => void (now += ms) };
  };
  /**
   * Starts a cycle that stops for good at the first `point` it reaches, as a killed host does (it
   * never resumes and releases nothing, the planning lease included), and returns once it is there.
   */
  const killedAt = async (
    point: CyclePoint,
    start: (probe: (p: CyclePoint) => void | Promise<void>) => Promise<unknown>,
  ) => {
    let killed = false;
    void start((p) => {
      if (p !== point) return undefined;
      killed = true;
      return new Promise<void>(() => undefined);
    });
    while (!killed) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  /** The next two cycles of a live instance: past the dead one's lease, then a minute later. */
  const twoCyclesAfterTheLease = async (limits: CycleLimits, time: ReturnType<typeof movableClock>) => {
    time.advance(limits.cycleMs + 1000);
    await runCycle(deps({ clock: time.clock }));
    time.advance(MIN);
    await runCycle(deps({ clock: time.clock }));
  };

  it('a quarantine is emailed before the logs of a tenant whose logs endpoint hangs are given up', async () => {
    quarantine(world, CONTOSO, FABRIKAM_JOB, { reason: 'EncounteredQuarantineException' });
    world.cloud.control.injectFault({
      status: 0,
      hang: true,
      times: 1000,
      tenantId: NORTHWIND,
      pathIncludes: '/auditLogs/provisioning',
    });
    let atLogsRead: string[] | undefined;
    const started = performance.now();
    let emailedAfterMs: number | undefined;
    const summary = await runCycle(
      deps({
        probe: (p: CyclePoint) => {
          if (p === 'sent' && emailedAfterMs === undefined) emailedAfterMs = performance.now() - started;
          if (p === 'logs-read') atLogsRead = emailSubjects(world).map(withoutSince);
        },
      }),
    );
    const cycleMs = performance.now() - started;
    // The quarantine went out while Northwind's logs were still being read, and they were given up at the tenant's deadline.
    expect(atLogsRead).toEqual([`${CONTOSO}: Quarantined: Fabrikam to Contoso`]);
    expect(emailedAfterMs).toBeLessThan(cycleMs);
    // Given up at its call's deadline: Northwind's provisioning-log check is degraded this cycle, nothing else.
    expect(summary.coverage?.degraded).toEqual({ 'provisioning-logs': 1 });
    const northwind = await world.deps().coverage?.load(NORTHWIND);
    expect(northwind?.coverage.checks.find((c) => c.check === 'provisioning-logs')?.state).toBe('degraded');
  });

  it("a quarantine read early is emailed in a wave while a slow tenant's jobs are still being read, and each tenant is judged once", async () => {
    quarantine(world, CONTOSO, FABRIKAM_JOB, { reason: 'EncounteredQuarantineException' });
    quarantine(world, NORTHWIND, NORTHWIND_JOB, { reason: 'EncounteredQuarantineException' });
    // Paused by an admin: its alert waits one more cycle (pendingCycles 1), so it fires now only if judged twice.
    world.cloud.control.setJob(CONTOSO, WOODGROVE_JOB, { state: 'paused' });
    // Northwind answers every Graph request a second late: its jobs are read after the first wave (0.5 s).
    world.cloud.control.injectFault({ status: 200, delayMs: 1000, times: 1000, tenantId: NORTHWIND });
    const slow: CycleLimits = { ...FAST, observeMs: 8000, cycleMs: 12_000, tenantMs: 6000, firstWaveMs: 500 };
    const cycleDeps = world.deps({ targets }, { limits: slow });
    const summary = await runCycle(cycleDeps);
    expect(summary.tenantsUnreadable).toEqual([]);
    const emails = world.cloud.acs.messages().map((m) => m.plainText ?? '');
    // The emails that tell of a quarantine: alone (its title) or grouped (a line of the list).
    const naming = (sp: string) =>
      emails.flatMap((text, i) => (new RegExp(`^(Quarantined: |- )${sp} \\(`, 'm').test(text) ? [i] : []));
    // Without the wave both would be in one email, sent once Northwind's jobs were read.
    expect(naming('Fabrikam to Contoso'), emails.join('\n----\n')).toHaveLength(1);
    expect(naming('Contoso to Northwind'), emails.join('\n----\n')).toHaveLength(1);
    expect(naming('Contoso to Northwind')[0]).toBeGreaterThan(naming('Fabrikam to Contoso')[0]!);
    const alerts = [...(await cycleDeps.alerts.loadAll()).values()];
    expect(
      alerts.filter((a) => a.labels.jobId === WOODGROVE_JOB).map((a) => `${a.labels.condition}:${a.state}`),
    ).toEqual(['job-disabled:pending']);
  });

  it('nothing is emailed twice when a kill lands right after a wave sent its email', async () => {
    const time = movableClock();
    quarantine(world, CONTOSO, FABRIKAM_JOB, { reason: 'EncounteredQuarantineException' });
    quarantine(world, NORTHWIND, NORTHWIND_JOB, { reason: 'EncounteredQuarantineException' });
    world.cloud.control.injectFault({ status: 200, delayMs: 1000, times: 6, tenantId: NORTHWIND });
    const slow: CycleLimits = { ...FAST, observeMs: 8000, cycleMs: 12_000, tenantMs: 6000, firstWaveMs: 500 };
    await killedAt('sent', (probe) => runCycle(world.deps({ targets, clock: time.clock, probe }, { limits: slow })));
    // The wave emailed Contoso's quarantine; Northwind's jobs were still being read.
    expect(emailSubjects(world).map(withoutSince)).toEqual([`${CONTOSO}: Quarantined: Fabrikam to Contoso`]);
    await twoCyclesAfterTheLease(slow, time);
    expect(emailSubjects(world).map(withoutSince)).toEqual([
      `${CONTOSO}: Quarantined: Fabrikam to Contoso`,
      `${NORTHWIND}: Quarantined: Contoso to Northwind`,
    ]);
    expectEachOnce(world.cloud.acs.messages(), 2);
  });

  it('a tenant whose job ends EntryLevelErrors has its logs read in the same cycle; a healthy one waits for its turn', async () => {
    const policy = rotating('24h');
    // A start with no turn of either tenant in the minute after it (one in 720 starts has one).
    const turnWithin = (at: number) => [CONTOSO, NORTHWIND].some((t) => latestTurn(t, at + MIN, 24 * HOUR) > at);
    let now0 = Date.now();
    while (turnWithin(now0)) now0 += MIN;
    await runCycle(deps({ policy, clock: () => new Date(now0) })); // first reads of both
    const contosoReads = logReads(CONTOSO);
    const northwindReads = logReads(NORTHWIND);
    // A minute later, with no turn of either tenant in between (a day's rotation: the test checks it).
    const next = now0 + MIN;
    for (const t of [CONTOSO, NORTHWIND]) expect(latestTurn(t, next, 24 * HOUR)).toBeLessThanOrEqual(now0);
    world.cloud.control.setJob(NORTHWIND, NORTHWIND_JOB, {
      state: 'healthy',
      lastExecution: { state: 'EntryLevelErrors', countEscrowed: 12 },
    });
    world.cloud.control.addProvisioningEvents(NORTHWIND, failures(NORTHWIND_JOB, 12));
    world.cloud.control.addProvisioningEvents(CONTOSO, failures(SERVICENOW_JOB, 12));
    const summary = await runCycle(deps({ policy, clock: () => new Date(next) }));
    expect(summary.errors).toEqual([]);
    expect(logReads(NORTHWIND)).toBeGreaterThan(northwindReads);
    expect(logReads(CONTOSO)).toBe(contosoReads); // Contoso's jobs show nothing: its failures wait for its turn
    // Read within a moment of the jobs: one email tells the failing job and its failures together.
    const messages = world.cloud.acs.messages();
    expect(messages.map((m) => withoutSince(m.subject))).toEqual([
      `${NORTHWIND}: Job failing: Contoso to Northwind (+1 more)`,
    ]);
    expect(messages[0]!.plainText).toContain('Provisioning failures');
    expect(messages[0]!.plainText).toContain('12 object(s) failed to provision');
  });

  it("a healthy tenant's logs are read within the rotation period, once per turn, and its coverage says when", async () => {
    const policy = rotating('1h');
    // The last cycle lands just after one of Contoso's turns: its logs are read then, and the coverage
    // still says when they are read next (CI once began where the turn fell there, and it said nothing).
    const turn = latestTurn(CONTOSO, Date.now(), HOUR) + 2 * HOUR;
    const start = turn - 13 * 5 * MIN + 1_000;
    const reads: number[] = [];
    for (let step = 0; step <= 13; step++) {
      const before = logReads(CONTOSO);
      await runCycle(deps({ policy, clock: () => new Date(start + step * 5 * MIN) }));
      if (logReads(CONTOSO) > before) reads.push(step);
    }
    // Read first at step 0, then once at its turn within the hour (12 five-minute cycles), and not every cycle.
    expect(reads[0]).toBe(0);
    const afterFirst = reads.slice(1);
    expect(afterFirst.length).toBeGreaterThanOrEqual(1);
    expect(afterFirst.length).toBeLessThanOrEqual(2);
    expect(afterFirst[0]).toBeLessThanOrEqual(12);
    const coverage = await world.deps().coverage?.load(CONTOSO);
    expect(coverage?.coverage.logsReadAt).toBe(new Date(start + (reads.at(-1) as number) * 5 * MIN).toISOString());
    expect(reads.at(-1)).toBe(13);
    expect(coverage?.coverage.logsNextBy).toBe(new Date(turn + HOUR).toISOString());
  });

  /** job-stalled counting the job's learnt run interval, or its schedule's only. */
  const stalledCounting = (learnedInterval: boolean) =>
    buildPolicy({ rules: { 'job-stalled': { learnedInterval } } }, { emailTo: ['ops@contoso.com'] });
  const stalledAlerts = async () =>
    [...(await world.deps().alerts.loadAll()).values()].filter((a) => a.labels.condition === 'job-stalled');

  it('a job judged stalled against its learnt interval is judged with its history when the logs are read too', async () => {
    // Its last run ended 2.5 h ago: three 40-minute intervals have passed, but the job runs every
    // 3 h (its history says so), and job-stalled is set to count the learnt interval.
    const policy = stalledCounting(true);
    world.cloud.control.setJob(NORTHWIND, NORTHWIND_JOB, { state: 'stalled', lastRunAgo: '150m', interval: 'PT40M' });
    const lastRunAt = Date.now() - 150 * MIN;
    const learnt: JobHistory = {
      version: 1,
      runs: Array.from({ length: 10 }, (_, i) => ({
        at: lastRunAt - (10 - i) * 3 * HOUR,
        escrowed: 0,
        completeFailures: 0,
        pruned: false,
      })),
      profile: { hours: [], byHourOfWeek: {}, since: lastRunAt - 31 * HOUR },
    };
    await world
      .deps()
      .histories?.saveTenant(NORTHWIND, [[NORTHWIND_JOB, learnt]], new Map([[NORTHWIND_JOB, marksOf(learnt)]]));
    // Its tenant's logs answer late: the job alerts go out before them, in a part of their own.
    world.cloud.control.injectFault({
      status: 200,
      delayMs: 1500,
      times: 10,
      tenantId: NORTHWIND,
      pathIncludes: '/auditLogs/provisioning',
    });
    const parts: string[] = [];
    const summary = await runCycle(deps({ policy, probe: (p: CyclePoint) => void parts.push(p) }));
    expect(summary.errors).toEqual([]);
    expect(parts.indexOf('logs-read')).toBeGreaterThan(parts.indexOf('sent')); // two parts: the job alerts first
    expect(await stalledAlerts()).toEqual([]);
    expect(emailSubjects(world).filter((s) => s.includes('stalled'))).toEqual([]);
    // Without the learnt interval the same job is stalled: the test can tell the two apart.
    await runCycle(deps({ policy: stalledCounting(false) }));
    const firing = (await stalledAlerts()).filter((a) => a.state === 'firing');
    expect(firing.map((a) => a.labels.jobId)).toEqual([NORTHWIND_JOB]);
  });

  it('nothing is emailed twice when a kill lands between the job alerts and the log alerts', async () => {
    const time = movableClock();
    quarantine(world, CONTOSO, FABRIKAM_JOB, { reason: 'EncounteredQuarantineException' });
    world.cloud.control.addProvisioningEvents(CONTOSO, failures(SERVICENOW_JOB, 12));
    // Contoso's logs answer late, so the job alerts go out on their own first.
    world.cloud.control.injectFault({
      status: 200,
      delayMs: 1500,
      times: 2,
      tenantId: CONTOSO,
      pathIncludes: '/auditLogs/provisioning',
    });
    await killedAt('logs-read', (probe) => runCycle(deps({ clock: time.clock, probe })));
    expect(emailSubjects(world).map(withoutSince)).toEqual([`${CONTOSO}: Quarantined: Fabrikam to Contoso`]);
    await twoCyclesAfterTheLease(FAST, time);
    expect(emailSubjects(world).map(withoutSince)).toEqual([
      `${CONTOSO}: Quarantined: Fabrikam to Contoso`,
      `${CONTOSO}: Provisioning failures: ServiceNow`,
    ]);
    expectEachOnce(world.cloud.acs.messages(), 2);
  });
});
