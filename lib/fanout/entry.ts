import { cycleDepsFromSettings, fanOutStore } from '../app';
import { keptCredentials } from '../clients/credentials';
import { boundedCredential } from '../clients/timeouts';
import { loadSettings, type Env } from '../settings/settings';
import { limitsForSchedule } from '../cycle/limits';
import type { Logger } from '../util/log';
import { decodeMessage } from './message';
import { observeBatch, type BatchOutcome } from './worker';

/**
 * One message of the fan-out queue, with this instance's settings: what functions/observe.ts runs.
 * Throws InvalidMessage for a message that is not ours (the host retries it, then moves it to the
 * poison queue), SettingsError or ConfigError for bad settings, and StorageError when the report
 * cannot be written (a retry may still make it in time). Problems of the tenants themselves do
 * not throw: they are in the report, for the cycle's planner to report.
 */
export async function observeMessageFromEnv(entry: unknown, env: Env, log: Logger): Promise<BatchOutcome> {
  const message = decodeMessage(entry);
  const settings = loadSettings(env);
  // The cycle's deadline is the message's: every call this instance makes ends by it.
  const limits = {
    ...limitsForSchedule(settings.schedule, env),
    cycleMs: Math.max(1000, message.deadline - Date.now()),
  };
  const cycle = cycleDepsFromSettings(settings, env, log, undefined, { limits, sharedReportsLimit: true });
  cycle.budget?.start();
  const calls = cycle.budget!.calls();
  const store = fanOutStore(settings, boundedCredential(keptCredentials(settings, env).azure, calls), calls);
  return observeBatch(message, { cycle, store });
}
