/**
 * The send budget shared by every instance (ACS's limits: 5 emails a minute and 10 an hour on an
 * Azure-managed domain, 30 and 100 on a custom one; SEND_BUDGETS in lib/config/policy.ts), as pure functions over the
 * send log the state store keeps in one row under its ETag.
 *
 * The log stays small whatever the budget: the exact time of each send in the last minute (the
 * per-minute check is exact), and a count per clock minute for the hour (the hourly check counts
 * every minute that overlaps the last hour, so it may refuse up to a minute early, never late).
 */

export interface SendBudget {
  perMinute: number;
  perHour: number;
}

export interface SendLog {
  /** Epoch milliseconds of the sends of the last 60 seconds. */
  lastMinute: number[];
  /** `[epoch minute, sends in it]` for the minutes that overlap the last hour. */
  perMinute: [number, number][];
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

export const EMPTY_SEND_LOG: SendLog = { lastMinute: [], perMinute: [] };

/** The log with what is older than it needs dropped. */
export function pruned(log: SendLog, now: number): SendLog {
  return {
    lastMinute: log.lastMinute.filter((t) => t <= now && now - t < MINUTE),
    perMinute: log.perMinute.filter(([minute]) => (minute + 1) * MINUTE > now - HOUR && minute * MINUTE <= now),
  };
}

/** Sends counted against the last minute and the last hour. */
export function usage(log: SendLog, now: number): { minute: number; hour: number } {
  const recent = pruned(log, now);
  return { minute: recent.lastMinute.length, hour: recent.perMinute.reduce((n, [, count]) => n + count, 0) };
}

/** Whether one more send fits the budget now. */
export function allowsSend(log: SendLog, now: number, budget: SendBudget): boolean {
  const used = usage(log, now);
  return used.minute < budget.perMinute && used.hour < budget.perHour;
}

/** The log after one send now. */
export function withSend(log: SendLog, now: number): SendLog {
  const recent = pruned(log, now);
  const minute = Math.floor(now / MINUTE);
  const counts = new Map(recent.perMinute);
  counts.set(minute, (counts.get(minute) ?? 0) + 1);
  return { lastMinute: [...recent.lastMinute, now], perMinute: [...counts.entries()].sort((a, b) => a[0] - b[0]) };
}

/** A stored log, read leniently: an older row (a list of ISO times) or damage reads as what can be made of it. */
export function parseSendLog(text: string | undefined): SendLog {
  if (!text) return EMPTY_SEND_LOG;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return EMPTY_SEND_LOG;
  }
  if (Array.isArray(value)) {
    // The first format: ISO times of the sends of the last hour.
    return value
      .map((t) => Date.parse(String(t)))
      .filter(Number.isFinite)
      .sort((a, b) => a - b)
      .reduce(withSend, EMPTY_SEND_LOG);
  }
  const v = value as Partial<SendLog>;
  const lastMinute = Array.isArray(v.lastMinute) ? v.lastMinute.filter((t): t is number => typeof t === 'number') : [];
  const perMinute = Array.isArray(v.perMinute)
    ? v.perMinute.filter(
        (p): p is [number, number] => Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number',
      )
    : [];
  return { lastMinute, perMinute };
}
