import { ConfigError } from '../config/config';
import { localSettings } from '../settings/local-settings';
import { SettingsError } from '../settings/settings';
import { readStatusFromEnv } from '../app';
import { renderStatusText } from '../status/text';

/**
 * `npm run status`: what is firing, muted and last checked, as terminal tables, from the state the
 * settings point at (the environment, then local.settings.json). `-- --json` prints the JSON of
 * GET /api/status instead. Reads stored state only; never calls Graph.
 */
async function main(args: string[]): Promise<number> {
  try {
    const { env, notes } = localSettings(process.env);
    for (const note of notes) console.error(note);
    const view = await readStatusFromEnv(env);
    process.stdout.write(args.includes('--json') ? `${JSON.stringify(view, null, 2)}\n` : renderStatusText(view));
    return 0;
  } catch (error) {
    if (error instanceof SettingsError || error instanceof ConfigError) console.error(error.message);
    else console.error(`status failed: ${(error as Error).message}`);
    return 2;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
