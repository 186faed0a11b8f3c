import { TableClient } from '@azure/data-tables';
import { startAzurite, startStorageProxy } from '../emulators/azurite';
import { boundedClientOptions } from '../lib/clients';
import { Deadline } from '../lib/util/deadline';
import type { CycleLimits } from '../lib/cycle/limits';
import { formatReport, runSoak, type SoakStorage } from '../test/soak/harness';

/**
 * `npm run soak [cycles] [seed]`: the full simulated soak (test/soak/harness.ts), 5,000 cycles by
 * default, with random faults, crashes, kills, overlapping instances and job timelines, then a
 * drain; and after it a smaller soak (300 cycles) with the stores on real Table Storage (Azurite,
 * behind a proxy it cuts now and then). Prints the figures; exits 1 if an invariant broke.
 * CI runs a shorter one in `npm test` (test/soak/soak.test.ts).
 */

const cycles = Number(process.argv[2] ?? 5000);
const seed = Number(process.argv[3] ?? Date.now() % 100_000);
const AZURITE_LIMITS: CycleLimits = { cycleMs: 4000, observeMs: 2000, tenantMs: 800, callMs: 400, maxRetryAfterMs: 0 };

async function azuriteStorage(): Promise<{ storage: SoakStorage; stop(): Promise<void> }> {
  const azurite = await startAzurite();
  const proxy = await startStorageProxy(azurite);
  const limits = { deadline: () => Deadline.in(AZURITE_LIMITS.cycleMs), callMs: AZURITE_LIMITS.callMs };
  const client = (name: string) =>
    TableClient.fromConnectionString(proxy.connectionString, name, {
      allowInsecureConnection: true,
      ...boundedClientOptions('Table Storage', limits),
    });
  const direct = (name: string) =>
    TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
  const names = { alerts: `soak${seed}alerts`, state: `soak${seed}state`, ledger: `soak${seed}ledger` };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const storage: SoakStorage = {
    alerts: client(names.alerts),
    state: client(names.state),
    ledger: client(names.ledger),
    async rows(table) {
      const rows: Record<string, unknown>[] = [];
      await direct(names[table])
        .createTable()
        .catch(() => undefined);
      for await (const row of direct(names[table]).listEntities()) rows.push(row);
      return rows;
    },
    cut(afterOps) {
      timer = setTimeout(() => proxy.cut('reset'), afterOps);
    },
    restore() {
      clearTimeout(timer);
      proxy.restore();
    },
  };
  return { storage, stop: async () => (await proxy.stop(), await azurite.stop()) };
}

async function main(): Promise<number> {
  console.log(`soak: seed ${seed} (replay with npm run soak ${cycles} ${seed})`);
  const simulated = await runSoak({ cycles, seed, tenants: 6, jobsPerTenant: 6, log: (line) => console.log(line) });
  console.log(formatReport(simulated));

  const real = await azuriteStorage();
  try {
    console.log('\nsoak on Azurite (real Table Storage, cut now and then):');
    const onAzurite = await runSoak({
      cycles: Math.min(300, cycles),
      seed,
      tenants: 3,
      jobsPerTenant: 4,
      storage: real.storage,
      limits: AZURITE_LIMITS,
    });
    console.log(formatReport(onAzurite));
    return simulated.violations.length + onAzurite.violations.length === 0 ? 0 : 1;
  } finally {
    await real.stop();
  }
}

main().then((code) => process.exit(code));
