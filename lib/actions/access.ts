import { OPERATOR_ROLE } from './settings';

/**
 * Who may act on an alert. People sign in to the monitor's own tenant (the ops team's), and may
 * act when their ID token carries an app role or a group the config allows: by default the app
 * role SyncWatch.Operator, assigned in that tenant's Enterprise applications > the sign-in app >
 * Users and groups. The config file's `actions` section can name other roles and groups (object
 * IDs), and, per customer tenant, who may act there instead (a Contoso desk for Contoso's jobs).
 *
 *   "actions": {
 *     "operators": { "roles": ["SyncWatch.Operator"], "groups": ["<group object ID>"] },
 *     "tenants": { "<customer tenant ID>": { "groups": ["<Contoso desk group object ID>"] } }
 *   }
 */

export interface Operators {
  roles: string[];
  groups: string[];
}

export interface ActionsAccess {
  /** Who may act in any tenant without an entry of its own. */
  operators: Operators;
  /** Per customer tenant (lower-case ID): who may act there, instead of `operators`. */
  tenants: Map<string, Operators>;
}

export const DEFAULT_ACCESS: ActionsAccess = { operators: { roles: [OPERATOR_ROLE], groups: [] }, tenants: new Map() };

/** A person as their ID token describes them (never trusted beyond what the verified token says). */
export interface Person {
  oid: string;
  tid: string;
  name: string;
  /** preferred_username: the sign-in name, usually the UPN. */
  upn: string;
  roles: string[];
  groups: string[];
  /** The token could not list the groups (more than 200): group rules cannot be judged. */
  groupsOverage: boolean;
}

export type AccessVerdict =
  { ok: true; via: string } | { ok: false; needs: Operators; overage: boolean; tenantRule: boolean };

/** Who may act in `tenantId`. */
export function operatorsFor(access: ActionsAccess, tenantId: string): { operators: Operators; tenantRule: boolean } {
  const own = access.tenants.get(tenantId.toLowerCase());
  return own ? { operators: own, tenantRule: true } : { operators: access.operators, tenantRule: false };
}

/** Whether `person` may act on an alert of `tenantId`, and by what (for the audit), or what it takes. */
export function mayAct(person: Person, tenantId: string, access: ActionsAccess): AccessVerdict {
  const { operators, tenantRule } = operatorsFor(access, tenantId);
  const role = operators.roles.find((r) => person.roles.includes(r));
  if (role) return { ok: true, via: `app role ${role}` };
  const groups = new Set(person.groups.map((g) => g.toLowerCase()));
  const group = operators.groups.find((g) => groups.has(g.toLowerCase()));
  if (group) return { ok: true, via: `group ${group}` };
  return { ok: false, needs: operators, overage: person.groupsOverage && operators.groups.length > 0, tenantRule };
}

/** "the app role SyncWatch.Operator or membership of group 1234…": what the 403 page names. */
export function describeOperators(operators: Operators): string {
  const parts = [
    ...operators.roles.map((r) => `the app role ${r}`),
    ...operators.groups.map((g) => `membership of the group ${g}`),
  ];
  if (parts.length === 0) return 'nobody (the config allows no role or group here)';
  return parts.length === 1 ? (parts[0] as string) : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ROLE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/;

function operatorsFrom(raw: unknown, where: string, problems: string[]): Operators | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${where} must be an object with "roles" and/or "groups"`);
    return undefined;
  }
  const { roles, groups, ...rest } = raw as Record<string, unknown>;
  for (const name of Object.keys(rest)) problems.push(`${where}.${name} is not a setting; expected roles or groups`);
  const list = (value: unknown, name: string, check: RegExp, what: string): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      problems.push(`${where}.${name} must be a list of ${what}`);
      return [];
    }
    for (const v of value as string[])
      if (!check.test(v)) problems.push(`${where}.${name} holds "${v}", which is not ${what}`);
    return value as string[];
  };
  const result = {
    roles: list(roles, 'roles', ROLE, 'app role values (e.g. SyncWatch.Operator)'),
    groups: list(groups, 'groups', GUID, 'group object IDs').map((g) => g.toLowerCase()),
  };
  if (result.roles.length === 0 && result.groups.length === 0)
    problems.push(`${where} allows nobody: name at least one role or group`);
  return result;
}

/** The `actions` section of the config file, validated (problems name the path at fault). */
export function actionsAccessFrom(raw: unknown, problems: string[]): ActionsAccess {
  if (raw === undefined) return DEFAULT_ACCESS;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push('actions must be an object with "operators" and/or "tenants"');
    return DEFAULT_ACCESS;
  }
  const { operators, tenants, ...rest } = raw as Record<string, unknown>;
  for (const name of Object.keys(rest))
    problems.push(`actions.${name} is not a setting; expected operators or tenants`);
  const everywhere =
    operators === undefined
      ? DEFAULT_ACCESS.operators
      : (operatorsFrom(operators, 'actions.operators', problems) ?? DEFAULT_ACCESS.operators);
  const perTenant = new Map<string, Operators>();
  if (tenants !== undefined) {
    if (!tenants || typeof tenants !== 'object' || Array.isArray(tenants))
      problems.push('actions.tenants must be an object keyed by tenant ID');
    else
      for (const [tenantId, entry] of Object.entries(tenants as Record<string, unknown>)) {
        if (!GUID.test(tenantId)) {
          problems.push(`actions.tenants has "${tenantId}", which is not a tenant ID (GUID)`);
          continue;
        }
        const rule = operatorsFrom(entry, `actions.tenants.${tenantId}`, problems);
        if (rule) perTenant.set(tenantId.toLowerCase(), rule);
      }
  }
  return { operators: everywhere, tenants: perTenant };
}
