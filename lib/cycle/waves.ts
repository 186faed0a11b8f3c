/**
 * When the job alerts of the tenants read so far go out while the others are still being read (a
 * wave): the first FIRST_WAVE_MS after reading starts, each next one twice as long after the last,
 * up to MAX_WAVE_INTERVAL_MS. A quarantine read early is emailed within seconds instead of waiting
 * for the last of a thousand tenants (or of a thousand fan-out batches), and a first cycle's
 * troubles, found all along the reading, go out in a handful of grouped emails, not one per tenant:
 * at most six waves (5, 15, 35, 65, 95 and 125 s) within the default cycle's 144 s of reading. A
 * deployment read within 5 s has none. Used by the cycle's own reading (lib/cycle/observe.ts) and
 * by the fan-out's planner (lib/fanout/planner.ts); each tenant is in one wave at most.
 */
const FIRST_WAVE_MS = 5_000;
const MAX_WAVE_INTERVAL_MS = 30_000;

export class WaveSchedule {
  private interval: number;
  private nextAt: number;

  /** `firstMs`: the cycle's limits may set it (tests); `now`: wall clock (epoch ms). */
  constructor(
    firstMs: number | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.interval = firstMs ?? FIRST_WAVE_MS;
    this.nextAt = now() + this.interval;
  }

  /** Whether a wave may go out now. */
  due(): boolean {
    return this.now() >= this.nextAt;
  }

  /** How long until the next wave may go out (0: now). */
  waitMs(): number {
    return Math.max(0, this.nextAt - this.now());
  }

  /** A wave went out: the next one waits twice as long (at most MAX_WAVE_INTERVAL_MS). */
  sent(): void {
    this.interval = Math.min(2 * this.interval, MAX_WAVE_INTERVAL_MS);
    this.nextAt = this.now() + this.interval;
  }
}
