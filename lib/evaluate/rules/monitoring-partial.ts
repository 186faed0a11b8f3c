import type { Link, StructuredValue } from '../../model';
import { checkLabel, degradedChecks, type CoverageCheck } from '../../model/coverage';
import { formatDuration, formatTime } from '../../util/text';
import { adminConsentLink, listAnnotation, sentences, shortTenant, str, UNREADABLE_LIST } from '../present';
import type { TenantRule } from '../rule';

/**
 * Monitoring is partial: a check of the tenant (lib/model/coverage.ts) has been degraded for longer
 * than `degradedFor`, so part of what the monitor should watch there has not been watched for that
 * long. One warning per tenant (or per Log Analytics workspace, for KQL rules) naming each such
 * check, its cause and its fix; it resolves when every check runs again.
 *
 * A degradation another alert already reports is not named again, so one cause makes one alert:
 * a tenant that cannot be read at all is `tenant-unreadable` (its coverage is all degraded, and
 * this alert is held meanwhile); a configuration whose jobs cannot be read is `jobs-unreadable`;
 * provisioning logs refused for a permission or a licence, or failing for two cycles, are
 * `provisioning-logs-unreadable`. Those fire sooner (at once, or after two cycles) and say the fix
 * themselves. What only this alert says: the early warnings' secrets read refused, discovery refused
 * or cut short, the logs lagging behind or arriving later than the widest overlap, a KQL rule failing.
 */

export const MONITORING_PARTIAL = 'monitoring-partial';

const DAY = 24 * 3600_000;

/** One check as the alert keeps it. */
interface PartialCheck {
  check: string;
  cause: string;
  causeKind: string;
  fix?: string;
  fixKind?: string;
  since: string;
}

function entryOf(check: CoverageCheck): PartialCheck & Record<string, StructuredValue> {
  return {
    check: check.check,
    cause: check.cause?.words ?? 'degraded',
    causeKind: check.cause?.kind ?? 'unknown',
    ...(check.fix ? { fix: check.fix.words, fixKind: check.fix.kind } : {}),
    since: check.since ?? '',
  };
}

export const monitoringPartial: TenantRule = {
  condition: MONITORING_PARTIAL,
  scope: 'tenant',
  readsLogs: true,
  title: 'Monitoring is partial',
  counted: { one: 'partially watched', many: 'partially watched' },
  description:
    'A check of the tenant (the job status of a kind of configuration, discovery, the early warnings, the provisioning logs, a KQL rule) has been degraded for longer than degradedFor: a permission, a licence, a filter Graph refused, throttling or a timeout keeps it from running as it should. One warning per tenant names each such check, its cause and its fix; it resolves when every check runs again. A degradation tenant-unreadable, jobs-unreadable or provisioning-logs-unreadable already reports is not named again.',
  defaultSeverity: 'warning',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {
    degradedFor: {
      type: 'duration',
      default: DAY,
      min: 5 * 60_000,
      max: 30 * DAY,
      description: 'How long a check must have been degraded before the tenant is reported as partially watched.',
    },
  },
  // Judged when the tenant was read and how long its checks have been degraded is known.
  inView: (_labels, tenant) => !tenant.problem && tenant.coverage !== undefined && !tenant.coverage.sinceUnknown,
  check({ tenant, settings, now }) {
    const coverage = tenant.coverage;
    if (tenant.problem || !coverage || coverage.sinceUnknown) return [];
    const limit = Number(settings.params.degradedFor ?? DAY);
    const long = degradedChecks(coverage).filter(
      (c) => !c.alertedBy && c.since !== undefined && now.getTime() - Date.parse(c.since) >= limit,
    );
    if (long.length === 0) return [];
    return [
      {
        annotations: {
          checks: long.map(entryOf),
          degradedForMs: limit,
          permissionFix: long.some((c) => c.fix?.kind === 'permission' || c.fix?.kind === 'consent'),
        },
        // A check newly past its limit, or one that runs again while others do not, is told at once.
        material: long
          .map((c) => c.check)
          .sort()
          .join(', '),
      },
    ];
  },
  describeChange(before, after) {
    const was = new Set(before.split(', ').filter(Boolean));
    const now = new Set(after.split(', ').filter(Boolean));
    const added = [...now].filter((c) => !was.has(c)).map(checkLabel);
    const back = [...was].filter((c) => !now.has(c)).map(checkLabel);
    return sentences([
      ...(added.length > 0 ? [`now also degraded for too long: ${added.join(', ')}`] : []),
      ...(back.length > 0 ? [`running again: ${back.join(', ')}`] : []),
    ]);
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const tenantId = alert.labels.tenantId;
    const workspace = tenantId.startsWith('workspace:');
    const where = workspace
      ? `Log Analytics workspace ${tenantId.slice('workspace:'.length)}`
      : `tenant ${shortTenant(tenantId, ctx)}`;
    const limit = formatDuration(Number(n.degradedForMs) || DAY);
    const checks = listAnnotation<PartialCheck>(n.checks);
    const facts: [string, string][] = [];
    const steps: string[] = [];
    if (checks === 'unreadable') facts.push(['Checks', UNREADABLE_LIST]);
    else
      for (const c of checks) {
        facts.push([checkLabel(str(c.check)), `${str(c.cause)} (degraded since ${formatTime(c.since, ctx.timeZone)})`]);
        if (c.fix) steps.push(`${checkLabel(str(c.check))}: ${str(c.fix)}.`);
      }
    const names = checks === 'unreadable' ? [] : checks.map((c) => checkLabel(str(c.check)));
    const links: Link[] = [];
    const consent = n.permissionFix === true && !workspace ? adminConsentLink(tenantId, ctx) : undefined;
    if (consent) links.push(consent);
    if (consent)
      steps.push(
        "A permission is granted by adding it to the monitoring app's API permissions (Microsoft Graph, application) and consenting in the tenant: a Global Administrator or Privileged Role Administrator opens the admin-consent link below.",
      );
    steps.push(
      'The status page (GET /api/status) and npm run status show every check of every tenant, with its cause and fix.',
    );
    return {
      title: 'Monitoring is partial',
      about: where,
      what: `Entra Sync Watch has not been able to run ${names.length === 1 ? 'one check' : `${names.length} checks`} in ${where} for more than ${limit}${names.length > 0 ? `: ${names.join(', ')}` : ''}. The other checks go on.`,
      facts,
      scripts: [workspace ? ['Workspace ID', tenantId.slice('workspace:'.length)] : ['Tenant ID', tenantId]],
      runbook: {
        meaning:
          'Part of what the monitor should watch here is not being watched, so a problem there would not be reported. Each check below says what keeps it from running and what fixes it.',
        steps,
      },
      next: 'The alert resolves by itself once every check runs again.',
      links,
      ended: 'every check runs again',
    };
  },
};
