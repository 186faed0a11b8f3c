import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { buildPolicy, ConfigError, defaultRules, loadPolicy } from '../../lib/config/config';
import { DURATION_PATTERN, formatDurationText, parseDuration } from '../../lib/util/duration';
import { DEFAULT_BUDGET, DEFAULT_REPEAT_MS, SEND_BUDGETS, settingsFor } from '../../lib/model/policy';
import { withRegistry } from '../../lib/config/schema';
import { CONDITIONS } from '../../lib/evaluate/rules';

const DEFAULT_RULES = defaultRules();
const settingsOf = (rule: { settings: { pendingCycles: number; keepFiringForMs: number } } | undefined) => ({
  pendingCycles: rule?.settings.pendingCycles,
  keepFiringForMs: rule?.settings.keepFiringForMs,
});
import schema from '../../config.schema.json';
import example from '../../examples/watch-config.json';

const defaults = { emailTo: ['ops@contoso.com'] };
const validate = new Ajv({ allErrors: true }).compile(schema);
const EXAMPLE_PATH = join(__dirname, '../../examples/watch-config.json');

function problemsOf(raw: unknown, emailTo = defaults.emailTo): string[] {
  try {
    buildPolicy(raw, { emailTo });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the changes below poke at any field of the example
type Editable = any;

/** A deep copy of the example with one change, so each broken config has exactly one mistake. */
function exampleWith(change: (config: Editable) => void): unknown {
  const config = structuredClone(example);
  change(config);
  return config;
}

/** `route.routes[1].match` → `/route/routes/1/match`, the JSON Pointer ajv reports. */
function pointerOf(problem: string): string {
  const path = problem.slice(0, problem.indexOf(': '));
  return [...path.matchAll(/\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\["([^"]*)"\]/g)]
    .map((m) => `/${m[1] ?? m[2] ?? m[3]}`)
    .join('');
}

/** Where ajv's last errors point, counting a misspelt, missing or badly named field as the field itself. */
function schemaErrorPointers(): string[] {
  return (validate.errors ?? []).map((e) => {
    const params = e.params as { additionalProperty?: string; missingProperty?: string; propertyName?: string };
    const name = params.additionalProperty ?? params.missingProperty ?? params.propertyName;
    return name === undefined ? e.instancePath : `${e.instancePath}/${name}`;
  });
}

describe('the example config', () => {
  it('is valid for the schema and for buildPolicy', () => {
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    expect(problemsOf(example)).toEqual([]);
  });

  it('becomes the policy it describes', () => {
    const policy = buildPolicy(example, defaults);
    expect(policy.route.routes.map((r) => r.id)).toEqual(['root.0', 'root.1', 'root.2']);
    expect(policy.route.routes[0]).toMatchObject({
      to: ['change-approval@contoso-msp.com'],
      continue: true,
      repeatMs: { critical: 2 * 3600_000, warning: 2 * 3600_000 },
    });
    expect(policy.route.routes[2]?.repeatMs).toEqual({ critical: 8 * 3600_000, warning: 24 * 3600_000 });
    expect(policy.silences[0]?.startsAt).toEqual(new Date('2026-11-27T17:00:00Z'));
    expect(policy.maintenanceWindows[0]).toMatchObject({ name: 'Weekend patching', timeZone: 'Europe/Berlin' });
    expect(settingsOf(policy.rules['tenant-unreadable'])).toEqual({ pendingCycles: 2, keepFiringForMs: 15 * 60_000 });
    expect(policy.rules.quarantine).toEqual(DEFAULT_RULES.quarantine);
    expect(policy.budget).toEqual({ perMinute: 20, perHour: 80 });
    expect(policy.heartbeat).toEqual({
      url: 'https://hc-ping.com/8f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b',
      method: 'POST',
    });
    expect(policy.tenantNames.get('northwindtraders.onmicrosoft.com')).toBe('Northwind Traders');
  });

  it('loads from its file', () => {
    expect(loadPolicy(EXAMPLE_PATH, defaults).route.to).toEqual(['identity-ops@contoso-msp.com']);
  });
});

describe('schema and validator agree on broken configs', () => {
  const broken: [string, (c: Editable) => void, string][] = [
    [
      `route.routes[1].match.condition: expected one of ${CONDITIONS.join(', ')}, got "quarantined"`,
      (c) => (c.route.routes[1].match.condition = 'quarantined'),
      'condition not in the enum',
    ],
    [
      'route.routes[0].mtach: unknown field (expected one of match, to, cc, repeatInterval, sendResolved, continue, routes, channels, digest, timeZone, escalate)',
      (c) => {
        c.route.routes[0].mtach = c.route.routes[0].match;
        delete c.route.routes[0].match;
      },
      'misspelt field',
    ],
    [
      'route.escalate[0].after: "half an hour" is not a duration (e.g. 30m, 4h, 1d)',
      (c) => (c.route.escalate[0].after = 'half an hour'),
      'escalation delay in words',
    ],
    [
      'route.escalate[0].severity: expected one of critical, warning, got "high"',
      (c) => (c.route.escalate[0].severity = 'high'),
      'escalation severity not in the enum',
    ],
    [
      'route.escalate[0].severty: unknown field (expected one of after, to, cc, channels, severity)',
      (c) => {
        c.route.escalate[0].severty = c.route.escalate[0].severity;
        delete c.route.escalate[0].severity;
      },
      'misspelt escalation field',
    ],
    [
      'route.repeatInterval: "4 hours" is not a duration (e.g. 30m, 4h, 1d)',
      (c) => (c.route.repeatInterval = '4 hours'),
      'duration in words',
    ],
    [
      'route.routes[2].repeatInterval.critical: "0m" must be longer than zero',
      (c) => (c.route.routes[2].repeatInterval.critical = '0m'),
      'zero repeat',
    ],
    ['sendBudget.perMinute: expected a whole number ≥ 1, got 0', (c) => (c.sendBudget.perMinute = 0), 'zero budget'],
    [
      'sendBudget.perHour: expected a whole number ≥ 1, got 2.5',
      (c) => (c.sendBudget.perHour = 2.5),
      'fractional budget',
    ],
    [
      'heartbeat.url: "http://hc-ping.com/x" must use https://',
      (c) => (c.heartbeat.url = 'http://hc-ping.com/x'),
      'plain http heartbeat',
    ],
    ['heartbeat.method: expected one of GET, POST, got "PUT"', (c) => (c.heartbeat.method = 'PUT'), 'heartbeat method'],
    [
      'maintenanceWindows[0].weekly[0].start: "25:00" is not a time of day; expected HH:MM from 00:00 to 24:00',
      (c) => (c.maintenanceWindows[0].weekly[0].start = '25:00'),
      'hour 25',
    ],
    [
      'maintenanceWindows[0].weekly[0].days[0]: expected one of mon, tue, wed, thu, fri, sat, sun, got "saturday"',
      (c) => (c.maintenanceWindows[0].weekly[0].days = ['saturday']),
      'long day name',
    ],
    ['route.match: not allowed on the root route', (c) => (c.route.match = { tenant: '*' }), 'match on the root'],
    [
      'route.routes[1].cc[0]: "identity-ops at contoso-msp.com" is not an email address',
      (c) => (c.route.routes[1].cc = ['identity-ops at contoso-msp.com']),
      'bad address',
    ],
    ['route.routes[0].to: expected at least one email address', (c) => (c.route.routes[0].to = []), 'empty to'],
    [
      'silences[0].startsAt: "2026-11-27 18:00" is not an ISO 8601 date-time with a time zone',
      (c) => (c.silences[0].startsAt = '2026-11-27 18:00'),
      'date-time without T and zone',
    ],
    [
      'silences[0].endsAt: "2026-11-28T06:00:00" is not an ISO 8601 date-time with a time zone',
      (c) => (c.silences[0].endsAt = '2026-11-28T06:00:00'),
      'local date-time',
    ],
    ['silences[0].matchers: give at least one matcher', (c) => (c.silences[0].matchers = {}), 'silence of everything'],
    ['silences[0].comment: required', (c) => delete c.silences[0].comment, 'silence without comment'],
    [
      'route.routes[1].match.app: expected at least one value',
      (c) => (c.route.routes[1].match.app = []),
      'empty matcher list',
    ],
    [
      'route.routes[1].match.severity: expected one of critical, warning, got "high"',
      (c) => (c.route.routes[1].match.severity = 'high'),
      'severity not in the enum',
    ],
    [
      `rules.quarantined: unknown field (expected one of ${CONDITIONS.join(', ')})`,
      (c) => (c.rules.quarantined = { pendingCycles: 1 }),
      'misspelt condition',
    ],
    [
      'rules["tenant-unreadable"].pendingCycles: expected a whole number ≥ 0, got -1',
      (c) => (c.rules['tenant-unreadable'].pendingCycles = -1),
      'negative pending',
    ],
    [
      'rules["tenant-unreadable"].keepFiringFor: "1.5h" is not a duration',
      (c) => (c.rules['tenant-unreadable'].keepFiringFor = '1.5h'),
      'fractional duration',
    ],
    [
      'route.routes[0].continue: expected true or false, got "yes"',
      (c) => (c.route.routes[0].continue = 'yes'),
      'continue as text',
    ],
    [
      'tenants["fabrikam"]: not a tenant ID (GUID) or domain name',
      (c) => (c.tenants.fabrikam = { name: 'Fabrikam' }),
      'tenant by name',
    ],
    [
      'silence: unknown field (expected one of $schema, route, silences, maintenanceWindows, rules, sendBudget, heartbeat, tenants, discovery, provisioningLogs, kqlRules, actions)',
      (c) => (c.silence = []),
      'misspelt top-level field',
    ],
    [
      'discovery.refreshInterval: "daily" is not a duration',
      (c) => (c.discovery.refreshInterval = 'daily'),
      'refresh in words',
    ],
    [
      'discovery.servicePrincipals["3f6a1c52-8d4e-4b7a-9c21-5e0d7f4a2b19"][0]: "ServiceNow" is not a service principal object ID (a GUID)',
      (c) => (c.discovery.servicePrincipals['3f6a1c52-8d4e-4b7a-9c21-5e0d7f4a2b19'] = ['ServiceNow']),
      'app name for an id',
    ],
    [
      'rules["job-stalled"].intervals: must be at least 1, got 0',
      (c) => (c.rules['job-stalled'].intervals = 0),
      'zero intervals',
    ],
    [
      'rules["job-failing"].minEscrowed: expected a whole number, got 2.5',
      (c) => (c.rules['job-failing'].minEscrowed = 2.5),
      'fractional escrow threshold',
    ],
  ];

  it.each(broken)('%s', (expected, change) => {
    const config = exampleWith(change);
    expect(validate(config)).toBe(false);
    const problems = problemsOf(config);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(expected);
    // ...and both point at the same field.
    expect(schemaErrorPointers()).toContain(pointerOf(expected));
  });
});

describe('checks only buildPolicy makes (the schema cannot)', () => {
  const cases: [string, (c: Editable) => void][] = [
    [
      'maintenanceWindows[0].timeZone: "Mars/Olympus" is not an IANA time zone',
      (c) => (c.maintenanceWindows[0].timeZone = 'Mars/Olympus'),
    ],
    ['silences[0].endsAt: must be after startsAt', (c) => (c.silences[0].endsAt = '2026-11-27T17:00:00Z')],
    [
      'silences[0].startsAt: "2026-02-30T00:00:00Z" is not an ISO 8601 date-time',
      (c) => (c.silences[0].startsAt = '2026-02-30T00:00:00Z'),
    ],
    [
      'tenants["NorthwindTraders.onmicrosoft.com"]: the same tenant as tenants["northwindtraders.onmicrosoft.com"]',
      (c) => (c.tenants['NorthwindTraders.onmicrosoft.com'] = { name: 'NWT' }),
    ],
  ];

  it.each(cases)('%s', (expected, change) => {
    const config = exampleWith(change);
    expect(validate(config)).toBe(true);
    expect(problemsOf(config)).toEqual([expect.stringContaining(expected)]);
  });
});

describe('buildPolicy problems', () => {
  it('names every problem at once, in a message naming the source', () => {
    const raw = {
      route: { repeatInterval: '4 hours', routes: [{ match: { condition: 'quarantined' }, mtach: {} }] },
      sendBudget: { perMinute: 0 },
    };
    let error: unknown;
    try {
      buildPolicy(raw, defaults, '/etc/watch.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(4);
    expect((error as ConfigError).message).toBe(
      [
        'Invalid config /etc/watch.json:',
        '  - route.repeatInterval: "4 hours" is not a duration (e.g. 30m, 4h, 1d)',
        '  - route.routes[0].mtach: unknown field (expected one of match, to, cc, repeatInterval, sendResolved, continue, routes, channels, digest, timeZone, escalate)',
        `  - route.routes[0].match.condition: expected one of ${CONDITIONS.join(', ')}, got "quarantined"`,
        '  - sendBudget.perMinute: expected a whole number ≥ 1, got 0',
      ].join('\n'),
    );
  });

  it('refuses a non-object, and wrong types with what was given', () => {
    expect(problemsOf([])).toEqual(['expected a JSON object at the top level, got an array']);
    expect(problemsOf({ route: { routes: {} }, silences: null })).toEqual([
      'route.routes: expected a list, got an object',
      'silences: expected a list, got null',
    ]);
    expect(problemsOf({ route: { repeatInterval: 4 } })).toEqual([
      'route.repeatInterval: expected a duration (e.g. 4h) or an object with critical and/or warning durations, got 4',
    ]);
    expect(problemsOf({ route: { continue: true } })).toEqual([
      'route.continue: not allowed on the root route, which has no siblings',
    ]);
  });

  it("refuses reserved example addresses in a route's to and cc, naming the path", () => {
    expect(
      problemsOf({
        route: {
          to: ['ops@example.com'],
          routes: [{ match: { condition: 'quarantine' }, to: ['it@fabrikam.com'], cc: ['lead@northwind.test'] }],
        },
      }),
    ).toEqual([
      expect.stringMatching(/^route\.to\[0\]: "ops@example\.com" is an example address: .* reserved/),
      expect.stringMatching(/^route\.routes\[0\]\.cc\[0\]: "lead@northwind\.test" is an example address/),
    ]);
  });

  it('names every missing field of a maintenance window', () => {
    expect(problemsOf({ maintenanceWindows: [{ weekly: [{ days: ['sat'] }] }] })).toEqual([
      'maintenanceWindows[0].name: required: shown in logs as the reason alerts were muted',
      'maintenanceWindows[0].matchers: required: which alerts the window mutes',
      'maintenanceWindows[0].timeZone: required: an IANA time zone such as Europe/Berlin',
      'maintenanceWindows[0].weekly[0].start: required: a local time HH:MM',
      'maintenanceWindows[0].weekly[0].end: required: a local time HH:MM',
      'maintenanceWindows[0].createdBy: required: who set up this window',
      'maintenanceWindows[0].comment: required: why alerts are muted during it',
    ]);
  });

  it('needs recipients for the root when ALERT_EMAIL_TO gives none', () => {
    expect(problemsOf({}, [])).toEqual(['route.to: required: no ALERT_EMAIL_TO to fall back on']);
  });

  it('accepts $schema and an empty object', () => {
    expect(problemsOf({ $schema: './config.schema.json' })).toEqual([]);
    expect(validate({ $schema: './config.schema.json' })).toBe(true);
  });
});

describe('defaults and inheritance', () => {
  it('with no config: everything to ALERT_EMAIL_TO, default repeats, resolved notices, budget and rules', () => {
    const policy = buildPolicy({}, defaults);
    expect(policy.route).toEqual({
      id: 'root',
      to: ['ops@contoso.com'],
      cc: [],
      repeatMs: DEFAULT_REPEAT_MS,
      sendResolved: true,
      continue: false,
      routes: [],
    });
    expect(policy.silences).toEqual([]);
    expect(policy.maintenanceWindows).toEqual([]);
    expect(policy.rules).toEqual(DEFAULT_RULES);
    expect(policy.budget).toEqual(DEFAULT_BUDGET);
    expect(policy.heartbeat).toBeUndefined();
    expect(policy.tenantNames.size).toBe(0);
  });

  it('names routes by their path in the tree', () => {
    const policy = buildPolicy({ route: { routes: [{ routes: [{}, {}, { match: { job: 'j1' } }] }, {}] } }, defaults);
    const ids: string[] = [];
    const walk = (r: typeof policy.route): void => {
      ids.push(r.id);
      r.routes.forEach(walk);
    };
    walk(policy.route);
    expect(ids).toEqual(['root', 'root.0', 'root.0.0', 'root.0.1', 'root.0.2', 'root.1']);
  });

  it('inherits to and cc independently; cc: [] stops a cc', () => {
    const policy = buildPolicy(
      {
        route: {
          cc: ['lead@contoso.com'],
          routes: [
            {
              match: { tenantName: 'Fabrikam' },
              to: ['it@fabrikam.com'],
              routes: [{ match: { severity: 'warning' }, cc: [] }],
            },
            { match: { tenantName: 'Northwind' }, cc: ['desk@northwind.com'] },
          ],
        },
      },
      defaults,
    );
    const [fabrikam, northwind] = policy.route.routes;
    expect(fabrikam).toMatchObject({ to: ['it@fabrikam.com'], cc: ['lead@contoso.com'] });
    expect(fabrikam?.routes[0]).toMatchObject({ to: ['it@fabrikam.com'], cc: [] });
    expect(northwind).toMatchObject({ to: ['ops@contoso.com'], cc: ['desk@northwind.com'] });
  });

  it('inherits repeat intervals per severity, and sendResolved; continue is never inherited', () => {
    const policy = buildPolicy(
      {
        route: {
          repeatInterval: { warning: '12h' },
          sendResolved: false,
          routes: [{ continue: true, repeatInterval: { critical: '1h' }, routes: [{ repeatInterval: 'PT30M' }, {}] }],
        },
      },
      defaults,
    );
    const child = policy.route.routes[0];
    expect(policy.route.repeatMs).toEqual({ critical: DEFAULT_REPEAT_MS.critical, warning: 12 * 3600_000 });
    expect(child).toMatchObject({
      repeatMs: { critical: 3600_000, warning: 12 * 3600_000 },
      sendResolved: false,
      continue: true,
    });
    expect(child?.routes[0]?.repeatMs).toEqual({ critical: 30 * 60_000, warning: 30 * 60_000 });
    expect(child?.routes[1]).toMatchObject({ repeatMs: child?.repeatMs, continue: false });
  });

  it('normalises days, time zones and tenant IDs', () => {
    const policy = buildPolicy(
      {
        maintenanceWindows: [
          {
            name: 'w',
            matchers: { tenant: '*' },
            timeZone: 'europe/berlin',
            weekly: [{ days: ['SAT', 'Sun', 'sat'], start: '22:00', end: '06:00' }],
            createdBy: 'a',
            comment: 'b',
          },
        ],
        tenants: { '3F6A1C52-8D4E-4B7A-9C21-5E0D7F4A2B19': { name: 'Fabrikam' } },
      },
      defaults,
    );
    expect(policy.maintenanceWindows[0]?.timeZone).toBe('Europe/Berlin');
    expect(policy.maintenanceWindows[0]?.weekly[0]?.days).toEqual(['sat', 'sun']);
    expect([...policy.tenantNames]).toEqual([['3f6a1c52-8d4e-4b7a-9c21-5e0d7f4a2b19', 'Fabrikam']]);
  });

  it('merges rules field by field over the defaults', () => {
    const policy = buildPolicy(
      { rules: { quarantine: { keepFiringFor: '10m' }, 'deletion-threshold': { pendingCycles: 1 } } },
      defaults,
    );
    expect(settingsOf(policy.rules.quarantine)).toEqual({ pendingCycles: 0, keepFiringForMs: 600_000 });
    expect(settingsOf(policy.rules['deletion-threshold'])).toEqual({ pendingCycles: 1, keepFiringForMs: 0 });
    expect(policy.rules['tenant-unreadable']).toEqual(DEFAULT_RULES['tenant-unreadable']);
  });

  it("defaults the send budget to the sender domain's ACS limits, and sendBudget overrides them", () => {
    expect(SEND_BUDGETS).toEqual({ managed: { perMinute: 5, perHour: 10 }, custom: { perMinute: 30, perHour: 100 } });
    expect(DEFAULT_BUDGET).toEqual(SEND_BUDGETS.managed);
    const custom = { ...defaults, sendBudget: SEND_BUDGETS.custom };
    expect(buildPolicy({}, custom).budget).toEqual({ perMinute: 30, perHour: 100 });
    expect(buildPolicy({ sendBudget: { perHour: 50 } }, custom).budget).toEqual({ perMinute: 30, perHour: 50 });
    expect(buildPolicy({ sendBudget: { perMinute: 2 } }, defaults).budget).toEqual({ perMinute: 2, perHour: 10 });
  });
  it('defaults the heartbeat method to POST and the budget field by field', () => {
    const policy = buildPolicy(
      { heartbeat: { url: 'https://example.com/ping' }, sendBudget: { perHour: 50 } },
      defaults,
    );
    expect(policy.heartbeat).toEqual({ url: 'https://example.com/ping', method: 'POST' });
    expect(policy.budget).toEqual({ perMinute: DEFAULT_BUDGET.perMinute, perHour: 50 });
  });
});

describe('durations', () => {
  const valid: [string, number][] = [
    ['30s', 30_000],
    ['5m', 300_000],
    ['4h', 4 * 3600_000],
    ['1d', 86_400_000],
    ['2w', 14 * 86_400_000],
    ['1h30m', 5_400_000],
    ['2d12h', 60 * 3600_000],
    ['90m', 5_400_000],
    ['0s', 0],
    ['1d2h3m4s', 93_784_000],
    ['PT4H', 4 * 3600_000],
    ['P1D', 86_400_000],
    ['PT1H30M', 5_400_000],
    ['P1DT12H', 36 * 3600_000],
    ['PT45S', 45_000],
    ['P2W', 14 * 86_400_000],
    ['PT0S', 0],
  ];
  const invalid = [
    '',
    '4 hours',
    '1.5h',
    '-5m',
    '4H',
    'h',
    '30m1h',
    '4hh',
    ' 4h',
    '4h ',
    'P',
    'PT',
    'P1Y',
    'P1M',
    'PT1.5H',
    'P1W2D',
    '4',
    'pt4h',
    'P1H',
  ];

  it.each(valid)('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(invalid)('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('the schema pattern is the parser grammar, and accepts exactly what the parser accepts', () => {
    expect(schema.definitions.duration.pattern).toBe(DURATION_PATTERN);
    const keepFiringFor = (text: string): boolean => validate({ rules: { quarantine: { keepFiringFor: text } } });
    for (const [text] of valid) expect(keepFiringFor(text), text).toBe(true);
    for (const text of invalid) expect(keepFiringFor(text), text).toBe(false);
    const repeat = (text: string): boolean => validate({ route: { repeatInterval: text } });
    expect(['0s', 'PT0S', '0h0m'].map(repeat)).toEqual([false, false, false]);
    expect(['10s', 'PT0H1M', '0h1m'].map(repeat)).toEqual([true, true, true]);
  });

  it('formats milliseconds as the shortest text', () => {
    expect(formatDurationText(5_400_000)).toBe('1h30m');
    expect(formatDurationText(36 * 3600_000)).toBe('1d12h');
    expect(formatDurationText(0)).toBe('0s');
    expect(formatDurationText(1500)).toBe('1s');
    expect(parseDuration(formatDurationText(93_784_000))).toBe(93_784_000);
  });
});

describe('loadPolicy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'watch-config-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('uses the defaults when no file is configured', () => {
    expect(loadPolicy(undefined, defaults)).toEqual(buildPolicy({}, defaults));
  });

  it('names a missing file', () => {
    const path = join(dir, 'missing.json');
    expect(() => loadPolicy(path, defaults)).toThrow(`Invalid config ${path}:\n  - no such file`);
  });

  it('names invalid JSON with where it went wrong', () => {
    const path = file('broken.json', '{\n  "sendBudget": {\n    "perHour": 60,\n  }\n}\n');
    expect(() => loadPolicy(path, defaults)).toThrow(`Invalid config ${path}:\n  - not valid JSON: `);
    expect(() => loadPolicy(path, defaults)).toThrow(/line 4/);
  });

  it('refuses a file that is not a JSON object, and names the file in validation errors', () => {
    expect(() => loadPolicy(file('list.json', '[]'), defaults)).toThrow(
      'expected a JSON object at the top level, got an array',
    );
    const bad = file('bad.json', '{ "sendBudget": { "perMinute": 0 } }');
    expect(() => loadPolicy(bad, defaults)).toThrow(`Invalid config ${bad}:\n  - sendBudget.perMinute`);
  });

  it('reads a file with a byte-order mark (as Windows editors save it)', () => {
    expect(loadPolicy(file('bom.json', '\uFEFF{ "sendBudget": { "perHour": 60 } }'), defaults).budget.perHour).toBe(60);
  });
});

describe('rule settings from the registry', () => {
  it('config.schema.json holds every registered rule and its parameters (npm run schema writes them)', () => {
    expect(withRegistry(schema as never)).toEqual(schema);
  });

  it('turns a rule off, changes its severity, and overrides it per tenant and app, later overrides winning', () => {
    const policy = buildPolicy(
      {
        tenants: { 'aaaaaaaa-0000-0000-0000-000000000001': { name: 'Fabrikam' } },
        rules: {
          quarantine: {
            severity: 'warning',
            keepFiringFor: '10m',
            overrides: [
              { match: { tenantName: 'Fab*' }, severity: 'critical' },
              { match: { tenantName: 'Fabrikam', app: 'HR*' }, enabled: false },
            ],
          },
          'deletion-threshold': { enabled: false },
        },
      },
      defaults,
    );
    const q = policy.rules.quarantine!;
    expect(settingsFor(q, { tenant: 'other' })).toMatchObject({
      enabled: true,
      severity: 'warning',
      keepFiringForMs: 600_000,
    });
    expect(
      settingsFor(q, { tenant: 'aaaaaaaa-0000-0000-0000-000000000001', tenantName: 'Fabrikam', app: 'Payroll' }),
    ).toMatchObject({ enabled: true, severity: 'critical' });
    expect(
      settingsFor(q, { tenant: 'aaaaaaaa-0000-0000-0000-000000000001', tenantName: 'Fabrikam', app: 'HR sync' }),
    ).toMatchObject({ enabled: false, severity: 'critical' });
    expect(policy.rules['deletion-threshold']!.settings.enabled).toBe(false);
  });

  it('names a bad override by its path, for the validator and the schema alike', () => {
    const bad = {
      rules: {
        quarantine: { overrides: [{ match: { condition: 'quarantine' }, severity: 'high' }, { enabled: true }] },
      },
    };
    expect(problemsOf(bad)).toEqual([
      'rules.quarantine.overrides[0].match.condition: unknown field (expected one of tenant, tenantName, servicePrincipal, app, jobTemplate, job)',
      'rules.quarantine.overrides[0].severity: expected one of critical, warning, got "high"',
      'rules.quarantine.overrides[1].match: required: which tenants, apps or jobs the override is for',
    ]);
    expect(validate(bad)).toBe(false);
    expect(schemaErrorPointers()).toEqual(
      expect.arrayContaining([
        '/rules/quarantine/overrides/0/match/condition',
        '/rules/quarantine/overrides/0/severity',
        '/rules/quarantine/overrides/1/match',
      ]),
    );
  });
});

describe('discovery', () => {
  it('defaults to a daily sweep and no listed service principals', () => {
    expect(buildPolicy({}, defaults).discovery).toEqual({ refreshMs: 24 * 3600_000, servicePrincipals: new Map() });
  });

  it('reads the refresh interval and the service principals listed per tenant, ignoring case', () => {
    const policy = buildPolicy(
      {
        discovery: {
          refreshInterval: '6h',
          servicePrincipals: {
            'Contoso.onmicrosoft.com': ['7C1E4B2A-93D5-4F68-A0B7-2E5D8C9F1A36', '7c1e4b2a-93d5-4f68-a0b7-2e5d8c9f1a36'],
          },
        },
      },
      defaults,
    );
    expect(policy.discovery?.refreshMs).toBe(6 * 3600_000);
    expect(policy.discovery?.servicePrincipals.get('contoso.onmicrosoft.com')).toEqual([
      '7c1e4b2a-93d5-4f68-a0b7-2e5d8c9f1a36',
    ]);
    expect(buildPolicy(example, defaults).discovery?.refreshMs).toBe(12 * 3600_000);
  });

  it('names a listed tenant that is neither a GUID nor a domain, and a list that is not one', () => {
    expect(problemsOf({ discovery: { servicePrincipals: { fabrikam: [] } } })).toEqual([
      'discovery.servicePrincipals["fabrikam"]: not a tenant ID (GUID) or domain name',
    ]);
    expect(problemsOf({ discovery: { servicePrincipals: { 'contoso.com': 'x' } } })).toEqual([
      'discovery.servicePrincipals["contoso.com"]: expected a list, got "x"',
    ]);
    expect(problemsOf({ discovery: { refreshInterval: '0s' } })).toEqual([
      'discovery.refreshInterval: "0s" must be longer than zero',
    ]);
  });

  it('tunes the new rules per app through overrides', () => {
    const policy = buildPolicy(
      { rules: { 'job-stalled': { intervals: 5, overrides: [{ match: { app: 'HR*' }, atLeast: '6h' }] } } },
      defaults,
    );
    const stalled = policy.rules['job-stalled']!;
    expect(settingsFor(stalled, { app: 'HR inbound' }).params).toMatchObject({ intervals: 5, atLeast: 6 * 3600_000 });
    expect(settingsFor(stalled, { app: 'Salesforce' }).params).toMatchObject({ intervals: 5, atLeast: 3600_000 });
  });
});
