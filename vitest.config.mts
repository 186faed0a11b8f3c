import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

// Every test run keeps what it logs, and the emulators every secret they hand out, under
// .emulator/test-run/ (emptied by test/global-setup.ts); `npm test` then checks that no secret
// reached a log (vitest.logscan.config.mts).
const testRun = resolve('.emulator', 'test-run');
process.env.EMULATOR_SECRET_LEDGER ??= join(testRun, 'secrets.ledger');
process.env.TEST_LOG_DIR ??= join(testRun, 'logs');
const logDir = process.env.TEST_LOG_DIR;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/logscan/**'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    onConsoleLog(log) {
      mkdirSync(logDir, { recursive: true });
      appendFileSync(join(logDir, 'console.log'), log);
    },
  },
});
