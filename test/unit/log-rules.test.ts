import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { loadSettings, SettingsError } from '../../lib/settings/settings';
import { evaluateTenant, inView } from '../../lib/evaluate/evaluate';
import { planFor } from '../../lib/cycle/logs';
import { addFailure, emptyDigest } from '../../lib/observe/provisioning-digest';
import type { JobActivity, ProvisioningObservation } from '../../lib/model/provisioning';
import type { JobSnapshot, TenantObservation } from '../../lib/model/observation';
import { event, MIN, T0 } from '../support/events';

const HOUR = 60 * MIN;
const sp = { id: 'sp-hr', appId: 'app-hr', displayName: 'HR sync' };
const job = (
  status: 'Active' | 'Paused' | 'Quarantine' = 'Active',
  overrides: Partial<JobSnapshot> = {},
): JobSnapshot => ({
  tenantId: 't1',
  servicePrincipal: sp,
  jobId: 'hr.job',
  templateId: 'Workday',
  status: { known: status, raw: status },
  ...overrides,
});

function observation(jobs: JobSnapshot[], provisioning: Partial<ProvisioningObservation> = {}): TenantObservation {
  return {
    tenantId: 't1',
    jobs,
    servicePrincipalsRead: new Set(['sp-hr']),
    servicePrincipalProblems: [],
    provisioning: {
      source: 'graph',
      complete: true,
      problems: [],
      digest: emptyDigest(),
      heldDeletes: new Map(),
      activity: new Map(),
      activityUnknown: new Set(),
      eventsRead: 0,
      pagesRead: 0,
      ...provisioning,
    },
  };
}

const policy = (config: unknown) => buildPolicy(config, { emailTo: ['ops@contoso.com'] });
const silent = (o: TenantObservation, config: unknown, now = T0) =>
  evaluateTenant(o, { now: new Date(now), rules: policy(config).rules }).filter(
    (f) => f.labels.condition === 'no-provisioning-events',
  );
const on = { rules: { 'no-provisioning-events': { enabled: true, silentFor: '6h' } } };

describe('no-provisioning-events', () => {
  const activity = (a: JobActivity) => ({ activity: new Map([['hr.job', a]]) });

  it('is off unless the config switches it on, for all jobs or some', () => {
    const o = observation([job()], activity({ lastEventAt: T0 - 7 * HOUR, watchingSince: T0 - 30 * HOUR }));
    expect(silent(o, {})).toEqual([]);
    expect(silent(o, on)).toHaveLength(1);
    expect(
      silent(o, {
        rules: { 'no-provisioning-events': { silentFor: '6h', overrides: [{ match: { app: 'HR*' }, enabled: true }] } },
      }),
    ).toHaveLength(1);
    expect(planFor(o, policy({}), T0).silenceChecks).toEqual([]);
    expect(planFor(o, policy(on), T0).silenceChecks).toEqual([{ jobId: 'hr.job', silentForMs: 6 * HOUR }]);
  });

  it('fires for an Active job silent longer than silentFor, counting from when the monitor started watching if it never wrote one', () => {
    expect(
      silent(observation([job()], activity({ lastEventAt: T0 - 5 * HOUR, watchingSince: T0 - 30 * HOUR })), on),
    ).toEqual([]);
    const [finding] = silent(
      observation([job()], activity({ lastEventAt: T0 - 7 * HOUR, watchingSince: T0 - 30 * HOUR })),
      on,
    );
    expect(finding?.severity).toBe('warning');
    expect(finding?.annotations).toMatchObject({
      servicePrincipalName: 'HR sync',
      lastEventAt: new Date(T0 - 7 * HOUR).toISOString(),
      silentForMs: 6 * HOUR,
    });
    expect(silent(observation([job()], activity({ watchingSince: T0 - 2 * HOUR })), on)).toEqual([]);
    expect(silent(observation([job()], activity({ watchingSince: T0 - 7 * HOUR })), on)).toHaveLength(1);
    expect(silent(observation([job('Paused')], activity({ watchingSince: T0 - 70 * HOUR })), on)).toEqual([]);
  });

  it("holds its alert when the job's newest event could not be read", () => {
    const labels = {
      tenantId: 't1',
      servicePrincipalId: 'sp-hr',
      jobId: 'hr.job',
      condition: 'no-provisioning-events',
    };
    expect(inView(labels, observation([job()]))).toBe(true);
    expect(inView(labels, observation([job()], { activityUnknown: new Set(['hr.job']) }))).toBe(false);
    expect(inView(labels, { ...observation([job()]), provisioning: undefined })).toBe(false);
  });
});

describe('a tenant rule switched on for some jobs only', () => {
  it('judges only those jobs', () => {
    const digest = emptyDigest();
    for (let i = 0; i < 12; i++) {
      addFailure(digest, event({ at: T0 - i * MIN, job: 'scim.servicenow' }), HOUR, T0);
      addFailure(
        digest,
        event({ at: T0 - i * MIN, job: 'scim.other', sp: { id: 'sp-other', displayName: 'Other app' } }),
        HOUR,
        T0,
      );
    }
    const config = {
      rules: {
        'provisioning-failures': { enabled: false, overrides: [{ match: { app: 'ServiceNow' }, enabled: true }] },
      },
    };
    const findings = evaluateTenant(observation([], { digest }), { now: new Date(T0), rules: policy(config).rules });
    expect(findings.map((f) => f.labels.jobId)).toEqual(['scim.servicenow']);
  });
});

describe('Log Analytics settings', () => {
  const valid = {
    ALERT_EMAIL_TO: 'ops@contoso.com',
    ALERT_EMAIL_FROM: 'DoNotReply@contoso.azurecomm.net',
    ACS_ENDPOINT: 'https://contoso.communication.azure.com',
  };
  const problems = (env: Record<string, string>) => {
    try {
      loadSettings(env);
      return [];
    } catch (error) {
      return (error as SettingsError).problems;
    }
  };

  it('reads LOG_ANALYTICS_WORKSPACE_ID and LOG_ANALYTICS_ENDPOINT', () => {
    expect(loadSettings(valid).logAnalytics).toBeUndefined();
    expect(
      loadSettings({ ...valid, LOG_ANALYTICS_WORKSPACE_ID: '6F1C2D3E-4B5A-4978-8A9B-0C1D2E3F4A5B' }).logAnalytics,
    ).toEqual({ workspaceId: '6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b', endpoint: 'https://api.loganalytics.io' });
    expect(
      loadSettings({
        ...valid,
        LOG_ANALYTICS_WORKSPACE_ID: '6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b',
        LOG_ANALYTICS_ENDPOINT: 'https://api.loganalytics.us',
      }).logAnalytics?.endpoint,
    ).toBe('https://api.loganalytics.us');
  });

  it('names what is wrong with them', () => {
    expect(problems({ ...valid, LOG_ANALYTICS_WORKSPACE_ID: 'my-workspace' })).toEqual([
      'LOG_ANALYTICS_WORKSPACE_ID="my-workspace" is not a workspace ID; expected the workspace\'s GUID (Log Analytics workspace > Overview > Workspace ID)',
    ]);
    expect(problems({ ...valid, LOG_ANALYTICS_ENDPOINT: 'https://api.loganalytics.us' })).toEqual([
      'LOG_ANALYTICS_ENDPOINT is set without LOG_ANALYTICS_WORKSPACE_ID; set the workspace ID too (or neither)',
    ]);
    expect(
      problems({
        ...valid,
        LOG_ANALYTICS_WORKSPACE_ID: '6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b',
        LOG_ANALYTICS_ENDPOINT: 'http://api.loganalytics.io',
      })[0],
    ).toMatch(/^LOG_ANALYTICS_ENDPOINT=.* must use https/);
  });
});
