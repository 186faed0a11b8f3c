/**
 * Just enough of the Kusto Query Language for the Log Analytics emulator: the query shapes Entra
 * Sync Watch sends (lib/observe/log-analytics.ts) and the shapes its tests and the KQL rules
 * examples of docs/configuration.md use. Anything else is refused with a clear error, never answered wrongly.
 *
 *   Table | where <expr> | order by <col> [asc|desc], ... | take <n> | project <col>[, <name> = <expr>]
 *         | extend <name> = <expr> | summarize [<name> =] count()|countif(<expr>)|dcount(<col>)|sum|min|max|avg(<col>) [by <col>, ...]
 *         | count | top <n> by <col> [asc|desc]
 *
 * Comments (`// ...` to the end of the line) are skipped.
 *
 * Expressions: literals ("text", 'text', numbers, true/false, 1h/30m/7d/10s timespans,
 * datetime(...)), columns, ( ), not(...), and/or, == != =~ !~ < <= > >= contains !contains has
 * startswith in !in, and ago() now() tolower() toupper() tostring() toint() tolong() todouble()
 * isempty() isnotempty().
 */

type Value = string | number | boolean | Date | null;
export type Row = Record<string, Value>;

export class KqlError extends Error {
  constructor(
    /** `SyntaxError`, `SemanticError` or `EmulatorUnsupported` (invented: a valid query the emulator does not run). */
    readonly kind: 'SyntaxError' | 'SemanticError' | 'EmulatorUnsupported',
    message: string,
  ) {
    super(message);
    this.name = 'KqlError';
  }
}

// ---- tokens -------------------------------------------------------------------------------------------

type Token =
  | { t: 'id'; v: string; pos: number }
  | { t: 'str'; v: string; pos: number }
  | { t: 'num'; v: number; pos: number }
  | { t: 'span'; v: number; pos: number }
  | { t: 'date'; v: Date; pos: number }
  | { t: 'op'; v: string; pos: number }
  | { t: 'end'; pos: number };

const SPAN_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
const OPS = ['==', '!=', '=~', '!~', '>=', '<=', '>', '<', '|', '(', ')', ',', '=', '-'];

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const syntax = (what: string) =>
    new KqlError(
      'SyntaxError',
      `Query could not be parsed at '${query.slice(i, i + 20)}' (position ${i + 1}): ${what}`,
    );
  while (i < query.length) {
    const c = query[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (query.startsWith('//', i)) {
      // A comment runs to the end of its line, as in Kusto (the repository's .kql files start with some).
      const end = query.indexOf('\n', i);
      i = end < 0 ? query.length : end + 1;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      let text = '';
      i++;
      while (i < query.length && query[i] !== c) {
        if (query[i] === '\\' && i + 1 < query.length) i++;
        text += query[i];
        i++;
      }
      if (i >= query.length) throw syntax('unterminated string literal');
      i++;
      tokens.push({ t: 'str', v: text, pos: start });
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?(?![A-Za-z0-9_])/.exec(query.slice(i));
      if (!m) throw syntax('not a number or timespan');
      i += m[0].length;
      if (m[2]) tokens.push({ t: 'span', v: Number(m[1]) * (SPAN_UNITS[m[2]] as number), pos: start });
      else tokens.push({ t: 'num', v: Number(m[1]), pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(query.slice(i)) as RegExpExecArray;
      i += m[0].length;
      if (m[0] === 'datetime' && query[i] === '(') {
        const close = query.indexOf(')', i);
        if (close < 0) throw syntax('datetime( without )');
        const text = query
          .slice(i + 1, close)
          .trim()
          .replace(/^["']|["']$/g, '');
        const date = new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) || !text.includes('T') ? text : `${text}Z`);
        if (Number.isNaN(date.getTime())) throw syntax(`'${text}' is not a datetime`);
        tokens.push({ t: 'date', v: date, pos: start });
        i = close + 1;
        continue;
      }
      tokens.push({ t: 'id', v: m[0], pos: start });
      continue;
    }
    if (c === '!' && /^!(in|contains|has|startswith)\b/.test(query.slice(i))) {
      const m = /^!(in|contains|has|startswith)/.exec(query.slice(i)) as RegExpExecArray;
      i += m[0].length;
      tokens.push({ t: 'op', v: m[0], pos: start });
      continue;
    }
    const op = OPS.find((o) => query.startsWith(o, i));
    if (!op) throw syntax(`unexpected character '${c}'`);
    i += op.length;
    tokens.push({ t: 'op', v: op, pos: start });
  }
  tokens.push({ t: 'end', pos: query.length });
  return tokens;
}

// ---- syntax tree ----------------------------------------------------------------------------------------

type Expr =
  | { k: 'lit'; v: Value }
  | { k: 'col'; name: string }
  | { k: 'bin'; op: string; l: Expr; r: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'in'; neg: boolean; l: Expr; list: Expr[] }
  | { k: 'call'; fn: string; args: Expr[] };

type Agg = { name: string; fn: string; arg?: Expr };

type Op =
  | { op: 'where'; e: Expr }
  | { op: 'order'; keys: { col: string; desc: boolean }[] }
  | { op: 'take'; n: number }
  | { op: 'project'; cols: { name: string; e: Expr }[] }
  | { op: 'extend'; cols: { name: string; e: Expr }[] }
  | { op: 'summarize'; aggs: Agg[]; by: string[] }
  | { op: 'count' }
  | { op: 'top'; n: number; key: { col: string; desc: boolean } };

export interface Query {
  table: string;
  ops: Op[];
}

const COMPARE = new Set([
  '==',
  '!=',
  '=~',
  '!~',
  '>',
  '<',
  '>=',
  '<=',
  'contains',
  '!contains',
  'has',
  '!has',
  'startswith',
  '!startswith',
]);
const FUNCTIONS = new Set([
  'ago',
  'now',
  'tolower',
  'toupper',
  'tostring',
  'toint',
  'tolong',
  'todouble',
  'isempty',
  'isnotempty',
]);
const AGGREGATES = new Set(['count', 'countif', 'dcount', 'sum', 'min', 'max', 'avg']);
const SUPPORTED_OPERATORS = 'where, order by, sort by, take, limit, project, extend, summarize, count, top';

class Parser {
  private i = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }

  private next(): Token {
    return this.tokens[this.i++] as Token;
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }

  private isWord(v: string): boolean {
    const t = this.peek();
    return t.t === 'id' && t.v === v;
  }

  private fail(what: string): never {
    const t = this.peek();
    throw new KqlError('SyntaxError', `Query could not be parsed at position ${t.pos + 1}: ${what}`);
  }

  private expectOp(v: string): void {
    if (!this.isOp(v)) this.fail(`expected '${v}'`);
    this.i++;
  }

  private name(): string {
    const t = this.next();
    if (t.t !== 'id') {
      this.i--;
      this.fail('expected a name');
    }
    return t.v;
  }

  query(): Query {
    const table = this.name();
    const ops: Op[] = [];
    while (this.isOp('|')) {
      this.i++;
      ops.push(this.operator());
    }
    if (this.peek().t !== 'end') this.fail("expected '|' or the end of the query");
    return { table, ops };
  }

  private operator(): Op {
    const word = this.name();
    switch (word) {
      case 'where':
        return { op: 'where', e: this.expr() };
      case 'order':
      case 'sort': {
        if (!this.isWord('by')) this.fail(`expected 'by' after '${word}'`);
        this.i++;
        const keys = [this.sortKey()];
        while (this.isOp(',')) {
          this.i++;
          keys.push(this.sortKey());
        }
        return { op: 'order', keys };
      }
      case 'take':
      case 'limit':
        return { op: 'take', n: this.count() };
      case 'project':
      case 'extend':
        return { op: word, cols: this.assignments(word === 'project') };
      case 'summarize':
        return this.summarize();
      case 'count':
        return { op: 'count' };
      case 'top': {
        const n = this.count();
        if (!this.isWord('by')) this.fail("expected 'by' after 'top <n>'");
        this.i++;
        return { op: 'top', n, key: this.sortKey() };
      }
      default:
        throw new KqlError(
          'EmulatorUnsupported',
          `the emulator does not run the '${word}' operator (it runs ${SUPPORTED_OPERATORS})`,
        );
    }
  }

  private count(): number {
    const t = this.next();
    if (t.t !== 'num' || !Number.isInteger(t.v) || t.v < 0) {
      this.i--;
      this.fail('expected a whole number');
    }
    return t.v;
  }

  private sortKey(): { col: string; desc: boolean } {
    const col = this.name();
    let desc = true; // Kusto's default order is descending
    if (this.isWord('asc') || this.isWord('desc')) desc = this.name() === 'desc';
    return { col, desc };
  }

  private assignments(bareAllowed: boolean): { name: string; e: Expr }[] {
    const cols: { name: string; e: Expr }[] = [];
    do {
      if (cols.length > 0) this.i++;
      const first = this.peek();
      if (
        first.t === 'id' &&
        (this.tokens[this.i + 1] as Token).t === 'op' &&
        (this.tokens[this.i + 1] as { v: string }).v === '='
      ) {
        const name = this.name();
        this.i++;
        cols.push({ name, e: this.expr() });
      } else if (bareAllowed && first.t === 'id') {
        const name = this.name();
        cols.push({ name, e: { k: 'col', name } });
      } else this.fail('expected <name> = <expression>');
    } while (this.isOp(','));
    return cols;
  }

  private summarize(): Op {
    const aggs: Agg[] = [];
    do {
      if (aggs.length > 0) this.i++;
      let name: string | undefined;
      if (
        this.peek().t === 'id' &&
        (this.tokens[this.i + 1] as Token).t === 'op' &&
        (this.tokens[this.i + 1] as { v: string }).v === '='
      ) {
        name = this.name();
        this.i++;
      }
      const fn = this.name();
      if (!AGGREGATES.has(fn))
        throw new KqlError(
          'EmulatorUnsupported',
          `the emulator does not run the aggregate '${fn}' (it runs ${[...AGGREGATES].join(', ')})`,
        );
      this.expectOp('(');
      let arg: Expr | undefined;
      if (!this.isOp(')')) arg = this.expr();
      this.expectOp(')');
      if (fn !== 'count' && !arg) this.fail(`${fn}() needs an argument`);
      const column = arg?.k === 'col' ? arg.name : undefined;
      aggs.push({ name: name ?? (fn === 'count' ? 'count_' : `${fn}_${column ?? ''}`), fn, arg });
    } while (this.isOp(','));
    const by: string[] = [];
    if (this.isWord('by')) {
      this.i++;
      by.push(this.name());
      while (this.isOp(',')) {
        this.i++;
        by.push(this.name());
      }
    }
    return { op: 'summarize', aggs, by };
  }

  expr(): Expr {
    let left = this.and();
    while (this.isWord('or')) {
      this.i++;
      left = { k: 'bin', op: 'or', l: left, r: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.comparison();
    while (this.isWord('and')) {
      this.i++;
      left = { k: 'bin', op: 'and', l: left, r: this.comparison() };
    }
    return left;
  }

  private comparison(): Expr {
    const left = this.term();
    const t = this.peek();
    const op = t.t === 'op' || t.t === 'id' ? t.v : undefined;
    if (op === 'in' || op === '!in') {
      this.i++;
      this.expectOp('(');
      const list = [this.term()];
      while (this.isOp(',')) {
        this.i++;
        list.push(this.term());
      }
      this.expectOp(')');
      return { k: 'in', neg: op === '!in', l: left, list };
    }
    if (op !== undefined && COMPARE.has(op)) {
      this.i++;
      return { k: 'bin', op, l: left, r: this.term() };
    }
    return left;
  }

  private term(): Expr {
    const t = this.next();
    switch (t.t) {
      case 'str':
        return { k: 'lit', v: t.v };
      case 'num':
        return { k: 'lit', v: t.v };
      case 'span':
        return { k: 'lit', v: t.v };
      case 'date':
        return { k: 'lit', v: t.v };
      case 'op':
        if (t.v === '(') {
          const e = this.expr();
          this.expectOp(')');
          return e;
        }
        if (t.v === '-') {
          const n = this.next();
          if (n.t === 'num' || n.t === 'span') return { k: 'lit', v: -n.v };
        }
        break;
      case 'id': {
        if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
        if (t.v === 'not' && this.isOp('(')) {
          this.i++;
          const e = this.expr();
          this.expectOp(')');
          return { k: 'not', e };
        }
        if (this.isOp('(')) {
          if (!FUNCTIONS.has(t.v))
            throw new KqlError(
              'EmulatorUnsupported',
              `the emulator does not run the function '${t.v}()' (it runs ${[...FUNCTIONS].join(', ')})`,
            );
          this.i++;
          const args: Expr[] = [];
          if (!this.isOp(')')) {
            args.push(this.expr());
            while (this.isOp(',')) {
              this.i++;
              args.push(this.expr());
            }
          }
          this.expectOp(')');
          return { k: 'call', fn: t.v, args };
        }
        return { k: 'col', name: t.v };
      }
      default:
        break;
    }
    this.i--;
    return this.fail('expected a value, a column or (');
  }
}

export function parseKql(query: string): Query {
  return new Parser(tokenize(query)).query();
}

// ---- evaluation ---------------------------------------------------------------------------------------

function text(v: Value): string {
  return v instanceof Date ? v.toISOString() : v === null ? '' : String(v);
}

function comparable(v: Value): number | string | boolean | null {
  return v instanceof Date ? v.getTime() : v;
}

function compare(a: Value, b: Value): number {
  const x = comparable(a);
  const y = comparable(b);
  if (x === null || y === null) return x === y ? 0 : x === null ? -1 : 1;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  const sx = String(x);
  const sy = String(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

function evaluate(e: Expr, row: Row, columns: Set<string>, now: number): Value {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'col':
      if (!columns.has(e.name))
        throw new KqlError('SemanticError', `Failed to resolve scalar expression named '${e.name}'`);
      return row[e.name] ?? null;
    case 'not':
      return !evaluate(e.e, row, columns, now);
    case 'in': {
      const v = evaluate(e.l, row, columns, now);
      const found = e.list.some((item) => compare(v, evaluate(item, row, columns, now)) === 0);
      return e.neg ? !found : found;
    }
    case 'call': {
      const args = e.args.map((a) => evaluate(a, row, columns, now));
      const [a] = args;
      switch (e.fn) {
        case 'ago':
          return new Date(now - Number(a));
        case 'now':
          return new Date(now);
        case 'tolower':
          return text(a ?? null).toLowerCase();
        case 'toupper':
          return text(a ?? null).toUpperCase();
        case 'tostring':
          return text(a ?? null);
        case 'toint':
        case 'tolong':
          return Math.trunc(Number(comparable(a ?? null)));
        case 'todouble':
          return Number(comparable(a ?? null));
        case 'isempty':
          return a === null || a === undefined || text(a) === '';
        case 'isnotempty':
          return !(a === null || a === undefined || text(a) === '');
      }
      throw new KqlError('EmulatorUnsupported', `the emulator does not run '${e.fn}()'`);
    }
    case 'bin': {
      if (e.op === 'and') return Boolean(evaluate(e.l, row, columns, now)) && Boolean(evaluate(e.r, row, columns, now));
      if (e.op === 'or') return Boolean(evaluate(e.l, row, columns, now)) || Boolean(evaluate(e.r, row, columns, now));
      const l = evaluate(e.l, row, columns, now);
      const r = evaluate(e.r, row, columns, now);
      switch (e.op) {
        case '==':
          return compare(l, r) === 0;
        case '!=':
          return compare(l, r) !== 0;
        case '=~':
          return text(l).toLowerCase() === text(r).toLowerCase();
        case '!~':
          return text(l).toLowerCase() !== text(r).toLowerCase();
        case '>':
          return compare(l, r) > 0;
        case '<':
          return compare(l, r) < 0;
        case '>=':
          return compare(l, r) >= 0;
        case '<=':
          return compare(l, r) <= 0;
        case 'contains':
        case 'has':
          return text(l).toLowerCase().includes(text(r).toLowerCase());
        case '!contains':
        case '!has':
          return !text(l).toLowerCase().includes(text(r).toLowerCase());
        case 'startswith':
          return text(l).toLowerCase().startsWith(text(r).toLowerCase());
        case '!startswith':
          return !text(l).toLowerCase().startsWith(text(r).toLowerCase());
      }
      throw new KqlError('EmulatorUnsupported', `the emulator does not run the operator '${e.op}'`);
    }
  }
}

function typeOf(values: Value[], known?: string): string {
  if (known) return known;
  const v = values.find((x) => x !== null && x !== undefined);
  if (v instanceof Date) return 'datetime';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'real';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

export interface Table {
  columns: { name: string; type: string }[];
  rows: Row[];
}

function aggregate(agg: Agg, rows: Row[], columns: Set<string>, now: number): Value {
  const values = () => rows.map((r) => evaluate(agg.arg as Expr, r, columns, now));
  switch (agg.fn) {
    case 'count':
      return rows.length;
    case 'countif':
      return values().filter(Boolean).length;
    case 'dcount':
      return new Set(values().map((v) => text(v))).size;
    case 'sum':
      return values().reduce<number>((s, v) => s + Number(comparable(v)), 0);
    case 'avg': {
      const vs = values();
      return vs.length === 0 ? null : vs.reduce<number>((s, v) => s + Number(comparable(v)), 0) / vs.length;
    }
    case 'min':
    case 'max': {
      const vs = values().filter((v) => v !== null);
      if (vs.length === 0) return null;
      return vs.reduce((best, v) => ((agg.fn === 'max' ? compare(v, best) > 0 : compare(v, best) < 0) ? v : best));
    }
  }
  throw new KqlError('EmulatorUnsupported', `the emulator does not run '${agg.fn}()'`);
}

/** Runs a parsed query over a table's rows. */
export function runKql(query: Query, source: Table, now: number): Table {
  let columns = source.columns;
  let rows = source.rows;
  const names = () => new Set(columns.map((c) => c.name));
  for (const op of query.ops) {
    const known = names();
    switch (op.op) {
      case 'where':
        rows = rows.filter((row) => Boolean(evaluate(op.e, row, known, now)));
        break;
      case 'order':
      case 'top': {
        const keys = op.op === 'order' ? op.keys : [op.key];
        for (const key of keys)
          if (!known.has(key.col))
            throw new KqlError('SemanticError', `Failed to resolve scalar expression named '${key.col}'`);
        rows = [...rows].sort((a, b) => {
          for (const key of keys) {
            const c = compare(a[key.col] ?? null, b[key.col] ?? null);
            if (c !== 0) return key.desc ? -c : c;
          }
          return 0;
        });
        if (op.op === 'top') rows = rows.slice(0, op.n);
        break;
      }
      case 'take':
        rows = rows.slice(0, op.n);
        break;
      case 'project':
      case 'extend': {
        const computed = rows.map(
          (row) => Object.fromEntries(op.cols.map((c) => [c.name, evaluate(c.e, row, known, now)])) as Row,
        );
        const types = new Map(columns.map((c) => [c.name, c.type]));
        const newColumns = op.cols.map((c) => ({
          name: c.name,
          type: typeOf(
            computed.map((r) => r[c.name] ?? null),
            c.e.k === 'col' ? types.get(c.e.name) : undefined,
          ),
        }));
        if (op.op === 'project') {
          rows = computed;
          columns = newColumns;
        } else {
          rows = rows.map((row, i) => ({ ...row, ...computed[i] }));
          columns = [...columns.filter((c) => !op.cols.some((n) => n.name === c.name)), ...newColumns];
        }
        break;
      }
      case 'count':
        rows = [{ Count: rows.length }];
        columns = [{ name: 'Count', type: 'long' }];
        break;
      case 'summarize': {
        for (const key of op.by)
          if (!known.has(key))
            throw new KqlError('SemanticError', `Failed to resolve scalar expression named '${key}'`);
        const groups = new Map<string, Row[]>();
        for (const row of rows) {
          const key = JSON.stringify(op.by.map((b) => text(row[b] ?? null)));
          const group = groups.get(key) ?? [];
          group.push(row);
          groups.set(key, group);
        }
        if (op.by.length === 0 && groups.size === 0) groups.set('[]', []);
        const types = new Map(columns.map((c) => [c.name, c.type]));
        rows = [...groups.values()].map((group) => {
          const out: Row = {};
          for (const b of op.by) out[b] = group[0]?.[b] ?? null;
          for (const agg of op.aggs) out[agg.name] = aggregate(agg, group, known, now);
          return out;
        });
        columns = [
          ...op.by.map((b) => ({ name: b, type: types.get(b) ?? 'string' })),
          ...op.aggs.map((a) => ({
            name: a.name,
            type: ['count', 'countif', 'dcount'].includes(a.fn)
              ? 'long'
              : typeOf(
                  rows.map((r) => r[a.name] ?? null),
                  a.fn === 'min' || a.fn === 'max' ? types.get(a.arg?.k === 'col' ? a.arg.name : '') : undefined,
                ),
          })),
        ];
        break;
      }
    }
  }
  return { columns, rows };
}
