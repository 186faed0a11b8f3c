import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LeaseHolder, PlanningLeaseStore } from '../store/lease-store';
import { Deadline, sleep } from '../util/deadline';
import type { Logger } from '../util/log';
import type { CycleBudget } from './limits';

/** What taking the planning lease takes. */
export interface LeaseDeps {
  lease: Pick<PlanningLeaseStore, 'take' | 'release'>;
  /** Who this instance is, for the planning lease (default: host, process and a random part, new each cycle). */
  instanceId?: string;
  clock: () => Date;
  log: Logger;
}

export interface PlanningLease {
  taken: boolean;
  by?: LeaseHolder;
  release(): Promise<void>;
}

/**
 * Takes the planning lease: a row in the state table, written under its ETag, that says which
 * instance plans and sends until when (its own deadline). Instances observe side by side, but only
 * the holder reads the outbox, claims alerts, plans and sends, so two instances that saw different
 * things can never plan the same notice into two different emails. Another instance waits for the
 * lease while there is time left to deliver, then starts from what the holder recorded.
 */
export async function takePlanningLease(
  deps: LeaseDeps,
  budget: CycleBudget,
  deadline: Deadline,
): Promise<PlanningLease> {
  const holder = deps.instanceId ?? `${hostname()}#${process.pid}#${randomUUID().slice(0, 8)}`;
  const waitUntil = deadline.before(Math.max(budget.limits.callMs * 3, budget.limits.cycleMs * 0.2));
  for (let pause = 20; ; pause = Math.min(pause * 2, 1000)) {
    const until = new Date(deps.clock().getTime() + deadline.remainingMs());
    const result = await deps.lease.take(holder, deps.clock(), until);
    if (result.taken) {
      const release = () =>
        deps.lease
          .release(holder)
          .catch((error: unknown) =>
            deps.log.warn(
              `releasing the planning lease failed (it expires at ${until.toISOString()}): ${(error as Error).message}`,
            ),
          );
      return { taken: true, release };
    }
    if (waitUntil.expired()) return { taken: false, by: result.by, release: async () => undefined };
    await sleep(Math.min(pause, waitUntil.remainingMs()), waitUntil.signal);
  }
}
