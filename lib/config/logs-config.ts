import { SEVERITIES, type Severity } from '../model';
import { formatDurationText, parseDuration } from '../util/duration';
import { field, isObject, shown, type Json } from '../util/json-checks';
import { describeKqlDiagnostic, kqlErrors } from './kql-check';
import {
  DEFAULT_PROVISIONING_LOGS,
  KQL_NAME,
  THRESHOLD_OPERATORS,
  type KqlLabels,
  type KqlRule,
  type ProvisioningLogsPolicy,
  type ThresholdOperator,
} from '../model/policy';

/**
 * The config file's `provisioningLogs` and `kqlRules` sections (validated like the rest, each
 * problem with the JSON path of its field; config.ts calls these and collects the problems).
 */

type Report = (path: string, message: string) => void;

const LABEL_KEYS = ['tenant', 'servicePrincipal', 'job', 'app', 'jobTemplate'] as const;
const RULE_KEYS = [
  'name',
  'query',
  'timeSpan',
  'threshold',
  'severity',
  'pendingCycles',
  'labels',
  'description',
  'steps',
  'enabled',
];
const MAX_TIME_SPAN = 30 * 24 * 3600_000;

function objectAt(value: unknown, path: string, report: Report, allowed: readonly string[]): Json | undefined {
  if (!isObject(value)) {
    report(path, `expected an object, got ${shown(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value))
    if (!allowed.includes(key)) report(field(path, key), `unknown field (expected one of ${allowed.join(', ')})`);
  return value;
}

function text(
  object: Json,
  key: string,
  path: string,
  report: Report,
  why: string,
  required = true,
): string | undefined {
  const value = object[key];
  if (value === undefined) {
    if (required) report(`${path}.${key}`, `required: ${why}`);
    return undefined;
  }
  if (typeof value === 'string' && value.trim() !== '') return value;
  report(`${path}.${key}`, `expected ${why}, got ${shown(value)}`);
  return undefined;
}

function durationAt(value: unknown, path: string, report: Report, min: number, max: number): number | undefined {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) report(path, `${shown(value)} is not a duration (e.g. 30m, 4h, 1d)`);
  else if (ms < min) report(path, `must be at least ${formatDurationText(min)}, got ${shown(value)}`);
  else if (ms > max) report(path, `must be at most ${formatDurationText(max)}, got ${shown(value)}`);
  else return ms;
  return undefined;
}

/** `provisioningLogs`: where events come from and how much one cycle reads. */
export function buildProvisioningLogs(value: unknown, report: Report): ProvisioningLogsPolicy {
  if (value === undefined) return { ...DEFAULT_PROVISIONING_LOGS };
  const path = 'provisioningLogs';
  const object =
    objectAt(value, path, report, [
      'source',
      'maxPagesPerCycle',
      'overlap',
      'maxOverlap',
      'rotation',
      'everyCycleUpTo',
    ]) ?? {};
  const policy = { ...DEFAULT_PROVISIONING_LOGS };
  if (object.source !== undefined) {
    if (object.source === 'graph' || object.source === 'logAnalytics') policy.source = object.source;
    else report(`${path}.source`, `expected one of graph, logAnalytics, got ${shown(object.source)}`);
  }
  if (object.maxPagesPerCycle !== undefined) {
    const n = object.maxPagesPerCycle;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= 1000) policy.maxPagesPerCycle = n;
    else report(`${path}.maxPagesPerCycle`, `expected a whole number from 1 to 1000, got ${shown(n)}`);
  }
  if (object.overlap !== undefined) {
    const ms = durationAt(object.overlap, `${path}.overlap`, report, 0, 24 * 3600_000);
    if (ms !== undefined) policy.overlapMs = ms;
  }
  if (object.maxOverlap === undefined) policy.maxOverlapMs = Math.max(policy.maxOverlapMs, policy.overlapMs);
  else {
    const ms = durationAt(object.maxOverlap, `${path}.maxOverlap`, report, 0, 24 * 3600_000);
    if (ms !== undefined && ms < policy.overlapMs)
      report(
        `${path}.maxOverlap`,
        `must be at least the overlap (${formatDurationText(policy.overlapMs)}), the most late events may widen it to; got ${shown(object.maxOverlap)}`,
      );
    else if (ms !== undefined) policy.maxOverlapMs = ms;
  }
  if (object.everyCycleUpTo !== undefined) {
    const n = object.everyCycleUpTo;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= 100_000) policy.everyCycleUpTo = n;
    else report(`${path}.everyCycleUpTo`, `expected a whole number from 0 to 100000, got ${shown(n)}`);
  }
  if (object.rotation !== undefined) {
    const ms = durationAt(object.rotation, `${path}.rotation`, report, 0, 24 * 3600_000);
    if (ms !== undefined) policy.rotationMs = ms;
  }
  return policy;
}

function threshold(value: unknown, path: string, report: Report): KqlRule['threshold'] | undefined {
  const object = objectAt(value, path, report, ['column', 'operator', 'value']);
  if (!object) return undefined;
  let column: string | undefined;
  if (object.column !== undefined) {
    if (typeof object.column === 'string' && object.column.trim() !== '') column = object.column;
    else report(`${path}.column`, `expected the name of a column of the query's result, got ${shown(object.column)}`);
  }
  const operator = (object.operator ?? '>=') as ThresholdOperator;
  if (!THRESHOLD_OPERATORS.includes(operator))
    report(`${path}.operator`, `expected one of ${THRESHOLD_OPERATORS.join(', ')}, got ${shown(object.operator)}`);
  const n = object.value;
  if (n === undefined) report(`${path}.value`, 'required: the number the row count (or the column) is compared with');
  else if (typeof n !== 'number' || !Number.isFinite(n)) report(`${path}.value`, `expected a number, got ${shown(n)}`);
  return typeof n === 'number' && Number.isFinite(n) && THRESHOLD_OPERATORS.includes(operator)
    ? { column, operator, value: n }
    : undefined;
}

function labels(value: unknown, path: string, report: Report): KqlLabels {
  if (value === undefined) return {};
  const object = objectAt(value, path, report, LABEL_KEYS) ?? {};
  const result: KqlLabels = {};
  for (const key of LABEL_KEYS) {
    const v = object[key];
    if (v === undefined) continue;
    if (typeof v === 'string' && v.trim() !== '' && !v.includes('*'))
      result[key] = key === 'tenant' || key === 'servicePrincipal' ? v.toLowerCase() : v;
    else report(`${path}.${key}`, `expected a non-empty value without wildcards, got ${shown(v)}`);
  }
  return result;
}

/** Kusto errors reported per query at most: the first ones say what to fix first. */
const KQL_ERRORS_SHOWN = 5;

/** The Kusto language service's errors in a rule's query, each at `kqlRules[i].query` with its line and column. */
function checkQuery(query: string, path: string, report: Report): void {
  let errors;
  try {
    errors = kqlErrors(query);
  } catch (error) {
    report(path, (error as Error).message);
    return;
  }
  for (const error of errors.slice(0, KQL_ERRORS_SHOWN)) report(path, describeKqlDiagnostic(error));
  if (errors.length > KQL_ERRORS_SHOWN)
    report(path, `and ${errors.length - KQL_ERRORS_SHOWN} more error(s) the Kusto language service found`);
}

function buildKqlRule(
  value: unknown,
  path: string,
  report: Report,
  names: Set<string>,
  builtIn: readonly string[],
  checkQueries: boolean,
): KqlRule | undefined {
  const object = objectAt(value, path, report, RULE_KEYS);
  if (!object) return undefined;
  const name = text(
    object,
    'name',
    path,
    report,
    'a name starting with kql- (lower-case words joined by -), used as its condition',
  );
  if (name !== undefined) {
    if (!KQL_NAME.test(name) || name.length > 63)
      report(
        `${path}.name`,
        `${shown(name)} must start with kql- and go on with lower-case letters, digits and single dashes (at most 63 characters)`,
      );
    else if (builtIn.includes(name)) report(`${path}.name`, `${shown(name)} is a built-in condition`);
    else if (names.has(name)) report(`${path}.name`, `${shown(name)} is already the name of another rule`);
  }
  const query = text(
    object,
    'query',
    path,
    report,
    'the KQL query, e.g. AADProvisioningLogs | where ResultType == "Failure"',
  );
  if (query !== undefined && checkQueries) checkQuery(query, `${path}.query`, report);
  const timeSpanMs =
    object.timeSpan === undefined
      ? (report(`${path}.timeSpan`, 'required: the time span the query covers, e.g. 1h'), undefined)
      : durationAt(object.timeSpan, `${path}.timeSpan`, report, 60_000, MAX_TIME_SPAN);
  const limit =
    object.threshold === undefined
      ? (report(`${path}.threshold`, 'required: { "operator": ">=", "value": 1 } on the row count, or with "column"'),
        undefined)
      : threshold(object.threshold, `${path}.threshold`, report);
  let severity: Severity = 'warning';
  if (object.severity !== undefined) {
    if (SEVERITIES.includes(object.severity as Severity)) severity = object.severity as Severity;
    else report(`${path}.severity`, `expected one of ${SEVERITIES.join(', ')}, got ${shown(object.severity)}`);
  }
  let pendingCycles = 0;
  if (object.pendingCycles !== undefined) {
    const n = object.pendingCycles;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) pendingCycles = n;
    else report(`${path}.pendingCycles`, `expected a whole number ≥ 0, got ${shown(n)}`);
  }
  const description = text(object, 'description', path, report, 'a sentence saying what the rule means', false);
  let steps: string[] | undefined;
  if (object.steps !== undefined) {
    if (
      Array.isArray(object.steps) &&
      object.steps.length > 0 &&
      object.steps.every((s) => typeof s === 'string' && s.trim() !== '')
    )
      steps = object.steps as string[];
    else report(`${path}.steps`, 'expected a list of steps (non-empty strings)');
  }
  if (object.enabled !== undefined && typeof object.enabled !== 'boolean')
    report(`${path}.enabled`, `expected true or false, got ${shown(object.enabled)}`);
  const ruleLabels = labels(object.labels, `${path}.labels`, report);
  if (name) names.add(name);
  if (!name || !query || timeSpanMs === undefined || !limit || object.enabled === false) return undefined;
  return { name, query, timeSpanMs, threshold: limit, severity, pendingCycles, labels: ruleLabels, description, steps };
}

/**
 * `kqlRules`: the enabled rules, and every name declared (a disabled rule's name still works in
 * matchers). Every rule's query, enabled or not, is checked with the Kusto language service
 * unless `checkQueries` is false (kql-check.ts).
 */
export function buildKqlRules(
  value: unknown,
  report: Report,
  builtIn: readonly string[],
  checkQueries = true,
): { rules: KqlRule[]; names: string[] } {
  if (value === undefined) return { rules: [], names: [] };
  if (!Array.isArray(value)) {
    report('kqlRules', `expected a list of rules, got ${shown(value)}`);
    return { rules: [], names: [] };
  }
  const names = new Set<string>();
  const rules = value
    .map((item, i) => buildKqlRule(item, `kqlRules[${i}]`, report, names, builtIn, checkQueries))
    .filter((r): r is KqlRule => r !== undefined);
  return { rules, names: [...names] };
}
