import { readFileSync } from 'node:fs';
import { validateFault, type Fault } from './faults';
import {
  JOB_STATES,
  shortDurationMs,
  type JobSpec,
  type JobState,
  type QuarantineSpec,
  type SynchronizationTaskExecution,
} from './jobs';
import {
  validateEventSpec,
  validateLogQueryModes,
  type LogQueryModes,
  type ProvisioningEventSpec,
} from './provisioning-logs';
import { validateOnDemandConfig, type OnDemandConfig } from './job-actions';
import { validateGraphLimits, type GraphLimits } from './throttle';

/**
 * The scenario a local private cloud starts from: one multi-tenant app registration, the customer
 * tenants that consented to it (with their granted application permissions, service principals and
 * synchronization jobs), and a timeline of named steps that change jobs, grants, consent or inject faults.
 */

interface AppRegistration {
  clientId: string;
  clientSecret: string;
  /**
   * The app registration's web redirect URIs: where the authority sends a signed-in person back with a code
   * (compared exactly, as Entra does). Default none: sign-in is refused with AADSTS500113.
   */
  redirectUris?: string[];
}

/**
 * A person of a tenant whom the authority signs in (authorization code flow), without a login form: their
 * ID token carries these. `roles` are the app roles assigned to them in the app (e.g. `SyncWatch.Operator`),
 * `groups` the object ids of their groups.
 */
export interface PersonSpec {
  /** userPrincipalName, e.g. `adele@contoso.com` (the `login_hint` that picks them; `preferred_username`). */
  upn: string;
  /** Display name (`name` claim). */
  name: string;
  /** Object id (`oid`); default: a GUID derived from the tenant and the UPN. */
  id?: string;
  roles?: string[];
  groups?: string[];
}

interface ServicePrincipalSpec {
  id: string;
  appId: string;
  displayName: string;
  /**
   * The application template: `518e5f48-…` cross-tenant sync, `1a4721b3-…` Cloud Sync, `8adf8e6e-…` custom SCIM,
   * a gallery app's own GUID; absent/null for apps not made from a template (first-party apps, plain registrations).
   */
  applicationTemplateId?: string | null;
  jobs: JobSpec[];
  /**
   * Synchronization secrets (`GET …/synchronization/secrets`), key → value; an object value is sent as its JSON
   * text (as `SyncNotificationSettings` is), `now+10d` / `now-1h` become ISO times when the scenario loads.
   * Default for a service principal with jobs: notifications on with a recipient and deletion prevention on (500).
   */
  secrets?: Record<string, string | Record<string, unknown>>;
  /** How `GET …/synchronization/secrets` answers for this service principal; default: its tenant's `secretsPolicy`. */
  secretsPolicy?: SecretsPolicy;
}

/**
 * How `GET …/synchronization/secrets` answers (the method is undocumented on v1.0, reference §1.1, so a
 * reader must survive every answer): `allowed` lists the secrets; `403` Authorization_RequestDenied;
 * `404` the path not found; `400` Graph's unknown-segment answer.
 */
export const SECRETS_POLICIES = ['allowed', '403', '404', '400'] as const;
export type SecretsPolicy = (typeof SECRETS_POLICIES)[number];

/**
 * How a synchronization write (restart, provisionOnDemand) without Synchronization.ReadWrite.All is refused:
 * `401` UnknownError with an empty message, as a restart was (microsoftgraph/microsoft-graph-docs-contrib#8800,
 * reference §1.11), or `403` Authorization_RequestDenied.
 */
export const SYNC_WRITE_DENIALS = ['401', '403'] as const;
export type SyncWriteDenial = (typeof SYNC_WRITE_DENIALS)[number];

/** A tenant's Microsoft Entra ID licence: the provisioning logs need P1 or P2 (reference §3.1). */
export const LICENCES = ['free', 'p1', 'p2'] as const;
export type Licence = (typeof LICENCES)[number];

interface GeneratedServicePrincipals {
  /** That many extra cross-tenant-sync SPs, one Azure2Azure job each, with ids derived from the tenant id. */
  count: number;
  displayNamePrefix?: string;
  state?: JobState;
  /** That many more service principals without a template or jobs (first-party apps, registrations): pages to list. */
  plainApps?: number;
  /** That many gallery apps (a template of their own) without provisioning: candidates a sweep probes and drops. */
  ssoApps?: number;
}

export interface TenantSpec {
  id: string;
  displayName: string;
  /**
   * The tenant's verified domain names, which resolve to it at the authority (OpenID discovery, the
   * token endpoint). Default: its initial domain, `<display name, letters and digits>.onmicrosoft.com`.
   */
  domains?: string[];
  /** Whether the app has a service principal (admin consent) in this tenant. Default true. */
  consented?: boolean;
  /** Application permissions granted to the app in this tenant (token `roles`). */
  grants: string[];
  servicePrincipals: ServicePrincipalSpec[];
  generated?: GeneratedServicePrincipals;
  /** Whether the tenant has Entra ID P1/P2, which the provisioning logs need (default true). Same as `licence` free/p1. */
  premium?: boolean;
  /** The tenant's Entra ID licence (default `p1`; `free`: the provisioning logs answer 403). */
  licence?: Licence;
  /** How `GET …/synchronization/secrets` answers in this tenant (default `allowed`). */
  secretsPolicy?: SecretsPolicy;
  /** How this tenant's `/auditLogs/provisioning` departs from the documented query options (default: it does not). */
  provisioningLogs?: LogQueryModes;
  /** How a restart or provisionOnDemand without Synchronization.ReadWrite.All is refused (default `401`). */
  syncWriteDenied?: SyncWriteDenial;
  /** What provisionOnDemand answers: per object, and in which of the two documented shapes. */
  provisionOnDemand?: OnDemandConfig;
  /** People the authority signs in for this tenant (the first is who signs in without a `login_hint`). */
  people?: PersonSpec[];
  /** Provisioning events in the logs when the cloud starts (times relative to the start). */
  provisioningEvents?: ProvisioningEventSpec[];
}

type TimelineChange =
  | { tenant: string; job: string; set: Partial<Omit<JobSpec, 'id'>> }
  | { tenant: string; grants: string[] }
  | { tenant: string; consented: boolean }
  | { tenant: string; servicePrincipal: string; secrets: Record<string, string | Record<string, unknown>> }
  | { tenant: string; provisioningEvents: ProvisioningEventSpec[] }
  | { tenant: string; licence: Licence }
  | { tenant: string; secretsPolicy: SecretsPolicy | null; servicePrincipal?: string }
  | { tenant: string; provisioningLogs: LogQueryModes }
  | { tenant: string; job: string; withdrawHeldDeletes: true }
  | { fault: Fault };

interface TimelineStep {
  name: string;
  description?: string;
  changes: TimelineChange[];
}

export interface Scenario {
  name: string;
  description?: string;
  app: AppRegistration;
  tenants: TenantSpec[];
  timeline?: TimelineStep[];
  /** Graph's reports limit on `/auditLogs/provisioning`, per tenant (default 5 requests per 10 s, reference §5). */
  reportsRateLimit?: { requests: number; windowSeconds: number };
  /** A Log Analytics workspace receiving every tenant's provisioning logs (AADProvisioningLogs). */
  logAnalytics?: { workspaceId: string; readerAccess?: boolean };
  /** Graph's latency and rate limits: identity-and-access resource units and reports across tenants (emulators/throttle.ts). */
  graphLimits?: GraphLimits;
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads and validates a scenario JSON file. */
export function loadScenario(path: string): Scenario {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ScenarioError(`${path}: ${(error as Error).message}`);
  }
  try {
    return validateScenario(parsed);
  } catch (error) {
    if (error instanceof ScenarioError) throw new ScenarioError(`${path}: ${error.message}`);
    throw error;
  }
}

/**
 * Checks a parsed scenario and returns it typed. Errors name the path of the bad field, e.g.
 * `tenants[1].servicePrincipals[0].jobs[2].state: expected one of healthy, neverRun, ...`.
 */
export function validateScenario(value: unknown): Scenario {
  const s = obj(value, '(scenario)', [
    'name',
    'description',
    'app',
    'tenants',
    'timeline',
    '$schema',
    'reportsRateLimit',
    'logAnalytics',
    'graphLimits',
  ]);
  str(s.name, 'name');
  optStr(s.description, 'description');
  const app = obj(s.app, 'app', ['clientId', 'clientSecret', 'redirectUris']);
  guid(app.clientId, 'app.clientId');
  str(app.clientSecret, 'app.clientSecret');
  if (app.redirectUris !== undefined) validateRedirectUris(app.redirectUris, 'app.redirectUris');
  const tenants = arr(s.tenants, 'tenants');
  if (tenants.length === 0) throw new ScenarioError('tenants: expected at least one tenant');
  const tenantIds = new Set<string>();
  const jobsByTenant = new Map<string, Set<string>>();
  tenants.forEach((t, i) => {
    const p = `tenants[${i}]`;
    const tenant = obj(t, p, [
      'id',
      'displayName',
      'domains',
      'consented',
      'grants',
      'servicePrincipals',
      'generated',
      'premium',
      'provisioningEvents',
      'licence',
      'secretsPolicy',
      'provisioningLogs',
      'syncWriteDenied',
      'provisionOnDemand',
      'people',
    ]);
    guid(tenant.id, `${p}.id`);
    const id = (tenant.id as string).toLowerCase();
    if (tenantIds.has(id)) throw new ScenarioError(`${p}.id: duplicate tenant id ${id}`);
    tenantIds.add(id);
    str(tenant.displayName, `${p}.displayName`);
    if (tenant.domains !== undefined) {
      strArr(tenant.domains, `${p}.domains`);
      for (const domain of tenant.domains as string[])
        if (!/^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(domain))
          throw new ScenarioError(`${p}.domains: "${domain}" is not a domain name`);
    }
    if (tenant.consented !== undefined && typeof tenant.consented !== 'boolean')
      throw new ScenarioError(`${p}.consented: expected a boolean`);
    strArr(tenant.grants, `${p}.grants`);
    const jobIds = new Set<string>();
    const spIds = new Set<string>();
    arr(tenant.servicePrincipals, `${p}.servicePrincipals`).forEach((sp, j) => {
      const sp_p = `${p}.servicePrincipals[${j}]`;
      const spo = obj(sp, sp_p, [
        'id',
        'appId',
        'displayName',
        'applicationTemplateId',
        'jobs',
        'secrets',
        'secretsPolicy',
      ]);
      if (spo.secretsPolicy !== undefined) oneOf(spo.secretsPolicy, SECRETS_POLICIES, `${sp_p}.secretsPolicy`);
      if (spo.secrets !== undefined) validateSecrets(spo.secrets, `${sp_p}.secrets`);
      guid(spo.id, `${sp_p}.id`);
      if (spIds.has((spo.id as string).toLowerCase()))
        throw new ScenarioError(`${sp_p}.id: duplicate service principal id`);
      spIds.add((spo.id as string).toLowerCase());
      guid(spo.appId, `${sp_p}.appId`);
      str(spo.displayName, `${sp_p}.displayName`);
      if (spo.applicationTemplateId !== undefined && spo.applicationTemplateId !== null)
        guid(spo.applicationTemplateId, `${sp_p}.applicationTemplateId`);
      arr(spo.jobs, `${sp_p}.jobs`).forEach((job, k) => {
        validateJobSpec(job, `${sp_p}.jobs[${k}]`, false);
        const jobId = (job as JobSpec).id;
        if (jobIds.has(jobId)) throw new ScenarioError(`${sp_p}.jobs[${k}].id: duplicate job id ${jobId} in tenant`);
        jobIds.add(jobId);
      });
    });
    if (tenant.generated !== undefined) {
      const g = obj(tenant.generated, `${p}.generated`, [
        'count',
        'displayNamePrefix',
        'state',
        'plainApps',
        'ssoApps',
      ]);
      for (const key of ['count', 'plainApps', 'ssoApps'] as const) {
        const n = g[key];
        if (key !== 'count' && n === undefined) continue;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 5000)
          throw new ScenarioError(`${p}.generated.${key}: expected an integer 0..5000`);
      }
      optStr(g.displayNamePrefix, `${p}.generated.displayNamePrefix`);
      if (g.state !== undefined) oneOf(g.state, JOB_STATES, `${p}.generated.state`);
    }
    jobsByTenant.set(id, jobIds);
    if (tenant.premium !== undefined && typeof tenant.premium !== 'boolean')
      throw new ScenarioError(`${p}.premium: expected a boolean`);
    if (tenant.licence !== undefined) {
      oneOf(tenant.licence, LICENCES, `${p}.licence`);
      if (tenant.premium !== undefined && tenant.premium !== (tenant.licence !== 'free'))
        throw new ScenarioError(
          `${p}.premium: ${String(tenant.premium)} contradicts licence ${String(tenant.licence)} (give one of them)`,
        );
    }
    if (tenant.secretsPolicy !== undefined) oneOf(tenant.secretsPolicy, SECRETS_POLICIES, `${p}.secretsPolicy`);
    if (tenant.provisioningLogs !== undefined) logModes(tenant.provisioningLogs, `${p}.provisioningLogs`);
    if (tenant.syncWriteDenied !== undefined) oneOf(tenant.syncWriteDenied, SYNC_WRITE_DENIALS, `${p}.syncWriteDenied`);
    if (tenant.people !== undefined) validatePeople(tenant.people, `${p}.people`);
    if (tenant.provisionOnDemand !== undefined) {
      try {
        validateOnDemandConfig(tenant.provisionOnDemand, `${p}.provisionOnDemand`);
      } catch (error) {
        throw new ScenarioError((error as Error).message);
      }
    }
    validateEvents(tenant.provisioningEvents, `${p}.provisioningEvents`, jobIds, true);
  });
  validateLogSettings(s);
  if (s.timeline !== undefined) {
    const names = new Set<string>();
    arr(s.timeline, 'timeline').forEach((st, i) => {
      const p = `timeline[${i}]`;
      const step = obj(st, p, ['name', 'description', 'changes']);
      str(step.name, `${p}.name`);
      if (names.has(step.name as string))
        throw new ScenarioError(`${p}.name: duplicate step name ${String(step.name)}`);
      names.add(step.name as string);
      optStr(step.description, `${p}.description`);
      arr(step.changes, `${p}.changes`).forEach((c, k) =>
        validateChange(c, `${p}.changes[${k}]`, tenantIds, jobsByTenant),
      );
    });
  }
  return value as Scenario;
}

function validateChange(
  value: unknown,
  p: string,
  tenantIds: Set<string>,
  jobsByTenant: Map<string, Set<string>>,
): void {
  const c = obj(value, p, [
    'tenant',
    'job',
    'set',
    'grants',
    'consented',
    'fault',
    'servicePrincipal',
    'secrets',
    'provisioningEvents',
    'licence',
    'secretsPolicy',
    'provisioningLogs',
    'withdrawHeldDeletes',
  ]);
  if ('fault' in c) {
    try {
      validateFault(c.fault, `${p}.fault`);
    } catch (error) {
      throw new ScenarioError((error as Error).message);
    }
    return;
  }
  guid(c.tenant, `${p}.tenant`);
  const tenant = (c.tenant as string).toLowerCase();
  if (!tenantIds.has(tenant)) throw new ScenarioError(`${p}.tenant: no tenant ${tenant} in tenants`);
  if ('withdrawHeldDeletes' in c) {
    if (c.withdrawHeldDeletes !== true) throw new ScenarioError(`${p}.withdrawHeldDeletes: expected true`);
    str(c.job, `${p}.job`);
    if (!jobsByTenant.get(tenant)?.has(c.job as string))
      throw new ScenarioError(`${p}.job: no job ${String(c.job)} in tenant ${tenant}`);
  } else if ('job' in c || 'set' in c) {
    str(c.job, `${p}.job`);
    if (!jobsByTenant.get(tenant)?.has(c.job as string))
      throw new ScenarioError(`${p}.job: no job ${String(c.job)} in tenant ${tenant}`);
    validateJobSpec(c.set, `${p}.set`, true);
  } else if ('secretsPolicy' in c) {
    if (c.secretsPolicy !== null) oneOf(c.secretsPolicy, SECRETS_POLICIES, `${p}.secretsPolicy`);
    if (c.servicePrincipal !== undefined) guid(c.servicePrincipal, `${p}.servicePrincipal`);
    else if (c.secretsPolicy === null)
      throw new ScenarioError(`${p}.secretsPolicy: null (inherit the tenant's) needs a servicePrincipal`);
  } else if ('licence' in c) {
    oneOf(c.licence, LICENCES, `${p}.licence`);
  } else if ('provisioningLogs' in c) {
    logModes(c.provisioningLogs, `${p}.provisioningLogs`);
  } else if ('grants' in c) {
    strArr(c.grants, `${p}.grants`);
  } else if ('consented' in c) {
    if (typeof c.consented !== 'boolean') throw new ScenarioError(`${p}.consented: expected a boolean`);
  } else if ('secrets' in c) {
    guid(c.servicePrincipal, `${p}.servicePrincipal`);
    validateSecrets(c.secrets, `${p}.secrets`);
  } else if ('provisioningEvents' in c) {
    validateEvents(c.provisioningEvents, `${p}.provisioningEvents`, jobsByTenant.get(tenant) ?? new Set(), false);
  } else {
    throw new ScenarioError(
      `${p}: expected one of {tenant, job, set}, {tenant, grants}, {tenant, consented}, {tenant, servicePrincipal, secrets}, {tenant, provisioningEvents}, {tenant, licence}, {tenant, secretsPolicy, servicePrincipal?}, {tenant, provisioningLogs}, {tenant, job, withdrawHeldDeletes: true}, {fault}`,
    );
  }
}

/** Redirect URIs as an app registration takes them: absolute https URLs, or http on localhost/127.0.0.1; no fragment. */
export function validateRedirectUris(value: unknown, p: string): asserts value is string[] {
  arr(value, p).forEach((v, i) => {
    let url: URL | undefined;
    try {
      url = typeof v === 'string' ? new URL(v) : undefined;
    } catch {
      url = undefined;
    }
    const loopback = url?.hostname === 'localhost' || url?.hostname === '127.0.0.1';
    if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) || url.hash)
      throw new ScenarioError(
        `${p}[${i}]: expected an absolute https URL (or http://localhost) without a fragment, got ${JSON.stringify(v)}`,
      );
  });
}

/** The people of a tenant: UPNs unique (case-insensitively) and shaped like one, names, optional GUIDs. */
export function validatePeople(value: unknown, p: string): asserts value is PersonSpec[] {
  const upns = new Set<string>();
  const ids = new Set<string>();
  arr(value, p).forEach((person, i) => {
    const pp = `${p}[${i}]`;
    const o = obj(person, pp, ['upn', 'name', 'id', 'roles', 'groups']);
    if (typeof o.upn !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(o.upn))
      throw new ScenarioError(
        `${pp}.upn: expected a user principal name such as adele@contoso.com, got ${JSON.stringify(o.upn)}`,
      );
    if (upns.has(o.upn.toLowerCase())) throw new ScenarioError(`${pp}.upn: duplicate person ${o.upn}`);
    upns.add(o.upn.toLowerCase());
    str(o.name, `${pp}.name`);
    if (o.id !== undefined) {
      guid(o.id, `${pp}.id`);
      if (ids.has((o.id as string).toLowerCase())) throw new ScenarioError(`${pp}.id: duplicate person id`);
      ids.add((o.id as string).toLowerCase());
    }
    if (o.roles !== undefined) strArr(o.roles, `${pp}.roles`);
    if (o.groups !== undefined) arr(o.groups, `${pp}.groups`).forEach((g, k) => guid(g, `${pp}.groups[${k}]`));
  });
}

function logModes(value: unknown, p: string): void {
  try {
    validateLogQueryModes(value, p);
  } catch (error) {
    throw new ScenarioError((error as Error).message);
  }
}

/** Provisioning event batches (emulators/provisioning-logs.ts); `optional`: absent is fine. */
function validateEvents(value: unknown, p: string, jobIds: Set<string>, optional: boolean): void {
  if (value === undefined && optional) return;
  arr(value, p).forEach((spec, i) => {
    try {
      validateEventSpec(spec, `${p}[${i}]`, jobIds);
    } catch (error) {
      throw new ScenarioError((error as Error).message);
    }
  });
}

function validateLogSettings(s: Record<string, unknown>): void {
  if (s.reportsRateLimit !== undefined) {
    const r = obj(s.reportsRateLimit, 'reportsRateLimit', ['requests', 'windowSeconds']);
    if (typeof r.requests !== 'number' || !Number.isInteger(r.requests) || r.requests < 1)
      throw new ScenarioError('reportsRateLimit.requests: expected an integer >= 1');
    if (typeof r.windowSeconds !== 'number' || !(r.windowSeconds > 0))
      throw new ScenarioError('reportsRateLimit.windowSeconds: expected a number > 0');
  }
  if (s.graphLimits !== undefined) {
    try {
      validateGraphLimits(s.graphLimits);
    } catch (error) {
      throw new ScenarioError((error as Error).message);
    }
  }
  if (s.logAnalytics !== undefined) {
    const la = obj(s.logAnalytics, 'logAnalytics', ['workspaceId', 'readerAccess']);
    guid(la.workspaceId, 'logAnalytics.workspaceId');
    if (la.readerAccess !== undefined && typeof la.readerAccess !== 'boolean')
      throw new ScenarioError('logAnalytics.readerAccess: expected a boolean');
  }
}

/** Validates a compact job spec; `partial` for timeline `set` objects (no id, every field optional). */
export function validateJobSpec(value: unknown, p: string, partial: boolean): void {
  const j = obj(value, p, [
    'id',
    'templateId',
    'state',
    'quarantine',
    'lastExecution',
    'raw',
    'interval',
    'lastRunAgo',
    'escrowed',
    'escrowGrowth',
    'entitled',
    'successiveFailures',
  ]);
  if (partial) {
    if (j.id !== undefined) throw new ScenarioError(`${p}.id: a change cannot rename a job`);
  } else {
    str(j.id, `${p}.id`);
  }
  if (!partial || j.templateId !== undefined) str(j.templateId, `${p}.templateId`);
  if (!partial || j.state !== undefined) oneOf(j.state, JOB_STATES, `${p}.state`);
  if (j.quarantine !== undefined) validateQuarantine(j.quarantine, `${p}.quarantine`);
  if (j.lastExecution !== undefined) obj(j.lastExecution, `${p}.lastExecution`, EXECUTION_KEYS);
  if (j.raw !== undefined) obj(j.raw, `${p}.raw`);
  if (
    j.interval !== undefined &&
    (typeof j.interval !== 'string' ||
      !/^P(?!$)(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$/.test(j.interval))
  ) {
    throw new ScenarioError(`${p}.interval: expected an ISO 8601 duration such as PT40M or PT2M`);
  }
  if (j.lastRunAgo !== undefined && (typeof j.lastRunAgo !== 'string' || shortDurationMs(j.lastRunAgo) === undefined)) {
    throw new ScenarioError(`${p}.lastRunAgo: expected a duration such as 90m, 3h or 2d`);
  }
  for (const key of ['escrowed', 'escrowGrowth', 'entitled', 'successiveFailures'] as const) {
    const n = j[key];
    if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 0))
      throw new ScenarioError(`${p}.${key}: expected a whole number >= 0`);
  }
}

/** Secrets: key → string, or an object sent as JSON text; `now±<n><s|m|h|d>` is a time relative to loading. */
function validateSecrets(value: unknown, p: string): void {
  const secrets = obj(value, p);
  for (const [key, v] of Object.entries(secrets)) {
    if (typeof v === 'string') {
      if (/^now[+-]/.test(v) && shortDurationMs(v.slice(4)) === undefined)
        throw new ScenarioError(`${p}.${key}: expected now+<n><s|m|h|d> or now-<n><s|m|h|d>, got ${JSON.stringify(v)}`);
      continue;
    }
    obj(v, `${p}.${key}`);
  }
}

const EXECUTION_KEYS: Array<keyof SynchronizationTaskExecution> = [
  'activityIdentifier',
  'countEntitled',
  'countEntitledForProvisioning',
  'countEscrowed',
  'countEscrowedRaw',
  'countExported',
  'countExports',
  'countImported',
  'countImportedDeltas',
  'countImportedReferenceDeltas',
  'state',
  'timeBegan',
  'timeEnded',
  'error',
];

function validateQuarantine(value: unknown, p: string): void {
  const keys: Array<keyof QuarantineSpec> = [
    'reason',
    'errorCode',
    'errorMessage',
    'tenantActionable',
    'currentBegan',
    'seriesBegan',
    'seriesCount',
    'nextAttempt',
  ];
  const q = obj(value, p, keys);
  str(q.reason, `${p}.reason`);
  optStr(q.errorCode, `${p}.errorCode`);
  if (q.errorMessage !== undefined && typeof q.errorMessage !== 'string')
    throw new ScenarioError(`${p}.errorMessage: expected a string`);
  if (q.tenantActionable !== undefined && typeof q.tenantActionable !== 'boolean')
    throw new ScenarioError(`${p}.tenantActionable: expected a boolean`);
  for (const key of ['currentBegan', 'seriesBegan', 'nextAttempt'] as const) {
    if (q[key] !== undefined && (typeof q[key] !== 'string' || Number.isNaN(Date.parse(q[key] as string)))) {
      throw new ScenarioError(`${p}.${key}: expected an ISO 8601 date-time`);
    }
  }
  if (
    q.seriesCount !== undefined &&
    (typeof q.seriesCount !== 'number' || !Number.isInteger(q.seriesCount) || q.seriesCount < 1)
  ) {
    throw new ScenarioError(`${p}.seriesCount: expected an integer >= 1`);
  }
}

function obj(value: unknown, p: string, keys?: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ScenarioError(`${p}: expected an object`);
  const o = value as Record<string, unknown>;
  if (keys) {
    for (const key of Object.keys(o)) {
      if (!keys.includes(key))
        throw new ScenarioError(`${p}.${key}: unknown field (expected one of ${keys.join(', ')})`);
    }
  }
  return o;
}

function arr(value: unknown, p: string): unknown[] {
  if (!Array.isArray(value)) throw new ScenarioError(`${p}: expected an array`);
  return value;
}

function str(value: unknown, p: string): void {
  if (typeof value !== 'string' || value === '') throw new ScenarioError(`${p}: expected a non-empty string`);
}

function optStr(value: unknown, p: string): void {
  if (value !== undefined) str(value, p);
}

function strArr(value: unknown, p: string): void {
  arr(value, p).forEach((v, i) => str(v, `${p}[${i}]`));
}

function guid(value: unknown, p: string): void {
  if (typeof value !== 'string' || !GUID.test(value))
    throw new ScenarioError(`${p}: expected a GUID, got ${JSON.stringify(value)}`);
}

function oneOf(value: unknown, allowed: readonly string[], p: string): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new ScenarioError(`${p}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
}

/** A tenant's domain names: the scenario's, else its initial domain `<display name>.onmicrosoft.com`. */
export function domainsOf(tenant: Pick<TenantSpec, 'displayName' | 'domains'>): string[] {
  if (tenant.domains) return tenant.domains.map((d) => d.toLowerCase());
  const initial = tenant.displayName.toLowerCase().replace(/[^a-z0-9]+/g, '');
  return initial ? [`${initial}.onmicrosoft.com`] : [];
}
