import { describe, expect, it } from 'vitest';
import {
  enumValue,
  graphDate,
  InvalidGraphData,
  isoDuration,
  normalizeJob,
  syncError,
} from '../../lib/observe/normalize';
import { parseSecrets } from '../../lib/observe/secrets';
import { STATUS_CODES } from '../../lib/model/observation';

const sp = { id: 'sp-1', appId: 'app-1', displayName: 'Fabrikam to Contoso' };

/** Payload (a) of docs/reference/graph-provisioning-api.md §1.9: a cross-tenant job right after start, never run. */
const neverRun = {
  id: 'Azure2Azure.0123456789abcdef0123456789abcdef.11111111-1111-1111-1111-111111111111',
  templateId: 'Azure2Azure',
  schedule: { expiration: null, interval: 'PT40M', state: 'Active' },
  status: {
    countSuccessiveCompleteFailures: 0,
    escrowsPruned: false,
    code: 'NotRun',
    lastSuccessfulExecution: null,
    lastSuccessfulExecutionWithExports: null,
    quarantine: null,
    steadyStateFirstAchievedTime: '0001-01-01T00:00:00Z',
    steadyStateLastAchievedTime: '0001-01-01T00:00:00Z',
    troubleshootingUrl: '',
    lastExecution: {
      activityIdentifier: null,
      countEntitled: 0,
      countEscrowed: 0,
      state: 'Failed',
      timeBegan: '0001-01-01T00:00:00Z',
      timeEnded: '0001-01-01T00:00:00Z',
      error: { code: 'None', message: '', tenantActionable: false },
    },
    progress: [],
    synchronizedEntryCountByType: [],
  },
  synchronizationJobSettings: [{ name: 'AzureIngestionAttributeOptimization', value: 'False' }],
};

describe('normalizeJob', () => {
  it('reads a never-run job: sentinel times are "never" and the None error is no error', () => {
    const job = normalizeJob('t1', sp, neverRun);
    expect(job.status).toEqual({ known: 'NotRun', raw: 'NotRun' });
    expect(job.lastExecution).toEqual({
      state: 'Failed',
      result: 'Failed',
      timeBegan: undefined,
      timeEnded: undefined,
      error: undefined,
      countEscrowed: 0,
      countEntitled: 0,
      countExported: undefined,
    });
    expect(job.schedule).toEqual({
      state: { known: 'Active', raw: 'Active' },
      interval: 'PT40M',
      intervalMs: 40 * 60_000,
    });
    expect(job.steadyStateLastAchievedTime).toBeUndefined();
    expect(job.lastSuccessfulExecution).toBeUndefined();
    expect(job.countSuccessiveCompleteFailures).toBe(0);
    expect(job.escrowsPruned).toBe(false);
    expect(job.quarantine).toBeUndefined();
    expect(job.troubleshootingUrl).toBeUndefined();
  });

  it('matches status codes and reasons in any casing and keeps unknown values raw', () => {
    const job = normalizeJob('t1', sp, {
      id: 'j1',
      status: {
        code: 'QUARANTINE',
        quarantine: {
          reason: 'tooManyDeletes',
          currentBegan: '2026-11-27T01:00:00.1234567Z',
          nextAttempt: '0001-01-01T00:00:00Z',
          seriesCount: '3',
        },
      },
      synchronizationJobSettings: [{ name: 'QuarantineTooManyDeletesThreshold', value: '500' }],
    });
    expect(job.status.known).toBe('Quarantine');
    expect(job.quarantine?.reason).toEqual({ known: 'TooManyDeletes', raw: 'tooManyDeletes' });
    expect(job.quarantine?.currentBegan?.toISOString()).toBe('2026-11-27T01:00:00.123Z');
    expect(job.quarantine?.nextAttempt).toBeUndefined();
    expect(job.quarantine?.seriesCount).toBe(3);
    expect(job.deleteThreshold).toBe(500);

    const odd = normalizeJob('t1', sp, {
      id: 'j2',
      status: { code: 'Hibernating', quarantine: { reason: 'SolarFlare' } },
    });
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
    expect(syncError({ code: 'X', message: 'm', tenantActionable: true })).toEqual({
      code: 'X',
      message: 'm',
      tenantActionable: true,
    });
  });

  it('enumValue is case-insensitive', () => {
    expect(enumValue('paused', STATUS_CODES).known).toBe('Paused');
    expect(enumValue(undefined, STATUS_CODES)).toEqual({ raw: '' });
  });
});

/** A Cloud Sync job just created (docs: the create-job response): Paused, Disabled, lastExecution and troubleshootingUrl null. */
const cloudSyncCreated = {
  id: 'AD2AADProvisioning.fc96887f36da47508c935c28a0c0b6da',
  templateId: 'AD2AADProvisioning',
  schedule: { expiration: null, interval: 'PT40M', state: 'Disabled' },
  status: {
    countSuccessiveCompleteFailures: 0,
    escrowsPruned: false,
    code: 'Paused',
    lastExecution: null,
    lastSuccessfulExecution: null,
    lastSuccessfulExecutionWithExports: null,
    quarantine: null,
    steadyStateFirstAchievedTime: '0001-01-01T00:00:00Z',
    steadyStateLastAchievedTime: '0001-01-01T00:00:00Z',
    troubleshootingUrl: null,
    progress: [],
    synchronizedEntryCountByType: [],
  },
};

/** A healthy Cloud Sync job (reference §1.9 (b), [C6]): PT2M, escrows that are not errors, a last success with a sentinel begin. */
const cloudSyncRunning = {
  id: 'AD2AADProvisioning.fd1c9b9e8077402c8bc03a7186c8f976',
  templateId: 'AD2AADProvisioning',
  schedule: { expiration: null, interval: 'PT2M', state: 'active' },
  status: {
    countSuccessiveCompleteFailures: 0,
    escrowsPruned: false,
    code: 'Active',
    quarantine: null,
    steadyStateFirstAchievedTime: '2019-11-08T15:48:05.7360238Z',
    steadyStateLastAchievedTime: '2019-11-20T16:17:24.7957721Z',
    troubleshootingUrl: '',
    lastExecution: {
      activityIdentifier: '2dea06a7-2960-420d-931e-f6c807ebda24',
      countEntitled: 0,
      countEscrowed: 0,
      countEscrowedRaw: 11,
      state: 'succeeded',
      error: null,
      timeBegan: '2019-11-20T16:15:21.116098Z',
      timeEnded: '2019-11-20T16:17:24.7488681Z',
    },
    lastSuccessfulExecution: {
      state: 'Succeeded',
      error: null,
      timeBegan: '0001-01-01T00:00:00Z',
      timeEnded: '2019-11-20T14:09:46.8855027Z',
    },
    progress: [
      { completedUnits: 3, totalUnits: 10, units: 'objects', progressObservationDateTime: '2019-11-20T16:19:00Z' },
    ],
  },
  synchronizationJobSettings: [{ name: 'QuarantineTooManyDeletesThreshold', value: '500' }],
};

describe('the fields the detection rules read', () => {
  it('reads a created Cloud Sync job: null lastExecution and troubleshootingUrl are absent, the schedule Disabled', () => {
    const job = normalizeJob('t1', sp, cloudSyncCreated);
    expect(job.lastExecution).toBeUndefined();
    expect(job.lastSuccessfulExecution).toBeUndefined();
    expect(job.troubleshootingUrl).toBeUndefined();
    expect(job.status.known).toBe('Paused');
    expect(job.schedule?.state.known).toBe('Disabled');
  });

  it('reads a running Cloud Sync job: countEscrowed (not the raw count), sentinel begin, progress, any casing', () => {
    const job = normalizeJob('t1', sp, cloudSyncRunning);
    expect(job.schedule).toEqual({ state: { known: 'Active', raw: 'active' }, interval: 'PT2M', intervalMs: 120_000 });
    expect(job.lastExecution?.result).toBe('Succeeded');
    expect(job.lastExecution?.countEscrowed).toBe(0);
    expect(job.lastSuccessfulExecution).toEqual({
      timeBegan: undefined,
      timeEnded: new Date('2019-11-20T14:09:46.885Z'),
    });
    expect(job.steadyStateLastAchievedTime?.toISOString()).toBe('2019-11-20T16:17:24.795Z');
    expect(job.steadyStateFirstAchievedTime?.toISOString()).toBe('2019-11-08T15:48:05.736Z');
    expect(job.progressObservedAt?.toISOString()).toBe('2019-11-20T16:19:00.000Z');
  });

  it('keeps unknown schedule and execution states raw, reads counts given as strings and escrowsPruned', () => {
    const job = normalizeJob('t1', sp, {
      id: 'j3',
      schedule: { state: 'Hibernating', interval: 'every so often' },
      status: {
        code: 'active',
        countSuccessiveCompleteFailures: '4',
        escrowsPruned: 'True',
        lastExecution: { state: 'ENTRYLEVELERRORS', countEscrowed: '37' },
      },
    });
    expect(job.schedule).toEqual({ state: { raw: 'Hibernating' }, interval: 'every so often', intervalMs: undefined });
    expect(job.countSuccessiveCompleteFailures).toBe(4);
    expect(job.escrowsPruned).toBe(true);
    expect(job.lastExecution).toMatchObject({
      state: 'ENTRYLEVELERRORS',
      result: 'EntryLevelErrors',
      countEscrowed: 37,
    });
    const odd = normalizeJob('t1', sp, {
      id: 'j4',
      status: { code: 'Active', lastExecution: { state: 'PartiallyDone' } },
    });
    expect(odd.lastExecution?.result).toBeUndefined();
  });
});

describe('isoDuration', () => {
  it('reads Graph schedule intervals, TimeSpan.MaxValue included', () => {
    expect(isoDuration('PT40M')).toBe(40 * 60_000);
    expect(isoDuration('PT2M')).toBe(120_000);
    expect(isoDuration('PT20M')).toBe(20 * 60_000);
    expect(isoDuration('P1DT1H30M')).toBe(25.5 * 3600_000);
    expect(isoDuration('P2W')).toBe(14 * 86_400_000);
    expect(isoDuration('P10675199DT2H48M5.4775807S')).toBe(10675199 * 86_400_000 + 2 * 3600_000 + 48 * 60_000 + 5478);
  });

  it('refuses what is not a duration', () => {
    for (const text of ['', 'P', 'PT', '40M', 'P1Y', 'PT-5M', 'forty minutes', null, 40])
      expect(isoDuration(text)).toBeUndefined();
  });
});

describe('parseSecrets', () => {
  it('keeps the notification settings and the token expiration, and drops every other value', () => {
    const settings = parseSecrets({
      value: [
        { key: 'BaseAddress', value: 'https://scim.example.com/v2' },
        { key: 'SecretToken', value: '*' },
        {
          key: 'SyncNotificationSettings',
          value:
            '{"Enabled":true,"Recipients":"johndoe@xyz.com","DeleteThresholdEnabled":false,"DeleteThresholdValue":50}',
        },
        { key: 'TokenExpiration', value: '2026-12-09T00:00:00Z' },
      ],
    });
    expect(settings).toEqual({
      keys: ['BaseAddress', 'SecretToken', 'SyncNotificationSettings', 'TokenExpiration'],
      notifications: {
        enabled: true,
        recipients: 'johndoe@xyz.com',
        deleteThresholdEnabled: false,
        deleteThresholdValue: 50,
      },
      tokenExpiration: { raw: '2026-12-09T00:00:00Z', at: new Date('2026-12-09T00:00:00Z') },
    });
    expect(JSON.stringify(settings)).not.toContain('scim.example.com');
  });

  it('survives a settings value that is not JSON, booleans as text, an unparsable expiration and no value list', () => {
    expect(parseSecrets({ value: [{ key: 'syncnotificationsettings', value: 'not json' }] })).toEqual({
      keys: ['syncnotificationsettings'],
      notifications: undefined,
    });
    expect(
      parseSecrets({ value: [{ key: 'SyncNotificationSettings', value: '{"enabled":"False","recipients":""}' }] })
        ?.notifications,
    ).toMatchObject({ enabled: false, recipients: '' });
    expect(parseSecrets({ value: [{ key: 'TokenExpiration', value: 'soon' }] })?.tokenExpiration).toEqual({
      raw: 'soon',
      at: undefined,
    });
    expect(parseSecrets({})).toBeUndefined();
  });
});
