import { EnumValue } from '../model';
import {
  EXECUTION_STATES,
  ExecutionState,
  JobSnapshot,
  QUARANTINE_REASONS,
  QuarantineReason,
  SCHEDULE_STATES,
  ScheduleState,
  STATUS_CODES,
  ServicePrincipalRef,
  StatusCode,
  SyncError,
} from '../model/observation';

/** Graph's "never set" timestamp. */
const NEVER_YEAR = 1;

export class InvalidGraphData extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidGraphData';
  }
}

/** Matches an enum value case-insensitively (Graph documents PascalCase, older payloads differ). */
export function enumValue<T extends string>(raw: unknown, known: readonly T[]): EnumValue<T> {
  const text = typeof raw === 'string' ? raw : raw === undefined || raw === null ? '' : String(raw);
  const match = known.find((value) => value.toLowerCase() === text.trim().toLowerCase());
  return match ? { known: match, raw: text } : { raw: text };
}

/** An ISO timestamp, or undefined for null, empty, unparsable, or Graph's 0001-01-01 "never". */
export function graphDate(raw: unknown): Date | undefined {
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const date = new Date(raw);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() <= NEVER_YEAR) return undefined;
  return date;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

function count(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** A synchronizationError, or undefined for null and the `{code:"None"}` "no error" sentinel. */
export function syncError(raw: unknown): SyncError | undefined {
  if (!isObject(raw)) return undefined;
  const code = text(raw.code);
  if (code === '' || code.toLowerCase() === 'none') {
    if (text(raw.message) === '') return undefined;
  }
  return { code, message: text(raw.message), tenantActionable: raw.tenantActionable === true };
}

const ISO_DURATION =
  /^P(?!$)(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;
const DURATION_UNITS_MS = [7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000];

/**
 * Milliseconds of an ISO 8601 duration as Graph writes a `Duration` (.NET TimeSpan): `PT40M`,
 * `PT2M`, and `P10675199DT2H48M5.4775807S` (TimeSpan.MaxValue, on a disabled schedule, reference
 * §1.3). Fractions are allowed; years and months are not (their length varies). Undefined otherwise.
 */
export function isoDuration(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined;
  const match = ISO_DURATION.exec(raw.trim());
  if (!match) return undefined;
  const ms = match
    .slice(1)
    .reduce((sum, part, i) => sum + (part === undefined ? 0 : Number(part) * (DURATION_UNITS_MS[i] as number)), 0);
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** An execution's times, or undefined for `null` (a job that never started). */
function executionTimes(raw: unknown): { timeBegan?: Date; timeEnded?: Date } | undefined {
  if (!isObject(raw)) return undefined;
  return { timeBegan: graphDate(raw.timeBegan), timeEnded: graphDate(raw.timeEnded) };
}

/** The latest observation time of `status.progress`, when a run reports progress. */
function latestProgress(progress: unknown): Date | undefined {
  if (!Array.isArray(progress)) return undefined;
  let latest: Date | undefined;
  for (const entry of progress) {
    const at = isObject(entry) ? graphDate(entry.progressObservationDateTime) : undefined;
    if (at && (!latest || at > latest)) latest = at;
  }
  return latest;
}

function deleteThreshold(settings: unknown): number | undefined {
  if (!Array.isArray(settings)) return undefined;
  const entry = settings.find(
    (s) => isObject(s) && text(s.name).toLowerCase() === 'quarantinetoomanydeletesthreshold',
  ) as Record<string, unknown> | undefined;
  return entry ? count(entry.value) : undefined;
}

/**
 * Turns one synchronizationJob from Graph into a JobSnapshot. Graph is untrusted input: a job
 * without an id or status is rejected with an error that says what is missing; anything else
 * unexpected (unknown enum values, odd casing, missing optional parts) is kept, never a crash.
 */
export function normalizeJob(tenantId: string, servicePrincipal: ServicePrincipalRef, raw: unknown): JobSnapshot {
  if (!isObject(raw))
    throw new InvalidGraphData(
      `a synchronization job of service principal ${servicePrincipal.id} is not a JSON object`,
    );
  const jobId = text(raw.id);
  if (jobId === '')
    throw new InvalidGraphData(`a synchronization job of service principal ${servicePrincipal.id} has no id`);
  const status = raw.status;
  if (!isObject(status)) throw new InvalidGraphData(`synchronization job ${jobId} has no status object`);

  const snapshot: JobSnapshot = {
    tenantId,
    servicePrincipal,
    jobId,
    templateId: text(raw.templateId),
    status: enumValue<StatusCode>(status.code, STATUS_CODES),
  };
  if (isObject(raw.schedule)) {
    snapshot.scheduleState = text(raw.schedule.state);
    const interval = text(raw.schedule.interval);
    snapshot.schedule = {
      state: enumValue<ScheduleState>(raw.schedule.state, SCHEDULE_STATES),
      interval: interval || undefined,
      intervalMs: isoDuration(interval),
    };
  }
  const failures = count(status.countSuccessiveCompleteFailures);
  if (failures !== undefined) snapshot.countSuccessiveCompleteFailures = failures;
  if (typeof status.escrowsPruned === 'boolean') snapshot.escrowsPruned = status.escrowsPruned;
  else if (typeof status.escrowsPruned === 'string')
    snapshot.escrowsPruned = status.escrowsPruned.trim().toLowerCase() === 'true';
  const steadyLast = graphDate(status.steadyStateLastAchievedTime);
  if (steadyLast) snapshot.steadyStateLastAchievedTime = steadyLast;
  const steadyFirst = graphDate(status.steadyStateFirstAchievedTime);
  if (steadyFirst) snapshot.steadyStateFirstAchievedTime = steadyFirst;
  const lastSuccess = executionTimes(status.lastSuccessfulExecution);
  if (lastSuccess) snapshot.lastSuccessfulExecution = lastSuccess;
  const progress = latestProgress(status.progress);
  if (progress) snapshot.progressObservedAt = progress;

  const quarantine = status.quarantine;
  if (isObject(quarantine)) {
    snapshot.quarantine = {
      reason: enumValue<QuarantineReason>(quarantine.reason, QUARANTINE_REASONS),
      currentBegan: graphDate(quarantine.currentBegan),
      seriesBegan: graphDate(quarantine.seriesBegan),
      seriesCount: count(quarantine.seriesCount),
      nextAttempt: graphDate(quarantine.nextAttempt),
      error: syncError(quarantine.error),
    };
  }

  const last = status.lastExecution;
  if (isObject(last)) {
    snapshot.lastExecution = {
      state: text(last.state) || undefined,
      result: enumValue<ExecutionState>(last.state, EXECUTION_STATES).known,
      timeBegan: graphDate(last.timeBegan),
      timeEnded: graphDate(last.timeEnded),
      error: syncError(last.error),
      countEscrowed: count(last.countEscrowed),
      countEscrowedRaw: count(last.countEscrowedRaw),
      countEntitled: count(last.countEntitled),
      countExported: count(last.countExported),
    };
  }

  const url = text(status.troubleshootingUrl);
  if (url !== '') snapshot.troubleshootingUrl = url;
  const threshold = deleteThreshold(raw.synchronizationJobSettings);
  if (threshold !== undefined) snapshot.deleteThreshold = threshold;
  return snapshot;
}

/** A servicePrincipal from Graph, or an error naming what is missing. */
export function normalizeServicePrincipal(raw: unknown): ServicePrincipalRef {
  if (!isObject(raw)) throw new InvalidGraphData('a service principal in the list is not a JSON object');
  const id = text(raw.id);
  if (id === '') throw new InvalidGraphData('a service principal in the list has no id');
  const sp: ServicePrincipalRef = { id, appId: text(raw.appId), displayName: text(raw.displayName) || id };
  const template = text(raw.applicationTemplateId);
  if (template !== '') sp.applicationTemplateId = template;
  return sp;
}
