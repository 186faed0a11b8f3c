import { randomBytes } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  signatureOf,
  signedHeaders,
  signingSecret,
  TIMESTAMP_HEADER,
  verifySignature,
  type SigningSecret,
} from '../../lib/notify/channels/webhook-signing';

/**
 * The webhook signature: Standard Webhooks, checked here with the `standardwebhooks` package as a
 * receiver would (not with this monitor's code), and the deprecated `X-Entra-Sync-Watch-*` headers
 * beside it, signed as before (docs/channels.md, "Webhooks").
 */

const whsec = (bytes = 32) => `whsec_${randomBytes(bytes).toString('base64')}`;
const secretOf = (value: string): SigningSecret => {
  const secret = signingSecret(value);
  if ('problem' in secret) throw new Error(secret.problem);
  return secret;
};
const problemOf = (value: string) => {
  const secret = signingSecret(value);
  return 'problem' in secret ? secret.problem : undefined;
};
/** What the receiver's library says of a post: the payload, or why it refused it. */
const verified = (wh: Webhook, body: string, headers: Record<string, string>) => {
  try {
    return wh.verify(body, headers);
  } catch (error) {
    if (error instanceof WebhookVerificationError) return `refused: ${error.message}`;
    throw error;
  }
};

describe('Standard Webhooks signature, verified by the standardwebhooks library', () => {
  const body = '{"version":1,"type":"notices","id":"4f0c2a9e"}';

  it('a whsec_ secret: the library verifies a post with the secret as configured; webhook-id is the message id, webhook-timestamp now', () => {
    const secret = whsec();
    const now = new Date();
    const headers = signedHeaders(body, secretOf(secret), now, '4f0c2a9e');
    expect(headers['webhook-id']).toBe('4f0c2a9e');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verified(new Webhook(secret), body, headers)).toEqual(JSON.parse(body));
  });

  it("signs as the library's own known answer has it", () => {
    // libraries/javascript/src/webhook.test.ts, "sign function works", in standard-webhooks/standard-webhooks.
    const secret = secretOf('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const headers = signedHeaders(
      '{"test": 2432232314}',
      secret,
      new Date(1614265330 * 1000),
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
    );
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('the library refuses a tampered body, another id, another secret and an old timestamp', () => {
    const secret = whsec();
    const wh = new Webhook(secret);
    const headers = signedHeaders(body, secretOf(secret), new Date(), 'k1');
    expect(verified(wh, body.replace('4f0c', '4f0d'), headers)).toBe('refused: No matching signature found');
    expect(verified(wh, `${body} `, headers)).toBe('refused: No matching signature found');
    // The id is signed: a post cannot be replayed under another id to slip past a receiver's dedup.
    expect(verified(wh, body, { ...headers, 'webhook-id': 'k2' })).toBe('refused: No matching signature found');
    expect(verified(new Webhook(whsec()), body, headers)).toBe('refused: No matching signature found');
    const old = signedHeaders(body, secretOf(secret), new Date(Date.now() - 301_000), 'k1');
    expect(verified(wh, body, old)).toBe('refused: Message timestamp too old');
  });

  it("a secret without whsec_ (before Standard Webhooks): the library verifies with the secret's own bytes, in raw format", () => {
    const hex = randomBytes(32).toString('hex');
    const headers = signedHeaders(body, secretOf(hex), new Date(), 'k1');
    expect(verified(new Webhook(Buffer.from(hex), { format: 'raw' }), body, headers)).toEqual(JSON.parse(body));
    // Read as base64 (the library's default), a hex secret is other bytes: the README says to pass it raw.
    expect(verified(new Webhook(hex), body, headers)).toBe('refused: No matching signature found');
  });

  it('refuses an id with a dot, which would make "<id>.<timestamp>.<body>" ambiguous', () => {
    expect(() => signedHeaders(body, secretOf(whsec()), new Date(), 'a.b')).toThrow(
      'a webhook id must be letters, digits, _ and -, got "a.b"',
    );
  });
});

describe('signing secrets', () => {
  it('takes whsec_ and the padded base64 of 24 to 64 bytes, and a plain secret of 32 characters or more', () => {
    for (const value of [whsec(24), whsec(32), whsec(64), 'a'.repeat(32), randomBytes(32).toString('hex')])
      expect(problemOf(value), value).toBeUndefined();
    const secret = whsec(24);
    expect(secretOf(secret)).toEqual({ text: secret, key: Buffer.from(secret.slice(6), 'base64') });
    expect(secretOf('p'.repeat(40))).toEqual({ text: 'p'.repeat(40), key: Buffer.from('p'.repeat(40)) });
  });

  it('refuses fewer than 24 bytes or more than 64 (the spec), which the library would take', () => {
    const short = whsec(23);
    expect(() => new Webhook(short)).not.toThrow();
    expect(problemOf(short)).toBe(
      'encodes 23 bytes; Standard Webhooks asks for 24 to 64 random bytes (e.g. whsec_$(openssl rand -base64 32))',
    );
    expect(problemOf(whsec(65))).toMatch(/^encodes 65 bytes;/);
    expect(problemOf('whsec_')).toMatch(/^encodes 0 bytes;/);
  });

  it('refuses whsec_ with what is not standard padded base64: base64url, no padding, spaces, other characters', () => {
    const bytes = Buffer.from('fb'.repeat(16) + 'ff'.repeat(16), 'hex'); // encodes with + and /
    const b64 = bytes.toString('base64');
    expect(problemOf(`whsec_${b64}`)).toBeUndefined();
    for (const encoded of [bytes.toString('base64url'), b64.replace(/=+$/, ''), ` ${b64}`, `${b64.slice(0, -2)}!=`])
      expect(problemOf(`whsec_${encoded}`), encoded).toBe(
        'starts with whsec_ but the rest is not standard base64 with its = padding (e.g. whsec_$(openssl rand -base64 32))',
      );
  });

  it('refuses a plain secret shorter than 32 characters, and says how to make one', () => {
    expect(problemOf('short')).toBe(
      'is 5 characters; use at least 32, or the Standard Webhooks form (e.g. whsec_$(openssl rand -base64 32))',
    );
    expect(problemOf('a'.repeat(31))).toMatch(/^is 31 characters/);
  });
});

describe('the deprecated X-Entra-Sync-Watch-* headers, sent beside Standard Webhooks until 30 June 2027', () => {
  const secret = 'a'.repeat(64);
  const body = '{"version":1,"type":"notices","id":"k1"}';
  const at = new Date('2026-11-27T07:10:00Z');
  const headers = signedHeaders(body, secretOf(secret), at, 'k1');
  const check = (overrides: Partial<Parameters<typeof verifySignature>[0]> = {}) =>
    verifySignature({
      body,
      timestamp: headers[TIMESTAMP_HEADER],
      signature: headers[SIGNATURE_HEADER],
      secret,
      now: at,
      ...overrides,
    });

  it('signs the timestamp and the exact body as before, and names the delivery', () => {
    expect(headers[TIMESTAMP_HEADER]).toBe('1795763400');
    expect(headers[TIMESTAMP_HEADER]).toBe(headers['webhook-timestamp']);
    expect(headers[SIGNATURE_HEADER]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(headers[DELIVERY_HEADER]).toBe('k1');
    expect(headers['Idempotency-Key']).toBe('k1');
    // A known answer, so a receiver in another language can check its own code against it.
    expect(signatureOf('secret', 1795763400, '{}')).toBe(
      'v1=3b06382158dd5d600b44c580196b16922859a453f1dfd73d9ceecf79b24e385f',
    );
    expect(check()).toEqual({ ok: true });
  });

  it("with a whsec_ secret, the deprecated signature's key is the whole setting, prefix included (as before)", () => {
    const value = whsec();
    const signed = signedHeaders(body, secretOf(value), at, 'k1');
    expect(signed[SIGNATURE_HEADER]).toBe(signatureOf(value, 1795763400, body));
  });

  it('refuses a tampered body, even by one character or by whitespace', () => {
    expect(check({ body: body.replace('k1', 'k2') })).toEqual({
      ok: false,
      reason: 'the signature does not match the body',
    });
    expect(check({ body: `${body} ` }).ok).toBe(false);
  });

  it('refuses a signature made with another secret, or another timestamp', () => {
    expect(check({ secret: 'b'.repeat(64) }).ok).toBe(false);
    expect(check({ timestamp: String(Number(headers[TIMESTAMP_HEADER]) + 1), now: at }).ok).toBe(false);
  });

  it('refuses an old timestamp (a replay) and one far ahead, and takes one inside the window', () => {
    const later = (seconds: number) => new Date(at.getTime() + seconds * 1000);
    expect(check({ now: later(300) })).toEqual({ ok: true });
    expect(check({ now: later(301) })).toEqual({
      ok: false,
      reason: 'timestamp 1795763400 is 301 s from now, outside the 300 s window',
    });
    expect(check({ now: later(-301) }).ok).toBe(false);
    expect(check({ timestamp: undefined }).ok).toBe(false);
    expect(check({ timestamp: '17957634OO' }).ok).toBe(false);
  });

  it('takes any one of several signatures, so a secret can be rotated', () => {
    const other = signatureOf('c'.repeat(64), Number(headers[TIMESTAMP_HEADER]), body);
    expect(check({ signature: `${other}, ${headers[SIGNATURE_HEADER]}` })).toEqual({ ok: true });
    expect(check({ signature: other }).ok).toBe(false);
    expect(check({ signature: '' }).ok).toBe(false);
  });
});
