import { createHash } from 'node:crypto';
import type { AnnotationList, Annotations, StructuredValue } from '../model';

/**
 * Unicode's explicit direction controls: ALM, LRM, RLM, LRE/RLE/PDF/LRO/RLO and LRI/RLI/FSI/PDI.
 * In text from Graph they can make a line read differently from what it holds (`U+202E` turns
 * `gpj.exe` around); a display name never needs them (the bidi algorithm orders RTL text by itself),
 * so every channel drops them.
 */
const DIRECTION_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The text without Unicode direction controls. */
export function withoutDirectionControls(value: string): string {
  return value.replace(DIRECTION_CONTROLS, '');
}

/** Escapes text for HTML element content and attribute values. Everything from Graph goes through here. */
export function escapeHtml(value: unknown): string {
  return withoutDirectionControls(String(value ?? ''))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** One line, no control characters (no CR/LF header injection) or direction controls, at most `max` characters. */
export function headerSafe(value: unknown, max = 200): string {
  const line = withoutDirectionControls(String(value ?? ''))
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * A plain-text field: one line (a line break from Graph could forge a line of its own, such as a
 * fake `Resolved:`), no control or direction characters, at most `max` characters.
 */
export function plain(value: unknown, max = 2000): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const text = withoutDirectionControls(String(value ?? '')).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Text cut to at most `max` characters, with a marker that says so and how long it was
 * (`… [truncated: 40000 characters]`): what is stored or sent has a bound, and a reader knows
 * there was more. Text within the bound is returned as it is.
 */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = `… [truncated: ${text.length} characters]`;
  const keep = Math.max(0, max - marker.length);
  // Never cut a surrogate pair in two.
  const end = keep > 0 && /[\ud800-\udbff]/.test(text.charAt(keep - 1)) ? keep - 1 : keep;
  return `${text.slice(0, end)}${marker}`.slice(0, max);
}

/** "2 h 5 min", "3 d 4 h", "45 s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** Intl formatters are costly to make: one pair per time zone, made once. */
const FORMATTERS = new Map<string, { parts: Intl.DateTimeFormat; numeric: Intl.DateTimeFormat }>();

function formattersFor(timeZone: string): { parts: Intl.DateTimeFormat; numeric: Intl.DateTimeFormat } {
  let formatters = FORMATTERS.get(timeZone);
  if (!formatters) {
    formatters = {
      parts: new Intl.DateTimeFormat('en-GB', {
        timeZone,
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
        timeZoneName: 'shortOffset',
      }),
      numeric: new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }),
    };
    FORMATTERS.set(timeZone, formatters);
  }
  return formatters;
}

/** The local date and time parts of an instant in an IANA time zone, and its offset from UTC (`UTC+1`). */
function zoned(d: Date, timeZone: string): { date: string; time: string; day: string; month: string; offset: string } {
  const formatters = formattersFor(timeZone);
  const parts = Object.fromEntries(formatters.parts.formatToParts(d).map((p) => [p.type, p.value])) as Record<
    string,
    string
  >;
  const numeric = Object.fromEntries(formatters.numeric.formatToParts(d).map((p) => [p.type, p.value])) as Record<
    string,
    string
  >;
  const offset = (parts.timeZoneName ?? 'GMT').replace(/^GMT/, 'UTC');
  return {
    date: `${numeric.year}-${numeric.month}-${numeric.day}`,
    time: `${parts.hour}:${parts.minute}`,
    day: parts.day ?? '',
    month: parts.month ?? '',
    offset: offset === 'UTC' ? 'UTC+0' : offset,
  };
}

function instant(iso: unknown): Date | undefined {
  if (typeof iso !== 'string' || iso === '') return undefined;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * `2026-11-27 03:14 UTC`, or in another IANA time zone with the zone shown
 * (`2026-11-27 04:14 Europe/Berlin (UTC+1)`); `not given` for an absent or unreadable time
 * (Graph's "never" sentinel is turned into absence before this). Zone names are the config's
 * canonical IANA names (config validation checks them).
 */
export function formatTime(iso: unknown, timeZone = 'UTC'): string {
  const d = instant(iso);
  if (!d) return 'not given';
  if (timeZone === 'UTC') return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const z = zoned(d, timeZone);
  return `${z.date} ${z.time} ${timeZone} (${z.offset})`;
}

/** A short time for a subject line: `27 Nov 03:14 UTC`, `27 Nov 04:14 UTC+1` in another time zone. */
export function formatShortTime(iso: unknown, timeZone = 'UTC'): string {
  const d = instant(iso);
  if (!d) return 'a time not known';
  const z = zoned(d, timeZone);
  return `${z.day} ${z.month} ${z.time} ${timeZone === 'UTC' ? 'UTC' : z.offset}`;
}

/** Only https URLs are ever made into links. */
export function safeHttpsUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** The longest annotation value kept: a 40,000-character Graph error message keeps its first 2,000. */
export const MAX_ANNOTATION_CHARS = 2000;

/**
 * The most room a list annotation takes, as JSON: a failure digest's five codes with every field
 * at its bound fit (rules bound their lists by content first; this is the net under them).
 */
export const MAX_LIST_CHARS = 16_000;

/** What bounds a list by what it holds: how many entries (in it and in any list inside it), and how long any text in them. */
export interface ListBounds {
  entries: number;
  fieldChars: number;
}

function boundedValue(value: StructuredValue | undefined, bounds: ListBounds): StructuredValue | undefined {
  if (typeof value === 'string') return bounded(value, bounds.fieldChars);
  if (Array.isArray(value)) return boundedList(value, bounds);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, boundedValue(v, bounds)]),
    );
  return value;
}

/**
 * A list bounded by what it holds, never by cutting its text: its first `entries` entries (lists
 * inside them likewise), every text in them at most `fieldChars` characters (`bounded`).
 */
export function boundedList(list: readonly StructuredValue[], bounds: ListBounds): AnnotationList {
  return list.slice(0, bounds.entries).map((v) => boundedValue(v, bounds) as StructuredValue);
}

/** The shortest a text in a list is made before entries are left out. */
const MIN_FIELD_CHARS = 60;

/**
 * The list within `maxChars` as JSON, made smaller by what it holds: its texts shortened first
 * (halving, down to 60 characters), then entries left out from the end. Whatever it keeps parses.
 */
function fittedList(list: AnnotationList, maxChars: number): AnnotationList {
  const fits = (candidate: AnnotationList) => JSON.stringify(candidate).length <= maxChars;
  if (fits(list)) return list;
  let candidate = list;
  for (let fieldChars = MAX_ANNOTATION_CHARS; fieldChars >= MIN_FIELD_CHARS; fieldChars = Math.floor(fieldChars / 2)) {
    candidate = boundedList(list, { entries: list.length, fieldChars });
    if (fits(candidate)) return candidate;
  }
  while (candidate.length > 0 && !fits(candidate)) candidate = candidate.slice(0, -1);
  return candidate;
}

/**
 * Annotations with every text value `bounded` and every list `fittedList`: what Graph says is
 * stored and shown, but never more than Table Storage can hold in a row or a reader wants in an
 * email, and a list stays a list of whole entries.
 */
export function boundedAnnotations(
  annotations: Annotations,
  max = MAX_ANNOTATION_CHARS,
  listMax = MAX_LIST_CHARS,
): Annotations {
  const out: Annotations = {};
  for (const [key, value] of Object.entries(annotations))
    out[key] =
      typeof value === 'string' ? bounded(value, max) : Array.isArray(value) ? fittedList(value, listMax) : value;
  return out;
}

/** The longest `material` kept as it is; a longer one is cut and ends with a hash of the whole. */
export const MAX_MATERIAL_CHARS = 500;

/**
 * A finding's material, bounded the same way every cycle: a long one keeps its start and a hash of
 * the whole, so it still changes exactly when the full text changes (a change notice is told on
 * any change) and still fits where it is stored.
 */
export function boundedMaterial(material: string | undefined): string | undefined {
  if (material === undefined || material.length <= MAX_MATERIAL_CHARS) return material;
  const hash = createHash('sha256').update(material).digest('hex').slice(0, 16);
  return `${material.slice(0, MAX_MATERIAL_CHARS - 20)}…#${hash}`;
}
