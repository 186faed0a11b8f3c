import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AzResult, AzRunner, Clock, HookDeps } from '../../infra/hooks/az';

/**
 * A scripted Azure CLI for the azd hooks' tests: each call is matched against rules by its
 * arguments (first rule that matches and still has answers left wins), recorded, and answered.
 * Unmatched calls fail the test loudly instead of returning something plausible.
 */
export interface AzRule {
  /** Matched against the arguments joined with spaces. */
  match: RegExp;
  /** Answers in order; the last one repeats. */
  answers: Partial<AzResult>[];
}

export const ok = (body: unknown): Partial<AzResult> => ({
  code: 0,
  stdout: typeof body === 'string' ? body : JSON.stringify(body),
});
export const fail = (stderr: string, code = 1): Partial<AzResult> => ({ code, stderr });
export const NOT_FOUND = fail(
  'ERROR: Not Found({"error":{"code":"Request_ResourceNotFound","message":"Resource \'x\' does not exist or one of its queried reference-property objects are not present."}})',
);
export const NOT_SIGNED_IN = fail("ERROR: Please run 'az login' to setup account.");
export const NO_AZ: Partial<AzResult> = { code: 127, stderr: 'spawn az ENOENT' };
export const FORBIDDEN = fail(
  'ERROR: Forbidden({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}})',
);

function fakeAz(rules: AzRule[]): { az: AzRunner; calls: string[] } {
  const calls: string[] = [];
  const used = rules.map(() => 0);
  const az: AzRunner = async (args) => {
    const line = args.join(' ');
    calls.push(line);
    const index = rules.findIndex((r) => r.match.test(line));
    if (index < 0) throw new Error(`unexpected az call: az ${line}`);
    const rule = rules[index] as AzRule;
    const answer = rule.answers[Math.min(used[index] as number, rule.answers.length - 1)] ?? {};
    used[index] = (used[index] as number) + 1;
    return { code: 0, stdout: '', stderr: '', ...answer };
  };
  return { az, calls };
}

/** A clock that moves only when the hook sleeps, and remembers each sleep. */
export function fakeClock(start = Date.parse('2026-03-01T12:00:00Z')): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

export function hookWorld(rules: AzRule[], start?: number) {
  const { az, calls } = fakeAz(rules);
  const clock = fakeClock(start);
  const said: string[] = [];
  const deps: HookDeps = { az, clock, say: (line) => said.push(line) };
  return { deps, calls, clock, said, text: () => said.join('\n') };
}

/**
 * An `az` executable for hooks run as real processes: a directory to put first on PATH, holding an
 * `az` that answers from `rules` (regex source and one answer each) and logs every call.
 */
export function fakeAzOnPath(rules: { match: string; answer: Partial<AzResult> }[]): {
  dir: string;
  calls: () => string[];
} {
  const dir = mkdtempSync(join(tmpdir(), 'esw-fake-az-'));
  const log = join(dir, 'calls.log');
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
  writeFileSync(log, '');
  writeFileSync(
    join(dir, 'fake-az.mjs'),
    `import { appendFileSync, readFileSync } from 'node:fs';
const line = process.argv.slice(2).join(' ');
appendFileSync(${JSON.stringify(log)}, line + '\\n');
const rules = JSON.parse(readFileSync(${JSON.stringify(join(dir, 'rules.json'))}, 'utf8'));
const rule = rules.find((r) => new RegExp(r.match).test(line));
if (!rule) { process.stderr.write('fake az: no rule for ' + line + '\\n'); process.exit(3); }
process.stdout.write(rule.answer.stdout ?? '');
process.stderr.write(rule.answer.stderr ?? '');
process.exit(rule.answer.code ?? 0);
`,
  );
  writeFileSync(join(dir, 'az'), `#!/bin/sh\nexec "${process.execPath}" "${join(dir, 'fake-az.mjs')}" "$@"\n`);
  chmodSync(join(dir, 'az'), 0o755);
  return {
    dir,
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
  };
}
