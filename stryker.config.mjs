// @ts-check
/**
 * `npm run mutate`: mutation testing of the pure core with Stryker and its Vitest runner, over
 * the unit tests only (vitest.unit.config.mts: no Azurite, no emulators). Not run in CI: on two
 * shared cores a run takes a while. It prints the mutation score and what survives.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
const config = {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.unit.config.mts', related: true },
  mutate: [
    'lib/evaluate/**/*.ts',
    'lib/reconcile/**/*.ts',
    'lib/dispatch/**/*.ts',
    'lib/inhibit/**/*.ts',
    'lib/silence/**/*.ts',
    // The pure pieces that moved out of notify/ in issue 17: display-safe text and the send budget's arithmetic.
    'lib/util/safe-text.ts',
    'lib/store/send-budget.ts',
    // notify/ but what talks to Table Storage, ACS and webhooks (tested against Azurite and the emulators).
    'lib/notify/**/*.ts',
    '!lib/notify/deliver.ts',
    '!lib/notify/record.ts',
    '!lib/notify/channels/http.ts',
    '!lib/notify/channels/email.ts',
  ],
  concurrency: 2,
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  clearTextReporter: { reportMutants: true, reportScoreTable: true, allowEmojis: false },
  thresholds: { high: 90, low: 85, break: 85 },
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  // A rerun tests again only the mutants whose code or covering tests changed; `-- --force` retests all.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  ignorePatterns: ['dist', 'outbox', 'reports', '.emulator', 'coverage'],
};
export default config;
