import type { TableClient } from '@azure/data-tables';
import { CoverageStore } from './coverage-store';
import { CycleHistory } from './cycle-history';
import { DigestMarkers } from './digest-markers';
import { PlanningLeaseStore } from './lease-store';
import { OutboxStore } from './outbox-store';
import { SendBudgetStore } from './send-budget-store';
import { WatchedTenantsMarker } from './watched-tenants';

/**
 * The state table: everything besides alerts that the next cycle (or another instance) needs, one
 * store per job, each in partitions of its own (row keys as they have always been: stored data is a
 * contract). Snooze silences (silence-store.ts) and provisioning-log watermarks
 * (provisioning-log-store.ts) live in it too.
 */
export const STATE_TABLE = 'SyncWatchState';

export interface StateStores {
  /** `outbox/...`: planned messages until they have gone out. */
  outbox: OutboxStore;
  /** `budget/sends`: the send budget shared by every instance. */
  sendBudget: SendBudgetStore;
  /** `lease/planning`: which instance plans and sends. */
  lease: PlanningLeaseStore;
  /** `digest/<route>`: the day of each route's last digest. */
  digests: DigestMarkers;
  /** `cycle/latest`, `cycle/recent`: how the last cycles went. */
  cycles: CycleHistory;
  /** `watched-tenants/current`: which tenant list the state was last cleaned up for (offboarding). */
  watched: WatchedTenantsMarker;
  /** `coverage/<tenant>`: what each tenant's checks can do, and since when one is degraded. */
  coverage: CoverageStore;
}

/** The state table's stores over one client (they share its creation). */
export function stateStores(table: TableClient): StateStores {
  return {
    outbox: new OutboxStore(table),
    sendBudget: new SendBudgetStore(table),
    lease: new PlanningLeaseStore(table),
    digests: new DigestMarkers(table),
    cycles: new CycleHistory(table),
    watched: new WatchedTenantsMarker(table),
    coverage: new CoverageStore(table),
  };
}
