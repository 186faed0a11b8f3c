import type { Env } from './env';

/**
 * How the monitor spreads its work (docs/scale.md): tenants read at once in one process, and,
 * past a number of tenants, the timer's fan-out to the queue-triggered function (lib/fanout/).
 */
export interface ScaleSettings {
  /** WATCH_CONCURRENCY: tenants one process reads at once. */
  concurrency?: number;
  /** WATCH_FANOUT_TENANTS: past this many tenants the timer enqueues them instead of reading them itself (0: never). */
  fanOutTenants?: number;
  /** WATCH_FANOUT_BATCH: tenants per queue message. */
  fanOutBatch?: number;
}

const LIMITS = {
  WATCH_CONCURRENCY: { min: 1, max: 256, what: 'tenants read at once' },
  WATCH_FANOUT_TENANTS: { min: 0, max: 100_000, what: 'tenants past which the timer fans out to the queue (0: never)' },
  WATCH_FANOUT_BATCH: { min: 1, max: 100, what: 'tenants per queue message' },
} as const;

function whole(env: Env, name: keyof typeof LIMITS, problems: string[]): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const { min, max, what } = LIMITS[name];
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    problems.push(`${name}="${text.slice(0, 40)}" is not a whole number from ${min} to ${max} (${what})`);
    return undefined;
  }
  return n;
}

/** The scale settings that are set, validated; undefined when none is. */
export function scaleSettings(env: Env, problems: string[]): ScaleSettings | undefined {
  const scale: ScaleSettings = {
    concurrency: whole(env, 'WATCH_CONCURRENCY', problems),
    fanOutTenants: whole(env, 'WATCH_FANOUT_TENANTS', problems),
    fanOutBatch: whole(env, 'WATCH_FANOUT_BATCH', problems),
  };
  const set = Object.fromEntries(Object.entries(scale).filter(([, v]) => v !== undefined)) as ScaleSettings;
  return Object.keys(set).length > 0 ? set : undefined;
}
