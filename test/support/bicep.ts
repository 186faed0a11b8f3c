import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Just enough reading of Bicep for the infra contract test (no Bicep compiler is installable on the
 * build machines): parameters, modules and their arguments, resources and the keys of an object.
 * It understands the shapes infra/ uses and nothing more; a template it cannot read fails the test.
 */

export const INFRA = join(__dirname, '..', '..', 'infra');

export function readInfra(path: string): string {
  return readFileSync(join(INFRA, path), 'utf8');
}

/** The `{ ... }` that starts at or after `from`, braces in strings and comments skipped. */
export function blockAt(text: string, from: number): string {
  const start = text.indexOf('{', from);
  if (start < 0) throw new Error(`no block after offset ${from}`);
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      i++;
      while (i < text.length && text[i] !== "'") i += text[i] === '\\' ? 2 : 1;
    } else if (c === '/' && text[i + 1] === '/') {
      i = text.indexOf('\n', i);
      if (i < 0) break;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error(`unbalanced braces after offset ${from}`);
}

/** The keys of an object literal's first level. */
export function keysOf(block: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (const line of block.split('\n')) {
    const code = line.replace(/'(?:\\.|[^'\\])*'/g, "''").replace(/\/\/.*$/, '');
    const match = /^\s*([A-Za-z_][\w]*)\s*:/.exec(code);
    if (depth === 1 && match) keys.push(match[1] as string);
    for (const c of code) {
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
    }
  }
  return keys;
}

/** The value text of `key: value` on the first level of an object literal (one line). */
export function valueOf(block: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key}\\s*:\\s*(.+?)\\s*$`, 'm').exec(block)?.[1];
}

export interface Param {
  name: string;
  type: string;
  hasDefault: boolean;
}

export function paramsOf(text: string): Param[] {
  return [...text.matchAll(/^param\s+(\w+)\s+(\w+\??)(\s*=.*)?$/gm)].map((m) => ({
    name: m[1] as string,
    type: m[2] as string,
    hasDefault: m[3] !== undefined || (m[2] as string).endsWith('?'),
  }));
}

export interface Declaration {
  symbol: string;
  /** The module path or the resource type. */
  target: string;
  /** From the keyword to the block: holds `if (...)` or `[for ... in ...:`. */
  head: string;
  block: string;
}

function declaration(text: string, m: RegExpMatchArray): Declaration {
  const at = m.index ?? 0;
  const block = blockAt(text, at);
  return { symbol: m[1] as string, target: m[2] as string, head: text.slice(at, text.indexOf(block, at)), block };
}

export function modulesOf(text: string): Declaration[] {
  return [...text.matchAll(/^module\s+(\w+)\s+'([^']+)'\s*=/gm)].map((m) => declaration(text, m));
}

export function resourcesOf(text: string): Declaration[] {
  return [...text.matchAll(/^resource\s+(\w+)\s+'([^']+)'(\s+existing)?\s*=/gm)].map((m) => declaration(text, m));
}

/** The arguments a module declaration passes (`params: { ... }`). */
export function moduleArguments(module: Declaration): string[] {
  const at = module.block.search(/\bparams\s*:\s*\{/);
  return at < 0 ? [] : keysOf(blockAt(module.block, at));
}

/** The string items of a `var name = [ '...', ... ]` array. */
export function stringArray(text: string, name: string): string[] {
  const match = new RegExp(`^var\\s+${name}\\s*=\\s*\\[([^\\]]*)\\]`, 'm').exec(text);
  if (!match) throw new Error(`no var ${name} = [...]`);
  return [...(match[1] as string).matchAll(/'([^']*)'/g)].map((m) => m[1] as string);
}

/** `var name = '...'` string variables. */
export function stringVars(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^var\s+(\w+)\s*=\s*'([^']*)'/gm)].map((m) => [m[1] as string, m[2] as string]));
}

/** The `@allowed([...])` string values of a parameter, from the decorators right above `param name`. */
export function allowedValues(text: string, name: string): string[] | undefined {
  const at = text.search(new RegExp(`^param\\s+${name}\\s`, 'm'));
  if (at < 0) throw new Error(`no param ${name}`);
  const before = text.slice(0, at);
  const previous = before.search(/^param\s[^\n]*\n(?![\s\S]*^param\s)/m);
  const decorators = previous < 0 ? before : before.slice(before.indexOf('\n', previous) + 1);
  const allowed = /@allowed\(\[([^\]]*)\]\)/.exec(decorators);
  return allowed ? [...(allowed[1] as string).matchAll(/'([^']*)'/g)].map((m) => m[1] as string) : undefined;
}

/** The condition of a conditional declaration (`= if (cond) {` or `[for x in y: if (cond) {`), or undefined. */
export function conditionOf(declaration: Declaration): string | undefined {
  return /\bif\s*\((.*)\)\s*\{?\s*$/.exec(declaration.head.trim())?.[1];
}

/**
 * Evaluates a Bicep boolean condition over parameters (`!a && b`, `a || !b`, parentheses): the only
 * shapes infra/ uses in conditions. Anything else is an error, so a new shape fails the test.
 */
export function evaluateCondition(condition: string, values: Record<string, boolean>): boolean {
  if (!/^[\s!&|()A-Za-z_]+$/.test(condition)) throw new Error(`cannot evaluate the condition "${condition}"`);
  const names = [...new Set(condition.match(/[A-Za-z_]\w*/g) ?? [])];
  const unknown = names.filter((n) => !(n in values));
  if (unknown.length > 0) throw new Error(`the condition "${condition}" uses ${unknown.join(', ')}, not given`);
  return new Function(...names, `return (${condition});`)(...names.map((n) => values[n])) as boolean;
}
