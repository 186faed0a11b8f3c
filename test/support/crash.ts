import type { CyclePoint } from '../../lib/model';

/** What a test throws to stop a cycle part-way, as a crash of the host would. */
export class Crash extends Error {}

/**
 * Cycle deps that stop the cycle the `nth` time it reaches `point` (a point is reached once per
 * message, so `nth` picks which message's post is interrupted).
 */
export function crashAt(point: CyclePoint, nth = 1): { probe: (p: CyclePoint) => void } {
  let seen = 0;
  return {
    probe: (p: CyclePoint) => {
      if (p === point && ++seen === nth) throw new Crash(nth === 1 ? `stopped at ${p}` : `${p} #${nth}`);
    },
  };
}
