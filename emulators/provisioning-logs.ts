import { createHash } from 'node:crypto';
import { msTimestamp } from './http';
import { guidFrom, type JsonObject } from './jobs';

/**
 * Provisioning logs of the local private cloud: the events a scenario generates, served by Graph as
 * `GET /auditLogs/provisioning` (provisioningObjectSummary, v1.0) and by the Log Analytics emulator
 * as `AADProvisioningLogs` rows. Wire format: docs/reference/graph-provisioning-api.md §3 (Graph) and
 * §4.1 (Log Analytics). Events are kept compact (a batch spec and an index per event) and built only
 * when a page needs them, so a bench can hold 100,000 of them.
 */

const EVENT_STATUSES = ['success', 'failure', 'skipped', 'warning'] as const;
const EVENT_ACTIONS = ['create', 'update', 'delete', 'stagedDelete', 'disable', 'other'] as const;
type EventStatus = (typeof EVENT_STATUSES)[number];
type EventAction = (typeof EVENT_ACTIONS)[number];

/** A batch of events a scenario (or a test, through control) adds to a tenant's logs. */
export interface ProvisioningEventSpec {
  /** The job the events belong to (its service principal is looked up). */
  job: string;
  /** How many events (default 1). */
  count?: number;
  /** Default `success`; `stagedDelete` events default to `skipped` (their real status is undocumented, reference §2). */
  status?: EventStatus;
  /** Default `create`. */
  action?: EventAction;
  /** For failures: `errorInformation` (defaults: code `EntryConflict` and a matching reason). */
  errorCode?: string;
  reason?: string;
  recommendedAction?: string;
  errorCategory?: 'failure' | 'nonServiceFailure';
  /** Display names of the objects, used in turn; default: distinct person names (Adele Vance, Alex Vance, ...). */
  names?: string[];
  /** Names the objects `<namePrefix> 0001`, `<namePrefix> 0002`, ... instead. */
  namePrefix?: string;
  /** UPNs are `first.last@<upnDomain>` from the name (default `contoso.example`). */
  upnDomain?: string;
  /** Default `User`. */
  identityType?: string;
  /** The newest event is this many minutes before the batch is added (default 0). */
  minutesAgo?: number;
  /** The events are spread evenly over this many minutes before the newest (default 0: all at one instant). */
  spreadMinutes?: number;
  /** Every event of the batch shares this cycleId (default: one per batch). */
  cycleId?: string;
}

/** Validates a spec; throws an Error naming `path` and the bad field. */
export function validateEventSpec(value: unknown, path: string, jobIds: ReadonlySet<string>): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${path}: expected an object`);
  const s = value as Record<string, unknown>;
  const known = [
    'job',
    'count',
    'status',
    'action',
    'errorCode',
    'reason',
    'recommendedAction',
    'errorCategory',
    'names',
    'namePrefix',
    'upnDomain',
    'identityType',
    'minutesAgo',
    'spreadMinutes',
    'cycleId',
  ];
  for (const key of Object.keys(s))
    if (!known.includes(key)) throw new Error(`${path}.${key}: unknown field (expected one of ${known.join(', ')})`);
  if (typeof s.job !== 'string' || !jobIds.has(s.job))
    throw new Error(`${path}.job: no job ${JSON.stringify(s.job)} in the tenant`);
  const count = s.count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1_000_000)
    throw new Error(`${path}.count: expected an integer 1..1000000`);
  if (s.status !== undefined && !EVENT_STATUSES.includes(s.status as EventStatus))
    throw new Error(`${path}.status: expected one of ${EVENT_STATUSES.join(', ')}`);
  if (s.action !== undefined && !EVENT_ACTIONS.includes(s.action as EventAction))
    throw new Error(`${path}.action: expected one of ${EVENT_ACTIONS.join(', ')}`);
  if (s.errorCategory !== undefined && s.errorCategory !== 'failure' && s.errorCategory !== 'nonServiceFailure')
    throw new Error(`${path}.errorCategory: expected failure or nonServiceFailure`);
  for (const key of [
    'errorCode',
    'reason',
    'recommendedAction',
    'namePrefix',
    'upnDomain',
    'identityType',
    'cycleId',
  ]) {
    if (s[key] !== undefined && (typeof s[key] !== 'string' || s[key] === ''))
      throw new Error(`${path}.${key}: expected a non-empty string`);
  }
  if (
    s.names !== undefined &&
    (!Array.isArray(s.names) || s.names.length === 0 || s.names.some((n) => typeof n !== 'string' || n === ''))
  ) {
    throw new Error(`${path}.names: expected a non-empty list of names`);
  }
  for (const key of ['minutesAgo', 'spreadMinutes']) {
    if (s[key] !== undefined && (typeof s[key] !== 'number' || (s[key] as number) < 0))
      throw new Error(`${path}.${key}: expected a number >= 0`);
  }
}

export interface EventOwner {
  tenantId: string;
  tenantName: string;
  servicePrincipal: { id: string; appId: string; displayName: string };
  jobId: string;
}

interface Batch {
  serial: number;
  spec: ProvisioningEventSpec;
  owner: EventOwner;
  status: EventStatus;
  action: EventAction;
  newest: number;
  stepMs: number;
  count: number;
  cycleId: string;
}

/** Batches hold at most a million events: an event's place is batch serial × 2^21 + index. */
const SEQ_PER_BATCH = 2_097_152;

/** One event, compact (a bench holds 100,000): its time, its batch and its index in the batch; its id is made when asked for. */
export class LogEntry {
  /** Order among events of the same time (Graph's own tie order is not documented). */
  readonly seq: number;

  constructor(
    readonly t: number,
    readonly batch: Batch,
    readonly i: number,
  ) {
    this.seq = batch.serial * SEQ_PER_BATCH + i;
  }

  get id(): string {
    return eventId(this.batch.owner.tenantId, this.batch.serial, this.i);
  }
}

const DEFAULT_REASONS: Record<string, string> = {
  EntryConflict:
    'Message: The value of the matching attribute is already used by another object in the target. Target Response: Request_BadRequest (HTTP 400).',
};

const PROVISIONING_SERVICE = { id: '', displayName: 'Azure AD Provisioning Service', initiatorType: 'system' };

/** The events of all tenants, sorted by time then id within each tenant. */
export class ProvisioningEventLog {
  private readonly byTenant = new Map<string, LogEntry[]>();
  private readonly unsorted = new Set<string>();
  /** Serials of stagedDelete batches whose deletions were let through (ForceDeletes). */
  private readonly released = new Set<number>();
  private serial = 0;

  add(spec: ProvisioningEventSpec, owner: EventOwner, now: number): number {
    const serial = ++this.serial;
    const count = spec.count ?? 1;
    const action = spec.action ?? 'create';
    const batch: Batch = {
      serial,
      spec,
      owner,
      action,
      status: spec.status ?? (action === 'stagedDelete' ? 'skipped' : 'success'),
      newest: now - (spec.minutesAgo ?? 0) * 60_000,
      stepMs: count > 1 ? ((spec.spreadMinutes ?? 0) * 60_000) / (count - 1) : 0,
      count,
      cycleId: spec.cycleId ?? guidFrom(`cycle:${owner.tenantId}:${owner.jobId}:${serial}`),
    };
    const entries = this.byTenant.get(owner.tenantId) ?? [];
    for (let i = 0; i < count; i++) {
      entries.push(new LogEntry(Math.round(batch.newest - (count - 1 - i) * batch.stepMs), batch, i));
    }
    this.byTenant.set(owner.tenantId, entries);
    this.unsorted.add(owner.tenantId);
    return count;
  }

  /** The tenant's events, oldest first (ties in the order they were added). */
  entries(tenantId: string): LogEntry[] {
    const entries = this.byTenant.get(tenantId) ?? [];
    if (this.unsorted.delete(tenantId)) entries.sort(compareEntries);
    return entries;
  }

  tenants(): string[] {
    return [...this.byTenant.keys()];
  }

  /**
   * The batches of held deletions (`stagedDelete`) of a job that have not been let through yet, marked as let
   * through: what a restart with ForceDeletes deletes.
   */
  takeHeldDeletes(tenantId: string, jobId: string): Array<{ spec: ProvisioningEventSpec; owner: EventOwner }> {
    const held = this.pendingHeldDeletes(tenantId, jobId);
    for (const batch of held) this.released.add(batch.serial);
    return held.map((b) => ({ spec: b.spec, owner: b.owner }));
  }

  /** How many held deletions (stagedDelete events) of a job are neither let through nor withdrawn. */
  heldDeletes(tenantId: string, jobId: string): number {
    return this.pendingHeldDeletes(tenantId, jobId).reduce((n, b) => n + b.count, 0);
  }

  /** The cause was fixed (the objects are back in scope): the job's held deletions will not run. Returns how many. */
  withdrawHeldDeletes(tenantId: string, jobId: string): number {
    const held = this.pendingHeldDeletes(tenantId, jobId);
    for (const batch of held) this.released.add(batch.serial);
    return held.reduce((n, b) => n + b.count, 0);
  }

  private pendingHeldDeletes(tenantId: string, jobId: string): Batch[] {
    const held = new Map<number, Batch>();
    for (const entry of this.byTenant.get(tenantId) ?? []) {
      const batch = entry.batch;
      if (batch.action === 'stagedDelete' && batch.owner.jobId === jobId && !this.released.has(batch.serial))
        held.set(batch.serial, batch);
    }
    return [...held.values()];
  }

  count(tenantId?: string): number {
    if (tenantId) return this.byTenant.get(tenantId)?.length ?? 0;
    let n = 0;
    for (const entries of this.byTenant.values()) n += entries.length;
    return n;
  }

  clear(): void {
    this.byTenant.clear();
    this.unsorted.clear();
    this.released.clear();
  }
}

function compareEntries(a: { t: number; seq: number }, b: { t: number; seq: number }): number {
  return a.t - b.t || a.seq - b.seq;
}

function eventId(tenantId: string, serial: number, i: number): string {
  // guidFrom is a SHA-256 per event: fine for thousands, slow for a bench's 100,000; this is the same shape.
  const h = createHash('md5').update(`event:${tenantId}:${serial}:${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The derived fields of an event, shared by its Graph and Log Analytics forms. */
interface EventFacts {
  id: string;
  at: number;
  tenantId: string;
  jobId: string;
  cycleId: string;
  changeId: string;
  action: EventAction;
  status: EventStatus;
  servicePrincipal: { id: string; displayName: string; appId: string };
  name: string;
  upn: string;
  objectId: string;
  identityType: string;
  durationMs: number;
  error?: {
    errorCode: string;
    reason: string;
    additionalDetails: null;
    errorCategory: string;
    recommendedAction: string | null;
  };
}

const FIRST_NAMES = [
  'Adele',
  'Alex',
  'Allan',
  'Christie',
  'Debra',
  'Diego',
  'Emily',
  'Enrico',
  'Grady',
  'Henrietta',
  'Irvin',
  'Isaiah',
  'Johanna',
  'Joni',
  'Lee',
  'Lidia',
  'Lynne',
  'Megan',
  'Miriam',
  'Nestor',
  'Patti',
  'Pradeep',
  'Raul',
  'Rob',
  'Sanjay',
  'Tobias',
  'Valeria',
  'Wanda',
  'Yuki',
  'Zrinka',
];
const LAST_NAMES = [
  'Vance',
  'Wilber',
  'Deyoung',
  'Cline',
  'Berg',
  'Siciliani',
  'Braun',
  'Gilbert',
  'Archie',
  'Mueller',
  'Bellew',
  'Langer',
  'Lauer',
  'Sherman',
  'Gu',
  'Holloway',
  'Robinson',
  'Bowen',
  'Garcia',
  'Wilke',
  'Fernandez',
  'Gupta',
  'Sanchez',
  'Tanaka',
  'Kowalski',
  'Novak',
  'Rossi',
  'Okafor',
  'Larsen',
  'Dubois',
];

/** Distinct names for the objects of a batch: 900 first/last pairs, then numbered. */
function personName(i: number): string {
  const pair = `${FIRST_NAMES[i % 30] as string} ${LAST_NAMES[Math.floor(i / 30) % 30] as string}`;
  return i < 900 ? pair : `${pair} ${Math.floor(i / 900) + 1}`;
}

function factsOf(entry: LogEntry): EventFacts {
  const { batch, i } = entry;
  const { spec, owner } = batch;
  const names = spec.names;
  const name = names
    ? (names[i % names.length] as string)
    : spec.namePrefix
      ? `${spec.namePrefix} ${String(i + 1).padStart(4, '0')}`
      : personName(i);
  const upn = `${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '.')
    .replace(/^\.|\.$/g, '')}@${spec.upnDomain ?? 'contoso.example'}`;
  const facts = {
    get id() {
      return entry.id;
    },
    at: entry.t,
    tenantId: owner.tenantId,
    jobId: owner.jobId,
    cycleId: batch.cycleId,
    // The hashed ids are made only when asked for: a filter over 100,000 events rarely needs them.
    get changeId() {
      return guidFrom(`change:${entry.id}`);
    },
    action: batch.action,
    status: batch.status,
    servicePrincipal: owner.servicePrincipal,
    name,
    upn,
    get objectId() {
      return guidFrom(`object:${owner.tenantId}:${name}`);
    },
    identityType: spec.identityType ?? 'User',
    durationMs: 800 + ((batch.serial * 7919 + i * 104729) % 4000),
  } as EventFacts;
  if (batch.status === 'failure') {
    const code = spec.errorCode ?? 'EntryConflict';
    facts.error = {
      errorCode: code,
      reason: spec.reason ?? DEFAULT_REASONS[code] ?? `Message: The target refused the change (${code}).`,
      additionalDetails: null,
      errorCategory: spec.errorCategory ?? 'nonServiceFailure',
      recommendedAction: spec.recommendedAction ?? null,
    };
  }
  return facts;
}

const VERBS: Record<EventAction, [string, string, string]> = {
  create: ['Add', 'created', 'create'],
  update: ['Update', 'updated', 'update'],
  delete: ['Delete', 'deleted', 'delete'],
  stagedDelete: ['Delete', 'held for deletion', 'delete'],
  disable: ['Update', 'disabled', 'disable'],
  other: ['Update', 'processed', 'process'],
};

function steps(f: EventFacts): JsonObject[] {
  const [change, done, verb] = VERBS[f.action];
  const target = f.servicePrincipal.displayName;
  const list: JsonObject[] = [
    {
      name: `EntryImport${change}`,
      provisioningStepType: 'import',
      status: 'success',
      description: `Received ${f.identityType} '${f.name}' change of type (${change}) from Azure Active Directory`,
      details: {},
    },
    {
      name: 'EntrySynchronizationScoping',
      provisioningStepType: 'scoping',
      status: 'success',
      description: `${f.identityType} '${f.name}' is in scope`,
      details: { 'Scoping filter evaluation passed': 'True' },
    },
  ];
  if (f.action === 'stagedDelete') {
    // Invented: the real steps of a held delete are not documented (reference §2).
    list.push({
      name: 'EntrySynchronizationDelete',
      provisioningStepType: 'processing',
      status: 'skipped',
      description: `The deletion of ${f.identityType} '${f.name}' in ${target} was held: the accidental deletion threshold was exceeded`,
      details: {},
    });
    return list;
  }
  const ok = f.status !== 'failure';
  list.push({
    name: `EntryExport${change}`,
    provisioningStepType: 'export',
    status: ok ? (f.status === 'skipped' ? 'skipped' : 'success') : 'failure',
    description: ok
      ? `${f.identityType} '${f.name}' was ${done} in ${target}`
      : `Failed to ${verb} ${f.identityType} '${f.name}' in ${target}`,
    details: ok ? {} : { ReportableIdentifier: f.name },
  });
  return list;
}

function identities(f: EventFacts): { source: JsonObject; target: JsonObject } {
  // `details.UserPrincipalName` is invented: the open `details` of a provisionedIdentity is not documented per app.
  return {
    source: {
      id: f.objectId,
      displayName: f.name,
      identityType: f.identityType,
      details: { UserPrincipalName: f.upn },
    },
    target: {
      id: f.status === 'failure' && f.action === 'create' ? '' : guidFrom(`target:${f.objectId}`),
      displayName: f.status === 'failure' && f.action === 'create' ? '' : f.name,
      identityType: f.identityType,
      details: {},
    },
  };
}

/** A provisioningObjectSummary exactly as Graph v1.0 sends it (reference §3.2, §3.4): camelCase enums, servicePrincipal as one object. */
function graphEvent(entry: LogEntry): JsonObject {
  const f = factsOf(entry);
  const { source, target } = identities(f);
  return {
    id: f.id,
    activityDateTime: msTimestamp(f.at),
    tenantId: f.tenantId,
    jobId: f.jobId,
    cycleId: f.cycleId,
    changeId: f.changeId,
    provisioningAction: f.action,
    durationInMilliseconds: f.durationMs,
    sourceSystem: { id: guidFrom(`system:aad:${f.tenantId}`), displayName: 'Azure Active Directory', details: {} },
    targetSystem: {
      id: guidFrom(`system:${f.servicePrincipal.id}`),
      displayName: f.servicePrincipal.displayName,
      details: {
        ApplicationId: f.servicePrincipal.appId,
        ServicePrincipalId: f.servicePrincipal.id,
        ServicePrincipalDisplayName: f.servicePrincipal.displayName,
      },
    },
    initiatedBy: PROVISIONING_SERVICE,
    servicePrincipal: { id: f.servicePrincipal.id, displayName: f.servicePrincipal.displayName },
    sourceIdentity: source,
    targetIdentity: target,
    provisioningStatusInfo: { status: f.status, errorInformation: f.error ?? null },
    provisioningSteps: steps(f),
    modifiedProperties:
      f.action === 'create' ? [{ displayName: 'accountEnabled', oldValue: null, newValue: 'True' }] : [],
  };
}

const capitalised = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);

/**
 * An AADProvisioningLogs row (reference §4.1): JSON columns as strings, Capitalised values, both
 * `ProvisioningAction` (the published schema) and `Action` (Microsoft's sample queries, §8.4).
 */
export function logAnalyticsRow(entry: LogEntry, workspaceId: string): Record<string, unknown> {
  const f = factsOf(entry);
  const { source, target } = identities(f);
  const event = graphEvent(entry);
  const action = capitalised(f.action);
  return {
    AADTenantId: f.tenantId,
    _BilledSize: 1800 + (f.durationMs % 500),
    Category: 'ProvisioningLogs',
    ChangeId: f.changeId,
    CorrelationId: guidFrom(`correlation:${f.id}`),
    CycleId: f.cycleId,
    DurationMs: f.durationMs,
    Id: f.id,
    InitiatedBy: JSON.stringify(PROVISIONING_SERVICE),
    _IsBillable: 'True',
    JobId: f.jobId,
    ModifiedProperties: JSON.stringify(event.modifiedProperties),
    OperationName: 'Provisioning activity',
    OperationVersion: '1.0',
    ProvisioningAction: action,
    Action: action,
    ProvisioningStatusInfo: JSON.stringify(event.provisioningStatusInfo),
    ProvisioningSteps: JSON.stringify(event.provisioningSteps),
    ResultDescription: f.error?.reason ?? '',
    ResultSignature: f.error?.errorCode ?? '',
    ResultType: capitalised(f.status),
    ServicePrincipal: JSON.stringify(event.servicePrincipal),
    SourceIdentity: JSON.stringify(source),
    SourceSystem: 'Azure',
    TargetIdentity: JSON.stringify(target),
    TargetSystem: JSON.stringify(event.targetSystem),
    TenantId: workspaceId,
    TimeGenerated: new Date(f.at),
    Type: 'AADProvisioningLogs',
  };
}

/** Column types of AADProvisioningLogs (reference §4.1), plus the `Action` column Microsoft's queries use. */
export const AAD_PROVISIONING_LOGS_COLUMNS: Record<string, string> = {
  AADTenantId: 'string',
  _BilledSize: 'real',
  Category: 'string',
  ChangeId: 'string',
  CorrelationId: 'string',
  CycleId: 'string',
  DurationMs: 'long',
  Id: 'string',
  InitiatedBy: 'string',
  _IsBillable: 'string',
  JobId: 'string',
  ModifiedProperties: 'string',
  OperationName: 'string',
  OperationVersion: 'string',
  ProvisioningAction: 'string',
  Action: 'string',
  ProvisioningStatusInfo: 'string',
  ProvisioningSteps: 'string',
  ResultDescription: 'string',
  ResultSignature: 'string',
  ResultType: 'string',
  ServicePrincipal: 'string',
  SourceIdentity: 'string',
  SourceSystem: 'string',
  TargetIdentity: 'string',
  TargetSystem: 'string',
  TenantId: 'string',
  TimeGenerated: 'datetime',
  Type: 'string',
};

// ---- Graph: GET /auditLogs/provisioning ----------------------------------------------------------------

const AUDIT_LOG_ROLES = ['AuditLog.Read.All'];
const DEFAULT_LOG_PAGE_SIZE = 50;
const MAX_LOG_PAGE_SIZE = 1000;

/**
 * How a tenant's Graph departs from the documented query options (scenario `provisioningLogs`), so a
 * reader's fallbacks can be proved: Graph has refused or ignored documented filters before
 * (microsoftgraph/microsoft-graph-docs#5676: `Invalid filter clause` on a documented signIns filter;
 * MicrosoftDocs/azure-docs#11920: a directoryAudits filter that returned everything).
 */
export interface LogQueryModes {
  /** `supported` (default); `refused`: a `provisioningStatusInfo/status` clause is 400 `Invalid filter clause`; `ignored`: it is dropped, events of every status come back. */
  statusFilter?: 'supported' | 'refused' | 'ignored';
  /** `supported` (default); `refused`: any `$top` is 400, and pages are the default size. */
  top?: 'supported' | 'refused';
}

const LOG_QUERY_MODE_VALUES = {
  statusFilter: ['supported', 'refused', 'ignored'],
  top: ['supported', 'refused'],
} as const;

/** Throws an Error naming `path` if `value` is not a valid LogQueryModes. */
export function validateLogQueryModes(value: unknown, path: string): asserts value is LogQueryModes {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${path}: expected an object`);
  for (const [key, mode] of Object.entries(value)) {
    const allowed = LOG_QUERY_MODE_VALUES[key as keyof typeof LOG_QUERY_MODE_VALUES] as readonly string[] | undefined;
    if (!allowed) throw new Error(`${path}.${key}: unknown field (expected one of statusFilter, top)`);
    if (!allowed.includes(mode as string))
      throw new Error(`${path}.${key}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(mode)}`);
  }
}

export interface LogRequestContext {
  origin: string;
  version: string;
  tenantId: string;
  premium: boolean;
  roles: Set<string>;
  modes?: LogQueryModes;
}

export interface LogResult {
  status: number;
  headers?: Record<string, string>;
  /** `{ code, message }` for an error, else the body. */
  error?: { code: string; message: string };
  body?: JsonObject;
}

type Predicate = (f: EventFacts) => boolean;

/** Documented `$filter` attributes (reference §3.2, §3.3), case-sensitive like Graph's. */
const STRING_PROPS: Record<string, (f: EventFacts) => string> = {
  id: (f) => f.id,
  changeId: (f) => f.changeId,
  cycleId: (f) => f.cycleId,
  jobId: (f) => f.jobId,
  tenantId: (f) => f.tenantId,
  provisioningAction: (f) => f.action,
  'provisioningStatusInfo/status': (f) => f.status,
  'servicePrincipal/id': (f) => f.servicePrincipal.id,
  'servicePrincipal/displayName': (f) => f.servicePrincipal.displayName,
  'sourceIdentity/id': (f) => f.objectId,
  'sourceIdentity/displayName': (f) => f.name,
  'sourceIdentity/identityType': (f) => f.identityType,
  'targetIdentity/displayName': (f) => f.name,
  'targetIdentity/identityType': (f) => f.identityType,
  'sourceSystem/displayName': () => 'Azure Active Directory',
  'targetSystem/displayName': (f) => f.servicePrincipal.displayName,
  'initiatedBy/displayName': () => PROVISIONING_SERVICE.displayName,
};
const NUMBER_PROPS: Record<string, (f: EventFacts) => number> = {
  activityDateTime: (f) => f.at,
  durationInMilliseconds: (f) => f.durationMs,
};

function invalidFilter(detail: string): { error: string } {
  return { error: `Invalid filter clause: ${detail}` };
}

const STATUS_PROP = 'provisioningStatusInfo/status';

/**
 * `clause and clause ...`; a clause is `prop eq|gt|lt value` or `contains(prop,'text')`. Values are compared
 * case-sensitively. `ignoreStatus`: clauses on provisioningStatusInfo/status are parsed and then not applied.
 */
function parseLogFilter(
  filter: string,
  options: { ignoreStatus?: boolean } = {},
): { test: Predicate; timeRange: [number, number] } | { error: string } {
  const tests: Predicate[] = [];
  let lower = -Infinity;
  let upper = Infinity;
  for (const raw of filter.trim().split(/\s+and\s+/)) {
    const clause = raw.trim();
    const contains = /^contains\(\s*([\w/]+)\s*,\s*'((?:[^']|'')*)'\s*\)$/.exec(clause);
    if (contains) {
      const [, prop, text] = contains as unknown as [string, string, string];
      const get = STRING_PROPS[prop];
      if (!get) return invalidFilter(`contains is not supported on '${prop}'`);
      const value = text.replace(/''/g, "'");
      if (!(options.ignoreStatus && prop === STATUS_PROP)) tests.push((f) => get(f).includes(value));
      continue;
    }
    const cmp = /^([\w/]+)\s+(eq|gt|lt)\s+(.+)$/.exec(clause);
    if (!cmp) return invalidFilter(`'${clause}' is not a supported clause`);
    const [, prop, op, valueText] = cmp as unknown as [string, string, 'eq' | 'gt' | 'lt', string];
    const number = NUMBER_PROPS[prop];
    if (number) {
      const value = prop === 'activityDateTime' ? Date.parse(valueText) : Number(valueText);
      if (
        !Number.isFinite(value) ||
        (prop === 'activityDateTime' && !/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(valueText))
      ) {
        return invalidFilter(`'${valueText}' is not a valid value for '${prop}'`);
      }
      if (op === 'eq') tests.push((f) => number(f) === value);
      else if (op === 'gt') tests.push((f) => number(f) > value);
      else tests.push((f) => number(f) < value);
      if (prop === 'activityDateTime') {
        if (op === 'gt' || op === 'eq') lower = Math.max(lower, op === 'eq' ? value : value + 1e-9);
        if (op === 'lt' || op === 'eq') upper = Math.min(upper, op === 'eq' ? value : value - 1e-9);
      }
      continue;
    }
    const get = STRING_PROPS[prop];
    if (!get) return invalidFilter(`property '${prop}' is not supported`);
    if (op !== 'eq') return invalidFilter(`operator '${op}' is not supported on '${prop}'`);
    const literal = /^'((?:[^']|'')*)'$/.exec(valueText);
    if (!literal) return invalidFilter(`'${valueText}' is not a string literal`);
    const value = (literal[1] as string).replace(/''/g, "'");
    if (!(options.ignoreStatus && prop === STATUS_PROP)) tests.push((f) => get(f) === value);
  }
  return { test: (f) => tests.every((t) => t(f)), timeRange: [lower, upper] };
}

interface Cursor {
  t: number;
  seq: number;
  q: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`RPSum\u0001${JSON.stringify(cursor)}`).toString('base64url');
}

function decodeCursor(token: string): Cursor | undefined {
  try {
    const text = Buffer.from(token, 'base64url').toString('utf8');
    if (!text.startsWith('RPSum\u0001')) return undefined;
    const c = JSON.parse(text.slice(6)) as Cursor;
    return typeof c.t === 'number' && typeof c.seq === 'number' && typeof c.q === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

/** First index whose entry sorts after `key` (`orEqual`: at or after it), by binary search over the sorted entries. */
function firstAfter(entries: LogEntry[], key: { t: number; seq: number }, orEqual = false): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = compareEntries(entries[mid] as LogEntry, key);
    if (c < 0 || (c === 0 && !orEqual)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Reports: 5 requests per 10 s per app per tenant (reference §5); the emulator has one app, so per tenant. */
export class ReportsRateLimiter {
  private readonly admitted = new Map<string, number[]>();

  constructor(
    private readonly requests = 5,
    private readonly windowMs = 10_000,
  ) {}

  /** Undefined when admitted, else the seconds to wait (Retry-After). */
  admit(tenantId: string, now = Date.now()): number | undefined {
    const times = (this.admitted.get(tenantId) ?? []).filter((t) => t > now - this.windowMs);
    if (times.length >= this.requests) {
      this.admitted.set(tenantId, times);
      return Math.max(1, Math.ceil(((times[0] as number) + this.windowMs - now) / 1000));
    }
    times.push(now);
    this.admitted.set(tenantId, times);
    return undefined;
  }

  clear(): void {
    this.admitted.clear();
  }
}

/**
 * `GET /auditLogs/provisioning` (v1.0/beta alike): 403 without AuditLog.Read.All, 403 without an
 * Entra ID P1/P2 licence, 429 with Retry-After past the reports limit, `$filter` (documented
 * attributes, case-sensitive), `$orderby=activityDateTime [asc|desc]`, `$top` (1..1000, default 50:
 * both invented, the real limits are not documented) and an opaque `$skiptoken` in an absolute nextLink.
 */
export function provisioningLogsResult(
  method: string,
  segments: string[],
  query: URLSearchParams,
  ctx: LogRequestContext,
  log: ProvisioningEventLog,
  limiter: ReportsRateLimiter,
): LogResult {
  const fail = (status: number, code: string, message: string, headers?: Record<string, string>): LogResult => ({
    status,
    error: { code, message },
    headers,
  });
  if (segments[1] !== 'provisioning' || segments.length > 3)
    return fail(400, 'BadRequest', `Resource not found for the segment '${segments[1] ?? segments[0]}'.`);
  if (method !== 'GET')
    return fail(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
  // The code and message Graph answers on /auditLogs/provisioning without the permission
  // (microsoftgraph/microsoft-graph-explorer-v4#3165, on this very endpoint; the same on signIns and directoryAudits).
  if (!AUDIT_LOG_ROLES.some((r) => ctx.roles.has(r)))
    return fail(
      403,
      'Authentication_MSGraphPermissionMissing',
      'Calling principal does not have required MSGraph permissions AuditLog.Read.All',
    );
  // Graph's answer for a tenant without Entra ID P1/P2 (turbot/steampipe-plugin-azuread#98, microsoftgraph/msgraph-sdk-dotnet#1006).
  if (!ctx.premium)
    return fail(
      403,
      'Authentication_RequestFromNonPremiumTenantOrB2CTenant',
      "Neither tenant is B2C or tenant doesn't have premium license",
    );
  const wait = limiter.admit(ctx.tenantId);
  if (wait !== undefined)
    return {
      status: 429,
      headers: { 'Retry-After': String(wait) },
      error: { code: 'TooManyRequests', message: 'Please retry again later.' },
    };

  const entries = log.entries(ctx.tenantId);
  if (segments[2] !== undefined) {
    const id = decodeURIComponent(segments[2]);
    const entry = entries.find((e) => e.id === id);
    if (!entry) return fail(404, 'ResourceNotFound', `Provisioning event '${id}' was not found.`);
    return {
      status: 200,
      body: {
        '@odata.context': `${ctx.origin}/${ctx.version}/$metadata#auditLogs/provisioning/$entity`,
        ...graphEvent(entry),
      },
    };
  }

  let top = DEFAULT_LOG_PAGE_SIZE;
  const topText = query.get('$top');
  // A mode (invented, LogQueryModes.top) for a Graph that will not take $top: the words are the OData query
  // validator's refusal of a query option; what Graph would really say is not known.
  if (topText !== null && ctx.modes?.top === 'refused')
    return fail(
      400,
      'BadRequest',
      "Query option 'Top' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.",
    );
  if (topText !== null) {
    top = Number(topText);
    if (!Number.isInteger(top) || top < 1 || top > MAX_LOG_PAGE_SIZE)
      return fail(
        400,
        'BadRequest',
        `Invalid page size specified: '${topText}'. Must be between 1 and ${MAX_LOG_PAGE_SIZE} inclusive.`,
      );
  }
  let order: 'asc' | 'desc' = 'desc'; // invented: the default order is not documented
  const orderText = query.get('$orderby');
  if (orderText !== null) {
    const m = /^activityDateTime(?:\s+(asc|desc))?$/.exec(orderText.trim());
    if (!m)
      return fail(
        400,
        'BadRequest',
        `Ordering by '${orderText}' is not supported; only activityDateTime can be ordered by.`,
      );
    order = (m[1] as 'asc' | 'desc' | undefined) ?? 'asc';
  }
  const filterText = query.get('$filter');
  const statusMode = ctx.modes?.statusFilter ?? 'supported';
  const filter =
    filterText === null
      ? { test: () => true, timeRange: [-Infinity, Infinity] as [number, number] }
      : parseLogFilter(filterText, { ignoreStatus: statusMode === 'ignored' });
  if ('error' in filter) return fail(400, 'BadRequest', filter.error);
  // Graph's bare answer to a filter it will not run (microsoftgraph/microsoft-graph-docs#5676, on signIns).
  if (statusMode === 'refused' && filterText !== null && filterText.includes(STATUS_PROP))
    return fail(400, 'BadRequest', 'Invalid filter clause');
  const q = createHash('sha256')
    .update(`${filterText ?? ''}|${order}|${top}`)
    .digest('base64url')
    .slice(0, 16);

  const tokenText = query.get('$skiptoken');
  let cursor: Cursor | undefined;
  if (tokenText !== null) {
    cursor = decodeCursor(tokenText);
    if (!cursor || cursor.q !== q)
      return fail(400, 'BadRequest', 'The $skiptoken is invalid or does not belong to this query.');
  }

  // Walk from the cursor (or the edge of the time range) in the requested order, one past the page to know whether more follow.
  const [lower, upper] = filter.timeRange;
  const page: LogEntry[] = [];
  let more = false;
  const take = (entry: LogEntry): boolean => {
    if (!filter.test(factsOf(entry))) return true;
    if (page.length === top) {
      more = true;
      return false;
    }
    page.push(entry);
    return true;
  };
  if (order === 'asc') {
    const start = cursor ? firstAfter(entries, cursor) : firstAfter(entries, { t: Math.ceil(lower), seq: -1 }, true);
    for (let i = start; i < entries.length && (entries[i] as LogEntry).t <= upper; i++)
      if (!take(entries[i] as LogEntry)) break;
  } else {
    const start = cursor
      ? firstAfter(entries, cursor, true) - 1
      : Number.isFinite(upper)
        ? firstAfter(entries, { t: Math.floor(upper), seq: Infinity }) - 1
        : entries.length - 1;
    for (let i = start; i >= 0 && (entries[i] as LogEntry).t >= lower; i--) if (!take(entries[i] as LogEntry)) break;
  }

  const body: JsonObject = { '@odata.context': `${ctx.origin}/${ctx.version}/$metadata#auditLogs/provisioning` };
  if (more) {
    const last = page.at(-1) as LogEntry;
    const params: string[] = [];
    for (const [key, value] of query)
      if (key !== '$skiptoken') params.push(`${key}=${encodeURIComponent(value).replace(/%24/g, '$')}`);
    params.push(`$skiptoken=${encodeCursor({ t: last.t, seq: last.seq, q })}`);
    body['@odata.nextLink'] = `${ctx.origin}/${ctx.version}/auditLogs/provisioning?${params.join('&')}`;
  }
  body.value = page.map(graphEvent);
  return { status: 200, body };
}
