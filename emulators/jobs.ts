import { createHash } from 'node:crypto';
import { msTimestamp } from './http';

/**
 * Builds synchronizationJob payloads exactly as Microsoft Graph sends them
 * (reference: docs/reference/graph-provisioning-api.md §1.2–1.9): PascalCase enums,
 * `0001-01-01T00:00:00Z` for never-set times, explicit nulls, `troubleshootingUrl: ""`.
 */

export const JOB_STATES = [
  'healthy',
  'neverRun',
  'quarantined',
  'paused',
  'notConfigured',
  'created',
  'failing',
  'stalled',
  'disabled',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const SENTINEL_TIME = '0001-01-01T00:00:00Z';
export const CROSS_TENANT_SYNC_TEMPLATE_ID = '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7';
/** Application template of Entra Cloud Sync configurations (reference §1.12). */
export const CLOUD_SYNC_TEMPLATE_ID = '1a4721b3-e57f-4451-ae87-ef078703ec94';
/** Application template of non-gallery (custom) SCIM apps (reference §1.12). */
export const CUSTOM_SCIM_TEMPLATE_ID = '8adf8e6e-67b2-4cf2-a259-e3dc5476c621';
/** Job templates of Entra Cloud Sync; they run every 2 minutes (reference §1.12, the Cloud Sync docs' job payloads). */
export const CLOUD_SYNC_JOB_TEMPLATES = [
  'AD2AADProvisioning',
  'AD2AADPasswordHash',
  'AAD2ADExchangeHybridWriteback',
] as const;
/** TimeSpan.MaxValue, the interval of a disabled schedule [G8]. */
export const DISABLED_INTERVAL = 'P10675199DT2H48M5.4775807S';

export interface QuarantineSpec {
  reason: string;
  errorCode?: string;
  errorMessage?: string;
  tenantActionable?: boolean;
  /** ISO time; default now - 10 min. */
  currentBegan?: string;
  /** ISO time; default = currentBegan. */
  seriesBegan?: string;
  /** Default 1. */
  seriesCount?: number;
  /** ISO time; default currentBegan + 6 h (the first retry, reference §6.3). */
  nextAttempt?: string;
}

interface SynchronizationError {
  code: string;
  message: string;
  tenantActionable: boolean;
}

export interface SynchronizationTaskExecution {
  activityIdentifier: string | null;
  countEntitled: number;
  countEntitledForProvisioning: number;
  countEscrowed: number;
  countEscrowedRaw: number;
  countExported: number;
  countExports: number;
  countImported: number;
  countImportedDeltas: number;
  countImportedReferenceDeltas: number;
  state: 'Succeeded' | 'Failed' | 'EntryLevelErrors' | string;
  timeBegan: string;
  timeEnded: string;
  error: SynchronizationError | null;
}

/** A compact description of a job; `buildJob` turns it into the full Graph payload. */
export interface JobSpec {
  /** Job id, e.g. `Azure2Azure.<32 hex>.<guid>`. */
  id: string;
  /** `Azure2Azure` for cross-tenant sync, `scim` / `BoxOutDelta` / ... for others. */
  templateId: string;
  state: JobState;
  quarantine?: QuarantineSpec;
  /** Merged (shallowly) over the built `status.lastExecution`. */
  lastExecution?: Partial<SynchronizationTaskExecution>;
  /** `schedule.interval` (ISO 8601); default PT2M for Cloud Sync job templates, PT40M otherwise. */
  interval?: string;
  /** `stalled`: how long before the state change its last run ended (`3h`, `90m`, `2d`; default 3h). */
  lastRunAgo?: string;
  /** `failing`: objects in escrow after each run (default 37). */
  escrowed?: number;
  /**
   * `failing`: objects added to escrow by each run since the state change (default 0), so the
   * escrows of a job heading for quarantine grow run by run; `countEscrowedRaw` grows with them.
   */
  escrowGrowth?: number;
  /** `countEntitled` (and `countEntitledForProvisioning`, `countImported`) of its runs: objects in scope (default 40–99). */
  entitled?: number;
  /** `status.countSuccessiveCompleteFailures` (default 0; `disabled`: 28, one a day). */
  successiveFailures?: number;
  /** Deep-merged LAST over the built job (objects merge, arrays and scalars replace, null replaces). */
  raw?: Record<string, unknown>;
}

export type JsonObject = Record<string, unknown>;

/** A GUID derived from `seed` (stable across runs), for generated ids and activity identifiers. */
export function guidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A job id shaped like real ones: `<templateId>.<32 hex>.<guid>`. */
export function jobIdFor(templateId: string, tenantId: string, spId: string): string {
  return `${templateId}.${tenantId.replace(/-/g, '').toLowerCase()}.${guidFrom(`job:${tenantId}:${spId}`)}`;
}

/** The no-error sentinel Graph puts on executions that never ran [E2]. */
const NO_ERROR: SynchronizationError = { code: 'None', message: '', tenantActionable: false };

function neverRunExecution(): SynchronizationTaskExecution {
  return {
    activityIdentifier: null,
    countEntitled: 0,
    countEntitledForProvisioning: 0,
    countEscrowed: 0,
    countEscrowedRaw: 0,
    countExported: 0,
    countExports: 0,
    countImported: 0,
    countImportedDeltas: 0,
    countImportedReferenceDeltas: 0,
    state: 'Failed',
    timeBegan: SENTINEL_TIME,
    timeEnded: SENTINEL_TIME,
    error: { ...NO_ERROR },
  };
}

function execution(
  seed: string,
  began: number,
  durationMs: number,
  state: SynchronizationTaskExecution['state'],
  error: SynchronizationError | null,
  counts: { entitled: number; exported: number; escrowed?: number },
): SynchronizationTaskExecution {
  return {
    activityIdentifier: guidFrom(`activity:${seed}:${began}`),
    countEntitled: counts.entitled,
    countEntitledForProvisioning: counts.entitled,
    countEscrowed: counts.escrowed ?? 0,
    countEscrowedRaw: (counts.escrowed ?? 0) + 3,
    countExported: counts.exported,
    countExports: counts.exported,
    countImported: counts.entitled,
    countImportedDeltas: counts.exported,
    countImportedReferenceDeltas: 0,
    state,
    timeBegan: msTimestamp(began),
    timeEnded: msTimestamp(began + durationMs),
    error,
  };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** `90s`, `40m`, `3h`, `2d` in milliseconds; undefined for anything else (scenario convenience, invented). */
export function shortDurationMs(text: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * { s: 1000, m: MINUTE, h: HOUR, d: DAY }[match[2] as 's' | 'm' | 'h' | 'd'];
}

/** A job template's schedule interval: Cloud Sync jobs run every 2 minutes, the others every 40. */
function defaultInterval(templateId: string): string {
  return (CLOUD_SYNC_JOB_TEMPLATES as readonly string[]).includes(templateId) ? 'PT2M' : 'PT40M';
}

/** PT2M / PT40M / PT20M in milliseconds (the emulator's own intervals; TimeSpan.MaxValue is never advanced). */
function intervalMs(interval: string): number {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?$/.exec(interval);
  if (!match) return 40 * MINUTE;
  return (Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * MINUTE || 40 * MINUTE;
}

/** Default quarantine error per reason. Real codes where the reference documents one. */
function defaultQuarantineError(reason: string, templateId: string): SynchronizationError {
  switch (reason) {
    case 'TooManyDeletes':
      // UNCONFIRMED (docs/reference/graph-provisioning-api.md §2 / §10): no real payload of a job that tripped the accidental-deletion
      // threshold is documented. This code/message is a plausible invention; products must not depend on it.
      return {
        code: 'TooManyDeletes',
        message:
          'The number of pending deletions exceeded the accidental deletion threshold (500). ' +
          'The deletions were not processed. Review them in the provisioning logs (action StagedDelete), then allow them ' +
          'or fix the cause and restart the job.',
        tenantActionable: true,
      };
    case 'EncounteredQuarantineException':
      return templateId === 'Azure2Azure'
        ? {
            code: 'AzureDirectoryB2BManagementPolicyCheckFailure',
            message: 'Policy permitting auto-redemption of invitations not configured',
            tenantActionable: true,
          }
        : {
            code: 'SystemForCrossDomainIdentityManagementCredentialValidationUnavailable',
            message: 'We are unable to connect to the application endpoint. Check the tenant URL and the secret token.',
            tenantActionable: true,
          };
    case 'EncounteredEscrowProportionThreshold':
    case 'EncounteredBaseEscrowThreshold':
    case 'EncounteredTotalEscrowThreshold':
      // Invented: the reference documents no error code for the escrow-threshold reasons.
      return {
        code: 'EscrowThresholdExceeded',
        message: 'More than 40% of provisioning events failed during the last cycle.',
        tenantActionable: true,
      };
    default:
      return { code: reason, message: '', tenantActionable: false };
  }
}

function settingsFor(state: JobState, templateId: string): Array<{ name: string; value: string }> {
  const settings: Array<{ name: string; value: string }> = [];
  if (templateId === 'Azure2Azure') {
    settings.push(
      { name: 'AzureIngestionAttributeOptimization', value: 'False' },
      { name: 'LookaheadQueryEnabled', value: 'False' },
    );
  }
  if ((CLOUD_SYNC_JOB_TEMPLATES as readonly string[]).includes(templateId)) {
    // As the Cloud Sync docs show a running AD2AADProvisioning job's settings.
    settings.push(
      {
        name: 'Domain',
        value:
          '{"DomainFQDN":"contoso.com","DomainNetBios":"CONTOSO","ForestFQDN":"contoso.com","ForestNetBios":"CONTOSO"}',
      },
      { name: 'DomainFQDN', value: 'contoso.com' },
      { name: 'DomainNetBios', value: 'CONTOSO' },
      { name: 'ForestFQDN', value: 'contoso.com' },
      { name: 'ForestNetBios', value: 'CONTOSO' },
    );
  }
  if (state !== 'neverRun' && state !== 'notConfigured' && state !== 'created')
    settings.push({ name: 'QuarantineTooManyDeletesThreshold', value: '500' });
  return settings;
}

function entryCounts(templateId: string, users: number): Array<{ key: string; value: number }> {
  return templateId === 'Azure2Azure'
    ? [{ key: 'user to User', value: users }]
    : [
        { key: 'group to Group', value: 3 },
        { key: 'user to User', value: users },
      ];
}

/**
 * The full synchronizationJob payload for `spec`. `now` anchors the invented timestamps (last run a
 * few minutes before `now`, quarantine began 10 min before `now`, ...), so the emulator passes the
 * time the job entered its current state and the payload stays stable between polls.
 */
export function buildJob(spec: JobSpec, now: Date | number = Date.now(), at?: Date | number): JsonObject {
  const t = typeof now === 'number' ? now : now.getTime();
  const requestAt = at === undefined ? t : typeof at === 'number' ? at : at.getTime();
  const users = spec.entitled ?? 40 + (parseInt(guidFrom(spec.id).slice(0, 2), 16) % 60);
  const interval = spec.interval ?? defaultInterval(spec.templateId);
  const every = intervalMs(interval);
  // A running job runs again every interval: its last run moves on as time passes since the state change.
  const runsSince = Math.max(0, Math.floor((requestAt - t) / every)) * every;
  const schedule = { expiration: null, interval, state: 'Active' };
  let troubleshootingUrl: string | null = '';
  let code: string;
  let countSuccessiveCompleteFailures = 0;
  let lastExecution: SynchronizationTaskExecution | null;
  let lastSuccessfulExecution: SynchronizationTaskExecution | null = null;
  let lastSuccessfulExecutionWithExports: SynchronizationTaskExecution | null = null;
  let quarantine: JsonObject | null = null;
  let steadyStateFirstAchievedTime = SENTINEL_TIME;
  let steadyStateLastAchievedTime = SENTINEL_TIME;
  let progress: unknown[] = [];
  let synchronizedEntryCountByType: Array<{ key: string; value: number }> = [];

  const healthyRun = (began: number): SynchronizationTaskExecution =>
    execution(spec.id, began, 47_000, 'Succeeded', null, { entitled: users, exported: 0 });
  const exportingRun = (began: number): SynchronizationTaskExecution =>
    execution(spec.id, began, 95_000, 'Succeeded', null, { entitled: users, exported: 2 });

  /** A job in steady state whose last run began at `last`: sets the success fields, returns the last run. */
  const steadyRunsEndingAt = (last: number): SynchronizationTaskExecution => {
    const run = healthyRun(last);
    lastSuccessfulExecution = healthyRun(last);
    lastSuccessfulExecutionWithExports = exportingRun(last - 3 * 40 * MINUTE);
    steadyStateFirstAchievedTime = msTimestamp(t - 30 * 24 * HOUR);
    steadyStateLastAchievedTime = run.timeEnded;
    synchronizedEntryCountByType = entryCounts(spec.templateId, users);
    return run;
  };

  switch (spec.state) {
    case 'neverRun':
      // Exactly payload (a) of docs/reference/graph-provisioning-api.md §1.9: a job right after `start`.
      code = 'NotRun';
      lastExecution = neverRunExecution();
      break;
    case 'notConfigured':
      code = 'NotConfigured';
      schedule.state = 'Disabled';
      lastExecution = neverRunExecution();
      break;
    case 'healthy':
      code = 'Active';
      lastExecution = steadyRunsEndingAt(t - 7 * MINUTE + runsSince);
      break;
    case 'created':
      // The answer to creating a job, as the Graph and Cloud Sync docs show it: disabled, never run, nulls.
      code = 'Paused';
      schedule.state = 'Disabled';
      lastExecution = null;
      troubleshootingUrl = null;
      break;
    case 'stalled': {
      // Active and scheduled, but its last run ended long ago and nothing moves (INVENTED state: the docs show no stalled job).
      code = 'Active';
      lastExecution = steadyRunsEndingAt(t - (shortDurationMs(spec.lastRunAgo ?? '3h') ?? 3 * HOUR));
      break;
    }
    case 'failing': {
      // Runs on schedule, each ending EntryLevelErrors with objects in escrow; the raw count adds system escrows.
      code = 'Active';
      const escrowed = (spec.escrowed ?? 37) + (spec.escrowGrowth ?? 0) * (runsSince / every);
      const last = t - 7 * MINUTE + runsSince;
      steadyRunsEndingAt(last - every);
      lastExecution = execution(spec.id, last, 61_000, 'EntryLevelErrors', null, {
        entitled: users,
        exported: 1,
        escrowed,
      });
      countSuccessiveCompleteFailures = spec.successiveFailures ?? 0;
      break;
    }
    case 'disabled': {
      // What four weeks in quarantine leave (reference §6.3): Entra removed the escrows and disabled the job.
      // INVENTED detail: no payload of such a job is documented; it is Paused with a disabled schedule like [G8].
      code = 'Paused';
      schedule.state = 'Disabled';
      schedule.interval = DISABLED_INTERVAL;
      const q = spec.quarantine ?? { reason: 'EncounteredQuarantineException' };
      const fallback = defaultQuarantineError(q.reason, spec.templateId);
      const error: SynchronizationError = {
        code: q.errorCode ?? fallback.code,
        message: q.errorMessage ?? fallback.message,
        tenantActionable: q.tenantActionable ?? fallback.tenantActionable,
      };
      countSuccessiveCompleteFailures = spec.successiveFailures ?? 28;
      lastExecution = execution(
        spec.id,
        t - 20 * MINUTE,
        81_000,
        'Failed',
        { ...error },
        { entitled: users, exported: 0 },
      );
      const lastGood = t - 28 * DAY - HOUR;
      lastSuccessfulExecution = healthyRun(lastGood);
      lastSuccessfulExecutionWithExports = exportingRun(lastGood - 3 * 40 * MINUTE);
      steadyStateFirstAchievedTime = msTimestamp(lastGood - 30 * DAY);
      steadyStateLastAchievedTime = lastSuccessfulExecution.timeEnded;
      synchronizedEntryCountByType = entryCounts(spec.templateId, users);
      break;
    }
    case 'paused': {
      // The only documented paused job (docs/reference/graph-provisioning-api.md §1.3, [G8]) has a Disabled schedule with TimeSpan.MaxValue.
      code = 'Paused';
      schedule.state = 'Disabled';
      schedule.interval = DISABLED_INTERVAL;
      lastExecution = steadyRunsEndingAt(t - 2 * HOUR);
      break;
    }
    case 'quarantined': {
      code = 'Quarantine';
      const q = spec.quarantine ?? { reason: 'EncounteredQuarantineException' };
      const fallback = defaultQuarantineError(q.reason, spec.templateId);
      const error: SynchronizationError = {
        code: q.errorCode ?? fallback.code,
        message: q.errorMessage ?? fallback.message,
        tenantActionable: q.tenantActionable ?? fallback.tenantActionable,
      };
      const currentBegan = q.currentBegan ? Date.parse(q.currentBegan) : t - 10 * MINUTE;
      const seriesBegan = q.seriesBegan ? Date.parse(q.seriesBegan) : currentBegan;
      const seriesCount = q.seriesCount ?? 1;
      const nextAttempt = q.nextAttempt ? Date.parse(q.nextAttempt) : currentBegan + 6 * HOUR;
      quarantine = {
        currentBegan: msTimestamp(currentBegan),
        nextAttempt: msTimestamp(nextAttempt),
        reason: q.reason,
        seriesBegan: msTimestamp(seriesBegan),
        seriesCount,
        error: { ...error },
      };
      countSuccessiveCompleteFailures = seriesCount;
      lastExecution = execution(
        spec.id,
        currentBegan - 83_000,
        81_000,
        'Failed',
        { ...error },
        {
          entitled: users,
          exported: 0,
          escrowed: 0,
        },
      );
      const lastGood = seriesBegan - 40 * MINUTE;
      lastSuccessfulExecution = healthyRun(lastGood);
      lastSuccessfulExecutionWithExports = exportingRun(lastGood - 3 * 40 * MINUTE);
      steadyStateFirstAchievedTime = msTimestamp(seriesBegan - 30 * 24 * HOUR);
      steadyStateLastAchievedTime = lastSuccessfulExecution.timeEnded;
      synchronizedEntryCountByType = entryCounts(spec.templateId, users);
      progress = [];
      break;
    }
  }
  if (spec.lastExecution && lastExecution) lastExecution = { ...lastExecution, ...spec.lastExecution };
  if (spec.successiveFailures !== undefined) countSuccessiveCompleteFailures = spec.successiveFailures;

  const job: JsonObject = {
    id: spec.id,
    templateId: spec.templateId,
    schedule,
    status: {
      countSuccessiveCompleteFailures,
      escrowsPruned: false,
      code,
      lastSuccessfulExecution,
      lastSuccessfulExecutionWithExports,
      quarantine,
      steadyStateFirstAchievedTime,
      steadyStateLastAchievedTime,
      troubleshootingUrl,
      lastExecution,
      progress,
      synchronizedEntryCountByType,
    },
    synchronizationJobSettings: settingsFor(spec.state, spec.templateId),
  };
  return spec.raw ? (deepMerge(job, spec.raw) as JsonObject) : job;
}

/** Objects merge key by key; everything else (arrays, scalars, null) from `patch` replaces. */
function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return structuredClone(patch);
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch))
    out[key] = key in base ? deepMerge(base[key], value) : structuredClone(value);
  return out;
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
