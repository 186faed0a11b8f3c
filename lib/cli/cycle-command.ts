import { formatSummary, runCycleFromEnv } from '../app';
import { ConfigError } from '../config/config';
import { identityWarnings } from '../settings/identity';
import { localSettings } from '../settings/local-settings';
import { loadSettings, SettingsError } from '../settings/settings';
import { type Env } from '../settings/env';
import type { Logger } from '../util/log';
import { StorageError } from '../store/table';

/** Where the command writes: standard output and standard error, one line at a time. */
export interface CommandOutput {
  out(line: string): void;
  err(line: string): void;
}

/**
 * `npm run cycle`: exactly one monitoring cycle with the given settings (the environment, then
 * local.settings.json Values; lib/settings/local-settings.ts), through the same code as the timer function. Returns the exit code:
 * 0 the cycle did its whole job; 1 it ran but something could not be checked or sent (details
 * printed); 2 it could not run (bad settings or config file, storage unreachable or refusing the
 * credentials). A user's mistake is told in words that name it, never as a stack trace.
 */
export async function cycleCommand(env: Env, io: CommandOutput, localSettingsFile?: string): Promise<number> {
  const log: Logger = {
    info: (m) => io.out(m),
    warn: (m) => io.err(`warning: ${m}`),
    error: (m) => io.err(`error: ${m}`),
  };
  try {
    const { env: settings, notes } = localSettings(env, localSettingsFile);
    for (const note of notes) io.err(note);
    for (const warning of identityWarnings(loadSettings(settings).identity, settings)) log.warn(warning);
    const summary = await runCycleFromEnv(settings, log);
    io.out(`cycle: ${formatSummary(summary)}`);
    if (summary.errors.length > 0) {
      io.err(`cycle incomplete: ${summary.errors.length} problem(s):`);
      for (const e of summary.errors) io.err(`  - ${e}`);
      return 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof SettingsError || error instanceof ConfigError) io.err(error.message);
    else if (error instanceof StorageError) io.err(`cannot run: ${error.message}`);
    else io.err(`cycle failed (a bug, please report it): ${(error as Error).stack ?? String(error)}`);
    return 2;
  }
}
