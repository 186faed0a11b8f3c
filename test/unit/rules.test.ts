import { describe, expect, it } from 'vitest';
import { evaluateTenant as evaluate, fingerprintOf, inView } from '../../lib/evaluate/evaluate';
import type { JobSnapshot, TenantObservation } from '../../lib/model/observation';

const sp = { id: 'sp-1', appId: 'app-1', displayName: 'Fabrikam to Contoso' };

function job(overrides: Partial<JobSnapshot>): JobSnapshot {
  return {
    tenantId: 't1',
    servicePrincipal: sp,
    jobId: 'j1',
    templateId: 'Azure2Azure',
    status: { known: 'Active', raw: 'Active' },
    ...overrides,
  };
}

function observation(overrides: Partial<TenantObservation> = {}): TenantObservation {
  return {
    tenantId: 't1',
    jobs: [],
    servicePrincipalsRead: new Set(['sp-1']),
    servicePrincipalProblems: [],
    ...overrides,
  };
}

const now = new Date('2026-11-27T12:00:00Z');
const evaluateJob = (j: JobSnapshot) => evaluate(observation({ jobs: [j] }), { now });
const evaluateTenant = (o: TenantObservation) => evaluate(o, { now });

describe('evaluateJob', () => {
  it('does not alert on a healthy or a never-run job (Failed with error None and sentinel times)', () => {
    expect(evaluateJob(job({}))).toEqual([]);
    expect(
      evaluateJob(job({ status: { known: 'NotRun', raw: 'NotRun' }, lastExecution: { state: 'Failed' } })),
    ).toEqual([]);
  });

  it('reports TooManyDeletes as a deletion-threshold trip with the threshold', () => {
    const [f] = evaluateJob(
      job({
        status: { known: 'Quarantine', raw: 'quarantine' },
        quarantine: { reason: { known: 'TooManyDeletes', raw: 'TooManyDeletes' }, seriesCount: 1 },
        deleteThreshold: 500,
      }),
    );
    expect(f?.labels.condition).toBe('deletion-threshold');
    expect(f?.annotations.deleteThreshold).toBe(500);
    expect(f?.pendingCycles).toBe(0);
  });

  it('carries the reason and error code as the material of a quarantine, so a change of either is told', () => {
    const quarantined = (reason: string, code: string) =>
      job({
        status: { known: 'Quarantine', raw: 'Quarantine' },
        quarantine: {
          reason: { known: reason as 'Unknown', raw: reason },
          error: { code, message: 'm', tenantActionable: true },
        },
      });
    const a = evaluateJob(quarantined('EncounteredEscrowProportionThreshold', 'E1'))[0];
    const b = evaluateJob(quarantined('EncounteredQuarantineException', 'E1'))[0];
    const c = evaluateJob(quarantined('EncounteredQuarantineException', 'E2'))[0];
    expect(new Set([a?.material, b?.material, c?.material]).size).toBe(3);
    expect(a?.fingerprint).toBe(c?.fingerprint);
  });

  it('reports other reasons, known or not, with the error and times', () => {
    const began = new Date('2026-11-27T01:00:00Z');
    const [f] = evaluateJob(
      job({
        status: { known: 'Quarantine', raw: 'Quarantine' },
        quarantine: {
          reason: { raw: 'SomethingNew' },
          currentBegan: began,
          nextAttempt: new Date('2026-11-27T07:00:00Z'),
          error: {
            code: 'AzureDirectoryB2BManagementPolicyCheckFailure',
            message: 'Policy permitting auto-redemption of invitations not configured',
            tenantActionable: true,
          },
        },
      }),
    );
    expect(f?.labels.condition).toBe('quarantine');
    expect(f?.annotations).toMatchObject({
      reason: 'SomethingNew',
      reasonKnown: false,
      errorCode: 'AzureDirectoryB2BManagementPolicyCheckFailure',
      currentBegan: '2026-11-27T01:00:00.000Z',
      nextAttempt: '2026-11-27T07:00:00.000Z',
    });
  });

  it('keeps the fingerprint stable while annotations change', () => {
    const a = evaluateJob(
      job({
        status: { known: 'Quarantine', raw: 'Quarantine' },
        quarantine: { reason: { known: 'Unknown', raw: 'Unknown' }, seriesCount: 1 },
      }),
    )[0];
    const b = evaluateJob(
      job({
        status: { known: 'Quarantine', raw: 'Quarantine' },
        quarantine: { reason: { known: 'Unknown', raw: 'Unknown' }, seriesCount: 7 },
      }),
    )[0];
    expect(a?.fingerprint).toBe(b?.fingerprint);
    expect(a?.fingerprint).toBe(
      fingerprintOf({ tenantId: 't1', servicePrincipalId: 'sp-1', jobId: 'j1', condition: 'quarantine' }),
    );
  });
});

describe('evaluateTenant and inView', () => {
  it("raises tenant-unreadable with the permission and holds the tenant's job alerts", () => {
    const o = observation({
      problem: {
        kind: 'access',
        status: 403,
        code: 'Authorization_RequestDenied',
        message: 'Insufficient privileges to complete the operation.',
        operation: 'servicePrincipals',
        likelyMissingPermission: 'Application.Read.All',
      },
    });
    const [f] = evaluateTenant(o);
    expect(f?.labels.condition).toBe('tenant-unreadable');
    expect(f?.pendingCycles).toBe(0);
    expect(String(f?.annotations.problem)).toContain('likely missing Application.Read.All');
    expect(inView({ tenantId: 't1', servicePrincipalId: 'sp-1', jobId: 'j1', condition: 'quarantine' }, o)).toBe(false);
    expect(inView({ tenantId: 't1', servicePrincipalId: '-', jobId: '-', condition: 'tenant-unreadable' }, o)).toBe(
      true,
    );
  });

  it('waits one more cycle for transient problems', () => {
    const [f] = evaluateTenant(
      observation({ problem: { kind: 'transient', status: 503, message: 'down', operation: 'servicePrincipals' } }),
    );
    expect(f?.pendingCycles).toBe(1);
  });

  it('holds alerts of a service principal whose jobs could not be read', () => {
    const o = observation({
      servicePrincipalProblems: [
        {
          servicePrincipal: sp,
          problem: { kind: 'transient', status: 503, message: 'x', operation: 'synchronization/jobs' },
        },
      ],
    });
    expect(inView({ tenantId: 't1', servicePrincipalId: 'sp-1', jobId: 'j1', condition: 'quarantine' }, o)).toBe(false);
    expect(inView({ tenantId: 't1', servicePrincipalId: 'sp-2', jobId: 'j1', condition: 'quarantine' }, o)).toBe(true);
    expect(inView({ tenantId: 't2', servicePrincipalId: 'sp-2', jobId: 'j1', condition: 'quarantine' }, o)).toBe(false);
  });
});
