import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCycle } from '../../lib/cycle/cycle';
import { startWorld, type World } from '../support/world';

const DEMO_CONFIG = join(__dirname, '..', '..', 'emulators', 'scenarios', 'demo-config.json');

/**
 * The demo's story (`npm run demo`) through real cycles, with the demo config (tenant names,
 * Northwind's own route and its silence, Teams and a webhook), as a new user receives it: the
 * five-alert email opens with the worst alert and its button and names the tenant first, its
 * reminder threads apart from nothing, and the resolved email says what is not resolved:
 * ServiceNow's failures still open, Northwind's quarantine muted.
 */
describe("the demo's emails", () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(undefined, { WATCH_CONFIG: DEMO_CONFIG });
  });
  afterAll(() => world.stop());

  it('say what broke first, then what is still open when four of five recover', async () => {
    const { cloud } = world;
    let now = Date.now();
    const cycle = async () => {
      const summary = await runCycle(world.deps({ clock: () => new Date(now) }));
      expect(summary.errors, summary.errors.join('\n')).toEqual([]);
      return summary;
    };
    const opsEmails = () => cloud.acs.messages().filter((m) => m.to.some((t) => t.address === 'ops@contoso.com'));

    await cycle();
    expect(opsEmails()).toHaveLength(0);

    for (const step of [
      'deletion-threshold-tripped',
      'woodgrove-quarantined',
      'northwind-quarantined',
      'cloud-sync-stalled',
      'scim-failing',
    ])
      cloud.control.step(step);
    await cycle();
    const [incident] = opsEmails();
    expect(incident?.subject).toBe('Contoso: Deletion threshold tripped: Fabrikam to Contoso (+4 more)');
    expect(incident?.plainText).toMatch(
      /^CRITICAL: ACT NOW · 5 ALERTS\n\nDeletion threshold tripped: Fabrikam to Contoso \(Contoso\)\n/,
    );
    expect(incident?.html).toContain('class="esw-primary"');
    expect(incident?.headers?.['X-Entra-Sync-Watch-Kind']).toBe('firing');

    // The repeat interval (10 s in the demo config) passes: a reminder of the five.
    cloud.control.step('still-quarantined');
    now += 11_000;
    await cycle();
    expect(opsEmails()).toHaveLength(2);
    expect(opsEmails()[1]?.subject).toBe(
      'Contoso: Reminder: Deletion threshold tripped: Fabrikam to Contoso (+4 more)',
    );

    for (const step of ['recovered', 'woodgrove-recovered', 'cloud-sync-caught-up', 'scim-recovered'])
      cloud.control.step(step);
    now += 1_000;
    await cycle();
    const resolved = opsEmails()[2]!;
    expect(resolved.subject).toBe('Contoso: Resolved: Deletion threshold tripped: Fabrikam to Contoso (+3 more)');
    expect(resolved.subject).not.toMatch(/critical|warning/i);
    const text = resolved.plainText ?? '';
    expect(text).toContain('Not all clear: 1 alert is still open in this route, and 1 more is muted.');
    expect(text).toMatch(/^- Still open: Provisioning failures: ServiceNow \(Contoso\) \(Warning, since .*\)$/m);
    expect(text).toMatch(
      /^- Muted: Quarantined: Contoso to Northwind \(Northwind\) \(silence by bob@contoso\.com .*CHG-4711.*\)$/m,
    );
    expect(resolved.html).toContain('Not all clear: 1 alert is still open in this route, and 1 more is muted.');
    // The Teams card and the webhook post say the same.
    const [card, post] = cloud.webhooks.accepted().slice(-2);
    expect(card?.body).toContain('Still open: Provisioning failures: ServiceNow (Contoso)');
    const payload = JSON.parse(post!.body) as {
      stillOpen: { open: { heading: string }[]; muted: { tenant: string }[] };
    };
    expect(payload.stillOpen.open.map((a) => a.heading)).toEqual(['Provisioning failures: ServiceNow (Contoso)']);
    expect(payload.stillOpen.muted.map((a) => a.tenant)).toEqual(['Northwind']);
  }, 60_000);
});
