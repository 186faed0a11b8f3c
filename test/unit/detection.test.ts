import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import type { Policy } from '../../lib/model/policy';
import { dispatch } from '../../lib/dispatch/dispatch';
import { evaluateTenant, inView } from '../../lib/evaluate/evaluate';
import { ruleFor } from '../../lib/evaluate/rules';
import type { AlertRecord, Finding } from '../../lib/model';
import { afterSent } from '../../lib/dispatch/dedup';
import { renderEmail } from '../../lib/notify/render';
import { viewOf } from '../../lib/evaluate/view';
import { normalizeJob } from '../../lib/observe/normalize';
import { parseSecrets } from '../../lib/observe/secrets';
import type { ServicePrincipalRef, TenantObservation } from '../../lib/model/observation';
import { reconcile } from '../../lib/reconcile/reconcile';

/**
 * Every detection condition, from payloads shaped as docs/reference/graph-provisioning-api.md
 * describes them (§1.9) through normalisation, the rules, the alert lifecycle, routing and the
 * email, with the traps the reference warns of.
 */

const TENANT = 'aaaaaaaa-0000-4000-8000-000000000001';
const NOW = new Date('2026-11-27T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (msAgo: number, from = NOW) => new Date(from.getTime() - msAgo).toISOString().replace('Z', '0000Z');
const NEVER = '0001-01-01T00:00:00Z';

const crossTenant: ServicePrincipalRef = {
  id: 'bbbbbbbb-0000-4000-8000-000000000001',
  appId: 'cccccccc-0000-4000-8000-000000000001',
  displayName: 'Fabrikam to Contoso',
  applicationTemplateId: '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7',
};
const cloudSync: ServicePrincipalRef = {
  id: 'bbbbbbbb-0000-4000-8000-000000000002',
  appId: 'cccccccc-0000-4000-8000-000000000002',
  displayName: 'contoso.local',
  applicationTemplateId: '1a4721b3-e57f-4451-ae87-ef078703ec94',
};
const scimApp: ServicePrincipalRef = {
  id: 'bbbbbbbb-0000-4000-8000-000000000003',
  appId: 'cccccccc-0000-4000-8000-000000000003',
  displayName: 'Acme SCIM',
  applicationTemplateId: '8adf8e6e-67b2-4cf2-a259-e3dc5476c621',
};

type Json = Record<string, unknown>;

function merge(base: unknown, patch: unknown): unknown {
  if (
    typeof base !== 'object' ||
    base === null ||
    Array.isArray(base) ||
    typeof patch !== 'object' ||
    patch === null ||
    Array.isArray(patch)
  )
    return patch;
  const out: Json = { ...(base as Json) };
  for (const [k, v] of Object.entries(patch as Json)) out[k] = k in out ? merge(out[k], v) : v;
  return out;
}

function execution(state: string, endedMsAgo: number, extra: Json = {}): Json {
  return {
    activityIdentifier: 'c0ffee00-0000-4000-8000-000000000001',
    countEntitled: 80,
    countEntitledForProvisioning: 80,
    countEscrowed: 0,
    countEscrowedRaw: 3,
    countExported: 0,
    countExports: 0,
    countImported: 80,
    countImportedDeltas: 0,
    countImportedReferenceDeltas: 0,
    state,
    timeBegan: at(endedMsAgo + 47_000),
    timeEnded: at(endedMsAgo),
    error: null,
    ...extra,
  };
}

/** A healthy running job as Graph sends it (reference §1.9 (b)), its last run `lastRunMsAgo` ago; `patch` is merged over it. */
function graphJob(id: string, templateId: string, patch: Json = {}, lastRunMsAgo = 7 * MIN, interval = 'PT40M'): Json {
  return merge(
    {
      id,
      templateId,
      schedule: { expiration: null, interval, state: 'Active' },
      status: {
        code: 'Active',
        countSuccessiveCompleteFailures: 0,
        escrowsPruned: false,
        quarantine: null,
        lastExecution: execution('Succeeded', lastRunMsAgo),
        lastSuccessfulExecution: execution('Succeeded', lastRunMsAgo),
        lastSuccessfulExecutionWithExports: null,
        steadyStateFirstAchievedTime: at(30 * DAY),
        steadyStateLastAchievedTime: at(lastRunMsAgo),
        troubleshootingUrl: '',
        progress: [],
        synchronizedEntryCountByType: [{ key: 'user to User', value: 80 }],
      },
      synchronizationJobSettings: [{ name: 'QuarantineTooManyDeletesThreshold', value: '500' }],
    },
    patch,
  ) as Json;
}

/** Payload (a) of reference §1.9: a job right after `start`, never run. */
function neverRunJob(id: string): Json {
  return graphJob(id, 'Azure2Azure', {
    status: {
      code: 'NotRun',
      lastSuccessfulExecution: null,
      steadyStateFirstAchievedTime: NEVER,
      steadyStateLastAchievedTime: NEVER,
      lastExecution: {
        ...execution('Failed', 0),
        activityIdentifier: null,
        countEntitled: 0,
        countEscrowedRaw: 0,
        timeBegan: NEVER,
        timeEnded: NEVER,
        error: { code: 'None', message: '', tenantActionable: false },
      },
      synchronizedEntryCountByType: [],
    },
    synchronizationJobSettings: [
      { name: 'AzureIngestionAttributeOptimization', value: 'False' },
      { name: 'LookaheadQueryEnabled', value: 'False' },
    ],
  });
}

/** A quarantined job (reference §1.9 (c)) whose quarantine series began `seriesBeganMsAgo` ago. */
function quarantinedJob(
  id: string,
  reason: string,
  errorCode: string,
  seriesBeganMsAgo = 10 * MIN,
  code = 'Quarantine',
): Json {
  const error = { code: errorCode, message: `${errorCode} message`, tenantActionable: true };
  return graphJob(id, 'Azure2Azure', {
    status: {
      code,
      countSuccessiveCompleteFailures: 3,
      lastExecution: execution('Failed', 12 * MIN, { error }),
      lastSuccessfulExecution: execution('Succeeded', seriesBeganMsAgo + 40 * MIN),
      steadyStateLastAchievedTime: at(seriesBeganMsAgo + 40 * MIN),
      quarantine: {
        currentBegan: at(10 * MIN),
        nextAttempt: at(-6 * HOUR),
        reason,
        seriesBegan: at(seriesBeganMsAgo),
        seriesCount: 3,
        error,
      },
    },
  });
}

/** The job Entra leaves after four weeks in quarantine: Paused, schedule Disabled with TimeSpan.MaxValue, its last run failed. */
function disabledAfterQuarantine(id: string): Json {
  const error = {
    code: 'AzureDirectoryB2BManagementPolicyCheckFailure',
    message: 'Policy permitting auto-redemption of invitations not configured',
    tenantActionable: true,
  };
  return graphJob(id, 'Azure2Azure', {
    schedule: { interval: 'P10675199DT2H48M5.4775807S', state: 'Disabled' },
    status: {
      code: 'Paused',
      countSuccessiveCompleteFailures: 31,
      lastExecution: execution('Failed', 20 * HOUR, { error }),
      lastSuccessfulExecution: execution('Succeeded', 29 * DAY),
      steadyStateLastAchievedTime: at(29 * DAY),
    },
  });
}

function observe(jobs: [ServicePrincipalRef, Json][], extra: Partial<TenantObservation> = {}): TenantObservation {
  const snapshots = jobs.map(([sp, raw]) => normalizeJob(TENANT, sp, raw));
  const sps = [...new Map(jobs.map(([sp]) => [sp.id, sp])).values()];
  return {
    tenantId: TENANT,
    jobs: snapshots,
    servicePrincipalsRead: new Set(sps.map((s) => s.id)),
    servicePrincipalProblems: [],
    servicePrincipals: sps,
    ...extra,
  };
}

function findings(o: TenantObservation, policy?: Policy, now = NOW): Finding[] {
  return evaluateTenant(o, { now, rules: policy?.rules, tenantNames: policy?.tenantNames });
}

const only = (fs: Finding[], condition: string) => fs.filter((f) => f.labels.condition === condition);
const conditions = (fs: Finding[]) => fs.map((f) => f.labels.condition).sort();

/** Cycles of the real pipeline stages over one stored state: evaluate, reconcile, dispatch, record what was sent. */
function pipeline(policy: Policy = buildPolicy({}, { emailTo: ['ops@contoso.com'] })) {
  let stored = new Map<string, AlertRecord>();
  return {
    policy,
    get stored() {
      return stored;
    },
    cycle(o: TenantObservation, now = NOW) {
      const fs = findings(o, policy, now);
      const { changed } = reconcile({ stored, findings: fs, now, inView: (labels) => inView(labels, o) });
      stored = new Map(stored);
      for (const r of changed) stored.set(r.fingerprint, r);
      const { notices, muted } = dispatch([...stored.values()], policy, now, new Set());
      for (const { item } of notices)
        stored.set(item.fingerprint, afterSent(stored.get(item.fingerprint) as AlertRecord, item, now.toISOString()));
      const related = (alert: AlertRecord) =>
        [...stored.values()].filter(
          (a) =>
            a !== alert &&
            a.labels.jobId === alert.labels.jobId &&
            a.labels.servicePrincipalId === alert.labels.servicePrincipalId,
        );
      const email =
        notices.length > 0
          ? renderEmail(
              notices.map((n) => ({ item: n.item, alert: stored.get(n.item.fingerprint) as AlertRecord })),
              { now, tenantNames: policy.tenantNames, related },
            )
          : undefined;
      return { findings: fs, notices, muted, email };
    },
  };
}

describe('quarantine', () => {
  it('counts down to Entra disabling the job from seriesBegan, and says so', () => {
    const [f] = findings(
      observe([
        [
          crossTenant,
          quarantinedJob(
            'A2A.1',
            'EncounteredQuarantineException',
            'AzureDirectoryB2BManagementPolicyCheckFailure',
            10 * DAY,
          ),
        ],
      ]),
    );
    expect(f?.labels.condition).toBe('quarantine');
    expect(f?.annotations.disablesAt).toBe(new Date(NOW.getTime() + 18 * DAY).toISOString());
    expect(f?.annotations.finalWeek).toBe(false);
    const view = ruleFor('quarantine')!.present(
      { ...alertOf(f!), state: 'firing' },
      { now: NOW, tenantName: () => undefined, related: [] },
    );
    expect(view.next).toContain(
      `Entra disables this job in 18 days (${new Date(NOW.getTime() + 18 * DAY).toISOString().slice(0, 16).replace('T', ' ')} UTC).`,
    );
    // Said once, in what happens next: not again among the details.
    expect(view.facts.map(([label]) => label)).not.toContain('Entra disables the job');
  });

  it('in its last week it is critical whatever the config says, and the change is material (told at once)', () => {
    const policy = buildPolicy({ rules: { quarantine: { severity: 'warning' } } }, { emailTo: ['ops@contoso.com'] });
    const early = findings(
      observe([
        [
          crossTenant,
          quarantinedJob('A2A.1', 'EncounteredEscrowProportionThreshold', 'EscrowThresholdExceeded', 10 * DAY),
        ],
      ]),
      policy,
    )[0]!;
    const late = findings(
      observe([
        [
          crossTenant,
          quarantinedJob('A2A.1', 'EncounteredEscrowProportionThreshold', 'EscrowThresholdExceeded', 22 * DAY),
        ],
      ]),
      policy,
    )[0]!;
    expect(early.severity).toBe('warning');
    expect(late.severity).toBe('critical');
    expect(late.annotations.finalWeek).toBe(true);
    expect(late.material).not.toBe(early.material);
    expect(early.fingerprint).toBe(late.fingerprint);
  });

  it('a change of reason is told at once as a change of the same alert', () => {
    const p = pipeline();
    const first = p.cycle(
      observe([
        [crossTenant, quarantinedJob('A2A.1', 'EncounteredEscrowProportionThreshold', 'EscrowThresholdExceeded')],
      ]),
    );
    expect(first.notices.map((n) => n.item.kind)).toEqual(['firing']);
    const same = p.cycle(
      observe([
        [crossTenant, quarantinedJob('A2A.1', 'EncounteredEscrowProportionThreshold', 'EscrowThresholdExceeded')],
      ]),
      new Date(NOW.getTime() + 5 * MIN),
    );
    expect(same.notices).toEqual([]);
    const changed = p.cycle(
      observe([
        [
          crossTenant,
          quarantinedJob('A2A.1', 'EncounteredQuarantineException', 'AzureDirectoryB2BManagementPolicyCheckFailure'),
        ],
      ]),
      new Date(NOW.getTime() + 10 * MIN),
    );
    expect(changed.notices.map((n) => n.item.kind)).toEqual(['changed']);
    expect(changed.notices[0]?.item.fingerprint).toBe(first.notices[0]?.item.fingerprint);
    expect(changed.email?.subject).toBe(`Re: ${TENANT}: Quarantined: Fabrikam to Contoso (since 27 Nov 12:00 UTC)`);
    expect(changed.email?.headers?.['X-Entra-Sync-Watch-Kind']).toBe('changed');
    expect(changed.email?.plainText).toContain('EncounteredQuarantineException');
  });
});

describe('a job disabled out of quarantine is never "resolved"', () => {
  it('the quarantine ends with "Ended", the job-disabled alert fires at once as critical, in one email', () => {
    const p = pipeline();
    p.cycle(
      observe([
        [
          crossTenant,
          quarantinedJob(
            'A2A.1',
            'EncounteredQuarantineException',
            'AzureDirectoryB2BManagementPolicyCheckFailure',
            28 * DAY - HOUR,
          ),
        ],
      ]),
    );
    const later = new Date(NOW.getTime() + 2 * HOUR);
    const { findings: fs, notices, email } = p.cycle(observe([[crossTenant, disabledAfterQuarantine('A2A.1')]]), later);
    expect(conditions(fs)).toEqual(['job-disabled']);
    const disabled = only(fs, 'job-disabled')[0]!;
    expect(disabled).toMatchObject({ severity: 'critical', pendingCycles: 0 });
    expect(disabled.annotations.stoppedAfterFailures).toBe(true);
    expect(notices.map((n) => `${n.item.kind}:${p.stored.get(n.item.fingerprint)?.labels.condition}`).sort()).toEqual([
      'firing:job-disabled',
      'resolved:quarantine',
    ]);
    expect(email?.subject).toBe(`${TENANT}: Job disabled: Fabrikam to Contoso (+1 more)`);
    expect(email?.plainText).not.toMatch(/Resolved/);
    expect(email?.plainText).toContain(`- Ended: Quarantined: Fabrikam to Contoso (${TENANT})`);
    expect(email?.plainText).toMatch(
      /Was disabled by Entra, not recovered \(nothing syncs until the cause is fixed and the job is started again\); the quarantine ended at .*, after 28 d 1 h\. It began .* \(as Entra reports it\)\./,
    );
    expect(email?.plainText).toContain('Job disabled: Fabrikam to Contoso');
    expect(email?.plainText).toContain('AzureDirectoryB2BManagementPolicyCheckFailure');
  });

  it('a quarantine that ends because the job recovered is resolved as before', () => {
    const p = pipeline();
    p.cycle(observe([[crossTenant, quarantinedJob('A2A.1', 'Unknown', 'X')]]));
    const { email } = p.cycle(
      observe([[crossTenant, graphJob('A2A.1', 'Azure2Azure')]]),
      new Date(NOW.getTime() + HOUR),
    );
    expect(email?.subject).toBe(`Re: ${TENANT}: Quarantined: Fabrikam to Contoso (since 27 Nov 12:00 UTC)`);
    expect(email?.plainText).toMatch(/^RESOLVED\n/);
    expect(email?.plainText).toMatch(/Left quarantine at .*, after 1 h 10 min\. It began .* \(as Entra reports it\)\./);
  });
});

describe('job-disabled', () => {
  it('a pause by an admin is a warning after one more cycle; a created job that never ran is nothing', () => {
    const paused = graphJob(
      'A2A.2',
      'Azure2Azure',
      { schedule: { interval: 'P10675199DT2H48M5.4775807S', state: 'Disabled' }, status: { code: 'Paused' } },
      2 * HOUR,
    );
    const [f] = findings(observe([[crossTenant, paused]]));
    expect(f).toMatchObject({ labels: { condition: 'job-disabled' }, severity: 'warning', pendingCycles: 1 });
    expect(f?.annotations.stoppedAfterFailures).toBe(false);
    const created = merge(neverRunJob('AD2AADProvisioning.x'), {
      templateId: 'AD2AADProvisioning',
      schedule: { state: 'Disabled' },
      status: { code: 'Paused', lastExecution: null, troubleshootingUrl: null },
    }) as Json;
    expect(findings(observe([[cloudSync, created]]))).toEqual([]);
    const notConfigured = merge(neverRunJob('aws.x'), {
      schedule: { state: 'Disabled' },
      status: { code: 'NotConfigured', lastExecution: null },
    }) as Json;
    expect(findings(observe([[scimApp, notConfigured]]))).toEqual([]);
  });

  it('reads Paused and Disabled in any casing, and a pause after pruned escrows as critical', () => {
    const pruned = graphJob('scim.1', 'scim', {
      schedule: { state: 'DISABLED' },
      status: { code: 'paused', escrowsPruned: true },
    });
    const [f] = only(findings(observe([[scimApp, pruned]])), 'job-disabled');
    expect(f).toMatchObject({ severity: 'critical', pendingCycles: 0 });
    const view = ruleFor('job-disabled')!.present(alertOf(f!), { now: NOW, tenantName: () => undefined, related: [] });
    expect(view.what).toContain('pruning the object errors');
    expect(view.runbook?.steps.at(-1)).toContain('Start provisioning');
    expect(view.scripts).toContainEqual([
      'Start the job',
      `POST /servicePrincipals/${scimApp.id}/synchronization/jobs/scim.1/start`,
    ]);
  });
});

describe('job-stalled', () => {
  it('an Active job without a completed run for 3 × its interval (40 min) is stalled; within it, not', () => {
    expect(findings(observe([[crossTenant, graphJob('A2A.1', 'Azure2Azure', {}, 119 * MIN)]]))).toEqual([]);
    const [f] = findings(observe([[crossTenant, graphJob('A2A.1', 'Azure2Azure', {}, 3 * HOUR)]]));
    expect(f).toMatchObject({ labels: { condition: 'job-stalled' }, severity: 'warning' });
    expect(f?.annotations).toMatchObject({
      neverRan: false,
      quietMs: 3 * HOUR,
      allowedMs: 2 * HOUR,
      intervalMs: 40 * MIN,
    });
    const view = ruleFor('job-stalled')!.present(alertOf(f!), { now: NOW, tenantName: () => undefined, related: [] });
    expect(view.what).toBe(
      'Fabrikam to Contoso has completed no run for 3 h, although its schedule is Active and it runs every 40 min.',
    );
  });

  it('a Cloud Sync job (PT2M) is given at least an hour, and lowercase schedule states count', () => {
    const job = (ago: number) =>
      graphJob('AD2AADProvisioning.1', 'AD2AADProvisioning', { schedule: { state: 'active' } }, ago, 'PT2M');
    expect(findings(observe([[cloudSync, job(50 * MIN)]]))).toEqual([]);
    const [f] = findings(observe([[cloudSync, job(90 * MIN)]]));
    expect(f?.annotations).toMatchObject({ allowedMs: HOUR, jobKind: 'Entra Cloud Sync' });
    const view = ruleFor('job-stalled')!.present(alertOf(f!), { now: NOW, tenantName: () => undefined, related: [] });
    expect(view.runbook?.steps[0]).toContain('Cloud Sync provisioning agents');
  });

  it('tunes k and the floor per app through config overrides', () => {
    const policy = buildPolicy(
      { rules: { 'job-stalled': { intervals: 6, overrides: [{ match: { app: 'contoso.local' }, atLeast: '3h' }] } } },
      { emailTo: ['ops@contoso.com'] },
    );
    expect(findings(observe([[crossTenant, graphJob('A2A.1', 'Azure2Azure', {}, 3 * HOUR)]]), policy)).toEqual([]);
    expect(
      findings(
        observe([[cloudSync, graphJob('AD2AADProvisioning.1', 'AD2AADProvisioning', {}, 2 * HOUR, 'PT2M')]]),
        policy,
      ),
    ).toEqual([]);
    expect(
      findings(
        observe([[cloudSync, graphJob('AD2AADProvisioning.1', 'AD2AADProvisioning', {}, 4 * HOUR, 'PT2M')]]),
        policy,
      ),
    ).toHaveLength(1);
  });

  it('a never-run job is not stalled until it had firstRunWithin (1 day) since the monitor first saw it', () => {
    const job = (firstSeenMsAgo?: number) => {
      const o = observe([[crossTenant, neverRunJob('A2A.3')]]);
      if (firstSeenMsAgo !== undefined) o.jobs[0]!.firstSeenAt = new Date(NOW.getTime() - firstSeenMsAgo);
      return o;
    };
    expect(findings(job())).toEqual([]); // no memory of when it appeared: too early to say
    expect(findings(job(23 * HOUR))).toEqual([]);
    const [f] = findings(job(25 * HOUR));
    expect(f?.annotations).toMatchObject({ neverRan: true, quietMs: 25 * HOUR, allowedMs: DAY });
    const view = ruleFor('job-stalled')!.present(alertOf(f!), { now: NOW, tenantName: () => undefined, related: [] });
    expect(view.what).toBe(
      'Fabrikam to Contoso has not completed its first run in the 25 h since Entra Sync Watch first saw it (a first run is given 24 h).',
    );
  });

  it('a run reporting progress, a quarantined or paused job, and an Active schedule of TimeSpan.MaxValue are not stalled', () => {
    const running = graphJob(
      'A2A.1',
      'Azure2Azure',
      {
        status: {
          progress: [{ completedUnits: 5, totalUnits: 80, units: 'users', progressObservationDateTime: at(10 * MIN) }],
        },
      },
      5 * HOUR,
    );
    expect(findings(observe([[crossTenant, running]]))).toEqual([]);
    const quarantined = quarantinedJob('A2A.1', 'Unknown', 'X', 2 * DAY);
    expect(only(findings(observe([[crossTenant, quarantined]])), 'job-stalled')).toEqual([]);
    const forever = graphJob('A2A.1', 'Azure2Azure', {}, 5 * DAY, 'P10675199DT2H48M5.4775807S');
    expect(findings(observe([[crossTenant, forever]]))).toEqual([]);
  });
});

describe('job-failing', () => {
  it('an EntryLevelErrors run with objects in escrow is a warning with the counts', () => {
    const job = graphJob('scim.1', 'scim', {
      status: { lastExecution: { state: 'EntryLevelErrors', countEscrowed: 37, countEscrowedRaw: 40 } },
    });
    const [f] = findings(observe([[scimApp, job]]));
    expect(f).toMatchObject({ labels: { condition: 'job-failing' }, severity: 'warning', material: '' });
    expect(f?.annotations).toMatchObject({
      countEscrowed: 37,
      countEntitled: 80,
      jobKind: 'custom SCIM app provisioning',
    });
    const view = ruleFor('job-failing')!.present(alertOf(f!), { now: NOW, tenantName: () => undefined, related: [] });
    expect(view.what).toBe(
      'Acme SCIM is failing without being quarantined: its last run ended with object-level errors (EntryLevelErrors); 37 objects are in escrow (failed, waiting to be retried).',
    );
    expect(view.facts).toContainEqual(['Objects in escrow', '37']);
  });

  it("escrows are countEscrowed, not countEscrowedRaw; a never-run job's Failed with error None is no failure", () => {
    const rawOnly = graphJob(
      'AD2AADProvisioning.1',
      'AD2AADProvisioning',
      { status: { lastExecution: { countEscrowed: 0, countEscrowedRaw: 11 } } },
      1 * MIN,
      'PT2M',
    );
    expect(findings(observe([[cloudSync, rawOnly]]))).toEqual([]);
    expect(findings(observe([[crossTenant, neverRunJob('A2A.3')]]))).toEqual([]);
  });

  it('a failed run with a real error, two complete failures in a row, or pruned escrows; a new error code is material', () => {
    const failed = (code: string) =>
      graphJob('scim.1', 'scim', {
        status: { lastExecution: { state: 'Failed', error: { code, message: 'm', tenantActionable: true } } },
      });
    const a = findings(
      observe([[scimApp, failed('SystemForCrossDomainIdentityManagementCredentialValidationUnavailable')]]),
    )[0]!;
    const b = findings(observe([[scimApp, failed('SystemForCrossDomainIdentityManagementServiceIncompatible')]]))[0]!;
    expect(a.material).not.toBe(b.material);
    expect(a.fingerprint).toBe(b.fingerprint);
    const view = ruleFor('job-failing')!.present(alertOf(a), { now: NOW, tenantName: () => undefined, related: [] });
    expect(view.runbook?.steps[0]).toContain('SCIM endpoint could not be reached');
    expect(
      findings(observe([[scimApp, graphJob('scim.1', 'scim', { status: { countSuccessiveCompleteFailures: 1 } })]])),
    ).toEqual([]);
    expect(
      only(
        findings(observe([[scimApp, graphJob('scim.1', 'scim', { status: { countSuccessiveCompleteFailures: 2 } })]])),
        'job-failing',
      ),
    ).toHaveLength(1);
    expect(
      only(
        findings(observe([[scimApp, graphJob('scim.1', 'scim', { status: { escrowsPruned: true } })]])),
        'job-failing',
      ),
    ).toHaveLength(1);
  });

  it('a failing job that is then quarantined: the failing alert is held (never "resolved" by the quarantine) and its reminders muted', () => {
    const p = pipeline();
    const failing = graphJob('A2A.1', 'Azure2Azure', {
      status: { lastExecution: { state: 'EntryLevelErrors', countEscrowed: 900 } },
    });
    expect(p.cycle(observe([[crossTenant, failing]])).notices.map((n) => n.item.kind)).toEqual(['firing']);
    const quarantined = observe([
      [crossTenant, quarantinedJob('A2A.1', 'EncounteredEscrowProportionThreshold', 'EscrowThresholdExceeded')],
    ]);
    const second = p.cycle(quarantined, new Date(NOW.getTime() + HOUR));
    expect(conditions(second.findings)).toEqual(['quarantine']);
    expect([...p.stored.values()].map((a) => `${a.labels.condition}:${a.state}`).sort()).toEqual([
      'job-failing:firing',
      'quarantine:firing',
    ]);
    expect(second.notices.map((n) => `${n.item.kind}:${p.stored.get(n.item.fingerprint)?.labels.condition}`)).toEqual([
      'firing:quarantine',
    ]);
    // A day later both are due a reminder; the failing one is muted by its root cause.
    const third = p.cycle(quarantined, new Date(NOW.getTime() + 26 * HOUR));
    expect(third.notices.map((n) => `${n.item.kind}:${p.stored.get(n.item.fingerprint)?.labels.condition}`)).toEqual([
      'reminder:quarantine',
    ]);
    expect(third.muted.map((m) => `${m.alert.labels.condition}: ${m.reason}`)).toEqual([
      'job-failing: the same job is firing "Quarantined"',
    ]);
    // The quarantine lifts and the job runs clean: both resolve, each truthfully.
    const fourth = p.cycle(
      observe([[crossTenant, graphJob('A2A.1', 'Azure2Azure', {}, -27 * HOUR + 7 * MIN)]]),
      new Date(NOW.getTime() + 27 * HOUR),
    );
    expect(fourth.email?.subject).toBe(`${TENANT}: Resolved: Quarantined: Fabrikam to Contoso (+1 more)`);
    expect(fourth.email?.plainText).toContain(`- Resolved: Job failing: Fabrikam to Contoso (${TENANT})`);
    expect(fourth.email?.plainText).toMatch(/Runs without errors again at .*, after 27 h/);
  });

  it('a stalled job that is then paused by an admin: the stalled alert is held, the pause reported', () => {
    const p = pipeline();
    expect(p.cycle(observe([[crossTenant, graphJob('A2A.1', 'Azure2Azure', {}, 3 * HOUR)]])).notices).toHaveLength(1);
    const paused = graphJob(
      'A2A.1',
      'Azure2Azure',
      { schedule: { state: 'Disabled' }, status: { code: 'Paused' } },
      3 * HOUR,
    );
    const { findings: fs, notices } = p.cycle(observe([[crossTenant, paused]]), new Date(NOW.getTime() + 5 * MIN));
    expect(conditions(fs)).toEqual(['job-disabled']);
    expect(notices).toEqual([]); // the pause waits one more cycle; the stalled alert is neither resolved nor repeated
    expect([...p.stored.values()].map((a) => `${a.labels.condition}:${a.state}`).sort()).toEqual([
      'job-disabled:pending',
      'job-stalled:firing',
    ]);
  });
});

describe('unknown enum values and casing', () => {
  it('lowercase tooManyDeletes goes from Graph to the deletion-threshold route', () => {
    const policy = buildPolicy(
      { route: { routes: [{ match: { condition: 'deletion-threshold' }, to: ['change-board@contoso.com'] }] } },
      { emailTo: ['ops@contoso.com'] },
    );
    const p = pipeline(policy);
    const raw = quarantinedJob('A2A.1', 'tooManyDeletes', 'TooManyDeletes', 10 * MIN, 'quarantine');
    const { notices, email } = p.cycle(observe([[crossTenant, raw]]));
    expect(
      notices.map((n) => [n.route.id, n.route.to, n.item.kind, p.stored.get(n.item.fingerprint)?.labels.condition]),
    ).toEqual([['root.0', ['change-board@contoso.com'], 'firing', 'deletion-threshold']]);
    expect(email?.subject).toBe(`${TENANT}: Deletion threshold tripped: Fabrikam to Contoso (since 27 Nov 12:00 UTC)`);
  });

  it('an unknown status code or quarantine reason in any casing is kept and judged, never a crash', () => {
    const fs = findings(observe([[crossTenant, quarantinedJob('A2A.1', 'SOLARFLARE', 'X', 10 * MIN, 'QUARANTINE')]]));
    expect(only(fs, 'quarantine')[0]?.annotations).toMatchObject({ reason: 'SOLARFLARE', reasonKnown: false });
    const hibernating = graphJob(
      'A2A.1',
      'Azure2Azure',
      { status: { code: 'Hibernating' }, schedule: { state: 'Snoozing' } },
      5 * DAY,
    );
    expect(findings(observe([[crossTenant, hibernating]]))).toEqual([]);
  });
});

describe('configuration-level conditions', () => {
  const secrets = (values: Record<string, string>) =>
    parseSecrets({ value: Object.entries(values).map(([key, value]) => ({ key, value })) });
  const running = graphJob('scim.1', 'scim');

  it("jobs-unreadable: one configuration refused is its own alert, not the tenant's", () => {
    const o = observe([[crossTenant, graphJob('A2A.1', 'Azure2Azure')]], {
      servicePrincipalProblems: [
        {
          servicePrincipal: scimApp,
          problem: {
            kind: 'access',
            status: 403,
            code: 'Forbidden',
            message: 'no',
            operation: 'synchronization/jobs',
            likelyMissingPermission: 'Synchronization.Read.All',
          },
        },
      ],
    });
    const [f] = findings(o);
    expect(f?.labels).toEqual({
      tenantId: TENANT,
      servicePrincipalId: scimApp.id,
      jobId: '-',
      condition: 'jobs-unreadable',
    });
    expect(f?.pendingCycles).toBe(0);
    expect(String(f?.annotations.problem)).toContain('403 Forbidden');
    expect(inView(f!.labels, o)).toBe(true);
    expect(inView({ ...f!.labels, condition: 'job-failing', jobId: 'scim.1' }, o)).toBe(false);
    expect(
      inView(f!.labels, { ...o, problem: { kind: 'transient', message: 'down', operation: 'servicePrincipals' } }),
    ).toBe(false);
  });

  it("jobs-unreadable holds its configuration's alerts and mutes their reminders; the rest of the tenant is judged", () => {
    const p = pipeline();
    p.cycle(
      observe([
        [crossTenant, quarantinedJob('A2A.1', 'Unknown', 'X')],
        [scimApp, graphJob('scim.1', 'scim')],
      ]),
    );
    const later = new Date(NOW.getTime() + 5 * HOUR);
    const refused = observe([[scimApp, graphJob('scim.1', 'scim', {}, -5 * HOUR + 7 * MIN)]], {
      servicePrincipals: [crossTenant, scimApp],
      servicePrincipalProblems: [
        {
          servicePrincipal: crossTenant,
          problem: { kind: 'access', status: 403, message: 'no', operation: 'synchronization/jobs' },
        },
      ],
    });
    const { notices, muted } = p.cycle(refused, later);
    expect(notices.map((n) => `${n.item.kind}:${p.stored.get(n.item.fingerprint)?.labels.condition}`)).toEqual([
      'firing:jobs-unreadable',
    ]);
    expect(muted.map((m) => `${m.alert.labels.condition}: ${m.reason}`)).toEqual([
      'quarantine: the jobs of Fabrikam to Contoso cannot be read: their alerts are held',
    ]);
    expect([...p.stored.values()].find((a) => a.labels.condition === 'quarantine')?.state).toBe('firing');
  });

  it('scim-token-expiring: a warning within 30 days, critical within 3 or once expired, each step material', () => {
    const tier = (daysLeft: number) =>
      findings(
        observe([[scimApp, running]], {
          syncSettings: new Map([
            [scimApp.id, secrets({ TokenExpiration: new Date(NOW.getTime() + daysLeft * DAY).toISOString() })!],
          ]),
        }),
      )[0];
    expect(tier(45)).toBeUndefined();
    expect(tier(12)).toMatchObject({
      severity: 'warning',
      material: 'warning',
      labels: { condition: 'scim-token-expiring', jobId: '-' },
    });
    expect(tier(2)).toMatchObject({ severity: 'critical', material: 'critical' });
    const expired = tier(-1)!;
    expect(expired).toMatchObject({ severity: 'critical', material: 'expired' });
    expect(
      ruleFor('scim-token-expiring')!.present(alertOf(expired), { now: NOW, tenantName: () => undefined, related: [] })
        .title,
    ).toBe('Secret token expired');
    const warned = ruleFor('scim-token-expiring')!.present(alertOf(tier(12)!), {
      now: NOW,
      tenantName: () => undefined,
      related: [],
    });
    expect(warned.what).toBe(
      `The secret token Acme SCIM uses to reach its provisioning endpoint expires in 12 days (${new Date(NOW.getTime() + 12 * DAY).toISOString().slice(0, 16).replace('T', ' ')} UTC).`,
    );
  });

  it('notification-email-off: off, or on without recipients; not for a configuration that is not in use', () => {
    const with_ = (value: string, job = running) =>
      findings(
        observe([[scimApp, job]], {
          syncSettings: new Map([[scimApp.id, secrets({ SyncNotificationSettings: value })!]]),
        }),
      );
    expect(with_('{"Enabled":false,"DeleteThresholdEnabled":true}')[0]).toMatchObject({
      labels: { condition: 'notification-email-off' },
      material: 'off',
    });
    expect(with_('{"Enabled":true,"Recipients":"","DeleteThresholdEnabled":true}')[0]).toMatchObject({
      material: 'no recipients',
    });
    expect(
      with_('{"Enabled":true,"Recipients":"ops@contoso.com","DeleteThresholdEnabled":true,"DeleteThresholdValue":500}'),
    ).toEqual([]);
    const created = merge(neverRunJob('scim.2'), {
      schedule: { state: 'Disabled' },
      status: { code: 'Paused', lastExecution: null },
    }) as Json;
    expect(with_('{"Enabled":false}', created)).toEqual([]);
  });

  it('deletion-prevention-off: DeleteThresholdEnabled false in the secrets, or a threshold of 0 in the job settings', () => {
    const fromSecrets = findings(
      observe([[crossTenant, graphJob('A2A.1', 'Azure2Azure')]], {
        syncSettings: new Map([
          [
            crossTenant.id,
            secrets({
              SyncNotificationSettings:
                '{"Enabled":true,"Recipients":"a@b.contoso.com","DeleteThresholdEnabled":false}',
            })!,
          ],
        ]),
      }),
    );
    expect(conditions(fromSecrets)).toEqual(['deletion-prevention-off']);
    const zero = graphJob('A2A.1', 'Azure2Azure', {
      synchronizationJobSettings: [{ name: 'QuarantineTooManyDeletesThreshold', value: '0' }],
    });
    expect(
      only(findings(observe([[crossTenant, zero]])), 'deletion-prevention-off')[0]?.annotations.jobsWithoutThreshold,
    ).toBe('A2A.1');
  });

  it('settings alerts are held while the secrets cannot be read, and can be switched off per app', () => {
    const o = observe([[scimApp, running]], {
      secretsUnread: new Map([
        [scimApp.id, { kind: 'access', status: 403, message: 'no', operation: 'synchronization/secrets' }],
      ]),
    });
    const labels = {
      tenantId: TENANT,
      servicePrincipalId: scimApp.id,
      jobId: '-',
      condition: 'notification-email-off',
    };
    expect(inView(labels, o)).toBe(false);
    expect(inView(labels, { ...o, secretsUnread: new Map() })).toBe(true);
    const policy = buildPolicy(
      { rules: { 'notification-email-off': { overrides: [{ match: { app: 'Acme*' }, enabled: false }] } } },
      { emailTo: ['ops@contoso.com'] },
    );
    const off = observe([[scimApp, running]], {
      syncSettings: new Map([[scimApp.id, secrets({ SyncNotificationSettings: '{"Enabled":false}' })!]]),
    });
    expect(findings(off, policy)).toEqual([]);
  });
});

/** A firing alert record from a finding, as reconcile would make it. */
function alertOf(f: Finding): AlertRecord {
  return {
    fingerprint: f.fingerprint,
    labels: f.labels,
    severity: f.severity,
    state: 'firing',
    annotations: f.annotations,
    material: f.material,
    startsAt: NOW.toISOString(),
    notified: {},
  };
}

describe('every registered rule presents its alerts without throwing', () => {
  it('including for annotations an older version stored', () => {
    const ctx = { now: NOW, tenantNames: new Map<string, string>() };
    for (const condition of [
      'jobs-unreadable',
      'job-disabled',
      'job-stalled',
      'job-failing',
      'scim-token-expiring',
      'deletion-prevention-off',
      'notification-email-off',
    ]) {
      const labels = { tenantId: TENANT, servicePrincipalId: scimApp.id, jobId: '-', condition };
      const view = viewOf(
        {
          fingerprint: 'f',
          labels,
          severity: 'warning',
          state: 'resolved',
          annotations: {},
          startsAt: NOW.toISOString(),
          notified: {},
        },
        ctx,
      );
      expect(view.title.length).toBeGreaterThan(0);
      expect(view.ended.length).toBeGreaterThan(0);
    }
  });
});
