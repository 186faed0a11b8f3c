import type { Policy } from '../model/policy';
import type { SilenceStore } from '../store/silence-store';

/**
 * The policy with the silences snooze links made (Table Storage) beside the config file's, so the
 * cycle mutes what they match and the digest and status page show them. Without a store (snooze
 * links never set up), the config's silences alone.
 */
export async function withSnoozes(policy: Policy, store: SilenceStore | undefined, now: Date): Promise<Policy> {
  if (!store) return policy;
  const snoozes = await store.current(now);
  return snoozes.length === 0 ? policy : { ...policy, silences: [...policy.silences, ...snoozes] };
}
