import { BatchRequest, BatchResponse, GRAPH_BATCH_LIMIT, GraphReader, MalformedGraphResponse, PageLimitExceeded, readAllPages } from '../clients/graph';
import { Deadline, sleep as sleepUntil } from '../deadline';
import { classifyError, graphErrorBody, problemFromStatus } from './errors';
import { InvalidGraphData, normalizeJob, normalizeServicePrincipal } from './normalize';
import type { AccessProblem, JobSnapshot, ServicePrincipalRef, TenantObservation } from './types';

/** Application template of every cross-tenant synchronization configuration (docs/reference/graph-provisioning-api.md §1.12). */
export const CROSS_TENANT_SYNC_TEMPLATE_ID = '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7';

export interface ObserveOptions {
  /** How often inner 429/503/504 responses of a $batch are retried before the SP is given up for this cycle. */
  batchRetries?: number;
  /** Longest wait honoured for an inner Retry-After, in seconds (the timer must finish well inside its interval). */
  maxRetryAfterSeconds?: number;
  /** The tenant's deadline: a retry whose wait (plus `retryCallMs` for the retry itself) would pass it is not made. */
  deadline?: Deadline;
  /** How long one retried $batch may take, kept free before the deadline (default 0). */
  retryCallMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE = new Set([429, 503, 504]);

/**
 * Reads one tenant: its cross-tenant synchronization service principals, then their jobs in
 * batches of 20. Never throws: what could not be read is reported as a problem, so that one
 * broken tenant (or service principal) never stops the others and never resolves their alerts.
 */
export async function observeTenant(reader: GraphReader, tenantId: string, options: ObserveOptions = {}): Promise<TenantObservation> {
  const observation: TenantObservation = { tenantId, jobs: [], servicePrincipalsRead: new Set(), servicePrincipalProblems: [] };
  let servicePrincipals: ServicePrincipalRef[];
  try {
    servicePrincipals = await listCrossTenantServicePrincipals(reader);
  } catch (error) {
    observation.problem = error instanceof InvalidGraphData || error instanceof PageLimitExceeded || error instanceof MalformedGraphResponse
      ? { kind: 'invalid-response', message: error.message, operation: 'servicePrincipals' }
      : classifyError(error, 'servicePrincipals');
    return observation;
  }

  for (let start = 0; start < servicePrincipals.length; start += GRAPH_BATCH_LIMIT) {
    const chunk = servicePrincipals.slice(start, start + GRAPH_BATCH_LIMIT);
    try {
      await readJobsOfChunk(reader, tenantId, chunk, observation, options);
    } catch (error) {
      const problem = classifyError(error, 'synchronization/jobs');
      if (problem.kind === 'access') {
        observation.problem = problem;
        return observation;
      }
      for (const sp of chunk) observation.servicePrincipalProblems.push({ servicePrincipal: sp, problem });
    }
    if (observation.problem) return observation;
  }
  return observation;
}

async function listCrossTenantServicePrincipals(reader: GraphReader): Promise<ServicePrincipalRef[]> {
  const first =
    `/servicePrincipals?$filter=applicationTemplateId eq '${CROSS_TENANT_SYNC_TEMPLATE_ID}'` +
    '&$select=id,appId,displayName,applicationTemplateId&$top=999';
  return (await readAllPages(reader, first, 'service principals')).map(normalizeServicePrincipal);
}

async function readJobsOfChunk(
  reader: GraphReader,
  tenantId: string,
  chunk: ServicePrincipalRef[],
  observation: TenantObservation,
  options: ObserveOptions,
): Promise<void> {
  const retries = options.batchRetries ?? 4;
  const deadline = options.deadline ?? Deadline.never();
  const sleep = options.sleep ?? ((ms: number) => sleepUntil(ms, deadline.signal));
  const maxWait = options.maxRetryAfterSeconds ?? 60;
  // A retry is worth waiting for only if it can still be made and answered before the deadline.
  const canRetry = (waitSeconds: number) => Math.min(waitSeconds, maxWait) * 1000 + (options.retryCallMs ?? 0) < deadline.remainingMs();
  let pending: BatchRequest[] = chunk.map((sp, i) => ({
    id: String(i + 1),
    method: 'GET',
    url: `/servicePrincipals/${encodeURIComponent(sp.id)}/synchronization/jobs`,
  }));
  const spOf = (id: string) => chunk[Number(id) - 1] as ServicePrincipalRef;

  for (let attempt = 0; pending.length > 0; attempt++) {
    const responses = await reader.batch(pending);
    const retry: BatchRequest[] = [];
    let wait = 0;
    for (const response of responses) {
      const sp = spOf(response.id);
      if (RETRYABLE.has(response.status) && attempt < retries && canRetry(retryAfterSeconds(response, attempt))) {
        retry.push(pending.find((r) => r.id === response.id) as BatchRequest);
        wait = Math.max(wait, retryAfterSeconds(response, attempt));
        continue;
      }
      const problem = handleJobsResponse(tenantId, sp, response, observation);
      if (problem?.kind === 'access') {
        // Permissions are tenant-wide: the rest of the tenant would answer the same.
        observation.problem = problem;
        return;
      }
      if (problem) observation.servicePrincipalProblems.push({ servicePrincipal: sp, problem });
    }
    pending = retry;
    if (pending.length > 0) await sleep(Math.min(wait, maxWait) * 1000);
  }
}

function retryAfterSeconds(response: BatchResponse, attempt: number): number {
  const header = response.headers['retry-after'];
  const seconds = header !== undefined ? Number(header) : NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = header ? Date.parse(header) : NaN;
  if (Number.isFinite(date)) return Math.max(0, (date - Date.now()) / 1000);
  return 2 ** attempt; // no Retry-After: exponential backoff
}

/** Records the jobs of one answered request; returns the problem when it was not a success. */
function handleJobsResponse(
  tenantId: string,
  sp: ServicePrincipalRef,
  response: BatchResponse,
  observation: TenantObservation,
): AccessProblem | undefined {
  if (response.status === 404) {
    // The service principal was deleted between the list and the read: it has no jobs any more.
    observation.servicePrincipalsRead.add(sp.id);
    return undefined;
  }
  if (response.status < 200 || response.status >= 300) {
    const { code, message } = graphErrorBody(response.body);
    return problemFromStatus(response.status, code, message, 'synchronization/jobs');
  }
  const body = response.body as { value?: unknown } | undefined;
  if (!body || !Array.isArray(body.value)) {
    return { kind: 'invalid-response', status: response.status, message: `the job list of service principal ${sp.id} has no value array`, operation: 'synchronization/jobs' };
  }
  const jobs: JobSnapshot[] = [];
  try {
    for (const raw of body.value) jobs.push(normalizeJob(tenantId, sp, raw));
  } catch (error) {
    return { kind: 'invalid-response', message: (error as Error).message, operation: 'synchronization/jobs' };
  }
  observation.jobs.push(...jobs);
  observation.servicePrincipalsRead.add(sp.id);
  return undefined;
}
