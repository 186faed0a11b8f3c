import type { AlertRecord } from '../reconcile/types';

const JOB_ROOT_CAUSES = new Set(['quarantine', 'deletion-threshold']);

/**
 * Why an alert is muted by another firing alert, or undefined. Two rules, from one root cause:
 * a tenant that cannot be read mutes every job alert of that tenant (they are held, not judged);
 * a quarantined job (or a deletion hold) mutes its own lesser alerts (failures, stalls).
 */
export function inhibitedBy(alert: AlertRecord, firing: AlertRecord[]): string | undefined {
  const { tenantId, servicePrincipalId, jobId, condition } = alert.labels;
  if (condition === 'tenant-unreadable') return undefined;
  for (const source of firing) {
    if (source.fingerprint === alert.fingerprint || source.state !== 'firing') continue;
    const s = source.labels;
    if (s.condition === 'tenant-unreadable' && s.tenantId === tenantId) {
      return `tenant ${tenantId} cannot be read: its job alerts are held`;
    }
    if (JOB_ROOT_CAUSES.has(s.condition) && !JOB_ROOT_CAUSES.has(condition) && s.tenantId === tenantId && s.servicePrincipalId === servicePrincipalId && s.jobId === jobId) {
      return `the job is ${s.condition === 'quarantine' ? 'quarantined' : 'holding deletes'}`;
    }
  }
  return undefined;
}
