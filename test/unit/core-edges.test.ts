import { describe, expect, it } from 'vitest';
import type { KqlRule } from '../../lib/model/policy';
import { evaluateKql, judgeKql } from '../../lib/evaluate/kql';
import { objectRunbookStep } from '../../lib/evaluate/object-runbooks';
import { inhibitedBy } from '../../lib/inhibit/inhibit';
import { quarantineEnding } from '../../lib/evaluate/rules/quarantine';
import type { AlertRecord, AlertView, NotificationItem } from '../../lib/model';
import { httpsLinks, noticeView, repeatedRunbooks, subjectOf, summarize } from '../../lib/notify/notice';
import { TEAMS_CARD_BUDGET_BYTES, teamsMessage } from '../../lib/notify/channels/teams';
import { groupNotices } from '../../lib/notify/group';
import { bounded, displayLine, displayText } from '../../lib/util/safe-text';
import { relatedAlerts, viewOf } from '../../lib/evaluate/view';
import { ALERT_FIXTURES, noticeOf, RENDER_CONTEXT, type NoticeKind } from '../fixtures/alerts';
import { route } from '../support/policy';
import { oversizedNotices } from '../support/templates';

/**
 * Edges of the pure core that `npm run mutate` found no test for: each test here kills mutants
 * that survived a full run, and each says what a user would have got wrong.
 */

const kqlRule = (
  operator: KqlRule['threshold']['operator'],
  value: number,
  column?: string,
  query = 'T | take 10',
): KqlRule => ({
  name: 'kql-rule',
  query,
  timeSpanMs: 3_600_000,
  threshold: { column, operator, value },
  severity: 'warning',
  pendingCycles: 0,
  labels: {},
});

describe('KQL thresholds: every operator at its boundary', () => {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ n: i }));
  it.each([
    ['>', 3, [false, false, true]],
    ['>=', 3, [false, true, true]],
    ['<', 3, [true, false, false]],
    ['<=', 3, [true, true, false]],
    ['==', 3, [false, true, false]],
    ['!=', 3, [true, false, true]],
  ] as const)('row count %s %d at 2, 3 and 4 rows', (operator, value, expected) => {
    expect(
      [2, 3, 4].map(
        (count) =>
          (judgeKql(kqlRule(operator, value), { columns: ['n'], rows: rows(count) }) as { crossed: boolean }).crossed,
      ),
    ).toEqual(expected);
  });

  it('on a column: the rows that cross, and the most extreme value in the direction of the operator', () => {
    const answer = {
      columns: ['latency'],
      rows: [{ latency: 5 }, { latency: 50 }, { latency: 'n/a' }, { latency: 20 }],
    };
    expect(judgeKql(kqlRule('>', 10, 'latency'), answer)).toEqual({
      crossed: true,
      observed: 50,
      matching: [{ latency: 50 }, { latency: 20 }],
    });
    expect(judgeKql(kqlRule('<', 30, 'latency'), answer)).toEqual({
      crossed: true,
      observed: 5,
      matching: [{ latency: 5 }, { latency: 20 }],
    });
    expect(judgeKql(kqlRule('<=', 1, 'latency'), answer)).toEqual({
      crossed: false,
      observed: undefined,
      matching: [],
    });
    expect(judgeKql(kqlRule('>', 1, 'other'), answer)).toEqual({
      problem: 'the result has no column other (columns: latency)',
    });
    expect(judgeKql(kqlRule('>', 1, 'other'), { columns: [], rows: [] })).toEqual({
      problem: 'the result has no column other (columns: none)',
    });
  });

  it('names a rule whose answer lacks its column, judges nothing of it, and bounds what it stores of the rows and the query', () => {
    const missing = evaluateKql([{ rule: kqlRule('>', 1, 'other'), answer: { columns: ['n'], rows: [] } }], 'ws');
    expect(missing.problems).toEqual([
      {
        kind: 'query-error',
        source: 'log-analytics',
        operation: 'kql rule kql-rule',
        message: 'the result has no column other (columns: n)',
      },
    ]);
    expect(missing.judged.size).toBe(0);
    const failed = evaluateKql(
      [
        {
          rule: kqlRule('>', 1),
          problem: { kind: 'timeout', source: 'log-analytics', operation: 'kql rule kql-rule', message: 'no answer' },
        },
      ],
      'ws',
    );
    expect(failed.problems.map((p) => p.kind)).toEqual(['timeout']);
    expect(failed.judged.size).toBe(0);

    const long = 'x'.repeat(300);
    const when = new Date('2026-11-27T07:00:00Z');
    const rows = [
      { text: long, at: when, obj: { a: 1 }, none: null },
      ...Array.from({ length: 9 }, () => ({ text: 'y', at: when, obj: null, none: null })),
    ];
    const query = `T | where x == "${'q'.repeat(2100)}"`;
    const { findings } = evaluateKql(
      [{ rule: kqlRule('>', 5, undefined, query), answer: { columns: ['text', 'at', 'obj', 'none'], rows } }],
      'ws',
    );
    const annotations = findings[0]!.annotations;
    const sample = annotations.sample as Record<string, string>[];
    expect(sample).toHaveLength(5);
    expect(sample[0]).toEqual({
      text: `${'x'.repeat(199)}…`,
      at: '2026-11-27T07:00:00.000Z',
      obj: '{"a":1}',
      none: '',
    });
    expect(String(annotations.query)).toHaveLength(2000);
    expect(String(annotations.query).endsWith('…')).toBe(true);
    const short = evaluateKql(
      [{ rule: kqlRule('>', 0, undefined, 'q'.repeat(2000)), answer: { columns: ['n'], rows: [{ n: 1 }] } }],
      'ws',
    );
    expect(short.findings[0]!.annotations.query).toBe('q'.repeat(2000));
    const cellOf200 = evaluateKql(
      [{ rule: kqlRule('>', 0), answer: { columns: ['t'], rows: [{ t: 'z'.repeat(200) }] } }],
      'ws',
    );
    expect((cellOf200.findings[0]!.annotations.sample as Record<string, string>[])[0]!.t).toBe('z'.repeat(200));
  });
});

describe('display text from Graph, at its edges', () => {
  it('a line loses tabs and every kind of line break, and control characters become one space', () => {
    expect(displayLine('a\tb\r\nc\u2028d\u0085e')).toBe('a b c d e');
    expect(displayLine('a\u0007b\u001fc')).toBe('a b c');
    expect(displayLine('a  \u0000  b')).toBe('a b');
  });

  it('text keeps its line breaks as \\n, whatever they were, and loses controls', () => {
    expect(displayText('a\r\nb\rc\u2029d')).toBe('a\nb\nc\nd');
    expect(displayText('a\u0007b')).toBe('a b');
  });

  it('defangs foreign http and https URLs alike, and www. ones, in lines and text', () => {
    expect(displayLine('see http://evil.example/x now')).toBe('see hxxp://evil[.]example/x now');
    expect(displayText('see https://evil.example/x')).toBe('see hxxps://evil[.]example/x');
    expect(displayLine('www.evil.example')).toBe('www[.]evil[.]example');
    expect(displayLine('https://learn.microsoft.com/entra/')).toBe('https://learn.microsoft.com/entra/');
  });

  it('cuts at exactly its limit, counting characters, not UTF-16 units', () => {
    expect(bounded('abc', 3)).toBe('abc');
    expect(bounded('abcd', 3)).toBe('ab…');
    expect(bounded('😀😀😀', 3)).toBe('😀😀😀');
    expect(displayLine('x'.repeat(301))).toHaveLength(300);
    expect(displayLine(undefined)).toBe('');
    expect(displayText(null)).toBe('');
  });
});

describe('grouping notices into emails', () => {
  const item = (
    key: string,
    kind: NotificationItem['kind'],
    startsAt = '2026-11-27T03:00:00.000Z',
  ): NotificationItem => ({ key, fingerprint: key, routeId: 'root', kind, startsAt });

  it('treats recipient lists as sets of addresses in any case: one email for the same people', () => {
    const a = route('a', { to: ['Ops@Contoso.com', 'ops@contoso.com', 'b@contoso.com'] });
    const b = route('b', { to: ['b@contoso.com', 'OPS@contoso.com'] });
    const c = route('c', { to: ['b@contoso.com'], cc: ['ops@contoso.com'] });
    const groups = groupNotices([
      { item: item('1', 'firing'), route: a },
      { item: item('2', 'firing'), route: b },
      { item: item('3', 'firing'), route: c },
    ]);
    expect(groups.map((g) => g.items.map((i) => i.key))).toEqual([['1', '2'], ['3']]);
  });

  it('keeps good news apart: resolved notices in their own email, but one that ended badly with the open alerts', () => {
    const root = route('root');
    const notices = [item('r', 'resolved'), item('f', 'firing'), item('bad', 'resolved')].map((i) => ({
      item: i,
      route: root,
    }));
    const groups = groupNotices(notices, (i) => i.key === 'bad');
    expect(groups.map((g) => g.items.map((i) => i.key))).toEqual([['r'], ['f', 'bad']]);
    expect(groupNotices(notices).map((g) => g.items.map((i) => i.key))).toEqual([['bad', 'r'], ['f']]);
  });

  it('orders an email: new, changed, reminders, then by when each began, then by key', () => {
    const root = route('root');
    const items = [
      item('z', 'reminder'),
      item('y', 'changed'),
      item('b', 'firing', '2026-11-27T05:00:00.000Z'),
      item('c', 'firing'),
      item('a', 'firing'),
    ];
    const [group] = groupNotices(items.map((i) => ({ item: i, route: root })));
    expect(group!.items.map((i) => i.key)).toEqual(['a', 'c', 'b', 'y', 'z']);
  });
});

describe('the other alerts of a job', () => {
  it('are the current alerts of the same tenant, configuration and job, not the alert itself; a tenant-wide alert has none', () => {
    const quarantine = ALERT_FIXTURES.quarantine!;
    const other = (changes: Partial<AlertRecord['labels']>): AlertRecord => ({
      ...quarantine,
      fingerprint: JSON.stringify(changes),
      labels: { ...quarantine.labels, ...changes },
    });
    const disabled = other({ condition: 'job-disabled' });
    const current = new Map<string, AlertRecord>(
      [
        quarantine,
        disabled,
        other({ condition: 'x', jobId: 'another' }),
        other({ condition: 'y', servicePrincipalId: 'another' }),
        other({ condition: 'z', tenantId: 'another' }),
      ].map((a) => [a.fingerprint, a]),
    );
    expect(relatedAlerts(quarantine, current)).toEqual([disabled]);
    expect(relatedAlerts(ALERT_FIXTURES['tenant-unreadable']!, current)).toEqual([]);
  });
});

describe('links that reach a button', () => {
  it('only https ones, and none that is not a URL', () => {
    const links = [
      { label: 'a', href: 'https://entra.microsoft.com/x' },
      { label: 'b', href: 'http://entra.microsoft.com/x' },
      { label: 'c', href: 'not a url' },
      { label: 'd', href: 'javascript:alert(1)' },
    ];
    expect(httpsLinks(links).map((l) => l.label)).toEqual(['a']);
  });
});

describe('what to do about a failed object', () => {
  it("Entra's own recommended action wins, trimmed; else the step for its code; else the generic step", () => {
    expect(objectRunbookStep('EntryConflict', '  Fix the UPN.  ')).toBe('Fix the UPN.');
    expect(objectRunbookStep('EntryConflict', '   ')).toBe(objectRunbookStep('EntryConflict'));
    expect(objectRunbookStep('NoSuchCode')).toBe(
      'Open one of the failed events in the provisioning logs (Troubleshooting and recommendations) and fix what it names.',
    );
  });

  it('has a step of its own for each code it knows, each a sentence that names what to check or that Entra retries', () => {
    const codes = [
      'Conflict',
      'EntryConflict',
      'TooManyRequests',
      'InternalServerError',
      'WebExceptionProtocolError',
      'InternalError',
      'Timeout',
      'UnprocessableEntity',
      'NotImplemented',
      'SchemaAttributeNotFound',
      'InvalidDomain',
      'LicenseLimitExceeded',
      'DuplicateTargetEntries',
      'DuplicateSourceEntries',
      'ImportSkipped',
      'EntrySynchronizationSkipped',
      'AzureActiveDirectoryCannotUpdateObjectsOriginatedInExternalService',
      'AzureActiveDirectoryQuotaLimitExceeded',
      'InvitationCreationFailure',
      'InvitationCreationFailureUserAccountDisabled',
      'AzureActiveDirectoryForbidden',
      'InvitationCreationFailureInvalidPropertyValue',
      'InvitationCreationFailureAmbiguousUser',
      'AzureActiveDirectoryCannotUpdateObjectsMasteredOnPremises',
      'EntityTypeNotSupported',
    ];
    const generic = objectRunbookStep('NoSuchCode');
    for (const code of codes) {
      const step = objectRunbookStep(code);
      expect(step, code).not.toBe(generic);
      expect(step, code).toMatch(/^[A-Z].{30,}[.)]$/);
    }
    for (const code of [
      'TooManyRequests',
      'InternalServerError',
      'WebExceptionProtocolError',
      'InternalError',
      'Timeout',
    ])
      expect(objectRunbookStep(code), code).toContain('Entra retries these by itself');
  });
});

describe('how a message names its notices (subjects that mail rules sort by)', () => {
  const view = (condition: string, kind: NoticeKind, extra: Partial<AlertView> = {}) => {
    const notice = noticeOf(ALERT_FIXTURES[condition]!, kind);
    return noticeView(notice, RENDER_CONTEXT, { ...viewOf(notice.alert, RENDER_CONTEXT), ...extra });
  };
  const badly = (condition: string) =>
    view(condition, 'resolved', { ended: 'ended because Entra disabled the job', endedWell: false });

  it('names a message of only one kind by it after the tenant, a mixed one by no kind, and never by severity', () => {
    const subject = (views: ReturnType<typeof view>[]) => subjectOf(views, summarize(views));
    expect(subject([view('quarantine', 'resolved'), view('job-stalled', 'resolved')])).toMatch(/^Contoso: Resolved: /);
    expect(subject([view('quarantine', 'resolved'), badly('job-stalled')])).toMatch(/^Contoso: Ended: /);
    expect(subject([view('quarantine', 'reminder'), view('job-stalled', 'reminder')])).toMatch(/^Contoso: Reminder: /);
    expect(subject([view('quarantine', 'changed'), view('job-failing', 'changed')])).toMatch(/^Contoso: Changed: /);
    expect(subject([view('quarantine', 'changed'), view('job-stalled', 'reminder')])).toBe(
      'Contoso: Quarantined: Woodgrove to Contoso (+1 more)',
    );
    expect(subject([view('quarantine', 'firing'), view('job-stalled', 'firing')])).toBe(
      'Contoso: Quarantined: Woodgrove to Contoso (+1 more)',
    );
    // One alert: its stem, `Re: ` after the first notice, whatever the kind.
    expect(subject([badly('quarantine')])).toBe(
      'Re: Contoso: Quarantined: Woodgrove to Contoso (since 27 Nov 03:05 UTC)',
    );
    expect(subject([])).toBe('');
    expect(summarize([]).resolvedOnly).toBe(false);
  });

  it('names the worst severity, and says per count what a mixed message holds', () => {
    const warning = { ...view('job-failing', 'firing') };
    const critical = view('quarantine', 'firing');
    expect(summarize([{ ...warning, severity: 'warning' }]).severity).toBe('warning');
    expect(summarize([{ ...warning, severity: 'warning' }, critical]).severity).toBe('critical');
    expect(summarize([critical, { ...warning, severity: 'warning' }]).severity).toBe('critical');
    expect(summarize([view('quarantine', 'firing'), badly('deletion-threshold')]).counts).toBe(
      '1 quarantined, 1 ended (deletion hold)',
    );
    expect(
      summarize([view('quarantine', 'firing'), view('job-stalled', 'reminder'), view('job-failing', 'changed')]).counts,
    ).toBe('1 quarantined, 1 still stalled, 1 changed: failing');
  });

  it('says a runbook once per message, and never for resolved notices or alerts without one', () => {
    const first = view('quarantine', 'firing');
    const second = { ...view('quarantine', 'reminder'), heading: 'another' };
    const resolved = view('quarantine', 'resolved');
    const without = {
      ...view('job-stalled', 'firing'),
      view: { ...view('job-stalled', 'firing').view, runbook: undefined },
    };
    const repeats = repeatedRunbooks([resolved, without, first, second]);
    expect([...repeats.entries()]).toEqual([[second, first]]);
  });
});

describe("a quarantine against Entra's four weeks", () => {
  const at = (iso: string) => ({ ...RENDER_CONTEXT, now: new Date(iso) });
  const fact = (alert: AlertRecord, now: string, name: string) =>
    name === 'Entra disables the job'
      ? /Entra disables this job (.*)\.$/.exec(viewOf(alert, at(now)).next ?? '')?.[1]
      : viewOf(alert, at(now)).facts.find(([k]) => k === name)?.[1];
  const quarantine = (annotations: Record<string, unknown>): AlertRecord => ({
    ...ALERT_FIXTURES.quarantine!,
    annotations: { ...ALERT_FIXTURES.quarantine!.annotations, disablesAt: undefined, ...annotations },
  });

  it('counts the days from the series\' start, not the current attempt\'s, down to "any time now" at the very instant', () => {
    const alert = quarantine({ seriesBegan: '2026-11-01T00:00:00.000Z', currentBegan: '2026-11-26T00:00:00.000Z' });
    expect(fact(alert, '2026-11-27T00:00:00Z', 'Entra disables the job')).toBe('in 2 days (2026-11-29 00:00 UTC)');
    expect(fact(alert, '2026-11-28T00:00:00Z', 'Entra disables the job')).toBe('in 1 day (2026-11-29 00:00 UTC)');
    expect(fact(alert, '2026-11-29T00:00:00Z', 'Entra disables the job')).toBe(
      'any time now (its four weeks in quarantine ended 2026-11-29 00:00 UTC)',
    );
    expect(
      fact(
        quarantine({ seriesBegan: undefined, currentBegan: '2026-11-26T00:00:00.000Z' }),
        '2026-11-27T00:00:00Z',
        'Entra disables the job',
      ),
    ).toBe('in 27 days (2026-12-24 00:00 UTC)');
    expect(
      fact(
        quarantine({ seriesBegan: undefined, currentBegan: undefined }),
        '2026-11-27T00:00:00Z',
        'Entra disables the job',
      ),
    ).toBeUndefined();
    // A stored disablesAt (the rule's own parameter) wins over the four-week default.
    expect(
      fact(
        quarantine({ seriesBegan: '2026-11-01T00:00:00.000Z', disablesAt: '2026-12-10T00:00:00.000Z' }),
        '2026-11-27T00:00:00Z',
        'Entra disables the job',
      ),
    ).toBe('in 13 days (2026-12-10 00:00 UTC)');
  });

  it('shows the current attempt only when it began after the series did', () => {
    const same = quarantine({ seriesBegan: '2026-11-26T00:00:00.000Z', currentBegan: '2026-11-26T00:00:00.000Z' });
    expect(fact(same, '2026-11-27T00:00:00Z', 'Current attempt since')).toBeUndefined();
    expect(
      fact(
        quarantine({ seriesBegan: undefined, currentBegan: '2026-11-26T00:00:00.000Z' }),
        '2026-11-27T00:00:00Z',
        'Current attempt since',
      ),
    ).toBeUndefined();
    expect(
      fact(
        quarantine({ seriesBegan: '2026-11-20T00:00:00.000Z', currentBegan: '2026-11-26T00:00:00.000Z' }),
        '2026-11-27T00:00:00Z',
        'Current attempt since',
      ),
    ).toBe('2026-11-26 00:00 UTC');
  });

  it('ended because the job was disabled (by Entra after failures, or paused), never "resolved"; a resolved job-disabled alert changes nothing', () => {
    const disabled = (stoppedAfterFailures: boolean, state: AlertRecord['state'] = 'firing'): AlertRecord => ({
      ...ALERT_FIXTURES['job-disabled']!,
      state,
      annotations: { ...ALERT_FIXTURES['job-disabled']!.annotations, stoppedAfterFailures },
    });
    expect(
      quarantineEnding({ ...RENDER_CONTEXT, tenantName: () => undefined, related: [disabled(true)] }, 'recovered'),
    ).toEqual({ ended: expect.stringMatching(/^was disabled by Entra, not recovered/), endedWell: false });
    expect(
      quarantineEnding({ ...RENDER_CONTEXT, tenantName: () => undefined, related: [disabled(false)] }, 'recovered')
        .ended,
    ).toMatch(/^was paused, not recovered/);
    expect(
      quarantineEnding(
        {
          ...RENDER_CONTEXT,
          tenantName: () => undefined,
          related: [disabled(true, 'resolved'), ALERT_FIXTURES['job-stalled']!],
        },
        'recovered',
      ),
    ).toEqual({ ended: 'recovered', endedWell: true });
  });
});

describe('which firing alert mutes which (inhibition)', () => {
  const base = ALERT_FIXTURES.quarantine!.labels;
  const alert = (
    condition: string,
    labels: Partial<AlertRecord['labels']> = {},
    state: AlertRecord['state'] = 'firing',
  ): AlertRecord => {
    const all = { ...base, condition, ...labels };
    return {
      ...ALERT_FIXTURES.quarantine!,
      fingerprint: JSON.stringify(all),
      labels: all,
      state,
      annotations: { servicePrincipalName: 'Woodgrove to Contoso' },
    };
  };
  const tenantDown = alert('tenant-unreadable', { servicePrincipalId: '-', jobId: '-' });
  const jobsDown = alert('jobs-unreadable', { jobId: '-' });

  it('an unreadable tenant holds every other alert of that tenant, but never another unreadable tenant, nor itself', () => {
    expect(inhibitedBy(alert('job-stalled'), [tenantDown])).toBe(
      `tenant ${base.tenantId} cannot be read: its job alerts are held`,
    );
    expect(inhibitedBy(alert('job-stalled', { tenantId: 'other' }), [tenantDown])).toBeUndefined();
    expect(inhibitedBy(tenantDown, [tenantDown, { ...tenantDown, fingerprint: 'twin' }])).toBeUndefined();
    expect(inhibitedBy(alert('job-stalled'), [{ ...tenantDown, state: 'resolved' }])).toBeUndefined();
    expect(inhibitedBy(alert('job-stalled'), [{ ...tenantDown, state: 'pending' }])).toBeUndefined();
  });

  it('unreadable jobs hold the alerts of that configuration only, not another unreadable-jobs alert', () => {
    expect(inhibitedBy(alert('job-stalled'), [jobsDown])).toBe(
      'the jobs of Woodgrove to Contoso cannot be read: their alerts are held',
    );
    expect(inhibitedBy(alert('job-stalled', { servicePrincipalId: 'other' }), [jobsDown])).toBeUndefined();
    expect(inhibitedBy(alert('job-stalled', { tenantId: 'other' }), [jobsDown])).toBeUndefined();
    expect(inhibitedBy(alert('jobs-unreadable', { jobId: 'x' }), [jobsDown])).toBeUndefined();
    expect(inhibitedBy(jobsDown, [jobsDown])).toBeUndefined();
  });

  it('a root cause (a quarantine) holds the lesser alerts of its own job only, and never another root cause', () => {
    const quarantined = alert('quarantine');
    expect(inhibitedBy(alert('job-failing'), [quarantined])).toBe('the same job is firing "Quarantined"');
    expect(inhibitedBy(alert('job-failing', { jobId: 'other' }), [quarantined])).toBeUndefined();
    expect(inhibitedBy(alert('job-failing', { servicePrincipalId: 'other' }), [quarantined])).toBeUndefined();
    expect(inhibitedBy(alert('job-failing', { tenantId: 'other' }), [quarantined])).toBeUndefined();
    expect(inhibitedBy(alert('deletion-threshold'), [quarantined])).toBeUndefined();
    expect(inhibitedBy(alert('job-failing'), [alert('job-stalled')])).toBeUndefined();
  });
});

describe('a Teams card that would not fit', () => {
  const many = oversizedNotices;
  const texts = (body: string) => JSON.stringify(JSON.parse(body));

  it("keeps within Teams' limit by saying less of each alert, then by naming how many more alerts there are", () => {
    const views = many(60, 400);
    const message = teamsMessage(views);
    expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(TEAMS_CARD_BUDGET_BYTES);
    const more = /And (\d+) more alert\(s\)/.exec(texts(message.body));
    expect(more).not.toBeNull();
    const shown = (texts(message.body).match(/Partner \d+ /g) ?? []).length;
    expect(shown).toBeGreaterThan(0);
    expect(new Set(texts(message.body).match(/Partner \d+ /g)).size + Number(more![1])).toBe(60);
  });

  it('a card that fits whole says every alert and no "more"', () => {
    const message = teamsMessage(many(2, 10));
    expect(texts(message.body)).not.toMatch(/more alert\(s\)/);
    expect(texts(message.body)).toContain('Partner 0 ');
    expect(texts(message.body)).toContain('Partner 1 ');
    expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(TEAMS_CARD_BUDGET_BYTES);
  });

  it('says which part of a split cycle a card is', () => {
    const message = teamsMessage(many(1, 10), { part: { index: 2, total: 3 } });
    expect(texts(message.body)).toContain(
      "Part 2 of 3: this cycle's notices are split into 3 cards so that each stays within Teams' size limit.",
    );
  });
});
