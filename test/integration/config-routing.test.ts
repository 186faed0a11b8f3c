import { withoutSince } from '../support/subjects';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCycle } from '../../lib/cycle/cycle';
import { readStatus } from '../../lib/status/status';
import { startHeartbeatReceiver, type HeartbeatReceiver } from '../../emulators/heartbeat';
import { loadTlsMaterial } from '../../emulators/tls';
import { startWorld, type World } from '../support/world';
import { CONTOSO, FABRIKAM_JOB, NORTHWIND, NORTHWIND_JOB, WOODGROVE_JOB } from '../support/demo';

function config(heartbeatUrl: string, silenceEndsAt: string) {
  return {
    $schema: '../config.schema.json',
    tenants: { [CONTOSO]: { name: 'Contoso' }, [NORTHWIND]: { name: 'Northwind' } },
    route: {
      routes: [
        { match: { condition: 'deletion-threshold' }, to: ['change-board@contoso.com'], continue: true },
        { match: { tenantName: 'Northwind' }, to: ['northwind-ops@northwindtraders.com'], cc: ['ops@contoso.com'] },
      ],
    },
    silences: [
      {
        matchers: { app: 'Woodgrove*' },
        startsAt: '2026-01-01T00:00:00Z',
        endsAt: silenceEndsAt,
        createdBy: 'alice@contoso.com',
        comment: 'CHG-1234 Woodgrove migration',
      },
    ],
    heartbeat: { url: heartbeatUrl },
  };
}

describe('routing, silences and the heartbeat from a WATCH_CONFIG file', () => {
  let world: World;
  let heartbeat: HeartbeatReceiver;
  let configPath: string;

  beforeAll(async () => {
    heartbeat = await startHeartbeatReceiver(loadTlsMaterial());
    configPath = join(mkdtempSync(join(tmpdir(), 'esw-config-')), 'watch-config.json');
    writeFileSync(configPath, JSON.stringify(config(heartbeat.url, '2099-01-01T00:00:00Z')));
    world = await startWorld(undefined, { WATCH_CONFIG: configPath });
  });
  afterAll(async () => {
    await world.stop();
    await heartbeat.stop();
  });

  it('routes each alert to its owners, mutes the silenced one until the silence ends, and pings the heartbeat', async () => {
    const { control } = world.cloud;
    control.setJob(CONTOSO, FABRIKAM_JOB, { state: 'quarantined', quarantine: { reason: 'TooManyDeletes' } });
    control.setJob(CONTOSO, WOODGROVE_JOB, {
      state: 'quarantined',
      quarantine: { reason: 'EncounteredQuarantineException' },
    });
    control.setJob(NORTHWIND, NORTHWIND_JOB, {
      state: 'quarantined',
      quarantine: { reason: 'EncounteredEscrowProportionThreshold' },
    });

    const deps = world.deps();
    const first = await runCycle(deps);
    expect(first.errors).toEqual([]);
    expect(first.alertsFiring).toBe(3);
    const byRecipient = Object.fromEntries(
      world.cloud.acs.messages().map((m) => [m.to.map((t) => t.address).join(','), m]),
    );
    expect(Object.keys(byRecipient).sort()).toEqual(['change-board@contoso.com', 'northwind-ops@northwindtraders.com']);
    expect(withoutSince(byRecipient['change-board@contoso.com']!.subject)).toBe(
      'Contoso: Deletion threshold tripped: Fabrikam to Contoso',
    );
    expect(byRecipient['change-board@contoso.com']!.plainText).toContain(
      `Deletion threshold tripped: Fabrikam to Contoso (Contoso)`,
    );
    expect(byRecipient['change-board@contoso.com']!.plainText).toContain(`- Tenant ID: ${CONTOSO}`);
    expect(byRecipient['northwind-ops@northwindtraders.com']!.cc).toEqual([{ address: 'ops@contoso.com' }]);
    expect(world.log.lines.join('\n')).toMatch(/muted alert .*Woodgrove to Contoso.*silence by alice@contoso\.com/);

    expect(first.heartbeat).toBe('sent');
    expect(heartbeat.pings()).toHaveLength(1);
    expect(JSON.parse(heartbeat.pings()[0]!.body)).toMatchObject({
      tenantsChecked: 2,
      alertsFiring: 3,
      notificationsSent: 2,
    });

    const status = await readStatus(deps);
    expect(status.firing.map((f) => f.configuration).sort()).toEqual([
      'Contoso to Northwind',
      'Fabrikam to Contoso',
      'Woodgrove to Contoso',
    ]);
    expect(status.lastCycle?.notificationsSent).toBe(2);

    // The silence ends while Woodgrove is still quarantined: its firing notice goes out now.
    writeFileSync(configPath, JSON.stringify(config(heartbeat.url, new Date(Date.now() - 1000).toISOString())));
    heartbeat.failNext(503, 1);
    const second = await runCycle(world.deps());
    expect(second.notificationsSent).toBe(1);
    expect(withoutSince(world.cloud.acs.messages().at(-1)!.subject)).toBe('Contoso: Quarantined: Woodgrove to Contoso');
    expect(world.cloud.acs.messages().at(-1)!.to).toEqual([{ address: 'ops@contoso.com' }]);
    // A heartbeat that fails is logged; the dead man's switch itself will notice the missing ping.
    expect(second.heartbeat).toBe('failed');
    expect(second.errors).toEqual([]);
  });

  it('a broken config file stops the cycle with the path of the bad field', async () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'esw-config-')), 'broken.json');
    writeFileSync(broken, JSON.stringify({ route: { routes: [{ match: { condition: 'quarantined' } }] } }));
    const env = { ...world.env, WATCH_CONFIG: broken };
    const { loadSettings } = await import('../../lib/settings/settings');
    const { cycleDepsFromSettings } = await import('../../lib/app');
    expect(() => cycleDepsFromSettings(loadSettings(env), env, world.log)).toThrow(
      /route\.routes\[0\]\.match\.condition/,
    );
  });
});
