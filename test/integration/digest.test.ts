import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { runCycle } from '../../lib/cycle/cycle';
import { dailyOccurrence } from '../../lib/silence/windows';
import { CONTOSO, freshStart, postSubjects, quarantine } from '../support/demo';
import { startWorld, type World } from '../support/world';

/**
 * The daily digest through the real pipeline: at the first cycle at or after its local time, once
 * per day per route, to the route's email and channels, whatever the number of cycles, instances
 * or restarts; a day the monitor did not run is skipped, never sent late the next day.
 */

const HOUR = 3600_000;

describe('daily digest', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());
  beforeEach(() => freshStart(world, 'dg'));

  const policy = buildPolicy(
    {
      tenants: { [CONTOSO]: { name: 'Contoso' } },
      route: {
        digest: { at: '08:00', timeZone: 'Europe/Berlin' },
        channels: [
          { type: 'teams', urlSetting: 'TEAMS_OPS_URL' },
          { type: 'webhook', urlSetting: 'OPS_WEBHOOK_URL', secretSetting: 'OPS_WEBHOOK_SECRET' },
        ],
      },
      // The clocks below run up to days ahead of the emulator, to which every running job would look stalled.
      rules: { 'job-stalled': { enabled: false } },
    },
    { emailTo: ['ops@contoso.com'] },
  );
  /** Today's 08:00 in Berlin, as an instant. */
  const eight = dailyOccurrence('08:00', 'Europe/Berlin', new Date()).at.getTime();
  const at = (ms: number) => world.deps({ policy, clock: () => new Date(eight + ms) });
  const digests = () =>
    world.cloud.acs
      .messages()
      .filter((m) => m.headers?.['X-Entra-Sync-Watch-Kind'] === 'digest')
      .map((m) => m.subject);
  const posts = () => postSubjects(world);

  it('goes out once a day at the local time, to email and every channel, across cycles, instances and restarts', async () => {
    await runCycle(at(-5 * 60_000));
    expect(digests()).toEqual([]);

    const first = await runCycle(at(60_000));
    expect(first.errors).toEqual([]);
    const [subject] = digests();
    expect(subject).toMatch(/^All 2 tenants healthy: daily digest \d{4}-\d{2}-\d{2}$/);
    expect(posts().sort()).toEqual([`teams:${subject}`, `webhook:${subject}`]);
    const webhook = JSON.parse(world.cloud.webhooks.accepted('webhook')[0]!.body);
    expect(webhook).toMatchObject({
      type: 'digest',
      summary: { healthy: true },
      digest: { timeZone: 'Europe/Berlin', tenants: 2, open: [] },
    });

    // More cycles that day, two instances at once, and a new process: nothing more.
    await runCycle(at(6 * 60_000));
    await Promise.all([runCycle(at(11 * 60_000)), runCycle(at(11 * 60_000))]);
    await runCycle(at(12 * HOUR));
    expect(digests()).toHaveLength(1);
    expect(world.cloud.webhooks.accepted()).toHaveLength(2);

    // The next day, two instances reach the time together: one digest.
    await Promise.all([runCycle(at(24 * HOUR + 2 * 60_000)), runCycle(at(24 * HOUR + 2 * 60_000))]);
    expect(digests()).toHaveLength(2);
    expect(world.cloud.webhooks.accepted()).toHaveLength(4);
  });

  it('lists what is open; a day the monitor did not run is skipped, not sent late', async () => {
    quarantine(world);
    await runCycle(at(-HOUR));
    await runCycle(at(60_000));
    expect(digests()).toEqual([
      expect.stringMatching(/^Contoso: daily digest \d{4}-\d{2}-\d{2}, 1 open alert \(1 critical\)$/),
    ]);
    const email = world.cloud.acs.messages().find((m) => m.headers?.['X-Entra-Sync-Watch-Kind'] === 'digest');
    expect(email?.plainText).toContain('Critical: Deletion threshold tripped: Fabrikam to Contoso (Contoso)');
    // Its first screen has the most urgent alert's button, and its times are in the route's time zone.
    expect(email?.html).toMatch(
      /class="esw-primary" href="https:\/\/entra\.microsoft\.com\/[^"]+ProvisioningMenuBlade/,
    );
    expect(email?.plainText).toMatch(/since \d{4}-\d{2}-\d{2} \d\d:\d\d Europe\/Berlin \(UTC\+[12]\)/);
    expect(email?.headers?.['X-Entra-Sync-Watch-Kind']).toBe('digest');

    // Down all of the next day; back two days later at noon: that day's digest, once, and none for the day missed.
    await runCycle(at(48 * HOUR + 4 * HOUR));
    const dates = digests().map((s) => /\d{4}-\d{2}-\d{2}/.exec(s)?.[0]);
    expect(dates).toHaveLength(2);
    expect(Date.parse(dates[1]!) - Date.parse(dates[0]!)).toBe(48 * HOUR);
  });
});
