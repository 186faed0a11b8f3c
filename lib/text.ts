/** Escapes text for HTML element content and attribute values. Everything from Graph goes through here. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** One line, no control characters (no CR/LF header injection), at most `max` characters. */
export function headerSafe(value: unknown, max = 200): string {
  const line = String(value ?? '')
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Plain-text value: control characters other than newline removed, bounded length. */
export function plain(value: unknown, max = 2000): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const text = String(value ?? '').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
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

/** `2026-11-27 03:14 UTC`, or `never` for an absent time. */
export function formatTime(iso: unknown): string {
  if (typeof iso !== 'string' || iso === '') return 'not given';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'not given';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
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
