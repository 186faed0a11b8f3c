import { fingerprintOf } from '../../lib/evaluate/evaluate';
import type { AlertLabels, AlertRecord } from '../../lib/model';

/** One quarantine alert of one job, firing since T0: what the acknowledgement and escalation tests act on. */
export const T0 = new Date('2026-11-27T03:00:00Z');
export const MIN = 60_000;
export const at = (ms: number) => new Date(T0.getTime() + ms);
export const QUARANTINE_LABELS: AlertLabels = {
  tenantId: 'tenant-a',
  servicePrincipalId: 'sp-1',
  jobId: 'job-1',
  condition: 'quarantine',
};
export const QUARANTINE_FP = fingerprintOf(QUARANTINE_LABELS);

export function firingQuarantine(overrides: Partial<AlertRecord> = {}): AlertRecord {
  return {
    fingerprint: QUARANTINE_FP,
    labels: QUARANTINE_LABELS,
    severity: 'critical',
    state: 'firing',
    annotations: { servicePrincipalName: 'Fabrikam to Contoso', reason: 'EncounteredQuarantineException' },
    material: 'EncounteredQuarantineException',
    startsAt: T0.toISOString(),
    lastSeenAt: T0.toISOString(),
    notified: {},
    ...overrides,
  };
}
