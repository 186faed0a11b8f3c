/**
 * Durations in the config file: the short form Alertmanager and Prometheus users know
 * (`30s`, `5m`, `4h`, `1d`, `2w`, compounds like `1h30m` in that unit order) and ISO 8601
 * (`PT4H`, `P1D`, `PT1H30M`, `P2W`). Whole numbers only: `1.5h` is refused so that every
 * accepted text means one exact length (write `1h30m`). Years and months are refused because
 * their length varies. `config.schema.json` uses the same patterns (DURATION_PATTERN).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const SHORT = /^(?=\d)(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
// `P` must be followed by something, and `T` by at least one time part.
const ISO = /^P(?!$)(?:(\d+)W|(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?)$/;

/** The same grammar as a JSON Schema `pattern` (no capture groups needed there). */
export const DURATION_PATTERN =
  '^(?:(?=\\d)(?:\\d+w)?(?:\\d+d)?(?:\\d+h)?(?:\\d+m)?(?:\\d+s)?|P(?!$)(?:\\d+W|(?:\\d+D)?(?:T(?=\\d)(?:\\d+H)?(?:\\d+M)?(?:\\d+S)?)?))$';

function total(parts: (string | undefined)[], units: number[]): number {
  return parts.reduce((sum, part, i) => sum + (part === undefined ? 0 : Number(part) * (units[i] as number)), 0);
}

/** Milliseconds for a duration text, or undefined when it is not one (e.g. `4 hours`, `-5m`, `1.5h`, ``). */
export function parseDuration(text: string): number | undefined {
  const short = SHORT.exec(text);
  const iso = short ? undefined : ISO.exec(text);
  const match = short ?? iso;
  if (!match) return undefined;
  const ms = total(match.slice(1), [WEEK, DAY, HOUR, MINUTE, SECOND]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The shortest short-form text for whole seconds, e.g. 5_400_000 → `1h30m`, 0 → `0s` (sub-second rest is dropped). */
export function formatDurationText(ms: number): string {
  let rest = Math.floor(Math.max(0, ms) / SECOND) * SECOND;
  let text = '';
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', SECOND],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text || '0s';
}
