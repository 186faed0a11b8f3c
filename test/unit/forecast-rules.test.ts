import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { evaluateTenant, inView } from '../../lib/evaluate/evaluate';
import { emptyHistory } from '../../lib/evaluate/history';
import { readsLogs, ruleFor } from '../../lib/evaluate/rules';
import { inhibitedBy } from '../../lib/inhibit/inhibit';
import type { JobHistory } from '../../lib/model/history';
import type { TenantObservation } from '../../lib/model/observation';
import { firingRecordOf, forecastObservation, logsObservation, NOW } from '../fixtures/alerts';

const HOUR = 3600_000;
const SERVICE_NOW = 'ServiceNowOutDelta.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.0a1b2c3d-0000-4000-8000-000000000012';
const likely = (o: TenantObservation, rules = {}) =>
  evaluateTenant(o, { now: NOW, rules }).filter((f) => f.labels.condition === 'quarantine-likely');

function withRuns(escrowed: number[]): TenantObservation {
  const o = forecastObservation(NOW);
  const history = o.history?.get(SERVICE_NOW) as JobHistory;
  const last = history.runs.at(-1)!.at;
  history.runs = escrowed.map((e, i) => ({
    at: last - (escrowed.length - 1 - i) * 40 * 60_000,
    escrowed: e,
    entitled: 9000,
    completeFailures: 0,
    pruned: false,
  }));
  return o;
}

describe('quarantine-likely', () => {
  it('fires with the hours left, the trend, the threshold with its source, and the top error code', () => {
    const [f] = likely(forecastObservation(NOW));
    expect(f?.severity).toBe('warning');
    expect(f?.annotations).toMatchObject({
      hoursLeft: 3.7,
      basis: 'escrow trend',
      thresholdFigure: 5000,
      topCode: 'EntryConflict',
    });
    expect(String(f?.annotations.thresholdSource)).toContain('Microsoft Learn');
    const view = ruleFor('quarantine-likely')!.present(firingRecordOf(f!), {
      now: NOW,
      tenantName: () => undefined,
      related: [],
    });
    expect(view.what).toContain('Entra will likely quarantine ServiceNow in about 4 hours');
    expect(view.runbook?.steps[0]).toMatch(/^EntryConflict: /);
  });

  it('says nothing when the escrows turn down, or stay level with noise', () => {
    expect(likely(withRuns([1200, 1560, 1920, 2280, 2640, 3000, 2900, 2500]))).toHaveLength(0);
    expect(likely(withRuns([1200, 1100, 1300, 1150, 1250, 1180]))).toHaveLength(0);
  });

  it('is held (neither raised nor resolved) without the history, and while the job is quarantined; the quarantine mutes it', () => {
    const labels = {
      tenantId: forecastObservation(NOW).tenantId,
      servicePrincipalId: forecastObservation(NOW).jobs.find((j) => j.jobId === SERVICE_NOW)!.servicePrincipal.id,
      jobId: SERVICE_NOW,
      condition: 'quarantine-likely',
    };
    expect(inView(labels, forecastObservation(NOW))).toBe(true);
    expect(inView(labels, logsObservation(NOW))).toBe(false);
    // Another job's history read, not this one's (it had nothing to add): held, and nothing is
    // judged from no runs.
    const another = forecastObservation(NOW);
    another.history = new Map([['another-job', emptyHistory()]]);
    expect(inView(labels, another)).toBe(false);
    expect(likely(another)).toHaveLength(0);
    // A job no longer seen is judged (its alert resolves), read or not.
    const gone = logsObservation(NOW);
    gone.jobs = gone.jobs.filter((j) => j.jobId !== SERVICE_NOW);
    expect(inView(labels, gone)).toBe(true);
    const quarantined = forecastObservation(NOW);
    const job = quarantined.jobs.find((j) => j.jobId === SERVICE_NOW)!;
    job.status = { raw: 'Quarantine', known: 'Quarantine' };
    job.quarantine = {
      reason: { raw: 'EncounteredEscrowProportionThreshold', known: 'EncounteredEscrowProportionThreshold' },
    };
    expect(likely(quarantined)).toHaveLength(0);
    expect(inView(labels, quarantined)).toBe(false);
    const findings = evaluateTenant(quarantined, { now: NOW });
    const quarantine = findings.find((f) => f.labels.condition === 'quarantine' && f.labels.jobId === SERVICE_NOW)!;
    const warning = firingRecordOf(likely(forecastObservation(NOW))[0]!);
    expect(inhibitedBy(warning, [firingRecordOf(quarantine)])).toContain('Quarantined');
  });

  it('can be tuned: a shorter horizon waits for a nearer crossing', () => {
    const rules = buildPolicy(
      { rules: { 'quarantine-likely': { horizon: '2h' } } },
      { emailTo: ['o@contoso.com'] },
    ).rules;
    expect(likely(forecastObservation(NOW), rules)).toHaveLength(0);
  });
});

describe('provisioning-failures in baseline mode', () => {
  const failures = (o: TenantObservation, config: Record<string, unknown>) =>
    evaluateTenant(o, {
      now: NOW,
      rules: buildPolicy({ rules: { 'provisioning-failures': config } }, { emailTo: ['o@contoso.com'] }).rules,
    }).filter((f) => f.labels.condition === 'provisioning-failures');

  /** The ServiceNow job (15 failures in the last hour) with a week of `usual` failures every hour learnt. */
  function learnt(usual: number, hours = 168): TenantObservation {
    const o = logsObservation(NOW);
    const history = emptyHistory();
    const last = Math.floor(NOW.getTime() / HOUR) - 1;
    for (let h = last - hours + 1; h <= last; h++) history.profile.hours.push([h, usual]);
    o.history = new Map([[SERVICE_NOW, history]]);
    return o;
  }

  it('fires above the job\'s own usual and says "usually N an hour, now M"', () => {
    const [f] = failures(learnt(1), { mode: 'baseline' });
    expect(f?.annotations).toMatchObject({ mode: 'baseline', usualPerHour: 1, baselineBasis: 'hour of day' });
    const view = ruleFor('provisioning-failures')!.present(firingRecordOf(f!), {
      now: NOW,
      tenantName: () => undefined,
      related: [],
    });
    expect(view.what).toContain('usually 1 an hour, now 15');
  });

  it('stays quiet when that many failures are usual for the job, which the fixed threshold would alert on', () => {
    expect(failures(learnt(14), { mode: 'baseline' })).toHaveLength(0);
    expect(failures(learnt(14), {})).toHaveLength(1);
  });

  it('uses the fixed threshold with less history than minHistory, or with learning off', () => {
    expect(failures(learnt(14, 48), { mode: 'baseline' })).toHaveLength(1);
    expect(failures(learnt(14, 48), { mode: 'baseline', minHistory: '1d' })).toHaveLength(0);
    expect(failures(learnt(14), { mode: 'baseline', learning: 'off' })).toHaveLength(1);
  });

  it('keeps to the floor however quiet the job usually is', () => {
    expect(failures(learnt(0), { mode: 'baseline', floor: 20 })).toHaveLength(0);
    expect(failures(learnt(0), { mode: 'baseline', floor: 15 })).toHaveLength(1);
  });

  it('refuses a mode it does not know', () => {
    expect(() =>
      buildPolicy({ rules: { 'provisioning-failures': { mode: 'learned' } } }, { emailTo: ['o@contoso.com'] }),
    ).toThrow(/expected one of "fixed", "baseline"/);
  });
});

describe('job-stalled with the learnt run interval', () => {
  it('is judged with the log alerts once the config counts the learnt interval anywhere, with the job alerts otherwise', () => {
    const rulesOf = (rules: Record<string, unknown>) => buildPolicy({ rules }, { emailTo: ['ops@contoso.com'] }).rules;
    expect(readsLogs('job-stalled')).toBe(false);
    expect(readsLogs('job-stalled', rulesOf({}))).toBe(false);
    expect(readsLogs('job-stalled', rulesOf({ 'job-stalled': { intervals: 4 } }))).toBe(false);
    expect(readsLogs('job-stalled', rulesOf({ 'job-stalled': { learnedInterval: true } }))).toBe(true);
    expect(
      readsLogs(
        'job-stalled',
        rulesOf({ 'job-stalled': { overrides: [{ match: { app: 'ServiceNow*' }, learnedInterval: true }] } }),
      ),
    ).toBe(true);
    // The rules that read the logs do whatever the config says; the other job rules never.
    expect(readsLogs('provisioning-failures', rulesOf({}))).toBe(true);
    expect(readsLogs('quarantine', rulesOf({ 'job-stalled': { learnedInterval: true } }))).toBe(false);
  });

  /** The ServiceNow job (schedule every 40 minutes) last ran 5 hours ago; it has run every 3 hours. */
  function slowJob(): TenantObservation {
    const o = logsObservation(NOW);
    const job = o.jobs.find((j) => j.jobId === SERVICE_NOW)!;
    const last = new Date(NOW.getTime() - 5 * HOUR);
    job.lastExecution = { ...job.lastExecution, timeBegan: last, timeEnded: last };
    job.lastSuccessfulExecution = { timeBegan: last, timeEnded: last };
    job.steadyStateLastAchievedTime = last;
    const history = emptyHistory();
    for (let i = 7; i >= 0; i--)
      history.runs.push({ at: last.getTime() - i * 3 * HOUR, escrowed: 0, completeFailures: 0, pruned: false });
    o.history = new Map([[SERVICE_NOW, history]]);
    return o;
  }
  const stalled = (o: TenantObservation, config: Record<string, unknown>) =>
    evaluateTenant(o, {
      now: NOW,
      rules: buildPolicy({ rules: { 'job-stalled': config } }, { emailTo: ['o@contoso.com'] }).rules,
    }).filter((f) => f.labels.condition === 'job-stalled' && f.labels.jobId === SERVICE_NOW);

  it('counts intervals of how often the job really runs, when asked, and says so', () => {
    expect(stalled(slowJob(), {})).toHaveLength(1);
    expect(stalled(slowJob(), { learnedInterval: true })).toHaveLength(0);
    // Allowed 1.5 of its learnt intervals (4.5 h), five hours without a run is stalled.
    const late = slowJob();
    const [f] = stalled(late, { learnedInterval: true, intervals: 1.5 });
    expect(f?.annotations).toMatchObject({
      intervalMs: 3 * HOUR,
      intervalLearnt: true,
      scheduledIntervalMs: 40 * 60_000,
    });
    const view = ruleFor('job-stalled')!.present(firingRecordOf(f!), {
      now: NOW,
      tenantName: () => undefined,
      related: [],
    });
    expect(view.what).toContain('learnt from its runs; its schedule says 40 min');
  });
});
