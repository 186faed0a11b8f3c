import type { Annotations } from '../../model';
import { failuresInWindow, MAX_EXAMPLES } from '../../observe/provisioning-digest';
import { type CodeDigest, type JobDigest } from '../../model/provisioning';
import type { ServicePrincipalRef, TenantObservation } from '../../model/observation';
import { bounded, formatDuration, formatTime } from '../../util/text';
import { objectRunbookStep } from '../object-runbooks';
import { appName, jobLinks, jobScriptsWithFailures, listAnnotation, sentences, str, UNREADABLE_LIST } from '../present';
import type { RuleHit, TenantRule } from '../rule';
import { baselineOf, type Baseline } from '../history';
import type { RuleSettings } from '../../model/policy';

/**
 * Objects that fail to provision: the failure digest of a job (lib/observe/provisioning-digest.ts),
 * grouped by `errorInformation.errorCode`. Fires when the failures in the job's window reach the
 * threshold, and resolves when the window holds no failure any more. While it fires, new failures
 * of a code already told update the alert in place; a new code, or a new tier (10×, 100× the
 * threshold), is material and told at once.
 *
 * A tenant rule: the logs name every job of the tenant that fails (cross-tenant, SCIM, Cloud Sync),
 * also those the job listing does not cover, and each job gets its own settings (per-app and
 * per-job overrides of `threshold` and `window`).
 */

/** Codes shown in an alert (the rest are summed up); examples per code are capped by the digest (MAX_EXAMPLES). */
const CODES_SHOWN = 5;
/**
 * The longest reason or recommended action kept per code, and the longest of any other text in the
 * list (a name, a UPN): five codes at these bounds stay within MAX_LIST_CHARS (lib/text.ts).
 */
const CODE_TEXT_CHARS = 500;
const CODE_FIELD_CHARS = 200;

export const FAILURES_CONDITION = 'provisioning-failures';

/** `Azure2Azure` from `Azure2Azure.<tenant>.<guid>`: the template part of a job id. */
export function templateOfJobId(jobId: string): string | undefined {
  const head = jobId.split('.')[0];
  return head && head !== jobId ? head : undefined;
}

type CodeSummary = {
  code: string;
  count: number;
  firstAt: string;
  lastAt: string;
  reason?: string;
  recommendedAction?: string;
  /** The newest objects that failed: their names, and the source object's ID (what provision on demand takes). */
  examples: { name: string; upn?: string; action: string; id?: string }[];
};

/** One code as the alert keeps it, bounded by what it holds: each text at its bound, the digest's examples. */
function summary(code: string, c: CodeDigest): CodeSummary {
  const field = (value: string) => bounded(value, CODE_FIELD_CHARS);
  const text = (value: string | undefined) => (value === undefined ? undefined : bounded(value, CODE_TEXT_CHARS));
  return {
    code: field(code),
    count: c.count,
    firstAt: new Date(c.firstAt).toISOString(),
    lastAt: new Date(c.lastAt).toISOString(),
    reason: text(c.reason),
    recommendedAction: text(c.recommendedAction),
    examples: c.examples.slice(0, MAX_EXAMPLES).map((e) => ({
      name: field(e.name),
      ...(e.upn ? { upn: field(e.upn) } : {}),
      action: field(e.action),
      ...(e.id ? { id: field(e.id) } : {}),
    })),
  };
}

/** The threshold tier reached: 0 at the threshold, 1 at ten times it, 2 at a hundred times... */
export function tierOf(peak: number, threshold: number): number {
  return peak < threshold ? -1 : Math.floor(Math.log10(peak / threshold) + 1e-9);
}

function jobOf(
  tenant: TenantObservation,
  jobId: string,
  digest: JobDigest,
): { servicePrincipal: ServicePrincipalRef; templateId?: string } {
  const snapshot = tenant.jobs.find((j) => j.jobId === jobId);
  if (snapshot) return { servicePrincipal: snapshot.servicePrincipal, templateId: snapshot.templateId || undefined };
  const sp = tenant.jobs.find((j) => j.servicePrincipal.id === digest.servicePrincipalId)?.servicePrincipal;
  return {
    servicePrincipal: sp ?? {
      id: digest.servicePrincipalId || '-',
      appId: '',
      displayName: digest.servicePrincipalName || digest.servicePrincipalId || jobId,
    },
    templateId: templateOfJobId(jobId),
  };
}

const HOUR = 3600_000;

/** The line a job's failures must pass to fire, and the baseline it comes from (none: the fixed threshold). */
interface AlertLine {
  line: number;
  baseline?: Baseline & { margin: number; ratio: number; floor: number };
}

/**
 * The fixed threshold, or in `mode: "baseline"` the job's own usual failures in the window plus
 * `margin` spreads (and at least `floor`), once `minHistory` is learnt; until then, or with
 * learning `off`, the fixed threshold.
 */
function alertLine(tenant: TenantObservation, jobId: string, s: RuleSettings, now: number): AlertLine {
  const threshold = Number(s.params.threshold);
  if (s.params.mode !== 'baseline' || s.params.learning === 'off') return { line: threshold };
  const profile = tenant.history?.get(jobId)?.profile;
  const baseline = profile && baselineOf(profile, now, Number(s.params.minHistory));
  if (!baseline) return { line: threshold };
  const margin = Number(s.params.margin);
  const floor = Number(s.params.floor);
  const ratio = Number(s.params.ratio);
  const line = Math.max(
    floor,
    Math.floor(Math.max(baseline.perHour + margin * baseline.spread, ratio * baseline.perHour)) + 1,
  );
  return { line, baseline: { ...baseline, margin, ratio, floor } };
}

export const provisioningFailures: TenantRule = {
  condition: FAILURES_CONDITION,
  scope: 'tenant',
  readsLogs: true,
  title: 'Provisioning failures',
  counted: { one: 'with provisioning failures', many: 'with provisioning failures' },
  description:
    'Objects fail to provision: the failed events of a job in the provisioning logs reached the threshold within the window. It resolves when the window holds no failure.',
  defaultSeverity: 'warning',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {
    threshold: {
      type: 'integer',
      default: 10,
      min: 1,
      max: 10_000_000,
      description: 'Failed events within the window that make the alert fire',
    },
    window: {
      type: 'duration',
      default: 3600_000,
      min: 5 * 60_000,
      max: 24 * 3600_000,
      description: 'How far back failures count; the alert resolves once the window holds none',
    },
    mode: {
      type: 'choice',
      choices: ['fixed', 'baseline'],
      default: 'fixed',
      description:
        "`fixed`: fire at `threshold`; `baseline`: fire when the failures in the window pass the job's own usual by `margin` spreads and reach `floor` (the fixed threshold until `minHistory` is learnt)",
    },
    margin: {
      type: 'number',
      default: 5,
      min: 0,
      max: 100,
      description: 'Baseline mode: how many spreads (robust deviations) above its usual failures a job must be',
    },
    ratio: {
      type: 'number',
      default: 2,
      min: 1,
      max: 1000,
      description: 'Baseline mode: how many times its usual failures a job must reach at least',
    },
    floor: {
      type: 'integer',
      default: 10,
      min: 1,
      max: 10_000_000,
      description: 'Baseline mode: failures within the window needed at least, however quiet the job usually is',
    },
    minHistory: {
      type: 'duration',
      default: 7 * 24 * HOUR,
      min: HOUR,
      max: 7 * 24 * HOUR,
      description: 'Baseline mode: hours of learnt history needed before the baseline replaces the fixed threshold',
    },
    learning: {
      type: 'choice',
      choices: ['on', 'pinned', 'off'],
      default: 'on',
      description:
        "Whether the job's baseline is learnt: `on`; `pinned` (what was learnt is used and no longer changes); `off` (not learnt; the fixed threshold applies)",
    },
  },
  // A baseline judges the window as it is now: it keeps firing a window longer, so runs moving in and out of it do not flap.
  keepFiringFor: (settings) =>
    settings.params.mode === 'baseline'
      ? Math.max(settings.keepFiringForMs, Number(settings.params.window))
      : settings.keepFiringForMs,
  // Judged only when the logs were read up to now: a failed read is no evidence of recovery.
  inView: (_labels, tenant) => !tenant.problem && tenant.provisioning?.complete === true,
  check({ tenant, settings, settingsForJob, now }) {
    const digest = tenant.provisioning?.digest;
    if (!digest) return [];
    const hits: RuleHit[] = [];
    for (const [jobId, jobDigest] of Object.entries(digest.jobs)) {
      const { servicePrincipal, templateId } = jobOf(tenant, jobId, jobDigest);
      const job = { jobId, servicePrincipal, templateId };
      const s = settingsForJob?.(job) ?? settings;
      const windowMs = Number(s.params.window);
      const inWindow = failuresInWindow(jobDigest, now.getTime(), windowMs);
      const { line: threshold, baseline } = alertLine(tenant, jobId, s, now.getTime());
      // A fixed threshold holds through the stretch (its peak); a baseline judges the window as it is now.
      const reached = baseline ? inWindow >= threshold : jobDigest.peak >= threshold;
      if (!s.enabled || inWindow === 0 || !reached) continue;
      const codes = Object.entries(jobDigest.codes).sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
      const hidden = codes.slice(CODES_SHOWN);
      const tier = tierOf(baseline ? inWindow : jobDigest.peak, threshold);
      const annotations: Annotations = {
        servicePrincipalName: servicePrincipal.displayName,
        appId: servicePrincipal.appId || undefined,
        templateId,
        threshold,
        windowMs,
        inWindow,
        peak: jobDigest.peak,
        failures: codes.reduce((n, [, c]) => n + c.count, 0),
        stretchStart: new Date(jobDigest.stretchStart).toISOString(),
        lastFailureAt: new Date(jobDigest.lastAt).toISOString(),
        codeCount: codes.length,
        codes: codes.slice(0, CODES_SHOWN).map(([code, c]) => summary(code, c)),
        otherCodes: hidden.length,
        otherFailures: hidden.reduce((n, [, c]) => n + c.count, 0),
        tier,
        source: tenant.provisioning?.source,
        // A backlog larger than one cycle reads: the counts so far are a lower bound until it is read.
        ...(tenant.provisioning?.complete === false ? { stillReading: true } : {}),
        ...(baseline
          ? {
              mode: 'baseline',
              usualPerHour: Math.round(baseline.perHour * 10) / 10,
              usualSpread: Math.round(baseline.spread * 10) / 10,
              baselineBasis: baseline.basis,
              hoursLearnt: baseline.hoursLearnt,
              margin: baseline.margin,
              ratio: baseline.ratio,
              floor: baseline.floor,
            }
          : {}),
      };
      hits.push({
        job,
        annotations,
        material: `${codes
          .map(([code]) => code)
          .sort()
          .join(',')}|tier ${tier}`,
      });
    }
    return hits;
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const listed = listAnnotation<CodeSummary>(n.codes);
    const codes = listed === 'unreadable' ? [] : listed;
    const window = formatDuration(Number(n.windowMs));
    const atLeast = n.stillReading === true ? 'at least ' : '';
    const baseline = n.mode === 'baseline';
    const facts: [string, string][] = [
      [
        'Failures',
        `${atLeast}${str(n.failures)} since they began; ${atLeast}${str(n.inWindow)} in the last ${window} (alert at ${str(n.threshold)})${atLeast ? '; still reading the logs: the rest is counted as it is read' : ''}`,
      ],
    ];
    if (baseline)
      facts.push([
        'Usual for this job',
        `up to ${str(n.usualPerHour)} in ${window} (spread ${str(n.usualSpread)}), learnt by ${str(n.baselineBasis)} over ${Math.round(Number(n.hoursLearnt) / 24)} days; alert at ${str(n.margin)} spreads above it, ${str(n.ratio)} times it and at least ${str(n.floor)}`,
      ]);
    if (listed === 'unreadable') facts.push(['Error codes', UNREADABLE_LIST]);
    for (const c of codes) facts.push([str(c.code), codeText(c, ctx.timeZone)]);
    // The codes the list does not show: summed up by the rule, and any the store left out to fit.
    const others = listed === 'unreadable' ? 0 : Number(n.codeCount) - codes.length;
    const otherFailures = Number(n.failures) - codes.reduce((sum, c) => sum + (Number(c.count) || 0), 0);
    if (others > 0) facts.push(['Other error codes', `${others} more code(s) with ${otherFailures} failure(s)`]);
    return {
      title: 'Provisioning failures',
      about: appName(alert),
      what: `${atLeast ? 'At least ' : ''}${str(n.inWindow)} object(s) failed to provision in ${appName(alert)} in the last ${window}, with ${str(n.codeCount)} error code(s)${baseline ? `: usually ${str(n.usualPerHour)} ${Number(n.windowMs) === HOUR ? 'an hour' : `in ${window}`}, now ${str(n.inWindow)}` : ''}.`,
      since: str(n.stretchStart) || undefined,
      facts,
      scripts: jobScriptsWithFailures(alert),
      runbook: {
        meaning:
          'These objects failed to provision; the job itself runs on and retries them. If more than 40% of its events fail (once 5,000 have failed), Entra quarantines the whole job.',
        steps: [
          ...codes.slice(0, 3).map((c) => `${c.code}: ${objectRunbookStep(c.code, c.recommendedAction)}`),
          'See every failed object: Entra admin center > Enterprise applications > this configuration > Provisioning logs, filter Status = Failure.',
        ],
      },
      links: jobLinks(alert, ctx),
      ended: 'has no failures left in its window',
    };
  },
  describeChange(before, after) {
    const parts = (material: string) => {
      const [codes = '', tier = ''] = material.split('|');
      return { codes: codes.split(',').filter((c) => c !== ''), tier: Number(tier.replace('tier ', '')) };
    };
    const was = parts(before);
    const now = parts(after);
    const added = now.codes.filter((c) => !was.codes.includes(c));
    const clauses: string[] = [];
    if (added.length > 0)
      clauses.push(`new error code${added.length === 1 ? '' : 's'} since the last notice: ${added.join(', ')}`);
    if (now.tier > was.tier) clauses.push(`the failures have passed ${10 ** now.tier} times the threshold`);
    return sentences(clauses);
  },
};

function codeText(c: CodeSummary, timeZone: string | undefined): string {
  const parts = [
    `${str(c.count)} failure(s), first ${formatTime(c.firstAt, timeZone)}, last ${formatTime(c.lastAt, timeZone)}.`,
  ];
  if (c.reason) parts.push(`Reason: ${c.reason}`);
  if (c.recommendedAction) parts.push(`Recommended: ${c.recommendedAction}`);
  const examples = Array.isArray(c.examples) ? c.examples : [];
  if (examples.length > 0)
    parts.push(
      `For example: ${examples.map((e) => (e.upn && e.upn !== e.name ? `${e.name} (${e.upn})` : e.name)).join(', ')}.`,
    );
  return parts.join(' ');
}
