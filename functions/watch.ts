import { app, InvocationContext, Timer } from '@azure/functions';
import { formatSummary, runCycleFromEnv } from '../lib/app';
import { loadPolicy } from '../lib/config/config';
import { identityWarnings } from '../lib/settings/identity';
import { DEFAULT_SCHEDULE, loadSettings } from '../lib/settings/settings';
import type { Logger } from '../lib/util/log';
import { withFields } from '../lib/util/log';
import { cycleMetrics, metricsLine, newGraphCounters } from '../lib/cycle/metrics';

/** The host's logger: each line goes to Application Insights as a trace, its fields as JSON after the message. */
function loggerFor(context: InvocationContext): Logger {
  return {
    info: (m, fields) => context.log(withFields(m, fields)),
    warn: (m, fields) => context.warn(withFields(m, fields)),
    error: (m, fields) => context.error(withFields(m, fields)),
  };
}

/**
 * Runs one monitoring cycle. Throws when the cycle could not do its whole job, so the failure
 * shows in the Functions host's invocation failures and Application Insights, not only in the log.
 */
export async function watch(_timer: Timer, context: InvocationContext): Promise<void> {
  const graph = newGraphCounters();
  // Past WATCH_FANOUT_TENANTS, the tenants are read by the queue-triggered function (functions/observe.ts).
  const summary = await runCycleFromEnv(process.env, loggerFor(context), graph, { fanOut: true });
  context.log(`cycle: ${formatSummary(summary)}`);
  // The cycle's custom metrics, one trace the "no cycle finished" alert counts (lib/cycle/metrics.ts).
  context.log(metricsLine(cycleMetrics(summary, graph)));
  if (summary.errors.length > 0) {
    throw new Error(`cycle incomplete, ${summary.errors.length} problem(s): ${summary.errors.join(' | ')}`);
  }
}

// Validate at start, loudly. Registering even when invalid keeps the function visible: a load
// error would make the host drop it silently, while each invocation now fails with the message.
try {
  const settings = loadSettings(process.env);
  loadPolicy(settings.configPath, { emailTo: settings.emailTo });
  for (const warning of identityWarnings(settings.identity, process.env))
    console.warn(`Entra Sync Watch: warning: ${warning}`);
} catch (error) {
  console.error(`Entra Sync Watch: ${(error as Error).message}`);
}

app.timer('watch', {
  // %NAME% is resolved by the host; without the setting the host would refuse to index the function.
  schedule: process.env.WATCH_SCHEDULE ? '%WATCH_SCHEDULE%' : DEFAULT_SCHEDULE,
  handler: watch,
});
