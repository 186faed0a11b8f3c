import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** `npm run replay` on a short span: it runs the real rules to the end and prints its last line as issue 21 asks. */
describe('the replay script', () => {
  it('prints the incidents, catches, lead and false alerts of both alert sets, the same for the same seed', () => {
    const run = () =>
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(__dirname, '..', '..', 'scripts', 'replay.ts'),
          '--days',
          '21',
          '--jobs-per-kind',
          '1',
        ],
        {
          encoding: 'utf8',
        },
      );
    const out = run();
    const last = out.trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(
      /^replay: \d+ incidents, caught \d+ \(\d+ %\), median lead \d+\.\d h before quarantine, \d+\.\d\d false alerts per job-month \(fixed thresholds: \d+ %, \d+\.\d h, \d+\.\d\d\)$/,
    );
    expect(run()).toBe(out);
  }, 60_000);
});
