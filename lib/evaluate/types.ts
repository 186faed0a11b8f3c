/** Conditions the rules raise. The fingerprint of an alert is its labels, so these names are stable. */
export type Condition = 'quarantine' | 'deletion-threshold' | 'tenant-unreadable';
export type Severity = 'critical' | 'warning';

/** Stable identity of an alert. `-` stands for "not applicable" (a tenant-wide alert has no job). */
export interface AlertLabels {
  tenantId: string;
  servicePrincipalId: string;
  jobId: string;
  condition: Condition;
}

/** Facts that may change from cycle to cycle without making a new alert. All plain JSON. */
export type Annotations = Record<string, string | number | boolean | undefined>;

export interface Finding {
  fingerprint: string;
  labels: AlertLabels;
  severity: Severity;
  /** Consecutive cycles the condition must be seen before it fires; 0 fires at once. */
  pendingCycles: number;
  annotations: Annotations;
}
