import { KQL_NAME, type KqlRule } from '../../model/policy';
import { formatDuration } from '../../util/text';
import { listAnnotation, shortTenant, str, UNREADABLE_LIST } from '../present';
import type { TenantRule } from '../rule';

/**
 * The user's own rules over a Log Analytics workspace (`kqlRules` in the config). Each rule's name
 * (`kql-...`) is its condition, so its alerts are routed, grouped, silenced, reminded and resolved
 * like any other; this is how channels show them (the queries run in lib/observe/log-analytics.ts and
 * are judged in lib/evaluate/kql.ts).
 */

export function isKqlCondition(condition: string): boolean {
  return KQL_NAME.test(condition);
}

/** The tenant label of a rule's alerts: the one it names, else its workspace. */
export function kqlTenantLabel(rule: KqlRule, workspaceId: string): string {
  return rule.labels.tenant ?? `workspace:${workspaceId}`;
}

/** How channels show the alerts of a KQL rule: what the query found, the query itself, and the user's own steps. */
export function kqlRuleDefinition(condition: string): TenantRule {
  return {
    condition,
    scope: 'tenant',
    title: condition,
    counted: { one: condition, many: condition },
    description: `A rule from kqlRules in the config (${condition}).`,
    defaultSeverity: 'warning',
    defaultPendingCycles: 0,
    defaultKeepFiringForMs: 0,
    params: {},
    check: () => [],
    present(alert, ctx) {
      const n = alert.annotations;
      const workspaceTenant = alert.labels.tenantId.startsWith('workspace:');
      const where =
        str(n.servicePrincipalName) ||
        (workspaceTenant ? `workspace ${str(n.workspaceId)}` : shortTenant(alert.labels.tenantId, ctx));
      const facts: [string, string][] = [];
      facts.push(
        ['Threshold', str(n.threshold)],
        [
          'Result',
          `${n.observed !== undefined ? str(n.observed) : 'no value'} (${str(n.matchingRows)} of ${str(n.rows)} row(s) match)`,
        ],
        ['Time span', `the last ${formatDuration(Number(n.timeSpanMs))}`],
      );
      const sample = listAnnotation<Record<string, string>>(n.sample);
      if (sample === 'unreadable') facts.push(['Rows', UNREADABLE_LIST]);
      else
        sample.forEach((row, i) =>
          facts.push([
            `Row ${i + 1}`,
            Object.entries(row)
              .map(([k, v]) => (k === '…' ? str(v) : `${k}=${str(v)}`))
              .join(', '),
          ]),
        );
      const listed = listAnnotation<string>(n.steps);
      const steps =
        listed === 'unreadable'
          ? [`The rule's steps ${UNREADABLE_LIST}; they are in kqlRules in the config.`]
          : listed.map(str);
      if (Number(n.stepsLeftOut) > 0)
        steps.push(`${str(n.stepsLeftOut)} more step(s) in the rule's config (kqlRules).`);
      return {
        title: condition,
        about: where,
        what: `${condition}: ${str(n.threshold)} (found ${n.observed !== undefined ? str(n.observed) : 'no value'}) over the last ${formatDuration(Number(n.timeSpanMs))}.`,
        facts,
        scripts: [
          ...(workspaceTenant ? [] : [['Tenant ID', alert.labels.tenantId] as [string, string]]),
          ...(alert.labels.servicePrincipalId !== '-'
            ? [['Service principal ID', alert.labels.servicePrincipalId] as [string, string]]
            : []),
          ...(alert.labels.jobId !== '-' ? [['Job ID', alert.labels.jobId] as [string, string]] : []),
          ['Workspace', str(n.workspaceId)],
          ['Query', str(n.query)],
        ],
        runbook: {
          meaning:
            str(n.description) || 'A rule from your config (kqlRules) crossed its threshold in Azure Monitor Logs.',
          steps:
            steps.length > 0
              ? steps
              : ['Run the query in the Log Analytics workspace (Logs) over the same time span to see every row.'],
        },
        links: [],
        ended: 'is back within its threshold',
      };
    },
  };
}
