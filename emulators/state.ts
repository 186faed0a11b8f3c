import { AppCredentials, type ClientAuth, type FederatedCredential } from './app-credentials';
import { FaultQueue, validateFault, type Fault, type RequestLogEntry } from './faults';
import { CROSS_TENANT_SYNC_TEMPLATE_ID, guidFrom, jobIdFor, shortDurationMs, type JobSpec } from './jobs';
import {
  domainsOf,
  LICENCES,
  SECRETS_POLICIES,
  ScenarioError,
  validateJobSpec,
  SYNC_WRITE_DENIALS,
  type Licence,
  type Scenario,
  type SecretsPolicy,
  type SyncWriteDenial,
  type TenantSpec,
  validatePeople,
  validateRedirectUris,
  type PersonSpec,
} from './scenario';
import {
  ProvisioningEventLog,
  validateEventSpec,
  validateLogQueryModes,
  type LogQueryModes,
  type ProvisioningEventSpec,
} from './provisioning-logs';
import { DEFAULT_GRAPH_LIMITS, GraphThrottle, ReportsLimits, type GraphLimits } from './throttle';
import { restartOutcome, validateOnDemandConfig, type OnDemandConfig, type ResetScope } from './job-actions';
import { ReportsRateLimiter } from './provisioning-logs';

/**
 * The mutable world of the local private cloud: tenants, grants, consent, jobs, injected faults,
 * the timeline position and the logs. Shared by the authority and the Graph emulator; `control`
 * (in process, or over HTTPS under `/_emulator/`) changes it.
 */

export interface JobEntry {
  spec: JobSpec;
  /** When the job entered its current state (anchors the invented timestamps of its payload). */
  changedAt: number;
  /** A restart Graph accepted that the job's next run carries out (scopes of every restart since, merged). */
  pendingRestart?: { scopes: ResetScope[]; requestedAt: number };
}

/** A restart or provisionOnDemand call, as the Graph emulator answered it (faulted ones included). */
export interface JobActionRecord {
  at: string;
  action: 'restart' | 'provisionOnDemand';
  tenantId: string;
  servicePrincipalId: string;
  jobId: string;
  /** HTTP status answered (204 for an accepted restart, 200 for provisionOnDemand). */
  status: number;
  /** restart: `criteria.resetScope` as sent ('' when empty or absent). */
  resetScope?: string;
  /** restart: the scopes it asked for (empty and Full expanded), when the body was valid. */
  scopes?: ResetScope[];
  /** provisionOnDemand: the rule and the subject. */
  ruleId?: string;
  subject?: { objectId: string; objectTypeName: string };
  /** `result` of an on-demand answer: Success, Failure, Skipped. */
  result?: string;
  /** The answer came from an injected fault. */
  faulted?: boolean;
  /** `request-id` of the enclosing `$batch`, for a call made inside one. */
  batchId?: string;
}

/** What a job's run did with a restart. */
export interface JobRun {
  tenantId: string;
  jobId: string;
  scopes: ResetScope[];
  /** The job's state after the run. */
  state: string;
  /** Held deletions let through (ForceDeletes): delete events added to the provisioning logs. */
  deleted: number;
}

export interface ServicePrincipalState {
  id: string;
  appId: string;
  displayName: string;
  applicationTemplateId: string | null;
  jobs: JobEntry[];
  /** Synchronization secrets as `GET …/synchronization/secrets` lists them (key order kept). */
  secrets: { key: string; value: string }[];
  /** How reading the secrets answers; undefined: the tenant's policy. */
  secretsPolicy?: SecretsPolicy;
}

export interface TenantState {
  id: string;
  displayName: string;
  consented: boolean;
  grants: string[];
  servicePrincipals: ServicePrincipalState[];
  /** Entra ID licence: without P1/P2 the provisioning logs answer 403. */
  licence: Licence;
  /** How `GET …/synchronization/secrets` answers unless a service principal says otherwise. */
  secretsPolicy: SecretsPolicy;
  /** How `/auditLogs/provisioning` departs from the documented query options. */
  provisioningLogs: LogQueryModes;
  /** How a synchronization write without Synchronization.ReadWrite.All is refused. */
  syncWriteDenied: SyncWriteDenial;
  /** What provisionOnDemand answers. */
  provisionOnDemand: OnDemandConfig;
  /** The people the authority signs in (ids resolved). */
  people: Person[];
  /** Verified domain names (lower case): the authority resolves them to this tenant. */
  domains: string[];
}

/** A person the authority signs in, as the scenario gives them, with their object id resolved. */
export interface Person {
  id: string;
  upn: string;
  name: string;
  roles: string[];
  groups: string[];
}

export interface TokenRequestRecord {
  at: string;
  /** Tenant segment of the token URL, lower-cased. */
  tenantId: string;
  clientId?: string;
  scope?: string;
  grantType?: string;
  /** HTTP status of the answer (200 = token issued). */
  status: number;
  /** `error` of the answer (e.g. `invalid_client`), absent on success. */
  error?: string;
  /** How the client proved itself, when it did: a secret, a certificate-signed assertion, a federated token. */
  clientAuth?: ClientAuth;
  /** The signed-in person's UPN, for an authorization code redeemed (or refused after it was found). */
  user?: string;
}

/** Driving the cloud from a test or a demo. The same operations exist over HTTPS under `/_emulator/`. */
export interface EmulatorControl {
  /** Applies the next timeline step, or the named one; returns its name. Throws past the end / for an unknown name. */
  step(name?: string): string;
  /** Replaces fields of a job (fields not given are kept). Throws for an unknown tenant or job. */
  setJob(tenantId: string, jobId: string, spec: Partial<Omit<JobSpec, 'id'>>): void;
  /** Adds a job to a service principal (a configuration provisioned after the scenario started). Throws for an unknown one or a duplicate id. */
  addJob(tenantId: string, servicePrincipalId: string, spec: JobSpec): void;
  /** Deletes a job (a configuration removed in Entra): its service principal lists it no more. Returns its spec, for addJob. */
  removeJob(tenantId: string, jobId: string): JobSpec;
  /** Replaces the application permissions granted in a tenant (new tokens carry them; removals apply at once). */
  setGrants(tenantId: string, roles: string[]): void;
  /** Grants or withdraws admin consent (the app's service principal) in a tenant. */
  setConsented(tenantId: string, consented: boolean): void;
  /** Replaces a service principal's synchronization secrets (objects become JSON text, `now+10d` a time from now). */
  setSecrets(
    tenantId: string,
    servicePrincipalId: string,
    secrets: Record<string, string | Record<string, unknown>>,
  ): void;
  /** The emulator's clock (ms), which anchors the times of running jobs. */
  now(): number;
  injectFault(fault: Fault): void;
  /** Faults still queued, with the remaining count in `times`. */
  pendingFaults(): Fault[];
  /** Every Graph request answered since start/reset (inner `$batch` requests included, with `batchId`). */
  requestLog(): RequestLogEntry[];
  /** Every token request the authority answered since start/reset. */
  tokenRequests(): TokenRequestRecord[];
  /** Empties the request and token logs only. */
  clearLogs(): void;
  /** Back to the scenario as loaded: jobs, grants, consent, timeline position, faults and logs. */
  reset(): void;
  /** Names of the timeline steps and how many were applied. */
  timeline(): { steps: string[]; applied: string[]; next: string | null };
  /** Adds a certificate (PEM) to the app registration: client assertions signed with its key are accepted. */
  addAppCertificate(pem: string): void;
  /** Adds a federated identity credential to the app registration (e.g. a managed identity's issuer and subject). */
  addFederatedCredential(credential: FederatedCredential): void;
  /** Adds provisioning events to a tenant's logs (times relative to now); returns how many. */
  addProvisioningEvents(tenantId: string, specs: ProvisioningEventSpec[]): number;
  /** Whether a tenant has Entra ID P1/P2 (the provisioning logs answer 403 without): `false` is licence `free`, `true` keeps a P1/P2 (else `p1`). */
  setPremium(tenantId: string, premium: boolean): void;
  /** A tenant's Entra ID licence: `free`, `p1` or `p2`. */
  setLicence(tenantId: string, licence: Licence): void;
  /**
   * How `GET …/synchronization/secrets` answers: `allowed`, `403`, `404` or `400`; for one service principal
   * when `servicePrincipalId` is given (`null` then returns it to the tenant's policy).
   */
  setSecretsPolicy(tenantId: string, policy: SecretsPolicy | null, servicePrincipalId?: string): void;
  /** How the tenant's `/auditLogs/provisioning` treats `$filter` on status and `$top` (fields not given: `supported`). */
  setProvisioningLogModes(tenantId: string, modes: LogQueryModes): void;
  /** How a restart or provisionOnDemand without Synchronization.ReadWrite.All is refused: `401` (default) or `403`. */
  setSyncWriteDenied(tenantId: string, denial: SyncWriteDenial): void;
  /** What provisionOnDemand answers in a tenant (replaces the scenario's `provisionOnDemand`). */
  setProvisionOnDemand(tenantId: string, config: OnDemandConfig): void;
  /**
   * Runs every job that has a restart pending (the restart's effects: quarantine lifted or tripped again, escrows
   * cleared, held deletes let through). `step()` does it first, as time passing runs the jobs.
   */
  runJobs(): JobRun[];
  /** Every restart and provisionOnDemand call since start/reset/clearLogs, oldest first. */
  jobActions(action?: JobActionRecord['action']): JobActionRecord[];
  /**
   * An admin fixed the cause of a deletion-threshold trip (the objects are back in scope): the job's held deletions
   * (stagedDelete events) will not run, and a restart that lifts the quarantine then recovers the job. Returns how many.
   */
  withdrawHeldDeletes(tenantId: string, jobId: string): number;
  /** How many of a job's deletions are held (stagedDelete events neither let through nor withdrawn). */
  heldDeletes(tenantId: string, jobId: string): number;
  /** Replaces the people the authority signs in for a tenant (validated like the scenario's `people`). */
  setPeople(tenantId: string, people: PersonSpec[]): void;
  /** Replaces the app registration's redirect URIs (the scenario's `app.redirectUris`). */
  setRedirectUris(uris: string[]): void;
  /** Replaces Graph's latency and rate limits (emulators/throttle.ts); fields not given take their defaults. */
  setGraphLimits(limits: GraphLimits): void;
  /** Requests answered 429 by the rate limits (not by injected faults) since start/reset/clearLogs: identity and access, reports. */
  throttledCounts(): { identity: number; reports: number };
  /**
   * A fault of the authority: tokens asked for `forTenant` are issued as tokens of `asTenant` (its
   * tid, issuer and grants), the way a managed identity answers for its home tenant whatever tenant
   * is asked. Until reset().
   */
  issueTokensAs(forTenant: string, asTenant: string): void;
}

export class CloudState implements EmulatorControl {
  readonly scenario: Scenario;
  readonly faults = new FaultQueue();
  /** The app registration's certificates and federated credentials (the secret is in the scenario). */
  readonly appCredentials = new AppCredentials();
  /** Every tenant's provisioning events (Graph `/auditLogs/provisioning`, Log Analytics `AADProvisioningLogs`). */
  readonly provisioningLog = new ProvisioningEventLog();
  readonly reportsLimiter: ReportsLimits;
  /** Graph's latency and its identity-and-access limits (emulators/throttle.ts). */
  readonly throttle: GraphThrottle;
  private tenants = new Map<string, TenantState>();
  /** issueTokensAs: asked tenant ID → the tenant ID its tokens carry. */
  private misissued = new Map<string, string>();
  /** provisionOnDemand: "The rate limit for this API is 5 requests per 10 seconds" (its v1.0 page), per tenant. */
  readonly onDemandLimiter = new ReportsRateLimiter(5, 10_000);
  private log: RequestLogEntry[] = [];
  private tokens: TokenRequestRecord[] = [];
  private actions: JobActionRecord[] = [];
  /** The app registration's web redirect URIs (scenario `app.redirectUris`). */
  redirectUris: string[] = [];
  private nextStep = 0;
  private applied: string[] = [];

  constructor(
    scenario: Scenario,
    private readonly clock: () => number = Date.now,
  ) {
    this.scenario = scenario;
    const limit = scenario.reportsRateLimit;
    this.reportsLimiter = new ReportsLimits(
      limit?.requests ?? 5,
      (limit?.windowSeconds ?? 10) * 1000,
      scenario.graphLimits?.reportsPerApp,
    );
    this.throttle = new GraphThrottle(scenario.graphLimits);
    this.load();
  }

  get app(): { clientId: string; clientSecret: string } {
    return this.scenario.app;
  }

  /** A tenant by its ID or one of its domain names. */
  tenant(idOrDomain: string): TenantState | undefined {
    const key = idOrDomain.toLowerCase();
    return this.tenants.get(key) ?? [...this.tenants.values()].find((t) => t.domains.includes(key));
  }

  /** The tenant whose tokens are issued when `tenantId`'s are asked for (issueTokensAs), if another. */
  tokensIssuedAs(tenantId: string): TenantState | undefined {
    const as = this.misissued.get(tenantId.toLowerCase());
    return as === undefined ? undefined : this.tenant(as);
  }

  issueTokensAs(forTenant: string, asTenant: string): void {
    const from = this.requireTenant(forTenant);
    this.misissued.set(from.id.toLowerCase(), this.requireTenant(asTenant).id);
  }

  tenantIds(): string[] {
    return [...this.tenants.keys()];
  }

  recordRequest(entry: RequestLogEntry): void {
    this.log.push(entry);
  }

  recordToken(entry: TokenRequestRecord): void {
    this.tokens.push(entry);
  }

  // --- control -------------------------------------------------------------------------------

  step(name?: string): string {
    const steps = this.scenario.timeline ?? [];
    let index: number;
    if (name === undefined) {
      if (this.nextStep >= steps.length) {
        throw new Error(
          `timeline: no more steps (${steps.length} step(s), all applied: ${this.applied.join(', ') || 'none'})`,
        );
      }
      index = this.nextStep;
    } else {
      index = steps.findIndex((s) => s.name === name);
      if (index < 0)
        throw new Error(
          `timeline: no step named ${JSON.stringify(name)} (steps: ${steps.map((s) => s.name).join(', ')})`,
        );
    }
    const step = steps[index]!;
    // Time passes between steps: jobs run, and a restart accepted since takes effect before the step's own changes.
    this.runJobs();
    for (const change of step.changes) {
      if ('fault' in change) this.injectFault(change.fault);
      else if ('withdrawHeldDeletes' in change) this.withdrawHeldDeletes(change.tenant, change.job);
      else if ('set' in change) this.setJob(change.tenant, change.job, change.set);
      else if ('grants' in change) this.setGrants(change.tenant, change.grants);
      else if ('secrets' in change) this.setSecrets(change.tenant, change.servicePrincipal, change.secrets);
      else if ('provisioningEvents' in change) this.addProvisioningEvents(change.tenant, change.provisioningEvents);
      else if ('licence' in change) this.setLicence(change.tenant, change.licence);
      else if ('secretsPolicy' in change)
        this.setSecretsPolicy(change.tenant, change.secretsPolicy, change.servicePrincipal);
      else if ('provisioningLogs' in change) this.setProvisioningLogModes(change.tenant, change.provisioningLogs);
      else this.setConsented(change.tenant, change.consented);
    }
    this.nextStep = index + 1;
    this.applied.push(step.name);
    return step.name;
  }

  setJob(tenantId: string, jobId: string, spec: Partial<Omit<JobSpec, 'id'>>): void {
    try {
      validateJobSpec(spec, 'job', true);
    } catch (error) {
      throw new Error((error as ScenarioError).message);
    }
    const entry = this.findJob(tenantId, jobId);
    const previous = entry.spec;
    const now = this.clock();
    const next: JobSpec = { ...previous, ...spec, id: previous.id };
    // A quarantine ends when the job recovers; when Entra disables the job it keeps the last error (state `disabled`).
    if (
      spec.state !== undefined &&
      spec.state !== 'quarantined' &&
      spec.state !== 'disabled' &&
      spec.quarantine === undefined
    )
      delete next.quarantine;
    if (spec.state !== undefined && spec.raw === undefined && spec.state !== previous.state) delete next.raw;
    entry.spec = resolveQuarantine(next, previous, now);
    entry.changedAt = now;
  }

  removeJob(tenantId: string, jobId: string): JobSpec {
    const entry = this.findJob(tenantId, jobId);
    for (const sp of this.requireTenant(tenantId).servicePrincipals) sp.jobs = sp.jobs.filter((j) => j !== entry);
    return structuredClone(entry.spec);
  }

  addJob(tenantId: string, servicePrincipalId: string, spec: JobSpec): void {
    try {
      validateJobSpec(spec, 'job', false);
    } catch (error) {
      throw new Error((error as ScenarioError).message);
    }
    const tenant = this.requireTenant(tenantId);
    const sp = tenant.servicePrincipals.find((s) => s.id === servicePrincipalId.toLowerCase());
    if (!sp) throw new Error(`no service principal ${servicePrincipalId} in tenant ${tenantId}`);
    if (tenant.servicePrincipals.some((s) => s.jobs.some((j) => j.spec.id === spec.id)))
      throw new Error(`job ${spec.id} already exists in tenant ${tenantId}`);
    const now = this.clock();
    sp.jobs.push({ spec: resolveQuarantine(structuredClone(spec), undefined, now), changedAt: now });
  }

  setGrants(tenantId: string, roles: string[]): void {
    if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string'))
      throw new Error('grants: expected an array of strings');
    this.requireTenant(tenantId).grants = [...roles];
  }

  setConsented(tenantId: string, consented: boolean): void {
    if (typeof consented !== 'boolean') throw new Error('consented: expected a boolean');
    this.requireTenant(tenantId).consented = consented;
  }

  setSecrets(
    tenantId: string,
    servicePrincipalId: string,
    secrets: Record<string, string | Record<string, unknown>>,
  ): void {
    if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets))
      throw new Error('secrets: expected an object of key: value');
    const sp = this.requireTenant(tenantId).servicePrincipals.find((s) => s.id === servicePrincipalId.toLowerCase());
    if (!sp) throw new Error(`no service principal ${servicePrincipalId} in tenant ${tenantId}`);
    sp.secrets = secretList(secrets, this.clock());
  }

  now(): number {
    return this.clock();
  }

  addProvisioningEvents(tenantId: string, specs: ProvisioningEventSpec[]): number {
    const tenant = this.requireTenant(tenantId);
    const jobs = new Map(tenant.servicePrincipals.flatMap((sp) => sp.jobs.map((j) => [j.spec.id, sp] as const)));
    if (!Array.isArray(specs)) throw new Error('provisioningEvents: expected a list of event batches');
    specs.forEach((spec, i) => validateEventSpec(spec, `provisioningEvents[${i}]`, new Set(jobs.keys())));
    const now = this.clock();
    let added = 0;
    for (const spec of specs) {
      const sp = jobs.get(spec.job) as ServicePrincipalState;
      added += this.provisioningLog.add(
        spec,
        {
          tenantId: tenant.id,
          tenantName: tenant.displayName,
          servicePrincipal: { id: sp.id, appId: sp.appId, displayName: sp.displayName },
          jobId: spec.job,
        },
        now,
      );
    }
    return added;
  }

  setPremium(tenantId: string, premium: boolean): void {
    if (typeof premium !== 'boolean') throw new Error('premium: expected a boolean');
    const tenant = this.requireTenant(tenantId);
    if (!premium) tenant.licence = 'free';
    else if (tenant.licence === 'free') tenant.licence = 'p1';
  }

  setLicence(tenantId: string, licence: Licence): void {
    if (!(LICENCES as readonly unknown[]).includes(licence))
      throw new Error(`licence: expected one of ${LICENCES.join(', ')}, got ${JSON.stringify(licence)}`);
    this.requireTenant(tenantId).licence = licence;
  }

  setSecretsPolicy(tenantId: string, policy: SecretsPolicy | null, servicePrincipalId?: string): void {
    if (policy !== null && !(SECRETS_POLICIES as readonly unknown[]).includes(policy))
      throw new Error(`secretsPolicy: expected one of ${SECRETS_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
    const tenant = this.requireTenant(tenantId);
    if (servicePrincipalId === undefined) {
      if (policy === null) throw new Error('secretsPolicy: null (inherit the tenant policy) needs a service principal');
      tenant.secretsPolicy = policy;
      return;
    }
    const sp = tenant.servicePrincipals.find((s) => s.id === servicePrincipalId.toLowerCase());
    if (!sp) throw new Error(`no service principal ${servicePrincipalId} in tenant ${tenantId}`);
    if (policy === null) delete sp.secretsPolicy;
    else sp.secretsPolicy = policy;
  }

  setPeople(tenantId: string, people: PersonSpec[]): void {
    try {
      validatePeople(people, 'people');
    } catch (error) {
      throw new Error((error as ScenarioError).message);
    }
    const tenant = this.requireTenant(tenantId);
    tenant.people = resolvePeople(tenant.id, people);
  }

  setRedirectUris(uris: string[]): void {
    try {
      validateRedirectUris(uris, 'redirectUris');
    } catch (error) {
      throw new Error((error as ScenarioError).message);
    }
    this.redirectUris = [...uris];
  }

  setSyncWriteDenied(tenantId: string, denial: SyncWriteDenial): void {
    if (!(SYNC_WRITE_DENIALS as readonly unknown[]).includes(denial))
      throw new Error(
        `syncWriteDenied: expected one of ${SYNC_WRITE_DENIALS.join(', ')}, got ${JSON.stringify(denial)}`,
      );
    this.requireTenant(tenantId).syncWriteDenied = denial;
  }

  setProvisionOnDemand(tenantId: string, config: OnDemandConfig): void {
    validateOnDemandConfig(config, 'provisionOnDemand');
    this.requireTenant(tenantId).provisionOnDemand = structuredClone(config);
  }

  /** Graph accepted a restart of a job: it takes effect at the job's next run (runJobs). */
  requestRestart(tenantId: string, jobId: string, scopes: ResetScope[]): void {
    const entry = this.findJob(tenantId, jobId);
    const merged = new Set([...(entry.pendingRestart?.scopes ?? []), ...scopes]);
    entry.pendingRestart = { scopes: [...merged], requestedAt: entry.pendingRestart?.requestedAt ?? this.clock() };
  }

  withdrawHeldDeletes(tenantId: string, jobId: string): number {
    const tenant = this.requireTenant(tenantId);
    this.findJob(tenant.id, jobId);
    return this.provisioningLog.withdrawHeldDeletes(tenant.id, jobId);
  }

  heldDeletes(tenantId: string, jobId: string): number {
    const tenant = this.requireTenant(tenantId);
    this.findJob(tenant.id, jobId);
    return this.provisioningLog.heldDeletes(tenant.id, jobId);
  }

  recordJobAction(record: JobActionRecord): void {
    this.actions.push(record);
  }

  jobActions(action?: JobActionRecord['action']): JobActionRecord[] {
    return this.actions.filter((a) => action === undefined || a.action === action).map((a) => structuredClone(a));
  }

  runJobs(): JobRun[] {
    const runs: JobRun[] = [];
    for (const tenant of this.tenants.values()) {
      for (const sp of tenant.servicePrincipals) {
        for (const entry of sp.jobs) {
          const pending = entry.pendingRestart;
          if (!pending) continue;
          delete entry.pendingRestart;
          runs.push(this.runRestart(tenant, entry, pending.scopes));
        }
      }
    }
    return runs;
  }

  /** One job's run after a restart: its state per restartOutcome, and the held deletions it lets through. */
  private runRestart(tenant: TenantState, entry: JobEntry, scopes: ResetScope[]): JobRun {
    const outcome = restartOutcome(entry.spec, scopes, this.provisioningLog.heldDeletes(tenant.id, entry.spec.id));
    const now = this.clock();
    let deleted = 0;
    if (outcome.releaseHeldDeletes) {
      for (const held of this.provisioningLog.takeHeldDeletes(tenant.id, entry.spec.id)) {
        const {
          minutesAgo: _minutesAgo,
          spreadMinutes: _spread,
          cycleId: _cycle,
          status: _status,
          ...rest
        } = held.spec;
        deleted += this.provisioningLog.add({ ...rest, action: 'delete', status: 'success' }, held.owner, now);
      }
    }
    const previous = entry.spec;
    if (outcome.next === 'healthy') {
      // A fresh run: the error, the escrows and the failure counts of the old state are gone.
      const { quarantine: _q, raw: _raw, lastExecution: _last, successiveFailures: _fails, ...kept } = previous;
      entry.spec = { ...kept, state: 'healthy' };
      entry.changedAt = now;
    } else if (outcome.next === 'requarantined' && previous.quarantine) {
      // Lifted, then tripped again by the next run: the same series, counted up, a new currentBegan.
      const { currentBegan: _began, seriesCount: _count, nextAttempt: _next, ...q } = previous.quarantine;
      entry.spec = resolveQuarantine({ ...previous, quarantine: q }, previous, now);
      entry.changedAt = now;
    }
    return { tenantId: tenant.id, jobId: entry.spec.id, scopes, state: entry.spec.state, deleted };
  }

  setProvisioningLogModes(tenantId: string, modes: LogQueryModes): void {
    validateLogQueryModes(modes, 'provisioningLogs');
    this.requireTenant(tenantId).provisioningLogs = { ...modes };
  }

  setGraphLimits(limits: GraphLimits): void {
    this.throttle.configure(limits);
    this.reportsLimiter.setPerApp(limits.reportsPerApp ?? DEFAULT_GRAPH_LIMITS.reportsPerApp);
  }

  throttledCounts(): { identity: number; reports: number } {
    return { identity: this.throttle.throttled, reports: this.reportsLimiter.throttled };
  }

  injectFault(fault: Fault): void {
    validateFault(fault, 'fault');
    this.faults.inject(fault);
  }

  pendingFaults(): Fault[] {
    return this.faults.pending();
  }

  requestLog(): RequestLogEntry[] {
    return this.log.map((e) => ({ ...e }));
  }

  tokenRequests(): TokenRequestRecord[] {
    return this.tokens.map((e) => ({ ...e }));
  }

  clearLogs(): void {
    this.log = [];
    this.tokens = [];
    this.actions = [];
    this.throttle.throttled = 0;
    this.reportsLimiter.throttled = 0;
  }

  reset(): void {
    this.load();
    this.appCredentials.clear();
  }

  addAppCertificate(pem: string): void {
    this.appCredentials.addCertificate(pem);
  }

  addFederatedCredential(credential: FederatedCredential): void {
    this.appCredentials.addFederatedCredential(credential);
  }

  timeline(): { steps: string[]; applied: string[]; next: string | null } {
    const steps = (this.scenario.timeline ?? []).map((s) => s.name);
    return { steps, applied: [...this.applied], next: steps[this.nextStep] ?? null };
  }

  // --- internals -----------------------------------------------------------------------------

  private load(): void {
    const now = this.clock();
    this.tenants = new Map(this.scenario.tenants.map((t) => [t.id.toLowerCase(), buildTenant(t, now)]));
    this.misissued.clear();
    this.faults.clear();
    this.provisioningLog.clear();
    this.reportsLimiter.clear();
    this.throttle.clear();
    this.onDemandLimiter.clear();
    this.actions = [];
    this.redirectUris = [...(this.scenario.app.redirectUris ?? [])];
    for (const t of this.scenario.tenants)
      if (t.provisioningEvents) this.addProvisioningEvents(t.id, t.provisioningEvents);
    this.log = [];
    this.tokens = [];
    this.nextStep = 0;
    this.applied = [];
  }

  private requireTenant(tenantId: string): TenantState {
    const tenant = this.tenant(tenantId);
    if (!tenant) throw new Error(`no tenant ${tenantId} (tenants: ${this.tenantIds().join(', ')})`);
    return tenant;
  }

  private findJob(tenantId: string, jobId: string): JobEntry {
    const tenant = this.requireTenant(tenantId);
    for (const sp of tenant.servicePrincipals) {
      const entry = sp.jobs.find((j) => j.spec.id === jobId);
      if (entry) return entry;
    }
    throw new Error(`no job ${jobId} in tenant ${tenantId}`);
  }
}

/**
 * Secrets as Graph lists them: objects as JSON text, `now±<n><unit>` as an ISO time, credential values masked as
 * the support wiki shows a read-back password (`*`, reference §1.14 [C6]).
 */
function secretList(
  secrets: Record<string, string | Record<string, unknown>>,
  now: number,
): { key: string; value: string }[] {
  return Object.entries(secrets).map(([key, value]) => {
    if (typeof value !== 'string') return { key, value: JSON.stringify(value) };
    if (/^(SecretToken|ClientSecret|Password)$/i.test(key)) return { key, value: '*' };
    const relative = /^now([+-])(.+)$/.exec(value);
    const offset = relative ? shortDurationMs(relative[2] as string) : undefined;
    if (relative && offset !== undefined)
      return { key, value: new Date(now + (relative[1] === '-' ? -offset : offset)).toISOString() };
    return { key, value };
  });
}

/** What a configuration that owns jobs has unless the scenario says otherwise: Entra's email on, deletion prevention on. */
function defaultSecrets(tenant: TenantSpec): Record<string, string | Record<string, unknown>> {
  const domain = tenant.displayName.toLowerCase().replace(/[^a-z0-9]+/g, '');
  return {
    SyncNotificationSettings: {
      Enabled: true,
      Recipients: `identity-ops@${domain}.example`,
      DeleteThresholdEnabled: true,
      DeleteThresholdValue: 500,
    },
  };
}

function buildTenant(t: TenantSpec, now: number): TenantState {
  const servicePrincipals: ServicePrincipalState[] = t.servicePrincipals.map((sp) => ({
    id: sp.id.toLowerCase(),
    appId: sp.appId.toLowerCase(),
    displayName: sp.displayName,
    applicationTemplateId: sp.applicationTemplateId ?? null,
    jobs: sp.jobs.map((spec) => ({ spec: resolveQuarantine(structuredClone(spec), undefined, now), changedAt: now })),
    secrets: secretList(sp.secrets ?? (sp.jobs.length > 0 ? defaultSecrets(t) : {}), now),
    ...(sp.secretsPolicy ? { secretsPolicy: sp.secretsPolicy } : {}),
  }));
  const generated = t.generated;
  if (generated) {
    for (let i = 0; i < generated.count; i++) {
      const id = guidFrom(`sp:${t.id}:${i}`);
      servicePrincipals.push({
        id,
        appId: guidFrom(`app:${t.id}:${i}`),
        displayName: `${generated.displayNamePrefix ?? 'Sync'} ${String(i + 1).padStart(3, '0')}`,
        applicationTemplateId: CROSS_TENANT_SYNC_TEMPLATE_ID,
        jobs: [
          {
            spec: {
              id: jobIdFor('Azure2Azure', t.id, id),
              templateId: 'Azure2Azure',
              state: generated.state ?? 'healthy',
            },
            changedAt: now,
          },
        ],
        secrets: secretList(defaultSecrets(t), now),
      });
    }
    for (let i = 0; i < (generated.plainApps ?? 0); i++) {
      const id = guidFrom(`plain:${t.id}:${i}`);
      servicePrincipals.push({
        id,
        appId: guidFrom(`plain-app:${t.id}:${i}`),
        displayName: `Microsoft App ${String(i + 1).padStart(4, '0')}`,
        applicationTemplateId: null,
        jobs: [],
        secrets: [],
      });
    }
    for (let i = 0; i < (generated.ssoApps ?? 0); i++) {
      const id = guidFrom(`sso:${t.id}:${i}`);
      servicePrincipals.push({
        id,
        appId: guidFrom(`sso-app:${t.id}:${i}`),
        displayName: `Gallery SSO App ${String(i + 1).padStart(3, '0')}`,
        applicationTemplateId: guidFrom(`sso-template:${i}`),
        jobs: [],
        secrets: [],
      });
    }
  }
  return {
    id: t.id.toLowerCase(),
    displayName: t.displayName,
    consented: t.consented ?? true,
    grants: [...t.grants],
    servicePrincipals,
    licence: t.licence ?? (t.premium === false ? 'free' : 'p1'),
    secretsPolicy: t.secretsPolicy ?? 'allowed',
    provisioningLogs: { ...t.provisioningLogs },
    syncWriteDenied: t.syncWriteDenied ?? '401',
    provisionOnDemand: structuredClone(t.provisionOnDemand ?? {}),
    people: resolvePeople(t.id.toLowerCase(), t.people ?? []),
    domains: domainsOf(t),
  };
}

function resolvePeople(tenantId: string, people: PersonSpec[]): Person[] {
  return people.map((p) => ({
    id: (p.id ?? guidFrom(`person:${tenantId}:${p.upn.toLowerCase()}`)).toLowerCase(),
    upn: p.upn,
    name: p.name,
    roles: [...(p.roles ?? [])],
    groups: (p.groups ?? []).map((g) => g.toLowerCase()),
  }));
}

/**
 * Pins the quarantine times of a (newly) quarantined job so later polls see the same payload:
 * currentBegan = now - 10 min; a job that stays quarantined keeps its seriesBegan and counts the
 * series up, as the service does when it re-evaluates a quarantine.
 */
function resolveQuarantine(spec: JobSpec, previous: JobSpec | undefined, now: number): JobSpec {
  if (spec.state !== 'quarantined') return spec;
  const q = { reason: 'EncounteredQuarantineException', ...spec.quarantine };
  const prevQ = previous?.state === 'quarantined' ? previous.quarantine : undefined;
  const currentBegan = q.currentBegan ?? new Date(now - 10 * 60_000).toISOString();
  return {
    ...spec,
    quarantine: {
      ...q,
      currentBegan,
      seriesBegan: q.seriesBegan ?? prevQ?.seriesBegan ?? currentBegan,
      seriesCount: q.seriesCount ?? (prevQ ? (prevQ.seriesCount ?? 1) + 1 : 1),
    },
  };
}
