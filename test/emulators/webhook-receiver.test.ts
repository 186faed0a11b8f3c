import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startWebhookReceiver,
  TEAMS_MESSAGE_LIMIT_BYTES,
  type WebhookReceiver,
} from '../../emulators/webhook-receiver';
import { loadTlsMaterial } from '../../emulators/tls';
import type { PlannedChannel } from '../../lib/model';
import type { TeamsTarget } from '../../lib/notify/channels/teams';
import type { WebhookTarget } from '../../lib/notify/channels/webhook';
import { channelPoster, type ChannelPoster } from '../support/channel-poster';
import { teamsEnvelope } from '../../lib/notify/channels/teams';

/** The emulator's Teams Workflows webhook and signed-webhook receiver, driven by the product's poster and by hand. */

const TEAMS: TeamsTarget & PlannedChannel = { id: 'teams:T', type: 'teams', urlSetting: 'T', receiver: 'root~teams:T' };
const HOOK: WebhookTarget & PlannedChannel = {
  id: 'webhook:W',
  type: 'webhook',
  urlSetting: 'W',
  secretSetting: 'S',
  receiver: 'root~webhook:W',
};
const card = (body: unknown[] = [{ type: 'TextBlock', text: 'hello' }]) =>
  JSON.stringify(teamsEnvelope({ type: 'AdaptiveCard', version: '1.5', body }));
const json = (body: string) => ({ body, contentType: 'application/json; charset=utf-8', summary: 's' });

describe('webhook receiver emulator', () => {
  let receiver: WebhookReceiver;
  let outbox: string;
  let env: Record<string, string>;
  let poster: ChannelPoster;
  beforeAll(async () => {
    outbox = mkdtempSync(join(tmpdir(), 'esw-hooks-'));
    receiver = await startWebhookReceiver({ tls: loadTlsMaterial(), outboxDir: outbox });
    env = { T: receiver.teamsUrl('ops'), W: receiver.webhookUrl('ops'), S: receiver.secret };
    poster = channelPoster(env, { timeoutMs: 500 });
  });
  afterAll(() => receiver.stop());
  beforeEach(() => receiver.reset());

  it('takes a Workflows envelope with 202, records it and writes it out', async () => {
    await poster.post(TEAMS, json(card()), { idempotencyKey: 'k' });
    const [post] = receiver.accepted('teams');
    expect(post).toMatchObject({ kind: 'teams', name: 'ops', verified: true });
    expect(post?.problem).toBeUndefined();
    expect(JSON.parse(readFileSync(post!.filePath!, 'utf8')).attachments[0].content.body[0].text).toBe('hello');
  });

  it('refuses a Workflows URL with the wrong sig (401) and a body that is not the envelope (400)', async () => {
    const wrongSig = channelPoster({ T: env.T!.replace(/sig=[^&]+/, 'sig=forged') });
    await expect(wrongSig.post(TEAMS, json(card()), { idempotencyKey: 'k' })).rejects.toThrow(/answered HTTP 401/);
    await expect(
      poster.post(TEAMS, json('{"type":"AdaptiveCard","body":[]}'), { idempotencyKey: 'k' }),
    ).rejects.toThrow(/answered HTTP 400: .*type must be \\?"message\\?"/);
    expect(receiver.accepted()).toEqual([]);
  });

  it('still answers 202 for a card over 28 KB, and records the problem the flow run would report', async () => {
    await poster.post(TEAMS, json(card([{ type: 'TextBlock', text: 'x'.repeat(TEAMS_MESSAGE_LIMIT_BYTES) }])), {
      idempotencyKey: 'k',
    });
    expect(receiver.posts('teams')[0]?.problem).toMatch(/^MessageSizeExceeded/);
  });

  it('takes a signed webhook post and names a second delivery of the same id a duplicate', async () => {
    await poster.post(HOOK, json('{"a":1}'), { idempotencyKey: 'k1' });
    await poster.post(HOOK, json('{"a":1}'), { idempotencyKey: 'k1' });
    expect(receiver.posts('webhook').map((p) => [p.verified, p.duplicate])).toEqual([
      [true, false],
      [true, true],
    ]);
    expect(receiver.accepted('webhook')).toHaveLength(1);
  });

  it('refuses a tampered body: signed for one body, sent with another', async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = `v1=${createHmac('sha256', receiver.secret).update(`${timestamp}.{"amount":1}`).digest('hex')}`;
    const response = await fetch(env.W!, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Entra-Sync-Watch-Timestamp': String(timestamp),
        'X-Entra-Sync-Watch-Signature': signature,
      },
      body: '{"amount":1000}',
    });
    expect(response.status).toBe(401);
    expect(receiver.posts('webhook')[0]).toMatchObject({ verified: false, problem: 'signature mismatch' });
  });

  it('refuses an old timestamp (a replay) and a wrong secret, which the monitor reports with the answer', async () => {
    const stale = channelPoster(env, { clock: () => new Date(Date.now() - 10 * 60_000) });
    await expect(stale.post(HOOK, json('{}'), { idempotencyKey: 'k' })).rejects.toThrow(
      /webhook W of route root \(https:\/\/127\.0\.0\.1:\d+\/hooks\/ops\) answered HTTP 401: .*outside the 300 s replay window/,
    );
    const wrongSecret = channelPoster({ ...env, S: 'f'.repeat(64) });
    await expect(wrongSecret.post(HOOK, json('{}'), { idempotencyKey: 'k' })).rejects.toThrow(
      /HTTP 401: .*signature mismatch/,
    );
    expect(receiver.accepted()).toEqual([]);
  });

  it("verifies the product's posts as Standard Webhooks, and their deprecated headers alone as before", async () => {
    await poster.post(HOOK, json('{"a":1}'), { idempotencyKey: 'k1' });
    const [post] = receiver.accepted('webhook');
    expect(post).toMatchObject({ scheme: 'standard-webhooks', verified: true });
    // A receiver not moved yet reads only the X-Entra-Sync-Watch-* headers of the same post.
    const legacy = Object.fromEntries(
      Object.entries(post!.headers).filter(([name]) => name.startsWith('x-entra-sync-watch-')),
    );
    expect(Object.keys(legacy).sort()).toEqual([
      'x-entra-sync-watch-delivery',
      'x-entra-sync-watch-signature',
      'x-entra-sync-watch-timestamp',
    ]);
    const response = await fetch(env.W!, {
      method: 'POST',
      headers: { ...legacy, 'content-type': post!.headers['content-type']! },
      body: post!.body,
    });
    expect(response.status).toBe(200);
    expect(receiver.posts('webhook')[1]).toMatchObject({ scheme: 'entra-sync-watch', verified: true, duplicate: true });
  });

  describe('Standard Webhooks', () => {
    /** A post signed as the spec says (the standardwebhooks package's own signer), with what to change. */
    async function standardPost(
      body: string,
      options: { id?: string; at?: Date; secret?: string; sentBody?: string; signature?: string } = {},
    ): Promise<Response> {
      const id = options.id ?? `msg_${randomBytes(8).toString('hex')}`;
      const at = options.at ?? new Date();
      const signature = options.signature ?? new Webhook(options.secret ?? receiver.secret).sign(id, at, body);
      return fetch(env.W!, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body: options.sentBody ?? body,
      });
    }

    it('takes a post signed with the whsec_ secret, records the scheme, and drops a second delivery of its webhook-id', async () => {
      expect(receiver.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect((await standardPost('{"event":"alert.firing"}', { id: 'msg_1' })).status).toBe(200);
      expect((await standardPost('{"event":"alert.firing"}', { id: 'msg_1' })).status).toBe(200);
      expect(receiver.posts('webhook').map((p) => [p.scheme, p.verified, p.duplicate])).toEqual([
        ['standard-webhooks', true, false],
        ['standard-webhooks', true, true],
      ]);
      expect(receiver.accepted('webhook')).toHaveLength(1);
    });

    it('takes any one good signature of several (a secret being rotated)', async () => {
      const body = '{"n":2}';
      const at = new Date();
      const good = new Webhook(receiver.secret).sign('msg_2', at, body);
      const old = new Webhook(`whsec_${randomBytes(32).toString('base64')}`).sign('msg_2', at, body);
      expect((await standardPost(body, { id: 'msg_2', at, signature: `${old} ${good}` })).status).toBe(200);
    });

    it('refuses a tampered body, an old timestamp and a wrong secret with 401 and the reason', async () => {
      const tampered = await standardPost('{"amount":1}', { sentBody: '{"amount":1000}' });
      const old = await standardPost('{}', { at: new Date(Date.now() - 10 * 60_000) });
      const wrong = await standardPost('{}', { secret: `whsec_${randomBytes(32).toString('base64')}` });
      expect([tampered.status, old.status, wrong.status]).toEqual([401, 401, 401]);
      expect(receiver.posts('webhook').map((p) => [p.scheme, p.verified, p.problem])).toEqual([
        ['standard-webhooks', false, 'signature mismatch'],
        [
          'standard-webhooks',
          false,
          expect.stringMatching(/^timestamp outside the 300 s replay window \(60\d s old\)$/),
        ],
        ['standard-webhooks', false, 'signature mismatch'],
      ]);
      expect(await tampered.json()).toEqual({ error: { code: 'InvalidSignature', message: 'signature mismatch' } });
    });
  });

  it('fails on demand: a status, a hang the sender times out of, a late answer to a post it took', async () => {
    receiver.fail({ kind: 'webhook', status: 503, times: 1 });
    await expect(poster.post(HOOK, json('{}'), { idempotencyKey: 'a' })).rejects.toMatchObject({
      outcome: 'unknown',
      message: expect.stringMatching(/HTTP 503/),
    });
    receiver.fail({ kind: 'webhook', hang: true, times: 1 });
    await expect(poster.post(HOOK, json('{}'), { idempotencyKey: 'b' })).rejects.toMatchObject({
      outcome: 'unknown',
      message: expect.stringMatching(/no answer within 1 s|no answer within 0 s/),
    });
    receiver.fail({ kind: 'webhook', delayMs: 1000, times: 1 });
    await expect(poster.post(HOOK, json('{}'), { idempotencyKey: 'c' })).rejects.toMatchObject({ outcome: 'unknown' });
    expect(receiver.accepted('webhook').map((p) => p.headers['x-entra-sync-watch-delivery'])).toEqual(['c']);
  });
});

describe('channel poster', () => {
  it("names a missing, plain-http or malformed setting, and a short secret of either form, without showing a URL's query", async () => {
    const poster = channelPoster({ W: 'http://hooks.example/x?sig=SECRET', S: 'short', T: 'not a url' });
    await expect(
      poster.post({ ...HOOK, urlSetting: 'NOPE' }, json('{}'), { idempotencyKey: 'k' }),
    ).rejects.toMatchObject({
      outcome: 'misconfigured',
      message: expect.stringContaining('the app setting NOPE is not set'),
    });
    const plain = poster.post(HOOK, json('{}'), { idempotencyKey: 'k' });
    await expect(plain).rejects.toThrow(/must be an https:\/\/ URL .*got http:\/\/hooks\.example\/x \(query hidden\)/);
    await expect(plain).rejects.not.toThrow(/SECRET/);
    await expect(poster.post(TEAMS, json('{}'), { idempotencyKey: 'k' })).rejects.toThrow(
      /holds \(9 characters that are not a URL\); expected an https:\/\/ URL/,
    );
    const short = channelPoster({ W: 'https://hooks.example/x', S: 'short' });
    await expect(short.post(HOOK, json('{}'), { idempotencyKey: 'k' })).rejects.toThrow(
      /signing secret in S is 5 characters; use at least 32/,
    );
    const shortWhsec = channelPoster({ W: 'https://hooks.example/x', S: 'whsec_c2hvcnQ=' });
    await expect(shortWhsec.post(HOOK, json('{}'), { idempotencyKey: 'k' })).rejects.toMatchObject({
      outcome: 'misconfigured',
      message: expect.stringContaining(
        'the signing secret in S encodes 5 bytes; Standard Webhooks asks for 24 to 64 random bytes',
      ),
    });
  });
});
