import { describe, expect, it } from 'vitest';
import { enumValue, graphDate, InvalidGraphData, normalizeJob, syncError } from '../../lib/observe/normalize';
import { STATUS_CODES } from '../../lib/observe/types';

const sp = { id: 'sp-1', appId: 'app-1', displayName: 'Fabrikam to Contoso' };

/** Payload (a) of docs/reference/graph-provisioning-api.md §1.9: a cross-tenant job right after start, never run. */
const neverRun = {
  id: 'Azure2Azure.0123456789abcdef0123456789abcdef.11111111-1111-1111-1111-111111111111',
  templateId: 'Azure2Azure',
  schedule: { expiration: null, interval: 'PT40M', state: 'Active' },
  status: {
    countSuccessiveCompleteFailures: 0, escrowsPruned: false, code: 'NotRun',
    lastSuccessfulExecution: null, lastSuccessfulExecutionWithExports: null, quarantine: null,
    steadyStateFirstAchievedTime: '0001-01-01T00:00:00Z', steadyStateLastAchievedTime: '0001-01-01T00:00:00Z',
    troubleshootingUrl: '',
    lastExecution: {
      activityIdentifier: null, countEntitled: 0, countEscrowed: 0, state: 'Failed',
      timeBegan: '0001-01-01T00:00:00Z', timeEnded: '0001-01-01T00:00:00Z',
      error: { code: 'None', message: '', tenantActionable: false },
    },
    progress: [], synchronizedEntryCountByType: [],
  },
  synchronizationJobSettings: [{ name: 'AzureIngestionAttributeOptimization', value: 'False' }],
};

describe('normalizeJob', () => {
  it('reads a never-run job: sentinel times are "never" and the None error is no error', () => {
    const job = normalizeJob('t1', sp, neverRun);
    expect(job.status).toEqual({ known: 'NotRun', raw: 'NotRun' });
    expect(job.lastExecution).toEqual({ state: 'Failed', timeBegan: undefined, timeEnded: undefined, error: undefined });
    expect(job.quarantine).toBeUndefined();
    expect(job.troubleshootingUrl).toBeUndefined();
  });

  it('matches status codes and reasons in any casing and keeps unknown values raw', () => {
    const job = normalizeJob('t1', sp, {
      id: 'j1',
      status: {
        code: 'QUARANTINE',
        quarantine: { reason: 'tooManyDeletes', currentBegan: '2026-11-27T01:00:00.1234567Z', nextAttempt: '0001-01-01T00:00:00Z', seriesCount: '3' },
      },
      synchronizationJobSettings: [{ name: 'QuarantineTooManyDeletesThreshold', value: '500' }],
    });
    expect(job.status.known).toBe('Quarantine');
    expect(job.quarantine?.reason).toEqual({ known: 'TooManyDeletes', raw: 'tooManyDeletes' });
    expect(job.quarantine?.currentBegan?.toISOString()).toBe('2026-11-27T01:00:00.123Z');
    expect(job.quarantine?.nextAttempt).toBeUndefined();
    expect(job.quarantine?.seriesCount).toBe(3);
    expect(job.deleteThreshold).toBe(500);

    const odd = normalizeJob('t1', sp, { id: 'j2', status: { code: 'Hibernating', quarantine: { reason: 'SolarFlare' } } });
    expect(odd.status).toEqual({ raw: 'Hibernating' });
    expect(odd.quarantine?.reason).toEqual({ raw: 'SolarFlare' });
  });

  it('rejects a job without id or status with a message that names it', () => {
    expect(() => normalizeJob('t1', sp, { status: {} })).toThrow(/service principal sp-1 has no id/);
    expect(() => normalizeJob('t1', sp, { id: 'j9' })).toThrow(InvalidGraphData);
    expect(() => normalizeJob('t1', sp, 'nonsense')).toThrow(/not a JSON object/);
  });
});

describe('helpers', () => {
  it('graphDate treats 0001-01-01, empty, null and garbage as never', () => {
    expect(graphDate('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(graphDate('')).toBeUndefined();
    expect(graphDate(null)).toBeUndefined();
    expect(graphDate('yesterday')).toBeUndefined();
    expect(graphDate('2026-11-27T00:00:00Z')?.getTime()).toBe(Date.UTC(2026, 10, 27));
  });

  it('syncError keeps real errors and drops the None sentinel', () => {
    expect(syncError({ code: 'None', message: '', tenantActionable: false })).toBeUndefined();
    expect(syncError({ code: 'X', message: 'm', tenantActionable: true })).toEqual({ code: 'X', message: 'm', tenantActionable: true });
  });

  it('enumValue is case-insensitive', () => {
    expect(enumValue('paused', STATUS_CODES).known).toBe('Paused');
    expect(enumValue(undefined, STATUS_CODES)).toEqual({ raw: '' });
  });
});
