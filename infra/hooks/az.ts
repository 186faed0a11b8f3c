import { spawn } from 'node:child_process';

/**
 * The Azure CLI as the azd hooks use it. azd runs a hook in the project directory with the azd
 * environment's values (Bicep outputs included) as environment variables, but gives it no Azure
 * token; the hooks ask `az`, which a person running azd has (the deployment guide asks for it), signed in
 * to the same tenant. Every call goes through an injected runner so that tests drive the hooks'
 * decisions with a fake `az`.
 */

export type Env = Record<string, string | undefined>;

export interface AzResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `az <args>` and returns what it printed. */
export type AzRunner = (args: string[]) => Promise<AzResult>;

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** What a hook needs from the world: `az`, time, and somewhere to say what it does. */
export interface HookDeps {
  az: AzRunner;
  clock: Clock;
  say(line: string): void;
}

/** Why `az` failed, in the terms a hook decides on. */
export type AzFailure = 'missing' | 'login' | 'forbidden' | 'notFound' | 'other';

const EXIT_NOT_FOUND = 127;

export class AzError extends Error {
  constructor(
    readonly kind: AzFailure,
    readonly command: string,
    readonly detail: string,
  ) {
    super(`${command}: ${detail}`);
    this.name = 'AzError';
  }
}

/**
 * The kind of an `az` failure from its exit code and standard error. `az rest` prints the HTTP
 * status and Graph's or ARM's error body (`ERROR: Not Found({"error":{"code":"Request_ResourceNotFound",...}})`),
 * other commands Graph's message ("... does not exist ...").
 */
export function failureOf(result: AzResult): AzFailure {
  const text = result.stderr;
  if (result.code === EXIT_NOT_FOUND || /is not recognized as an internal or external command/i.test(text))
    return 'missing';
  if (/az login|az account set|AADSTS700082|AADSTS50173|refresh token has expired/i.test(text)) return 'login';
  if (/Forbidden|AuthorizationFailed|Authorization_RequestDenied|Insufficient privileges/i.test(text))
    return 'forbidden';
  if (/Not Found|ResourceNotFound|does not exist/i.test(text)) return 'notFound';
  return 'other';
}

/** The first line of what `az` said, without its "ERROR: " prefix: enough to name the problem. */
function firstLine(text: string): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '(no output)';
  return line.replace(/^ERROR:\s*/, '').slice(0, 300);
}

/** `az <args>` as a person would type it, for messages. */
function commandLine(args: string[]): string {
  return ['az', ...args.map((a) => (/^[\w./:=@?,-]+$/.test(a) ? a : `"${a}"`))].join(' ');
}

export async function azText(az: AzRunner, args: string[]): Promise<string> {
  const result = await az(args);
  if (result.code !== 0) throw new AzError(failureOf(result), commandLine(args), firstLine(result.stderr));
  return result.stdout;
}

export async function azJson<T>(az: AzRunner, args: string[]): Promise<T> {
  const text = await azText(az, args);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new AzError('other', commandLine(args), `did not print JSON: ${firstLine(text)}`);
  }
}

/** What a person reads when a hook cannot ask Azure: the reason, in words that say what to do. */
export function azProblem(error: AzError): string {
  switch (error.kind) {
    case 'missing':
      return 'the Azure CLI (az) is not installed or not on PATH (https://learn.microsoft.com/cli/azure/install-azure-cli)';
    case 'login':
      return 'the Azure CLI is not signed in: run `az login` (--tenant <the tenant azd deployed to>)';
    case 'forbidden':
      return `the account az is signed in with may not read this (${error.detail})`;
    default:
      return `${error.command} failed: ${error.detail}`;
  }
}

/**
 * cmd.exe quoting for Windows, where `az` is a .cmd file that Node can start only through a shell.
 * The hooks pass no argument with a double quote, so wrapping each in quotes is enough.
 */
function windowsArgument(arg: string): string {
  if (arg.includes('"')) throw new Error(`an az argument with a double quote cannot be passed through cmd.exe: ${arg}`);
  return `"${arg}"`;
}

/** The real `az`. A missing `az` answers exit code 127, as a POSIX shell would. */
export const realAz: AzRunner = (args) =>
  new Promise((resolve) => {
    const windows = process.platform === 'win32';
    const child = spawn('az', windows ? args.map(windowsArgument) : args, {
      shell: windows,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ code: error.code === 'ENOENT' ? EXIT_NOT_FOUND : 1, stdout, stderr: `${stderr}${error.message}` }),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface Backoff {
  /** Give up after this long. */
  timeoutMs: number;
  /** The first wait; each next one doubles, up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
}

/**
 * Calls `attempt` until it returns a value, waiting with exponential backoff between calls, and
 * returns undefined once `timeoutMs` has passed (the last wait is cut to the deadline). What
 * `attempt` throws is not retried: it decides which failures are worth waiting out.
 */
export async function poll<T>(
  attempt: () => Promise<T | undefined>,
  backoff: Backoff,
  clock: Clock,
  onWait?: (ms: number) => void,
): Promise<T | undefined> {
  const deadline = clock.now() + backoff.timeoutMs;
  let delay = backoff.firstDelayMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    const left = deadline - clock.now();
    if (left <= 0) return undefined;
    const wait = Math.min(delay, left);
    onWait?.(wait);
    await clock.sleep(wait);
    delay = Math.min(delay * 2, backoff.maxDelayMs);
  }
}

/** The Graph root of the cloud az is set to (`https://graph.microsoft.com`), for URLs in commands and messages. */
export async function graphRoot(az: AzRunner): Promise<string> {
  const text = await azText(az, ['cloud', 'show', '--query', 'endpoints.microsoftGraphResourceId', '-o', 'tsv']);
  return text.trim().replace(/\/+$/, '');
}
