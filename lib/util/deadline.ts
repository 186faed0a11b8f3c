/**
 * Deadlines on the monotonic clock, each with an AbortSignal that fires when it passes, so every
 * outbound call (Graph, the token endpoint, Table Storage, ACS) can be cut off at the moment the
 * cycle, or one tenant's share of it, runs out. Wall-clock time (the injected `clock` of a cycle)
 * says what time it is; a deadline says how long we may still wait, which a fake clock must not change.
 */

import { setMaxListeners } from 'node:events';

const now = (): number => performance.now();

/** Work that did not finish in the time it had; the message says what and how long. */
export class TimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly afterMs: number,
  ) {
    super(`${what} timed out after ${seconds(afterMs)} s`);
    this.name = 'TimeoutError';
  }
}

/** `0.25`, `1.5`, `30`: seconds for messages, with decimals only where they say something. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  if (s >= 10 || Number.isInteger(s)) return String(Math.round(s));
  return String(Number(s.toFixed(s < 1 ? 2 : 1)));
}

export class Deadline {
  private constructor(
    /** When it passes, in `performance.now()` milliseconds. */
    readonly at: number,
    readonly signal: AbortSignal,
    /** How long it was when made (for messages: "timed out after 30 s"). */
    readonly lengthMs: number,
  ) {
    // Shared by design: every call within a tenant's share (or the cycle's last seconds, where a
    // call's own limit is longer than what is left) listens on it, through the Azure SDKs' HTTP
    // client too; past 10 listeners Node warned of a leak that is not one.
    setMaxListeners(0, signal);
  }

  /** A deadline `ms` from now. */
  static in(ms: number): Deadline {
    const length = Math.max(0, ms);
    return new Deadline(now() + length, AbortSignal.timeout(Math.ceil(length)), length);
  }

  /** No deadline: for callers (and tests) that do not bound their work. */
  static never(): Deadline {
    return new Deadline(Number.POSITIVE_INFINITY, new AbortController().signal, Number.POSITIVE_INFINITY);
  }

  remainingMs(): number {
    return Math.max(0, this.at - now());
  }

  expired(): boolean {
    return this.signal.aborted || now() >= this.at;
  }

  /**
   * A deadline `ms` from now, or this one if it comes first. A deadline's signal fires when its
   * time passes and at no other moment (nothing here aborts one early), so the nearer one's timeout
   * alone fires first. No AbortSignal.any: it keeps a weak reference on the longer deadline's
   * signal for each of a cycle's ~12,000 calls, and a CPU profile of a fresh 1,000-tenant cycle's
   * first 10 s spent 185 ms here with it, 69 ms without.
   */
  within(ms: number): Deadline {
    const length = Math.max(0, ms);
    return now() + length >= this.at ? this : Deadline.in(length);
  }

  /** A deadline `ms` before this one (never before now): a share kept back for the stages after. */
  before(ms: number): Deadline {
    return this.within(this.remainingMs() - ms);
  }
}

/**
 * `work`, unless the deadline passes first: then a TimeoutError naming `what`. The work itself is
 * not stopped (give it the deadline's signal for that); this guarantees the caller moves on even
 * when something below ignores its signal.
 */
export async function beforeDeadline<T>(work: Promise<T>, deadline: Deadline, what: string): Promise<T> {
  if (deadline.at === Number.POSITIVE_INFINITY) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    const onTimeout = () => reject(new TimeoutError(what, deadline.lengthMs));
    if (deadline.expired()) return onTimeout();
    // A timer alone, no listener on the deadline's signal: a deadline passes only with time (see
    // within). Unlike AbortSignal.timeout, a timer keeps Node running, so a wait on work that
    // holds nothing open (a promise that never settles) still ends at the deadline.
    timer = setTimeout(onTimeout, Math.ceil(deadline.remainingMs()) + 1);
  });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined); // a late failure of abandoned work is not an unhandled rejection
  }
}

/** Waits `ms`, or less if the signal fires first (then resolves early: the caller checks its deadline). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
