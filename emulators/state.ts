import { AppCredentials, type ClientAuth, type FederatedCredential } from './app-credentials';
import { FaultQueue, validateFault, type Fault, type RequestLogEntry } from './faults';
import { CROSS_TENANT_SYNC_TEMPLATE_ID, guidFrom, jobIdFor, shortDurationMs, type JobSpec } from './jobs';
import { domainsOf, ScenarioError, validateJobSpec, type Scenario, type TenantSpec } from './scenario';
import { ProvisioningEventLog, validateEventSpec, type ProvisioningEventSpec } from './provisioning-logs';
import { DEFAULT_GRAPH_LIMITS, GraphThrottle, ReportsLimits, type GraphLimits } from './throttle';

/**
 * The mutable world of the local private cloud: tenants, grants, consent, jobs, injected faults,
 * the timeline position and the logs. Shared by the authority and the Graph emulator; `control`
 * (in process, or over HTTPS under `/_emulator/`) changes it.
 */

export interface JobEntry {
  spec: JobSpec;
  /** When the job entered its current state (anchors the invented timestamps of its payload). */
  changedAt: number;
}

export interface ServicePrincipalState {
  id: string;
  appId: string;
  displayName: string;
  applicationTemplateId: string | null;
  jobs: JobEntry[];
  /** Synchronization secrets as `GET …/synchronization/secrets` lists them (key order kept). */
  secrets: { key: string; value: string }[];
}

export interface TenantState {
  id: string;
  displayName: string;
  consented: boolean;
  grants: string[];
  servicePrincipals: ServicePrincipalState[];
  /** Entra ID P1/P2: without it the provisioning logs answer 403. */
  premium: boolean;
  /** Verified domain names (lower case): the authority resolves them to this tenant. */
  domains: string[];
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
  /** Whether a tenant has Entra ID P1/P2 (the provisioning logs answer 403 without). */
  setPremium(tenantId: string, premium: boolean): void;
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
  private log: RequestLogEntry[] = [];
  private tokens: TokenRequestRecord[] = [];
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
    for (const change of step.changes) {
      if ('fault' in change) this.injectFault(change.fault);
      else if ('set' in change) this.setJob(change.tenant, change.job, change.set);
      else if ('grants' in change) this.setGrants(change.tenant, change.grants);
      else if ('secrets' in change) this.setSecrets(change.tenant, change.servicePrincipal, change.secrets);
      else if ('provisioningEvents' in change) this.addProvisioningEvents(change.tenant, change.provisioningEvents);
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
    this.requireTenant(tenantId).premium = premium;
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
    premium: t.premium ?? true,
    domains: domainsOf(t),
  };
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
