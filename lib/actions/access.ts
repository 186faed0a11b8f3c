import type { ActionsAccess, Operators } from '../model/policy';
import { OPERATOR_ROLE } from '../settings/actions';

export type { ActionsAccess, Operators } from '../model/policy';

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
