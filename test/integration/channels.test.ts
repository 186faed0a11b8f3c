import { withoutSince } from '../support/subjects';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { runCycle } from '../../lib/cycle/cycle';
import { type CyclePoint } from '../../lib/model';
import { createHttpPoster } from '../../lib/clients/http-poster';
import type { CycleDeps } from '../../lib/cycle/cycle';
import { readStatus } from '../../lib/status/status';
import { renderStatusPage } from '../../lib/status/page';
import { ECHO_BEARER } from '../../emulators/webhook-receiver';
import { recordSecret } from '../../emulators/secrets';
import { emailSubjects, freshStart, quarantine, recover } from '../support/demo';
import { Crash, crashAt } from '../support/crash';
import { startWorld, type World } from '../support/world';

/**
 * Delivery to Teams and webhooks beside email, through the real pipeline (outbox, lease,
 * notification log) against the emulators' Workflows webhook and signed-webhook receiver, with
 * faults: each channel has its own log and retry, and one failing never holds back another or email.
 */

const CHANNELS = [
  { type: 'teams', urlSetting: 'TEAMS_OPS_URL' },
  { type: 'webhook', urlSetting: 'OPS_WEBHOOK_URL', secretSetting: 'OPS_WEBHOOK_SECRET' },
];

describe('channels: Teams and signed webhooks beside email', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());
  beforeEach(() => freshStart(world, 'ch'));

  const policy = buildPolicy({ route: { channels: CHANNELS } }, { emailTo: ['ops@contoso.com'] });
  /** Short post timeouts, so a receiver that hangs costs the test half a second. */
  const deps = (extra: Partial<CycleDeps> = {}) =>
    world.deps({ policy, poster: createHttpPoster(world.env, { timeoutMs: 500 }), ...extra });
  const trip = () => quarantine(world);
  const emails = () => emailSubjects(world);
  /** What each accepted post said: `teams:<banner>` or `webhook:<kind of its first notice>`. */
  const posts = () =>
    world.cloud.webhooks.accepted().map((p) => {
      const json = JSON.parse(p.body);
      return p.kind === 'teams'
        ? `teams:${json.attachments[0].content.body[0].items[0].text}`
        : `webhook:${json.notices[0].kind}`;
    });

  it('posts a Teams card and a signed webhook beside the email, once each, then the resolved notices', async () => {
    trip();
    const first = await runCycle(deps());
    expect(first.errors).toEqual([]);
    expect([first.notificationsSent, first.postsSent]).toEqual([3, 2]);
    await runCycle(deps());
    expect(emails().map(withoutSince)).toEqual([
      '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b: Deletion threshold tripped: Fabrikam to Contoso',
    ]);
    expect(posts()).toEqual(['teams:CRITICAL: ACT NOW · NEW ALERT', 'webhook:firing']);
    expect(world.cloud.webhooks.posts().every((p) => p.verified && !p.problem)).toBe(true);
    expect(world.cloud.webhooks.posts('webhook').map((p) => p.scheme)).toEqual(['standard-webhooks']);

    recover(world);
    await runCycle(deps());
    await runCycle(deps());
    expect(emails()).toHaveLength(2);
    expect(posts()).toEqual([
      'teams:CRITICAL: ACT NOW · NEW ALERT',
      'webhook:firing',
      'teams:RESOLVED',
      'webhook:resolved',
    ]);
  });

  it("a webhook post verifies with the standardwebhooks library and the secret as configured (not with this monitor's code)", async () => {
    trip();
    await runCycle(deps());
    const [post] = world.cloud.webhooks.accepted('webhook');
    const secret = world.env.OPS_WEBHOOK_SECRET as string;
    expect(secret).toMatch(/^whsec_/);
    const payload = new Webhook(secret).verify(post!.body, post!.headers) as {
      id: string;
      notices: { kind: string }[];
    };
    expect(payload.notices.map((n) => n.kind)).toEqual(['firing']);
    // webhook-id is the message's id, which the payload and the deprecated delivery header carry too.
    expect([post!.headers['webhook-id'], post!.headers['x-entra-sync-watch-delivery']]).toEqual([
      payload.id,
      payload.id,
    ]);
    expect(() => new Webhook(secret).verify(post!.body.replace('firing', 'resolved'), post!.headers)).toThrow(
      WebhookVerificationError,
    );
  });

  it('with Teams down, email and the webhook still go; Teams gets its card next cycle, once', async () => {
    trip();
    world.cloud.webhooks.fail({ kind: 'teams', status: 500, times: 1 });
    const down = await runCycle(deps());
    expect(down.errors.join('\n')).toMatch(
      /posting ".*" to the Teams channel TEAMS_OPS_URL of route root failed, will retry next cycle: .*answered HTTP 500/,
    );
    expect(down.notificationsPending).toBe(1);
    expect(emails()).toHaveLength(1);
    expect(posts()).toEqual(['webhook:firing']);

    const back = await runCycle(deps());
    expect(back.errors).toEqual([]);
    await runCycle(deps());
    expect(posts()).toEqual(['webhook:firing', 'teams:CRITICAL: ACT NOW · NEW ALERT']);
    expect(emails()).toHaveLength(1);
  });

  it('a webhook answering 500 is retried next cycle; email and Teams are not held back', async () => {
    trip();
    world.cloud.webhooks.fail({ kind: 'webhook', status: 500, times: 1 });
    const failed = await runCycle(deps());
    expect(failed.errors.join('\n')).toMatch(
      /to the webhook OPS_WEBHOOK_URL of route root failed, will retry next cycle: .*HTTP 500/,
    );
    expect(posts()).toEqual(['teams:CRITICAL: ACT NOW · NEW ALERT']);
    await runCycle(deps());
    await runCycle(deps());
    expect(posts()).toEqual(['teams:CRITICAL: ACT NOW · NEW ALERT', 'webhook:firing']);
    expect(emails()).toHaveLength(1);
  });

  it('a webhook that takes the post but answers too late gets it again under the same delivery id, which it drops', async () => {
    trip();
    world.cloud.webhooks.fail({ kind: 'webhook', delayMs: 1500, times: 1 });
    const slow = await runCycle(deps());
    expect(slow.errors.join('\n')).toMatch(/OPS_WEBHOOK_URL .*failed, will retry next cycle: .*no answer within/);
    await runCycle(deps());
    await runCycle(deps());
    const webhookPosts = world.cloud.webhooks.posts('webhook');
    expect(webhookPosts).toHaveLength(2);
    expect(webhookPosts.map((p) => p.duplicate)).toEqual([false, true]);
    expect(new Set(webhookPosts.map((p) => p.headers['webhook-id'])).size).toBe(1);
    expect(new Set(webhookPosts.map((p) => p.headers['x-entra-sync-watch-delivery'])).size).toBe(1);
    // Each attempt is signed anew: the same id, its own timestamp and signature.
    expect(webhookPosts.map((p) => p.scheme)).toEqual(['standard-webhooks', 'standard-webhooks']);
    expect(world.cloud.webhooks.accepted('webhook')).toHaveLength(1);
    expect(emails()).toHaveLength(1);
  });

  it('a receiver that echoes the request back leaks no URL signature, token, secret or bearer token into the log, the cycle summary or the status page', async () => {
    const token = 'wh-token-0123456789abcdef0123456789';
    recordSecret('webhook-secret', token); // the run's log scan (test/logscan/) looks for it too
    const env = { ...world.env, OPS_WEBHOOK_URL: `${world.cloud.webhooks.webhookUrl('ops')}?token=${token}` };
    const sig = new URL(world.env.TEAMS_OPS_URL as string).searchParams.get('sig') as string;
    const secret = world.cloud.webhooks.secret;
    trip();
    world.cloud.webhooks.fail({ echo: true, status: 400, times: 2 });
    const d = deps({ poster: createHttpPoster(env, { timeoutMs: 2000 }) });
    const summary = await runCycle(d);
    const errors = summary.errors.join('\n');
    // Still says who answered what, without the query.
    expect(errors).toMatch(
      /Teams channel TEAMS_OPS_URL of route root \(https:\/\/127\.0\.0\.1:\d+\/workflows\/ops\/triggers\/manual\/paths\/invoke \(query hidden\)\) answered HTTP 400/,
    );
    expect(errors).toMatch(/webhook OPS_WEBHOOK_URL of route root .* answered HTTP 400/);
    const view = await readStatus(d, { now: new Date() });
    const places = {
      'cycle errors': errors,
      log: world.log.lines.join('\n'),
      'status JSON': JSON.stringify(view),
      'status page': renderStatusPage(view),
    };
    for (const [where, text] of Object.entries(places)) {
      expect(text, where).toContain('answered HTTP 400');
      for (const [what, value] of Object.entries({ sig, token, secret, bearer: ECHO_BEARER }))
        expect(text.includes(value), `${what} in ${where}`).toBe(false);
      expect(text, where).not.toMatch(/v1=[0-9a-f]{64}/);
      expect(text, where).not.toMatch(/sig=(?!\[)/i);
    }
  });

  it('a webhook that never answers times out alone, and is posted next cycle', async () => {
    trip();
    world.cloud.webhooks.fail({ kind: 'webhook', hang: true, times: 1 });
    const hung = await runCycle(deps());
    expect(hung.errors).toHaveLength(1);
    expect(emails()).toHaveLength(1);
    expect(posts()).toEqual(['teams:CRITICAL: ACT NOW · NEW ALERT']);
    await runCycle(deps());
    expect(posts()).toEqual(['teams:CRITICAL: ACT NOW · NEW ALERT', 'webhook:firing']);
  });

  it('a channel whose setting is missing says which, and never stops email or the other channel', async () => {
    trip();
    const env = { ...world.env, TEAMS_OPS_URL: '' };
    const broken = await runCycle(deps({ poster: createHttpPoster(env, { timeoutMs: 500 }) }));
    expect(broken.errors).toEqual([expect.stringContaining('the app setting TEAMS_OPS_URL is not set')]);
    expect(emails()).toHaveLength(1);
    expect(posts()).toEqual(['webhook:firing']);
    const fixed = await runCycle(deps());
    expect(fixed.errors).toEqual([]);
    expect(posts()).toEqual(['webhook:firing', 'teams:CRITICAL: ACT NOW · NEW ALERT']);
  });

  it('drops what was planned for a channel taken out of the config, instead of failing every cycle', async () => {
    trip();
    world.cloud.webhooks.fail({ kind: 'teams', status: 500, times: 1 });
    await runCycle(deps());
    const emailOnly = buildPolicy({ route: { channels: [CHANNELS[1]] } }, { emailTo: ['ops@contoso.com'] });
    const after = await runCycle(deps({ policy: emailOnly }));
    expect(after.errors).toEqual([]);
    expect(after.notificationsPending).toBe(0);
    expect(world.log.lines.join('\n')).toContain(
      'the Teams channel TEAMS_OPS_URL of route root is no longer in the config: 1 message(s) planned for it are dropped',
    );
    expect(posts()).toEqual(['webhook:firing']);
  });

  // crashAt(point, nth): email's send comes first, then Teams, then the webhook.

  it.each<[CyclePoint, number]>([
    ['planned', 1],
    ['sending', 2],
    ['recorded', 2],
    ['sending', 3],
    ['recorded', 3],
  ])('a cycle stopped at "%s" (#%i) loses no post and doubles none', async (point, nth) => {
    trip();
    await expect(runCycle(deps(crashAt(point, nth)))).rejects.toBeInstanceOf(Crash);
    await runCycle(deps());
    await runCycle(deps());
    expect(emails()).toHaveLength(1);
    expect(
      world.cloud.webhooks
        .posts()
        .map((p) => p.kind)
        .sort(),
    ).toEqual(['teams', 'webhook']);
  });

  it('a cycle stopped between a webhook taking a post and its record posts again under the same delivery id, which the receiver drops', async () => {
    trip();
    await expect(runCycle(deps(crashAt('sent', 3)))).rejects.toBeInstanceOf(Crash);
    await runCycle(deps());
    const webhookPosts = world.cloud.webhooks.posts('webhook');
    expect(webhookPosts.map((p) => p.duplicate)).toEqual([false, true]);
    expect(
      world.cloud.webhooks
        .accepted()
        .map((p) => p.kind)
        .sort(),
    ).toEqual(['teams', 'webhook']);
  });

  it('a cycle stopped between Teams taking a card and its record posts the card again (Workflows has no idempotency key: at least once)', async () => {
    trip();
    await expect(runCycle(deps(crashAt('sent', 2)))).rejects.toBeInstanceOf(Crash);
    await runCycle(deps());
    await runCycle(deps());
    expect(
      world.cloud.webhooks
        .accepted()
        .map((p) => p.kind)
        .sort(),
    ).toEqual(['teams', 'teams', 'webhook']);
    expect(emails()).toHaveLength(1);
  });
});
