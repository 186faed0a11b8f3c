import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCycle } from '../../lib/cycle/cycle';
import type { Scenario } from '../../emulators';
import { startWorld, type World } from '../support/world';
import { readStatus } from '../../lib/status/status';
import { renderStatusPage } from '../../lib/status/page';
import { renderStatusText } from '../../lib/status/text';
import type { HistoryStore } from '../../lib/store/history-store';

/**
 * The quarantine forecast through whole cycles: the real Graph, identity, ACS and Table Storage
 * SDKs against the private cloud, on a clock of the test's own (the emulator's jobs run by it).
 * A custom SCIM job's escrows grow by 400 a run, every 40 minutes, towards the 5,000 at which
 * Entra starts to judge a quarantine: the monitor warns hours before, Entra then quarantines the
 * job, and the quarantine mutes the warning.
 */

const TENANT = '4c0ffee4-0000-4000-8000-0000000000f1';
const SP = '4a000000-0000-4000-8000-0000000000f1';
const JOB = `scim.4c0ffee40000400080000000000000f1.${SP}`;
const MINUTE = 60_000;

function scenario(): Scenario {
  return {
    name: 'forecast',
    app: { clientId: 'f0f0f0f0-0000-4000-8000-00000000f0f0', clientSecret: 'forecast-secret~1' },
    tenants: [
      {
        id: TENANT,
        displayName: 'Fourth Coffee',
        grants: ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'],
        servicePrincipals: [
          {
            id: SP,
            appId: SP.replace(/^4a/, '5b'),
            displayName: 'Acme HR Portal',
            applicationTemplateId: '8adf8e6e-67b2-4cf2-a259-e3dc5476c621',
            jobs: [{ id: JOB, templateId: 'scim', state: 'healthy', entitled: 9000 }],
          },
        ],
      },
    ],
  } as Scenario;
}

describe('a job heading for quarantine (the quarantine-likely forecast)', () => {
  let now = Date.now();
  let world: World;
  beforeAll(async () => {
    world = await startWorld(scenario(), {}, { clock: () => now });
  });
  afterAll(() => world.stop());

  it('warns hours before the quarantine, the quarantine email follows, and the quarantine mutes the warning', async () => {
    const { control, acs } = { control: world.cloud.control, acs: world.cloud.acs };
    const cycle = () => runCycle(world.deps({ clock: () => new Date(now) }));
    const subjects = () => acs.messages().map((m) => m.subject);

    // The job starts failing: 1,000 objects in escrow after its first run, 400 more with each run.
    control.setJob(TENANT, JOB, { state: 'failing', escrowed: 1000, escrowGrowth: 400, entitled: 9000 });
    const warnedAt: number[] = [];
    for (let run = 0; run < 8 && warnedAt.length === 0; run++) {
      const summary = await cycle();
      expect(summary.errors).toEqual([]);
      if (subjects().some((s) => s.includes('Quarantine likely'))) warnedAt.push(run);
      now += 40 * MINUTE;
    }
    // A trend needs four runs: the warning comes with the fourth (escrows 1,000 → 2,200, +600 an hour).
    expect(warnedAt).toEqual([3]);
    const warning = acs.messages().find((m) => m.subject.includes('Quarantine likely'))!;
    expect(warning.subject).toContain('Acme HR Portal');
    const text = warning.plainText ?? '';
    expect(text).toContain('Entra will likely quarantine Acme HR Portal in about 5 hours');
    expect(text).toContain('countEscrowed 1,000 → 2,200 over the last 4 runs');
    expect(text).toContain('Application provisioning in quarantine status');
    expect(text).toContain('Quarantine reason to expect: EncounteredEscrowProportionThreshold');

    // Two runs later Entra quarantines it for the proportion of failures.
    now += 80 * MINUTE;
    control.setJob(TENANT, JOB, {
      state: 'quarantined',
      quarantine: { reason: 'EncounteredEscrowProportionThreshold', errorCode: 'EncounteredEscrowProportionThreshold' },
    });
    const before = acs.messages().length;
    await cycle();
    const after = acs.messages().slice(before);
    expect(after.map((m) => m.subject).join('\n')).toMatch(/Quarantined: Acme HR Portal/);
    // Nothing more about the warning: it is held while the job is quarantined (not "resolved"), and muted.
    expect(after.map((m) => m.plainText ?? '').join('\n')).not.toContain('Quarantine likely');
    const alerts = [...(await world.deps().alerts.loadAll()).values()];
    const likely = alerts.find((a) => a.labels.condition === 'quarantine-likely');
    expect(likely?.state).toBe('firing');

    // A day later the warning's reminder is due: the quarantine mutes it, and the log says why.
    now += 24 * 60 * MINUTE;
    const beforeReminder = acs.messages().length;
    await cycle();
    expect(
      acs
        .messages()
        .slice(beforeReminder)
        .map((m) => m.plainText ?? '')
        .join('\n'),
    ).not.toContain('Quarantine likely');
    expect(
      world.log.lines.some((l) => /muted alert .*quarantine-likely.*the same job is firing "Quarantined"/.test(l)),
    ).toBe(true);
    // The status view shows what was learnt of the job: four failing runs and the quarantined one (Graph says 0 in escrow after it).
    const deps = world.deps();
    const view = await readStatus({ ...deps, jobHistories: deps.histories as HistoryStore }, { now: new Date(now) });
    expect(view.baselines?.total).toBe(1);
    expect(view.baselines?.jobs[0]).toMatchObject({ tenantId: TENANT, jobId: JOB, runs: 5, lastEscrowed: 0 });
    expect(renderStatusPage(view)).toContain('Job baselines');
    expect(renderStatusText(view)).toMatch(/Job baselines \(1 job\(s\) learnt\)[\s\S]*5 run\(s\)/);
    const order = subjects();
    expect(order.findIndex((s) => s.includes('Quarantine likely'))).toBeLessThan(
      order.findIndex((s) => s.includes('Quarantined')),
    );
  });
});
