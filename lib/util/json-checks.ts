/**
 * The small pieces every part of the config validation shares (config.ts, logs-config.ts), so a
 * problem reads the same wherever it is found: the JSON path of the field, then what is wrong.
 */

export type Json = Record<string, unknown>;

/** `route.routes[1].match` for a field; `tenants["contoso.com"]` for a key that is not a name. */
export function field(path: string, key: string): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

/** How a bad value is shown after "got". */
export function shown(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The canonical IANA name (`europe/berlin` → `Europe/Berlin`), or undefined when the runtime does not know the zone. */
export function canonicalTimeZone(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}
