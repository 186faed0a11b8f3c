import type { Policy, Silence } from '../model/policy';
import type { MaintenanceWindowConfig } from '../model/config-file';
import { matches } from '../model/matchers';
import type { MatchLabels } from '../model';
import { isInWeeklyWindow, maintenanceEndsAt } from './windows';

/** Why an alert is muted right now, for the log and the status view. */
export interface MuteReason {
  kind: 'silence' | 'maintenance';
  /** E.g. `silence by alice@contoso.com until 2026-11-28 06:00 UTC: "Planned migration"` or `maintenance window "Weekend patching" (Europe/Berlin)`. */
  description: string;
  /** When the mute ends (for a maintenance window: the end of the current occurrence and any that adjoin it). */
  until?: Date;
}

/** `2026-11-28 06:00 UTC`: one unambiguous form for readers in any time zone. */
function utcMinute(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function isActiveSilence(silence: Silence, now: Date): boolean {
  return silence.startsAt <= now && now < silence.endsAt;
}

function isInMaintenance(window: MaintenanceWindowConfig, now: Date): boolean {
  return window.weekly.some((weekly) => isInWeeklyWindow(weekly, window.timeZone, now));
}

function silenceReason(silence: Silence): MuteReason {
  return {
    kind: 'silence',
    description: `silence by ${silence.createdBy} until ${utcMinute(silence.endsAt)}: ${JSON.stringify(silence.comment)}`,
    until: silence.endsAt,
  };
}

function maintenanceReason(window: MaintenanceWindowConfig, now: Date): MuteReason {
  return {
    kind: 'maintenance',
    description: `maintenance window ${JSON.stringify(window.name)} (${window.timeZone})`,
    until: maintenanceEndsAt(window.weekly, window.timeZone, now),
  };
}

/**
 * The first silence that is active at `now` (startsAt ≤ now < endsAt) and matches the labels,
 * else the first maintenance window that is on and matches; undefined when nothing mutes them.
 * Silences come first because they name a person and an end, which is what a reader needs.
 */
export function silencedBy(
  labels: MatchLabels,
  policy: Pick<Policy, 'silences' | 'maintenanceWindows'>,
  now: Date,
): MuteReason | undefined {
  const silence = policy.silences.find((s) => isActiveSilence(s, now) && matches(s.matchers, labels));
  if (silence) return silenceReason(silence);
  // Matchers first: they are cheap, while a window's time-zone arithmetic is not.
  const window = policy.maintenanceWindows.find((w) => matches(w.matchers, labels) && isInMaintenance(w, now));
  return window ? maintenanceReason(window, now) : undefined;
}
