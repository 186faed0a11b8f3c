import { EmailClient } from '@azure/communication-email';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAcsEmulator, type AcsEmulator } from '../../emulators/acs';
import { loadTlsMaterial } from '../../emulators/tls';
import { TokenSigner } from '../../emulators/tokens';
import { createAcsMailer, operationIdOf } from '../../lib/clients/mailer';

let emulator: AcsEmulator;
const content = { subject: 'Quarantined: Fabrikam to Contoso', html: '<p>quarantined</p>', plainText: 'quarantined' };
const recipients = { to: ['ops@contoso.com'] };
const mailer = () =>
  createAcsMailer(
    new EmailClient(emulator.connectionString, { retryOptions: { maxRetries: 0 } }),
    'DoNotReply@watch.contoso.com',
  );

describe('ACS emulator: Operation-Id and faults', () => {
  beforeAll(async () => {
    // With an outbox folder, delivering awaits file writes: the window in which a second send with
    // the same Operation-Id used to slip through.
    emulator = await startAcsEmulator({
      tls: loadTlsMaterial(),
      signer: new TokenSigner(),
      outboxDir: mkdtempSync(join(tmpdir(), 'esw-acs-')),
    });
  });
  afterAll(() => emulator.stop());
  beforeEach(() => emulator.reset());

  it('delivers once when two sends with the same Operation-Id arrive together', async () => {
    const key = `email-${randomUUID()}`;
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => mailer().send(content, recipients, key)));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(emulator.messages()).toHaveLength(1);
    expect(emulator.messages()[0]!.operationId).toBe(operationIdOf(key));
  });

  it('answers the status of an operation: Succeeded once sent, Unknown for one it never had', async () => {
    const key = `email-${randomUUID()}`;
    expect(await mailer().status(operationIdOf(key))).toBe('Unknown');
    await mailer().send(content, recipients, key);
    expect(await mailer().status(operationIdOf(key))).toBe('Succeeded');
    emulator.injectFault({ status: 200, times: 1, operationStatus: 'Failed' });
    const dropped = `email-${randomUUID()}`;
    await expect(mailer().send(content, recipients, dropped)).rejects.toThrow(/EmailDropped|failed/);
    expect(await mailer().status(operationIdOf(dropped))).toBe('Failed');
  });

  it('a send accepted whose answer is lost is delivered, and its status says so', async () => {
    emulator.injectFault({ status: 500, times: 1, path: 'send', afterAccepting: true });
    const key = `email-${randomUUID()}`;
    await expect(mailer().send(content, recipients, key)).rejects.toThrow();
    expect(emulator.messages()).toHaveLength(1);
    // Like the service, the emulator reports Running at first and the final status after.
    expect(await mailer().status(operationIdOf(key))).toBe('Running');
    expect(await mailer().status(operationIdOf(key))).toBe('Succeeded');
  });

  it('can hang a request, answer it late, or answer it with a body cut mid-JSON', async () => {
    emulator.injectFault({ status: 0, times: 1, path: 'send', hang: true });
    const hung = mailer().send(content, recipients, `email-${randomUUID()}`, { abortSignal: AbortSignal.timeout(300) });
    await expect(hung).rejects.toThrow(/abort/i);

    emulator.injectFault({ status: 200, times: 1, path: 'operation', delayMs: 300 });
    const started = Date.now();
    await mailer().send(content, recipients, `email-${randomUUID()}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);

    emulator.injectFault({ status: 202, times: 1, path: 'send', malformedJson: true });
    await expect(mailer().send(content, recipients, `email-${randomUUID()}`)).rejects.toThrow();
    expect(emulator.requests().map((r) => r.status)).toContain(-1);
  });
});
