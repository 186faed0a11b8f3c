import type { TableClient } from '@azure/data-tables';
import type { Policy } from '../model/policy';
import type { LogsQuerier } from '../observe/log-analytics';
import { mapLimit } from '../util/map-limit';
import {
  acsSenderRow,
  configRow,
  kqlRows,
  tableStorageRow,
  type ConfigCheck,
  type SenderCheck,
} from './deployment-checks';
import { needsOf } from './needs';
import { reportOf, type DoctorReport } from './report';
import { checkTenant, type TenantProbe } from './tenant-checks';

/**
 * `npm run doctor`: a preflight after a deploy (and against the emulators). Per watched tenant it
 * signs in and makes the cheapest read that proves each permission the config needs; for the
 * deployment it checks the config (KQL rules through the Kusto language service), Table Storage,
 * the ACS sender and each KQL rule in the workspace. What the config needs and does not work fails
 * (exit 1); what it can do without is a warning (lib/doctor/needs.ts).
 */

/** What the doctor checks with, built from the settings by lib/app.ts (tests build it against the emulators). */
export interface DoctorDeps {
  /** The config, with the policy the tenant checks follow (the defaults when the file is bad). */
  config: ConfigCheck & { policy: Policy };
  /** The tenants to check (WATCH_TENANTS, or the credential's own). */
  tenants: string[];
  /** The reads of one tenant; called when its turn comes (its time limit starts then). */
  probeFor(tenantId: string): Omit<TenantProbe, 'tenantId' | 'tenantName' | 'needs' | 'now'>;
  /** The state table of AzureWebJobsStorage. */
  storage: TableClient;
  sender: SenderCheck;
  logAnalytics?: { client: LogsQuerier; workspaceId: string };
  /** Tenants checked at once (default 4). */
  concurrency?: number;
  /** WATCH_SECRETS_READ (default on): off, the early warnings are off and their secrets not read. */
  secretsRead?: boolean;
  clock(): Date;
}

/** Only the config: what the deploy checks before it ships the package (`npm run doctor -- --config-only`). */
export function configReport(config: ConfigCheck, now: Date): DoctorReport {
  return reportOf([configRow(config, true)], now);
}

export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const now = deps.clock();
  const { policy } = deps.config;
  const [storage, sender, kql] = await Promise.all([
    tableStorageRow(deps.storage, now),
    acsSenderRow(deps.sender),
    deps.config.problems ? Promise.resolve([]) : kqlRows(policy, deps.logAnalytics),
  ]);
  const tenants = await mapLimit(deps.tenants, deps.concurrency ?? 4, (tenantId) =>
    checkTenant({
      ...deps.probeFor(tenantId),
      tenantId,
      tenantName: policy.tenantNames.get(tenantId.toLowerCase()),
      needs: needsOf(policy, tenantId, deps.secretsRead ?? true),
      logAnalytics: deps.logAnalytics,
      now,
    }),
  );
  return reportOf([configRow(deps.config), storage, sender, ...kql, ...tenants.flat()], now);
}
