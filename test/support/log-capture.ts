import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Keeps what a test run logs (the product's log lines, the output of the processes tests start)
 * in TEST_LOG_DIR, one file per test process, for the scan that fails the run if a secret or a
 * token reached a log (test/logscan/). Does nothing when TEST_LOG_DIR is not set.
 */
export function captureLog(source: string, text: string): void {
  const dir = process.env.TEST_LOG_DIR;
  if (!dir || !text) return;
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, `${process.pid}.log`), `--- ${source}\n${text}\n`);
}
