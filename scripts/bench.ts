/**
 * `npm run bench`: how a cycle scales with tenants and service principals, against the local
 * private cloud (real SDKs over HTTPS, Azurite). Prints figures; it asserts nothing, because
 * timings on a shared machine are not a pass/fail signal. The emulators run in this process, so
 * the durations include their work too: read them as an upper bound of the monitor's own cost.
 */
import { TableClient } from '@azure/data-tables';
import { join, resolve } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cycleDepsFromSettings } from '../lib/app';
import { loadSettings } from '../lib/config/settings';
import { runCycle } from '../lib/cycle';
import { AlertStore } from '../lib/store/alert-store';
import { StateStore } from '../lib/store/state-store';
import { DiscoveryStore } from '../lib/store/discovery-store';
import { guidFrom, jobIdFor, settingsFor, startPrivateCloud, type Scenario } from '../emulators';
import { startAzurite } from '../emulators/azurite';

const root = resolve(__dirname, '..');
const CROSS_TENANT = '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7';

function scenario(tenants: number, spsPerTenant: number, quarantinedTenants: number): Scenario {
  return {
    name: `bench-${tenants}x${spsPerTenant}`,
    app: { clientId: guidFrom('bench-app'), clientSecret: 'bench-secret' },
    tenants: Array.from({ length: tenants }, (_, i) => {
      const id = guidFrom(`bench-tenant-${i}`);
      const broken = guidFrom(`bench-sp-${i}`);
      return {
        id,
        displayName: `Tenant ${i + 1}`,
        grants: ['Application.Read.All', 'Synchronization.Read.All'],
        servicePrincipals:
          i < quarantinedTenants
            ? [{ id: broken, appId: guidFrom(`bench-app-${i}`), displayName: `Broken ${i + 1}`, applicationTemplateId: CROSS_TENANT, jobs: [{ id: jobIdFor('Azure2Azure', id, broken), templateId: 'Azure2Azure', state: 'quarantined' as const, quarantine: { reason: 'TooManyDeletes' } }] }]
            : [],
        generated: { count: i < quarantinedTenants ? spsPerTenant - 1 : spsPerTenant, displayNamePrefix: 'Partner', state: 'healthy' as const },
      };
    }),
  } as Scenario;
}

function signedMiB(bytes: number): string {
  const mib = bytes / 1048576;
  return `${mib >= 0 ? '+' : ''}${mib.toFixed(1)} MiB`;
}

async function measure(tenants: number, sps: number, quarantined: number, storage: string): Promise<void> {
  const cloud = await startPrivateCloud({ scenario: scenario(tenants, sps, quarantined), outboxDir: mkdtempSync(join(tmpdir(), 'esw-bench-')) });
  try {
    const env = settingsFor(cloud, { storage });
    const quiet = { info: () => {}, warn: () => {}, error: (m: string) => console.error(`    error: ${m}`) };
    const prefix = `b${tenants}x${sps}`;
    const table = (name: string) => TableClient.fromConnectionString(storage, `${prefix}${name}`, { allowInsecureConnection: true });
    const deps = {
      ...cycleDepsFromSettings(loadSettings(env), env, quiet),
      alerts: new AlertStore(table('alerts')),
      state: new StateStore(table('state')),
      // Its own discovery cache: the measurements reuse tenant ids, and a cache from another would skip the sweep.
      discovery: new DiscoveryStore(table('discovery')),
    };
    const rows: string[] = [];
    for (const label of ['first cycle (discovery sweep, alerts fire, emails go out)', 'steady cycle (nothing changes)']) {
      cloud.control.clearLogs();
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const started = process.hrtime.bigint();
      const summary = await runCycle(deps);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const requests = cloud.control.requestLog();
      const topLevel = requests.filter((r) => r.batchId === undefined);
      const batches = topLevel.filter((r) => r.path.endsWith('/$batch')).length;
      rows.push(
        `  ${label}: ${ms.toFixed(0)} ms, ${summary.jobsSeen} jobs, ${topLevel.length} Graph calls (${batches} $batch), ` +
          `${cloud.control.tokenRequests().length} token requests, ${summary.notificationsSent} email(s), ` +
          `heap ${signedMiB(process.memoryUsage().heapUsed - heapBefore)}, rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`,
      );
    }
    console.log(`${tenants} tenant(s) x ${sps} cross-tenant configuration(s), ${quarantined} quarantined:`);
    for (const row of rows) console.log(row);
  } finally {
    await cloud.stop();
  }
}

async function main(): Promise<void> {
  const azurite = await startAzurite({ cwd: root });
  try {
    await measure(1, 20, 1, azurite.connectionString);
    await measure(1, 400, 5, azurite.connectionString);
    await measure(50, 20, 10, azurite.connectionString);
    await measure(200, 5, 20, azurite.connectionString);
  } finally {
    await azurite.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
