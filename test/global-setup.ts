import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../emulators/azurite';

declare module 'vitest' {
  export interface ProvidedContext {
    storageConnectionString: string;
  }
}

/** One Azurite for the whole run; each test uses its own tables, so files do not see each other. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A fresh record of this run's logs and secrets for the log scan (vitest.config.mts).
  for (const path of [process.env.TEST_LOG_DIR, process.env.EMULATOR_SECRET_LEDGER]) if (path) rmSync(path, { recursive: true, force: true });
  if (process.env.EMULATOR_SECRET_LEDGER) mkdirSync(dirname(process.env.EMULATOR_SECRET_LEDGER), { recursive: true });
  const azurite = await startAzurite();
  project.provide('storageConnectionString', azurite.connectionString);
  return () => azurite.stop();
}
