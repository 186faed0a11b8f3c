import { msTimestamp } from './http';
import { CLOUD_SYNC_JOB_TEMPLATES, guidFrom, type JobSpec, type JsonObject } from './jobs';

/**
 * The synchronization job's write operations Graph offers for "decide from the alert": `restart`
 * (with `criteria.resetScope`), `provisionOnDemand` and the `schema` that names the rule on-demand
 * provisioning needs. Pure: what a request means and what it answers; emulators/graph.ts routes and
 * authorizes, emulators/state.ts keeps the pending restarts and runs them.
 *
 * Sources: Restart synchronizationJob and synchronizationJobRestartCriteria (v1.0,
 * microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0/api/synchronization-synchronizationjob-restart.md,
 * …/resources/synchronization-synchronizationjobrestartcriteria.md; reference §1.13, §2), provisionOnDemand
 * (…/api/synchronization-synchronizationjob-provisionondemand.md; MicrosoftDocs/entra-docs
 * docs/identity/multi-tenant-organizations/cross-tenant-synchronization-configure-graph.md, step 11) and
 * Get synchronizationSchema (…/api/synchronization-synchronizationschema-get.md).
 */

/** The documented `resetScope` values (a comma-separated combination of them, or empty). */
const RESET_SCOPES = [
  'None',
  'ConnectorDataStore',
  'Escrows',
  'Watermark',
  'QuarantineState',
  'Full',
  'ForceDeletes',
] as const;
export type ResetScope = (typeof RESET_SCOPES)[number];

/**
 * "Leaving this property empty emulates the Restart provisioning option in the Azure portal. It is
 * similar to setting the resetScope to include QuarantineState, Watermark, and Escrows."
 */
const PORTAL_RESTART: ResetScope[] = ['Escrows', 'Watermark', 'QuarantineState'];
/**
 * "Use Full if you want all of the options." Read here as every option but ForceDeletes, which the
 * docs list after Full, which deletes for good, and which a 2019-era list of the enum lacks
 * altogether (reference §1.13): Full predates it (INFERENCE).
 */
const FULL: ResetScope[] = ['ConnectorDataStore', 'Escrows', 'Watermark', 'QuarantineState'];

/**
 * The restart body's `criteria.resetScope` as the set of scopes it asks for (Full and an empty value
 * expanded), or what is wrong with the body. Values are matched case-insensitively, as .NET parses a
 * flags enum; an unknown value is refused (INVENTED wording: Graph's is not published).
 */
export function parseRestartBody(body: unknown): { resetScope: string; scopes: ResetScope[] } | { error: string } {
  if (body === undefined || body === null) return { resetScope: '', scopes: [...PORTAL_RESTART] };
  if (typeof body !== 'object' || Array.isArray(body)) return { error: 'The request body must be a JSON object.' };
  const criteria = (body as { criteria?: unknown }).criteria;
  if (criteria === undefined || criteria === null) return { resetScope: '', scopes: [...PORTAL_RESTART] };
  if (typeof criteria !== 'object' || Array.isArray(criteria))
    return { error: "'criteria' must be a synchronizationJobRestartCriteria object." };
  const raw = (criteria as { resetScope?: unknown }).resetScope;
  if (raw !== undefined && raw !== null && typeof raw !== 'string')
    return { error: "'criteria.resetScope' must be a string of comma-separated values." };
  const resetScope = (raw as string | null | undefined) ?? '';
  const names = resetScope
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (names.length === 0) return { resetScope, scopes: [...PORTAL_RESTART] };
  const scopes = new Set<ResetScope>();
  for (const name of names) {
    const scope = RESET_SCOPES.find((s) => s.toLowerCase() === name.toLowerCase());
    if (!scope)
      return {
        error: `The value '${name}' is not valid for resetScope. Valid values: ${RESET_SCOPES.join(', ')}.`,
      };
    for (const s of scope === 'Full' ? FULL : [scope]) scopes.add(s);
  }
  return { resetScope, scopes: RESET_SCOPES.filter((s) => scopes.has(s)) };
}

/** What a restart does to a job at its next run (see emulators/README.md, "Synchronization job writes", for the model and its sources). */
export interface RestartOutcome {
  /** The job's state after the run: `healthy`, `quarantined` again (a TooManyDeletes trip that held), or unchanged. */
  next: 'healthy' | 'requarantined' | 'unchanged';
  /** ForceDeletes: the held (StagedDelete) deletions run. */
  releaseHeldDeletes: boolean;
}

/** `heldDeletes`: the job's deletions still held (stagedDelete events neither let through nor withdrawn). */
export function restartOutcome(spec: JobSpec, scopes: readonly ResetScope[], heldDeletes: number): RestartOutcome {
  const has = (s: ResetScope) => scopes.includes(s);
  const releaseHeldDeletes = has('ForceDeletes');
  // `None` "starts a paused or quarantined provisioning job", which Start documents as clearing the quarantine.
  const liftsQuarantine = has('QuarantineState') || has('None');
  switch (spec.state) {
    case 'quarantined':
      if (spec.quarantine?.reason === 'TooManyDeletes') {
        // The held deletions are the cause: allowed, the job recovers on the next cycle ("Allow deletes ... status
        // returns to healthy on the next cycle", reference §2). Only lifted, the next run counts them again and trips
        // (INFERENCE), unless the cause was fixed first ("fix the cause, then restart", §2: withdrawHeldDeletes).
        if (releaseHeldDeletes) return { next: 'healthy', releaseHeldDeletes };
        if (!liftsQuarantine) return { next: 'unchanged', releaseHeldDeletes };
        return { next: heldDeletes > 0 ? 'requarantined' : 'healthy', releaseHeldDeletes };
      }
      return { next: liftsQuarantine ? 'healthy' : 'unchanged', releaseHeldDeletes };
    case 'failing':
      // Escrows "stops the service from retrying failures": the escrow counters clear.
      return { next: has('Escrows') ? 'healthy' : 'unchanged', releaseHeldDeletes };
    case 'paused':
    case 'stalled':
    case 'disabled':
      // "Restart a stopped synchronization job, forcing it to reprocess all the objects."
      return { next: 'healthy', releaseHeldDeletes };
    case 'healthy':
      // Watermark/Full: a new initial cycle; the job stays healthy, its last run is the restart's.
      return { next: 'healthy', releaseHeldDeletes };
    default:
      // neverRun, notConfigured, created: nothing has run yet; a restart does not configure a job.
      return { next: 'unchanged', releaseHeldDeletes };
  }
}

// --- schema -------------------------------------------------------------------------------------------

interface Directories {
  source: string;
  target: string;
  rule: string;
}

/** Source and target directory names and the rule name, per job template (sources in the file comment). */
function directoriesOf(templateId: string, targetName: string): Directories {
  if (templateId === 'Azure2Azure')
    return {
      source: 'Azure Active Directory',
      target: 'Azure Active Directory (target tenant)',
      rule: 'USER_INBOUND_USER',
    };
  if ((CLOUD_SYNC_JOB_TEMPLATES as readonly string[]).includes(templateId))
    return { source: 'Active Directory', target: 'Azure Active Directory', rule: 'USER_TO_USER' };
  return { source: 'Azure Active Directory', target: targetName, rule: 'USER_TO_USER' };
}

/** The id of a job's one synchronization rule (a GUID derived from the job id, stable across runs). */
export function ruleIdOf(jobId: string): string {
  return guidFrom(`rule:${jobId}`);
}

/**
 * `GET …/jobs/{jobId}/schema`: a minimal synchronizationSchema with one rule (the shape of the
 * cross-tenant doc's answer, step 11: id, version, synchronizationRules[{id, name, priority, ...}]).
 * Object and attribute mappings are left empty (INVENTED simplification: only the rule id is needed).
 */
export function synchronizationSchema(job: JobSpec, targetName: string, context: string): JsonObject {
  const d = directoriesOf(job.templateId, targetName);
  return {
    '@odata.context': context,
    id: job.id,
    version: 'v1.2',
    synchronizationRules: [
      {
        containerFilter: null,
        editable: true,
        groupFilter: null,
        id: ruleIdOf(job.id),
        name: d.rule,
        priority: 1,
        sourceDirectoryName: d.source,
        targetDirectoryName: d.target,
        metadata: [
          { key: 'defaultSourceObjectMappings', value: 'true' },
          { key: 'supportsProvisionOnDemand', value: 'true' },
        ],
        objectMappings: [],
      },
    ],
    directories: [
      { id: guidFrom(`directory:${job.id}:source`), name: d.source, objects: [] },
      { id: guidFrom(`directory:${job.id}:target`), name: d.target, objects: [] },
    ],
  };
}

// --- provisionOnDemand --------------------------------------------------------------------------------

/** How the scenario says one object's on-demand provisioning ends. */
interface OnDemandObject {
  objectId: string;
  /** Default `success`. */
  result?: 'success' | 'failure' | 'skipped';
  /** `failure`/`skipped`: the error code (defaults `EntryConflict` / `RedundantExport`). */
  errorCode?: string;
  errorMessage?: string;
  displayName?: string;
  userPrincipalName?: string;
}

const ON_DEMAND_RESULTS = ['success', 'failure', 'skipped'] as const;
/**
 * `graphReference`: the Graph API page's shape (key = `{"result":...,"details":{...}}` as JSON text, value = one
 * status object as JSON text). `statusInfoArray`: the cross-tenant doc's (key =
 * `Microsoft.Identity.Health.CPP.Common.DataContracts.SyncFabric.StatusInfo`, value = a JSON array of status objects).
 * The two Microsoft docs disagree (CONFLICT, reference §1.1); a reader should take both.
 */
const ON_DEMAND_SHAPES = ['graphReference', 'statusInfoArray'] as const;
type OnDemandShape = (typeof ON_DEMAND_SHAPES)[number];

export interface OnDemandConfig {
  responseShape?: OnDemandShape;
  objects?: OnDemandObject[];
}

/** Throws an Error naming `path` and the bad field. */
export function validateOnDemandConfig(value: unknown, path: string): asserts value is OnDemandConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${path}: expected an object`);
  const c = value as Record<string, unknown>;
  for (const key of Object.keys(c))
    if (key !== 'responseShape' && key !== 'objects')
      throw new Error(`${path}.${key}: unknown field (expected one of responseShape, objects)`);
  if (c.responseShape !== undefined && !(ON_DEMAND_SHAPES as readonly unknown[]).includes(c.responseShape))
    throw new Error(
      `${path}.responseShape: expected one of ${ON_DEMAND_SHAPES.join(', ')}, got ${JSON.stringify(c.responseShape)}`,
    );
  if (c.objects === undefined) return;
  if (!Array.isArray(c.objects)) throw new Error(`${path}.objects: expected an array`);
  const known = ['objectId', 'result', 'errorCode', 'errorMessage', 'displayName', 'userPrincipalName'];
  c.objects.forEach((o: unknown, i) => {
    const p = `${path}.objects[${i}]`;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`${p}: expected an object`);
    const obj = o as Record<string, unknown>;
    for (const key of Object.keys(obj))
      if (!known.includes(key)) throw new Error(`${p}.${key}: unknown field (expected one of ${known.join(', ')})`);
    for (const key of known)
      if (obj[key] !== undefined && (typeof obj[key] !== 'string' || obj[key] === ''))
        throw new Error(`${p}.${key}: expected a non-empty string`);
    if (obj.objectId === undefined) throw new Error(`${p}.objectId: expected a non-empty string`);
    if (obj.result !== undefined && !(ON_DEMAND_RESULTS as readonly unknown[]).includes(obj.result))
      throw new Error(
        `${p}.result: expected one of ${ON_DEMAND_RESULTS.join(', ')}, got ${JSON.stringify(obj.result)}`,
      );
  });
}

export interface OnDemandSubject {
  objectId: string;
  objectTypeName: string;
}

/** The body's one rule and subject, or what is wrong with it (INVENTED wording; Graph's is not published). */
export function parseOnDemandBody(
  body: unknown,
  ruleId: string,
): { ruleId: string; subject: OnDemandSubject; members: number } | { error: string } {
  const parameters = (body as { parameters?: unknown } | null | undefined)?.parameters;
  if (!Array.isArray(parameters) || parameters.length === 0)
    return { error: "The request body must contain 'parameters': a list of { ruleId, subjects }." };
  if (parameters.length > 1) return { error: 'provisionOnDemand accepts one rule and one subject at a time.' };
  const [parameter] = parameters as Array<{ ruleId?: unknown; subjects?: unknown }>;
  if (typeof parameter?.ruleId !== 'string' || parameter.ruleId === '')
    return { error: "Each parameter needs a 'ruleId' (synchronizationRules[].id of the job's schema)." };
  if (parameter.ruleId.split('#')[0] !== ruleId)
    return { error: `The synchronization rule '${parameter.ruleId}' was not found in the job's schema.` };
  const subjects = parameter.subjects;
  if (!Array.isArray(subjects) || subjects.length !== 1)
    return { error: "Each parameter needs 'subjects': exactly one { objectId, objectTypeName }." };
  const [subject] = subjects as Array<{ objectId?: unknown; objectTypeName?: unknown; links?: unknown }>;
  if (typeof subject?.objectId !== 'string' || subject.objectId === '' || typeof subject.objectTypeName !== 'string')
    return { error: "A subject needs 'objectId' and 'objectTypeName'." };
  const type = subject.objectTypeName.toLowerCase();
  if (type !== 'user' && type !== 'group')
    return { error: `objectTypeName '${subject.objectTypeName}' is not supported: User or Group.` };
  const members = (subject.links as { members?: unknown[] } | undefined)?.members?.length ?? 0;
  if (members > 5) return { error: 'On-demand provisioning of a group takes at most 5 members.' };
  return {
    ruleId: parameter.ruleId,
    subject: { objectId: subject.objectId, objectTypeName: subject.objectTypeName },
    members,
  };
}

export interface OnDemandContext {
  job: JobSpec;
  /** The service principal's display name (the target of apps other than cross-tenant sync and Cloud Sync). */
  targetName: string;
  /** What the scenario says of this object (result, names), if anything. */
  object?: OnDemandObject;
  /** Names to fall back on (e.g. the tenant's person with that object id). */
  fallback: { displayName: string; userPrincipalName: string };
  shape: OnDemandShape;
  now: number;
  context: string;
}

const SKIP_MESSAGE = 'The state of the user in both the source and target systems already match.';

/**
 * The answer to provisionOnDemand: a `stringKeyStringValuePair` whose strings are JSON, mirroring the
 * v1.0 page's example 1 (keys and step shapes) or the cross-tenant doc's (see ON_DEMAND_SHAPES). A
 * group subject answers as the page's example 3 (`{"result":"Success","details":{}}`, value `{}`).
 * INVENTED: the failure form (no failing example is published): result `Failure`, the export step
 * `Failure`, `statusInfo` carrying the error code and message.
 */
export function provisionOnDemandAnswer(subject: OnDemandSubject, ctx: OnDemandContext): JsonObject {
  const result = ctx.object?.result ?? 'success';
  if (subject.objectTypeName.toLowerCase() === 'group' && result === 'success')
    return pair(ctx, { result: 'Success', details: {} }, {});
  const d = directoriesOf(ctx.job.templateId, ctx.targetName);
  const name = ctx.object?.displayName ?? ctx.fallback.displayName;
  const upn = ctx.object?.userPrincipalName ?? ctx.fallback.userPrincipalName;
  const type = subject.objectTypeName;
  const code =
    result === 'failure'
      ? (ctx.object?.errorCode ?? 'EntryConflict')
      : result === 'skipped'
        ? (ctx.object?.errorCode ?? 'RedundantExport')
        : undefined;
  const message =
    ctx.object?.errorMessage ??
    (result === 'skipped'
      ? SKIP_MESSAGE
      : `Message: ${d.target} returned an error for ${type} '${upn}' (${code ?? ''}).`);
  const at = (ms: number) => msTimestamp(ctx.now - 900 + ms);
  const targetId = result === 'failure' ? null : guidFrom(`on-demand-target:${ctx.job.id}:${subject.objectId}`);
  const steps: JsonObject[] = [
    {
      name: 'EntryImport',
      type: 'Import',
      status: 'Success',
      description: `Retrieved ${type} '${upn}' from ${d.source}`,
      timestamp: at(0),
      details: { objectId: subject.objectId, accountEnabled: 'True', displayName: name, userPrincipalName: upn },
    },
    {
      name: 'EntrySynchronizationScoping',
      type: 'Scoping',
      status: 'Success',
      description: `Determine if ${type} in scope by evaluating against each scoping filter`,
      timestamp: at(150),
      details: {
        'Active in the source system': 'True',
        'Assigned to the application': 'True',
        'Scoping filter evaluation passed': 'True',
      },
    },
    {
      name: 'EntryImport',
      type: 'Matching',
      status: 'Success',
      description:
        result === 'skipped'
          ? `Retrieved  '${upn}' from ${d.target}`
          : `No matching ${type} was found in ${d.target} for '${upn}'`,
      timestamp: at(300),
      details: result === 'skipped' ? { userName: upn, id: targetId } : {},
    },
  ];
  if (result === 'skipped') {
    steps.push({
      name: 'EntrySynchronizationSkip',
      type: 'Export',
      status: 'Skipped',
      description: `${SKIP_MESSAGE} No change to the ${type} '${upn}' currently needs to be made.`,
      timestamp: at(450),
      details: { SkipReason: code },
    });
  } else {
    // The action step as the provisioning logs show it (reference §3.4: EntrySynchronizationAdd, a matching step).
    steps.push(
      {
        name: 'EntrySynchronizationAdd',
        type: 'Matching',
        status: 'Success',
        description: `${type} '${upn}' will be created in ${d.target} (${type} is active and assigned in ${d.source}, but no matching ${type} was found in ${d.target})`,
        timestamp: at(450),
        details: {},
      },
      result === 'failure'
        ? {
            name: 'EntryExportAdd',
            type: 'Export',
            status: 'Failure',
            description: `Failed to create ${type} '${upn}' in ${d.target}`,
            timestamp: at(800),
            details: { ReportableIdentifier: upn, ErrorCode: code },
          }
        : {
            name: 'EntryExportAdd',
            type: 'Export',
            status: 'Success',
            description: `${type} '${upn}' was created in ${d.target}`,
            timestamp: at(800),
            details: {},
          },
    );
  }
  const status = { success: 'Success', failure: 'Failure', skipped: 'Skipped' }[result];
  const statusObject = {
    provisioningSteps: steps,
    modifiedProperties:
      result === 'skipped'
        ? []
        : [
            { displayName: 'objectId', oldValue: null, newValue: subject.objectId },
            { displayName: 'accountEnabled', oldValue: null, newValue: 'True' },
            { displayName: 'displayName', oldValue: null, newValue: name },
            { displayName: 'userPrincipalName', oldValue: null, newValue: upn },
          ],
    action: result === 'skipped' ? 'Other' : 'Create',
    changeId: guidFrom(`on-demand-change:${ctx.job.id}:${subject.objectId}:${ctx.now}`),
    startTime: at(0),
    endTime: at(850),
    reportableIdentifier: upn,
    statusInfo: {
      status,
      errorCode: result === 'failure' ? code : null,
      reason: result === 'failure' ? message : null,
      additionalDetails: null,
      errorCategory: result === 'failure' ? 'NonServiceFailure' : null,
      recommendedAction: null,
    },
    sourceIdentity: { id: subject.objectId, type, displayName: null, details: null },
    sourceSystem: { id: null, name: d.source, details: null },
    targetIdentity: { id: targetId, type, displayName: null, details: null },
    targetSystem: { id: null, name: d.target, details: null },
  };
  const key =
    result === 'success'
      ? { result: status, details: {} }
      : { result: status, details: { errorCode: code, errorMessage: message } };
  return pair(ctx, key, statusObject);
}

function pair(ctx: OnDemandContext, key: JsonObject, value: JsonObject): JsonObject {
  if (ctx.shape === 'statusInfoArray')
    return {
      '@odata.context': ctx.context,
      key: 'Microsoft.Identity.Health.CPP.Common.DataContracts.SyncFabric.StatusInfo',
      value: JSON.stringify(Object.keys(value).length === 0 ? [] : [value]),
    };
  return { '@odata.context': ctx.context, key: JSON.stringify(key), value: JSON.stringify(value) };
}
