/**
 * The queue-triggered function of the fan-out, for the bench's "job status only" runs: the same
 * work as functions/observe.ts (lib/fanout/worker.ts) with the provisioning logs left out, as the
 * monitor's own job-status-only runs leave them out (scripts/bench/monitor.ts).
 */
import type { InvocationContext } from '@azure/functions';
import { cycleDepsFromSettings, fanOutStore } from '../../lib/app';
import { keptCredentials } from '../../lib/clients/credentials';
import { loadSettings } from '../../lib/settings/settings';
import { decodeMessage } from '../../lib/fanout/message';
import { observeBatch } from '../../lib/fanout/worker';
import { limitsForSchedule } from '../../lib/cycle/limits';
import { hostLogger } from '../../lib/util/log';

export async function observeJobsOnly(entry: unknown, context: InvocationContext): Promise<void> {
  const message = decodeMessage(entry);
  const settings = loadSettings(process.env);
  const limits = {
    ...limitsForSchedule(settings.schedule, process.env),
    cycleMs: Math.max(1000, message.deadline - Date.now()),
  };
  const cycle = cycleDepsFromSettings(settings, process.env, hostLogger(context), undefined, { limits });
  cycle.logs = undefined;
  cycle.budget!.start();
  await observeBatch(message, {
    cycle,
    store: fanOutStore(settings, keptCredentials(settings, process.env).azure, cycle.budget!.calls()),
  });
}
