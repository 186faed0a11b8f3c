import { formatSummary, runCycleFromEnv } from '../app';
import { ConfigError } from '../config/config';
import { localEnv, SettingsError } from '../config/settings';
import type { Logger } from '../cycle';
import { StorageError } from '../store/table';

/**
 * `npm run cycle`: exactly one monitoring cycle with the current settings (the environment, then
 * local.settings.json Values), through the same code as the timer function.
 * Exit codes: 0 the cycle did its whole job; 1 it ran but something could not be checked or sent
 * (details above); 2 it could not run (bad settings or config file, storage unreachable or
 * refusing the credentials). A user's mistake is told in words, never as a stack trace.
 */
async function main(): Promise<number> {
  const log: Logger = {
    info: (m) => console.log(m),
    warn: (m) => console.warn(`warning: ${m}`),
    error: (m) => console.error(`error: ${m}`),
  };
  try {
    const summary = await runCycleFromEnv(localEnv(process.env), log);
    console.log(`cycle: ${formatSummary(summary)}`);
    if (summary.errors.length > 0) {
      console.error(`cycle incomplete: ${summary.errors.length} problem(s):`);
      for (const e of summary.errors) console.error(`  - ${e}`);
      return 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof SettingsError || error instanceof ConfigError) console.error(error.message);
    else if (error instanceof StorageError) console.error(`cannot run: ${error.message}`);
    else console.error(`cycle failed (a bug, please report it): ${(error as Error).stack ?? String(error)}`);
    return 2;
  }
}

// Exit as soon as the cycle is over: a request abandoned at its deadline (a hung socket) must not
// keep the process alive after the cycle has reported.
main().then((code) => process.exit(code));
