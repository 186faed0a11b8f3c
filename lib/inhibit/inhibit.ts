import { ruleFor } from '../evaluate/rules';
import type { AlertRecord } from '../model';

const isRootCause = (condition: string): boolean => ruleFor(condition)?.rootCause === true;

/**
 * Why an alert is muted by another firing alert, or undefined. Three rules, from one root cause:
 * a tenant that cannot be read mutes every job alert of that tenant (they are held, not judged),
 * and a configuration whose jobs cannot be read mutes its own;
 * a job's root-cause alert (a quarantine, a deletion hold: rules marked rootCause) mutes its
 * own lesser alerts (failures, stalls).
 * "Monitoring is partial" of a tenant that cannot be read is muted by the first rule too. It needs
 * no rule against jobs-unreadable or provisioning-logs-unreadable: it never names a degradation
 * those report (lib/evaluate/rules/monitoring-partial.ts), so one cause makes one alert.
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
    if (
      s.condition === 'jobs-unreadable' &&
      condition !== 'jobs-unreadable' &&
      s.tenantId === tenantId &&
      s.servicePrincipalId === servicePrincipalId
    ) {
      return `the jobs of ${String(source.annotations.servicePrincipalName ?? servicePrincipalId)} cannot be read: their alerts are held`;
    }
    if (
      isRootCause(s.condition) &&
      !isRootCause(condition) &&
      s.tenantId === tenantId &&
      s.servicePrincipalId === servicePrincipalId &&
      s.jobId === jobId
    ) {
      return `the same job is firing "${ruleFor(s.condition)?.title ?? s.condition}"`;
    }
  }
  return undefined;
}
