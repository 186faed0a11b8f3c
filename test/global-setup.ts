import type { TestProject } from 'vitest/node';
import { startAzurite } from '../emulators/azurite';

declare module 'vitest' {
  export interface ProvidedContext {
    storageConnectionString: string;
  }
}

/** One Azurite for the whole run; each test uses its own tables, so files do not see each other. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('storageConnectionString', azurite.connectionString);
  return () => azurite.stop();
}
