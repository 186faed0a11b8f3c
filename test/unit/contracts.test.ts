import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultRules } from '../../lib/config/config';
import type { Route } from '../../lib/model/policy';
import { dispatch } from '../../lib/dispatch/dispatch';
import { matchLabelsOf } from '../../lib/dispatch/route';
import { evaluateTenant, fingerprintOf, inView, keepFiringForMs } from '../../lib/evaluate/evaluate';
import { quarantineRunbook } from '../../lib/evaluate/runbooks';
import { deletionThresholdRunbook } from '../../lib/evaluate/rules/deletion-threshold';
import { RULES } from '../../lib/evaluate/rules';
import type { AlertLabels, AlertRecord, NotificationItem } from '../../lib/model';
import { afterSent, neededNotification, neededNotifications } from '../../lib/dispatch/dedup';
import { messageKey, groupNotices } from '../../lib/notify/group';
import { renderEmail, type Notice } from '../../lib/notify/render';
import { viewOf } from '../../lib/evaluate/view';
import type { JobSnapshot, TenantObservation } from '../../lib/model/observation';
import { reconcile } from '../../lib/reconcile/reconcile';
import { policy, route } from '../support/policy';

/**
 * The contracts of the pure core, pinned: what each rule shows (its view), every runbook, every
 * kind of email as rendered, the item keys and route logs that make "never doubled" hold, and
 * the identities (fingerprints, email keys) that must never change once released. The snapshots
 * are the product's words and layout: a change to them is reviewed in the diff and accepted with
 * `npx vitest run -u test/unit/contracts.test.ts`.
 */

const TENANT = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const SP = '11a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601';
const APP = '21a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601';
const JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01';
const now = new Date('2026-11-27T12:00:00Z');
const tenantNames = new Map([[TENANT, 'Contoso']]);

function alert(
  condition: string,
  annotations: AlertRecord['annotations'],
  overrides: Omit<Partial<AlertRecord>, 'labels'> & { labels?: Partial<AlertLabels> } = {},
): AlertRecord {
  const labels: AlertLabels = {
    tenantId: TENANT,
    servicePrincipalId: condition === 'tenant-unreadable' ? '-' : SP,
    jobId: condition === 'tenant-unreadable' ? '-' : JOB,
    condition,
    ...overrides.labels,
  };
  return {
    fingerprint: fingerprintOf(labels),
    severity: 'critical',
    state: 'firing',
    annotations,
    startsAt: '2026-11-27T03:00:00.000Z',
    notified: {},
    ...overrides,
    labels,
  };
}

const FULL_QUARANTINE = {
  servicePrincipalName: 'Fabrikam to Contoso',
  appId: APP,
  templateId: 'Azure2Azure',
  statusCode: 'Quarantine',
  reason: 'EncounteredQuarantineException',
  reasonKnown: true,
  errorCode: 'AzureDirectoryB2BManagementPolicyCheckFailure',
  errorMessage: 'Policy permitting auto-redemption of invitations not configured',
  tenantActionable: true,
  currentBegan: '2026-11-27T02:50:00.000Z',
  seriesBegan: '2026-11-26T02:50:00.000Z',
  seriesCount: 3,
  nextAttempt: '2026-11-27T08:50:00.000Z',
  troubleshootingUrl: 'https://aka.ms/provisioning-troubleshoot',
};
const trip = alert('deletion-threshold', {
  ...FULL_QUARANTINE,
  reason: 'TooManyDeletes',
  errorCode: 'TooManyDeletes',
  errorMessage: '612 deletes held',
  deleteThreshold: 500,
});
const tripMinimal = alert(
  'deletion-threshold',
  { reason: 'TooManyDeletes' },
  { labels: { servicePrincipalId: 'not-a-guid' } },
);
const quarantined = alert('quarantine', FULL_QUARANTINE);
const quarantinedMinimal = alert(
  'quarantine',
  { reason: 'SomethingNew', troubleshootingUrl: 'http://not-https.example' },
  { labels: { servicePrincipalId: 'sp-x' } },
);
const unreadable = alert('tenant-unreadable', {
  problem:
    '403 Authorization_RequestDenied: Insufficient privileges while reading servicePrincipals (likely missing Application.Read.All)',
  problemKind: 'access',
  httpStatus: 403,
  likelyMissingPermission: 'Application.Read.All',
});
const unreadableMinimal = alert(
  'tenant-unreadable',
  { problem: 'Timeout: timed out after 60 s while reading the tenant' },
  { labels: { tenantId: 'aaaaaaaa-0000-0000-0000-000000000009' } },
);
const unknownCondition = alert('job-stalled-v0', { servicePrincipalName: 'Old rule' });

describe('what each rule shows', () => {
  it.each([
    ['a deletion-threshold trip', trip],
    ['a deletion-threshold trip with little known', tripMinimal],
    ['a quarantine', quarantined],
    ['a quarantine with little known', quarantinedMinimal],
    ['an unreadable tenant', unreadable],
    ['an unreadable tenant without a name or permission', unreadableMinimal],
    ['a condition no rule knows any more', unknownCondition],
  ])('%s', (_name, a) => {
    expect(viewOf(a, { now, tenantNames, related: () => [] })).toMatchSnapshot();
  });

  it('every rule names its condition, counts and severity', () => {
    expect(
      RULES.map((r) => [
        r.condition,
        r.scope,
        r.title,
        r.counted,
        r.defaultSeverity,
        r.defaultPendingCycles,
        r.defaultKeepFiringForMs,
        r.rootCause ?? false,
      ]),
    ).toMatchSnapshot();
  });
});

describe('runbooks', () => {
  const reasons = [
    'EncounteredQuarantineException',
    'EncounteredEscrowProportionThreshold',
    'EncounteredBaseEscrowThreshold',
    'EncounteredTotalEscrowThreshold',
    'QuarantinedOnDemand',
    'IngestionInterrupted',
    'Unknown',
    'SomethingNew',
  ];
  const codes = [
    undefined,
    'AzureDirectoryB2BManagementPolicyCheckFailure',
    'SystemForCrossDomainIdentityManagementCredentialValidationUnavailable',
    'AzureActiveDirectoryInvalidCredential',
    'AzureActiveDirectoryExpiredCredentials',
    'HybridIdentityServiceNoActiveAgents',
    'SomeOtherCode',
  ];
  it('for every reason and well-known error code', () => {
    expect(
      Object.fromEntries(
        reasons.flatMap((r) => codes.map((c) => [`${r} / ${c ?? 'no code'}`, quarantineRunbook(r, c)])),
      ),
    ).toMatchSnapshot();
  });
  it('for a deletion hold, with and without the threshold', () => {
    expect([deletionThresholdRunbook(500, '612'), deletionThresholdRunbook(undefined, undefined)]).toMatchSnapshot();
  });
});

describe('emails as rendered', () => {
  const item = (a: AlertRecord, kind: NotificationItem['kind'], extra: Partial<NotificationItem> = {}): Notice => ({
    alert: a,
    item: {
      key: `${a.fingerprint}:${kind}`,
      fingerprint: a.fingerprint,
      routeId: 'root',
      kind,
      startsAt: a.startsAt as string,
      ...extra,
    },
  });
  const ctx = { now, tenantNames };
  const resolved = (a: AlertRecord) => ({ ...a, state: 'resolved' as const, endsAt: '2026-11-27T11:00:00.000Z' });

  it.each([
    ['a firing quarantine', [item(quarantined, 'firing')]],
    ['a changed quarantine', [item(quarantined, 'changed')]],
    ['a reminder of a deletion hold', [item(trip, 'reminder', { reminder: 2 })]],
    ['a resolved job alert', [item(resolved(quarantined), 'resolved', { endsAt: '2026-11-27T11:00:00.000Z' })]],
    ['a resolved tenant alert', [item(resolved(unreadable), 'resolved', { endsAt: '2026-11-27T11:00:00.000Z' })]],
    [
      'a resolved alert whose start is not a time',
      [item({ ...resolved(quarantined), startsAt: 'garbage' }, 'resolved', { startsAt: 'garbage' })],
    ],
    [
      'one of each kind, ordered by urgency',
      [
        item(resolved(quarantinedMinimal), 'resolved'),
        item(trip, 'reminder', { reminder: 1 }),
        item(unreadable, 'firing'),
        item(quarantined, 'changed'),
        item(tripMinimal, 'firing'),
      ],
    ],
  ])('%s', (_name, notices) => {
    const email = renderEmail(notices, ctx);
    expect(email.subject).toMatchSnapshot('subject');
    expect(email.plainText).toMatchSnapshot('plain text');
    expect(email.html).toMatchSnapshot('html');
  });

  it('names the first tenant and counts the rest, then the most urgent alert and how many more', () => {
    const tenants = [
      'aaaaaaaa-0000-0000-0000-000000000001',
      'aaaaaaaa-0000-0000-0000-000000000002',
      'aaaaaaaa-0000-0000-0000-000000000003',
      'aaaaaaaa-0000-0000-0000-000000000004',
      'aaaaaaaa-0000-0000-0000-000000000005',
    ];
    const notices = tenants.map((t) =>
      item(alert('tenant-unreadable', { problem: 'x' }, { labels: { tenantId: t } }), 'firing'),
    );
    expect(renderEmail(notices, ctx).subject).toBe(`${tenants[0]} +4 tenants: Cannot monitor (+4 more)`);
    expect(renderEmail(notices.slice(0, 2), ctx).subject).toBe(`${tenants[0]} +1 tenant: Cannot monitor (+1 more)`);
    const mixed = [
      item(quarantined, 'reminder', { reminder: 1 }),
      item(
        { ...quarantinedMinimal, labels: { ...quarantinedMinimal.labels, jobId: 'other' }, fingerprint: 'f2' },
        'reminder',
        { reminder: 1 },
      ),
      item(trip, 'changed'),
      item(resolved(unknownCondition), 'resolved'),
    ];
    expect(renderEmail(mixed, ctx).subject).toBe('Contoso: Deletion threshold tripped: Fabrikam to Contoso (+3 more)');
    const unknownTwice = [item(unknownCondition, 'firing'), item({ ...unknownCondition, fingerprint: 'f3' }, 'firing')];
    expect(renderEmail(unknownTwice, ctx).subject).toMatch(/^Contoso: job-stalled-v0: .* \(\+1 more\)$/);
  });
});

describe('identities that never change once released', () => {
  it("an alert's fingerprint", () => {
    expect(
      fingerprintOf({ tenantId: TENANT, servicePrincipalId: SP, jobId: JOB, condition: 'quarantine' }),
    ).toMatchSnapshot();
    expect(
      fingerprintOf({ tenantId: TENANT, servicePrincipalId: SP, jobId: JOB, condition: 'quarantine' }),
    ).toHaveLength(32);
    // The separator keeps fields apart: "ab"+"c" is not "a"+"bc".
    expect(fingerprintOf({ tenantId: 'ab', servicePrincipalId: 'c', jobId: '-', condition: 'x' })).not.toBe(
      fingerprintOf({ tenantId: 'a', servicePrincipalId: 'bc', jobId: '-', condition: 'x' }),
    );
  });

  it("an email's key, whatever the order of its items", () => {
    const items = ['b', 'a', 'c'].map((key) => ({ key }) as NotificationItem);
    expect(messageKey(items)).toMatchSnapshot();
    expect(messageKey(items)).toHaveLength(40);
    expect(messageKey([...items].reverse())).toBe(messageKey(items));
    expect(messageKey(items.slice(1))).not.toBe(messageKey(items));
  });
});

describe('notices and route logs: what makes "never doubled" hold', () => {
  const root = route('root');
  const startsAt = '2026-11-27T03:00:00.000Z';
  const base = alert('quarantine', FULL_QUARANTINE, { material: 'EncounteredQuarantineException|X' });

  it('a firing notice for a period the route has not heard of, with a key naming alert, route, kind and period', () => {
    expect(neededNotification(base, root, now)).toEqual({
      key: `${base.fingerprint}:root:firing:${startsAt}`,
      fingerprint: base.fingerprint,
      routeId: 'root',
      kind: 'firing',
      startsAt,
      endsAt: undefined,
      reminder: undefined,
      material: 'EncounteredQuarantineException|X',
    });
    expect(neededNotification({ ...base, startsAt: undefined }, root, now)).toBeUndefined();
    expect(neededNotification({ ...base, state: 'pending' }, root, now)).toBeUndefined();
  });

  it('after it went out: nothing until the repeat interval, then numbered reminders', () => {
    const told = afterSent(base, neededNotification(base, root, now) as NotificationItem, '2026-11-27T03:00:05.000Z');
    expect(told.notified.root).toEqual({
      startsAt,
      lastAt: '2026-11-27T03:00:05.000Z',
      reminders: 0,
      resolved: false,
      material: 'EncounteredQuarantineException|X',
    });
    expect(neededNotification(told, root, new Date('2026-11-27T07:00:04.999Z'))).toBeUndefined();
    const reminder = neededNotification(told, root, new Date('2026-11-27T07:00:05.000Z'));
    expect(reminder).toMatchObject({
      key: `${base.fingerprint}:root:reminder:${startsAt}:1`,
      kind: 'reminder',
      reminder: 1,
    });
    const reminded = afterSent(told, reminder as NotificationItem, '2026-11-27T07:00:06.000Z');
    expect(reminded.notified.root).toEqual({
      startsAt,
      lastAt: '2026-11-27T07:00:06.000Z',
      reminders: 1,
      resolved: false,
      material: 'EncounteredQuarantineException|X',
    });
    expect(neededNotification(reminded, root, new Date('2026-11-27T11:00:06.000Z'))?.key).toBe(
      `${base.fingerprint}:root:reminder:${startsAt}:2`,
    );
    // A late record of an older reminder never lowers the count.
    expect(
      afterSent(reminded, { ...(reminder as NotificationItem), reminder: 0 }, '2026-11-27T07:00:07.000Z').notified.root
        ?.reminders,
    ).toBe(1);
  });

  it('a change of material is told at once, keyed by the material; a log without one tells none', () => {
    const told = afterSent(base, neededNotification(base, root, now) as NotificationItem, '2026-11-27T03:00:05.000Z');
    const changed = neededNotification({ ...told, material: 'Unknown|Y' }, root, now);
    expect(changed?.kind).toBe('changed');
    expect(changed?.key).toMatch(new RegExp(`^${base.fingerprint}:root:changed:${startsAt}:[0-9a-f]{16}$`));
    expect(changed?.key).not.toBe(neededNotification({ ...told, material: 'Unknown|Z' }, root, now)?.key);
    expect(neededNotification({ ...told, material: undefined }, root, now)?.key).toMatch(/:changed:.*:[0-9a-f]{16}$/);
    const legacy = {
      ...told,
      material: 'Unknown|Y',
      notified: {
        root: { ...(told.notified.root as NonNullable<AlertRecord['notified']['root']>), material: undefined },
      },
    };
    expect(neededNotification(legacy, root, new Date('2026-11-27T04:00:00Z'))).toBeUndefined();
    expect(afterSent(told, changed as NotificationItem, '2026-11-27T03:10:00.000Z').notified.root?.material).toBe(
      'Unknown|Y',
    );
  });

  it('a resolved notice once for a period the route was told of, only when it wants resolved notices', () => {
    const told = afterSent(base, neededNotification(base, root, now) as NotificationItem, '2026-11-27T03:00:05.000Z');
    const ended = { ...told, state: 'resolved' as const, endsAt: '2026-11-27T09:00:00.000Z' };
    const notice = neededNotification(ended, root, now);
    expect(notice).toEqual({
      key: `${base.fingerprint}:root:resolved:${startsAt}`,
      fingerprint: base.fingerprint,
      routeId: 'root',
      kind: 'resolved',
      startsAt,
      endsAt: '2026-11-27T09:00:00.000Z',
      reminder: undefined,
      material: undefined,
    });
    const done = afterSent(ended, notice as NotificationItem, '2026-11-27T09:00:05.000Z');
    expect(done.notified.root).toEqual({
      startsAt,
      lastAt: '2026-11-27T03:00:05.000Z',
      reminders: 0,
      resolved: true,
      material: 'EncounteredQuarantineException|X',
    });
    expect(neededNotification(done, root, now)).toBeUndefined();
    expect(neededNotification(ended, { ...root, sendResolved: false }, now)).toBeUndefined();
    expect(neededNotification({ ...ended, notified: {} }, root, now)).toBeUndefined(); // never told it fired
    // Firing again after a resolved notice: a new period, so a new firing notice.
    expect(
      neededNotification({ ...done, state: 'firing', startsAt: '2026-11-27T10:00:00.000Z' }, root, now)?.kind,
    ).toBe('firing');
    expect(neededNotification({ ...done, state: 'firing' }, root, now)).toBeUndefined();
    // The first resolved notice of a period recorded without a firing one keeps its own time.
    expect(
      afterSent({ ...ended, notified: {} }, notice as NotificationItem, '2026-11-27T09:00:05.000Z').notified.root
        ?.lastAt,
    ).toBe('2026-11-27T09:00:05.000Z');
  });
});

describe('evaluate: settings per subject, and what a tenant problem holds', () => {
  const sp = { id: SP, appId: APP, displayName: 'Fabrikam to Contoso' };
  const job = (overrides: Partial<JobSnapshot> = {}): JobSnapshot => ({
    tenantId: TENANT,
    servicePrincipal: sp,
    jobId: JOB,
    templateId: 'Azure2Azure',
    status: { known: 'Quarantine', raw: 'Quarantine' },
    quarantine: { reason: { known: 'Unknown', raw: 'Unknown' } },
    ...overrides,
  });
  const observation = (o: Partial<TenantObservation> = {}): TenantObservation => ({
    tenantId: TENANT,
    jobs: [job()],
    servicePrincipalsRead: new Set([SP]),
    servicePrincipalProblems: [],
    ...o,
  });

  it('an override for an app, a template or a tenant name applies to that subject only', () => {
    const rules = defaultRules();
    rules.quarantine = {
      ...rules.quarantine!,
      overrides: [
        {
          match: { app: 'Fabrikam*', jobTemplate: 'Azure2Azure', tenantName: 'Contoso' },
          settings: { severity: 'warning', pendingCycles: 2 },
        },
      ],
    };
    const [f] = evaluateTenant(observation(), { now, rules, tenantNames: new Map([[TENANT, 'Contoso']]) });
    expect([f?.severity, f?.pendingCycles]).toEqual(['warning', 2]);
    const [g] = evaluateTenant(
      observation({ jobs: [job({ servicePrincipal: { ...sp, displayName: '' }, templateId: '' })] }),
      { now, rules, tenantNames: new Map([[TENANT, 'Contoso']]) },
    );
    expect([g?.severity, g?.pendingCycles]).toEqual(['critical', 0]);
    const [h] = evaluateTenant(observation(), { now, rules, tenantNames: new Map() });
    expect(h?.severity).toBe('critical');
    // Tenant names are looked up by lower-case id.
    const [i] = evaluateTenant(
      observation({ tenantId: TENANT.toUpperCase(), jobs: [job({ tenantId: TENANT.toUpperCase() })] }),
      { now, rules, tenantNames: new Map([[TENANT, 'Contoso']]) },
    );
    expect(i?.severity).toBe('warning');
  });

  it('a disabled rule finds nothing; a tenant that could not be read runs only tenant rules', () => {
    const rules = defaultRules();
    rules.quarantine = { ...rules.quarantine!, settings: { ...rules.quarantine!.settings, enabled: false } };
    expect(evaluateTenant(observation(), { now, rules })).toEqual([]);
    const unread = evaluateTenant(observation({ problem: { kind: 'access', message: 'no', operation: 'token' } }), {
      now,
      rules: defaultRules(),
    });
    expect(unread.map((f) => f.labels)).toEqual([
      { tenantId: TENANT, servicePrincipalId: '-', jobId: '-', condition: 'tenant-unreadable' },
    ]);
    const offRules = defaultRules();
    offRules['tenant-unreadable'] = {
      ...offRules['tenant-unreadable']!,
      settings: { ...offRules['tenant-unreadable']!.settings, enabled: false },
    };
    expect(
      evaluateTenant(observation({ problem: { kind: 'access', message: 'no', operation: 'token' } }), {
        now,
        rules: offRules,
      }),
    ).toEqual([]);
  });

  it('judges an alert only from what was read: not another tenant, not a service principal that failed', () => {
    const labels: AlertLabels = { tenantId: TENANT, servicePrincipalId: SP, jobId: JOB, condition: 'quarantine' };
    expect(inView(labels, observation())).toBe(true);
    expect(inView({ ...labels, tenantId: 'other' }, observation())).toBe(false);
    expect(inView(labels, observation({ problem: { kind: 'transient', message: 'x', operation: 'y' } }))).toBe(false);
    const failing = {
      servicePrincipal: { ...sp, id: 'other-sp' },
      problem: { kind: 'transient' as const, message: 'x', operation: 'y' },
    };
    expect(inView(labels, observation({ servicePrincipalProblems: [failing] }))).toBe(true);
    expect(
      inView(labels, observation({ servicePrincipalProblems: [failing, { ...failing, servicePrincipal: sp }] })),
    ).toBe(false);
    expect(
      inView(
        { ...labels, servicePrincipalId: '-', jobId: '-', condition: 'tenant-unreadable' },
        observation({ problem: { kind: 'transient', message: 'x', operation: 'y' } }),
      ),
    ).toBe(true);
  });

  it('keeps firing for the configured time, per subject; an unknown condition not at all', () => {
    const labels: AlertLabels = { tenantId: TENANT, servicePrincipalId: SP, jobId: JOB, condition: 'quarantine' };
    const rules = defaultRules();
    expect(keepFiringForMs(labels, rules)).toBe(0);
    rules.quarantine = {
      ...rules.quarantine!,
      overrides: [
        { match: { tenantName: 'Contoso', job: JOB, servicePrincipal: SP }, settings: { keepFiringForMs: 900_000 } },
      ],
    };
    expect(keepFiringForMs(labels, rules, new Map([[TENANT, 'Contoso']]))).toBe(900_000);
    expect(keepFiringForMs(labels, rules)).toBe(0);
    expect(keepFiringForMs(labels, {})).toBe(0);
    expect(keepFiringForMs({ ...labels, condition: 'no-such-rule' }, rules)).toBe(0);
  });
});

describe('reconcile and dispatch edges', () => {
  const stored = (a: AlertRecord) => new Map([[a.fingerprint, a]]);
  const at = (iso: string) => new Date(iso);

  it('a pending alert whose condition is gone clears without a period; a resolved one stays resolved', () => {
    const pending = { ...quarantined, state: 'pending' as const, startsAt: undefined, pendingCount: 1 };
    expect(reconcile({ stored: stored(pending), findings: [], inView: () => true, now }).changed).toEqual([
      { ...pending, state: 'resolved', pendingCount: undefined },
    ]);
    const done = { ...quarantined, state: 'resolved' as const, endsAt: '2026-11-27T04:00:00.000Z' };
    expect(reconcile({ stored: stored(done), findings: [], inView: () => true, now }).changed).toEqual([]);
    expect(reconcile({ stored: new Map(), findings: [], inView: () => true, now }).changed).toEqual([]);
  });

  it('keeps firing for exactly keepFiringFor after the condition was last seen', () => {
    const firing = { ...quarantined, lastSeenAt: '2026-11-27T11:45:00.000Z' };
    const keep = () => 15 * 60_000;
    expect(
      reconcile({
        stored: stored(firing),
        findings: [],
        inView: () => true,
        now: at('2026-11-27T11:59:59.999Z'),
        keepFiringForMs: keep,
      }).changed,
    ).toEqual([]);
    expect(
      reconcile({
        stored: stored(firing),
        findings: [],
        inView: () => true,
        now: at('2026-11-27T12:00:00.000Z'),
        keepFiringForMs: keep,
      }).changed[0]?.state,
    ).toBe('resolved');
    expect(
      reconcile({ stored: stored(firing), findings: [], inView: () => true, now, keepFiringForMs: () => 0 }).changed[0]
        ?.endsAt,
    ).toBe(now.toISOString());
  });

  it('dispatch: skips pending alerts and alerts without a period; only a firing alert inhibits', () => {
    const p = policy();
    expect(dispatch([{ ...quarantined, state: 'pending' }], p, now, new Set()).notices).toEqual([]);
    expect(dispatch([{ ...quarantined, startsAt: undefined }], p, now, new Set()).notices).toEqual([]);
    const resolvedUnreadable = { ...unreadable, state: 'resolved' as const };
    expect(
      dispatch([quarantined, resolvedUnreadable], p, now, new Set()).notices.map((n) => n.item.fingerprint),
    ).toContain(quarantined.fingerprint);
    expect(dispatch([quarantined, unreadable], p, now, new Set()).muted.map((m) => m.alert.fingerprint)).toEqual([
      quarantined.fingerprint,
    ]);
    const planned = neededNotification(quarantined, p.route, now) as NotificationItem;
    expect(dispatch([quarantined], p, now, new Set([planned.key])).notices).toEqual([]);
  });

  it('match labels: the app and template only when Graph gave text', () => {
    expect(matchLabelsOf(alert('quarantine', { servicePrincipalName: '', templateId: 5 }), new Map())).toMatchObject({
      app: undefined,
      jobTemplate: undefined,
    });
    expect(
      matchLabelsOf(
        alert('quarantine', { servicePrincipalName: 'A', templateId: 'T' }),
        new Map([[TENANT, 'Contoso']]),
      ),
    ).toEqual({
      tenant: TENANT,
      tenantName: 'Contoso',
      servicePrincipal: SP,
      app: 'A',
      jobTemplate: 'T',
      job: JOB,
      condition: 'quarantine',
      severity: 'critical',
    });
  });

  it('groups by recipients whatever their case and order, one email per set', () => {
    const a: Route = route('a', { to: ['Ops@contoso.com', 'b@contoso.com'] });
    const b: Route = route('b', { to: ['B@contoso.com', 'ops@contoso.com'] });
    const c: Route = route('c', { to: ['ops@contoso.com'], cc: ['x@contoso.com'] });
    const n = (r: Route, fp: string) => ({
      route: r,
      item: {
        key: `${fp}:${r.id}`,
        fingerprint: fp,
        routeId: r.id,
        kind: 'firing' as const,
        startsAt: '2026-11-27T03:00:00.000Z',
      },
    });
    const groups = groupNotices([n(a, 'f1'), n(b, 'f2'), n(c, 'f3')]);
    expect(groups.map((g) => g.items.map((i) => i.fingerprint))).toEqual([['f1', 'f2'], ['f3']]);
    expect(groups[1]?.recipients).toEqual({ to: ['ops@contoso.com'], cc: ['x@contoso.com'] });
    expect(groups[0]?.recipients.cc).toBeUndefined();
  });
});

describe('edges the mutants found', () => {
  const sp = { id: SP, appId: APP, displayName: 'Fabrikam to Contoso' };
  const base: JobSnapshot = {
    tenantId: TENANT,
    servicePrincipal: sp,
    jobId: JOB,
    templateId: 'Azure2Azure',
    status: { known: 'Quarantine', raw: 'Quarantine' },
  };
  const findings = (job: JobSnapshot) =>
    evaluateTenant(
      { tenantId: TENANT, jobs: [job], servicePrincipalsRead: new Set([SP]), servicePrincipalProblems: [] },
      { now, rules: defaultRules() },
    );

  it('a quarantine Graph reports without its quarantine object is still a quarantine, the error taken from the last run', () => {
    const [f] = findings({
      ...base,
      lastExecution: { state: 'Failed', error: { code: 'E1', message: 'failed', tenantActionable: false } },
    });
    expect(f?.labels.condition).toBe('quarantine');
    expect(f?.annotations).toMatchObject({
      reason: 'not given by Graph',
      reasonKnown: false,
      errorCode: 'E1',
      errorMessage: 'failed',
      currentBegan: undefined,
      seriesBegan: undefined,
      seriesCount: undefined,
      nextAttempt: undefined,
    });
    const [g] = findings({ ...base, quarantine: { reason: { raw: '' } } });
    expect(g?.annotations.reason).toBe('not given by Graph');
  });

  it('an active job that still carries an old TooManyDeletes quarantine object is no alert', () => {
    expect(
      findings({
        ...base,
        status: { known: 'Active', raw: 'Active' },
        quarantine: { reason: { known: 'TooManyDeletes', raw: 'TooManyDeletes' } },
      }),
    ).toEqual([]);
  });

  it('notices: a firing notice carries no end; a pending alert is told nothing; a reminder with no log before it counts itself', () => {
    const root = route('root');
    const refiring = { ...quarantined, endsAt: '2026-11-27T02:00:00.000Z' };
    expect(neededNotification(refiring, root, now)?.endsAt).toBeUndefined();
    const told = afterSent(
      quarantined,
      neededNotification(quarantined, root, now) as NotificationItem,
      '2026-11-27T03:00:05.000Z',
    );
    expect(neededNotification({ ...told, state: 'pending' }, root, now)).toBeUndefined();
    const reminder: NotificationItem = {
      key: 'k',
      fingerprint: quarantined.fingerprint,
      routeId: 'root',
      kind: 'reminder',
      startsAt: quarantined.startsAt as string,
      reminder: 3,
    };
    expect(afterSent(quarantined, reminder, '2026-11-27T05:00:00.000Z').notified.root?.reminders).toBe(3);
    // A change notice about an alert without material is keyed by the empty text and the notice it follows.
    const changed = neededNotification(
      {
        ...told,
        material: undefined,
        notified: {
          root: { ...(told.notified.root as NonNullable<AlertRecord['notified']['root']>), material: 'old' },
        },
      },
      root,
      now,
    );
    expect(
      changed?.key.endsWith(`:${createHash('sha256').update('\n2026-11-27T03:00:05.000Z').digest('hex').slice(0, 16)}`),
    ).toBe(true);
  });

  it('a resolved-only subject says so once and counts by condition; sections go by kind, then condition, then name', () => {
    const item = (a: AlertRecord, kind: NotificationItem['kind']): Notice => ({
      alert: a,
      item: {
        key: `${a.fingerprint}:${kind}`,
        fingerprint: a.fingerprint,
        routeId: 'root',
        kind,
        startsAt: a.startsAt as string,
      },
    });
    const done = (a: AlertRecord) => ({ ...a, state: 'resolved' as const, endsAt: '2026-11-27T11:00:00.000Z' });
    expect(
      renderEmail([item(done(quarantined), 'resolved'), item(done(trip), 'resolved')], { now, tenantNames }).subject,
    ).toBe('Contoso: Resolved: Deletion threshold tripped: Fabrikam to Contoso (+1 more)');
    const zeta = alert('quarantine', { servicePrincipalName: 'Zeta to Contoso' }, { labels: { jobId: 'z' } });
    const alpha = alert('quarantine', { servicePrincipalName: 'Alpha to Contoso' }, { labels: { jobId: 'a' } });
    const nameless = alert('quarantine', {}, { labels: { jobId: 'n', servicePrincipalId: 'B-sp' } });
    const email = renderEmail(
      [
        item(zeta, 'firing'),
        item(unreadable, 'firing'),
        item(unknownCondition, 'firing'),
        item(nameless, 'firing'),
        item(alpha, 'firing'),
        item(trip, 'firing'),
      ],
      { now, tenantNames },
    );
    const order = email.plainText
      .split('\n')
      .filter((l) => l.startsWith('NEW ALERT · CRITICAL: ACT NOW: '))
      .map((l) => l.slice('NEW ALERT · CRITICAL: ACT NOW: '.length));
    // Conditions in the order of the rule registry (what blocks the most first), unknown ones last;
    // alerts of one cause in one section, in the natural order of their names.
    expect(order).toEqual([
      'Cannot monitor: tenant Contoso',
      'Deletion threshold tripped: Fabrikam to Contoso (Contoso)',
      '3 quarantined · Contoso',
      'job-stalled-v0: Old rule (Contoso)',
    ]);
    const members = email.plainText.slice(email.plainText.indexOf('3 configurations:')).split('\n').slice(1, 4);
    expect(members.map((l) => l.split(',')[0])).toEqual(['- Alpha to Contoso', '- B-sp', '- Zeta to Contoso']);
    const parted = renderEmail([item(zeta, 'firing')], { now, tenantNames, part: { index: 1, total: 2 } });
    expect(parted.plainText.split('\n').slice(0, 5)).toEqual([
      'CRITICAL: ACT NOW · NEW ALERT',
      '',
      expect.stringMatching(/^Part 1 of 2: /),
      '',
      'Quarantined: Zeta to Contoso (Contoso)',
    ]);
  });

  it('a view of an unknown condition is about its tenant when it names no configuration', () => {
    expect(viewOf(alert('job-stalled-v0', {}), { now, tenantNames }).about).toBe('Contoso');
    expect(viewOf(alert('job-stalled-v0', { servicePrincipalName: 7 }), { now, tenantNames: new Map() }).about).toBe(
      TENANT,
    );
  });

  it('links into the admin center only for real ids, both of them', () => {
    const links = (spId: string, appId: string | undefined) =>
      viewOf(
        alert(
          'quarantine',
          { appId, servicePrincipalName: 'X', reason: 'Unknown' },
          { labels: { servicePrincipalId: spId } },
        ),
        { now, tenantNames },
      ).links.length;
    expect(links(SP, APP)).toBe(3); // the job's Provisioning page, its provisioning logs, the tenant's audit logs
    // Without real ids only the tenant's audit logs are linked.
    expect(links(SP, 'not-a-guid')).toBe(1);
    expect(links(`x${SP}`, APP)).toBe(1);
    expect(links(`${SP}x`, APP)).toBe(1);
    expect(links(SP, undefined)).toBe(1);
  });

  it('an alert last seen "in the future" (a clock that went back) resolves when it is gone and keeps nothing', () => {
    const firing = { ...quarantined, lastSeenAt: '2026-11-27T12:30:00.000Z' };
    expect(
      reconcile({
        stored: new Map([[firing.fingerprint, firing]]),
        findings: [],
        inView: () => true,
        now,
        keepFiringForMs: () => 0,
      }).changed[0]?.state,
    ).toBe('resolved');
  });

  it('a maintenance window with two weekly stretches mutes in either; overlapping stretches end at the later end', async () => {
    const { silencedBy } = await import('../../lib/silence/silence');
    const { maintenanceEndsAt } = await import('../../lib/silence/windows');
    const window = {
      name: 'Two nights',
      matchers: {},
      timeZone: 'UTC',
      weekly: [
        { days: ['mon' as const], start: '01:00', end: '02:00' },
        { days: ['sat' as const], start: '22:00', end: '06:00' },
      ],
      createdBy: 'b',
      comment: 'c',
    };
    const labels = matchLabelsOf(quarantined, new Map());
    expect(
      silencedBy(labels, { silences: [], maintenanceWindows: [window] }, new Date('2026-11-28T23:00:00Z'))?.kind,
    ).toBe('maintenance');
    expect(
      silencedBy(labels, { silences: [], maintenanceWindows: [window] }, new Date('2026-11-30T01:30:00Z'))?.kind,
    ).toBe('maintenance');
    const overlapping = [
      { days: ['sat' as const], start: '22:00', end: '06:00' },
      { days: ['sat' as const], start: '23:00', end: '02:00' },
    ];
    expect(maintenanceEndsAt(overlapping, 'UTC', new Date('2026-11-28T23:30:00Z'))?.toISOString()).toBe(
      '2026-11-29T06:00:00.000Z',
    );
  });

  it('dispatch mutes nothing for an alert with nothing to say, silenced or not', () => {
    const p = policy({
      silences: [
        {
          matchers: {},
          startsAt: new Date('2026-11-27T00:00:00Z'),
          endsAt: new Date('2026-11-28T00:00:00Z'),
          createdBy: 'a',
          comment: 'c',
        },
      ],
    });
    const told = afterSent(
      quarantined,
      neededNotification(quarantined, p.route, now) as NotificationItem,
      '2026-11-27T11:00:00.000Z',
    );
    expect(dispatch([told], p, now, new Set())).toEqual({ notices: [], muted: [] });
    expect(dispatch([quarantined], p, now, new Set()).muted).toHaveLength(1);
  });
});

describe('small contracts', () => {
  it('a known reason is marked known', () => {
    const sp = { id: SP, appId: APP, displayName: 'Fabrikam to Contoso' };
    const job: JobSnapshot = {
      tenantId: TENANT,
      servicePrincipal: sp,
      jobId: JOB,
      templateId: 'Azure2Azure',
      status: { known: 'Quarantine', raw: 'Quarantine' },
      quarantine: { reason: { known: 'Unknown', raw: 'unknown' } },
    };
    const [f] = evaluateTenant(
      { tenantId: TENANT, jobs: [job], servicePrincipalsRead: new Set([SP]), servicePrincipalProblems: [] },
      { now, rules: defaultRules() },
    );
    expect(f?.annotations).toMatchObject({ reason: 'Unknown', reasonKnown: true });
  });

  it('an alert of a condition no rule knows is judged like a job alert', () => {
    const labels: AlertLabels = { tenantId: TENANT, servicePrincipalId: SP, jobId: JOB, condition: 'job-stalled-v0' };
    const seen: TenantObservation = {
      tenantId: TENANT,
      jobs: [],
      servicePrincipalsRead: new Set([SP]),
      servicePrincipalProblems: [],
    };
    expect(inView(labels, seen)).toBe(true);
    expect(inView(labels, { ...seen, problem: { kind: 'access', message: 'x', operation: 'token' } })).toBe(false);
  });

  it('shows nothing for null or undefined, and anything else as text', async () => {
    const { str } = await import('../../lib/evaluate/present');
    expect([str(null), str(undefined), str(0), str(false), str('x')]).toEqual(['', '', '0', 'false', 'x']);
  });

  it("a rule's default settings carry its parameters' defaults", async () => {
    const { defaultRuleSettings } = await import('../../lib/evaluate/rule');
    const rule = {
      ...RULES[0]!,
      params: {
        threshold: { type: 'integer' as const, default: 5, description: 'x' },
        strict: { type: 'boolean' as const, default: true, description: 'y' },
      },
    };
    expect(defaultRuleSettings(rule).params).toEqual({ threshold: 5, strict: true });
  });
});

describe('flapping, found by the soak', () => {
  const root = route('root');
  const told = (a: AlertRecord, at: string) => afterSent(a, neededNotification(a, root, now) as NotificationItem, at);

  it('a material that comes back (A, B, A, B) is a new change notice each time, never the key of an earlier one', () => {
    let a = told({ ...quarantined, material: 'A' }, '2026-11-27T03:00:05.000Z');
    const keys: string[] = [];
    ['B', 'A', 'B', 'A'].forEach((material, i) => {
      a = { ...a, material };
      const notice = neededNotification(a, root, now) as NotificationItem;
      expect(notice.kind).toBe('changed');
      keys.push(notice.key);
      a = afterSent(a, notice, `2026-11-27T04:0${i}:00.000Z`);
    });
    expect(new Set(keys).size).toBe(4);
    // Until it is sent, the same change keeps its key (so a re-plan is recognised).
    const pending = { ...a, material: 'C' };
    expect(neededNotification(pending, root, now)?.key).toBe(
      neededNotification(pending, root, new Date('2026-11-27T12:05:00Z'))?.key,
    );
  });

  it('an alert that fires again before its route heard the last period end: the resolved notice of that period, then the firing one', () => {
    const first = told(quarantined, '2026-11-27T03:00:05.000Z');
    const again = { ...first, state: 'firing' as const, startsAt: '2026-11-27T05:00:00.000Z', endsAt: undefined };
    const notices = neededNotifications(again, root, now);
    expect(notices.map((n) => [n.kind, n.startsAt, n.endsAt])).toEqual([
      ['resolved', '2026-11-27T03:00:00.000Z', '2026-11-27T05:00:00.000Z'],
      ['firing', '2026-11-27T05:00:00.000Z', undefined],
    ]);
    expect(notices[0]?.key).toBe(`${quarantined.fingerprint}:root:resolved:2026-11-27T03:00:00.000Z`);
    // Recorded in either order, the log ends at the new period, told, with nothing more owed.
    for (const order of [notices, [...notices].reverse()]) {
      const recorded = order.reduce<AlertRecord>((a, n) => afterSent(a, n, '2026-11-27T05:00:05.000Z'), again);
      expect(recorded.notified.root).toMatchObject({ startsAt: '2026-11-27T05:00:00.000Z', resolved: false });
      expect(neededNotifications(recorded, root, new Date('2026-11-27T05:01:00Z'))).toEqual([]);
    }
    expect(neededNotifications(again, { ...root, sendResolved: false }, now).map((n) => n.kind)).toEqual(['firing']);
    const resolvedTold = afterSent(
      { ...first, state: 'resolved', endsAt: '2026-11-27T04:00:00.000Z' },
      neededNotification(
        { ...first, state: 'resolved', endsAt: '2026-11-27T04:00:00.000Z' },
        root,
        now,
      ) as NotificationItem,
      '2026-11-27T04:00:05.000Z',
    );
    expect(
      neededNotifications({ ...resolvedTold, state: 'firing', startsAt: '2026-11-27T05:00:00.000Z' }, root, now).map(
        (n) => n.kind,
      ),
    ).toEqual(['firing']);
    expect(neededNotifications(first, root, new Date('2026-11-27T03:01:00Z'))).toEqual([]);
    // The new period ended too before anything was told: the old period's resolved notice is still owed; a pending one waits.
    const endedUntold = { ...again, state: 'resolved' as const, endsAt: '2026-11-27T06:00:00.000Z' };
    expect(neededNotifications(endedUntold, root, now).map((n) => [n.kind, n.startsAt])).toEqual([
      ['resolved', '2026-11-27T03:00:00.000Z'],
    ]);
    expect(neededNotifications({ ...again, state: 'pending' }, root, now)).toEqual([]);
  });

  it('a delayed firing notice of the earlier period that goes out with the new period’s: the earlier end is still told, once', () => {
    // Soak seed 2: the firing notice of the period from 03:00 failed to send (ACS 503) and waited in
    // the outbox; the alert ended and fired again at 05:00 before it went out; then both firing
    // notices went out in one cycle, the earlier first. The route heard the 03:00 period begin and
    // must hear it end, though its log has moved on to the 05:00 period.
    const p1 = { ...quarantined, startsAt: '2026-11-27T03:00:00.000Z', notified: {} };
    const p2 = { ...p1, startsAt: '2026-11-27T05:00:00.000Z' };
    const soon = new Date('2026-11-27T05:10:00Z');
    const firingOf = (a: AlertRecord) => neededNotification(a, root, now) as NotificationItem;
    const both = afterSent(
      afterSent(p2, firingOf(p1), '2026-11-27T05:00:05.000Z'),
      firingOf(p2),
      '2026-11-27T05:00:06.000Z',
    );
    const owed = neededNotifications(both, root, soon);
    expect(owed.map((n) => [n.kind, n.startsAt, n.endsAt])).toEqual([
      ['resolved', '2026-11-27T03:00:00.000Z', '2026-11-27T05:00:00.000Z'],
    ]);
    // Told, it is owed no more, and the 05:00 period goes on as before (its reminder, then its own end).
    const toldEnd = afterSent(both, owed[0] as NotificationItem, '2026-11-27T05:05:00.000Z');
    expect(neededNotifications(toldEnd, root, soon)).toEqual([]);
    expect(toldEnd.notified.root).toMatchObject({ startsAt: '2026-11-27T05:00:00.000Z', resolved: false });
    const ended = { ...toldEnd, state: 'resolved' as const, endsAt: '2026-11-27T06:00:00.000Z' };
    expect(neededNotifications(ended, root, soon).map((n) => [n.kind, n.startsAt])).toEqual([
      ['resolved', '2026-11-27T05:00:00.000Z'],
    ]);
    // A route that wants no resolved notices is owed none.
    const quiet = { ...root, sendResolved: false };
    expect(neededNotifications(both, quiet, soon)).toEqual([]);
  });

  it('dispatch sends both, as one routed pair', () => {
    const first = told(quarantined, '2026-11-27T03:00:05.000Z');
    const again = { ...first, startsAt: '2026-11-27T05:00:00.000Z' };
    expect(dispatch([again], policy(), now, new Set()).notices.map((n) => n.item.kind)).toEqual(['resolved', 'firing']);
  });
});
