import { withoutSince } from '../support/subjects';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import type { WatchConfig } from '../../lib/model/config-file';
import { demoScenario, startWorld, type World } from '../support/world';
import { CONTOSO, emailSubjects, freshStart, SERVICENOW_JOB } from '../support/demo';

const WORKSPACE = '7c7c7c7c-0000-4000-8000-00000000a11a';

const spike = {
  name: 'kql-failure-spike',
  query: 'AADProvisioningLogs | where ResultType == "Failure" | summarize Failures = count() by JobId',
  timeSpan: '1h',
  threshold: { column: 'Failures', operator: '>' as const, value: 5 },
  severity: 'critical' as const,
  labels: { tenant: CONTOSO, app: 'ServiceNow', job: SERVICENOW_JOB },
  description: 'One job fails far more than usual.',
  steps: ["Open the job's provisioning logs, filter Status = Failure."],
};
const quiet = {
  name: 'kql-no-deletes',
  query: 'AADProvisioningLogs | where ProvisioningAction == "Delete" | count',
  timeSpan: '1h',
  threshold: { column: 'Count', operator: '>' as const, value: 100 },
};

/**
 * KQL rules and the failure digest from Azure Monitor Logs, through the real LogsQueryClient
 * against the Log Analytics emulator, in whole cycles.
 */
describe('Azure Monitor Logs', () => {
  let world: World;
  let configPath: string;
  const writeConfig = (config: WatchConfig) => writeFileSync(configPath, JSON.stringify(config));

  beforeAll(async () => {
    configPath = join(mkdtempSync(join(tmpdir(), 'esw-kql-')), 'watch-config.json');
    writeConfig({});
    world = await startWorld(
      { ...demoScenario(), logAnalytics: { workspaceId: WORKSPACE } },
      { WATCH_CONFIG: configPath },
    );
  });
  afterAll(() => world.stop());
  beforeEach(() => freshStart(world, 'k'));

  const subjects = () => emailSubjects(world);
  const withTimeout = (deps: CycleDeps, queryTimeoutMs: number): CycleDeps => ({
    ...deps,
    logs: { ...deps.logs!, logAnalytics: { ...deps.logs!.logAnalytics!, options: { queryTimeoutMs } } },
  });

  it("runs the config's KQL rules every cycle: fires, routes by its labels, updates in place and resolves like any other condition", async () => {
    writeConfig({
      kqlRules: [spike, quiet],
      route: { routes: [{ match: { condition: 'kql-failure-spike' }, to: ['servicenow-owners@contoso.com'] }] },
    });
    expect((await runCycle(world.deps())).errors).toEqual([]);
    expect(world.cloud.logAnalytics.queries().map((q) => [q.query, q.timespan, q.status])).toEqual([
      [spike.query, 'PT3600S', 200],
      [quiet.query, 'PT3600S', 200],
    ]);

    world.cloud.control.addProvisioningEvents(CONTOSO, [
      { job: SERVICENOW_JOB, count: 7, status: 'failure', errorCode: 'EntryConflict', spreadMinutes: 3 },
    ]);
    await runCycle(world.deps());
    const email = world.cloud.acs.messages()[0]!;
    expect(withoutSince(email.subject)).toBe(`${CONTOSO}: kql-failure-spike: ServiceNow`);
    expect(email.to).toEqual([{ address: 'servicenow-owners@contoso.com' }]);
    expect(email.plainText).toContain('Threshold: Failures > 5');
    expect(email.plainText).toContain('Result: 7 (1 of 1 row(s) match)');
    expect(email.plainText).toContain(`Row 1: JobId=${SERVICENOW_JOB}, Failures=7`);
    expect(email.plainText).toContain('One job fails far more than usual.');

    await runCycle(world.deps());
    expect(subjects()).toHaveLength(1);

    // Raising the threshold resolves it.
    writeConfig({
      kqlRules: [{ ...spike, threshold: { ...spike.threshold, value: 50 } }, quiet],
      route: { routes: [{ match: { condition: 'kql-failure-spike' }, to: ['servicenow-owners@contoso.com'] }] },
    });
    await runCycle(world.deps());
    expect(subjects()[1]).toBe(`Re: ${subjects()[0]}`);
    expect(world.cloud.acs.messages()[1]!.headers?.['X-Entra-Sync-Watch-Kind']).toBe('resolved');
    expect(world.cloud.acs.messages()[1]!.plainText).toMatch(/Is back within its threshold at .*, after /);
  });

  it("names a partial result, a refused query, a throttled query and a timeout, holds the rule's alert, and checks everything else", async () => {
    writeConfig({ kqlRules: [spike, quiet] });
    world.cloud.control.addProvisioningEvents(CONTOSO, [
      { job: SERVICENOW_JOB, count: 11, status: 'failure', errorCode: 'EntryConflict', spreadMinutes: 3 },
    ]);
    await runCycle(world.deps());
    expect(subjects()).toEqual([`${CONTOSO}: kql-failure-spike: ServiceNow (+1 more)`]);

    const faults: [Parameters<World['cloud']['logAnalytics']['injectFault']>[0], RegExp][] = [
      [
        { kind: 'partial', queryIncludes: 'ResultType' },
        /^partial: PartialError: There were some errors when processing your query\..* while reading kql rule kql-failure-spike from Log Analytics$/,
      ],
      [
        { status: 429, retryAfterSeconds: 0, times: 4, queryIncludes: 'ResultType' },
        /^throttled: 429 ThrottledError: Too many requests: please retry later while reading kql rule kql-failure-spike/,
      ],
      [
        { delayMs: 1500, queryIncludes: 'ResultType' },
        /^timeout: no answer in time; the query was abandoned while reading kql rule kql-failure-spike/,
      ],
    ];
    for (const [fault, message] of faults) {
      world.cloud.logAnalytics.injectFault(fault);
      const summary = await runCycle(withTimeout(world.deps(), 1000));
      expect(summary.errors).toHaveLength(1);
      expect(summary.errors[0]).toMatch(message);
      expect(summary.alertsFiring).toBe(2); // held, not resolved: the digest and the KQL alert
      expect(summary.tenantsChecked).toBe(2);
    }
    writeConfig({
      kqlRules: [{ ...spike, query: 'AADProvisioningLogs | where ResultType == "Failure" | render timechart' }, quiet],
    });
    const refused = await runCycle(world.deps());
    expect(refused.errors).toEqual([
      expect.stringMatching(
        /^query-error: 400 EmulatorUnsupported: The request had some invalid properties: The query uses KQL the emulator does not run\. the emulator does not run the 'render' operator/,
      ),
    ]);
    expect(refused.alertsFiring).toBe(2);
    expect(subjects()).toHaveLength(1);
  });

  it('digests failures and names held deletes from AADProvisioningLogs when the config says so', async () => {
    writeConfig({ provisioningLogs: { source: 'logAnalytics' } });
    world.cloud.control.step('deletion-threshold-tripped');
    world.cloud.control.addProvisioningEvents(CONTOSO, [
      { job: SERVICENOW_JOB, count: 12, status: 'failure', errorCode: 'MandatoryFieldsMissing', spreadMinutes: 4 },
    ]);
    const summary = await runCycle(world.deps());
    expect(summary.errors).toEqual([]);
    expect(subjects()).toEqual([
      '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b: Deletion threshold tripped: Fabrikam to Contoso (+1 more)',
    ]);
    const text = world.cloud.acs.messages()[0]!.plainText;
    expect(text).toContain('Held deletes: 612 object(s)');
    expect(text).toContain('MandatoryFieldsMissing: 12 failure(s)');
    expect(world.cloud.control.requestLog().filter((r) => r.path.endsWith('/auditLogs/provisioning'))).toEqual([]);
    const queries = world.cloud.logAnalytics.queries().map((q) => q.query);
    expect(
      queries.some((q) => q.includes('ResultType == "Failure"') && q.includes('order by TimeGenerated asc, Id asc')),
    ).toBe(true);
    expect(queries.some((q) => q.includes('ProvisioningAction =~ "stagedDelete"'))).toBe(true);
    // Read again: nothing new, nothing told twice.
    await runCycle(world.deps());
    expect(subjects()).toHaveLength(1);
  });

  it('stops the cycle with a named problem when the config needs a workspace and none is set', () => {
    writeConfig({ kqlRules: [spike] });
    const env = { ...world.env, LOG_ANALYTICS_WORKSPACE_ID: '', LOG_ANALYTICS_ENDPOINT: '' };
    return import('../../lib/app').then(async ({ cycleDepsFromSettings }) => {
      const { loadSettings } = await import('../../lib/settings/settings');
      expect(() => cycleDepsFromSettings(loadSettings(env), env, world.log)).toThrow(
        /kqlRules: the rules run in the workspace named by the setting LOG_ANALYTICS_WORKSPACE_ID, which is not set/,
      );
    });
  });
});
