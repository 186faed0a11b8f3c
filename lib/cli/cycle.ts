import { formatSummary, runCycleFromEnv } from '../app';
import { ConfigError } from '../config/config';
import { identityWarnings } from '../config/identity';
import { loadSettings, localEnv, SettingsError } from '../config/settings';
import type { Logger } from '../cycle';

/**
 * `npm run cycle`: exactly one monitoring cycle with the current settings (the environment, then
 * local.settings.json Values), through the same code as the timer function.
 * Exit codes: 0 the cycle did its whole job; 1 it ran but something could not be checked or sent
 * (details above); 2 it could not run (bad settings or config file, storage unreachable).
 */
async function main(): Promise<number> {
  const log: Logger = {
    info: (m) => console.log(m),
    warn: (m) => console.warn(`warning: ${m}`),
    error: (m) => console.error(`error: ${m}`),
  };
  try {
    const env = localEnv(process.env);
    for (const warning of identityWarnings(loadSettings(env).identity, env)) log.warn(warning);
    const summary = await runCycleFromEnv(env, log);
    console.log(`cycle: ${formatSummary(summary)}`);
    if (summary.errors.length > 0) {
      console.error(`cycle incomplete: ${summary.errors.length} problem(s):`);
      for (const e of summary.errors) console.error(`  - ${e}`);
      return 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof SettingsError || error instanceof ConfigError) console.error(error.message);
    else console.error(`cycle failed: ${(error as Error).stack ?? String(error)}`);
    return 2;
  }
}

main().then((code) => {
  process.exitCode = code;
});
