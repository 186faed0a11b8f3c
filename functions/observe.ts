import { app, InvocationContext } from '@azure/functions';
import { FANOUT_QUEUE } from '../lib/fanout/message';
import { observeMessageFromEnv } from '../lib/app';
import { hostLogger } from '../lib/util/log';

/**
 * The fan-out's worker (docs/scale.md): past WATCH_FANOUT_TENANTS the timer puts one message per
 * batch of tenants on the queue, and Azure Functions' scale controller runs this function on as
 * many instances as the queue needs. Each reads its tenants, judges them, and records what it found
 * for the timer, which plans and sends once per cycle.
 *
 * It fails (so the host retries the message, then moves it to syncwatch-observe-poison) only when
 * the message is not ours or its report could not be written; a tenant that cannot be read is in
 * the report, not a failure of this function.
 */
export async function observe(entry: unknown, context: InvocationContext): Promise<void> {
  const outcome = await observeMessageFromEnv(entry, process.env, hostLogger(context));
  if (outcome.kind === 'reported') {
    const { report } = outcome;
    const unreadable = report.tenants.filter((t) => t.unreadable).length;
    context.log(
      `observed batch ${report.batch + 1}: ${report.tenants.length} tenant(s), ${report.tenants.reduce((n, t) => n + t.jobsSeen, 0)} job(s), ${unreadable} unreadable, ${report.durationMs} ms`,
    );
  }
}

app.storageQueue('observe', {
  queueName: FANOUT_QUEUE,
  // The app's storage (AzureWebJobsStorage, or its __queueServiceUri with the managed identity).
  connection: 'AzureWebJobsStorage',
  handler: observe,
});
