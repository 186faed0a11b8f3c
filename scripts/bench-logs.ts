/**
 * `npm run bench` (second part): one cycle that digests 100,000 failed provisioning events of one
 * tenant, read from the Graph emulator through the real Graph client page by page, with the watermark
 * and digest written to Azurite. Prints the time, the pages, what the digest holds and the peak
 * memory of the whole process (the emulators run in it too). Asserts nothing: figures on a shared
 * machine are not a pass/fail signal.
 *
 * `npm run bench` runs it with `--max-old-space-size=160`: pages are streamed, so the live heap stays
 * small (about 40 MiB) and the cap only makes V8 collect the garbage of each page before its heap
 * grows; without a cap V8 lets that garbage reach about 300 MiB before it bothers.
 */
import { TableClient } from '@azure/data-tables';
import { HistoryStore } from '../lib/store/history-store';
import { SilenceStore } from '../lib/store/silence-store';
import { getHeapStatistics } from 'node:v8';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cycleDepsFromSettings } from '../lib/app';
import { loadSettings } from '../lib/settings/settings';
import { runCycle } from '../lib/cycle/cycle';
import { AlertStore } from '../lib/store/alert-store';
import { ProvisioningLogStore } from '../lib/store/provisioning-log-store';
import { stateStores } from '../lib/store/state-table';
import { guidFrom, settingsFor, startPrivateCloud, type ProvisioningEventSpec, type Scenario } from '../emulators';
import { startAzurite } from '../emulators/azurite';

const root = resolve(__dirname, '..');
const EVENTS = 100_000;
const JOBS = 20;
const PAGE = 500;
const CODES = [
  'EntryConflict',
  'InvalidAnchor',
  'MandatoryFieldsMissing',
  'Timeout',
  'InsufficientRights',
  'DuplicateTargetEntries',
  'SchemaAttributeNotFound',
  'LicenseLimitExceeded',
];

function scenario(): Scenario {
  const tenant = guidFrom('bench-logs-tenant');
  const sps = Array.from({ length: JOBS }, (_, i) => {
    const id = guidFrom(`bench-logs-sp-${i}`);
    return {
      id,
      appId: guidFrom(`bench-logs-app-${i}`),
      displayName: `SCIM app ${i + 1}`,
      jobs: [{ id: `scim.${tenant.replace(/-/g, '')}.${id}`, templateId: 'scim', state: 'healthy' as const }],
    };
  });
  // 100,000 failures over the last 55 minutes (inside the default one-hour window), spread over 20 jobs and 8 codes.
  const batches: ProvisioningEventSpec[] = [];
  const perBatch = EVENTS / (JOBS * CODES.length);
  sps.forEach((sp, j) =>
    CODES.forEach((code, c) =>
      batches.push({
        job: sp.jobs[0]!.id,
        count: perBatch,
        status: 'failure',
        errorCode: code,
        minutesAgo: 1 + ((j + c) % 4),
        spreadMinutes: 50,
      }),
    ),
  );
  return {
    name: 'bench-logs',
    app: { clientId: guidFrom('bench-logs-app'), clientSecret: 'bench-secret' },
    // Lifted to measure the monitor's own cost; Graph's real limit is printed below.
    reportsRateLimit: { requests: 100_000, windowSeconds: 1 },
    graphLimits: { reportsPerApp: { requests: 100_000, windowSeconds: 1 } },
    tenants: [
      {
        id: tenant,
        displayName: 'Bench',
        grants: ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'],
        servicePrincipals: sps,
        provisioningEvents: batches,
      },
    ],
  };
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const azurite = await startAzurite({ cwd: root });
  const cloud = await startPrivateCloud({
    scenario: scenario(),
    outboxDir: mkdtempSync(join(tmpdir(), 'esw-bench-logs-')),
  });
  let peak = process.memoryUsage().rss;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.external + m.arrayBuffers);
  }, 20);
  try {
    const env = settingsFor(cloud, { storage: azurite.connectionString });
    const quiet = {
      info: () => {},
      warn: (m: string) => console.log(`    warn: ${m}`),
      error: (m: string) => console.error(`    error: ${m}`),
    };
    const table = (name: string) =>
      TableClient.fromConnectionString(azurite.connectionString, `benchlogs${name}`, { allowInsecureConnection: true });
    const base = cycleDepsFromSettings(loadSettings(env), env, quiet);
    const deps = {
      ...base,
      alerts: new AlertStore(table('alerts')),
      ...stateStores(table('state')),
      histories: new HistoryStore(table('state')),
      silences: new SilenceStore(table('state')),
      logs: {
        ...base.logs!,
        store: new ProvisioningLogStore(table('state')),
        pageSize: PAGE,
        rateLimit: { requests: 100_000, windowMs: 1000 },
        appRateLimit: { requests: 100_000, windowMs: 1000 },
        read: { maxPages: 1000 },
      },
    };
    global.gc?.();
    const before = process.memoryUsage().rss;
    peak = before;
    const started = process.hrtime.bigint();
    const summary = await runCycle(deps);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    peak = Math.max(peak, process.memoryUsage().rss);
    const pages = cloud.control.requestLog().filter((r) => r.path.endsWith('/auditLogs/provisioning')).length;
    const firing = [...(await deps.alerts.loadAll()).values()].filter(
      (a) => a.labels.condition === 'provisioning-failures',
    );
    const counted = firing.reduce((n, a) => n + Number(a.annotations.failures ?? 0), 0);
    const stored = await deps.logs.store.load(cloud.tenants[0]!);
    const maxRss = process.resourceUsage().maxRSS * 1024;
    console.log(
      `Provisioning logs: ${EVENTS.toLocaleString('en')} failed events of ${JOBS} jobs in one tenant, one cycle:`,
    );
    console.log(
      `  ${ms.toFixed(0)} ms, ${pages} Graph pages of ${PAGE} (${Math.round(EVENTS / (ms / 1000)).toLocaleString('en')} events/s), ${summary.notificationsSent} email(s), errors: ${summary.errors.length}`,
    );
    console.log(
      `  digest: ${firing.length} failure alert(s) counting ${counted.toLocaleString('en')} events; ${stored?.state.seen.length ?? 0} ids kept for the overlap window`,
    );
    const limit = getHeapStatistics().heap_size_limit;
    console.log(
      `  memory: rss ${mib(before)} before the cycle, peak ${mib(Math.max(peak, maxRss))} for the whole process (emulators included; target < 256 MiB); peak heap+buffers ${mib(peakHeap)} (V8 heap limit ${mib(limit)})`,
    );
    console.log(
      `  at Graph's reports limit (5 requests / 10 s per tenant) these ${pages} pages need at least ${Math.ceil((pages - 5) / 5) * 10} s;`,
    );
    console.log(
      `  with the defaults (500 events a page, 20 pages a cycle) such a backlog is read over ${Math.ceil(EVENTS / (500 * 20))} cycles, 40 s each.`,
    );
  } finally {
    clearInterval(sampler);
    await cloud.stop();
    await azurite.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
