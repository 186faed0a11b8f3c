import { defaultRules } from '../../lib/config/config';
import { DEFAULT_REPEAT_MS, SEND_BUDGETS, type Policy, type Route } from '../../lib/model/policy';

export function route(id: string, overrides: Partial<Route> = {}): Route {
  return {
    id,
    to: ['ops@contoso.com'],
    cc: [],
    repeatMs: { ...DEFAULT_REPEAT_MS },
    sendResolved: true,
    continue: false,
    routes: [],
    ...overrides,
  };
}

/** A policy with every default, as an absent config file gives. */
export function policy(overrides: Partial<Policy> = {}): Policy {
  return {
    route: route('root'),
    silences: [],
    maintenanceWindows: [],
    rules: defaultRules(),
    budget: { ...SEND_BUDGETS.custom }, // what the emulator's sender (a custom domain) gets
    tenantNames: new Map(),
    ...overrides,
  };
}
