/**
 * NCRONTAB, as the Azure Functions timer reads it (docs/reference/platform-notes.md §1.2): six
 * fields `{second} {minute} {hour} {day} {month} {day-of-week}`, each a value, `*`, a range `a-b`,
 * a list `a,b` or a step `/n`; months and days of the week by number or English name
 * (`jan`, `January`, `mon`, `Monday`), days of the week 0-6 with 0 = Sunday. Times are UTC.
 *
 * The product parses it itself for two reasons: a schedule that would never run the way its
 * author meant is refused at start with the field that is wrong, and the cycle's deadline is
 * derived from the shortest gap between two runs.
 */

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] as const;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const FULL_MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const FULL_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 0, max: 6, names: DAYS },
];

const NCRONTAB_SHAPE = '{second} {minute} {hour} {day} {month} {day-of-week}';

export class NcrontabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NcrontabError';
  }
}

/** The values each field allows. */
export interface Ncrontab {
  expression: string;
  seconds: Set<number>;
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
}

function valueOf(text: string, spec: FieldSpec, field: string): number {
  const lower = text.toLowerCase();
  if (spec.names) {
    const full = spec.name === 'month' ? FULL_MONTHS : FULL_DAYS;
    const index = spec.names.indexOf(lower as never) >= 0 ? spec.names.indexOf(lower as never) : full.indexOf(lower);
    if (index >= 0) return index + spec.min;
  }
  if (!/^\d{1,2}$/.test(text)) {
    const hint = spec.names ? ` or a name (${spec.names.join(', ')})` : '';
    throw new NcrontabError(`${spec.name} field "${field}": "${text}" is not a number${hint}`);
  }
  const n = Number(text);
  if (n < spec.min || n > spec.max)
    throw new NcrontabError(`${spec.name} field "${field}": ${n} is out of range ${spec.min}-${spec.max}`);
  return n;
}

function parseField(field: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const match = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!match) throw new NcrontabError(`${spec.name} field "${field}": "${part}" is not a value, range or step`);
    const [, range, stepText] = match as unknown as [string, string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new NcrontabError(`${spec.name} field "${field}": a step must be 1 or more`);
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [spec.min, spec.max];
    else if (range.includes('-')) {
      const [a, b, ...rest] = range.split('-');
      if (rest.length > 0 || !a || !b)
        throw new NcrontabError(`${spec.name} field "${field}": "${range}" is not a range like 1-5`);
      [from, to] = [valueOf(a, spec, field), valueOf(b, spec, field)];
      if (from > to) throw new NcrontabError(`${spec.name} field "${field}": the range ${range} runs backwards`);
    } else {
      from = valueOf(range, spec, field);
      to = stepText === undefined ? from : spec.max; // "5/15" means from 5 to the end, every 15
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/** Parses a six-field NCRONTAB expression; throws NcrontabError saying which field is wrong and how. */
export function parseNcrontab(expression: string): Ncrontab {
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  if (fields.length === 5) {
    throw new NcrontabError(
      `has 5 fields; the Azure Functions timer takes six, ${NCRONTAB_SHAPE}, seconds first (did you mean "0 ${fields.join(' ')}"?)`,
    );
  }
  if (fields.length !== 6) throw new NcrontabError(`has ${fields.length} field(s); expected six, ${NCRONTAB_SHAPE}`);
  const [seconds, minutes, hours, days, months, weekdays] = fields.map((f, i) =>
    parseField(f, FIELDS[i] as FieldSpec),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const schedule: Ncrontab = { expression: fields.join(' '), seconds, minutes, hours, days, months, weekdays };
  if (nextOccurrence(schedule, new Date(Date.UTC(2000, 0, 1))) === undefined) {
    throw new NcrontabError('never fires (no such day in any year)');
  }
  return schedule;
}

const first = (values: Set<number>, atLeast: number): number | undefined => {
  let best: number | undefined;
  for (const v of values) if (v >= atLeast && (best === undefined || v < best)) best = v;
  return best;
};

/**
 * The first time strictly after `after` that the schedule fires (UTC), or undefined if it does not
 * within eight years (a 29 February schedule fires at least every eight). A day must match both
 * the day field and the day-of-week field.
 */
export function nextOccurrence(s: Ncrontab, after: Date): Date | undefined {
  let t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
  const limit = after.getTime() + 8 * 366 * 24 * 3600_000;
  while (t.getTime() <= limit) {
    const [y, mo, d, h, mi, se] = [
      t.getUTCFullYear(),
      t.getUTCMonth() + 1,
      t.getUTCDate(),
      t.getUTCHours(),
      t.getUTCMinutes(),
      t.getUTCSeconds(),
    ];
    if (!s.months.has(mo)) {
      t = new Date(Date.UTC(y, mo, 1));
      continue;
    }
    if (!s.days.has(d) || !s.weekdays.has(t.getUTCDay())) {
      t = new Date(Date.UTC(y, mo - 1, d + 1));
      continue;
    }
    const hour = first(s.hours, h);
    if (hour === undefined) {
      t = new Date(Date.UTC(y, mo - 1, d + 1));
      continue;
    }
    if (hour > h) {
      t = new Date(Date.UTC(y, mo - 1, d, hour));
      continue;
    }
    const minute = first(s.minutes, mi);
    if (minute === undefined) {
      t = new Date(Date.UTC(y, mo - 1, d, h + 1));
      continue;
    }
    if (minute > mi) {
      t = new Date(Date.UTC(y, mo - 1, d, h, minute));
      continue;
    }
    const second = first(s.seconds, se);
    if (second === undefined) {
      t = new Date(Date.UTC(y, mo - 1, d, h, mi + 1));
      continue;
    }
    return new Date(Date.UTC(y, mo - 1, d, h, mi, second));
  }
  return undefined;
}

/**
 * The shortest time between two runs, over the next `sample` runs from `from`: what one cycle must
 * fit in so that it never runs into the next (the timer skips an occurrence that falls inside a
 * run, docs/reference/platform-notes.md §1.3).
 */
export function shortestIntervalMs(s: Ncrontab, from = new Date(), sample = 500): number {
  let previous = nextOccurrence(s, from);
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < sample && previous; i++) {
    const next = nextOccurrence(s, previous);
    if (!next) break;
    shortest = Math.min(shortest, next.getTime() - previous.getTime());
    previous = next;
  }
  return Number.isFinite(shortest) ? shortest : 365 * 24 * 3600_000;
}
