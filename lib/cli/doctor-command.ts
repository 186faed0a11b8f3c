import { configReportFromEnv, runDoctorFromEnv } from '../app';
import { renderDoctorText } from '../doctor/text';
import type { DoctorReport } from '../doctor/report';
import { identityWarnings } from '../settings/identity';
import { localSettings } from '../settings/local-settings';
import { loadSettings, SettingsError } from '../settings/settings';
import type { Env } from '../settings/env';
import type { CommandOutput } from './cycle-command';

const USAGE = 'usage: npm run doctor [-- --json] [-- --tenant <tenant ID or domain> ...] [-- --config-only]';

interface DoctorArgs {
  json: boolean;
  configOnly: boolean;
  tenants: string[];
}

function parseArgs(args: string[]): DoctorArgs | string {
  const parsed: DoctorArgs = { json: false, configOnly: false, tenants: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--json') parsed.json = true;
    else if (arg === '--config-only') parsed.configOnly = true;
    else if (arg === '--tenant' && args[i + 1] && !args[i + 1]?.startsWith('--'))
      parsed.tenants.push(args[++i] as string);
    else return `${arg === '--tenant' ? '--tenant needs a tenant ID or domain' : `unknown argument ${arg}`}\n${USAGE}`;
  }
  return parsed;
}

/**
 * `npm run doctor`: the preflight after a deploy (lib/doctor/doctor.ts), with the settings the timer
 * uses (the environment, then local.settings.json Values). Prints one table, or `--json`. Returns the
 * exit code: 0 everything the config needs works (warnings may remain); 1 something it needs does
 * not (each row says what to do); 2 the settings are bad, so nothing could be checked.
 */
export async function doctorCommand(
  env: Env,
  io: CommandOutput,
  args: string[],
  options: { localSettingsFile?: string; width?: number } = {},
): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    io.err(parsed);
    return 2;
  }
  try {
    let report: DoctorReport;
    // The deploy's check reads what the deployment gets (the azd environment), not a local.settings.json.
    if (parsed.configOnly) report = configReportFromEnv(env);
    else {
      const { env: settings, notes } = localSettings(env, options.localSettingsFile);
      for (const note of notes) io.err(note);
      for (const warning of identityWarnings(loadSettings(settings).identity, settings)) io.err(`warning: ${warning}`);
      report = await runDoctorFromEnv(settings, { tenants: parsed.tenants });
    }
    io.out(parsed.json ? JSON.stringify(report, null, 2) : renderDoctorText(report, options.width).trimEnd());
    return report.exitCode;
  } catch (error) {
    if (error instanceof SettingsError) io.err(error.message);
    else io.err(`doctor failed (a bug, please report it): ${(error as Error).stack ?? String(error)}`);
    return 2;
  }
}
