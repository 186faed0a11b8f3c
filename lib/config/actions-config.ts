import type { ActionsAccess, Operators } from '../model/policy';
import { OPERATOR_ROLE } from '../settings/actions';

/**
 * The config file's `actions` section: who may act on alerts besides the app role SyncWatch.Operator
 * (lib/actions/access.ts judges a person against it). Problems are reported with their JSON path.
 *
 *   "actions": {
 *     "operators": { "roles": ["SyncWatch.Operator"], "groups": ["<group object ID>"] },
 *     "tenants": { "<customer tenant ID>": { "groups": ["<that customer's desk>"] } }
 *   }
 */

type Report = (path: string, message: string) => void;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ROLE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function list(value: unknown, path: string, check: RegExp, what: string, report: Report): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    report(path, `expected a list of ${what}`);
    return [];
  }
  for (const v of value as string[]) if (!check.test(v)) report(path, `"${v}" is not ${what}`);
  return value as string[];
}

function operatorsAt(raw: unknown, path: string, report: Report): Operators | undefined {
  if (!isObject(raw)) {
    report(path, 'expected an object with "roles" and/or "groups"');
    return undefined;
  }
  for (const name of Object.keys(raw))
    if (name !== 'roles' && name !== 'groups')
      report(`${path}.${name}`, 'unknown field (expected one of roles, groups)');
  const operators = {
    roles: list(raw.roles, `${path}.roles`, ROLE, 'app role values (e.g. SyncWatch.Operator)', report),
    groups: list(raw.groups, `${path}.groups`, GUID, 'group object IDs', report).map((g) => g.toLowerCase()),
  };
  if (operators.roles.length === 0 && operators.groups.length === 0)
    report(path, 'allows nobody: name at least one role or group');
  return operators;
}

/** Who may act, from the config's `actions` (undefined when the config has none: the default applies). */
export function buildActionsAccess(raw: unknown, report: Report): ActionsAccess | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    report('actions', 'expected an object with "operators" and/or "tenants"');
    return undefined;
  }
  for (const name of Object.keys(raw))
    if (name !== 'operators' && name !== 'tenants')
      report(`actions.${name}`, 'unknown field (expected one of operators, tenants)');
  const operators = raw.operators === undefined ? undefined : operatorsAt(raw.operators, 'actions.operators', report);
  const tenants = new Map<string, Operators>();
  if (raw.tenants !== undefined) {
    if (!isObject(raw.tenants)) report('actions.tenants', 'expected an object keyed by tenant ID');
    else
      for (const [tenantId, entry] of Object.entries(raw.tenants)) {
        if (!GUID.test(tenantId)) {
          report(`actions.tenants.${tenantId}`, 'not a tenant ID (GUID)');
          continue;
        }
        const rule = operatorsAt(entry, `actions.tenants.${tenantId}`, report);
        if (rule) tenants.set(tenantId.toLowerCase(), rule);
      }
  }
  return { operators: operators ?? { roles: [OPERATOR_ROLE], groups: [] }, tenants };
}
