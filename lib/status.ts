import { createCredentials, createTableClient } from './clients';
import { Env, loadSettings } from './config/settings';
import { ALERTS_TABLE, AlertStore } from './store/alert-store';
import type { CycleSummary } from './model';
import { STATE_TABLE, StateStore } from './store/state-store';

export interface StatusView {
  /** The last cycle's summary, or null before the first cycle. */
  lastCycle: CycleSummary | null;
  /** Alerts firing now, oldest first. */
  firing: {
    tenantId: string;
    condition: string;
    configuration?: string;
    jobId: string;
    since?: string;
    reason?: string;
  }[];
  /** Emails planned and not yet sent (send budget, or ACS failing). */
  emailsWaiting: number;
}

/** The status view of the state the settings in `env` point at. */
export async function readStatusFromEnv(env: Env): Promise<StatusView> {
  const settings = loadSettings(env);
  const credential = createCredentials(settings, env).azure;
  return readStatus(new AlertStore(createTableClient(settings, credential, ALERTS_TABLE)), new StateStore(createTableClient(settings, credential, STATE_TABLE)));
}

/** What is firing now and how the last cycle went, from stored state only (no Graph call). */
export async function readStatus(alerts: AlertStore, state: StateStore): Promise<StatusView> {
  const [records, lastCycle, planned] = await Promise.all([alerts.loadAll(), state.latestCycle(), state.listPlanned()]);
  const firing = [...records.values()]
    .filter((a) => a.state === 'firing')
    .sort((a, b) => (a.startsAt ?? '').localeCompare(b.startsAt ?? ''))
    .map((a) => ({
      tenantId: a.labels.tenantId,
      condition: a.labels.condition,
      configuration: typeof a.annotations.servicePrincipalName === 'string' ? a.annotations.servicePrincipalName : undefined,
      jobId: a.labels.jobId,
      since: a.startsAt,
      reason: typeof a.annotations.reason === 'string' ? a.annotations.reason : undefined,
    }));
  return { lastCycle: lastCycle ?? null, firing, emailsWaiting: planned.length };
}
