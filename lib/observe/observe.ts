import { MalformedGraphResponse, type GraphReader } from '../clients/graph';
import type { DiscoveryCache, DiscoverySnapshot, KnownServicePrincipal } from '../store/discovery-store';
import { readInBatches, type BatchReadOptions, type ReadOutcome } from './batch-reads';
import { DEFAULT_MAX_PAGES, listServicePrincipals, sweepDue } from './discovery';
import { classifyError, graphErrorBody, problemFromStatus } from './errors';
import { InvalidGraphData, normalizeJob } from './normalize';
import { parseSecrets } from './secrets';
import type {
  AccessProblem,
  JobSnapshot,
  MissingConfiguration,
  ServicePrincipalRef,
  TenantObservation,
} from '../model/observation';

interface DiscoveryOptions {
  /** What earlier sweeps found; without it every cycle sweeps and nothing is remembered. */
  cache?: DiscoveryCache;
  /** How often every service principal is swept for jobs. */
  refreshMs: number;
  /** Service principal object ids the config lists for this tenant: read every cycle. */
  listed: string[];
  /**
   * How long after a read first missed a known configuration a later read must miss it too before
   * it counts as gone (default MIN_ABSENCE_CONFIRM_MS; the cycle passes its own length, so the
   * confirming read is another cycle's, never an overlapping instance's seconds later).
   */
  confirmAfterMs?: number;
}

/** The shortest time between the two reads that confirm a configuration is gone. */
export const MIN_ABSENCE_CONFIRM_MS = 60_000;

export interface ObserveOptions extends BatchReadOptions {
  discovery?: DiscoveryOptions;
  /** The cycle's clock (first-seen times, sweep age). */
  now?: Date;
  /** Pages of service principals a sweep reads at most. */
  maxPages?: number;
  /** Whether the synchronization secrets are read for the early warnings (WATCH_SECRETS_READ; default true). */
  secretsRead?: boolean;
  /**
   * Takes the discovery cache's writes, for the caller to run once every tenant's jobs are read
   * (lib/cycle/observe.ts): beside the other tenants' reads they would queue in Table Storage
   * ahead of them. Absent: written before the read returns. A write that fails still marks the
   * cache degraded on the observation, for the coverage computed after it.
   */
  deferWrites?: (write: () => Promise<void>) => void;
}

const DAY_MS = 24 * 3600_000;

/** A service principal to read this cycle, and whether it is known to own jobs (or listed) rather than a sweep's candidate. */
interface Target {
  sp: ServicePrincipalRef;
  known: boolean;
  listed: boolean;
  /** What the discovery cache had of it. */
  cached?: KnownServicePrincipal;
  /** Set by the read: its job list answered 404 since then (confirming). */
  missingSince?: string;
  /** Set by the read: jobs it had that are no longer listed, since when (confirming). */
  jobsMissingSince?: Record<string, string>;
}

/** How this read compares with what was seen before: absent `tracked`, nothing can be (no cache, or it could not be read). */
interface AbsenceCheck {
  tracked: boolean;
  now: Date;
  confirmAfterMs: number;
}

/**
 * Reads one tenant: finds the service principals that own synchronization jobs (a sweep of every
 * service principal with an application template, once per refresh interval and for a tenant new
 * to the monitor; in between only the known ones and those the config lists), reads their jobs
 * and their synchronization secrets 20 per $batch. Never throws: what could not be read is
 * reported as a problem. A failure of the whole tenant (the token, the service principal list,
 * every job read refused) is `problem`; one service principal's failure is that service
 * principal's (its alerts are held, the rest are judged); a permission only the early warnings
 * need degrades those checks, named once.
 */
export async function observeTenant(
  reader: GraphReader,
  tenantId: string,
  options: ObserveOptions = {},
): Promise<TenantObservation> {
  const now = options.now ?? new Date();
  const discovery = options.discovery ?? { refreshMs: DAY_MS, listed: [] };
  const observation: TenantObservation = {
    tenantId,
    jobs: [],
    servicePrincipalsRead: new Set(),
    servicePrincipalProblems: [],
    degraded: [],
  };
  const cached = await loadCache(discovery.cache, tenantId, observation);
  const listed = new Set(discovery.listed.map((id) => id.toLowerCase()));
  const absence: AbsenceCheck = {
    tracked: discovery.cache !== undefined && !observation.degraded?.some((d) => d.operation === 'discovery cache'),
    now,
    confirmAfterMs: discovery.confirmAfterMs ?? MIN_ABSENCE_CONFIRM_MS,
  };

  let targets: Target[];
  let swept = false;
  if (sweepDue(cached?.sweptAt, discovery.refreshMs, now)) {
    const found = await sweepTargets(reader, cached, listed, observation, options.maxPages ?? DEFAULT_MAX_PAGES);
    if (!found) return observation; // the tenant could not be read
    ({ targets, swept } = found);
  } else {
    targets = knownTargets(cached, listed);
  }

  const kept = await readJobs(reader, tenantId, targets, observation, options, absence);
  if (observation.problem) return observation;
  // A service principal being confirmed missing stays known, but has nothing for the rules to judge.
  observation.servicePrincipals = kept.filter((t) => t.missingSince === undefined).map((t) => t.sp);
  const write = remember(discovery.cache, tenantId, cached, kept, swept, observation, now);
  if (options.deferWrites) options.deferWrites(write);
  else await write();
  observation.discovery = {
    swept,
    listed: listed.size,
    candidates: targets.length,
    known: kept.length,
    sweptAt: swept ? now.toISOString() : cached?.sweptAt,
  };
  if (options.secretsRead !== false) await readSecrets(reader, observation, options);
  return observation;
}

async function loadCache(
  cache: DiscoveryCache | undefined,
  tenantId: string,
  observation: TenantObservation,
): Promise<DiscoverySnapshot | undefined> {
  if (!cache) return undefined;
  try {
    return await cache.load(tenantId);
  } catch (error) {
    observation.degraded?.push({
      operation: 'discovery cache',
      consequence: 'every service principal is swept this cycle',
      problem: { kind: 'transient', message: (error as Error).message, operation: 'discovery cache' },
    });
    return undefined;
  }
}

const refOf = (sp: KnownServicePrincipal): ServicePrincipalRef => ({
  id: sp.id,
  appId: sp.appId,
  displayName: sp.displayName,
  applicationTemplateId: sp.applicationTemplateId,
});

/** The known service principals and the listed ones (a listed one the cache does not know yet is read by id). */
function knownTargets(cached: DiscoverySnapshot | undefined, listed: Set<string>): Target[] {
  const targets = new Map<string, Target>();
  for (const sp of cached?.servicePrincipals ?? [])
    targets.set(sp.id.toLowerCase(), {
      sp: refOf(sp),
      known: true,
      listed: listed.has(sp.id.toLowerCase()),
      cached: sp,
    });
  for (const id of listed)
    if (!targets.has(id)) targets.set(id, { sp: { id, appId: '', displayName: id }, known: true, listed: true });
  return [...targets.values()];
}

/**
 * The targets of a sweep: every service principal with an application template (the candidates
 * whose jobs are probed), the listed ones, and those known before. When the list cannot be read,
 * the known and listed ones are read instead (and that is named once); with neither, the tenant
 * cannot be read.
 */
async function sweepTargets(
  reader: GraphReader,
  cached: DiscoverySnapshot | undefined,
  listed: Set<string>,
  observation: TenantObservation,
  maxPages: number,
): Promise<{ targets: Target[]; swept: boolean } | undefined> {
  let list;
  try {
    list = await listServicePrincipals(reader, maxPages);
  } catch (error) {
    const problem =
      error instanceof InvalidGraphData || error instanceof MalformedGraphResponse
        ? { kind: 'invalid-response' as const, message: error.message, operation: 'servicePrincipals' }
        : classifyError(error, 'servicePrincipals');
    if (!cached && listed.size === 0) {
      observation.problem = problem;
      return undefined;
    }
    observation.degraded?.push({
      operation: 'servicePrincipals',
      consequence: cached
        ? `new configurations are not discovered; the ${cached.servicePrincipals.length} found by the sweep of ${cached.sweptAt} and the listed ones are watched`
        : 'only the service principals listed in discovery.servicePrincipals are watched',
      problem,
    });
    return { targets: knownTargets(cached, listed), swept: false };
  }
  if (list.truncatedAfterPages !== undefined) {
    observation.degraded?.push({
      operation: 'servicePrincipals',
      consequence: `the sweep stopped after ${list.truncatedAfterPages} pages; service principals beyond them are found only if listed in discovery.servicePrincipals`,
      problem: {
        kind: 'invalid-response',
        message: `more than ${list.truncatedAfterPages} pages of service principals`,
        operation: 'servicePrincipals',
      },
    });
  }
  const previous = new Map((cached?.servicePrincipals ?? []).map((sp) => [sp.id.toLowerCase(), sp]));
  const targets = new Map<string, Target>();
  for (const sp of list.servicePrincipals) {
    const id = sp.id.toLowerCase();
    if (sp.applicationTemplateId || listed.has(id) || previous.has(id))
      targets.set(id, {
        sp,
        known: previous.has(id) || listed.has(id),
        listed: listed.has(id),
        cached: previous.get(id),
      });
  }
  // A known one missing from the list (a partial one, or one Graph answered a moment too early) is
  // read by id: only its own job list answering 404, on two reads, says it is gone.
  for (const [id, sp] of previous)
    if (!targets.has(id)) targets.set(id, { sp: refOf(sp), known: true, listed: listed.has(id), cached: sp });
  for (const id of listed)
    if (!targets.has(id)) targets.set(id, { sp: { id, appId: '', displayName: id }, known: true, listed: true });
  return { targets: [...targets.values()], swept: true };
}

type JobsAnswer =
  | { kind: 'jobs'; jobs: JobSnapshot[] }
  | { kind: 'gone' }
  | { kind: 'none' }
  | { kind: 'problem'; problem: AccessProblem };

/** What one jobs read says: the jobs, a deleted service principal, "no synchronization here", or a problem. */
function jobsAnswer(tenantId: string, target: Target, outcome: ReadOutcome | undefined): JobsAnswer {
  const operation = 'synchronization/jobs';
  if (!outcome)
    return {
      kind: 'problem',
      problem: { kind: 'invalid-response', message: 'Graph gave no answer for this read', operation },
    };
  if (outcome.problem) return { kind: 'problem', problem: outcome.problem };
  if (outcome.status === 404) {
    return target.listed
      ? {
          kind: 'problem',
          problem: {
            kind: 'invalid-response',
            status: 404,
            message: 'listed in discovery.servicePrincipals, but Graph has no such service principal',
            operation,
          },
        }
      : { kind: 'gone' };
  }
  if (outcome.status < 200 || outcome.status >= 300) {
    const { code, message } = graphErrorBody(outcome.body);
    return { kind: 'problem', problem: problemFromStatus(outcome.status, code, message, operation) };
  }
  const body = outcome.body as { value?: unknown } | undefined;
  if (!body || !Array.isArray(body.value)) {
    return {
      kind: 'problem',
      problem: {
        kind: 'invalid-response',
        status: outcome.status,
        message: `the job list of service principal ${target.sp.id} has no value array`,
        operation,
      },
    };
  }
  try {
    const jobs = body.value.map((raw) => normalizeJob(tenantId, target.sp, raw));
    return jobs.length === 0 && !target.known ? { kind: 'none' } : { kind: 'jobs', jobs };
  } catch (error) {
    return { kind: 'problem', problem: { kind: 'invalid-response', message: (error as Error).message, operation } };
  }
}

/**
 * Reads the jobs of every target (for a sweep's candidates this is the probe) and records them.
 * Returns the targets that stay watched: those with jobs, the known and listed ones, and
 * candidates whose read failed for a reason other than access (they may own jobs). A candidate
 * that Graph refuses is not watched: a service principal without provisioning may answer so
 * (UNCONFIRMED). When no read succeeded and one was refused, the whole tenant is refused (the
 * missing-permission case: Graph answers 401 UnknownError, reference §1.11).
 */
async function readJobs(
  reader: GraphReader,
  tenantId: string,
  targets: Target[],
  observation: TenantObservation,
  options: ObserveOptions,
  absence: AbsenceCheck,
): Promise<Target[]> {
  const outcomes = await readInBatches(
    reader,
    targets.map((t) => ({
      key: t.sp.id,
      url: `/servicePrincipals/${encodeURIComponent(t.sp.id)}/synchronization/jobs`,
    })),
    'synchronization/jobs',
    options,
  );
  const kept: Target[] = [];
  let answered = 0;
  let refused: AccessProblem | undefined;
  let refusedCandidates = 0;
  for (const target of targets) {
    const outcome = outcomes.get(target.sp.id);
    if (outcome?.problem?.kind === 'access') {
      // The $batch call itself was refused: the token or the credential, for the whole tenant.
      observation.problem = outcome.problem;
      return [];
    }
    const answer = jobsAnswer(tenantId, target, outcome);
    if (outcome && !outcome.problem && outcome.status >= 200 && outcome.status < 300) answered++;
    if (answer.kind === 'jobs') {
      observation.jobs.push(...answer.jobs);
      observation.servicePrincipalsRead.add(target.sp.id);
      kept.push({ ...target, jobsMissingSince: missingJobs(target, answer.jobs, absence, observation) });
    } else if (answer.kind === 'gone') {
      const missing = target.known ? missingFrom(target, undefined, absence, observation) : undefined;
      if (missing && !missing.confirmed) kept.push({ ...target, missingSince: missing.since });
      else observation.servicePrincipalsRead.add(target.sp.id); // deleted: it has no jobs any more
    } else if (answer.kind === 'problem') {
      if (answer.problem.kind === 'access') refused ??= answer.problem;
      if (!target.known && answer.problem.kind === 'access') refusedCandidates++;
      if (target.known || answer.problem.kind !== 'access') {
        observation.servicePrincipalProblems.push({ servicePrincipal: target.sp, problem: answer.problem });
        kept.push(target);
      }
    }
  }
  if (answered === 0 && refused) {
    observation.problem = refused;
    observation.jobs = [];
    observation.servicePrincipalProblems = [];
    return [];
  }
  if (refusedCandidates > 0) {
    observation.degraded?.push({
      operation: 'synchronization/jobs',
      consequence: `${refusedCandidates} service principal(s) with an application template refused their jobs in the sweep and are not watched (one without provisioning may answer so); list one in discovery.servicePrincipals to watch it`,
      problem: refused as AccessProblem,
    });
  }
  return kept;
}

/**
 * Notes a known configuration this read missed: since when (the first read that missed it, from
 * the cache) and whether that is confirmed (a read at least `confirmAfterMs` later missed it too).
 * Undefined when there is nothing to compare with: then a missing one is gone at once, as before.
 */
function missingFrom(
  target: Target,
  jobId: string | undefined,
  absence: AbsenceCheck,
  observation: TenantObservation,
): MissingConfiguration | undefined {
  if (!absence.tracked) return undefined;
  const first = jobId === undefined ? target.cached?.missingSince : target.cached?.jobsMissingSince?.[jobId];
  const since = first ?? absence.now.toISOString();
  const confirmed = first !== undefined && absence.now.getTime() - Date.parse(first) >= absence.confirmAfterMs;
  const entry: MissingConfiguration = { servicePrincipal: target.sp, jobId, since, confirmed };
  (observation.missing ??= []).push(entry);
  return entry;
}

/** The jobs a known service principal had that its job list no longer has, still being confirmed (job id → since). */
function missingJobs(
  target: Target,
  jobs: JobSnapshot[],
  absence: AbsenceCheck,
  observation: TenantObservation,
): Record<string, string> | undefined {
  if (!target.cached) return undefined;
  const listed = new Set(jobs.map((j) => j.jobId));
  const known = new Set([
    ...Object.keys(target.cached.jobsFirstSeen),
    ...Object.keys(target.cached.jobsMissingSince ?? {}),
  ]);
  const confirming: Record<string, string> = {};
  for (const jobId of known) {
    if (listed.has(jobId)) continue;
    const missing = missingFrom(target, jobId, absence, observation);
    if (missing && !missing.confirmed) confirming[jobId] = missing.since;
  }
  return Object.keys(confirming).length > 0 ? confirming : undefined;
}

/**
 * What this cycle learnt, to store: after a sweep the whole set of watched service principals,
 * otherwise only those with jobs not seen before. Each job gets the time the monitor first saw
 * it, from the cache or now, at once; the returned write stores the rest. A store that cannot be
 * written costs memory, not the cycle.
 */
function remember(
  cache: DiscoveryCache | undefined,
  tenantId: string,
  cached: DiscoverySnapshot | undefined,
  kept: Target[],
  swept: boolean,
  observation: TenantObservation,
  now: Date,
): () => Promise<void> {
  if (!cache) return () => Promise.resolve();
  const previous = new Map((cached?.servicePrincipals ?? []).map((sp) => [sp.id.toLowerCase(), sp]));
  const at = now.toISOString();
  const rows: KnownServicePrincipal[] = [];
  const changed: KnownServicePrincipal[] = [];
  for (const { sp, missingSince, jobsMissingSince } of kept) {
    const before = previous.get(sp.id.toLowerCase());
    const jobs = observation.jobs.filter((j) => j.servicePrincipal.id === sp.id);
    const read = observation.servicePrincipalsRead.has(sp.id);
    const jobsFirstSeen: Record<string, string> = read ? {} : { ...(before?.jobsFirstSeen ?? {}) };
    for (const job of jobs) {
      jobsFirstSeen[job.jobId] = before?.jobsFirstSeen[job.jobId] ?? at;
      job.firstSeenAt = new Date(jobsFirstSeen[job.jobId] as string);
    }
    // A job being confirmed missing keeps its first-seen time, in case it is back next read.
    for (const jobId of Object.keys(jobsMissingSince ?? {}))
      if (before?.jobsFirstSeen[jobId]) jobsFirstSeen[jobId] = before.jobsFirstSeen[jobId];
    const row: KnownServicePrincipal = {
      id: sp.id,
      appId: sp.appId,
      displayName: sp.displayName,
      applicationTemplateId: sp.applicationTemplateId,
      jobsFirstSeen,
      ...(missingSince ? { missingSince } : {}),
      ...(jobsMissingSince ? { jobsMissingSince } : {}),
    };
    rows.push(row);
    const same =
      before &&
      before.displayName === row.displayName &&
      sameKeys(before.jobsFirstSeen, jobsFirstSeen) &&
      before.missingSince === row.missingSince &&
      JSON.stringify(before.jobsMissingSince ?? {}) === JSON.stringify(row.jobsMissingSince ?? {});
    if (!same) changed.push(row);
  }
  const gone = (observation.missing ?? []).filter((m) => m.confirmed && m.jobId === undefined);
  return async () => {
    try {
      if (swept) await cache.saveSweep(tenantId, { sweptAt: at, servicePrincipals: rows });
      else {
        for (const row of changed) await cache.saveServicePrincipal(tenantId, row);
        for (const m of gone) await cache.forgetServicePrincipal?.(tenantId, m.servicePrincipal.id);
      }
    } catch (error) {
      observation.degraded?.push({
        operation: 'discovery cache',
        consequence: swept ? 'the sweep is done again next cycle' : 'first-seen times of new jobs are not kept',
        problem: { kind: 'transient', message: (error as Error).message, operation: 'discovery cache' },
      });
    }
  };
}

function sameKeys(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => k in b);
}

/**
 * Reads the synchronization secrets of every service principal with jobs, for the early warnings
 * (docs/reference/graph-provisioning-api.md §1.14). GET secrets is used by Entra's docs on beta
 * and by Terraform's azuread provider on v1.0, but is not documented as a v1.0 method, nor is its
 * permission (lib/clients/permissions.ts, SECRETS_READ): when Graph refuses it (401, 403, 404 or
 * 400), those checks are skipped for that service principal (their alerts held), the refusal is
 * named once for the tenant, which stays readable, and coverage shows the early warnings degraded.
 */
async function readSecrets(
  reader: GraphReader,
  observation: TenantObservation,
  options: ObserveOptions,
): Promise<void> {
  const problems = new Set(observation.servicePrincipalProblems.map((p) => p.servicePrincipal.id));
  const withJobs = (observation.servicePrincipals ?? []).filter(
    (sp) => !problems.has(sp.id) && observation.jobs.some((j) => j.servicePrincipal.id === sp.id),
  );
  if (withJobs.length === 0) return;
  const operation = 'synchronization/secrets';
  const outcomes = await readInBatches(
    reader,
    withJobs.map((sp) => ({
      key: sp.id,
      url: `/servicePrincipals/${encodeURIComponent(sp.id)}/synchronization/secrets`,
    })),
    operation,
    options,
  );
  observation.syncSettings = new Map();
  observation.secretsUnread = new Map();
  for (const sp of withJobs) {
    const outcome = outcomes.get(sp.id);
    let problem: AccessProblem | undefined = outcome?.problem;
    if (outcome && !outcome.problem) {
      const settings = outcome.status >= 200 && outcome.status < 300 ? parseSecrets(outcome.body) : undefined;
      // A 404 or 400 is a refusal too: the method is not in Graph's documented v1.0 surface.
      if (settings) observation.syncSettings.set(sp.id, settings);
      else {
        const { code, message } = graphErrorBody(outcome.body);
        problem =
          outcome.status >= 200 && outcome.status < 300
            ? {
                kind: 'invalid-response',
                status: outcome.status,
                message: 'the secrets of the service principal have no value array',
                operation,
              }
            : problemFromStatus(outcome.status, code, message, operation);
      }
    }
    if (problem || !outcome)
      observation.secretsUnread.set(
        sp.id,
        problem ?? { kind: 'invalid-response', message: 'Graph gave no answer for this read', operation },
      );
  }
  if (observation.secretsUnread.size > 0) {
    const first =
      [...observation.secretsUnread.values()].find((p) => p.kind === 'access') ??
      ([...observation.secretsUnread.values()][0] as AccessProblem);
    observation.degraded?.push({
      operation,
      consequence: `scim-token-expiring, notification-email-off and deletion-prevention-off's secret check are skipped for ${observation.secretsUnread.size} of ${withJobs.length} configuration(s); their alerts are held`,
      problem: first,
    });
  }
}
