import { describe, expect, it } from 'vitest';
import { buildPolicy, ConfigError } from '../../lib/config/config';
import { kqlErrors } from '../../lib/config/kql-check';
import { AAD_PROVISIONING_LOGS } from '../../lib/config/kql-schema';
import { createLogAnalyticsEventSource, type LogsQuerier } from '../../lib/observe/log-analytics';
import { AAD_PROVISIONING_LOGS_COLUMNS } from '../../emulators/provisioning-logs';

/**
 * The config's KQL rules are checked with Microsoft's Kusto language service against the
 * AADProvisioningLogs schema when the config loads: what is wrong fails the config with the rule's
 * JSON path, the line and column in its query, and the service's message.
 */

const rule = (query: string, extra: Record<string, unknown> = {}) => ({
  name: 'kql-check',
  query,
  timeSpan: '1h',
  threshold: { operator: '>=', value: 1 },
  ...extra,
});

function problemsOf(config: unknown): string[] {
  try {
    buildPolicy(config, { emailTo: ['ops@contoso.com'] });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('KQL rules checked with the Kusto language service', () => {
  it('an unknown column fails the config check with its position in the query', () => {
    const query = 'AADProvisioningLogs | where ResultType == "Failure" | summarize count() by BogusColumn';
    expect(problemsOf({ kqlRules: [rule(query)] })).toEqual([
      "kqlRules[0].query: line 1, column 76: The name 'BogusColumn' does not refer to any known column, table, variable or function. (KS142)",
    ]);
  });

  it('counts lines and columns in a query over several lines, and names each rule by its index', () => {
    const good = 'AADProvisioningLogs | where ResultType == "Failure" | summarize Failures = count() by JobId';
    const bad =
      'AADProvisioningLogs\n| where ResultType == "Failure"\n| summarize n = count() by JobId\n| where n > 5 and Bogus == 1';
    expect(problemsOf({ kqlRules: [rule(good), rule(bad, { name: 'kql-second' })] })).toEqual([
      "kqlRules[1].query: line 4, column 19: The name 'Bogus' does not refer to any known column, table, variable or function. (KS142)",
    ]);
  });

  it('passes valid rules, among them the README examples and KQL the Log Analytics emulator does not run', () => {
    const queries = [
      'AADProvisioningLogs | where ResultType == "Failure" | summarize Failures = count() by JobId',
      'AADProvisioningLogs | where ProvisioningAction in ("Delete", "Disable") | count',
      // `render` is outside the emulator's subset (EmulatorUnsupported at run time), and valid KQL.
      'AADProvisioningLogs | where ResultType == "Failure" | summarize count() by bin(TimeGenerated, 5m) | render timechart',
      'AADProvisioningLogs | extend s = tostring(parse_json(ProvisioningStatusInfo).status) | where s == "failure" | take 5',
      'let since = ago(1h); AADProvisioningLogs | where ingestion_time() > since | summarize arg_max(TimeGenerated, *) by JobId',
    ];
    expect(problemsOf({ kqlRules: queries.map((q, i) => rule(q, { name: `kql-valid-${i}` })) })).toEqual([]);
  });

  it("says what to write instead of Microsoft's sample column Action, and that other tables are unknown to the check", () => {
    expect(problemsOf({ kqlRules: [rule('AADProvisioningLogs | summarize count() by Action')] })).toEqual([
      "kqlRules[0].query: line 1, column 44: The name 'Action' does not refer to any known column, table, variable or function. (the table's column is ProvisioningAction: Microsoft's sample queries say Action, which its published schema does not have) (KS142)",
    ]);
    expect(problemsOf({ kqlRules: [rule('AuditLogs | take 1')] })).toEqual([
      "kqlRules[0].query: line 1, column 1: The name 'AuditLogs' does not refer to any known table, tabular variable or function. (the rules are checked against AADProvisioningLogs, the table Entra's provisioning logs are routed to, and know no other) (KS204)",
    ]);
  });

  it('checks a disabled rule too, reports a syntax error where it is, and every problem of the config at once', () => {
    const problems = problemsOf({
      kqlRules: [rule('AADProvisioningLogs | where ResultType == "Failure" |', { enabled: false })],
      sendBudget: { perMinute: 0 },
    });
    expect(problems).toEqual([
      'kqlRules[0].query: line 1, column 54: Query operator expected. (KS176)',
      'sendBudget.perMinute: expected a whole number ≥ 1, got 0',
    ]);
  });

  it('analyses each distinct query once per process', () => {
    const query = 'AADProvisioningLogs | where DurationMs > 1000 | count';
    const first = kqlErrors(query);
    expect(kqlErrors(query)).toBe(first);
    expect(kqlErrors(`${query} `)).not.toBe(first);
  });

  it('is skipped for readers that never run the rules', () => {
    expect(() =>
      buildPolicy(
        { kqlRules: [rule('AADProvisioningLogs | take Bogus')] },
        { emailTo: ['ops@contoso.com'], checkKql: false },
      ),
    ).not.toThrow();
  });

  it('passes the queries the monitor itself sends to AADProvisioningLogs (provisioningLogs.source: logAnalytics)', async () => {
    const sent: string[] = [];
    const client: LogsQuerier = {
      queryWorkspace: async (_workspace, query) => {
        sent.push(query);
        return { status: 'Success', tables: [{ name: 'PrimaryResult', columnDescriptors: [], rows: [] }] } as never;
      },
    };
    const source = createLogAnalyticsEventSource(client, 'ws', '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b');
    for await (const _ of source.failuresSince(Date.now() - 3600_000)) break;
    for await (const _ of source.stagedDeletes('job.1', Date.now() - 3600_000)) break;
    await source.latestEvent('job.1', undefined);
    expect(sent).toHaveLength(3);
    for (const query of sent) expect(kqlErrors(query), query).toEqual([]);
  });

  it('knows the 28 published columns; the Log Analytics emulator serves them and the Action of the sample queries', () => {
    expect(Object.keys(AAD_PROVISIONING_LOGS.columns)).toHaveLength(28);
    expect(AAD_PROVISIONING_LOGS_COLUMNS).toEqual({ ...AAD_PROVISIONING_LOGS.columns, Action: 'string' });
  });
});
