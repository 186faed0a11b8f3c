import { TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { cycleDepsFromSettings } from '../../lib/app';
import { boundedClientOptions } from '../../lib/clients';
import type { CycleLimits } from '../../lib/limits';
import { Env, loadSettings } from '../../lib/config/settings';
import type { CycleDeps, Logger } from '../../lib/cycle';
import { AlertStore } from '../../lib/store/alert-store';
import { StateStore } from '../../lib/store/state-store';
import { settingsFor, startPrivateCloud, type PrivateCloud, type Scenario } from '../../emulators';
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

/** The settings a deployment would have, pointing at the private cloud and the shared Azurite. */
export function settingsEnv(cloud: PrivateCloud, extra: Env = {}): Env {
  return { ...settingsFor(cloud, { storage: inject('storageConnectionString') }), ...extra };
}

export async function startWorld(scenario: Scenario | string = DEMO_SCENARIO, extraEnv: Env = {}): Promise<World> {
  const outboxDir = mkdtempSync(join(tmpdir(), 'esw-outbox-'));
  const cloud = await startPrivateCloud({ scenario, outboxDir });
  const env = settingsEnv(cloud, extraEnv);
  const tableName = `w${randomUUID().replace(/-/g, '')}`;
  const log = memoryLogger();
  const world: World = {
    cloud,
    env,
    tableName,
    log,
    deps(overrides = {}, options = {}) {
      const settings = loadSettings(env);
      const base = cycleDepsFromSettings(settings, env, log, undefined, options.limits);
      const table = (suffix: string) =>
        TableClient.fromConnectionString(options.storage ?? inject('storageConnectionString'), `${world.tableName}${suffix}`, {
          allowInsecureConnection: true,
          ...boundedClientOptions('Table Storage', base.budget!.calls()),
        });
      return { ...base, alerts: new AlertStore(table('alerts')), state: new StateStore(table('state')), observe: { maxRetryAfterSeconds: 1 }, ...overrides };
    },
    stop: () => cloud.stop(),
  };
  return world;
}
