import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { NODE_WORKER_ARGUMENTS } from '../lib/settings/worker-arguments';

/**
 * local.settings.json for the real Functions host (`npm start`, i.e. `func start`) watching the local
 * private cloud: Core Tools reads `Values` into the host's environment, and the Node worker it
 * starts inherits it, NODE_EXTRA_CA_CERTS included (Node reads it when the worker starts).
 */

/** Marks a local.settings.json this script wrote, so it never overwrites one a person wrote. */
export const LOCAL_CLOUD_MARKER = 'ENTRA_SYNC_WATCH_LOCAL_CLOUD';

export interface LocalSettingsFile {
  IsEncrypted: false;
  Values: Record<string, string>;
}

/** The settings of a private cloud (emulators/index.ts settingsFor) as the host needs them. */
export function localCloudSettings(cloudSettings: Record<string, string>, caBundle: string): LocalSettingsFile {
  return {
    IsEncrypted: false,
    Values: {
      [LOCAL_CLOUD_MARKER]: 'written by npm run local-cloud; delete this file to go back to your own settings',
      FUNCTIONS_WORKER_RUNTIME: 'node',
      // The Node worker started as the deployment starts it (lib/settings/worker-arguments.ts).
      languageWorkers__node__arguments: NODE_WORKER_ARGUMENTS.join(' '),
      // The host's own storage (timer leases) and the alert state: Azurite on its default ports.
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      // Every 30 seconds, to see the story move; Azure runs every 5 minutes.
      WATCH_SCHEDULE: '*/30 * * * * *',
      NODE_EXTRA_CA_CERTS: caBundle,
      ...cloudSettings,
    },
  };
}

/**
 * Writes the file unless a person's local.settings.json is there (one without the marker): that
 * one is theirs, and the error says how to proceed.
 */
export function writeLocalSettings(path: string, settings: LocalSettingsFile): void {
  if (existsSync(path)) {
    let ours = false;
    try {
      ours = LOCAL_CLOUD_MARKER in ((JSON.parse(readFileSync(path, 'utf8')) as { Values?: object }).Values ?? {});
    } catch {
      ours = false;
    }
    if (!ours) {
      throw new Error(
        `${path} exists and was not written by npm run local-cloud; move it aside (it holds your own settings) and run again`,
      );
    }
  }
  writeFileSync(path, `${JSON.stringify(settings, null, 2)}\n`);
}
