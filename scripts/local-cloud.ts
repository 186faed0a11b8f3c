/**
 * `npm run local-cloud`: the local private cloud (Entra authority, Graph, ACS Email, emulators/)
 * and Azurite (blob, queue and table, as the Functions host needs), with local.settings.json
 * pointing at them. Then, in another shell, `npm start` runs the real Functions host against them:
 * the timer fires every 30 s, and the emails land in outbox/. Ctrl-C stops everything.
 *   npm run local-cloud [-- scenario.json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { settingsFor, startPrivateCloud } from '../emulators';
import { localCloudSettings, writeLocalSettings } from './local-settings';

const root = join(__dirname, '..');

/** Azurite with all three services on their default ports, so `UseDevelopmentStorage=true` finds them. */
async function startAzurite(): Promise<ChildProcess> {
  const bin = join(root, 'node_modules', 'azurite', 'dist', 'src', 'azurite.js');
  const child = spawn(
    process.execPath,
    [bin, '--inMemoryPersistence', '--silent', '--disableTelemetry', '--skipApiVersionCheck', '--loose'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `Azurite stopped (ports 10000-10002 taken by another Azurite or storage emulator?): ${stderr.trim()}`,
      );
    }
    try {
      await (await fetch('http://127.0.0.1:10002/devstoreaccount1/Tables')).arrayBuffer();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  child.kill();
  throw new Error('Azurite did not answer on port 10002 within 20 s');
}

async function main(): Promise<void> {
  const demo = process.argv[2] === undefined;
  const scenario = resolve(process.argv[2] ?? join(root, 'emulators', 'scenarios', 'demo.json'));
  const bundle = process.env.NODE_EXTRA_CA_CERTS;
  if (!bundle) throw new Error('NODE_EXTRA_CA_CERTS is not set: run this as npm run local-cloud');
  const cloud = await startPrivateCloud({ scenario, outboxDir: join(root, 'outbox') });
  let azurite: ChildProcess | undefined;
  try {
    azurite = await startAzurite();
    // The demo's config (tenant names, a route, a silence) makes the status page worth a look.
    const config: Record<string, string> = demo
      ? { WATCH_CONFIG: join(root, 'emulators', 'scenarios', 'demo-config.json') }
      : {};
    writeLocalSettings(
      join(root, 'local.settings.json'),
      localCloudSettings({ ...settingsFor(cloud), ...config }, bundle),
    );
  } catch (error) {
    azurite?.kill();
    await cloud.stop();
    throw error;
  }
  console.log(`Local private cloud and Azurite are running; local.settings.json points at them.
  Graph      ${cloud.graphEndpoint}/v1.0 (tenants ${cloud.tenants.join(', ')})
  authority  ${cloud.authorityHost}
  ACS        ${cloud.acsEndpoint} (emails land in outbox/)
  Azurite    blob 10000, queue 10001, table 10002

In another shell:   npm start          (the Functions host; the watch timer fires every 30 s)
Move the story on:  curl -s -X POST ${cloud.graphEndpoint}/_emulator/step --cacert ${bundle}
                    (timeline: ${cloud.control.timeline().steps.join(' -> ')})
See the state:      npm run status,   or http://localhost:7071/api/status?format=html while npm start runs
Ctrl-C stops both; delete local.settings.json to go back to your own settings.`);

  const stop = (): void => {
    azurite?.kill();
    cloud.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
