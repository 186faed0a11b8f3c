import { evaluateTenant } from '../evaluate/evaluate';
import type { KqlEvaluation } from '../evaluate/kql';
import { RULES } from '../evaluate/rules';
import { MONITORING_PARTIAL } from '../evaluate/rules/monitoring-partial';
import type { CoverageCounts, Finding } from '../model';
import type { TenantCoverage } from '../model/coverage';
import type { Policy } from '../model/policy';
import { kqlCoverage, workspaceSubject } from '../observe/coverage';
import { worthWriting, type CoverageStore } from '../store/coverage-store';
import type { Logger } from '../util/log';
import type { CoverageWrite } from './observe';

/**
 * The coverage parts of a cycle that are not one tenant's: the KQL rules, which run once per
 * Log Analytics workspace and so have their coverage (and their "Monitoring is partial" alert)
 * under `workspace:<id>`; and the counts the cycle's summary carries.
 */

/** The KQL rules' coverage this cycle, judged like a tenant's and written with the tenants'. */
export interface WorkspaceCoverage {
  subject: string;
  coverage: TenantCoverage;
  write?: CoverageWrite;
  /** Whether "Monitoring is partial" of the workspace can be judged (its stored coverage was read). */
  judged: boolean;
  findings(now: Date, policy: Policy): Finding[];
}

interface WorkspaceDeps {
  policy: Policy;
  coverage?: Pick<CoverageStore, 'load'>;
  logs?: { logAnalytics?: { workspaceId: string } };
  clock: () => Date;
  log: Logger;
}

const partialRule = RULES.filter((rule) => rule.condition === MONITORING_PARTIAL);

/** The coverage of the config's KQL rules, or undefined when the config has none. */
export async function workspaceCoverage(
  deps: WorkspaceDeps,
  kql: KqlEvaluation | undefined,
): Promise<WorkspaceCoverage | undefined> {
  const rules = deps.policy.kqlRules ?? [];
  if (rules.length === 0) return undefined;
  const workspaceId = deps.logs?.logAnalytics?.workspaceId;
  const subject = workspaceSubject(workspaceId);
  let previous;
  let known = true;
  try {
    previous = await deps.coverage?.load(subject);
  } catch (error) {
    known = false;
    deps.log.warn(`${subject}: its coverage could not be read (${(error as Error).message}); judged next cycle`);
  }
  const outcomes = kql ?? {
    judged: new Set<string>(),
    problems: [],
    notRun: workspaceId
      ? 'the KQL rules did not run this cycle (see the cycle problems)'
      : 'the KQL rules run in the workspace named by LOG_ANALYTICS_WORKSPACE_ID, which is not set',
  };
  const coverage = kqlCoverage(workspaceId, rules, outcomes, previous?.coverage, deps.clock());
  if (!known) coverage.sinceUnknown = true;
  return {
    subject,
    coverage,
    write:
      known && deps.coverage && worthWriting(previous?.coverage, coverage)
        ? { coverage, etag: previous?.etag }
        : undefined,
    judged: known,
    findings: (now, policy) =>
      evaluateTenant(
        { tenantId: subject, jobs: [], servicePrincipalsRead: new Set(), servicePrincipalProblems: [], coverage },
        { now, rules: policy.rules, tenantNames: policy.tenantNames, registry: partialRule },
      ),
  };
}

/** The counts a cycle's summary carries: how many tenants were read, how many partially watched, and per check. */
export function coverageCounts(coverages: TenantCoverage[]): CoverageCounts | undefined {
  const tenants = coverages;
  if (tenants.length === 0) return undefined;
  const counts: CoverageCounts = { tenants: tenants.length, partial: 0, degraded: {}, off: {} };
  for (const coverage of tenants) {
    if (coverage.checks.some((c) => c.state === 'degraded')) counts.partial++;
    for (const check of coverage.checks)
      if (check.state !== 'active') {
        const bucket = counts[check.state];
        bucket[check.check] = (bucket[check.check] ?? 0) + 1;
      }
  }
  return counts;
}
