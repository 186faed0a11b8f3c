import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { evaluateTenant } from '../../lib/evaluate/evaluate';
import { provisioningFailures, tierOf } from '../../lib/evaluate/rules/provisioning-failures';
import type { AlertRecord, Finding } from '../../lib/model';
import { viewOf } from '../../lib/evaluate/view';
import {
  addFailure,
  emptyDigest,
  failuresInWindow,
  MAX_CODES,
  OTHER_CODES,
  slideDigest,
} from '../../lib/observe/provisioning-digest';
import { type TenantDigest } from '../../lib/model/provisioning';
import type { ProvisioningObservation } from '../../lib/model/provisioning';
import type { TenantObservation } from '../../lib/model/observation';
import { event, MIN, T0 } from '../support/events';

const HOUR = 60 * MIN;
const JOB = 'scim.contoso.servicenow';

function observe(digest: TenantDigest, complete = true): TenantObservation {
  const provisioning: ProvisioningObservation = {
    source: 'graph',
    complete,
    problems: [],
    digest,
    heldDeletes: new Map(),
    activity: new Map(),
    activityUnknown: new Set(),
    eventsRead: 0,
    pagesRead: 0,
  };
  return { tenantId: 't1', jobs: [], servicePrincipalsRead: new Set(), servicePrincipalProblems: [], provisioning };
}

const failuresOf = (digest: TenantDigest, now: number, config: unknown = {}): Finding[] =>
  evaluateTenant(observe(digest), {
    now: new Date(now),
    rules: buildPolicy(config, { emailTo: ['ops@contoso.com'] }).rules,
  }).filter((f) => f.labels.condition === 'provisioning-failures');

function add(digest: TenantDigest, times: number[], code = 'EntryConflict', now = T0, window = HOUR): void {
  for (const at of times) addFailure(digest, event({ at, code, name: `User ${at}` }), window, now);
}

describe('failure digest', () => {
  it('groups failures per job and error code with count, first and last time, reason and the newest examples', () => {
    const digest = emptyDigest();
    addFailure(
      digest,
      event({ at: T0 - 30 * MIN, code: 'EntryConflict', name: 'Adele Vance', reason: 'old reason' }),
      HOUR,
      T0,
    );
    addFailure(digest, event({ at: T0 - 20 * MIN, code: 'EntryConflict', name: 'Alex Wilber' }), HOUR, T0);
    addFailure(
      digest,
      event({
        at: T0 - 10 * MIN,
        code: 'EntryConflict',
        name: 'Allan Deyoung',
        reason: 'new reason',
        recommendedAction: 'Fix the userName',
      }),
      HOUR,
      T0,
    );
    addFailure(digest, event({ at: T0 - 5 * MIN, code: 'EntryConflict', name: 'Christie Cline' }), HOUR, T0);
    addFailure(digest, event({ at: T0 - 1 * MIN, code: 'MandatoryFieldsMissing', name: 'Debra Berg' }), HOUR, T0);
    const job = digest.jobs[JOB]!;
    expect(Object.keys(job.codes).sort()).toEqual(['EntryConflict', 'MandatoryFieldsMissing']);
    const conflict = job.codes.EntryConflict!;
    expect(conflict).toMatchObject({
      count: 4,
      firstAt: T0 - 30 * MIN,
      lastAt: T0 - 5 * MIN,
      reason: 'new reason',
      recommendedAction: 'Fix the userName',
    });
    expect(conflict.examples.map((e) => e.name)).toEqual(['Alex Wilber', 'Allan Deyoung', 'Christie Cline']);
    expect(conflict.examples[0]?.upn).toBe('alex.wilber@contoso.example');
    expect(job.inWindow).toBe(5);
    expect(job.servicePrincipalName).toBe('ServiceNow');
  });

  it('counts only failures inside the window, and starts a new stretch after the window was clean', () => {
    const digest = emptyDigest();
    expect(addFailure(digest, event({ at: T0 - 2 * HOUR }), HOUR, T0)).toBe(false);
    add(digest, [T0 - 50 * MIN, T0 - 45 * MIN], 'Timeout', T0 - 40 * MIN);
    // 70 minutes without a failure: the window was clean, the next failure starts afresh.
    add(digest, [T0 + 25 * MIN], 'InvalidAnchor', T0 + 30 * MIN);
    const job = digest.jobs[JOB]!;
    expect(Object.keys(job.codes)).toEqual(['InvalidAnchor']);
    expect(job.stretchStart).toBe(T0 + 25 * MIN);
    expect(job.peak).toBe(1);
  });

  it('keeps the peak of the stretch, so a threshold reached once stays reached while failures trickle on', () => {
    const digest = emptyDigest();
    add(
      digest,
      Array.from({ length: 12 }, (_, i) => T0 + i * 10_000),
    );
    add(digest, [T0 + 50 * MIN, T0 + 100 * MIN], 'EntryConflict', T0 + 100 * MIN);
    const job = digest.jobs[JOB]!;
    expect(job.peak).toBe(13); // the burst and the first of the trickle, 50 minutes later, share a window
    expect(failuresInWindow(job, T0 + 101 * MIN, HOUR)).toBe(2);
    expect(failuresOf(digest, T0 + 101 * MIN)).toHaveLength(1);
    // Once the window holds none, the stretch ends and the digest forgets the job.
    slideDigest(digest, T0 + 161 * MIN, () => HOUR);
    expect(digest.jobs[JOB]).toBeUndefined();
    expect(failuresOf(digest, T0 + 161 * MIN)).toEqual([]);
  });

  it('counts a late event into the stretch it belongs to', () => {
    const digest = emptyDigest();
    add(digest, [T0, T0 + 10 * MIN]);
    add(digest, [T0 - 5 * MIN], 'EntryConflict', T0 + 11 * MIN);
    const code = digest.jobs[JOB]!.codes.EntryConflict!;
    expect(code).toMatchObject({ count: 3, firstAt: T0 - 5 * MIN, lastAt: T0 + 10 * MIN });
  });

  it(`folds codes past ${MAX_CODES} into one bucket`, () => {
    const digest = emptyDigest();
    for (let i = 0; i < 30; i++) add(digest, [T0 + i * 1000], `Code${i}`, T0 + HOUR / 2);
    const codes = digest.jobs[JOB]!.codes;
    expect(Object.keys(codes)).toHaveLength(MAX_CODES);
    expect(codes[OTHER_CODES]?.count).toBe(30 - (MAX_CODES - 1));
  });
});

describe('provisioning-failures rule', () => {
  it('fires at the threshold (default 10 in 1 h) and not below it', () => {
    const digest = emptyDigest();
    add(
      digest,
      Array.from({ length: 9 }, (_, i) => T0 - i * MIN),
    );
    expect(failuresOf(digest, T0)).toEqual([]);
    add(digest, [T0]);
    const [finding] = failuresOf(digest, T0);
    expect(finding?.labels).toMatchObject({
      tenantId: 't1',
      servicePrincipalId: 'sp-servicenow',
      jobId: JOB,
      condition: 'provisioning-failures',
    });
    expect(finding?.severity).toBe('warning');
    expect(finding?.annotations).toMatchObject({
      servicePrincipalName: 'ServiceNow',
      templateId: 'scim',
      threshold: 10,
      inWindow: 10,
      failures: 10,
      codeCount: 1,
    });
  });

  it('tells a new code or a new tier at once, and updates the alert in place for more failures of a known code', () => {
    const digest = emptyDigest();
    add(
      digest,
      Array.from({ length: 10 }, (_, i) => T0 + i * 1000),
    );
    const first = failuresOf(digest, T0 + HOUR / 2)[0]!;
    add(digest, [T0 + 20_000, T0 + 21_000]);
    const more = failuresOf(digest, T0 + HOUR / 2)[0]!;
    expect(more.material).toBe(first.material);
    expect(more.annotations.failures).toBe(12);
    add(digest, [T0 + 22_000], 'InvalidAnchor');
    const newCode = failuresOf(digest, T0 + HOUR / 2)[0]!;
    expect(newCode.material).not.toBe(first.material);
    add(
      digest,
      Array.from({ length: 90 }, (_, i) => T0 + 30_000 + i * 100),
    );
    const tier = failuresOf(digest, T0 + HOUR / 2)[0]!;
    expect(tier.annotations.tier).toBe(1);
    expect(tier.material).not.toBe(newCode.material);
    expect([tierOf(9, 10), tierOf(10, 10), tierOf(99, 10), tierOf(100, 10), tierOf(1000, 10)]).toEqual([
      -1, 0, 0, 1, 2,
    ]);
  });

  it('takes its threshold and window per app or job from the config', () => {
    const digest = emptyDigest();
    add(digest, [T0, T0 + 1000, T0 + 2000]);
    const config = {
      rules: {
        'provisioning-failures': { threshold: 100, overrides: [{ match: { app: 'ServiceNow' }, threshold: 3 }] },
      },
    };
    expect(failuresOf(digest, T0 + MIN, config)).toHaveLength(1);
    expect(failuresOf(digest, T0 + MIN, { rules: { 'provisioning-failures': { threshold: 100 } } })).toEqual([]);
    expect(
      failuresOf(digest, T0 + MIN, {
        rules: {
          'provisioning-failures': { threshold: 3, overrides: [{ match: { jobTemplate: 'scim' }, enabled: false }] },
        },
      }),
    ).toEqual([]);
    // A 5-minute window no longer holds failures 10 minutes old.
    expect(
      failuresOf(digest, T0 + 10 * MIN, { rules: { 'provisioning-failures': { threshold: 3, window: '5m' } } }),
    ).toEqual([]);
  });

  it('is judged only when the logs were read up to now', () => {
    const labels = { tenantId: 't1', servicePrincipalId: 'sp', jobId: 'j', condition: 'provisioning-failures' };
    expect(provisioningFailures.inView?.(labels, observe(emptyDigest(), true))).toBe(true);
    expect(provisioningFailures.inView?.(labels, observe(emptyDigest(), false))).toBe(false);
    expect(provisioningFailures.inView?.(labels, { ...observe(emptyDigest()), provisioning: undefined })).toBe(false);
  });

  it('shows each code with its examples, reason and runbook step', () => {
    const digest = emptyDigest();
    for (let i = 0; i < 10; i++)
      addFailure(
        digest,
        event({
          at: T0 + i * 1000,
          code: 'InvalidAnchor',
          name: `Adele Vance ${i}`,
          reason: 'The user no longer exists in the target',
        }),
        HOUR,
        T0 + MIN,
      );
    const finding = failuresOf(digest, T0 + MIN)[0]!;
    const alert: AlertRecord = { ...finding, state: 'firing', notified: {}, startsAt: new Date(T0).toISOString() };
    const view = viewOf(alert, { now: new Date(T0 + MIN), tenantNames: new Map([['t1', 'Contoso']]) });
    expect(view.title).toBe('Provisioning failures');
    expect(view.about).toBe('ServiceNow');
    const facts = Object.fromEntries(view.facts);
    expect(facts.Failures).toBe('10 since they began; 10 in the last 1 h (alert at 10)');
    expect(facts.InvalidAnchor).toContain('10 failure(s)');
    expect(facts.InvalidAnchor).toContain('Reason: The user no longer exists in the target');
    expect(facts.InvalidAnchor).toContain('Adele Vance 9 (adele.vance.9@contoso.example)');
    expect(view.runbook?.steps[0]).toBe(
      'InvalidAnchor: An object created or matched earlier no longer exists in the target: restart the job (Restart provisioning) so it matches again.',
    );
  });
});
