import type { CycleSummary } from '../model';

/**
 * A dead man's switch: after each cycle that did its whole job, call a URL (Healthchecks.io,
 * Better Stack, an Azure Monitor availability test...). When the pings stop, that service alerts:
 * the one failure a monitor cannot report itself is having stopped.
 */
export function createHeartbeat(
  config: { url: string; method: 'GET' | 'POST' },
  timeoutMs = 10_000,
): (summary: CycleSummary) => Promise<void> {
  return async (summary) => {
    const response = await fetch(config.url, {
      method: config.method,
      headers: config.method === 'POST' ? { 'content-type': 'application/json' } : undefined,
      body:
        config.method === 'POST'
          ? JSON.stringify({
              startedAt: summary.startedAt,
              durationMs: summary.durationMs,
              tenantsChecked: summary.tenantsChecked,
              jobsSeen: summary.jobsSeen,
              alertsFiring: summary.alertsFiring,
              notificationsSent: summary.notificationsSent,
            })
          : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${config.method} ${new URL(config.url).host} answered HTTP ${response.status}`);
  };
}
