import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { buildPolicy, ConfigError } from '../../lib/config/config';
import { receiversOf } from '../../lib/dispatch/route';
import schema from '../../config.schema.json';

/** A route's `channels` and `digest` in the config file: validated with JSON paths, in the schema too, inherited like recipients. */

const validate = new Ajv({ allErrors: true }).compile(schema);
const TEAMS = { type: 'teams', urlSetting: 'TEAMS_OPS_URL' };
const HOOK = { type: 'webhook', urlSetting: 'OPS_WEBHOOK_URL', secretSetting: 'OPS_WEBHOOK_SECRET' };

function problemsOf(route: unknown): string[] {
  try {
    buildPolicy({ route }, { emailTo: ['ops@contoso.com'] });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('channels in the config', () => {
  it('are named by type and URL setting, inherited by child routes unless they give their own ([] for none)', () => {
    const policy = buildPolicy(
      {
        route: {
          channels: [TEAMS, HOOK],
          routes: [
            { match: { tenantName: 'A' } },
            { match: { tenantName: 'B' }, channels: [] },
            { match: { tenantName: 'C' }, channels: [{ ...TEAMS, cardVersion: '1.4' }] },
          ],
        },
      },
      { emailTo: ['ops@contoso.com'] },
    );
    const [a, b, c] = policy.route.routes;
    expect(policy.route.channels?.map((ch) => ch.id)).toEqual(['teams:TEAMS_OPS_URL', 'webhook:OPS_WEBHOOK_URL']);
    expect(a?.channels).toEqual(policy.route.channels);
    expect(b?.channels).toBeUndefined();
    expect(c?.channels).toEqual([
      { id: 'teams:TEAMS_OPS_URL', type: 'teams', urlSetting: 'TEAMS_OPS_URL', cardVersion: '1.4' },
    ]);
    expect(receiversOf(a!).map((r) => r.id)).toEqual([
      'root.0',
      'root.0~teams:TEAMS_OPS_URL',
      'root.0~webhook:OPS_WEBHOOK_URL',
    ]);
    expect(
      validate({ route: { channels: [TEAMS, HOOK], routes: [{ match: { tenantName: 'A' }, channels: [] }] } }),
      JSON.stringify(validate.errors),
    ).toBe(true);
  });

  it('refuse a URL or secret written into the file, and name each mistake by its path', () => {
    expect(
      problemsOf({
        channels: [{ type: 'teams', urlSetting: 'https://prod-01.westeurope.logic.azure.com/workflows/x?sig=abc' }],
      }),
    ).toEqual([
      expect.stringMatching(
        /^route\.channels\[0\]\.urlSetting: expected the name of an app setting \(e\.g\. TEAMS_OPS_URL\), not the URL itself/,
      ),
    ]);
    expect(
      problemsOf({
        channels: [
          { type: 'webhook', urlSetting: 'HOOK_URL' },
          { type: 'slack', urlSetting: 'X' },
          { type: 'teams', urlSetting: 'T', secretSetting: 'S' },
          'teams',
        ],
      }),
    ).toEqual([
      'route.channels[0].secretSetting: required: the name of the app setting that holds the Standard Webhooks signing secret (whsec_ and base64) (the value itself never goes in this file)',
      // Every registered channel a route may list, in the registry's order.
      expect.stringMatching(/^route\.channels\[1\]\.type: expected one of teams, webhook(, [a-z]+)*, got "slack"$/),
      'route.channels[2].secretSetting: unknown field for a teams channel (expected one of type, urlSetting, cardVersion)',
      'route.channels[3]: expected a channel such as { "type": "teams", "urlSetting": "TEAMS_OPS_URL" }, got "teams"',
    ]);
  });

  it("refuse one of the app's own settings, the same URL setting twice, and a secret in the URL's setting", () => {
    expect(
      problemsOf({ channels: [{ type: 'webhook', urlSetting: 'ACS_CONNECTION_STRING', secretSetting: 'S' }] }),
    ).toEqual([
      "route.channels[0].urlSetting: ACS_CONNECTION_STRING is one of Entra Sync Watch's own settings; name a setting of this channel's own (e.g. TEAMS_OPS_URL)",
    ]);
    expect(problemsOf({ channels: [TEAMS, { ...TEAMS, cardVersion: '1.4' }] })).toEqual([
      'route.channels[1].urlSetting: the same setting as route.channels[0]; a route posts to each URL once',
    ]);
    expect(problemsOf({ channels: [{ ...HOOK, secretSetting: HOOK.urlSetting }] })).toEqual([
      'route.channels[0].secretSetting: must name another setting than urlSetting',
    ]);
    expect(problemsOf({ channels: [{ ...TEAMS, cardVersion: '2.0' }] })).toEqual([
      'route.channels[0].cardVersion: expected "1.5" (default) or "1.4", got "2.0"',
    ]);
  });

  it('the schema refuses the same shapes', () => {
    for (const route of [
      { channels: [{ type: 'teams', urlSetting: 'https://x.example' }] },
      { channels: [{ type: 'webhook', urlSetting: 'HOOK_URL' }] },
      { channels: [{ type: 'slack', urlSetting: 'X' }] },
      { channels: [{ ...TEAMS, cardVersion: '2.0' }] },
      { digest: { at: '8:00', timeZone: 'UTC' } },
      { digest: { timeZone: 'UTC' } },
      { timeZone: '' },
    ]) {
      expect(validate({ route }), JSON.stringify(route)).toBe(false);
      expect(problemsOf(route), JSON.stringify(route)).not.toEqual([]);
    }
  });
});

describe("a route's time zone", () => {
  const policyOf = (route: unknown) => buildPolicy({ route }, { emailTo: ['ops@contoso.com'] });

  it('is an IANA name, made canonical, inherited by child routes; UTC when none is given', () => {
    const policy = policyOf({
      timeZone: 'europe/berlin',
      routes: [{ match: { tenantName: 'A' } }, { match: { tenantName: 'B' }, timeZone: 'America/New_York' }],
    });
    expect(policy.route.timeZone).toBe('Europe/Berlin');
    expect(policy.route.routes.map((r) => r.timeZone)).toEqual(['Europe/Berlin', 'America/New_York']);
    expect(policyOf({}).route.timeZone).toBeUndefined();
    expect(validate({ route: { timeZone: 'Europe/Berlin' } })).toBe(true);
  });

  it('is refused with the path when it is not a time zone', () => {
    expect(problemsOf({ routes: [{ match: { tenantName: 'A' }, timeZone: 'Europe/Berlinn' }] })).toEqual([
      'route.routes[0].timeZone: "Europe/Berlinn" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC): the route\'s messages show times in it',
    ]);
  });

  it("is the digest's when the digest names none; a digest in another zone than its route's is refused", () => {
    expect(policyOf({ timeZone: 'Europe/Berlin', digest: { at: '08:00' } }).route.digest).toEqual({
      at: '08:00',
      timeZone: 'Europe/Berlin',
    });
    expect(policyOf({ digest: { at: '08:00' } }).route.digest).toEqual({ at: '08:00', timeZone: 'UTC' });
    // A digest in a zone of its own, on a route without one, stays as it was before routes had zones.
    expect(policyOf({ digest: { at: '08:00', timeZone: 'Asia/Tokyo' } }).route.digest?.timeZone).toBe('Asia/Tokyo');
    expect(problemsOf({ timeZone: 'Europe/Berlin', digest: { at: '08:00', timeZone: 'Asia/Tokyo' } })).toEqual([
      "route.digest.timeZone: Asia/Tokyo differs from the route's timeZone Europe/Berlin: a route's messages and its digest show one time zone; leave this out (the digest follows the route) or make them the same",
    ]);
    expect(
      problemsOf({
        timeZone: 'Europe/Berlin',
        routes: [{ match: { tenantName: 'A' }, digest: { at: '08:00', timeZone: 'UTC' } }],
      }),
    ).toHaveLength(1);
  });
});
