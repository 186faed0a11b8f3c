import { TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { cycleDepsFromSettings } from '../../lib/app';
import { boundedClientOptions } from '../../lib/clients';
import type { CycleLimits } from '../../lib/cycle/limits';
import { Env } from '../../lib/settings/env';
import { loadSettings } from '../../lib/settings/settings';
import type { CycleDeps } from '../../lib/cycle/cycle';
import type { Logger } from '../../lib/util/log';
import { AlertStore } from '../../lib/store/alert-store';
import { stateStores } from '../../lib/store/state-table';
import { SilenceStore } from '../../lib/store/silence-store';
import { DiscoveryStore } from '../../lib/store/discovery-store';
import { ProvisioningLogStore } from '../../lib/store/provisioning-log-store';
import { HistoryStore } from '../../lib/store/history-store';
import { loadScenario, settingsFor, startPrivateCloud, type PrivateCloud, type Scenario } from '../../emulators';
import { captureLog } from './log-capture';

export const DEMO_SCENARIO = join(__dirname, '..', '..', 'emulators', 'scenarios', 'demo.json');

export function demoScenario(): Scenario {
  return JSON.parse(readFileSync(DEMO_SCENARIO, 'utf8')) as Scenario;
}

/** Collects log lines so tests can assert what an operator would read (and the log scan can check them for secrets). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (line: string) => {
    lines.push(line);
    captureLog('cycle log', line);
  };
  return {
    lines,
    info: (m) => add(`info: ${m}`),
    warn: (m) => add(`warn: ${m}`),
    error: (m) => add(`error: ${m}`),
  };
}

export interface World {
  cloud: PrivateCloud;
  env: Env;
  /** A table of its own in the shared Azurite, so test files and tests do not see each other's alerts. Change it for a clean slate. */
  tableName: string;
  log: ReturnType<typeof memoryLogger>;
  /**
   * Cycle dependencies built from settings exactly as production builds them, on this world's
   * table; `limits` for short deadlines, `storage` for another way to Azurite (a proxy a test can cut).
   */
  deps(overrides?: Partial<CycleDeps>, options?: { limits?: CycleLimits; storage?: string }): CycleDeps;
  stop(): Promise<void>;
}

/**
 * Cycle dependencies whose every table lives in the shared Azurite under names starting with
 * `prefix`, so test files running at once never see each other's alerts, outbox or watermarks.
 */
export function withOwnTables(
  deps: CycleDeps,
  prefix: string,
  storage: string = inject('storageConnectionString'),
): CycleDeps {
  const bounded = deps.budget ? boundedClientOptions('Table Storage', deps.budget.calls()) : {};
  const table = (suffix: string) =>
    TableClient.fromConnectionString(storage, `${prefix}${suffix}`, { allowInsecureConnection: true, ...bounded });
  return {
    ...deps,
    alerts: new AlertStore(table('alerts')),
    ...stateStores(table('state')),
    discovery: new DiscoveryStore(table('discovery')),
    silences: new SilenceStore(table('state')),
    histories: new HistoryStore(table('state')),
    logs: deps.logs && { ...deps.logs, store: new ProvisioningLogStore(table('state')) },
  };
}

/**
 * The connection string of an Azurite account of the calling test file's own (test/global-setup.ts
 * lists them): for tests that run the product with its production table names.
 */
export function ownStorage(account: string): string {
  const connectionString = inject('storageAccounts')[account];
  if (!connectionString)
    throw new Error(`no Azurite account "${account}": add it to OWN_STORAGE_ACCOUNTS in test/global-setup.ts`);
  return connectionString;
}

/** The settings a deployment would have, pointing at the private cloud and the shared Azurite. */
function settingsEnv(cloud: PrivateCloud, extra: Env = {}): Env {
  return { ...settingsFor(cloud, { storage: inject('storageConnectionString') }), ...extra };
}

/**
 * Tests run cycles back to back, not five minutes apart: unless a scenario sets its own, Graph's
 * reports limit (5 requests per 10 s per tenant) is lifted, so the provisioning-log reads of one
 * test do not throttle the next. Tests of the limit itself set `reportsRateLimit`.
 */
const TEST_REPORTS_LIMIT = { requests: 1000, windowSeconds: 1 };
/** Likewise the reports limit across tenants (122 per 10 s per app), unless a scenario sets its own graphLimits. */
const TEST_GRAPH_LIMITS = { reportsPerApp: { requests: 100_000, windowSeconds: 1 } };

export async function startWorld(
  scenarioOrPath: Scenario | string = DEMO_SCENARIO,
  extraEnv: Env = {},
  options: { clock?: () => number } = {},
): Promise<World> {
  const outboxDir = mkdtempSync(join(tmpdir(), 'esw-outbox-'));
  const scenario = typeof scenarioOrPath === 'string' ? loadScenario(scenarioOrPath) : scenarioOrPath;
  const cloud = await startPrivateCloud({
    scenario: {
      ...scenario,
      reportsRateLimit: scenario.reportsRateLimit ?? TEST_REPORTS_LIMIT,
      graphLimits: scenario.graphLimits ?? TEST_GRAPH_LIMITS,
    },
    outboxDir,
    clock: options.clock,
  });
  const env = settingsEnv(cloud, extraEnv);
  const tableName = `w${randomUUID().replace(/-/g, '')}`;
  const log = memoryLogger();
  const world: World = {
    cloud,
    env,
    tableName,
    log,
    deps(overrides = {}, options = {}) {
      const base = withOwnTables(
        cycleDepsFromSettings(loadSettings(env), env, log, undefined, { limits: options.limits }),
        world.tableName,
        options.storage,
      );
      return { ...base, observe: { maxRetryAfterSeconds: 1 }, ...overrides };
    },
    stop: () => cloud.stop(),
  };
  return world;
}

/**
 * The demo's private cloud for the tests of one describe block: started once, and before each test
 * reset (the emulators' state, the mailbox, the log) with tables of its own named from `prefix`, so
 * no test sees another's alerts. Call inside the describe block; the world exists once beforeAll ran.
 */
export function freshDemoWorld(prefix: string): () => World {
  let world: World | undefined;
  beforeAll(async () => {
    world = await startWorld(demoScenario());
  });
  afterAll(() => world?.stop());
  beforeEach(() => {
    const w = world as World;
    w.cloud.control.reset();
    w.cloud.acs.reset();
    w.log.lines.length = 0;
    w.tableName = `${prefix}${Math.random().toString(36).slice(2)}`;
  });
  return () => world as World;
}
