import type { Condition, Severity } from '../evaluate/types';
import type { Matchers, MaintenanceWindowConfig } from './types';

/** A route with every default applied and a stable id (its path in the tree: `root`, `root.0`, `root.0.1`). */
export interface Route {
  id: string;
  match?: Matchers;
  to: string[];
  cc: string[];
  repeatMs: Record<Severity, number>;
  sendResolved: boolean;
  continue: boolean;
  routes: Route[];
}

export interface Silence {
  matchers: Matchers;
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
}

export interface Rule {
  pendingCycles: number;
  keepFiringForMs: number;
}

/** The validated config with defaults applied: what the pipeline stages read. */
export interface Policy {
  route: Route;
  silences: Silence[];
  maintenanceWindows: MaintenanceWindowConfig[];
  rules: Record<Condition, Rule>;
  budget: { perMinute: number; perHour: number };
  heartbeat?: { url: string; method: 'GET' | 'POST' };
  /** Lower-case tenant id → name. */
  tenantNames: Map<string, string>;
}

export const DEFAULT_REPEAT_MS: Record<Severity, number> = { critical: 4 * 3600_000, warning: 24 * 3600_000 };
export const DEFAULT_BUDGET = { perMinute: 30, perHour: 100 };
/** Built-in rule defaults: quarantine and deletion trips fire at once (Entra already debounced them). */
export const DEFAULT_RULES: Record<Condition, Rule> = {
  quarantine: { pendingCycles: 0, keepFiringForMs: 0 },
  'deletion-threshold': { pendingCycles: 0, keepFiringForMs: 0 },
  // Credentials and permissions do not fix themselves; evaluate.ts raises the pending period for transient problems.
  'tenant-unreadable': { pendingCycles: 0, keepFiringForMs: 0 },
};
