import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPagerDutyReceiver, type PagerDutyReceiver } from '../../emulators/pagerduty-receiver';
import { loadTlsMaterial } from '../../emulators/tls';

/** The emulator's PagerDuty Events API v2, driven by hand: what it takes, what it refuses, how it keeps alerts. Events are built in the tests (the routing key is the running receiver's). */

describe('PagerDuty Events API v2 emulator', () => {
  let receiver: PagerDutyReceiver;
  let outbox: string;
  beforeAll(async () => {
    outbox = mkdtempSync(join(tmpdir(), 'esw-pd-'));
    receiver = await startPagerDutyReceiver({ tls: loadTlsMaterial(), outboxDir: outbox });
  });
  afterAll(() => receiver.stop());
  beforeEach(() => receiver.reset());

  const send = async (event: unknown, raw?: string) => {
    const response = await fetch(receiver.eventsUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: raw ?? JSON.stringify(event),
      signal: AbortSignal.timeout(2000),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const trigger = (extra: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) => ({
    routing_key: receiver.routingKey,
    event_action: 'trigger',
    dedup_key: 'alert-1',
    payload: { summary: 'Quarantined: Fabrikam to Contoso', source: 'contoso', severity: 'critical', ...payload },
    ...extra,
  });
  const resolve = (key = 'alert-1', routingKey = receiver.routingKey) => ({
    routing_key: routingKey,
    event_action: 'resolve',
    dedup_key: key,
  });

  it('takes a valid trigger with 202 and its dedup_key, keeps it as an alert, and writes it out without the key', async () => {
    const answer = await send(
      trigger(
        { links: [{ href: 'https://entra.microsoft.com/x', text: 'Provisioning' }], client: 'Entra Sync Watch' },
        {
          timestamp: '2026-11-27T07:10:00.000Z',
          component: 'job',
          group: 'Contoso',
          class: 'quarantine',
          custom_details: { a: 1 },
        },
      ),
    );
    expect(answer).toEqual({
      status: 202,
      body: { status: 'success', message: 'Event processed', dedup_key: 'alert-1' },
    });
    expect(receiver.alerts()).toMatchObject([
      { dedupKey: 'alert-1', status: 'triggered', triggers: 1, severity: 'critical' },
    ]);
    const [taken] = receiver.accepted();
    expect(readFileSync(taken!.filePath!, 'utf8')).not.toContain(receiver.routingKey);
  });

  it('gives a trigger without a dedup_key a key of its own', async () => {
    const { dedup_key: _none, ...keyless } = trigger();
    const answer = await send(keyless);
    expect(answer.status).toBe(202);
    expect(answer.body.dedup_key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each<[string, () => unknown, RegExp]>([
    [
      'a routing key of 31 characters',
      () => trigger({ routing_key: 'k'.repeat(31) }),
      /routing_key' is incorrect \(should be 32/,
    ],
    [
      'an unknown event_action',
      () => trigger({ event_action: 'escalate' }),
      /'event_action' must be one of trigger, acknowledge, resolve/,
    ],
    [
      'a dedup_key over 255 characters',
      () => trigger({ dedup_key: 'd'.repeat(256) }),
      /'dedup_key' is longer than 255/,
    ],
    [
      'a resolve without a dedup_key',
      () => ({ routing_key: 'k'.repeat(32), event_action: 'resolve' }),
      /'dedup_key' is required for resolve/,
    ],
    [
      'a trigger without a payload',
      () => ({ routing_key: 'k'.repeat(32), event_action: 'trigger' }),
      /'payload' is missing/,
    ],
    [
      'a summary over 1,024 characters',
      () => trigger({}, { summary: 's'.repeat(1025) }),
      /'payload.summary' is longer than 1024/,
    ],
    ['no source', () => trigger({}, { source: '' }), /'payload.source' is missing/],
    [
      'a severity PagerDuty does not know',
      () => trigger({}, { severity: 'high' }),
      /'payload.severity' must be one of critical, error, warning, info/,
    ],
    [
      'a timestamp that is not ISO 8601',
      () => trigger({}, { timestamp: 'yesterday' }),
      /'payload.timestamp' is not an ISO 8601/,
    ],
    [
      'custom_details that are not an object',
      () => trigger({}, { custom_details: 'x' }),
      /'payload.custom_details' must be an object/,
    ],
    ['a link without href', () => trigger({ links: [{ text: 'x' }] }), /'links\[0\].href' is missing/],
    [
      'an image over http',
      () => trigger({ images: [{ src: 'http://x.example/a.png' }] }),
      /'images\[0\].src' must be an https URL/,
    ],
    ['an event over 512 KB', () => trigger({}, { custom_details: { big: 'x'.repeat(530_000) } }), /limited to 512 KB/],
  ])('refuses %s with 400 invalid event and says why', async (_, event, why) => {
    const answer = await send(event());
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: 'invalid event', message: 'Event object is invalid' });
    expect((answer.body.errors as string[]).join('\n')).toMatch(why);
    expect(receiver.accepted()).toEqual([]);
    expect(receiver.alerts()).toEqual([]);
  });

  it('refuses a body that is not JSON', async () => {
    expect(await send(undefined, '{"routing_key":')).toEqual({
      status: 400,
      body: { status: 'invalid event', message: 'Event object is invalid', errors: ['JSON parse error'] },
    });
  });

  it('de-duplicates as PagerDuty documents: by dedup_key and routing key, a new alert after a resolve, drops what has nothing to apply to', async () => {
    await send(trigger());
    await send(trigger());
    expect(receiver.alerts()).toMatchObject([{ dedupKey: 'alert-1', status: 'triggered', triggers: 2 }]);
    // A resolve sent through another routing key is dropped (still 202).
    expect((await send(resolve('alert-1', 'o'.repeat(32)))).status).toBe(202);
    expect(receiver.alerts()).toMatchObject([{ status: 'triggered' }]);
    await send({ routing_key: receiver.routingKey, event_action: 'acknowledge', dedup_key: 'alert-1' });
    expect(receiver.alerts()).toMatchObject([{ status: 'acknowledged' }]);
    await send(resolve());
    expect(receiver.alerts()).toMatchObject([{ status: 'resolved' }]);
    // Resolving again applies to nothing; a trigger after the resolve opens a new alert.
    expect((await send(resolve())).status).toBe(202);
    await send(trigger());
    expect(receiver.alerts().map((a) => a.status)).toEqual(['resolved', 'triggered']);
  });

  it('fails on demand: 429, 5xx and an injected 400, a hang the sender times out of, a late answer to an event it took', async () => {
    receiver.fail({ status: 429, times: 1 });
    expect(await send(trigger())).toEqual({
      status: 429,
      body: { status: 'throttle event', message: 'Request Limit Exceeded' },
    });
    receiver.fail({ status: 503, times: 1 });
    expect((await send(trigger())).status).toBe(503);
    receiver.fail({ status: 400, times: 1 });
    expect(await send(trigger())).toMatchObject({ status: 400, body: { status: 'invalid event' } });
    expect(receiver.alerts()).toEqual([]);
    receiver.fail({ hang: true, times: 1 });
    await expect(send(trigger())).rejects.toThrow();
    expect(receiver.alerts()).toEqual([]);
    receiver.fail({ delayMs: 2500, times: 1 });
    await expect(send(trigger())).rejects.toThrow();
    expect(receiver.alerts()).toMatchObject([{ triggers: 1 }]);
    expect(receiver.events().map((e) => e.status)).toEqual([429, 503, 400, 202]);
  });
});
