import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, InvalidMessage, logsCycle, type ObserveMessage } from '../../lib/fanout/message';
import { queueExtensionSettings, triggerValue } from '../../emulators/queue-host';
import { join } from 'node:path';

const message: ObserveMessage = {
  v: 1,
  cycle: '2026-11-27T03:15:00.000Z_1a2b3c4d',
  batch: 2,
  of: 5,
  tenants: [
    { tenantId: '3f6a1c52-8d4e-4b7a-9c21-5e0d7f4a2b19', tokenTenant: '3f6a1c52-8d4e-4b7a-9c21-5e0d7f4a2b19' },
    { tenantId: 'contoso.example' },
  ],
  observeBy: 1_795_000_000_000,
  deadline: 1_795_000_100_000,
};

describe('the fan-out message', () => {
  it('is base64 of its JSON, as the Functions host decodes queue messages by default', () => {
    const text = encodeMessage(message);
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(Buffer.from(text, 'base64').toString('utf8'))).toEqual(message);
  });

  it('is read whether the host hands over the parsed object, the decoded text, or (messageEncoding "none") the base64 itself', () => {
    const text = encodeMessage(message);
    const host = queueExtensionSettings(join(__dirname, '..', '..', 'host.json'));
    expect(host.messageEncoding).toBe('base64');
    expect(decodeMessage(triggerValue(text, 'base64'))).toEqual(message);
    expect(decodeMessage(JSON.stringify(message))).toEqual(message);
    expect(decodeMessage(triggerValue(text, 'none'))).toEqual(message);
  });

  it('names what is wrong with a message that is not ours', () => {
    const bad = (value: unknown) => () => decodeMessage(value);
    expect(bad('hello')).toThrow(InvalidMessage);
    expect(bad('hello')).toThrow('neither JSON nor base64 JSON');
    expect(bad({ ...message, v: 2 })).toThrow('v: expected 1, got 2');
    expect(bad({ ...message, batch: 5 })).toThrow('batch 5 of 5');
    expect(bad({ ...message, cycle: "x' or 1 eq 1" })).toThrow('cycle: expected an id');
    expect(bad({ ...message, tenants: [] })).toThrow('tenants: expected 1 to 100 tenants');
    expect(bad({ ...message, tenants: [{ tenantId: '../../etc' }] })).toThrow(
      'tenants[0].tenantId: expected a tenant ID or domain',
    );
    expect(bad({ ...message, observeBy: -1 })).toThrow('observeBy: expected a whole number');
    expect(bad({ ...message, parts: 3 })).toThrow('parts: expected 2 or nothing, got 3');
  });

  it('asks for two reports (the jobs first, then after the logs) with parts: 2, and for one without', () => {
    expect(decodeMessage({ ...message, parts: 2 })).toEqual({ ...message, parts: 2 });
    expect(decodeMessage(message)).not.toHaveProperty('parts');
    expect(logsCycle(message.cycle)).toBe(`${message.cycle}-logs`);
  });

  it("carries which of the batch's tenants have a log alert open, and refuses what is not one of its tenants' IDs", () => {
    const told = { ...message, openLogAlerts: ['contoso.example'] };
    expect(decodeMessage(encodeMessage(told))).toEqual(told);
    expect(decodeMessage({ ...message, openLogAlerts: [] })).toEqual({ ...message, openLogAlerts: [] });
    const bad = (openLogAlerts: unknown) => () => decodeMessage({ ...message, openLogAlerts });
    for (const value of ['contoso.example', ["x' or 1 eq 1"], [1], ['a.example', 'b.example', 'c.example']])
      expect(bad(value)).toThrow("openLogAlerts: expected some of the batch's tenant IDs or domains");
  });

  it('keeps only the fields it knows', () => {
    const decoded = decodeMessage({
      ...message,
      extra: 'x',
      tenants: [{ tenantId: message.tenants[1]!.tenantId, evil: true }],
    });
    expect(decoded).toEqual({ ...message, tenants: [{ tenantId: 'contoso.example' }] });
  });
});

describe('host.json for the queue trigger', () => {
  it('polls at least every 2 s, retries a failed batch once and then poisons it', () => {
    const host = queueExtensionSettings(join(__dirname, '..', '..', 'host.json'));
    expect(host).toEqual({
      messageEncoding: 'base64',
      batchSize: 4,
      maxDequeueCount: 2,
      visibilityTimeoutMs: 5000,
      maxPollingIntervalMs: 2000,
    });
  });
});
