import { defineConfig } from 'vitest/config';

// Unit tests only, without the global setup that starts Azurite: what `npm run mutate` (Stryker)
// runs for every mutant, so a run fits a 2-core machine. `npm test` runs these and the rest.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
  },
});
