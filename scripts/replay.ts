/**
 * `npm run replay [-- --seed N --days D --jobs-per-kind J]`: months of per-job provisioning,
 * generated from a seed, run through the real rules (evaluate + reconcile) and the real learning
 * (lib/cycle/baselines.ts) on a fake clock, to measure how early the alerts warn of a quarantine.
 *
 * The generator (docs/replay.md documents every parameter) models what Entra documents and
 * nothing of the detector: each job runs every 40 minutes; each run fails some new objects (its
 * kind's noise), retries part of its escrows, writes a failed provisioning event per failure, and
 * Entra quarantines it by its documented rule (5,000 failures with more than 40% of the run's
 * events failed, more than 40,000, 60,000 raw, or a number of complete failures drawn per incident).
 * Incidents that end in quarantine (gradual failure growth, a sudden credential failure, a bad
 * mapping change), transient outages and quiet stretches are drawn per job from the seed.
 *
 * Two alert sets judge the same data: the fixed thresholds (`provisioning-failures` at its fixed
 * threshold, `job-failing` at its defaults) and the forecast (`quarantine-likely` and
 * `provisioning-failures` in baseline mode). An incident is caught when an alert of the set starts
 * between its onset and the quarantine; the lead is from that start to the quarantine. Every other
 * alert start (outside an incident and its recovery) is a false alert.
 */
import { buildPolicy } from '../lib/config/config';
import { updateHistories } from '../lib/cycle/baselines';
import { evaluateTenant, inView, keepFiringForMs } from '../lib/evaluate/evaluate';
import type { RuleDefinition } from '../lib/evaluate/rule';
import { RULES } from '../lib/evaluate/rules';
import type { AlertRecord } from '../lib/model';
import type { JobHistory } from '../lib/model/history';
import type { JobSnapshot, TenantObservation } from '../lib/model/observation';
import type { Policy } from '../lib/model/policy';
import type { ProvisioningEvent, TenantDigest } from '../lib/model/provisioning';
import { addFailure, emptyDigest, slideDigest } from '../lib/observe/provisioning-digest';
import { reconcile } from '../lib/reconcile/reconcile';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ---- parameters (docs/replay.md) ----------------------------------------------------------------

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(value) ? value : fallback;
}

const SEED = arg('seed', 21);
const DAYS = arg('days', 120);
const JOBS_PER_KIND = arg('jobs-per-kind', 6);
const CYCLE_MS = 10 * MINUTE;
const RUN_EVERY_MS = 40 * MINUTE;
const START = Date.parse('2026-01-05T00:00:00Z');
/** Incidents ending in quarantine, per job and day. */
const INCIDENTS_PER_JOB_DAY = 1 / 40;
/** Transient target outages (failures that clear by themselves), per job and day, and quiet stretches. */
const OUTAGES_PER_JOB_DAY = 1 / 45;
const QUIET_PER_JOB_DAY = 1 / 45;
/** Single failed runs that do not recur (a network blip), per job and day. */
const BLIPS_PER_JOB_DAY = 1 / 30;

// ---- a seeded random stream -------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(SEED);
const uniform = (lo: number, hi: number) => lo + (hi - lo) * random();
const integer = (lo: number, hi: number) => Math.floor(uniform(lo, hi + 1));
function poisson(mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}
function normal(): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
/** Gamma(shape 2) with this mean: the overdispersion of a noisy job's failures. */
const gamma2 = (mean: number) => (-Math.log(1 - random()) - Math.log(1 - random())) * (mean / 2);
const binomial = (n: number, p: number) => Math.min(n, poisson(n * p));

// ---- the jobs -------------------------------------------------------------------------------------

type Kind = 'steady' | 'nightly' | 'noisy' | 'drifting';
type IncidentType = 'gradual' | 'credential' | 'mapping';

interface Incident {
  type: IncidentType;
  onset: number;
  /** Gradual: new failures per run added per hour since onset. Mapping: share of re-evaluated objects that fail. */
  strength: number;
  /** Mapping: share of the objects in scope re-evaluated per run. Credential: complete failures Entra waits for. */
  extent: number;
  quarantinedAt?: number;
  recoveredAt?: number;
}

interface Window {
  from: number;
  to: number;
  strength: number;
}

interface SimJob {
  kind: Kind;
  snapshot: JobSnapshot;
  entitled: number;
  /** Mean new failures per run (before the kind's shape). */
  mean: number;
  /** Share of escrows whose retry succeeds per run. */
  retry: number;
  /** Share of the objects in scope a run processes. */
  touched: number;
  /** Nightly jobs: the UTC hour of the burst and its size. */
  burstHour: number;
  burst: number;
  /** Drifting jobs: growth of the mean per day (as a share of the first day's). */
  drift: number;
  escrowed: number;
  system: number;
  completeFailures: number;
  nextRun: number;
  incidents: Incident[];
  outages: Window[];
  quiet: Window[];
  blips: number[];
  codes: string[];
}

const KINDS: Kind[] = ['steady', 'nightly', 'noisy', 'drifting'];
const NOISE_CODES = ['EntryConflict', 'InvalidAnchor', 'DuplicateTargetEntries', 'MandatoryFieldsMissing', 'Timeout'];
const TENANT = '00000000-0000-4000-8000-00000000a11e';

/** Windows drawn as a Poisson process over the replay, each lasting `length` hours. */
function windows(perDay: number, hours: [number, number], strength: [number, number]): Window[] {
  const list: Window[] = [];
  for (let t = START + poissonGap(perDay); t < START + DAYS * DAY; t += poissonGap(perDay)) {
    const from = t;
    list.push({ from, to: from + uniform(...hours) * HOUR, strength: uniform(...strength) });
  }
  return list;
}
const poissonGap = (perDay: number) => -Math.log(1 - random()) * (DAY / perDay);

function drawIncidents(): Incident[] {
  const list: Incident[] = [];
  for (let t = START + 2 * DAY + poissonGap(INCIDENTS_PER_JOB_DAY); t < START + (DAYS - 4) * DAY;) {
    const type = (['gradual', 'credential', 'mapping'] as const)[integer(0, 2)] as IncidentType;
    list.push({
      type,
      onset: t,
      // Gradual: +2 to +40 failures a run for every hour since onset; mapping: 30–90% of re-evaluated objects fail.
      strength: type === 'gradual' ? Math.exp(uniform(Math.log(2), Math.log(40))) : uniform(0.3, 0.9),
      // Mapping: 2–15% of the objects in scope re-evaluated a run; credential: 2–8 complete failures.
      extent: type === 'mapping' ? uniform(0.02, 0.15) : integer(2, 8),
    });
    // The next incident of a job comes after this one is over (a week later at the earliest).
    t += 7 * DAY + poissonGap(INCIDENTS_PER_JOB_DAY);
  }
  return list;
}

function makeJob(kind: Kind, n: number): SimJob {
  const id = `${kind}-${n}`;
  const entitled = Math.round(uniform(6000, 60_000));
  const mean = { steady: uniform(0.2, 1), nightly: uniform(0.1, 0.5), noisy: uniform(8, 25), drifting: uniform(1, 3) }[
    kind
  ];
  const sp = { id: `sp-${id}`, appId: `app-${id}`, displayName: `${kind} app ${n}` };
  return {
    kind,
    entitled,
    mean,
    retry: { steady: 0.5, nightly: 0.3, noisy: 0.2, drifting: 0.3 }[kind] * uniform(0.8, 1.2),
    touched: uniform(0.005, 0.03),
    burstHour: integer(0, 5),
    burst: kind === 'nightly' ? uniform(80, 300) : 0,
    drift: uniform(0.01, 0.04),
    escrowed: 0,
    system: integer(0, 50),
    completeFailures: 0,
    nextRun: START + uniform(0, RUN_EVERY_MS),
    incidents: drawIncidents(),
    outages: windows(OUTAGES_PER_JOB_DAY, [1, 4], [50, 400]),
    quiet: windows(QUIET_PER_JOB_DAY, [48, 144], [0.05, 0.05]),
    blips: windows(BLIPS_PER_JOB_DAY, [0, 0], [0, 0]).map((w) => w.from),
    codes: NOISE_CODES.slice(0, integer(1, NOISE_CODES.length)),
    snapshot: {
      tenantId: TENANT,
      servicePrincipal: sp,
      jobId: `scim.${id}`,
      templateId: 'scim',
      status: { raw: 'Active', known: 'Active' },
      schedule: { state: { raw: 'Active', known: 'Active' }, interval: 'PT40M', intervalMs: RUN_EVERY_MS },
      countSuccessiveCompleteFailures: 0,
      escrowsPruned: false,
    },
  };
}

const active = (list: Window[], t: number) => list.find((w) => w.from <= t && t < w.to);
const incidentAt = (job: SimJob, t: number) =>
  job.incidents.find(
    (i) => i.onset <= t && (i.recoveredAt === undefined || t < i.recoveredAt) && t < i.onset + 20 * DAY,
  );

let eventId = 0;
function failureEvents(job: SimJob, count: number, from: number, code: string): ProvisioningEvent[] {
  const events: ProvisioningEvent[] = [];
  for (let k = 0; k < count; k++)
    events.push({
      id: `e${eventId++}`,
      at: from + Math.floor(uniform(0, 5 * MINUTE)),
      jobId: job.snapshot.jobId,
      servicePrincipal: {
        id: job.snapshot.servicePrincipal.id,
        displayName: job.snapshot.servicePrincipal.displayName,
      },
      action: { raw: 'update', known: 'update' },
      status: { raw: 'failure', known: 'failure' },
      error: { code },
      source: { id: `u${k}`, displayName: `user ${k}` },
      target: { id: '', displayName: '' },
    });
  return events;
}

/** One run of a job at `t`: its failures and escrows, and Entra's quarantine decision. */
function run(job: SimJob, t: number, events: ProvisioningEvent[]): void {
  const incident = incidentAt(job, t);
  const s = job.snapshot;
  const began = new Date(t - 4 * MINUTE);
  const ended = new Date(t);
  const credential = incident?.type === 'credential' && incident.quarantinedAt === undefined;
  if (credential || job.blips.some((b) => b <= t && t < b + RUN_EVERY_MS)) {
    job.completeFailures++;
    s.countSuccessiveCompleteFailures = job.completeFailures;
    s.lastExecution = {
      state: 'Failed',
      result: 'Failed',
      timeBegan: began,
      timeEnded: ended,
      error: {
        code: 'SystemForCrossDomainIdentityManagementCredentialValidationUnavailable',
        message: 'The SCIM endpoint refused the credentials.',
        tenantActionable: true,
      },
      countEscrowed: job.escrowed,
      countEscrowedRaw: job.escrowed + job.system,
      countEntitled: job.entitled,
    };
    if (credential && incident && job.completeFailures >= incident.extent)
      quarantine(job, incident, t, 'EncounteredQuarantineException');
    return;
  }
  job.completeFailures = 0;
  s.countSuccessiveCompleteFailures = 0;
  const hour = new Date(t).getUTCHours();
  const quiet = active(job.quiet, t)?.strength ?? 1;
  const drift = job.kind === 'drifting' ? 1 + job.drift * ((t - START) / DAY) : 1;
  let mean = job.mean * drift * quiet;
  if (job.kind === 'nightly' && hour === job.burstHour && new Date(t - RUN_EVERY_MS).getUTCHours() !== job.burstHour)
    mean += job.burst * quiet;
  let fresh = job.kind === 'noisy' ? poisson(gamma2(mean)) : poisson(mean);
  const outage = active(job.outages, t);
  if (outage) fresh += poisson(outage.strength);
  let incidentFailures = 0;
  if (incident?.type === 'gradual' && incident.quarantinedAt === undefined)
    incidentFailures = poisson(incident.strength * ((t - incident.onset) / HOUR));
  if (incident?.type === 'mapping' && incident.quarantinedAt === undefined)
    incidentFailures = binomial(Math.round(job.entitled * incident.extent), incident.strength);
  // Retries: escrows retried this run, part of them succeed (fewer while an outage or incident lasts).
  const retried = Math.round(job.escrowed * 0.5);
  const healed = binomial(retried, outage || incidentFailures > 0 ? job.retry * 0.2 : job.retry);
  job.escrowed = Math.max(0, job.escrowed - healed) + fresh + incidentFailures;
  const failedEvents = fresh + incidentFailures + (retried - healed);
  const processed = Math.round(job.entitled * job.touched) + retried + incidentFailures;
  const code =
    incidentFailures > 0
      ? incident?.type === 'mapping'
        ? 'SchemaAttributeNotFound'
        : 'MandatoryFieldsMissing'
      : (job.codes[integer(0, job.codes.length - 1)] as string);
  events.push(...failureEvents(job, failedEvents, began.getTime(), code));
  s.lastExecution = {
    state: job.escrowed > 0 ? 'EntryLevelErrors' : 'Succeeded',
    result: job.escrowed > 0 ? 'EntryLevelErrors' : 'Succeeded',
    timeBegan: began,
    timeEnded: ended,
    countEscrowed: job.escrowed,
    countEscrowedRaw: job.escrowed + job.system,
    countEntitled: job.entitled,
  };
  if (job.escrowed === 0) s.lastSuccessfulExecution = { timeBegan: began, timeEnded: ended };
  // Entra's documented rule, on the failures it holds and this run's events.
  const share = processed > 0 ? failedEvents / processed : 0;
  const reason =
    job.escrowed >= 5000 && share > 0.4
      ? 'EncounteredEscrowProportionThreshold'
      : job.escrowed > 40_000
        ? 'EncounteredTotalEscrowThreshold'
        : job.escrowed + job.system > 60_000
          ? 'EncounteredBaseEscrowThreshold'
          : undefined;
  if (reason) {
    const cause = incident && incident.quarantinedAt === undefined ? incident : undefined;
    quarantine(job, cause ?? unplanned(job, t), t, reason);
  }
}

/** A quarantine no incident led to (noise or an outage crossing a threshold): an incident of its own, counted as such. */
function unplanned(job: SimJob, t: number): Incident {
  const incident: Incident = { type: 'gradual', onset: t - DAY, strength: 0, extent: 0 };
  job.incidents.push(incident);
  unplannedCount++;
  return incident;
}
let unplannedCount = 0;

function quarantine(job: SimJob, incident: Incident, t: number, reason: string): void {
  incident.quarantinedAt = t;
  incident.recoveredAt = t + uniform(6, 48) * HOUR;
  job.snapshot.status = { raw: 'Quarantine', known: 'Quarantine' };
  job.snapshot.quarantine = {
    reason: { raw: reason, known: reason as never },
    currentBegan: new Date(t),
    seriesBegan: new Date(t),
  };
}

function recover(job: SimJob, t: number): void {
  const incident = job.incidents.find(
    (i) => i.recoveredAt !== undefined && i.recoveredAt <= t && job.snapshot.status.known === 'Quarantine',
  );
  if (!incident) return;
  // The admin fixed the cause and restarted the job (escrows cleared).
  job.snapshot.status = { raw: 'Active', known: 'Active' };
  delete job.snapshot.quarantine;
  job.escrowed = 0;
  job.completeFailures = 0;
  job.snapshot.countSuccessiveCompleteFailures = 0;
  job.nextRun = t + RUN_EVERY_MS;
}

// ---- the detectors ---------------------------------------------------------------------------------

interface Detector {
  name: string;
  registry: RuleDefinition[];
  policy: Policy;
  stored: Map<string, AlertRecord>;
  starts: { jobId: string; condition: string; at: number }[];
}

function detector(name: string, conditions: string[], rules: Record<string, unknown>): Detector {
  const policy = buildPolicy({ rules }, { emailTo: ['ops@example.com'] });
  return {
    name,
    registry: RULES.filter((r) => conditions.includes(r.condition)),
    policy,
    stored: new Map(),
    starts: [],
  };
}

function judge(d: Detector, observation: TenantObservation, now: Date): void {
  const findings = evaluateTenant(observation, { now, rules: d.policy.rules, registry: d.registry });
  const { changed } = reconcile({
    stored: d.stored,
    findings,
    now,
    inView: (labels) => inView(labels, observation),
    keepFiringForMs: (labels) => keepFiringForMs(labels, d.policy.rules),
  });
  for (const record of changed) {
    const before = d.stored.get(record.fingerprint);
    if (record.state === 'firing' && before?.state !== 'firing' && process.env.REPLAY_DEBUG === d.name)
      console.error(
        now.toISOString(),
        record.labels.jobId,
        record.labels.condition,
        JSON.stringify({ ...record.annotations, codes: undefined, jobKind: undefined }),
      );
    if (record.state === 'firing' && before?.state !== 'firing')
      d.starts.push({ jobId: record.labels.jobId, condition: record.labels.condition, at: now.getTime() });
    d.stored.set(record.fingerprint, record);
  }
}

// ---- the replay ------------------------------------------------------------------------------------

interface Score {
  incidents: number;
  caught: number;
  leads: number[];
  falseAlerts: number;
  falseByKind: Record<Kind, number>;
  byType: Record<IncidentType, { n: number; caught: number; leads: number[] }>;
  /** Lead of every incident, a missed one counting 0 h. */
  allLeads: number[];
}

function score(d: Detector, jobs: SimJob[]): Score {
  const s: Score = {
    incidents: 0,
    caught: 0,
    leads: [],
    falseAlerts: 0,
    falseByKind: { steady: 0, nightly: 0, noisy: 0, drifting: 0 },
    byType: {
      gradual: { n: 0, caught: 0, leads: [] },
      credential: { n: 0, caught: 0, leads: [] },
      mapping: { n: 0, caught: 0, leads: [] },
    },
    allLeads: [],
  };
  for (const job of jobs) {
    const starts = d.starts.filter((a) => a.jobId === job.snapshot.jobId);
    const ended = job.incidents.filter((i) => i.quarantinedAt !== undefined);
    for (const incident of ended) {
      const q = incident.quarantinedAt as number;
      const warned = starts.filter((a) => a.at >= incident.onset && a.at < q);
      s.incidents++;
      s.byType[incident.type].n++;
      if (warned.length === 0) {
        s.allLeads.push(0);
        continue;
      }
      const lead = (q - Math.min(...warned.map((a) => a.at))) / HOUR;
      s.caught++;
      s.byType[incident.type].caught++;
      s.byType[incident.type].leads.push(lead);
      s.leads.push(lead);
      s.allLeads.push(lead);
    }
    // An alert outside every incident (onset to two hours after the job is back) is a false alert.
    for (const a of starts) {
      const explained = ended.some((i) => a.at >= i.onset && a.at < (i.recoveredAt as number) + 2 * HOUR);
      if (!explained) {
        if (process.env.REPLAY_DEBUG)
          console.error(
            `${d.name} false ${a.condition} ${job.kind} ${new Date(a.at).toISOString()} ${job.outages.some((o) => a.at >= o.from && a.at < o.to + 6 * HOUR) ? 'outage' : job.incidents.some((i) => a.at >= i.onset && i.quarantinedAt === undefined) ? 'unended-incident' : 'noise'}`,
          );
        s.falseAlerts++;
        s.falseByKind[job.kind]++;
      }
    }
  }
  return s;
}

const medianOf = (values: number[]) => {
  if (values.length === 0) return 0;
  const v = [...values].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};

async function main(): Promise<void> {
  const jobs = KINDS.flatMap((kind) => Array.from({ length: JOBS_PER_KIND }, (_, n) => makeJob(kind, n + 1)));
  const fixed = detector('fixed thresholds', ['provisioning-failures', 'job-failing'], {});
  const forecast = detector('forecast', ['quarantine-likely', 'provisioning-failures'], {
    'provisioning-failures': { mode: 'baseline' },
  });
  const histories = new Map<string, JobHistory>();
  const store = {
    load: () => Promise.resolve(histories),
    saveTenant: (_tenant: string, changed: [string, JobHistory][]) => {
      for (const [jobId, history] of changed) histories.set(jobId, history);
      return Promise.resolve();
    },
  };
  const digest: TenantDigest = emptyDigest();
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  for (let t = START; t < START + DAYS * DAY; t += CYCLE_MS) {
    const events: ProvisioningEvent[] = [];
    for (const job of jobs) {
      recover(job, t);
      while (job.nextRun <= t) {
        if (job.snapshot.status.known !== 'Quarantine') run(job, job.nextRun, events);
        job.nextRun += RUN_EVERY_MS;
      }
    }
    events.sort((a, b) => a.at - b.at);
    for (const e of events) addFailure(digest, e, HOUR, t);
    slideDigest(digest, t, () => HOUR);
    const observation: TenantObservation = {
      tenantId: TENANT,
      jobs: jobs.map((j) => j.snapshot),
      servicePrincipalsRead: new Set(jobs.map((j) => j.snapshot.servicePrincipal.id)),
      servicePrincipalProblems: [],
      provisioning: {
        source: 'graph',
        complete: true,
        problems: [],
        digest,
        heldDeletes: new Map(),
        activity: new Map(),
        activityUnknown: new Set(),
        eventsRead: events.length,
        pagesRead: 1,
      },
    };
    const now = new Date(t);
    await updateHistories(observation, {
      histories: store,
      policy: forecast.policy,
      clock: () => now,
      log: log as never,
    });
    judge(fixed, observation, now);
    judge(forecast, observation, now);
  }

  const jobMonths = (jobs.length * DAYS) / 30;
  const noisyMonths = (JOBS_PER_KIND * DAYS) / 30;
  const results = [forecast, fixed].map((d) => ({ d, s: score(d, jobs) }));
  for (const { d, s } of results) {
    const types = Object.entries(s.byType)
      .map(([type, v]) => `${type} ${v.caught}/${v.n} (median lead ${medianOf(v.leads).toFixed(1)} h)`)
      .join(', ');
    const kinds = Object.entries(s.falseByKind)
      .map(([kind, n]) => `${kind} ${((n * KINDS.length) / jobMonths).toFixed(2)}`)
      .join(', ');
    console.log(`${d.name}: caught ${types}; false alerts per job-month by kind: ${kinds}`);
  }
  const [ours, base] = results.map((r) => r.s) as [Score, Score];
  const pct = (s: Score) => (s.incidents ? (100 * s.caught) / s.incidents : 0).toFixed(0);
  // The median over every incident, a missed one counting 0 h: how much warning a quarantine usually gets.
  const lead = (s: Score) => medianOf(s.allLeads).toFixed(1);
  const perJobMonth = (s: Score) => (s.falseAlerts / jobMonths).toFixed(2);
  console.log(
    `seed ${SEED}, ${DAYS} days, ${jobs.length} jobs (${JOBS_PER_KIND} per kind), ${unplannedCount} quarantine(s) without a planned incident; median lead of the caught incidents ${medianOf(ours.leads).toFixed(1)} h (fixed thresholds: ${medianOf(base.leads).toFixed(1)} h); noisy jobs: ${(ours.falseByKind.noisy / noisyMonths).toFixed(2)} false alerts per job-month (fixed thresholds: ${(base.falseByKind.noisy / noisyMonths).toFixed(2)})`,
  );
  console.log(
    `replay: ${ours.incidents} incidents, caught ${ours.caught} (${pct(ours)} %), median lead ${lead(ours)} h before quarantine, ${perJobMonth(ours)} false alerts per job-month (fixed thresholds: ${pct(base)} %, ${lead(base)} h, ${perJobMonth(base)})`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
