import { beforeEach, describe, expect, it } from 'vitest';
import { buildJob } from '../../emulators/jobs';
import { defaultRules } from '../../lib/config/config';
import type { MaintenanceWindowConfig } from '../../lib/model/config-file';
import { dispatch } from '../../lib/dispatch/dispatch';
import { evaluateTenant, fingerprintOf } from '../../lib/evaluate/evaluate';
import type { AlertLabels, AlertRecord, EmailContent } from '../../lib/model';
import { renderEmail } from '../../lib/notify/render';
import { normalizeJob } from '../../lib/observe/normalize';
import { isInWeeklyWindow } from '../../lib/silence/windows';
import { policy } from '../support/policy';

/**
 * What mutation testing found untested (issue #8), each a missed or wrong alert: odd casing from
 * Graph carried from normalize through evaluate, maintenance windows read in their own time zone
 * at instants where UTC says otherwise, and `"` and `&` escaped in what an email shows.
 */

const TENANT = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const sp = {
  id: '11a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601',
  appId: '21a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601',
  displayName: 'Fabrikam to Contoso',
};
const now = new Date('2026-11-27T12:00:00Z');

/** A job as Graph sends it (emulators/jobs.ts), with `raw` laid over the payload, through normalize and evaluate. */
function conditionsFor(raw: Record<string, unknown>): string[] {
  const payload = buildJob(
    {
      id: 'Azure2Azure.x.y',
      templateId: 'Azure2Azure',
      state: 'quarantined',
      quarantine: { reason: 'TooManyDeletes' },
      raw,
    },
    now,
  );
  const job = normalizeJob(TENANT, sp, payload);
  return evaluateTenant(
    { tenantId: TENANT, jobs: [job], servicePrincipalsRead: new Set([sp.id]), servicePrincipalProblems: [] },
    { now, rules: defaultRules() },
  ).map((f) => f.labels.condition);
}

describe('odd casing from Graph, normalize through evaluate', () => {
  it('a lowercase tooManyDeletes is a deletion-threshold trip, not a plain quarantine', () => {
    expect(conditionsFor({ status: { quarantine: { reason: 'tooManyDeletes' } } })).toEqual(['deletion-threshold']);
    expect(conditionsFor({ status: { quarantine: { reason: 'TOOMANYDELETES' } } })).toEqual(['deletion-threshold']);
    expect(conditionsFor({ status: { quarantine: { reason: ' TooManyDeletes ' } } })).toEqual(['deletion-threshold']);
  });

  it('a lowercase status code is still a quarantine, and any other reason is a plain quarantine', () => {
    expect(conditionsFor({ status: { code: 'quarantine', quarantine: { reason: 'tooManyDeletes' } } })).toEqual([
      'deletion-threshold',
    ]);
    expect(
      conditionsFor({ status: { code: 'QUARANTINE', quarantine: { reason: 'encounteredQuarantineException' } } }),
    ).toEqual(['quarantine']);
    expect(conditionsFor({ status: { code: 'quarantine', quarantine: { reason: 'SomethingNew' } } })).toEqual([
      'quarantine',
    ]);
    // Active with a failed last run: no quarantine of either kind (the failed run is job-failing's business).
    expect(
      conditionsFor({ status: { code: 'active', quarantine: null } }).filter(
        (c) => c === 'quarantine' || c === 'deletion-threshold',
      ),
    ).toEqual([]);
  });
});

describe('maintenance windows in their own time zone', () => {
  // Saturday 22:00 to Sunday 06:00 in Berlin: CET (UTC+1) in November.
  const window: MaintenanceWindowConfig = {
    name: 'Weekend patching',
    matchers: {},
    timeZone: 'Europe/Berlin',
    weekly: [{ days: ['sat'], start: '22:00', end: '06:00' }],
    createdBy: 'bob@contoso.com',
    comment: 'Patch night',
  };
  const weekly = window.weekly[0]!;
  const inWindow = (iso: string) => isInWeeklyWindow(weekly, window.timeZone, new Date(iso));

  it('is on where Berlin is in it and UTC is not, and off where UTC would be in it and Berlin is not', () => {
    expect(inWindow('2026-11-28T21:30:00Z')).toBe(true); // 22:30 in Berlin; 21:30 in UTC is before 22:00
    expect(inWindow('2026-11-29T05:30:00Z')).toBe(false); // 06:30 in Berlin; 05:30 in UTC is before 06:00
    expect(inWindow('2026-11-28T20:59:00Z')).toBe(false); // 21:59 in Berlin
    expect(inWindow('2026-11-29T04:59:00Z')).toBe(true); // 05:59 in Berlin
  });

  it('in summer (UTC+2) the same window starts two hours before 22:00 UTC', () => {
    expect(inWindow('2026-06-27T20:30:00Z')).toBe(true); // Saturday 22:30 CEST
    expect(inWindow('2026-06-28T04:30:00Z')).toBe(false); // Sunday 06:30 CEST
    expect(inWindow('2026-06-28T03:59:00Z')).toBe(true); // Sunday 05:59 CEST
  });

  it('mutes an alert through dispatch at the Berlin time, not the UTC time', () => {
    const labels: AlertLabels = {
      tenantId: TENANT,
      servicePrincipalId: sp.id,
      jobId: 'Azure2Azure.x.y',
      condition: 'quarantine',
    };
    const alert: AlertRecord = {
      fingerprint: fingerprintOf(labels),
      labels,
      severity: 'critical',
      state: 'firing',
      annotations: {},
      startsAt: '2026-11-28T21:00:00.000Z',
      notified: {},
    };
    const p = policy({ maintenanceWindows: [window] });
    expect(dispatch([alert], p, new Date('2026-11-28T21:30:00Z'), new Set()).muted).toHaveLength(1);
    expect(dispatch([alert], p, new Date('2026-11-29T05:30:00Z'), new Set()).notices).toHaveLength(1);
  });
});

describe('escaping in what an email shows', () => {
  const labels: AlertLabels = {
    tenantId: TENANT,
    servicePrincipalId: sp.id,
    jobId: 'Azure2Azure.x.y',
    condition: 'quarantine',
  };
  const alert: AlertRecord = {
    fingerprint: fingerprintOf(labels),
    labels,
    severity: 'critical',
    state: 'firing',
    annotations: {
      servicePrincipalName: 'Tom & "Jerry" <b>',
      reason: 'Unknown',
      errorCode: 'A&B',
      errorMessage: 'said "no" & left',
    },
    startsAt: '2026-11-27T03:00:00.000Z',
    notified: {},
  };
  let email: EmailContent;
  beforeEach(() => {
    email = renderEmail(
      [
        {
          alert,
          item: {
            key: 'k',
            fingerprint: alert.fingerprint,
            routeId: 'root',
            kind: 'firing',
            startsAt: alert.startsAt!,
          },
        },
      ],
      { now, tenantNames: new Map() },
    );
  });

  it('escapes & and " (and < >) in the HTML, every time they occur', () => {
    expect(email.html).toContain('Tom &amp; &quot;Jerry&quot; &lt;b&gt;');
    expect(email.html).toContain('said &quot;no&quot; &amp; left');
    expect(email.html).toContain('A&amp;B');
    expect(email.html).not.toContain('Tom & "Jerry"');
  });

  it('keeps them as they are in the plain text and the subject, which are not HTML', () => {
    expect(email.plainText).toContain('said "no" & left');
    expect(email.subject).toContain('Tom & "Jerry" <b>');
  });
});
