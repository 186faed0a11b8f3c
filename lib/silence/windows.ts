import type { Weekday, WeeklyWindow } from '../model/config-file';

/**
 * Recurring weekly maintenance windows in an IANA time zone.
 *
 * Meaning, including daylight-saving changes: an occurrence of a window starts on one of its
 * `days` at the first instant the local clock reads `start`, and ends at the first instant the
 * local clock reads `end` (on the next day when `end` is at or before `start`; `start` equal to
 * `end` is a 24-hour window). "First instant the clock reads T" settles the two DST cases:
 *  - a skipped time (spring forward, e.g. 02:30 on 2026-03-29 in Europe/Berlin) is reached at the
 *    jump, when the clock first reads later than it: a Sun 02:00–04:00 window runs 03:00–04:00
 *    local that day, and a window wholly inside the skipped hour does not occur that day;
 *  - a repeated time (fall back, e.g. 02:30 on 2026-10-25) is reached at its first occurrence:
 *    a 02:00–04:00 window runs from 02:00 summer time to 04:00 winter time (three real hours,
 *    both 02:30s inside), and a window ending at 02:30 ends at the first 02:30 rather than
 *    closing and opening again when the hour repeats.
 * So every occurrence is one unbroken interval of real time, never a window with a hole in it.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const WEEKDAY_OF_UTC_DAY: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Wall-clock times are handled as "local time written as if it were UTC" milliseconds. */
type WallClock = number;

interface Occurrence {
  start: number;
  end: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    const fields = {
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    } as const;
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', ...fields });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** What the local clock in `timeZone` reads at an instant (to the second). */
function wallClockAt(timeZone: string, instant: number): WallClock {
  const parts = formatterFor(timeZone).formatToParts(new Date(instant));
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
}

function offsetAt(timeZone: string, instant: number): number {
  const whole = Math.floor(instant / SECOND) * SECOND;
  return wallClockAt(timeZone, whole) - whole;
}

/** The instant the UTC offset changes to `after`, somewhere in (before, afterInstant]; transitions fall on whole seconds. */
function transitionBetween(timeZone: string, before: number, afterInstant: number, after: number): number {
  let [low, high] = [before, afterInstant];
  while (high - low > SECOND) {
    const middle = low + Math.floor((high - low) / 2 / SECOND) * SECOND;
    if (offsetAt(timeZone, middle) === after) high = middle;
    else low = middle;
  }
  return high;
}

/**
 * The first instant at which the local clock reads `wall`, or, when the clock skips it, the
 * instant of the jump past it. Assumes at most one offset change within a day either side,
 * true of every IANA zone in use.
 */
function firstInstantReading(timeZone: string, wall: WallClock): number {
  const earlierOffset = offsetAt(timeZone, wall - DAY);
  const laterOffset = offsetAt(timeZone, wall + DAY);
  const candidates = [wall - earlierOffset, wall - laterOffset].filter((t) => wallClockAt(timeZone, t) === wall);
  if (candidates.length > 0) return Math.min(...candidates);
  return transitionBetween(timeZone, wall - laterOffset, wall - earlierOffset, laterOffset);
}

function minutesOf(timeOfDay: string): number {
  const [hours, minutes] = timeOfDay.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

/** The occurrence that starts on the local date `day` (its midnight as WallClock), if the window runs that weekday. */
function occurrenceStartingOn(window: WeeklyWindow, timeZone: string, day: WallClock): Occurrence | undefined {
  const weekday = WEEKDAY_OF_UTC_DAY[new Date(day).getUTCDay()] as Weekday;
  if (!window.days.some((d) => d.toLowerCase() === weekday)) return undefined;
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const endDay = end <= start ? day + DAY : day;
  return {
    start: firstInstantReading(timeZone, day + start * MINUTE),
    end: firstInstantReading(timeZone, endDay + end * MINUTE),
  };
}

/**
 * The occurrence of `window` that contains `instant`, if any. Occurrences last at most a day and
 * a bit, so only those starting the local day before, on, or after the instant's local date can
 * contain it (the day after covers zones whose clocks fall back across midnight).
 */
function occurrenceAt(window: WeeklyWindow, timeZone: string, instant: number): Occurrence | undefined {
  const wall = wallClockAt(timeZone, instant);
  const today = wall - (((wall % DAY) + DAY) % DAY);
  for (const day of [today - DAY, today, today + DAY]) {
    const occurrence = occurrenceStartingOn(window, timeZone, day);
    if (occurrence && occurrence.start <= instant && instant < occurrence.end) return occurrence;
  }
  return undefined;
}

/** Whether `now` falls in an occurrence of the weekly window, read in `timeZone` (see the top of this file for DST). */
export function isInWeeklyWindow(window: WeeklyWindow, timeZone: string, now: Date): boolean {
  return occurrenceAt(window, timeZone, now.getTime()) !== undefined;
}

/**
 * When the maintenance that is on at `now` ends: the end of the occurrence containing `now`,
 * followed through windows that overlap or adjoin it (a Sat 00:00–24:00 and a Sun 00:00–24:00
 * window end together on Monday). Looks at most a week ahead, so an always-on window reports an
 * end a week or so away. Undefined when no window is on.
 */
export function maintenanceEndsAt(weekly: WeeklyWindow[], timeZone: string, now: Date): Date | undefined {
  let end: number | undefined;
  let at = now.getTime();
  while (at - now.getTime() < 7 * DAY) {
    const ends = weekly
      .map((w) => occurrenceAt(w, timeZone, at)?.end)
      .filter((e): e is number => e !== undefined && e > at);
    if (ends.length === 0) break;
    end = Math.max(...ends);
    at = end;
  }
  return end === undefined ? undefined : new Date(end);
}

/**
 * A daily time in a time zone, as of `now`: the local date there (`2026-11-27`) and the instant
 * that date's clock first reads `time` (HH:MM), with daylight saving handled as for windows above
 * (a skipped time is reached at the jump; a repeated one at its first occurrence). For the daily
 * digest (lib/digest/digest.ts).
 */
export function dailyOccurrence(time: string, timeZone: string, now: Date): { date: string; at: Date } {
  const wall = wallClockAt(timeZone, now.getTime());
  const day = wall - (((wall % DAY) + DAY) % DAY);
  return {
    date: new Date(day).toISOString().slice(0, 10),
    at: new Date(firstInstantReading(timeZone, day + minutesOf(time) * MINUTE)),
  };
}
