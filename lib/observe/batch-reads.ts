import { type BatchRequest, type BatchResponse, GRAPH_BATCH_LIMIT, type GraphReader } from '../clients/graph';
import { Deadline, sleep as sleepUntil } from '../util/deadline';
import { classifyError } from './errors';
import type { AccessProblem } from '../model/observation';

export interface BatchReadOptions {
  /** How often inner 429/503/504 responses of a $batch are retried before the read is given up for this cycle. */
  batchRetries?: number;
  /** Longest wait honoured for an inner Retry-After, in seconds (the timer must finish well inside its interval). */
  maxRetryAfterSeconds?: number;
  /** The tenant's deadline: a retry whose wait (plus `retryCallMs` for the retry itself) would pass it is not made. */
  deadline?: Deadline;
  /** How long one retried $batch may take, kept free before the deadline (default 0). */
  retryCallMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** One GET to make inside a $batch, named by the caller's key. */
export interface ReadRequest {
  key: string;
  /** Relative to the version root: `/servicePrincipals/{id}/synchronization/jobs`. */
  url: string;
}

/** What a read gave: Graph's answer, or why its $batch call as a whole failed. */
export type ReadOutcome =
  | { status: number; body: unknown; problem?: undefined }
  | { problem: AccessProblem; status?: undefined; body?: undefined };

const RETRYABLE = new Set([429, 503, 504]);

/**
 * GETs many URLs, 20 per Graph $batch (docs/reference/graph-provisioning-api.md §5), retrying the
 * inner 429/503/504 answers after their Retry-After (Graph's SDK does not retry inside a batch).
 * Never throws: a $batch call that fails as a whole gives each of its reads that problem.
 */
export async function readInBatches(
  reader: GraphReader,
  requests: ReadRequest[],
  operation: string,
  options: BatchReadOptions = {},
): Promise<Map<string, ReadOutcome>> {
  const outcomes = new Map<string, ReadOutcome>();
  for (let start = 0; start < requests.length; start += GRAPH_BATCH_LIMIT) {
    const chunk = requests.slice(start, start + GRAPH_BATCH_LIMIT);
    try {
      await readChunk(reader, chunk, outcomes, options);
    } catch (error) {
      const problem = classifyError(error, operation);
      for (const request of chunk) if (!outcomes.has(request.key)) outcomes.set(request.key, { problem });
    }
  }
  return outcomes;
}

async function readChunk(
  reader: GraphReader,
  chunk: ReadRequest[],
  outcomes: Map<string, ReadOutcome>,
  options: BatchReadOptions,
): Promise<void> {
  const retries = options.batchRetries ?? 4;
  const deadline = options.deadline ?? Deadline.never();
  const sleep = options.sleep ?? ((ms: number) => sleepUntil(ms, deadline.signal));
  const maxWait = options.maxRetryAfterSeconds ?? 60;
  // A retry is worth waiting for only if it can still be made and answered before the deadline.
  const canRetry = (waitSeconds: number) =>
    Math.min(waitSeconds, maxWait) * 1000 + (options.retryCallMs ?? 0) < deadline.remainingMs();
  // Batch ids are positions (unique, short); the caller's keys may be anything.
  let pending: BatchRequest[] = chunk.map((r, i) => ({ id: String(i + 1), method: 'GET', url: r.url }));
  const keyOf = (id: string) => (chunk[Number(id) - 1] as ReadRequest).key;

  for (let attempt = 0; pending.length > 0; attempt++) {
    const responses = await reader.batch(pending);
    const retry: BatchRequest[] = [];
    let wait = 0;
    for (const response of responses) {
      if (RETRYABLE.has(response.status) && attempt < retries && canRetry(retryAfterSeconds(response, attempt))) {
        retry.push(pending.find((r) => r.id === response.id) as BatchRequest);
        wait = Math.max(wait, retryAfterSeconds(response, attempt));
        continue;
      }
      outcomes.set(keyOf(response.id), { status: response.status, body: response.body });
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
