import { enumValue, InvalidGraphData } from './normalize';
import {
  PROVISIONING_ACTIONS,
  PROVISIONING_STATUSES,
  type ProvisionedObject,
  type ProvisioningAction,
  type ProvisioningEvent,
  type ProvisioningStatus,
} from '../model/provisioning';

/**
 * Turns one provisioning event from Graph (provisioningObjectSummary) or one `AADProvisioningLogs`
 * row into a ProvisioningEvent. Both are untrusted: an event without an id, a time or a job is
 * rejected with an error naming what is missing; anything else odd (unknown enums, odd casing,
 * `servicePrincipal` as a list as the resource page documents it, missing parts) is kept.
 */

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

function optional(value: unknown): string | undefined {
  const t = text(value).trim();
  return t === '' ? undefined : t;
}

/** Bounded: a reason can be a whole HTTP response from the target app. */
function bounded(value: string | undefined, max = 500): string | undefined {
  if (value === undefined) return undefined;
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

const UPN_KEYS = /^(userprincipalname|upn)$/i;

/** A UPN from an identity's `details` (an open type: keys vary by app) or from the modified properties. */
function upnOf(identity: Json, modified: unknown): string | undefined {
  const details = identity.details;
  if (isObject(details)) {
    for (const [key, value] of Object.entries(details))
      if (UPN_KEYS.test(key) && optional(value)) return optional(value);
  }
  if (Array.isArray(modified)) {
    for (const entry of modified) {
      if (isObject(entry) && UPN_KEYS.test(text(entry.displayName)))
        return optional(entry.newValue) ?? optional(entry.oldValue);
    }
  }
  return undefined;
}

function identity(raw: unknown, modified: unknown): ProvisionedObject {
  const o = isObject(raw) ? raw : {};
  const object: ProvisionedObject = { id: text(o.id), displayName: text(o.displayName) };
  const type = optional(o.identityType);
  if (type) object.identityType = type;
  const upn = upnOf(o, modified);
  if (upn) object.upn = upn;
  return object;
}

/** Documented as a collection, returned as a single object in every example (reference §3.2, §8.3): take either. */
function servicePrincipalOf(raw: unknown): { id: string; displayName: string } {
  const sp = Array.isArray(raw) ? raw[0] : raw;
  if (!isObject(sp)) return { id: '', displayName: '' };
  return { id: text(sp.id).toLowerCase(), displayName: text(sp.displayName ?? sp.name) };
}

function timeOf(raw: unknown): number | undefined {
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? undefined : raw.getTime();
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? undefined : ms;
}

function errorOf(status: Json): ProvisioningEvent['error'] {
  const info = status.errorInformation;
  if (!isObject(info)) return undefined;
  const code = optional(info.errorCode);
  const reason = bounded(optional(info.reason));
  if (code === undefined && reason === undefined) return undefined;
  return {
    code: code ?? '',
    reason,
    recommendedAction: bounded(optional(info.recommendedAction)),
    category: optional(info.errorCategory),
  };
}

function required(event: Json, what: string): { id: string; at: number; jobId: string } {
  const id = text(event.id) || text(event.changeId);
  if (id === '') throw new InvalidGraphData(`a provisioning event from ${what} has no id`);
  const at = timeOf(event.activityDateTime);
  if (at === undefined) throw new InvalidGraphData(`provisioning event ${id} has no valid activityDateTime`);
  const jobId = text(event.jobId);
  if (jobId === '') throw new InvalidGraphData(`provisioning event ${id} has no jobId`);
  return { id, at, jobId };
}

/** One provisioningObjectSummary from Graph v1.0 (reference §3.2, §3.4). */
export function normalizeGraphEvent(raw: unknown): ProvisioningEvent {
  if (!isObject(raw)) throw new InvalidGraphData('a provisioning event from Graph is not a JSON object');
  const { id, at, jobId } = required(raw, 'Graph');
  const status = isObject(raw.provisioningStatusInfo) ? raw.provisioningStatusInfo : {};
  return {
    id,
    changeId: optional(raw.changeId),
    cycleId: optional(raw.cycleId),
    at,
    jobId,
    servicePrincipal: servicePrincipalOf(raw.servicePrincipal),
    action: enumValue<ProvisioningAction>(raw.provisioningAction, PROVISIONING_ACTIONS),
    status: enumValue<ProvisioningStatus>(status.status, PROVISIONING_STATUSES),
    error: errorOf(status),
    source: identity(raw.sourceIdentity, raw.modifiedProperties),
    target: identity(raw.targetIdentity, raw.modifiedProperties),
  };
}

/** The JSON a string column of AADProvisioningLogs holds (the SDK may already have parsed a `dynamic` one). */
function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/**
 * One AADProvisioningLogs row (reference §4.1) by column name. `ResultType` is the status,
 * `ResultSignature` the error code and `ResultDescription` its text; the action is in
 * `ProvisioningAction` (schema) or `Action` (Microsoft's sample queries, reference §8.4).
 */
export function normalizeLogAnalyticsRow(row: Record<string, unknown>): ProvisioningEvent {
  const statusInfo = parsed(row.ProvisioningStatusInfo);
  const status = isObject(statusInfo) ? statusInfo : {};
  const event: Json = {
    id: row.Id,
    changeId: row.ChangeId,
    activityDateTime: row.TimeGenerated instanceof Date ? row.TimeGenerated.toISOString() : row.TimeGenerated,
    jobId: row.JobId,
  };
  const { id, at, jobId } = required(event, 'Log Analytics');
  const modified = parsed(row.ModifiedProperties);
  const fromColumns = optional(row.ResultSignature) ?? optional(row.ResultDescription);
  const error =
    errorOf(status) ??
    (fromColumns
      ? { code: optional(row.ResultSignature) ?? '', reason: bounded(optional(row.ResultDescription)) }
      : undefined);
  const code = optional(row.ResultSignature);
  if (error && code && error.code === '') error.code = code;
  return {
    id,
    changeId: optional(row.ChangeId),
    cycleId: optional(row.CycleId),
    at,
    jobId,
    servicePrincipal: servicePrincipalOf(parsed(row.ServicePrincipal)),
    action: enumValue<ProvisioningAction>(row.ProvisioningAction ?? row.Action, PROVISIONING_ACTIONS),
    status: enumValue<ProvisioningStatus>(row.ResultType ?? status.status, PROVISIONING_STATUSES),
    error: error && error.code.toLowerCase() !== 'none' ? error : undefined,
    source: identity(parsed(row.SourceIdentity), modified),
    target: identity(parsed(row.TargetIdentity), modified),
  };
}

/** The name a person recognises an object by: the source's, else the target's, else its id. */
export function objectName(event: ProvisioningEvent): ProvisionedObject {
  const s = event.source;
  const t = event.target;
  const name = s.displayName || t.displayName || s.id || t.id || event.id;
  const object: ProvisionedObject = { id: s.id || t.id, displayName: name };
  const upn = s.upn ?? t.upn;
  if (upn) object.upn = upn;
  const type = s.identityType ?? t.identityType;
  if (type) object.identityType = type;
  return object;
}
