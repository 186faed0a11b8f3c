import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// The scan that `npm test` runs after the suite: the same places vitest.config.mts writes to.
const testRun = resolve('.emulator', 'test-run');
process.env.EMULATOR_SECRET_LEDGER ??= join(testRun, 'secrets.ledger');
process.env.TEST_LOG_DIR ??= join(testRun, 'logs');

export default defineConfig({
  test: { include: ['test/logscan/**/*.test.ts'], pool: 'forks' },
});
