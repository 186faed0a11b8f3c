import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../emulators/azurite';

declare module 'vitest' {
  export interface ProvidedContext {
    storageConnectionString: string;
    /** A storage account of its own per test file that runs the product with its production table names (ownStorage in support/world.ts). */
    storageAccounts: Record<string, string>;
  }
}

/**
 * Test files that run the product exactly as deployed (npm run cycle processes, the Functions
 * handlers) use the production table names; each gets an Azurite account of its own, so files
 * running at once never read each other's alerts.
 */
export const OWN_STORAGE_ACCOUNTS = [
  'entrypoints',
  'observability',
  'clierrors',
  'statuspage',
  'snooze',
  'acknowledge',
  'fanout',
  'decide',
  'doctor',
  'walkthrough',
];

/** One Azurite for the whole run; each test uses its own tables, so files do not see each other. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A fresh record of this run's logs and secrets for the log scan (vitest.config.mts).
  for (const path of [process.env.TEST_LOG_DIR, process.env.EMULATOR_SECRET_LEDGER])
    if (path) rmSync(path, { recursive: true, force: true });
  if (process.env.EMULATOR_SECRET_LEDGER) mkdirSync(dirname(process.env.EMULATOR_SECRET_LEDGER), { recursive: true });
  // The queue service too: the tenant fan-out's tests (test/integration/fanout.test.ts) use it.
  const azurite = await startAzurite({ accounts: OWN_STORAGE_ACCOUNTS, queue: true });
  project.provide('storageConnectionString', azurite.connectionString);
  project.provide(
    'storageAccounts',
    Object.fromEntries(OWN_STORAGE_ACCOUNTS.map((account) => [account, azurite.connectionStringFor(account)])),
  );
  return () => azurite.stop();
}
