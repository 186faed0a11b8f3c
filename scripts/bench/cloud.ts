/**
 * The local private cloud of one bench world, in a process of its own, so the monitor's time and
 * memory are its own. Prints one line `ready {settings}` and serves until SIGTERM.
 *   node --import tsx scripts/bench/cloud.ts <tenants> <latencyMs> [jobsPerTenant]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settingsFor, startPrivateCloud } from '../../emulators';
import { benchScenario } from './world';

async function main(): Promise<void> {
  const [tenants, latencyMs, jobsPerTenant] = process.argv.slice(2).map(Number);
  const cloud = await startPrivateCloud({
    scenario: benchScenario({ tenants: tenants!, latencyMs: latencyMs!, jobsPerTenant }),
    outboxDir: mkdtempSync(join(tmpdir(), 'esw-bench-outbox-')),
  });
  console.log(
    `ready ${JSON.stringify({ settings: settingsFor(cloud), graphEndpoint: cloud.graphEndpoint, authorityHost: cloud.authorityHost, tenants: cloud.tenants })}`,
  );
  const stop = () => void cloud.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
