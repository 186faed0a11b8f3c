import { describe, expect, it } from 'vitest';
import { shortTenant } from '../../lib/evaluate/present';
import type { PresentContext, RuleHit, ServicePrincipalRule } from '../../lib/evaluate/rule';
import type { RuleSettings } from '../../lib/model/policy';
import { deletionPreventionOff } from '../../lib/evaluate/rules/deletion-prevention-off';
import { isKqlCondition, kqlRuleDefinition, kqlTenantLabel } from '../../lib/evaluate/rules/kql';
import { notificationEmailOff } from '../../lib/evaluate/rules/notification-email-off';
import { provisioningFailures, templateOfJobId, tierOf } from '../../lib/evaluate/rules/provisioning-failures';
import { scimTokenExpiring } from '../../lib/evaluate/rules/scim-token-expiring';
import type { AlertLabels, AlertView, Annotations } from '../../lib/model';
import type { CodeDigest, JobDigest, ProvisioningObservation } from '../../lib/model/provisioning';
import type { JobSnapshot, SyncSettings } from '../../lib/model/observation';
import { formatDuration, formatTime } from '../../lib/util/text';
import { alertOf } from '../fixtures/alerts';
import {
  ago,
  CTX,
  DAY,
  fact,
  HOUR,
  job,
  JOB_ID,
  later,
  MIN,
  NOW,
  script,
  settingsOf,
  SP,
  tenant,
  TENANT,
} from '../support/rule-world';

/**
 * Second round of the detection rules' decision edges (see rule-edges.test.ts): the rules that
 * read the synchronization secrets (token expiry, notification email, deletion prevention), the
 * provisioning-failure digest rule and the view of the user's KQL rules. Each boundary, each
 * operand of an and/or and each missing Graph field is pinned to what the rule's comment or
 * description says.
 */

/** A job that is not in use: paused and never ran. */
const idleJob = () =>
  job({
    status: { known: 'Paused', raw: 'Paused' },
    schedule: { state: { known: 'Disabled', raw: 'Disabled' } },
    steadyStateFirstAchievedTime: undefined,
    steadyStateLastAchievedTime: undefined,
    lastSuccessfulExecution: undefined,
    lastExecution: undefined,
  });

function checkSp(
  rule: ServicePrincipalRule,
  syncSettings: SyncSettings | undefined,
  opts: { jobs?: JobSnapshot[]; params?: RuleSettings['params'] } = {},
): RuleHit | undefined {
  const jobs = opts.jobs ?? [job()];
  return rule.check({
    servicePrincipal: SP,
    jobs,
    syncSettings,
    tenant: tenant({ jobs }),
    settings: settingsOf(rule, opts.params),
    now: NOW,
  });
}

function viewOf(
  rule: { condition: string; present: (a: ReturnType<typeof alertOf>, c: PresentContext) => AlertView },
  annotations: Annotations | undefined,
  labels: Partial<AlertLabels> = {},
): AlertView {
  expect(annotations).toBeDefined();
  return rule.present(
    alertOf(rule.condition, annotations!, { servicePrincipalId: SP.id, jobId: JOB_ID, ...labels }),
    CTX,
  );
}

// ---- scim-token-expiring -----------------------------------------------------------------------

describe('scim-token-expiring: a warning within `within`, critical within `criticalWithin` or once expired', () => {
  const token = (at: Date | undefined): SyncSettings => ({
    keys: ['TokenExpiration'],
    tokenExpiration: { raw: at?.toISOString() ?? 'garbage', at },
  });
  const params = { within: 30 * DAY, criticalWithin: 3 * DAY };

  it('fires exactly at `within` before expiry, not a millisecond earlier', () => {
    expect(checkSp(scimTokenExpiring, token(later(30 * DAY)), { params })?.annotations.tier).toBe('warning');
    expect(checkSp(scimTokenExpiring, token(later(30 * DAY + 1)), { params })).toBeUndefined();
  });

  it('is a warning (default severity) just outside `criticalWithin`, critical exactly at it', () => {
    const warning = checkSp(scimTokenExpiring, token(later(3 * DAY + 1)), { params });
    expect(warning?.annotations.tier).toBe('warning');
    expect(warning?.severity).toBeUndefined();
    const critical = checkSp(scimTokenExpiring, token(later(3 * DAY)), { params });
    expect(critical?.annotations.tier).toBe('critical');
    expect(critical?.severity).toBe('critical');
  });

  it('is expired at the expiry time itself, critical one millisecond before it', () => {
    expect(checkSp(scimTokenExpiring, token(NOW), { params })?.annotations.tier).toBe('expired');
    expect(checkSp(scimTokenExpiring, token(ago(DAY)), { params })?.severity).toBe('critical');
    expect(checkSp(scimTokenExpiring, token(later(1)), { params })?.annotations.tier).toBe('critical');
  });

  it('each step is told at once: the tier is the material', () => {
    expect(checkSp(scimTokenExpiring, token(later(10 * DAY)), { params })?.material).toBe('warning');
    expect(checkSp(scimTokenExpiring, token(later(DAY)), { params })?.material).toBe('critical');
    expect(checkSp(scimTokenExpiring, token(ago(1)), { params })?.material).toBe('expired');
  });

  it('needs a parsed expiration, readable secrets and a configuration in use', () => {
    expect(checkSp(scimTokenExpiring, undefined, { params })).toBeUndefined();
    expect(checkSp(scimTokenExpiring, { keys: [] }, { params })).toBeUndefined();
    expect(checkSp(scimTokenExpiring, token(undefined), { params })).toBeUndefined();
    expect(checkSp(scimTokenExpiring, token(later(DAY)), { params, jobs: [idleJob()] })).toBeUndefined();
  });

  it('the view says "expired" from the expiry time on, and counts whole days left (1 day, not 1 days)', () => {
    const expired = viewOf(scimTokenExpiring, checkSp(scimTokenExpiring, token(NOW), { params })?.annotations);
    expect(expired.title).toBe('Secret token expired');
    expect(expired.what).toContain(`expired ${formatTime(NOW.toISOString())}`);
    expect(expired.next).toBeDefined();
    const oneDay = viewOf(scimTokenExpiring, checkSp(scimTokenExpiring, token(later(DAY)), { params })?.annotations);
    expect(oneDay.title).toBe('Secret token expiring');
    expect(oneDay.what).toContain('expires in 1 day (');
    expect(oneDay.next).toBeUndefined();
    const twelve = viewOf(
      scimTokenExpiring,
      checkSp(scimTokenExpiring, token(later(11 * DAY + 1)), { params })?.annotations,
    );
    expect(twelve.what).toContain('expires in 12 days (');
    expect(twelve.what).toContain(formatTime(later(11 * DAY + 1).toISOString()));
  });
});

// ---- deletion-prevention-off -------------------------------------------------------------------

describe('deletion-prevention-off: DeleteThresholdEnabled false, or a job threshold of 0 or less, on a configuration in use', () => {
  const secrets = (deleteThresholdEnabled?: boolean): SyncSettings => ({
    keys: ['SyncNotificationSettings'],
    notifications: { deleteThresholdEnabled },
  });

  it('the secret alone is enough, and then no job is named', () => {
    const hit = checkSp(deletionPreventionOff, secrets(false));
    expect(hit?.annotations.offInSecrets).toBe(true);
    expect(hit?.annotations.jobsWithoutThreshold).toBeUndefined();
  });

  it('DeleteThresholdEnabled true or absent, or unreadable secrets, is not off', () => {
    expect(checkSp(deletionPreventionOff, secrets(true))).toBeUndefined();
    expect(checkSp(deletionPreventionOff, secrets(undefined))).toBeUndefined();
    expect(checkSp(deletionPreventionOff, undefined)).toBeUndefined();
  });

  it('a job threshold of 0 or below alone is enough; 1 or an absent threshold is not', () => {
    const zero = job({ deleteThreshold: 0 });
    const negative = job({ jobId: 'scim.x.2', deleteThreshold: -1 });
    const hit = checkSp(deletionPreventionOff, undefined, {
      jobs: [zero, negative, job({ jobId: 'scim.x.3', deleteThreshold: 1 }), job({ jobId: 'scim.x.4' })],
    });
    expect(hit?.annotations.offInSecrets).toBe(false);
    expect(hit?.annotations.jobsWithoutThreshold).toBe(`${JOB_ID}, scim.x.2`);
    expect(checkSp(deletionPreventionOff, secrets(true), { jobs: [job({ deleteThreshold: 1 })] })).toBeUndefined();
  });

  it('is not judged for a configuration not in use', () => {
    expect(checkSp(deletionPreventionOff, secrets(false), { jobs: [idleJob()] })).toBeUndefined();
    expect(checkSp(deletionPreventionOff, secrets(false), { jobs: [] })).toBeUndefined();
  });

  it('the view names the secret only when it is off there, and the jobs only when some have threshold 0', () => {
    const fromSecret = viewOf(deletionPreventionOff, checkSp(deletionPreventionOff, secrets(false))?.annotations);
    expect(fact(fromSecret, 'Provisioning settings')).toBe(
      'Prevent accidental deletion is off (DeleteThresholdEnabled false)',
    );
    expect(fact(fromSecret, 'Jobs with threshold 0')).toBeUndefined();
    const fromJob = viewOf(
      deletionPreventionOff,
      checkSp(deletionPreventionOff, secrets(true), { jobs: [job({ deleteThreshold: 0 })] })?.annotations,
    );
    expect(fact(fromJob, 'Provisioning settings')).toBeUndefined();
    expect(fact(fromJob, 'Jobs with threshold 0')).toBe(JOB_ID);
    expect(fromJob.what).toContain('Accidental-deletion prevention is off for');
  });
});

// ---- notification-email-off --------------------------------------------------------------------

describe("notification-email-off: Entra's failure email off, or on with nobody to send it to", () => {
  const secrets = (enabled?: boolean, recipients?: string): SyncSettings => ({
    keys: ['SyncNotificationSettings'],
    notifications: { enabled, recipients },
  });

  it('Enabled false is "off", whatever the recipients', () => {
    expect(checkSp(notificationEmailOff, secrets(false, 'ops@contoso.com'))?.annotations.problem).toBe('off');
    expect(checkSp(notificationEmailOff, secrets(false, 'ops@contoso.com'))?.material).toBe('off');
  });

  it('Enabled true with recipients absent, empty or blank is "no recipients"; with an address it is fine', () => {
    expect(checkSp(notificationEmailOff, secrets(true))?.annotations.problem).toBe('no recipients');
    expect(checkSp(notificationEmailOff, secrets(true, ''))?.annotations.problem).toBe('no recipients');
    expect(checkSp(notificationEmailOff, secrets(true, '  '))?.material).toBe('no recipients');
    expect(checkSp(notificationEmailOff, secrets(true, 'ops@contoso.com'))).toBeUndefined();
  });

  it('Enabled absent says nothing, even without recipients; nor do unread secrets or a configuration not in use', () => {
    expect(checkSp(notificationEmailOff, secrets(undefined))).toBeUndefined();
    expect(checkSp(notificationEmailOff, { keys: [] })).toBeUndefined();
    expect(checkSp(notificationEmailOff, undefined)).toBeUndefined();
    expect(checkSp(notificationEmailOff, secrets(false), { jobs: [idleJob()] })).toBeUndefined();
  });

  it('the view tells "switched off" from "no recipients"', () => {
    const off = viewOf(notificationEmailOff, checkSp(notificationEmailOff, secrets(false))?.annotations);
    expect(off.what).toContain('is switched off');
    expect(fact(off, 'Built-in email')).toBe('off (Enabled false)');
    const nobody = viewOf(notificationEmailOff, checkSp(notificationEmailOff, secrets(true, ' '))?.annotations);
    expect(nobody.what).toContain('has no recipients');
    expect(fact(nobody, 'Built-in email')).toBe('on, no Notification Email address');
  });
});

// ---- provisioning-failures ---------------------------------------------------------------------

describe("provisioning-failures: the failures of a job's window reach the threshold", () => {
  const minuteNow = Math.floor(NOW.getTime() / MIN);
  const code = (count: number, patch: Partial<CodeDigest> = {}): CodeDigest => ({
    count,
    firstAt: ago(HOUR).getTime(),
    lastAt: ago(MIN).getTime(),
    examples: [],
    ...patch,
  });

  function digest(peak: number, patch: Partial<JobDigest> = {}): JobDigest {
    return {
      servicePrincipalId: SP.id,
      servicePrincipalName: 'From the logs',
      minutes: [[minuteNow - 1, peak]],
      inWindow: peak,
      lastAt: ago(MIN).getTime(),
      stretchStart: ago(2 * HOUR).getTime(),
      peak,
      codes: { SystemForCrossDomainIdentityManagementBadResponse: code(peak) },
      ...patch,
    };
  }

  function observe(
    jobs: Record<string, JobDigest>,
    source: ProvisioningObservation['source'] = 'graph',
  ): ProvisioningObservation {
    return {
      source,
      complete: true,
      problems: [],
      digest: { jobs },
      heldDeletes: new Map(),
      activity: new Map(),
      activityUnknown: new Set(),
      eventsRead: 0,
      pagesRead: 0,
    };
  }

  function run(
    jobs: Record<string, JobDigest>,
    opts: {
      snapshots?: JobSnapshot[];
      params?: RuleSettings['params'];
      settingsForJob?: (j: { jobId: string }) => RuleSettings;
    } = {},
  ): RuleHit[] {
    const t = tenant({ jobs: opts.snapshots ?? [], provisioning: observe(jobs) });
    return provisioningFailures.check({
      tenant: t,
      settings: settingsOf(provisioningFailures, opts.params),
      now: NOW,
      settingsForJob: opts.settingsForJob,
    });
  }

  it('templateOfJobId is the part before the first dot, and nothing for an id without one', () => {
    expect(templateOfJobId('Azure2Azure.tenant.guid')).toBe('Azure2Azure');
    expect(templateOfJobId('nodots')).toBeUndefined();
    expect(templateOfJobId('.x')).toBeUndefined();
  });

  it('tierOf: -1 below the threshold, 0 at it, 1 at ten times it, 2 at a hundred times', () => {
    expect(tierOf(9, 10)).toBe(-1);
    expect(tierOf(10, 10)).toBe(0);
    expect(tierOf(99, 10)).toBe(0);
    expect(tierOf(100, 10)).toBe(1);
    expect(tierOf(1000, 10)).toBe(2);
  });

  it('fires when the peak reaches the threshold, not one below it', () => {
    expect(run({ [JOB_ID]: digest(10) }, { params: { threshold: 10 } })).toHaveLength(1);
    expect(run({ [JOB_ID]: digest(9) }, { params: { threshold: 10 } })).toHaveLength(0);
  });

  it('does not fire once the window holds no failure, however high the peak was', () => {
    const old = digest(50, { minutes: [[minuteNow - 120, 50]] });
    expect(run({ [JOB_ID]: old }, { params: { threshold: 10, window: HOUR } })).toHaveLength(0);
    expect(run({ [JOB_ID]: old }, { params: { threshold: 10, window: 3 * HOUR } })).toHaveLength(1);
  });

  it('works without per-job settings, and uses them when given (per-app and per-job threshold, enabled)', () => {
    const d = { [JOB_ID]: digest(10) };
    expect(run(d, { settingsForJob: () => settingsOf(provisioningFailures, { threshold: 11 }) })).toHaveLength(0);
    expect(
      run(d, { params: { threshold: 50 }, settingsForJob: () => settingsOf(provisioningFailures, { threshold: 5 }) })[0]
        ?.annotations.threshold,
    ).toBe(5);
    expect(run(d, { settingsForJob: () => settingsOf(provisioningFailures, {}, { enabled: false }) })).toHaveLength(0);
  });

  it("names the job's configuration from its snapshot, else from another job of the same service principal, else from the logs", () => {
    const fromSnapshot = run({ [JOB_ID]: digest(10) }, { snapshots: [job({ templateId: 'scim' })] })[0];
    expect(fromSnapshot?.annotations.servicePrincipalName).toBe('Fabrikam HR');
    expect(fromSnapshot?.annotations.appId).toBe(SP.appId);
    expect(fromSnapshot?.job?.templateId).toBe('scim');

    const sibling = run({ 'Azure2Azure.t.other': digest(10) }, { snapshots: [job()] })[0];
    expect(sibling?.annotations.servicePrincipalName).toBe('Fabrikam HR');
    expect(sibling?.annotations.templateId).toBe('Azure2Azure');

    const otherSp = run(
      { 'Azure2Azure.t.other': digest(10, { servicePrincipalId: 'dddddddd-0000-4000-8000-000000000009' }) },
      { snapshots: [job()] },
    )[0];
    expect(otherSp?.annotations.servicePrincipalName).toBe('From the logs');
    expect(otherSp?.annotations.appId).toBeUndefined();

    const unnamed = run({ nodots: digest(10, { servicePrincipalId: 'sp-9', servicePrincipalName: '' }) })[0];
    expect(unnamed?.annotations.servicePrincipalName).toBe('sp-9');
    expect(unnamed?.annotations.templateId).toBeUndefined();
  });

  it('orders codes by count, then by name; shows five and sums up the rest', () => {
    const codes = {
      Zeta: code(7),
      Alpha: code(1),
      Beta: code(7),
      Gamma: code(3),
      Delta: code(2),
      Eps: code(1),
      Eta: code(4),
    };
    const hit = run({ [JOB_ID]: digest(25, { codes }) }, { params: { threshold: 10 } })[0]!;
    const shown = (hit.annotations.codes as { code: string }[]).map((c) => c.code);
    expect(shown).toEqual(['Beta', 'Zeta', 'Eta', 'Gamma', 'Delta']);
    expect(hit.annotations.otherCodes).toBe(2);
    expect(hit.annotations.otherFailures).toBe(2);
    expect(hit.annotations.failures).toBe(25);
    expect(hit.annotations.codeCount).toBe(7);
    expect(hit.annotations.source).toBe('graph');
    expect(hit.material).toBe('Alpha,Beta,Delta,Eps,Eta,Gamma,Zeta|tier 0');
  });

  it('the view sums up hidden codes only when there are some, and shows examples by name (and UPN when it differs)', () => {
    const examples = [
      { at: 1, id: 'a', name: 'Adele Vance', upn: 'adele@contoso.com', action: 'Create' },
      { at: 2, id: 'b', name: 'same@contoso.com', upn: 'same@contoso.com', action: 'Update' },
      { at: 3, id: 'c', name: 'Group A', action: 'Create' },
    ];
    const one = run({
      [JOB_ID]: digest(10, {
        codes: { BadCode: code(10, { examples, reason: 'It broke.', recommendedAction: 'Fix it.' }) },
      }),
    })[0]!;
    const view = viewOf(provisioningFailures, one.annotations);
    expect(fact(view, 'Other error codes')).toBeUndefined();
    const text = fact(view, 'BadCode')!;
    expect(text).toContain('For example: Adele Vance (adele@contoso.com), same@contoso.com, Group A.');
    expect(text).toContain('Reason: It broke.');
    expect(text).toContain('Recommended: Fix it.');
    expect(view.since).toBe(ago(2 * HOUR).toISOString());
    expect(view.what).toContain(`in the last ${formatDuration(HOUR)}, with 1 error code(s)`);

    const bare = viewOf(
      provisioningFailures,
      run({ [JOB_ID]: digest(10, { codes: { BadCode: code(10) } }) })[0]!.annotations,
    );
    expect(fact(bare, 'BadCode')).not.toContain('For example');
    expect(fact(bare, 'BadCode')).not.toContain('Reason:');

    const many = { A: code(5), B: code(1), C: code(1), D: code(1), E: code(1), F: code(1) };
    const six = viewOf(provisioningFailures, run({ [JOB_ID]: digest(10, { codes: many }) })[0]!.annotations);
    expect(fact(six, 'Other error codes')).toBe('1 more code(s) with 1 failure(s)');
  });
});

// ---- kql rules ---------------------------------------------------------------------------------

describe("kql rules: how channels show the alerts of the user's own rules", () => {
  const COND = 'kql-too-many-errors';
  const rule = kqlRuleDefinition(COND);
  const base: Annotations = {
    threshold: '> 5',
    observed: 7,
    matchingRows: 2,
    rows: 3,
    timeSpanMs: HOUR,
    workspaceId: 'ws-1',
    query: 'AADProvisioningLogs | count',
  };
  const show = (annotations: Annotations, labels: Partial<AlertLabels>) =>
    rule.present(alertOf(COND, annotations, { servicePrincipalId: '-', jobId: '-', ...labels }), CTX);

  it('isKqlCondition and kqlTenantLabel', () => {
    expect(isKqlCondition(COND)).toBe(true);
    expect(isKqlCondition('provisioning-failures')).toBe(false);
    expect(
      kqlTenantLabel({ labels: { tenant: TENANT } } as unknown as Parameters<typeof kqlTenantLabel>[0], 'ws-1'),
    ).toBe(TENANT);
    expect(kqlTenantLabel({ labels: {} } as unknown as Parameters<typeof kqlTenantLabel>[0], 'ws-1')).toBe(
      'workspace:ws-1',
    );
  });

  it('a workspace alert is about the workspace and has no tenant among its IDs', () => {
    const view = show(base, { tenantId: 'workspace:ws-1' });
    expect(view.about).toBe('workspace ws-1');
    expect(script(view, 'Tenant ID')).toBeUndefined();
    expect(script(view, 'Job ID')).toBeUndefined();
    expect(script(view, 'Workspace')).toBe('ws-1');
  });

  it('a tenant alert is about the tenant and has its ID for scripts; a named configuration is what it is about, its job among the IDs', () => {
    const view = show(base, { tenantId: TENANT });
    expect(view.about).toBe(shortTenant(TENANT, CTX));
    expect(script(view, 'Tenant ID')).toBe(TENANT);
    const withJob = show({ ...base, servicePrincipalName: 'Fabrikam HR' }, { tenantId: TENANT, jobId: JOB_ID });
    expect(withJob.about).toBe('Fabrikam HR');
    expect(script(withJob, 'Job ID')).toBe(JOB_ID);
  });

  it('the result says "no value" only when nothing was observed (0 is a value)', () => {
    const zero = show({ ...base, observed: 0 }, { tenantId: 'workspace:ws-1' });
    expect(fact(zero, 'Result')).toBe('0 (2 of 3 row(s) match)');
    expect(zero.what).toBe(`${COND}: > 5 (found 0) over the last ${formatDuration(HOUR)}.`);
    const none = show({ ...base, observed: undefined }, { tenantId: 'workspace:ws-1' });
    expect(fact(none, 'Result')).toBe('no value (2 of 3 row(s) match)');
    expect(none.what).toContain('(found no value)');
  });

  it("the user's steps and description replace the defaults; sample rows become facts", () => {
    const own = show(
      {
        ...base,
        steps: JSON.stringify(['Look at X.']),
        description: 'Too many errors.',
        sample: JSON.stringify([{ a: '1', b: '2' }]),
      },
      { tenantId: 'workspace:ws-1' },
    );
    expect(own.runbook?.steps).toEqual(['Look at X.']);
    expect(own.runbook?.meaning).toBe('Too many errors.');
    expect(fact(own, 'Row 1')).toBe('a=1, b=2');
    const plain = show(base, { tenantId: 'workspace:ws-1' });
    expect(plain.runbook?.steps).toHaveLength(1);
    expect(plain.runbook?.steps[0]).toContain('Run the query');
    expect(plain.runbook?.meaning).toContain('kqlRules');
    expect(fact(plain, 'Row 1')).toBeUndefined();
    expect(script(plain, 'Query')).toBe('AADProvisioningLogs | count');
  });
});
