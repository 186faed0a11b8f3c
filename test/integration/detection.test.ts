import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCycle } from '../../lib/cycle/cycle';
import type { Scenario } from '../../emulators';
import { startWorld, type World } from '../support/world';

/**
 * Every condition, on every job type, through whole cycles: the real Graph, identity, ACS and
 * Table Storage SDKs against the private cloud. One tenant holds a configuration of each kind
 * (cross-tenant, gallery SCIM, custom SCIM, HR inbound, Entra Cloud Sync with three jobs), each in
 * trouble its own way; a second tenant refuses the synchronization secrets.
 */

const FOURTH = '4c0ffee4-0000-4000-8000-000000000004';
const LITWARE = '4c0ffee4-0000-4000-8000-000000000005';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const SP = {
  fabrikam: '4a000000-0000-4000-8000-000000000001',
  tailwind: '4a000000-0000-4000-8000-000000000002',
  servicenow: '4a000000-0000-4000-8000-000000000003',
  acme: '4a000000-0000-4000-8000-000000000004',
  workday: '4a000000-0000-4000-8000-000000000005',
  cloudSync: '4a000000-0000-4000-8000-000000000006',
  legacy: '4a000000-0000-4000-8000-000000000007',
  litware: '4a000000-0000-4000-8000-000000000008',
};
const JOB = {
  fabrikam: 'Azure2Azure.4c0ffee4000040008000000000000004.1',
  tailwind: 'Azure2Azure.4c0ffee4000040008000000000000004.2',
  acme: 'scim.4c0ffee4000040008000000000000004.4',
  provisioning: 'AD2AADProvisioning.4c0ffee4000040008000000000000004.6',
};

function scenario(): Scenario {
  const sp = (
    id: string,
    displayName: string,
    applicationTemplateId: string | null,
    jobs: Scenario['tenants'][number]['servicePrincipals'][number]['jobs'],
    secrets?: Record<string, string | Record<string, unknown>>,
  ) => ({
    id,
    appId: id.replace(/^4a/, '5b'),
    displayName,
    applicationTemplateId,
    jobs,
    ...(secrets ? { secrets } : {}),
  });
  const notifications = (overrides: Record<string, unknown>) => ({
    SyncNotificationSettings: {
      Enabled: true,
      Recipients: 'it@fourthcoffee.com',
      DeleteThresholdEnabled: true,
      DeleteThresholdValue: 500,
      ...overrides,
    },
  });
  return {
    name: 'detection',
    app: { clientId: 'd1d1d1d1-0000-4000-8000-00000000d1d1', clientSecret: 'detection-secret~1' },
    tenants: [
      {
        id: FOURTH,
        displayName: 'Fourth Coffee',
        grants: ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'],
        servicePrincipals: [
          // Quarantined for almost four weeks: its last week, critical; Entra disables it in the second cycle.
          sp(SP.fabrikam, 'Fabrikam to Fourth Coffee', '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7', [
            {
              id: JOB.fabrikam,
              templateId: 'Azure2Azure',
              state: 'quarantined',
              quarantine: {
                reason: 'EncounteredQuarantineException',
                errorCode: 'AzureDirectoryB2BManagementPolicyCheckFailure',
                seriesBegan: new Date(Date.now() - 27 * DAY).toISOString(),
                seriesCount: 27,
              },
            },
          ]),
          // Paused by an admin: a warning from the second cycle on.
          sp(SP.tailwind, 'Tailwind to Fourth Coffee', '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7', [
            { id: JOB.tailwind, templateId: 'Azure2Azure', state: 'paused' },
          ]),
          // A gallery SCIM app whose secret token expires in 10 days.
          sp(
            SP.servicenow,
            'ServiceNow',
            'b7a2c5e1-3f4d-4e6a-9c8b-0d1e2f3a4b5c',
            [{ id: 'ServiceNowOutDelta.4c0ffee4.3', templateId: 'ServiceNowOutDelta', state: 'healthy' }],
            {
              BaseAddress: 'https://fourthcoffee.service-now.example/api/scim',
              SecretToken: 'x',
              ...notifications({}),
              TokenExpiration: 'now+10d',
            },
          ),
          // A custom SCIM app failing below quarantine.
          sp(SP.acme, 'Acme HR Portal', '8adf8e6e-67b2-4cf2-a259-e3dc5476c621', [
            { id: JOB.acme, templateId: 'scim', state: 'failing', escrowed: 212 },
          ]),
          // HR inbound: its runs fail completely, and Entra's own email is off.
          sp(
            SP.workday,
            'Workday to Entra ID',
            'd1d1d1d1-0000-4000-8000-00000000aaaa',
            [
              {
                id: 'Workday2AAD.4c0ffee4.5',
                templateId: 'Workday2AAD',
                state: 'healthy',
                successiveFailures: 3,
                lastExecution: {
                  state: 'Failed',
                  error: {
                    code: 'HRConnectionFailed',
                    message: 'The Workday tenant rejected the integration user.',
                    tenantActionable: true,
                  },
                },
              },
            ],
            notifications({ Enabled: false }),
          ),
          // Cloud Sync: the provisioning job stalled; deletion prevention switched off.
          sp(
            SP.cloudSync,
            'fourthcoffee.local',
            '1a4721b3-e57f-4451-ae87-ef078703ec94',
            [
              { id: JOB.provisioning, templateId: 'AD2AADProvisioning', state: 'stalled', lastRunAgo: '4h' },
              { id: 'AD2AADPasswordHash.4c0ffee4.7', templateId: 'AD2AADPasswordHash', state: 'healthy' },
              {
                id: 'AAD2ADExchangeHybridWriteback.4c0ffee4.8',
                templateId: 'AAD2ADExchangeHybridWriteback',
                state: 'created',
              },
            ],
            notifications({ DeleteThresholdEnabled: false }),
          ),
          // Graph refuses this one's jobs (a fault below): only its alerts are held.
          sp(SP.legacy, 'Legacy Directory Connector', 'e1e1e1e1-0000-4000-8000-00000000bbbb', [
            { id: 'LegacyOutDelta.4c0ffee4.9', templateId: 'LegacyOutDelta', state: 'healthy' },
          ]),
        ],
      },
      {
        id: LITWARE,
        displayName: 'Litware',
        grants: ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'],
        servicePrincipals: [
          sp(
            SP.litware,
            'Fourth Coffee to Litware',
            '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7',
            [{ id: 'Azure2Azure.litware.1', templateId: 'Azure2Azure', state: 'healthy' }],
            notifications({ Enabled: false }),
          ),
        ],
      },
    ],
  } as Scenario;
}

describe('every condition on every job type, through whole cycles', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(scenario());
  });
  afterAll(() => world.stop());

  it('raises each condition once, ends a quarantine Entra disabled without "resolved", and resolves what recovers', async () => {
    const { control } = world.cloud;
    control.injectFault({
      status: 403,
      times: 1000,
      tenantId: LITWARE,
      inBatch: true,
      pathIncludes: '/synchronization/secrets',
    });
    const messages = () => world.cloud.acs.messages();

    const first = await runCycle(world.deps());
    expect(first.tenantsUnreadable).toEqual([]);
    expect(first.jobsSeen).toBe(10);
    expect(first.errors).toEqual([]);
    // Litware's secrets are refused: named once, as a warning; the tenant is read and its email check held.
    const litwareLines = world.log.lines.filter((l) => l.includes(LITWARE));
    expect(litwareLines.filter((l) => l.includes('synchronization/secrets not read'))).toHaveLength(1);
    expect(litwareLines.find((l) => l.includes('synchronization/secrets'))).toMatch(
      /^warn: .*likely missing Synchronization\.Read\.All.*skipped for 1 of 1 configuration/,
    );

    expect(messages()).toHaveLength(1);
    const email = messages()[0]!;
    // The tenant first, the most urgent alert, how many more; the first screen is the quarantine's.
    expect(email.subject).toBe(`${FOURTH}: Quarantined: Fabrikam to Fourth Coffee (+7 more)`);
    const text = email.plainText;
    expect(text).toMatch(/^CRITICAL: ACT NOW · 8 ALERTS\n\nQuarantined: Fabrikam to Fourth Coffee/);
    expect(text).toContain(`- Critical: Quarantined: Fabrikam to Fourth Coffee (${FOURTH})`);
    expect(text).toMatch(/If it stays quarantined, Entra disables this job in 1 day \(.*\)\./);
    expect(text).toContain(`- Warning: Job stalled: fourthcoffee.local (${FOURTH})`);
    expect(text).toMatch(
      /has completed no run for (3 h 59 min|4 h), although its schedule is Active and it runs every 2 min/,
    );
    expect(text).toMatch(/- Schedule: every 2 min, Active\n- Allowed without a completed run: 1 h/);
    expect(text).toContain(`Job failing: Acme HR Portal (${FOURTH})`);
    expect(text).toContain('Objects in escrow: 212');
    expect(text).toContain(`Job failing: Workday to Entra ID (${FOURTH})`);
    expect(text).toContain('Error code: HRConnectionFailed');
    expect(text).toContain('Runs that failed in a row: 3');
    // Three complete failures in a row: a credential quarantine is likely within the next run.
    expect(text).toContain(`Quarantine likely: Workday to Entra ID (${FOURTH})`);
    expect(text).toContain('3 runs in a row failed completely');
    expect(text).toContain(`Secret token expiring: ServiceNow (${FOURTH})`);
    expect(text).toContain(`Deletion prevention off: fourthcoffee.local (${FOURTH})`);
    expect(text).toContain(`Entra notification email off: Workday to Entra ID (${FOURTH})`);
    expect(text).not.toContain('Tailwind'); // a pause waits one more cycle
    expect(text).not.toContain('Litware');
    const firing = new Map(
      [...(await world.deps().alerts.loadAll()).values()].map((a) => [
        `${a.labels.condition}:${String(a.annotations.servicePrincipalName)}`,
        a,
      ]),
    );
    expect(firing.get('quarantine:Fabrikam to Fourth Coffee')?.severity).toBe('critical');
    expect(firing.get('job-disabled:Tailwind to Fourth Coffee')?.state).toBe('pending');

    // Entra disables Fabrikam's job after four weeks; Tailwind is still paused; Graph now refuses the
    // legacy connector's jobs, which is that configuration's problem, not the tenant's.
    control.setJob(FOURTH, JOB.fabrikam, { state: 'disabled' });
    control.injectFault({
      status: 403,
      times: 1000,
      tenantId: FOURTH,
      inBatch: true,
      pathIncludes: `/${SP.legacy}/synchronization/jobs`,
    });
    const second = await runCycle(world.deps());
    expect(second.tenantsUnreadable).toEqual([]);
    expect(second.jobsSeen).toBe(9); // not the legacy connector's
    expect(second.errors).toHaveLength(1);
    expect(second.errors[0]).toContain(`jobs of "Legacy Directory Connector" (${SP.legacy}) not read: 403`);
    expect(second.notificationsSent).toBe(1);
    const disabled = messages()[1]!;
    expect(disabled.subject).toBe(`${FOURTH}: Cannot read jobs: Legacy Directory Connector (+3 more)`);
    expect(disabled.plainText).toContain(`- New · Critical: Cannot read jobs: Legacy Directory Connector (${FOURTH})`);
    expect(disabled.plainText).toContain(`Job disabled: Fabrikam to Fourth Coffee (${FOURTH})`);
    expect(disabled.plainText).toContain(`Job paused: Tailwind to Fourth Coffee (${FOURTH})`);
    expect(disabled.plainText).toContain(`- Ended: Quarantined: Fabrikam to Fourth Coffee (${FOURTH})`);
    expect(disabled.plainText).toMatch(
      /Was disabled by Entra, not recovered \(nothing syncs until the cause is fixed and the job is started again\); the quarantine ended at .*, after .*\./,
    );
    expect(disabled.plainText).not.toMatch(/Resolved/);
    const alerts = [...(await world.deps().alerts.loadAll()).values()];
    expect(
      alerts
        .filter((a) => a.labels.condition === 'job-disabled')
        .map((a) => a.severity)
        .sort(),
    ).toEqual(['critical', 'warning']);

    // Cloud Sync's agent is back, Acme's mapping fixed, ServiceNow's token renewed: three resolved notices in one email.
    control.setJob(FOURTH, JOB.provisioning, { state: 'healthy' });
    control.setJob(FOURTH, JOB.acme, { state: 'healthy' });
    control.setSecrets(FOURTH, SP.servicenow, { SecretToken: 'y', TokenExpiration: 'now+365d' });
    const third = await runCycle(world.deps());
    expect(third.notificationsSent).toBe(1);
    const resolved = messages()[2]!;
    expect(resolved.subject).toMatch(new RegExp(`^${FOURTH}: Resolved: .* \\(\\+2 more\\)$`));
    expect(resolved.headers?.['X-Entra-Sync-Watch-Kind']).toBe('resolved');
    // Resolved is not all clear: the quarantine ended badly, Workday still fails, and more are open.
    expect(resolved.plainText).toMatch(/^Not all clear: \d+ alerts are still open in this route/m);
    expect(resolved.plainText).toMatch(/Completed a run again at .*, after/);
    expect(resolved.plainText).toMatch(/Runs without errors again at .*, after/);
    expect(resolved.plainText).toMatch(/Has a renewed token at .*, after/);
  });
});
