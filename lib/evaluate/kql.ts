import type { KqlRule, ThresholdOperator } from '../model/policy';
import type { AlertLabels, Annotations, Finding } from '../model';
import type { KqlOutcome, QueryAnswer } from '../observe/log-analytics';
import type { LogProblem } from '../model/provisioning';
import { fingerprintOf } from './evaluate';
import { kqlTenantLabel } from './rules/kql';
import { bounded, boundedList } from '../util/text';

/**
 * Judges the answers of the user's KQL rules: a rule fires when its result crosses its threshold
 * (on the row count, or on a column of any row). A rule whose query failed, or whose answer lacks
 * the column it compares, is not judged this cycle: its alert is held, and the problem is named.
 */

function compare(value: number, operator: ThresholdOperator, limit: number): boolean {
  switch (operator) {
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    case '==':
      return value === limit;
    case '!=':
      return value !== limit;
  }
}

function thresholdText(rule: KqlRule): string {
  return `${rule.threshold.column ?? 'row count'} ${rule.threshold.operator} ${rule.threshold.value}`;
}

/** Rows of the result shown in the alert, columns shown per row, and steps of the rule's own kept. */
const ROWS_SHOWN = 5;
const COLUMNS_SHOWN = 10;
const STEPS_SHOWN = 10;
const STEP_CHARS = 500;

function cell(value: unknown): string {
  const text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'object' && value !== null
        ? JSON.stringify(value)
        : String(value ?? '');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

interface Judgement {
  crossed: boolean;
  observed: number | undefined;
  matching: Record<string, unknown>[];
}

/** Whether the answer crosses the rule's threshold; a column the answer lacks is a problem, not a verdict. */
export function judgeKql(rule: KqlRule, answer: QueryAnswer): Judgement | { problem: string } {
  const { column, operator, value } = rule.threshold;
  if (column === undefined) {
    const count = answer.rows.length;
    return { crossed: compare(count, operator, value), observed: count, matching: answer.rows };
  }
  if (!answer.columns.includes(column))
    return { problem: `the result has no column ${column} (columns: ${answer.columns.join(', ') || 'none'})` };
  const matching = answer.rows.filter((row) => {
    const n = Number(row[column]);
    return Number.isFinite(n) && compare(n, operator, value);
  });
  const values = matching.map((row) => Number(row[column]));
  const observed =
    values.length === 0 ? undefined : operator.startsWith('<') ? Math.min(...values) : Math.max(...values);
  return { crossed: matching.length > 0, observed, matching };
}

export interface KqlEvaluation {
  findings: Finding[];
  /** Rules answered in full this cycle: their alerts can be judged (and resolved). */
  judged: Set<string>;
  problems: LogProblem[];
}

export function evaluateKql(outcomes: KqlOutcome[], workspaceId: string): KqlEvaluation {
  const result: KqlEvaluation = { findings: [], judged: new Set(), problems: [] };
  for (const { rule, answer, problem } of outcomes) {
    if (problem || !answer) {
      if (problem) result.problems.push(problem);
      continue;
    }
    const judgement = judgeKql(rule, answer);
    if ('problem' in judgement) {
      result.problems.push({
        kind: 'query-error',
        source: 'log-analytics',
        operation: `kql rule ${rule.name}`,
        message: judgement.problem,
      });
      continue;
    }
    result.judged.add(rule.name);
    if (!judgement.crossed) continue;
    const labels: AlertLabels = {
      tenantId: kqlTenantLabel(rule, workspaceId),
      servicePrincipalId: rule.labels.servicePrincipal ?? '-',
      jobId: rule.labels.job ?? '-',
      condition: rule.name,
    };
    // Bounded by what it holds: rows, columns per row, characters per cell (`cell`).
    const sample = judgement.matching.slice(0, ROWS_SHOWN).map((row) => {
      const columns = Object.entries(row);
      const shown = Object.fromEntries(columns.slice(0, COLUMNS_SHOWN).map(([k, v]) => [bounded(k, 100), cell(v)]));
      return columns.length > COLUMNS_SHOWN
        ? { ...shown, '…': `${columns.length - COLUMNS_SHOWN} more column(s)` }
        : shown;
    });
    const steps = rule.steps ?? [];
    const annotations: Annotations = {
      kqlRule: rule.name,
      workspaceId,
      query: rule.query.length > 2000 ? `${rule.query.slice(0, 1999)}…` : rule.query,
      timeSpanMs: rule.timeSpanMs,
      threshold: thresholdText(rule),
      observed: judgement.observed,
      rows: answer.rows.length,
      matchingRows: judgement.matching.length,
      sample,
      description: rule.description,
      steps: steps.length > 0 ? boundedList(steps, { entries: STEPS_SHOWN, fieldChars: STEP_CHARS }) : undefined,
      stepsLeftOut: steps.length > STEPS_SHOWN ? steps.length - STEPS_SHOWN : undefined,
      servicePrincipalName: rule.labels.app,
      templateId: rule.labels.jobTemplate,
    };
    result.findings.push({
      fingerprint: fingerprintOf(labels),
      labels,
      severity: rule.severity,
      pendingCycles: rule.pendingCycles,
      annotations,
    });
  }
  return result;
}
