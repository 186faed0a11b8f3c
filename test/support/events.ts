import type { ProvisioningEvent } from '../../lib/model/provisioning';

/** Provisioning events for unit tests, as the normalizers would produce them. */

let serial = 0;

export const T0 = Date.parse('2026-11-27T12:00:00.000Z');
export const MIN = 60_000;

export interface EventOptions {
  id?: string;
  at?: number;
  job?: string;
  sp?: { id: string; displayName: string };
  code?: string;
  reason?: string;
  recommendedAction?: string;
  name?: string;
  upn?: string;
  objectId?: string;
  status?: 'success' | 'failure' | 'skipped' | 'warning';
  action?: 'create' | 'update' | 'delete' | 'stagedDelete' | 'disable' | 'other';
  cycleId?: string;
}

export function event(o: EventOptions = {}): ProvisioningEvent {
  const n = ++serial;
  const status = o.status ?? 'failure';
  const action = o.action ?? 'create';
  const name = o.name ?? `User ${n}`;
  return {
    id: o.id ?? `evt-${n}`,
    changeId: `chg-${n}`,
    cycleId: o.cycleId ?? 'cycle-1',
    at: o.at ?? T0,
    jobId: o.job ?? 'scim.contoso.servicenow',
    servicePrincipal: o.sp ?? { id: 'sp-servicenow', displayName: 'ServiceNow' },
    action: { known: action, raw: action },
    status: { known: status, raw: status },
    error:
      status === 'failure'
        ? { code: o.code ?? 'EntryConflict', reason: o.reason, recommendedAction: o.recommendedAction }
        : undefined,
    source: {
      id: o.objectId ?? `obj-${name}`,
      displayName: name,
      identityType: 'User',
      ...(o.upn !== undefined ? { upn: o.upn } : { upn: `${name.toLowerCase().replace(/\s+/g, '.')}@contoso.example` }),
    },
    target: { id: '', displayName: '' },
  };
}
