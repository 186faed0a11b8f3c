import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import schema from '../../config.schema.json';
import { buildPolicy, ConfigError } from '../../lib/config/config';
import type { KqlRule } from '../../lib/model/policy';
import { evaluateKql, judgeKql } from '../../lib/evaluate/kql';
import { ruleFor } from '../../lib/evaluate/rules';
import type { AlertRecord } from '../../lib/model';
import { viewOf } from '../../lib/evaluate/view';
import { isoDuration, logAnalyticsProblem, PartialResultError, type KqlOutcome } from '../../lib/observe/log-analytics';
import { KqlError, parseKql, runKql, type Row } from '../../emulators/kql';

const WORKSPACE = '6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b';
const TENANT = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const validate = new Ajv({ allErrors: true }).compile(schema);

function rule(overrides: Partial<KqlRule> = {}): KqlRule {
  return {
    name: 'kql-failure-spike',
    query: 'AADProvisioningLogs | where ResultType == "Failure" | summarize Failures = count() by JobId',
    timeSpanMs: 3600_000,
    threshold: { column: 'Failures', operator: '>', value: 50 },
    severity: 'warning',
    pendingCycles: 0,
    labels: {},
    ...overrides,
  };
}

const answer = (rows: Row[]) => ({ columns: rows[0] ? Object.keys(rows[0]) : ['JobId', 'Failures'], rows });

function problemsOf(raw: unknown): string[] {
  try {
    buildPolicy(raw, { emailTo: ['ops@contoso.com'] });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('judging a KQL rule', () => {
  it('compares the row count, or a column of any row, with the threshold', () => {
    const rows = [
      { JobId: 'a', Failures: 12 },
      { JobId: 'b', Failures: 70 },
      { JobId: 'c', Failures: 90 },
    ];
    expect(judgeKql(rule(), answer(rows))).toMatchObject({ crossed: true, observed: 90, matching: [rows[1], rows[2]] });
    expect(judgeKql(rule({ threshold: { column: 'Failures', operator: '<', value: 20 } }), answer(rows))).toMatchObject(
      { crossed: true, observed: 12 },
    );
    expect(
      judgeKql(rule({ threshold: { column: 'Failures', operator: '>', value: 100 } }), answer(rows)),
    ).toMatchObject({ crossed: false });
    expect(judgeKql(rule({ threshold: { operator: '>=', value: 3 } }), answer(rows))).toMatchObject({
      crossed: true,
      observed: 3,
    });
    // "No events in the last hour": fewer than one row.
    expect(judgeKql(rule({ threshold: { operator: '<', value: 1 } }), { columns: ['Id'], rows: [] })).toMatchObject({
      crossed: true,
      observed: 0,
    });
  });

  it('is a problem, not a verdict, when the result lacks the column', () => {
    expect(
      judgeKql(
        rule({ threshold: { column: 'Failed', operator: '>', value: 1 } }),
        answer([{ JobId: 'a', Failures: 3 }]),
      ),
    ).toEqual({ problem: 'the result has no column Failed (columns: JobId, Failures)' });
  });

  it('makes findings with the rule name as condition, routed by its labels, and judges only the rules answered in full', () => {
    const outcomes: KqlOutcome[] = [
      { rule: rule(), answer: answer([{ JobId: 'scim.x', Failures: 51 }]) },
      {
        rule: rule({
          name: 'kql-quiet',
          threshold: { operator: '<', value: 1 },
          labels: { tenant: TENANT, app: 'ServiceNow', job: 'scim.x' },
        }),
        answer: { columns: ['Id'], rows: [] },
      },
      {
        rule: rule({ name: 'kql-broken' }),
        problem: { kind: 'query-error', source: 'log-analytics', operation: 'kql rule kql-broken', message: 'syntax' },
      },
      {
        rule: rule({ name: 'kql-fine', threshold: { operator: '>', value: 5 } }),
        answer: answer([{ JobId: 'a', Failures: 1 }]),
      },
      {
        rule: rule({ name: 'kql-missing', threshold: { column: 'Nope', operator: '>', value: 5 } }),
        answer: answer([{ JobId: 'a', Failures: 1 }]),
      },
    ];
    const result = evaluateKql(outcomes, WORKSPACE);
    expect([...result.judged].sort()).toEqual(['kql-failure-spike', 'kql-fine', 'kql-quiet']);
    expect(result.problems.map((p) => p.operation)).toEqual(['kql rule kql-broken', 'kql rule kql-missing']);
    expect(result.findings.map((f) => f.labels)).toEqual([
      { tenantId: `workspace:${WORKSPACE}`, servicePrincipalId: '-', jobId: '-', condition: 'kql-failure-spike' },
      { tenantId: TENANT, servicePrincipalId: '-', jobId: 'scim.x', condition: 'kql-quiet' },
    ]);
    expect(result.findings[1]?.annotations).toMatchObject({
      servicePrincipalName: 'ServiceNow',
      threshold: 'row count < 1',
      observed: 0,
    });
  });

  it("is shown with the query, the result rows and the rule's own steps", () => {
    const [finding] = evaluateKql(
      [
        {
          rule: rule({ description: 'Too many failures for one job.', steps: ['Look at the job.', 'Fix it.'] }),
          answer: answer([{ JobId: 'scim.x', Failures: 51 }]),
        },
      ],
      WORKSPACE,
    ).findings;
    const alert: AlertRecord = { ...finding!, state: 'firing', notified: {}, startsAt: '2026-11-27T12:00:00.000Z' };
    const view = viewOf(alert, { now: new Date('2026-11-27T12:05:00Z'), tenantNames: new Map() });
    expect(ruleFor('kql-failure-spike')?.title).toBe('kql-failure-spike');
    expect(ruleFor('not-a-rule')).toBeUndefined();
    expect(view.about).toBe(`workspace ${WORKSPACE}`);
    expect(Object.fromEntries(view.facts)).toMatchObject({
      Threshold: 'Failures > 50',
      Result: '51 (1 of 1 row(s) match)',
      'Time span': 'the last 1 h',
      'Row 1': 'JobId=scim.x, Failures=51',
    });
    expect(view.runbook).toEqual({ meaning: 'Too many failures for one job.', steps: ['Look at the job.', 'Fix it.'] });
  });
});

describe('Log Analytics problems', () => {
  const restError = (statusCode: number, body: unknown, headers: Record<string, string> = {}) =>
    Object.assign(new Error('failed'), {
      name: 'RestError',
      statusCode,
      response: { bodyAsText: JSON.stringify(body), headers: { get: (n: string) => headers[n.toLowerCase()] } },
    });

  it('names a partial result, a refused query, throttling, a timeout and missing access', () => {
    expect(
      logAnalyticsProblem(new PartialResultError('PartialError', 'There were some errors'), 'kql rule x'),
    ).toMatchObject({ kind: 'partial', message: 'There were some errors' });
    const syntax = restError(400, {
      error: {
        code: 'BadArgumentError',
        message: 'The request had some invalid properties',
        innererror: { code: 'SyntaxError', message: 'A recognition error occurred in the query.' },
      },
    });
    expect(logAnalyticsProblem(syntax, 'kql rule x')).toMatchObject({
      kind: 'query-error',
      code: 'SyntaxError',
      message: 'The request had some invalid properties: A recognition error occurred in the query.',
    });
    expect(
      logAnalyticsProblem(
        restError(429, { error: { code: 'ThrottledError', message: 'slow down' } }, { 'retry-after': '30' }),
        'x',
      ),
    ).toMatchObject({ kind: 'throttled', retryAfterSeconds: 30 });
    expect(
      logAnalyticsProblem(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }), 'x').kind,
    ).toBe('timeout');
    expect(
      logAnalyticsProblem(restError(504, { error: { code: 'GatewayTimeout', message: 'too long' } }), 'x').kind,
    ).toBe('timeout');
    expect(
      logAnalyticsProblem(restError(403, { error: { code: 'InsufficientAccessError', message: 'no' } }), 'x'),
    ).toMatchObject({ kind: 'access', missing: 'the Log Analytics Reader role on the workspace' });
    expect(isoDuration(3600_000)).toBe('PT3600S');
  });
});

describe('kqlRules in the config', () => {
  const valid = {
    kqlRules: [
      {
        name: 'kql-failure-spike',
        query: 'AADProvisioningLogs | count',
        timeSpan: '1h',
        threshold: { column: 'Count', operator: '>', value: 50 },
        severity: 'critical',
        labels: { tenant: TENANT.toUpperCase(), app: 'ServiceNow' },
      },
      {
        name: 'kql-quiet',
        query: 'AADProvisioningLogs',
        timeSpan: 'PT6H',
        threshold: { operator: '<', value: 1 },
        enabled: false,
      },
    ],
    route: { routes: [{ match: { condition: ['kql-failure-spike', 'kql-quiet'] }, to: ['logs@contoso.com'] }] },
    silences: [
      {
        matchers: { condition: 'kql-quiet' },
        startsAt: '2026-01-01T00:00:00Z',
        endsAt: '2027-01-01T00:00:00Z',
        createdBy: 'a@contoso.com',
        comment: 'noisy',
      },
    ],
  };

  it('becomes the rules it describes, and their names work as conditions in routes and silences', () => {
    expect(validate(valid), JSON.stringify(validate.errors)).toBe(true);
    const policy = buildPolicy(valid, { emailTo: ['ops@contoso.com'] });
    expect(policy.kqlRules).toEqual([
      {
        name: 'kql-failure-spike',
        query: 'AADProvisioningLogs | count',
        timeSpanMs: 3600_000,
        threshold: { column: 'Count', operator: '>', value: 50 },
        severity: 'critical',
        pendingCycles: 0,
        labels: { tenant: TENANT, app: 'ServiceNow' },
        description: undefined,
        steps: undefined,
      },
    ]);
    expect(policy.route.routes[0]?.match?.condition).toEqual(['kql-failure-spike', 'kql-quiet']);
  });

  it('refuses a condition that names no rule', () => {
    expect(problemsOf({ route: { routes: [{ match: { condition: 'kql-nope' }, to: ['a@contoso.com'] }] } })[0]).toMatch(
      /^route\.routes\[0\]\.match\.condition: expected one of tenant-unreadable, .*provisioning-logs-unreadable, monitoring-partial, got "kql-nope"$/,
    );
  });

  it.each([
    ['kqlRules[0].name: "Failure spike" must start with kql-', { name: 'Failure spike' }, true],
    ['kqlRules[0].timeSpan: "an hour" is not a duration', { timeSpan: 'an hour' }, true],
    ['kqlRules[0].timeSpan: must be at most 30d', { timeSpan: '31d' }, false],
    [
      'kqlRules[0].threshold.operator: expected one of >, >=, <, <=, ==, !=, got "gt"',
      { threshold: { operator: 'gt', value: 1 } },
      true,
    ],
    ['kqlRules[0].threshold.value: required', { threshold: { column: 'Count' } }, true],
    ['kqlRules[0].labels.app: expected a non-empty value without wildcards', { labels: { app: 'Service*' } }, true],
    ['kqlRules[0].query: required', { query: undefined }, true],
    ['kqlRules[0].qurey: unknown field', { qurey: 'x' }, true],
  ])('%s', (expected, change, schemaCatchesIt) => {
    const config = { kqlRules: [{ ...valid.kqlRules[0], ...change }] };
    const problems = problemsOf(JSON.parse(JSON.stringify(config)));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(expected);
    expect(validate(JSON.parse(JSON.stringify(config)))).toBe(!schemaCatchesIt);
  });

  it('refuses two rules of one name and a built-in name', () => {
    const rules = [valid.kqlRules[0], { ...valid.kqlRules[0] }];
    expect(problemsOf({ kqlRules: rules })).toEqual([
      'kqlRules[1].name: "kql-failure-spike" is already the name of another rule',
    ]);
  });

  it('reads the provisioningLogs section', () => {
    const policy = buildPolicy(
      { provisioningLogs: { source: 'logAnalytics', maxPagesPerCycle: 5, overlap: '30m' } },
      { emailTo: ['ops@contoso.com'] },
    );
    expect(policy.provisioningLogs).toEqual({
      source: 'logAnalytics',
      maxPagesPerCycle: 5,
      overlapMs: 30 * 60_000,
      maxOverlapMs: 2 * 3600_000,
      rotationMs: 3600_000,
      everyCycleUpTo: 100,
    });
    expect(
      buildPolicy({ provisioningLogs: { rotation: '0m' } }, { emailTo: ['ops@contoso.com'] }).provisioningLogs,
    ).toMatchObject({ rotationMs: 0 });
    expect(
      buildPolicy({ provisioningLogs: { rotation: '2h' } }, { emailTo: ['ops@contoso.com'] }).provisioningLogs,
    ).toMatchObject({ rotationMs: 2 * 3600_000 });
    expect(problemsOf({ provisioningLogs: { rotation: '2d' } })).toHaveLength(1);
    const wide = buildPolicy({ provisioningLogs: { overlap: '3h' } }, { emailTo: ['ops@contoso.com'] });
    expect(wide.provisioningLogs).toMatchObject({ overlapMs: 3 * 3600_000, maxOverlapMs: 3 * 3600_000 });
    expect(problemsOf({ provisioningLogs: { overlap: '30m', maxOverlap: '20m' } })).toEqual([
      'provisioningLogs.maxOverlap: must be at least the overlap (30m), the most late events may widen it to; got "20m"',
    ]);
    expect(validate({ provisioningLogs: { maxOverlap: '4h' } })).toBe(true);
    expect(problemsOf({ provisioningLogs: { source: 'workspace' } })).toEqual([
      'provisioningLogs.source: expected one of graph, logAnalytics, got "workspace"',
    ]);
    expect(validate({ provisioningLogs: { source: 'workspace' } })).toBe(false);
  });
});

describe("the Log Analytics emulator's KQL", () => {
  const t = (iso: string) => new Date(iso);
  const rows: Row[] = [
    {
      Id: 'a',
      JobId: 'j1',
      ResultType: 'Failure',
      ResultSignature: 'EntryConflict',
      TimeGenerated: t('2026-11-27T10:00:00Z'),
      DurationMs: 10,
      ProvisioningAction: 'Create',
    },
    {
      Id: 'b',
      JobId: 'j1',
      ResultType: 'Success',
      ResultSignature: '',
      TimeGenerated: t('2026-11-27T10:05:00Z'),
      DurationMs: 30,
      ProvisioningAction: 'Update',
    },
    {
      Id: 'c',
      JobId: 'j2',
      ResultType: 'Failure',
      ResultSignature: 'Timeout',
      TimeGenerated: t('2026-11-27T10:05:00Z'),
      DurationMs: 20,
      ProvisioningAction: 'StagedDelete',
    },
    {
      Id: 'd',
      JobId: 'j2',
      ResultType: 'Failure',
      ResultSignature: 'Timeout',
      TimeGenerated: t('2026-11-27T11:00:00Z'),
      DurationMs: 40,
      ProvisioningAction: 'Create',
    },
  ];
  const table = {
    columns: [
      { name: 'Id', type: 'string' },
      { name: 'JobId', type: 'string' },
      { name: 'ResultType', type: 'string' },
      { name: 'ResultSignature', type: 'string' },
      { name: 'TimeGenerated', type: 'datetime' },
      { name: 'DurationMs', type: 'long' },
      { name: 'ProvisioningAction', type: 'string' },
    ],
    rows,
  };
  const run = (query: string) => runKql(parseKql(query), table, Date.parse('2026-11-27T11:30:00Z'));

  it('runs the shapes the product sends', () => {
    const keyset = run(
      'AADProvisioningLogs | where ResultType == "Failure" and (TimeGenerated > datetime(2026-11-27T10:05:00.000Z) or (TimeGenerated == datetime(2026-11-27T10:05:00.000Z) and Id > "b")) | order by TimeGenerated asc, Id asc | take 10',
    );
    expect(keyset.rows.map((r) => r.Id)).toEqual(['c', 'd']);
    expect(
      run(
        'AADProvisioningLogs | where JobId == "j2" and ProvisioningAction =~ "stagedDelete" | order by TimeGenerated desc | take 5',
      ).rows.map((r) => r.Id),
    ).toEqual(['c']);
    const latest = run(
      'AADProvisioningLogs | where JobId == "j1" | order by TimeGenerated desc | take 1 | project TimeGenerated',
    );
    expect(latest).toEqual({
      columns: [{ name: 'TimeGenerated', type: 'datetime' }],
      rows: [{ TimeGenerated: t('2026-11-27T10:05:00Z') }],
    });
  });

  it('summarizes, counts, filters with in, ago() and functions', () => {
    expect(
      run(
        'AADProvisioningLogs | where ResultType == "Failure" | summarize Failures = count(), LastSeen = max(TimeGenerated) by ResultSignature | order by Failures desc',
      ),
    ).toEqual({
      columns: [
        { name: 'ResultSignature', type: 'string' },
        { name: 'Failures', type: 'long' },
        { name: 'LastSeen', type: 'datetime' },
      ],
      rows: [
        { ResultSignature: 'Timeout', Failures: 2, LastSeen: t('2026-11-27T11:00:00Z') },
        { ResultSignature: 'EntryConflict', Failures: 1, LastSeen: t('2026-11-27T10:00:00Z') },
      ],
    });
    expect(run('AADProvisioningLogs | where TimeGenerated > ago(1h) | count').rows).toEqual([{ Count: 1 }]);
    expect(
      run('AADProvisioningLogs | where JobId in ("j1", "x") and tolower(ResultType) != "success" | project Id').rows,
    ).toEqual([{ Id: 'a' }]);
    expect(run('AADProvisioningLogs | summarize count()').rows).toEqual([{ count_: 4 }]);
    expect(
      run(
        'AADProvisioningLogs | where ResultSignature !in ("Timeout") | summarize Total = sum(DurationMs) by JobId | order by JobId asc',
      ).rows,
    ).toEqual([{ JobId: 'j1', Total: 40 }]);
  });

  it('refuses what it cannot run or parse, naming it', () => {
    expect(() => parseKql('AADProvisioningLogs | render timechart')).toThrow(
      new KqlError(
        'EmulatorUnsupported',
        "the emulator does not run the 'render' operator (it runs where, order by, sort by, take, limit, project, extend, summarize, count, top)",
      ),
    );
    expect(() => parseKql('AADProvisioningLogs | where ResultType == ')).toThrow(
      /Query could not be parsed at position/,
    );
    expect(() => run('AADProvisioningLogs | where Nope == 1')).toThrow(
      /Failed to resolve scalar expression named 'Nope'/,
    );
    expect(() => parseKql('AADProvisioningLogs | extend x = parse_json(SourceIdentity)')).toThrow(/parse_json/);
  });
});
