import { ClientSecretCredential } from '@azure/identity';
import { LogsQueryResultStatus } from '@azure/monitor-query-logs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPrivateCloud, type PrivateCloud } from '../../emulators/index';
import { createLogsQueryClient } from '../../lib/clients/logs';
import { CYCLE_METRICS_EVENT } from '../../lib/cycle/metrics';
import { demoScenario } from '../support/world';

const MONITORING = join(__dirname, '..', '..', 'infra', 'monitoring');
/** The query of the "no cycle finished" alert, as infra/app/alerts.bicep loads it. */
const NO_CYCLE_FINISHED = readFileSync(join(MONITORING, 'no-cycle-finished.kql'), 'utf8');

/**
 * The second dead man's switch (infra/app/alerts.bicep): an Azure Monitor log alert scoped to the
 * Application Insights resource runs infra/monitoring/no-cycle-finished.kql and fires below 1.
 * Application Insights keeps one row of a sampled group and gives it `itemCount` = how many it
 * stands for, so the query must add those up: counting rows says "fewer cycles" (and, once the
 * fires-below threshold is crossed, "none") while every cycle finishes. Run here through the real
 * LogsQueryClient against the Log Analytics emulator's Application Insights resource.
 */
describe("the 'no cycle finished' query over sampled traces", () => {
  let cloud: PrivateCloud;
  beforeAll(async () => {
    cloud = await startPrivateCloud({ scenario: demoScenario() });
  });
  afterAll(() => cloud?.stop());
  beforeEach(() => cloud.logAnalytics.reset());

  const metricsTrace = () => `${CYCLE_METRICS_EVENT} {"durationMs":412,"tenantsChecked":3,"errors":0}`;

  async function cyclesTheAlertSees(): Promise<unknown> {
    const credential = new ClientSecretCredential(cloud.tenants[0] as string, cloud.clientId, cloud.clientSecret, {
      authorityHost: cloud.authorityHost,
      disableInstanceDiscovery: true,
    });
    const client = createLogsQueryClient(credential, cloud.logAnalytics.endpoint);
    const result = await client.queryResource(cloud.logAnalytics.applicationInsightsId, NO_CYCLE_FINISHED, {
      duration: 'PT15M',
    });
    expect(result.status).toBe(LogsQueryResultStatus.Success);
    if (result.status !== LogsQueryResultStatus.Success) return undefined;
    const [table] = result.tables;
    expect(table?.rows).toHaveLength(1);
    return table?.rows[0]?.[table.columnDescriptors.findIndex((c) => c.name === 'cyclesFinished')];
  }

  it('counts every cycle a sampled row stands for (itemCount), not the rows', async () => {
    const now = Date.now();
    // Three cycles finished in 15 minutes; sampling kept one row for two of them and one row alone.
    cloud.logAnalytics.addTraces([
      { timestamp: new Date(now - 11 * 60_000), message: metricsTrace(), itemCount: 2 },
      { timestamp: new Date(now - 1 * 60_000), message: metricsTrace() },
      // Other lines of the same cycles, sampled harder: never counted as cycles.
      { timestamp: new Date(now - 2 * 60_000), message: 'tenant 3f2a…: 4 jobs read', itemCount: 50 },
      // A cycle of an hour ago is outside the alert's window.
      { timestamp: new Date(now - 60 * 60_000), message: metricsTrace(), itemCount: 4 },
    ]);
    expect(Number(await cyclesTheAlertSees())).toBe(3);
  });

  it('sees no cycle when no cycle-metrics trace arrived, so the alert fires', async () => {
    cloud.logAnalytics.addTraces([
      { timestamp: new Date(Date.now() - 60_000), message: 'tenant 3f2a…: cannot monitor', itemCount: 9 },
    ]);
    expect(Number(await cyclesTheAlertSees())).toBe(0);
  });

  it('host.json keeps traces out of adaptive sampling, so a finished cycle is never dropped', () => {
    const host = JSON.parse(readFileSync(join(__dirname, '..', '..', 'host.json'), 'utf8')) as {
      logging: { applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes?: string } } };
    };
    const sampling = host.logging.applicationInsights.samplingSettings;
    if (sampling.isEnabled) expect((sampling.excludedTypes ?? '').split(';')).toContain('Trace');
  });
});
