import { objectName } from './provisioning-normalize';
import type { ProvisioningEvent, CodeDigest, FailureExample, JobDigest, TenantDigest } from '../model/provisioning';

/**
 * The failure digest of a tenant: failed provisioning events per job and error code, kept between
 * cycles (lib/store/provisioning-log-store.ts) so that every event is counted exactly once.
 *
 * Per job it keeps the failures per minute inside the job's window and the current *stretch*: the
 * failures since the window was last clean. A stretch ends when no failure is left in the window;
 * the next failure starts a new one with fresh counts, so events reported once are never reported
 * again. `peak`, the most failures the window ever held during the stretch, is what a threshold
 * is compared with: it only grows within a stretch, so a threshold tier once reached stays reached
 * until the window is clean (the alert does not flap while failures trickle on below it).
 *
 * Everything here is plain JSON and bounded: minutes only inside the window (at most 1,440 for a
 * day), at most MAX_CODES codes and MAX_EXAMPLES examples per code.
 */

const MINUTE = 60_000;
export const MAX_EXAMPLES = 3;
export const MAX_CODES = 25;
/** The code under which failures beyond MAX_CODES distinct codes are counted. */
export const OTHER_CODES = '(other codes)';
/** The code of a failure that carries none. */
const NO_CODE = '(no error code)';

export function emptyDigest(): TenantDigest {
  return { jobs: {} };
}

/** Drops the minutes that have left a window ending at `at`; keeps `inWindow` in step. */
function slide(job: JobDigest, at: number, windowMs: number): void {
  let drop = 0;
  while (drop < job.minutes.length && ((job.minutes[drop] as [number, number])[0] + 1) * MINUTE <= at - windowMs) {
    job.inWindow -= (job.minutes[drop] as [number, number])[1];
    drop++;
  }
  if (drop > 0) job.minutes.splice(0, drop);
}

function addMinute(job: JobDigest, at: number): void {
  const minute = Math.floor(at / MINUTE);
  const minutes = job.minutes;
  // Events come oldest first, so this is nearly always the last entry or a new one after it.
  let i = minutes.length - 1;
  while (i >= 0 && (minutes[i] as [number, number])[0] > minute) i--;
  if (i >= 0 && (minutes[i] as [number, number])[0] === minute) (minutes[i] as [number, number])[1]++;
  else minutes.splice(i + 1, 0, [minute, 1]);
  job.inWindow++;
}

function addExample(code: CodeDigest, event: ProvisioningEvent): void {
  const object = objectName(event);
  const example: FailureExample = {
    at: event.at,
    id: object.id || event.id,
    name: object.displayName,
    action: event.action.known ?? event.action.raw,
  };
  if (object.upn) example.upn = object.upn;
  const others = code.examples.filter((e) => e.id !== example.id);
  if (
    others.length === code.examples.length &&
    code.examples.length >= MAX_EXAMPLES &&
    event.at < (code.examples[0] as FailureExample).at
  )
    return;
  others.push(example);
  others.sort((a, b) => a.at - b.at);
  code.examples = others.slice(-MAX_EXAMPLES);
}

function codeKey(job: JobDigest, event: ProvisioningEvent): string {
  const code = event.error?.code.trim() || NO_CODE;
  if (job.codes[code] || Object.keys(job.codes).length < MAX_CODES - 1) return code;
  return OTHER_CODES;
}

/**
 * Counts one failed event into the digest, if it falls inside its job's window ending `now`.
 * A failure after a gap longer than the window starts a new stretch. Returns whether it counted.
 */
export function addFailure(digest: TenantDigest, event: ProvisioningEvent, windowMs: number, now: number): boolean {
  if (event.at <= now - windowMs) return false;
  let job = digest.jobs[event.jobId];
  if (job && event.at - job.lastAt > windowMs) job = undefined; // the window was clean in between: a new stretch
  if (!job) {
    job = {
      servicePrincipalId: event.servicePrincipal.id,
      servicePrincipalName: event.servicePrincipal.displayName,
      minutes: [],
      inWindow: 0,
      lastAt: event.at,
      stretchStart: event.at,
      peak: 0,
      codes: {},
    };
    digest.jobs[event.jobId] = job;
  }
  if (event.servicePrincipal.displayName && event.at >= job.lastAt)
    job.servicePrincipalName = event.servicePrincipal.displayName;
  job.lastAt = Math.max(job.lastAt, event.at);
  job.stretchStart = Math.min(job.stretchStart, event.at);
  addMinute(job, event.at);
  slide(job, job.lastAt, windowMs);
  job.peak = Math.max(job.peak, job.inWindow);

  const key = codeKey(job, event);
  const code = (job.codes[key] ??= { count: 0, firstAt: event.at, lastAt: event.at, examples: [] });
  code.count++;
  code.firstAt = Math.min(code.firstAt, event.at);
  if (event.at >= code.lastAt) {
    code.lastAt = event.at;
    if (event.error?.reason) code.reason = event.error.reason;
    if (event.error?.recommendedAction) code.recommendedAction = event.error.recommendedAction;
    if (event.error?.category) code.category = event.error.category;
  }
  addExample(code, event);
  return true;
}

/**
 * Moves every job's window to end at `at`: failures that left it are dropped, and a job whose
 * window is now clean ends its stretch (and leaves the digest). Call it with the current time when
 * the logs were read up to now, or with the time read up to otherwise.
 */
export function slideDigest(
  digest: TenantDigest,
  at: number,
  windowFor: (jobId: string, job: JobDigest) => number,
): void {
  for (const [jobId, job] of Object.entries(digest.jobs)) {
    slide(job, at, windowFor(jobId, job));
    if (job.inWindow <= 0) delete digest.jobs[jobId];
  }
}

/** Failures in a window of `windowMs` ending at `now`. */
export function failuresInWindow(job: JobDigest, now: number, windowMs: number): number {
  let n = 0;
  for (const [minute, count] of job.minutes) if ((minute + 1) * MINUTE > now - windowMs) n += count;
  return n;
}
