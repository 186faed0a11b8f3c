/**
 * What `npm run doctor` reports: one row per check and tenant, in the vocabulary the coverage of a
 * tenant uses (sign-in, job-status, discovery, early-warnings, provisioning-logs with licence and
 * log-filter, kql:<rule>), plus the deployment-wide checks (config, table-storage, acs-sender,
 * actions).
 */

/** The checks, by the names coverage and the doctor share. */
export type CheckName =
  | 'config'
  | 'table-storage'
  | 'acs-sender'
  | 'sign-in'
  | 'discovery'
  | 'job-status'
  | 'early-warnings'
  | 'provisioning-logs'
  | 'licence'
  | 'log-filter'
  | 'actions'
  | `kql:${string}`;

/**
 * - `ok`: proven by the cheapest read that shows it works;
 * - `fail`: something the config needs does not work (the exit code is 1);
 * - `warn`: does not work, or works worse, but the config can do without it (a degraded check);
 * - `off`: the config does not use it, so it was not checked;
 * - `skipped`: could not be checked because a check it depends on failed (that one says why).
 */
export type CheckStatus = 'ok' | 'fail' | 'warn' | 'off' | 'skipped';

export interface CheckRow {
  check: CheckName;
  /** The tenant it is about (its ID, or its domain as WATCH_TENANTS gives it); absent for the deployment. */
  tenant?: string;
  /** The tenant's name from the config file. */
  tenantName?: string;
  status: CheckStatus;
  /** Whether the config needs it: a needed check that does not work is `fail`, one that is not is `warn`. */
  needed: boolean;
  /** What was read and what it showed, or what went wrong (Graph's own code and message). */
  result: string;
  /** What to do: the permission and where to grant it, the licence, the setting or the config path. */
  fix?: string;
  /** A link the fix refers to (an admin-consent URL), kept whole; the text table prints it as a note. */
  link?: string;
}

export interface DoctorReport {
  generatedAt: string;
  /** 0: everything the config needs works; 1: something it needs does not (bad settings are 2, before any check). */
  exitCode: 0 | 1;
  checks: CheckRow[];
}

/** A row whose status follows from whether the config needs what failed. */
export function failed(row: Omit<CheckRow, 'status'>): CheckRow {
  return { ...row, status: row.needed ? 'fail' : 'warn' };
}

export function reportOf(checks: CheckRow[], now: Date): DoctorReport {
  return {
    generatedAt: now.toISOString(),
    exitCode: checks.some((c) => c.status === 'fail') ? 1 : 0,
    checks,
  };
}
