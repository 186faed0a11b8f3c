import { describe, expect, it } from 'vitest';
import {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  signatureOf,
  signedHeaders,
  TIMESTAMP_HEADER,
  verifySignature,
} from '../../lib/notify/channels/webhook';

/** The webhook signature: HMAC-SHA256 over `<timestamp>.<body>`, with a replay window (docs/channels.md, "Webhooks"). */

const secret = 'a'.repeat(64);
const body = '{"version":1,"type":"notices","id":"k1"}';
const at = new Date('2026-11-27T07:10:00Z');
const headers = signedHeaders(body, secret, at, 'k1');
const check = (overrides: Partial<Parameters<typeof verifySignature>[0]> = {}) =>
  verifySignature({
    body,
    timestamp: headers[TIMESTAMP_HEADER],
    signature: headers[SIGNATURE_HEADER],
    secret,
    now: at,
    ...overrides,
  });

describe('webhook signature', () => {
  it('signs the timestamp and the exact body, and names the delivery', () => {
    expect(headers[TIMESTAMP_HEADER]).toBe('1795763400');
    expect(headers[SIGNATURE_HEADER]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(headers[DELIVERY_HEADER]).toBe('k1');
    expect(headers['Idempotency-Key']).toBe('k1');
    // A known answer, so a receiver in another language can check its own code against it.
    expect(signatureOf('secret', 1795763400, '{}')).toBe(
      'v1=3b06382158dd5d600b44c580196b16922859a453f1dfd73d9ceecf79b24e385f',
    );
    expect(check()).toEqual({ ok: true });
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
