import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { captureLog } from './log-capture';

const root = join(__dirname, '..', '..');

export interface ProcessResult {
  code: number;
  out: string;
  err: string;
}

export interface ProcessOptions {
  /** Default: the project root. */
  cwd?: string;
  /** The whole environment of the process, besides PATH (which it may override). */
  env?: Record<string, string | undefined>;
  /** Names what the process printed in the test log. */
  label: string;
}

/** `node <args>` as a new process, as a person or azd starts it. */
export function runNode(args: string[], options: ProcessOptions): Promise<ProcessResult> {
  return runProcess(process.execPath, args, options);
}

/** Any program as a new process (`sh -c '...'` for a line of the docs), its output captured for the log scan. */
export function runProcess(program: string, args: string[], options: ProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd ?? root,
      env: { PATH: process.env.PATH, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      captureLog(options.label, `${out}\n${err}`);
      resolve({ code: code ?? -1, out, err });
    });
  });
}

/** A command-line entry point of the project (`lib/cli/cycle.ts`, ...) run with tsx, as `npm run` does. */
export function runTypeScript(script: string, options: ProcessOptions & { args?: string[] }): Promise<ProcessResult> {
  return runNode(
    [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, script), ...(options.args ?? [])],
    options,
  );
}
