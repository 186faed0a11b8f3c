import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { CoverageStore } from '../../lib/store/coverage-store';
import { STATE_TABLE } from '../../lib/store/state-table';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cycleDepsFromSettings, fanOutStore } from '../../lib/app';
import { loadSettings } from '../../lib/settings/settings';
import { type Env } from '../../lib/settings/env';
import { runCycle } from '../../lib/cycle/cycle';
import type { CyclePoint } from '../../lib/model';
import { decodeMessage, FANOUT_QUEUE, type ObserveMessage } from '../../lib/fanout/message';
import { queueFanOut } from '../../lib/fanout/planner';
import { Deadline } from '../../lib/util/deadline';
import { observeBatch } from '../../lib/fanout/worker';
import { keptCredentials } from '../../lib/clients/credentials';
import type { CycleLimits } from '../../lib/cycle/limits';
import { guidFrom, jobIdFor, type Scenario } from '../../emulators';
import { captureLog } from '../support/log-capture';
import { memoryLogger, ownStorage, startWorld, type World } from '../support/world';

/**
 * The fan-out end to end: the timer's cycle hands its tenants to the queue, several worker
 * processes run the queue-triggered function (functions/observe.ts) under a stand-in for the
 * Functions host's queue trigger (emulators/queue-host.ts: base64 messages, as the host decodes
 * them), against the emulated Graph and real Azurite queues and tables; the timer plans once.
 */

const CROSS_TENANT = '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7';
const TENANTS = Array.from({ length: 12 }, (_, i) => guidFrom(`fanout-tenant-${i}`));
/** A tenant only the lost-worker test watches: a worker that takes its batch dies. */
const DOOMED = guidFrom('fanout-doomed');
const ALL = [DOOMED, ...TENANTS];

function scenario(): Scenario {
  return {
    name: 'fanout',
    app: { clientId: guidFrom('fanout-app'), clientSecret: 'fanout-secret~1' },
    // Each answer a little late, so a batch takes long enough for the other workers to take the next ones.
    graphLimits: { latencyMs: 150, reportsPerApp: { requests: 100_000, windowSeconds: 1 } },
    tenants: ALL.map((id, i) => {
      const sps = [0, 1].map((k) => guidFrom(`fanout-sp-${i}-${k}`));
      return {
        id,
        displayName: `Tenant ${i}`,
        grants: ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'],
        servicePrincipals: sps.map((sp, k) => ({
          id: sp,
          appId: guidFrom(`fanout-app-${i}-${k}`),
          displayName: `Partner ${i}.${k}`,
          applicationTemplateId: CROSS_TENANT,
          jobs: [
            {
              id: jobIdFor('Azure2Azure', id, sp),
              templateId: 'Azure2Azure',
              state: id === TENANTS[0] && k === 0 ? ('quarantined' as const) : ('healthy' as const),
            },
          ],
        })),
        provisioningEvents:
          id === TENANTS[1]
            ? [
                {
                  job: jobIdFor('Azure2Azure', id, sps[1]!),
                  count: 12,
                  status: 'failure' as const,
                  errorCode: 'EntryConflict',
                  minutesAgo: 5,
                  spreadMinutes: 10,
                },
              ]
            : undefined,
      };
    }),
  } as Scenario;
}

/**
 * Short deadlines: the lost worker's batch is given up on after a few seconds. Long enough that a
 * worker process on a busy two-core machine (a test run beside other work) still reads its tenants.
 */
const LIMITS: CycleLimits = {
  cycleMs: 20_000,
  observeMs: 8_000,
  tenantMs: 6_000,
  callMs: 1_500,
  maxRetryAfterMs: 1_000,
};

let world: World;
let storage: string;
let workerEnv: Env;
const workers: ChildProcess[] = [];
const workerLines: string[] = [];

/** Starts a worker process (emulators/queue-host.ts running functions/observe.ts) and waits until it listens. */
function startWorker(extraArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, '..', '..', 'emulators', 'queue-host.ts'), '--batch-size', '1', ...extraArgs],
    {
      env: { ...process.env, ...workerEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  workers.push(child);
  return new Promise((resolve, reject) => {
    const onLine = (chunk: Buffer) => {
      const text = chunk.toString();
      captureLog('queue worker', text);
      workerLines.push(...text.split('\n').filter(Boolean));
      if (text.includes('listening on')) resolve(child);
    };
    child.stdout!.on('data', onLine);
    child.stderr!.on('data', onLine);
    child.once('exit', (code) =>
      reject(new Error(`worker exited with ${code} before listening: ${workerLines.slice(-5).join(' | ')}`)),
    );
  });
}

beforeAll(async () => {
  world = await startWorld(scenario());
  storage = ownStorage('fanout');
  // The settings of a deployment: production table names, the queue on the same account.
  workerEnv = {
    ...world.env,
    AzureWebJobsStorage: storage,
    WATCH_TENANTS: ALL.join(','),
    WATCH_FANOUT_TENANTS: '4',
    WATCH_FANOUT_BATCH: '3',
  };
  // Every worker dies if it takes the doomed tenant's batch: only the lost-worker test hands it out.
  await Promise.all([0, 1, 2].map(() => startWorker(['--die-on', DOOMED])));
}, 60_000);

afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await QueueServiceClient.fromConnectionString(storage)
    .getQueueClient(FANOUT_QUEUE)
    .clearMessages()
    .catch(() => undefined);
  await world?.stop();
});

beforeEach(async () => {
  world.cloud.control.reset();
  await QueueServiceClient.fromConnectionString(storage)
    .getQueueClient(FANOUT_QUEUE)
    .clearMessages()
    .catch(() => undefined);
});

/** The timer's cycle with these tenants, allowed to fan out. */
async function timerCycle(tenants: string[]) {
  const env = { ...workerEnv, WATCH_TENANTS: tenants.join(',') };
  const log = memoryLogger();
  const deps = cycleDepsFromSettings(loadSettings(env), env, log, undefined, { fanOut: true, limits: LIMITS });
  expect(deps.fanOut).toBeDefined();
  const summary = await runCycle(deps);
  return { summary, log: log.lines };
}

/** How many times each tenant's jobs were read (inner requests of the $batch probes), by tenant. */
function jobReads(): Map<string, number> {
  const reads = new Map<string, number>();
  for (const r of world.cloud.control.requestLog()) {
    if (r.batchId !== undefined && r.path.endsWith('/synchronization/jobs') && r.tenantId)
      reads.set(r.tenantId, (reads.get(r.tenantId) ?? 0) + 1);
  }
  return reads;
}

describe('fan-out to the queue-triggered function', () => {
  it('reads every tenant once per cycle in several worker processes, and plans one email for the cycle', async () => {
    const { summary, log } = await timerCycle(TENANTS);
    expect(summary.errors).toEqual([]);
    expect(summary.tenantsChecked).toBe(12);
    expect(summary.tenantsUnreadable).toEqual([]);
    expect(summary.jobsSeen).toBe(24);
    // Every tenant's two configurations were read exactly once, and its logs once.
    expect(Object.fromEntries(jobReads())).toEqual(Object.fromEntries(TENANTS.map((t) => [t, 2])));
    const logReads = world.cloud.control.requestLog().filter((r) => r.path.endsWith('/auditLogs/provisioning'));
    expect(logReads.map((r) => r.tenantId).sort()).toEqual([...TENANTS].sort());
    // Four messages, read by more than one worker process; the timer planned once: one email about both alerts.
    const readBy = log.filter((l) => /fan-out: batch \d+ of 4 read by/.test(l));
    expect(readBy).toHaveLength(4);
    expect(new Set(readBy.map((l) => /read by (\S+)/.exec(l)?.[1])).size).toBeGreaterThan(1);
    expect(summary.alertsFiring).toBe(2);
    expect(summary.notificationsSent).toBe(1);
    const emails = world.cloud.acs.messages();
    expect(emails).toHaveLength(1);
    expect(emails[0]!.plainText).toContain('Quarantined');
    expect(emails[0]!.plainText).toContain('EntryConflict');
    // Each report carries its tenants' coverage to the planner, and each worker wrote its tenants' own.
    expect(summary.coverage).toEqual({ tenants: 12, partial: 0, degraded: {}, off: {} });
    const coverage = new CoverageStore(
      TableClient.fromConnectionString(storage, STATE_TABLE, { allowInsecureConnection: true }),
    );
    const stored = await Promise.all(TENANTS.map((t) => coverage.load(t)));
    expect(stored.map((c) => c?.coverage.checks.map((k) => `${k.check}:${k.state}`))).toEqual(
      TENANTS.map(() => [
        'job-status:cross-tenant:active',
        'discovery:active',
        'early-warnings:active',
        'provisioning-logs:active',
      ]),
    );
  });

  it("sends the job alerts first: a new quarantine is emailed before the workers' reports of a hung logs endpoint come in", async () => {
    const tenant = TENANTS[5]!;
    const job = jobIdFor('Azure2Azure', tenant, guidFrom('fanout-sp-6-0'));
    world.cloud.control.setJob(tenant, job, {
      state: 'quarantined',
      quarantine: { reason: 'EncounteredQuarantineException' },
    });
    world.cloud.control.injectFault({
      status: 0,
      hang: true,
      times: 1000,
      tenantId: tenant,
      pathIncludes: '/auditLogs/provisioning',
    });
    const env = { ...workerEnv, WATCH_TENANTS: TENANTS.join(',') };
    const deps = cycleDepsFromSettings(loadSettings(env), env, memoryLogger(), undefined, {
      fanOut: true,
      limits: LIMITS,
    });
    const before = world.cloud.acs.messages().length;
    let atLogsRead: string[] | undefined;
    const summary = await runCycle({
      ...deps,
      probe: (p: CyclePoint) => {
        if (p === 'logs-read')
          atLogsRead = world.cloud.acs
            .messages()
            .slice(before)
            .map((m) => m.subject);
      },
    });
    // The quarantine went out on the workers' first reports, before the second (after the logs) came in.
    expect(atLogsRead).toHaveLength(1);
    expect(atLogsRead![0]).toContain('Quarantined: Partner 6.0');
    // The hung logs were given up at the call's deadline; the tenant's logs check is degraded, nothing lost.
    expect(summary.coverage?.degraded).toEqual({ 'provisioning-logs': 1 });
    expect(world.cloud.acs.messages().slice(before)).toHaveLength(1);
  });

  it('emails the quarantines of the batches reported so far while a slow batch is still being read (a wave)', async () => {
    // Two new quarantines: one in the first batch, one in the last, whose tenant answers slowly.
    const quarantine = (tenant: string, sp: string) =>
      world.cloud.control.setJob(tenant, jobIdFor('Azure2Azure', tenant, guidFrom(sp)), {
        state: 'quarantined',
        quarantine: { reason: 'EncounteredQuarantineException' },
      });
    const slow = TENANTS[11]!;
    quarantine(TENANTS[2]!, 'fanout-sp-3-0');
    quarantine(slow, 'fanout-sp-12-0');
    // Paused by an admin, in the first batch: its alert waits one more cycle (pendingCycles 1) if judged once this cycle.
    const paused = jobIdFor('Azure2Azure', TENANTS[1]!, guidFrom('fanout-sp-2-0'));
    world.cloud.control.setJob(TENANTS[1]!, paused, { state: 'paused' });
    world.cloud.control.injectFault({ status: 200, delayMs: 1000, times: 1000, tenantId: slow });
    const env = { ...workerEnv, WATCH_TENANTS: TENANTS.join(',') };
    // The first wave after 1 s instead of 5 (the test's cycle reads for 8 s).
    const deps = cycleDepsFromSettings(loadSettings(env), env, memoryLogger(), undefined, {
      fanOut: true,
      limits: { ...LIMITS, firstWaveMs: 1000 },
    });
    const before = world.cloud.acs.messages().length;
    const summary = await runCycle(deps);
    expect(summary.errors).toEqual([]);
    const emails = world.cloud.acs
      .messages()
      .slice(before)
      .map((m) => m.plainText ?? '');
    // The emails that tell of a quarantine: alone (its title) or grouped (a line of the list); not a mention among those still open.
    const naming = (sp: string) =>
      emails.flatMap((text, i) => (new RegExp(`^(Quarantined: |- )${sp} \\(`, 'm').test(text) ? [i] : []));
    // Without waves both would be in one email, sent once the slow batch reported. Each is emailed once.
    expect(naming('Partner 3.0'), emails.join('\n----\n')).toHaveLength(1);
    expect(naming('Partner 12.0'), emails.join('\n----\n')).toHaveLength(1);
    expect(naming('Partner 12.0')[0]).toBeGreaterThan(naming('Partner 3.0')[0]!);
    // Each tenant's jobs were read once, and judged once: the paused job's alert is pending, not firing.
    expect(Object.fromEntries(jobReads())).toEqual(Object.fromEntries(TENANTS.map((t) => [t, 2])));
    const alerts = [...(await deps.alerts.loadAll()).values()];
    expect(alerts.filter((a) => a.labels.jobId === paused).map((a) => `${a.labels.condition}:${a.state}`)).toEqual([
      'job-disabled:pending',
    ]);
  });

  it('reports the tenants of a worker lost in the middle of its batch as not checked, and reads all the others once', async () => {
    const { summary } = await timerCycle(ALL);
    // The first batch (the doomed tenant and the next two) was taken by a worker that died holding it.
    const lost = [DOOMED, TENANTS[0]!, TENANTS[1]!];
    expect([...summary.tenantsUnreadable].sort()).toEqual([...lost].sort());
    for (const t of lost)
      expect(summary.errors.join('\n')).toContain(
        `tenant ${t}: cannot monitor: NotChecked: no instance reported batch 1 of 5`,
      );
    expect(summary.tenantsChecked).toBe(13);
    const reads = jobReads();
    for (const t of lost) expect(reads.get(t)).toBeUndefined();
    for (const t of TENANTS.slice(2)) expect(reads.get(t)).toBe(2);
    // Exactly one worker took it, and died holding it.
    expect(workers.filter((w) => w.exitCode === 137)).toHaveLength(1);
  }, 30_000);

  it('reads the tenants itself when the queue cannot be used, and says so', async () => {
    // The queue endpoint of these settings refuses connections (nothing listens on port 9).
    const env = {
      ...workerEnv,
      WATCH_TENANTS: TENANTS.slice(0, 6).join(','),
      AzureWebJobsStorage: storage.replace(/QueueEndpoint=[^;]+;/, 'QueueEndpoint=http://127.0.0.1:9/fanout;'),
    };
    const log = memoryLogger();
    const deps = cycleDepsFromSettings(loadSettings(env), env, log, undefined, { fanOut: true, limits: LIMITS });
    const summary = await runCycle(deps);
    expect(summary.errors).toEqual([]);
    expect(summary.tenantsChecked).toBe(6);
    expect(Object.fromEntries(jobReads())).toEqual(Object.fromEntries(TENANTS.slice(0, 6).map((t) => [t, 2])));
    expect(log.lines.join('\n')).toMatch(
      /fan-out: the queue syncwatch-observe cannot be used .*this instance reads every tenant itself/,
    );
  });
});

describe('the planner', () => {
  it('asks once which tenants have a log alert open, and tells each batch its own', async () => {
    const tenants = TENANTS.slice(0, 5);
    const env = { ...workerEnv, WATCH_TENANTS: tenants.join(',') };
    const settings = loadSettings(env);
    const deps = cycleDepsFromSettings(settings, env, memoryLogger(), undefined, { fanOut: true, limits: LIMITS });
    // A queue of its own that no worker takes from: the messages stay to be read here.
    const queue = QueueServiceClient.fromConnectionString(storage).getQueueClient(`plan${Date.now()}`);
    const budget = deps.budget!;
    budget.start();
    const fan = queueFanOut({
      queue,
      store: fanOutStore(settings, keptCredentials(settings, env).azure, budget.calls()),
      batchSize: 3,
      pollMs: 50,
    });
    const asked: string[] = [];
    const plan = {
      watchedTenants: tenants.length,
      openLogAlert: async (tenantId: string) => {
        asked.push(tenantId);
        return tenantId === TENANTS[3];
      },
    };
    await fan.observe(deps, budget, Deadline.in(300), [], plan);
    const received = await queue.receiveMessages({ numberOfMessages: 32 });
    const messages = received.receivedMessageItems.map((m) => decodeMessage(m.messageText));
    expect(messages.sort((a, b) => a.batch - b.batch).map((m) => m.openLogAlerts)).toEqual([[], [TENANTS[3]]]);
    expect(asked).toEqual(tenants);
    await queue.delete();
  });
});

describe('the queue-triggered function', () => {
  const settings = () => loadSettings(workerEnv);
  const message = (tenants: string[], observeInMs: number): ObserveMessage => ({
    v: 1,
    cycle: `${new Date().toISOString()}_direct`,
    batch: 0,
    of: 1,
    tenants: tenants.map((tenantId) => ({ tenantId, tokenTenant: tenantId })),
    observeBy: Date.now() + observeInMs,
    deadline: Date.now() + observeInMs + 5000,
  });
  const workerDeps = (log = memoryLogger()) => {
    const cycle = cycleDepsFromSettings(settings(), workerEnv, log, undefined, {
      limits: LIMITS,
      sharedReportsLimit: true,
    });
    cycle.budget!.start();
    return {
      cycle,
      store: fanOutStore(settings(), keptCredentials(settings(), workerEnv).azure, cycle.budget!.calls()),
      log,
    };
  };

  it('reads nothing for a message whose cycle has stopped waiting for it', async () => {
    const deps = workerDeps();
    const outcome = await observeBatch(message([TENANTS[2]!], -1000), deps);
    expect(outcome.kind).toBe('stale');
    expect(world.cloud.control.requestLog()).toEqual([]);
    expect(deps.log.lines.join('\n')).toMatch(/taken \d+ ms after its observe deadline/);
  });

  it("takes which tenants have a log alert open from the message, and reads each tenant's alerts once for both reports", async () => {
    const deps = workerDeps();
    const asked: string[] = [];
    const loadTenant = deps.cycle.alerts.loadTenant.bind(deps.cycle.alerts);
    deps.cycle.alerts.loadTenant = (tenantId: string) => {
      asked.push(tenantId);
      return loadTenant(tenantId);
    };
    const batch = [TENANTS[2]!, TENANTS[3]!];
    const twoParts = (m: ObserveMessage): ObserveMessage => ({ ...m, parts: 2 });
    // Told: each tenant's alerts are read once, for both its reports (the jobs, then the logs).
    const told = await observeBatch(twoParts({ ...message(batch, 4000), openLogAlerts: [TENANTS[3]!] }), deps);
    expect(told.kind).toBe('reported');
    expect(asked.sort()).toEqual([...batch].sort());
    // Not told (a planner that could not read the alerts): asked once more each, for the log plan.
    asked.length = 0;
    expect((await observeBatch(twoParts(message(batch, 4000)), deps)).kind).toBe('reported');
    expect(asked.sort()).toEqual([...batch, ...batch].sort());
  });

  it('reads only tenants of its own settings, and names the others', async () => {
    const deps = workerDeps();
    const stranger = guidFrom('fanout-stranger');
    const outcome = await observeBatch(message([TENANTS[2]!, stranger], 4000), deps);
    expect(outcome.kind).toBe('reported');
    if (outcome.kind !== 'reported') return;
    expect(outcome.refused).toEqual([stranger]);
    expect(outcome.report.tenants.map((t) => t.tenantId)).toEqual([TENANTS[2]]);
    expect(outcome.report.errors.join('\n')).toContain(`not in this instance's WATCH_TENANTS, not read: ${stranger}`);
    expect([...jobReads().keys()]).toEqual([TENANTS[2]]);
  });
});
