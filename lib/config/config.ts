import { existsSync, readFileSync } from 'node:fs';
import { defaultRuleSettings, type ParamSpec, type RuleDefinition } from '../evaluate/rule';
import { type RuleSettings, DEFAULT_BUDGET, DEFAULT_DISCOVERY_REFRESH_MS, DEFAULT_REPEAT_MS } from '../model/policy';
import { CONDITIONS, RULES } from '../evaluate/rules';
import { SEVERITIES } from '../model';
import { formatDurationText, parseDuration } from '../util/duration';
import { canonicalTimeZone, field, isObject, shown, type Json } from '../util/json-checks';
import { DOMAIN, EMAIL, exampleAddressProblem, GUID } from '../settings/settings';
import type { EscalationStep, Policy, Route, RulePolicy, Silence } from '../model/policy';
import type { Severity } from '../model';
import type { MaintenanceWindowConfig, Matchers, Weekday, WeeklyWindow } from '../model/config-file';
import { buildActionsAccess } from './actions-config';
import { buildKqlRules, buildProvisioningLogs } from './logs-config';
import { buildChannels, buildDigest } from './channels-config';

/**
 * Turns the JSON config file (WATCH_CONFIG, shape in types.ts, described for editors by
 * config.schema.json) into a Policy. Like settings.ts it reports every problem at once, each
 * with the JSON path of the bad field and what is expected, so one start fixes one file.
 */

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid config ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// Kept in step with the types: adding a matcher label without listing it here fails to compile.
const MATCHER_KEYS = [
  'tenant',
  'tenantName',
  'servicePrincipal',
  'app',
  'jobTemplate',
  'job',
  'condition',
  'severity',
] as const satisfies readonly (keyof Matchers)[];
const _allMatcherKeysListed: Exclude<keyof Matchers, (typeof MATCHER_KEYS)[number]> extends never ? true : never = true;
const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const ROOT_ROUTE_FIELDS = [
  'to',
  'cc',
  'repeatInterval',
  'sendResolved',
  'routes',
  'channels',
  'digest',
  'timeZone',
  'escalate',
];
const ROUTE_FIELDS = [
  'match',
  'to',
  'cc',
  'repeatInterval',
  'sendResolved',
  'continue',
  'routes',
  'channels',
  'digest',
  'timeZone',
  'escalate',
];
const ESCALATION_STEP_FIELDS = ['after', 'to', 'cc', 'channels', 'severity'];
/** More escalation steps than this on one route are refused: a chain that long pages people for nothing. */
const MAX_ESCALATION_STEPS = 10;
const TOP_FIELDS = [
  '$schema',
  'route',
  'silences',
  'maintenanceWindows',
  'rules',
  'sendBudget',
  'heartbeat',
  'tenants',
  'discovery',
  'provisioningLogs',
  'kqlRules',
  'actions',
];

/** The conditions matchers may name while a config is built: the registry's and the config's own KQL rules. */
let declaredConditions: readonly string[] = CONDITIONS;

// The same address, tenant and domain rules as settings.ts, so a config address is valid wherever a setting's is.
const TIME_OF_DAY = /^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/;
/** ISO 8601 date-time with seconds optional and a time zone required: a silence must mean one instant everywhere. */
const DATE_TIME =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** Collects problems, each prefixed with the JSON path it is about. */
class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(path ? `${path}: ${message}` : message);
  }
}

/** The value as an object with only the allowed fields (unknown ones are reported, typos being the usual cause). */
function objectAt(
  value: unknown,
  path: string,
  problems: Problems,
  allowed: readonly string[],
  reportedElsewhere: readonly string[] = [],
): Json | undefined {
  if (!isObject(value)) {
    problems.add(path, `expected an object, got ${shown(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key) && !reportedElsewhere.includes(key))
      problems.add(field(path, key), `unknown field (expected one of ${allowed.join(', ')})`);
  }
  return value;
}

function arrayAt(value: unknown, path: string, problems: Problems): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  problems.add(path, `expected a list, got ${shown(value)}`);
  return undefined;
}

/** A required non-blank string; `why` says what it is for. */
function requiredText(object: Json, key: string, path: string, problems: Problems, why: string): string | undefined {
  const value = object[key];
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  problems.add(
    field(path, key),
    value === undefined ? `required: ${why}` : `expected a non-empty string (${why}), got ${shown(value)}`,
  );
  return undefined;
}

function optionalBoolean(value: unknown, path: string, problems: Problems): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  problems.add(path, `expected true or false, got ${shown(value)}`);
  return undefined;
}

function wholeNumber(value: unknown, path: string, problems: Problems, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
  problems.add(path, `expected a whole number ≥ ${min}, got ${shown(value)}`);
  return undefined;
}

function duration(
  value: unknown,
  path: string,
  problems: Problems,
  { positive }: { positive: boolean },
): number | undefined {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) {
    problems.add(path, `${shown(value)} is not a duration (e.g. 30m, 4h, 1d)`);
    return undefined;
  }
  if (positive && ms === 0) {
    problems.add(path, `${shown(value)} must be longer than zero`);
    return undefined;
  }
  return ms;
}

function emailList(
  value: unknown,
  path: string,
  problems: Problems,
  { required }: { required: boolean },
): string[] | undefined {
  const items = arrayAt(value, path, problems);
  if (!items) return undefined;
  if (required && items.length === 0) {
    problems.add(path, 'expected at least one email address (to mute alerts, use a silence or maintenance window)');
    return undefined;
  }
  items.forEach((item, i) => {
    if (typeof item !== 'string' || !EMAIL.test(item))
      problems.add(`${path}[${i}]`, `${shown(item)} is not an email address`);
    else {
      const example = exampleAddressProblem(item);
      if (example) problems.add(`${path}[${i}]`, `${shown(item)} is ${example}`);
    }
  });
  return items.map(String);
}

// ---- matchers -------------------------------------------------------------------------------

function enumValue(value: unknown, path: string, problems: Problems, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value))
    problems.add(path, `expected one of ${allowed.join(', ')}, got ${shown(value)}`);
}

function globValue(value: unknown, path: string, problems: Problems): void {
  if (typeof value !== 'string' || value === '')
    problems.add(path, `expected a non-empty string (* matches anything), got ${shown(value)}`);
}

/** A matcher value: one string or a non-empty list of them; condition and severity only from their enums. */
function matchValue(key: string, value: unknown, path: string, problems: Problems): void {
  const check = (item: unknown, itemPath: string): void => {
    if (key === 'condition') enumValue(item, itemPath, problems, declaredConditions);
    else if (key === 'severity') enumValue(item, itemPath, problems, SEVERITIES);
    else globValue(item, itemPath, problems);
  };
  if (!Array.isArray(value)) return check(value, path);
  if (value.length === 0) problems.add(path, 'expected at least one value (an empty list matches nothing)');
  value.forEach((item, i) => check(item, `${path}[${i}]`));
}

function matchers(
  value: unknown,
  path: string,
  problems: Problems,
  { required }: { required: boolean },
): Matchers | undefined {
  const object = objectAt(value, path, problems, MATCHER_KEYS);
  if (!object) return undefined;
  // Muting every alert by accident is worse than a typo; `tenant: "*"` says it on purpose.
  if (required && Object.keys(object).length === 0)
    problems.add(path, 'give at least one matcher (use "tenant": "*" to mean every alert)');
  for (const key of MATCHER_KEYS)
    if (object[key] !== undefined) matchValue(key, object[key], field(path, key), problems);
  return object as Matchers;
}

// ---- routes -----------------------------------------------------------------------------------

type Inherited = Pick<Route, 'to' | 'cc' | 'repeatMs' | 'sendResolved' | 'channels' | 'timeZone'>;

function repeatIntervals(
  value: unknown,
  path: string,
  problems: Problems,
  parent: Route['repeatMs'],
): Route['repeatMs'] {
  if (value === undefined) return parent;
  if (typeof value === 'string') {
    const ms = duration(value, path, problems, { positive: true });
    return ms === undefined ? parent : { critical: ms, warning: ms };
  }
  if (!isObject(value)) {
    problems.add(
      path,
      `expected a duration (e.g. 4h) or an object with critical and/or warning durations, got ${shown(value)}`,
    );
    return parent;
  }
  objectAt(value, path, problems, SEVERITIES);
  const repeatMs = { ...parent };
  for (const severity of SEVERITIES) {
    if (value[severity] === undefined) continue;
    repeatMs[severity] =
      duration(value[severity], field(path, severity), problems, { positive: true }) ?? parent[severity];
  }
  return repeatMs;
}

/** `critical` or `["critical", "warning"]`: the severities an escalation step takes. */
function severityList(value: unknown, path: string, problems: Problems): Severity[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) {
    problems.add(path, 'expected at least one severity (leave it out to escalate every severity)');
    return undefined;
  }
  list.forEach((item, i) => enumValue(item, Array.isArray(value) ? `${path}[${i}]` : path, problems, SEVERITIES));
  return list.every((item) => SEVERITIES.includes(item as Severity)) ? [...new Set(list as Severity[])] : undefined;
}

/**
 * One step of a route's `escalate`: `{ "after": "30m", "to": [...], "cc": [...], "channels": [...],
 * "severity": ["critical"] }`. It needs a delay and someone to escalate to (`to` or `channels`).
 */
function buildEscalationStep(value: unknown, path: string, problems: Problems): EscalationStep | undefined {
  const object = objectAt(value, path, problems, ESCALATION_STEP_FIELDS);
  if (!object) return undefined;
  let afterMs: number | undefined;
  if (object.after === undefined)
    problems.add(field(path, 'after'), 'required: how long an alert fires unacknowledged first (e.g. 30m)');
  else afterMs = duration(object.after, field(path, 'after'), problems, { positive: true });
  const to =
    object.to === undefined ? [] : (emailList(object.to, field(path, 'to'), problems, { required: true }) ?? []);
  const cc =
    object.cc === undefined ? [] : (emailList(object.cc, field(path, 'cc'), problems, { required: false }) ?? []);
  if (object.cc !== undefined && object.to === undefined)
    problems.add(field(path, 'cc'), 'copies an email that has no `to`: give the step `to` as well');
  const report = (at: string, message: string) => problems.add(at, message);
  const channels = buildChannels(object.channels, field(path, 'channels'), report, []);
  if (object.to === undefined && !(Array.isArray(object.channels) && object.channels.length > 0))
    problems.add(path, 'give `to` or `channels`: whom this step escalates to');
  const severities = severityList(object.severity, field(path, 'severity'), problems);
  if (afterMs === undefined) return undefined;
  return {
    afterMs,
    to,
    cc,
    ...(channels.length > 0 ? { channels } : {}),
    ...(severities ? { severities } : {}),
  };
}

/** A route's `escalate`: its steps (not inherited: a child route escalates only when it says so itself). */
function buildEscalate(value: unknown, path: string, problems: Problems): EscalationStep[] | undefined {
  if (value === undefined) return undefined;
  const items = arrayAt(value, path, problems);
  if (!items) return undefined;
  if (items.length > MAX_ESCALATION_STEPS)
    problems.add(path, `${items.length} steps; at most ${MAX_ESCALATION_STEPS} per route`);
  const steps = items.flatMap((item, i) => buildEscalationStep(item, `${path}[${i}]`, problems) ?? []);
  return steps.length > 0 ? steps : undefined;
}

function refuseOnRoot(object: Json, path: string, problems: Problems): void {
  if (object.match !== undefined)
    problems.add(
      field(path, 'match'),
      'not allowed on the root route, which takes every alert; put matchers on its routes',
    );
  if (object.continue !== undefined)
    problems.add(field(path, 'continue'), 'not allowed on the root route, which has no siblings');
}

/** A route's `timeZone`: an IANA name, made canonical (`europe/berlin` → `Europe/Berlin`). */
function routeTimeZone(value: unknown, path: string, problems: Problems): string | undefined {
  if (value === undefined) return undefined;
  const zone = typeof value === 'string' ? canonicalTimeZone(value.trim()) : undefined;
  if (!zone)
    problems.add(
      path,
      `${shown(value)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC): the route's messages show times in it`,
    );
  return zone;
}

/**
 * One route with every default applied. A child inherits each of `to`, `cc`, `repeatInterval`
 * (per severity) and `sendResolved` from its parent independently when it does not give it;
 * `cc: []` stops a cc from being inherited.
 */
/** Routes nested deeper than this are refused: a tree that deep is a mistake, and walking it must not overflow the stack. */
const MAX_ROUTE_DEPTH = 16;

function buildRoute(value: unknown, path: string, id: string, parent: Inherited, problems: Problems): Route {
  const isRoot = id === 'root';
  if (isRoot && isObject(value)) refuseOnRoot(value, path, problems);
  const object =
    (isRoot
      ? objectAt(value, path, problems, ROOT_ROUTE_FIELDS, ['match', 'continue'])
      : objectAt(value, path, problems, ROUTE_FIELDS)) ?? {};
  const route: Route = {
    id,
    to:
      object.to === undefined
        ? parent.to
        : (emailList(object.to, field(path, 'to'), problems, { required: true }) ?? parent.to),
    cc:
      object.cc === undefined
        ? parent.cc
        : (emailList(object.cc, field(path, 'cc'), problems, { required: false }) ?? parent.cc),
    repeatMs: repeatIntervals(object.repeatInterval, field(path, 'repeatInterval'), problems, parent.repeatMs),
    sendResolved: optionalBoolean(object.sendResolved, field(path, 'sendResolved'), problems) ?? parent.sendResolved,
    continue: isRoot ? false : (optionalBoolean(object.continue, field(path, 'continue'), problems) ?? false),
    routes: [],
  };
  if (!isRoot && object.match !== undefined)
    route.match = matchers(object.match, field(path, 'match'), problems, { required: false });
  // Channels besides email are inherited like recipients; a digest belongs to the route that asks for it.
  const report = (at: string, message: string) => problems.add(at, message);
  const channels = buildChannels(object.channels, field(path, 'channels'), report, parent.channels ?? []);
  if (channels.length > 0) route.channels = channels;
  const ownZone = routeTimeZone(object.timeZone, field(path, 'timeZone'), problems);
  const timeZone = ownZone ?? parent.timeZone;
  if (timeZone && timeZone !== 'UTC') route.timeZone = timeZone;
  const digest = buildDigest(object.digest, field(path, 'digest'), report, {
    timeZone: timeZone ?? 'UTC',
    configured: timeZone !== undefined,
  });
  if (digest) route.digest = digest;
  const escalate = buildEscalate(object.escalate, field(path, 'escalate'), problems);
  if (escalate) route.escalate = escalate;
  const children = object.routes === undefined ? [] : (arrayAt(object.routes, field(path, 'routes'), problems) ?? []);
  if (children.length > 0 && id.split('.').length > MAX_ROUTE_DEPTH) {
    problems.add(
      field(path, 'routes'),
      `routes are nested more than ${MAX_ROUTE_DEPTH} levels deep; flatten the tree (a route can list many children)`,
    );
    return route;
  }
  route.routes = children.map((child, i) =>
    buildRoute(child, `${field(path, 'routes')}[${i}]`, `${id}.${i}`, route, problems),
  );
  return route;
}

function buildRootRoute(value: unknown, emailTo: string[], problems: Problems): Route {
  const base: Inherited = { to: emailTo, cc: [], repeatMs: DEFAULT_REPEAT_MS, sendResolved: true };
  const route = buildRoute(value ?? {}, 'route', 'root', base, problems);
  if (route.to.length === 0) problems.add('route.to', 'required: no ALERT_EMAIL_TO to fall back on');
  return route;
}

// ---- silences and maintenance windows -------------------------------------------------------------

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dateTime(object: Json, key: string, path: string, problems: Problems): Date | undefined {
  const text = requiredText(object, key, path, problems, 'an ISO 8601 date-time, e.g. 2026-11-28T06:00:00Z');
  if (text === undefined) return undefined;
  const parts = DATE_TIME.exec(text);
  // Date.parse rolls 2026-02-30 over to March 2; a typo like that should be an error, not a surprise.
  if (!parts || Number(parts[3]) > daysInMonth(Number(parts[1]), Number(parts[2]))) {
    problems.add(
      field(path, key),
      `${shown(text)} is not an ISO 8601 date-time with a time zone (e.g. 2026-11-28T06:00:00Z or 2026-11-28T07:00:00+01:00)`,
    );
    return undefined;
  }
  return new Date(text);
}

function buildSilence(value: unknown, path: string, problems: Problems): Silence | undefined {
  const object = objectAt(value, path, problems, ['matchers', 'startsAt', 'endsAt', 'createdBy', 'comment']);
  if (!object) return undefined;
  if (object.matchers === undefined) problems.add(field(path, 'matchers'), 'required: which alerts to silence');
  const silence = {
    matchers:
      object.matchers === undefined
        ? undefined
        : matchers(object.matchers, field(path, 'matchers'), problems, { required: true }),
    startsAt: dateTime(object, 'startsAt', path, problems),
    endsAt: dateTime(object, 'endsAt', path, problems),
    createdBy: requiredText(object, 'createdBy', path, problems, 'who made this silence'),
    comment: requiredText(object, 'comment', path, problems, 'why, for whoever wonders where the alerts went'),
  };
  if (silence.startsAt && silence.endsAt && silence.endsAt <= silence.startsAt)
    problems.add(field(path, 'endsAt'), 'must be after startsAt');
  const { matchers: m, startsAt, endsAt, createdBy, comment } = silence;
  return m && startsAt && endsAt && createdBy && comment
    ? { matchers: m, startsAt, endsAt, createdBy, comment }
    : undefined;
}

function timeOfDay(value: unknown, path: string, problems: Problems): string | undefined {
  if (typeof value === 'string' && TIME_OF_DAY.test(value)) return value;
  problems.add(
    path,
    value === undefined
      ? 'required: a local time HH:MM'
      : `${shown(value)} is not a time of day; expected HH:MM from 00:00 to 24:00`,
  );
  return undefined;
}

function weekdays(value: unknown, path: string, problems: Problems): Weekday[] {
  if (value === undefined) problems.add(path, `required: the days the window starts on (${WEEKDAYS.join(', ')})`);
  const items = value === undefined ? [] : (arrayAt(value, path, problems) ?? []);
  if (Array.isArray(value) && items.length === 0) problems.add(path, 'expected at least one day');
  const days: Weekday[] = [];
  items.forEach((item, i) => {
    const day = typeof item === 'string' ? (item.toLowerCase() as Weekday) : undefined;
    if (day && WEEKDAYS.includes(day)) days.push(day);
    else problems.add(`${path}[${i}]`, `expected one of ${WEEKDAYS.join(', ')}, got ${shown(item)}`);
  });
  return [...new Set(days)];
}

function buildWeeklyWindow(value: unknown, path: string, problems: Problems): WeeklyWindow | undefined {
  const object = objectAt(value, path, problems, ['days', 'start', 'end']);
  if (!object) return undefined;
  const days = weekdays(object.days, field(path, 'days'), problems);
  const start = timeOfDay(object.start, field(path, 'start'), problems);
  const end = timeOfDay(object.end, field(path, 'end'), problems);
  return start && end ? { days, start, end } : undefined;
}

function buildMaintenanceWindow(value: unknown, path: string, problems: Problems): MaintenanceWindowConfig | undefined {
  const object = objectAt(value, path, problems, ['name', 'matchers', 'timeZone', 'weekly', 'createdBy', 'comment']);
  if (!object) return undefined;
  const name = requiredText(object, 'name', path, problems, 'shown in logs as the reason alerts were muted');
  if (object.matchers === undefined) problems.add(field(path, 'matchers'), 'required: which alerts the window mutes');
  const m =
    object.matchers === undefined
      ? undefined
      : matchers(object.matchers, field(path, 'matchers'), problems, { required: true });
  const zoneText = requiredText(object, 'timeZone', path, problems, 'an IANA time zone such as Europe/Berlin');
  const timeZone = zoneText === undefined ? undefined : canonicalTimeZone(zoneText);
  if (zoneText !== undefined && !timeZone)
    problems.add(
      field(path, 'timeZone'),
      `${shown(zoneText)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`,
    );
  if (object.weekly === undefined) problems.add(field(path, 'weekly'), 'required: a list of { days, start, end }');
  const weeklyItems =
    object.weekly === undefined ? [] : (arrayAt(object.weekly, field(path, 'weekly'), problems) ?? []);
  if (Array.isArray(object.weekly) && weeklyItems.length === 0)
    problems.add(field(path, 'weekly'), 'expected at least one { days, start, end }');
  const weekly = weeklyItems.map((item, i) => buildWeeklyWindow(item, `${field(path, 'weekly')}[${i}]`, problems));
  const createdBy = requiredText(object, 'createdBy', path, problems, 'who set up this window');
  const comment = requiredText(object, 'comment', path, problems, 'why alerts are muted during it');
  if (!name || !m || !timeZone || !createdBy || !comment || weekly.some((w) => !w)) return undefined;
  return { name, matchers: m, timeZone, weekly: weekly as WeeklyWindow[], createdBy, comment };
}

function listOf<T>(
  value: unknown,
  path: string,
  problems: Problems,
  build: (item: unknown, path: string, problems: Problems) => T | undefined,
): T[] {
  if (value === undefined) return [];
  const items = arrayAt(value, path, problems) ?? [];
  return items.map((item, i) => build(item, `${path}[${i}]`, problems)).filter((item): item is T => item !== undefined);
}

// ---- rules, budget, heartbeat, tenants -------------------------------------------------------------

/** Matchers a rule override may use: what is known of a job before it is an alert. */
const SUBJECT_MATCHER_KEYS = ['tenant', 'tenantName', 'servicePrincipal', 'app', 'jobTemplate', 'job'] as const;
const RULE_FIELDS = ['enabled', 'severity', 'pendingCycles', 'keepFiringFor'];

function paramValue(
  spec: ParamSpec,
  value: unknown,
  path: string,
  problems: Problems,
): number | boolean | string | undefined {
  if (spec.type === 'boolean') return optionalBoolean(value, path, problems);
  if (spec.type === 'choice') {
    if (typeof value === 'string' && spec.choices?.includes(value)) return value;
    problems.add(path, `expected one of ${(spec.choices ?? []).map((c) => `"${c}"`).join(', ')}, got ${shown(value)}`);
    return undefined;
  }
  const number =
    spec.type === 'duration'
      ? duration(value, path, problems, { positive: false })
      : typeof value === 'number' && Number.isFinite(value) && (spec.type === 'number' || Number.isSafeInteger(value))
        ? value
        : undefined;
  if (number === undefined) {
    if (spec.type !== 'duration')
      problems.add(path, `expected ${spec.type === 'integer' ? 'a whole number' : 'a number'}, got ${shown(value)}`);
    return undefined;
  }
  const show = (n: number) => (spec.type === 'duration' ? formatDurationText(n) : String(n));
  if (spec.min !== undefined && number < spec.min)
    problems.add(path, `must be at least ${show(spec.min)}, got ${shown(value)}`);
  else if (spec.max !== undefined && number > spec.max)
    problems.add(path, `must be at most ${show(spec.max)}, got ${shown(value)}`);
  else return number;
  return undefined;
}

/** The fields of one rule's settings (rule-wide or an override) that are given, validated. */
function ruleFields(
  rule: RuleDefinition,
  object: Json,
  path: string,
  problems: Problems,
): RulePolicy['overrides'][number]['settings'] {
  const settings: RulePolicy['overrides'][number]['settings'] = {};
  const enabled = optionalBoolean(object.enabled, field(path, 'enabled'), problems);
  if (enabled !== undefined) settings.enabled = enabled;
  if (object.severity !== undefined) {
    enumValue(object.severity, field(path, 'severity'), problems, SEVERITIES);
    if (SEVERITIES.includes(object.severity as never)) settings.severity = object.severity as RuleSettings['severity'];
  }
  const pendingCycles = wholeNumber(object.pendingCycles, field(path, 'pendingCycles'), problems, 0);
  if (pendingCycles !== undefined) settings.pendingCycles = pendingCycles;
  if (object.keepFiringFor !== undefined) {
    const ms = duration(object.keepFiringFor, field(path, 'keepFiringFor'), problems, { positive: false });
    if (ms !== undefined) settings.keepFiringForMs = ms;
  }
  const params: RuleSettings['params'] = {};
  for (const [name, spec] of Object.entries(rule.params)) {
    if (object[name] === undefined) continue;
    const value = paramValue(spec, object[name], field(path, name), problems);
    if (value !== undefined) params[name] = value;
  }
  if (Object.keys(params).length > 0) settings.params = params;
  return settings;
}

function buildRule(rule: RuleDefinition, value: unknown, path: string, problems: Problems): RulePolicy {
  const base = defaultRuleSettings(rule);
  const object = objectAt(value, path, problems, [...RULE_FIELDS, ...Object.keys(rule.params), 'overrides']) ?? {};
  const { params, ...rest } = ruleFields(rule, object, path, problems);
  const settings: RuleSettings = { ...base, ...rest, params: { ...base.params, ...params } };
  const overrides = listOf(object.overrides, field(path, 'overrides'), problems, (item, itemPath) => {
    const entry = objectAt(item, itemPath, problems, ['match', ...RULE_FIELDS, ...Object.keys(rule.params)]);
    if (!entry) return undefined;
    if (entry.match === undefined)
      problems.add(
        field(itemPath, 'match'),
        `required: which ${{ job: 'tenants, apps or jobs', servicePrincipal: 'tenants or apps', tenant: 'tenants' }[rule.scope]} the override is for`,
      );
    const match =
      entry.match === undefined
        ? undefined
        : objectAt(entry.match, field(itemPath, 'match'), problems, SUBJECT_MATCHER_KEYS);
    if (match) {
      if (Object.keys(match).length === 0)
        problems.add(field(itemPath, 'match'), `give at least one of ${SUBJECT_MATCHER_KEYS.join(', ')}`);
      for (const key of SUBJECT_MATCHER_KEYS)
        if (match[key] !== undefined) matchValue(key, match[key], field(field(itemPath, 'match'), key), problems);
    }
    return match ? { match: match as Matchers, settings: ruleFields(rule, entry, itemPath, problems) } : undefined;
  });
  return { settings, overrides };
}

/** Every registered rule's settings with nothing changed by a config file. */
export function defaultRules(): Record<string, RulePolicy> {
  return buildRules(undefined, new Problems());
}

/** Every registered rule's settings: defaults, then what `rules.<condition>` in the config changes. */
function buildRules(value: unknown, problems: Problems): Record<string, RulePolicy> {
  const object = value === undefined ? {} : (objectAt(value, 'rules', problems, CONDITIONS) ?? {});
  return Object.fromEntries(
    RULES.map((rule) => [
      rule.condition,
      buildRule(rule, object[rule.condition] ?? {}, field('rules', rule.condition), problems),
    ]),
  );
}

/** `sendBudget` over the default budget (the sender domain's ACS limits), field by field. */
function buildBudget(value: unknown, problems: Problems, defaults: Policy['budget']): Policy['budget'] {
  if (value === undefined) return { ...defaults };
  const object = objectAt(value, 'sendBudget', problems, ['perMinute', 'perHour']) ?? {};
  return {
    perMinute: wholeNumber(object.perMinute, 'sendBudget.perMinute', problems, 1) ?? defaults.perMinute,
    perHour: wholeNumber(object.perHour, 'sendBudget.perHour', problems, 1) ?? defaults.perHour,
  };
}

function httpsUrl(value: unknown, path: string, problems: Problems): string | undefined {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url)
    problems.add(
      path,
      value === undefined
        ? 'required: the https:// URL to call after each cycle'
        : `${shown(value)} is not a URL; expected https://...`,
    );
  else if (url.protocol !== 'https:') problems.add(path, `${shown(value)} must use https://`);
  return url?.protocol === 'https:' ? url.href : undefined;
}

function buildHeartbeat(value: unknown, problems: Problems): Policy['heartbeat'] {
  if (value === undefined) return undefined;
  const object = objectAt(value, 'heartbeat', problems, ['url', 'method']);
  if (!object) return undefined;
  const url = httpsUrl(object.url, 'heartbeat.url', problems);
  const method = object.method ?? 'POST';
  if (method !== 'GET' && method !== 'POST')
    problems.add('heartbeat.method', `expected one of GET, POST, got ${shown(method)}`);
  return url ? { url, method: method === 'GET' ? 'GET' : 'POST' } : undefined;
}

function buildTenantNames(value: unknown, problems: Problems): Map<string, string> {
  const names = new Map<string, string>();
  if (value === undefined) return names;
  if (!isObject(value)) {
    problems.add('tenants', `expected an object of tenant ID → { "name": ... }, got ${shown(value)}`);
    return names;
  }
  const firstKey = new Map<string, string>();
  // Keys here are data, not field names, so they are always shown quoted: tenants["contoso.com"].
  const pathOf = (key: string): string => `tenants[${JSON.stringify(key)}]`;
  for (const [key, entry] of Object.entries(value)) {
    const path = pathOf(key);
    if (!GUID.test(key) && !DOMAIN.test(key)) problems.add(path, 'not a tenant ID (GUID) or domain name');
    const id = key.toLowerCase();
    if (firstKey.has(id))
      problems.add(path, `the same tenant as ${pathOf(firstKey.get(id) as string)} (tenant IDs ignore case)`);
    firstKey.set(id, firstKey.get(id) ?? key);
    const tenant = objectAt(entry, path, problems, ['name']);
    const name = tenant
      ? requiredText(tenant, 'name', path, problems, 'the name used in subjects and tenantName matchers')
      : undefined;
    if (name) names.set(id, name);
  }
  return names;
}

function buildDiscovery(value: unknown, problems: Problems): Policy['discovery'] {
  const discovery = { refreshMs: DEFAULT_DISCOVERY_REFRESH_MS, servicePrincipals: new Map<string, string[]>() };
  if (value === undefined) return discovery;
  const object = objectAt(value, 'discovery', problems, ['refreshInterval', 'servicePrincipals']) ?? {};
  if (object.refreshInterval !== undefined) {
    discovery.refreshMs =
      duration(object.refreshInterval, 'discovery.refreshInterval', problems, { positive: true }) ??
      DEFAULT_DISCOVERY_REFRESH_MS;
  }
  if (object.servicePrincipals === undefined) return discovery;
  if (!isObject(object.servicePrincipals)) {
    problems.add(
      'discovery.servicePrincipals',
      `expected an object of tenant ID → [service principal object IDs], got ${shown(object.servicePrincipals)}`,
    );
    return discovery;
  }
  for (const [tenant, ids] of Object.entries(object.servicePrincipals)) {
    const path = `discovery.servicePrincipals[${JSON.stringify(tenant)}]`;
    if (!GUID.test(tenant) && !DOMAIN.test(tenant)) problems.add(path, 'not a tenant ID (GUID) or domain name');
    const items = arrayAt(ids, path, problems) ?? [];
    items.forEach((id, i) => {
      if (typeof id !== 'string' || !GUID.test(id))
        problems.add(`${path}[${i}]`, `${shown(id)} is not a service principal object ID (a GUID)`);
    });
    const valid = items
      .filter((id): id is string => typeof id === 'string' && GUID.test(id))
      .map((id) => id.toLowerCase());
    const key = tenant.toLowerCase();
    discovery.servicePrincipals.set(key, [...new Set([...(discovery.servicePrincipals.get(key) ?? []), ...valid])]);
  }
  return discovery;
}

// ---- entry points -----------------------------------------------------------------------------------

/** What the settings decide for the policy: the default recipients, and the sender domain's send budget. */
export interface PolicyDefaults {
  emailTo: string[];
  /** Default: DEFAULT_BUDGET (an Azure-managed domain's limits). */
  sendBudget?: Policy['budget'];
  /**
   * Whether the KQL rules' queries are checked with the Kusto language service (default true;
   * kql-check.ts). Only a reader that never runs them (the status view, the snooze endpoint) turns
   * it off: loading the service costs a process about 1.5 s of CPU and 100 MB.
   */
  checkKql?: boolean;
}

/**
 * Validates a parsed config and applies every default. Throws ConfigError naming every problem
 * (as `path.to.field: what is wrong`). `source` names the file in the message.
 */
export function buildPolicy(raw: unknown, defaults: PolicyDefaults, source = 'WATCH_CONFIG'): Policy {
  const problems = new Problems();
  if (!isObject(raw)) problems.add('', `expected a JSON object at the top level, got ${shown(raw)}`);
  const config = (isObject(raw) && objectAt(raw, '', problems, TOP_FIELDS)) || {};
  if (config.$schema !== undefined && typeof config.$schema !== 'string')
    problems.add('$schema', `expected a string, got ${shown(config.$schema)}`);
  const report = (path: string, message: string) => problems.add(path, message);
  // KQL rules first: their names are conditions the routes and silences may match on.
  const kql = buildKqlRules(config.kqlRules, report, CONDITIONS, defaults.checkKql ?? true);
  declaredConditions = [...CONDITIONS, ...kql.names];
  let policy: Policy;
  try {
    policy = {
      route: buildRootRoute(config.route, defaults.emailTo, problems),
      silences: listOf(config.silences, 'silences', problems, buildSilence),
      maintenanceWindows: listOf(config.maintenanceWindows, 'maintenanceWindows', problems, buildMaintenanceWindow),
      rules: buildRules(config.rules, problems),
      budget: buildBudget(config.sendBudget, problems, defaults.sendBudget ?? DEFAULT_BUDGET),
      heartbeat: buildHeartbeat(config.heartbeat, problems),
      tenantNames: buildTenantNames(config.tenants, problems),
      provisioningLogs: buildProvisioningLogs(config.provisioningLogs, report),
      kqlRules: kql.rules,
      discovery: buildDiscovery(config.discovery, problems),
    };
    const actions = buildActionsAccess(config.actions, report);
    if (actions) policy.actions = actions;
  } finally {
    declaredConditions = CONDITIONS;
  }
  if (problems.list.length > 0) throw new ConfigError(source, problems.list);
  return policy;
}

/** JSON.parse's message, plus line and column when it gives only a character position. */
function parseErrorText(text: string, error: Error): string {
  const position = /at position (\d+)/.exec(error.message);
  if (!position || /line \d+/.test(error.message)) return error.message;
  const before = text.slice(0, Number(position[1])).split('\n');
  return `${error.message} (line ${before.length}, column ${(before.at(-1) ?? '').length + 1})`;
}

/**
 * The Policy for a config file, or the defaults alone when there is none. A missing or unreadable
 * file, invalid JSON or anything but an object is a ConfigError naming the file.
 */
export function loadPolicy(path: string | undefined, defaults: PolicyDefaults): Policy {
  if (!path) return buildPolicy({}, defaults);
  if (!existsSync(path)) throw new ConfigError(path, ['no such file']);
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new ConfigError(path, [`cannot be read: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    if (error instanceof RangeError)
      throw new ConfigError(path, [`nested too deeply to read (a config is at most ${MAX_JSON_DEPTH} levels deep)`]);
    throw new ConfigError(path, [`not valid JSON: ${parseErrorText(text, error as Error)}`]);
  }
  const depth = jsonDepth(raw);
  if (depth > MAX_JSON_DEPTH)
    throw new ConfigError(path, [`nested ${depth} levels deep; a config is at most ${MAX_JSON_DEPTH} levels deep`]);
  return buildPolicy(raw, defaults, path);
}

/** How deep a config may nest at all (routes at their deepest are far less). */
const MAX_JSON_DEPTH = 64;

/** The nesting depth of a parsed JSON value, counted without recursion (so any depth can be measured). */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    deepest = Math.max(deepest, depth);
    if (item && typeof item === 'object') for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}
