import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CLOUDS, cloudNamed, type CloudName } from './clouds';
import type { Env } from './env';
import { placeholderIn, SettingsError, shownUrl } from './settings';

/**
 * Settings for a command-line run (`npm run cycle`, `status`, `onboard`): the environment, plus the
 * `Values` of a local.settings.json beside the code, merged the way Azure Functions Core Tools
 * merges them for `func start`: a variable the environment sets to a non-empty value wins and the
 * file's is skipped; an empty or unset one takes the file's (Azure/azure-functions-core-tools,
 * src/Azure.Functions.Cli/Actions/HostActions/StartHostAction.cs, UpdateEnvironmentVariables:
 * "Skipping '<name>' from local settings as it's already defined in current environment variables").
 *
 * Unlike Core Tools, nothing is merged silently: every setting both give with different values is
 * one line saying which won and where each came from (values shown only when they are not secret).
 * And a merge that would assemble one cloud or one identity from both sources is refused, naming
 * both: that is the one case where "the environment wins" quietly does the wrong thing, signing in
 * to one cloud or tenant with settings meant for another.
 */

export interface LocalSettings {
  env: Env;
  /** One line per setting both sources give, with different values. */
  notes: string[];
}

type Source = 'environment' | 'file';

/**
 * Settings whose values may be printed: they name tenants, apps, endpoints, paths and schedules.
 * Every other value is shown only by its length and a hash prefix, since a name the config file
 * invents (a channel's URL or signing secret) is as likely a secret as AZURE_CLIENT_SECRET.
 */
const SHOWN = new Set([
  'WATCH_TENANTS',
  'WATCH_SCHEDULE',
  'WATCH_CONFIG',
  'ALERT_EMAIL_TO',
  'ALERT_EMAIL_FROM',
  'ACS_ENDPOINT',
  'ACS_EMAIL_DOMAIN_KIND',
  'AZURE_CLOUD',
  'GRAPH_ENDPOINT',
  'AZURE_AUTHORITY_HOST',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'WATCH_APP_CLIENT_ID',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'LOG_ANALYTICS_WORKSPACE_ID',
  'LOG_ANALYTICS_ENDPOINT',
  'SNOOZE_BASE_URL',
  'WATCH_CONCURRENCY',
  'WATCH_FANOUT_TENANTS',
  'WATCH_FANOUT_BATCH',
  'AzureWebJobsStorage__tableServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'FUNCTIONS_WORKER_RUNTIME',
  'languageWorkers__node__arguments',
]);

/** A value as a line may show it: URLs without their query, secrets by length and hash prefix only. */
export function shownValue(name: string, value: string): string {
  if (!SHOWN.has(name)) {
    const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
    return `a hidden value (${value.length} characters, sha256 ${hash}…)`;
  }
  return /^https?:\/\//i.test(value.trim()) ? `"${shownUrl(value.trim())}"` : `"${value}"`;
}

function readValues(file: string): Record<string, string> | undefined {
  if (!existsSync(file)) return undefined;
  let values: unknown;
  try {
    values = (JSON.parse(readFileSync(file, 'utf8')) as { Values?: unknown }).Values;
  } catch (error) {
    throw new SettingsError([`${file} is not valid JSON: ${(error as Error).message}`]);
  }
  if (values === undefined) return undefined;
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw new SettingsError([`${file}: "Values" must be an object of name: "value" pairs`]);
  for (const [name, value] of Object.entries(values as Record<string, unknown>))
    if (typeof value !== 'string') throw new SettingsError([`${file}: Values.${name} must be a string`]);
  return values as Record<string, string>;
}

const given = (value: string | undefined): value is string => value !== undefined && value !== '';

/** Settings that name a cloud: by name, or by a Microsoft endpoint's host. */
const CLOUD_CLAIMS = ['AZURE_CLOUD', 'GRAPH_ENDPOINT', 'AZURE_AUTHORITY_HOST', 'LOG_ANALYTICS_ENDPOINT'];
/** Settings that only mean something in one cloud: its tenants and app registrations. */
const CLOUD_BOUND = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'WATCH_APP_CLIENT_ID', 'WATCH_TENANTS'];
/** Who signs in, and the proof it signs in with. */
const WHO = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID'];
const PROOF = ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH'];

/** The known cloud a setting names, or undefined (not a cloud setting, or a private or unknown endpoint). */
function cloudOf(name: string, value: string): CloudName | undefined {
  if (name === 'AZURE_CLOUD') return cloudNamed(value)?.name;
  let host: string;
  try {
    host = new URL(value.trim()).host.toLowerCase();
  } catch {
    return undefined;
  }
  return Object.values(CLOUDS).find((c) =>
    [c.graphEndpoint, c.authorityHost, c.logAnalyticsEndpoint].some((e) => new URL(e).host === host),
  )?.name;
}

interface Merge {
  env: Env;
  file: Record<string, string>;
  merged: Env;
  source: Map<string, Source>;
  where: string;
}

function origin(m: Merge, name: string): string {
  const value = m.merged[name] as string;
  return `${name}=${shownValue(name, value)} from ${m.source.get(name) === 'file' ? m.where : 'the environment'}`;
}

/** Endpoints and cloud names taken from both sources that name two clouds. */
function mixedClouds(m: Merge): string[] {
  const claims = CLOUD_CLAIMS.filter((n) => given(m.merged[n]))
    .map((name) => ({ name, cloud: cloudOf(name, m.merged[name] as string), source: m.source.get(name) }))
    .filter((c) => c.cloud !== undefined);
  const fromEnv = claims.find((c) => c.source === 'environment');
  const fromFile = claims.find((c) => c.source === 'file' && c.cloud !== fromEnv?.cloud);
  if (fromEnv && fromFile)
    return [
      `${origin(m, fromEnv.name)} and ${origin(m, fromFile.name)} point at two clouds (${fromEnv.cloud}, ${fromFile.cloud}): the command would sign in to one and read the other. Set the cloud and its endpoints in one place.`,
    ];
  // The environment moves the run to another cloud than the one the file's tenants and apps are in.
  const fileClouds = new Set(CLOUD_CLAIMS.filter((n) => given(m.file[n])).map((n) => cloudOf(n, m.file[n] as string)));
  fileClouds.delete(undefined);
  const kept = CLOUD_BOUND.filter((n) => given(m.merged[n]) && m.source.get(n) === 'file');
  const [fileCloud] = fileClouds;
  if (fromEnv && fileClouds.size === 1 && fromEnv.cloud !== fileCloud && kept.length > 0)
    return [
      `${origin(m, fromEnv.name)} would be used with ${kept.join(', ')} from ${m.where}, which names them for ${fileCloud}: the command would look for them in the wrong cloud. Set the cloud and these settings in one place.`,
    ];
  return [];
}

/** A sign-in identity assembled from both sources: who from one, the rest from the other. */
function mixedIdentity(m: Merge): string[] {
  const replaced = WHO.filter(
    (n) =>
      m.source.get(n) === 'environment' &&
      given(m.file[n]) &&
      placeholderIn(m.file[n] as string) === undefined &&
      m.file[n] !== m.merged[n],
  );
  const kept = [...WHO, ...PROOF].filter((n) => given(m.merged[n]) && m.source.get(n) === 'file');
  if (replaced.length === 0 || kept.length === 0) return [];
  const theirs = replaced.map((n) => `${n}=${shownValue(n, m.file[n] as string)}`).join(', ');
  return [
    `${replaced.map((n) => origin(m, n)).join(' and ')} would sign in with ${kept.join(' and ')} from ${m.where}, which gives ${theirs} for them: one identity from two sources. Set ${[...WHO, 'the secret or certificate'].join(', ')} in one place.`,
  ];
}

/**
 * The environment merged with local.settings.json `Values` (Core Tools' precedence), the lines
 * that say where each overlapping setting came from, or a SettingsError for a file that is not
 * valid or a merge that would mix clouds or identities. No file: the environment as it is.
 */
export function localSettings(env: Env, file = 'local.settings.json'): LocalSettings {
  const { env: merged, notes } = mergedWithFile(env, file);
  // The project folder: where local.settings.json is, or would be.
  return configHere(merged, notes, dirname(resolve(file)));
}

/** Where the deployed Function App's own files are (Linux): the project folder, as the package put it there. */
const DEPLOYED_ROOT = '/home/site/wwwroot/';

/**
 * The file on this machine that becomes `path` in the deployed app, when `path` is in the app's own
 * folder in Azure (`/home/site/wwwroot/watch-config.json` → `<root>/watch-config.json`); undefined
 * for any other path.
 */
export function deployedPathHere(path: string | undefined, root = process.cwd()): string | undefined {
  const text = path?.trim();
  return text?.startsWith(DEPLOYED_ROOT) ? join(root, text.slice(DEPLOYED_ROOT.length)) : undefined;
}

/**
 * WATCH_CONFIG as the deployment sets it (`azd env get-values` into the shell, then `npm run
 * onboard`, `status` or `doctor`) names the app's path in Azure; here the project folder holds that
 * file, which is read instead, with a line that says so. Any other path is left as it is.
 */
function configHere(env: Env, notes: string[], root: string): LocalSettings {
  const given = env.WATCH_CONFIG?.trim();
  const here = deployedPathHere(given, root);
  if (!given || !here || existsSync(given) || !existsSync(here)) return { env, notes };
  return {
    env: { ...env, WATCH_CONFIG: here },
    notes: [
      ...notes,
      `settings: WATCH_CONFIG="${given}" is the deployed app's path; ${here}, the file the deployment ships, is read instead`,
    ],
  };
}

function mergedWithFile(env: Env, file: string): LocalSettings {
  const values = readValues(file);
  if (!values) return { env, notes: [] };
  const where = resolve(file);
  const merged: Env = { ...env };
  const source = new Map<string, Source>(
    Object.keys(env)
      .filter((n) => given(env[n]))
      .map((n) => [n, 'environment']),
  );
  const notes: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const mine = env[name];
    if (!given(mine)) {
      merged[name] = value;
      source.set(name, 'file');
    } else if (mine !== value)
      notes.push(
        `settings: ${name}: the environment's ${shownValue(name, mine)} wins over ${shownValue(name, value)} from ${where} (a variable set in the environment wins, as with Azure Functions Core Tools)`,
      );
  }
  const m: Merge = { env, file: values, merged, source, where };
  const conflicts = [...mixedClouds(m), ...mixedIdentity(m)];
  if (conflicts.length > 0) throw new SettingsError(conflicts);
  return { env: merged, notes };
}
