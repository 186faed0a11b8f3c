import { EmailClient, type EmailMessage } from '@azure/communication-email';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAcsEmulator, type AcsEmulator } from '../../emulators/acs';
import { loadTlsMaterial } from '../../emulators/tls';
import { TokenSigner, type AccessTokenClaims } from '../../emulators/tokens';

const tls = loadTlsMaterial();
const signer = new TokenSigner();
let emulator: AcsEmulator;
let outbox: string;

/** A TokenCredential as small as the SDK accepts, minting tokens the emulator trusts; records the scopes asked for. */
const askedScopes: string[][] = [];
function credential(claims: Partial<AccessTokenClaims> = {}): TokenCredential {
  return {
    getToken: async (scopes: string | string[]): Promise<AccessToken> => {
      askedScopes.push(Array.isArray(scopes) ? scopes : [scopes]);
      const now = Math.floor(Date.now() / 1000);
      const token = signer.mint({
        aud: 'https://communication.azure.com',
        iss: 'https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0',
        tid: '11111111-1111-1111-1111-111111111111',
        appid: '22222222-2222-2222-2222-222222222222',
        roles: [],
        iat: now,
        exp: now + 3600,
        ...claims,
      });
      return { token, expiresOnTimestamp: (now + 3600) * 1000 };
    },
  };
}

const message = (overrides: Partial<EmailMessage> = {}): EmailMessage => ({
  senderAddress: 'DoNotReply@alerts.example.com',
  content: {
    subject: 'Provisioning job quarantined: Contoso → Workday',
    plainText: 'The job Workday2AAD.contoso is quarantined.\nReason: EncounteredQuarantineException',
    html: '<html><body><h1>Quarantined</h1><p>The job <b>Workday2AAD.contoso</b> is quarantined. Prüfen Sie die Zuordnung.</p></body></html>',
  },
  recipients: {
    to: [{ address: 'ops@contoso.com', displayName: 'Contoso Ops, Tier 1' }],
    cc: [{ address: 'lead@contoso.com' }],
  },
  headers: { 'X-Entra-Sync-Watch-Alert': 'quarantine; fingerprint=abc123' },
  ...overrides,
});

/** Sends a request signed the way communicationAccessKeyCredentialPolicy signs, with knobs to break it. */
async function hmacFetch(
  path: string,
  init: {
    method?: string;
    body?: string;
    key?: string;
    date?: Date;
    hashOf?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Response> {
  const url = new URL(path, emulator.endpoint);
  const method = init.method ?? 'GET';
  const body = init.body ?? '';
  const date = (init.date ?? new Date()).toUTCString();
  const hash = createHash('sha256')
    .update(init.hashOf ?? body)
    .digest('base64');
  const query = url.searchParams.toString();
  const stringToSign = `${method}\n${url.pathname}${query ? `?${query}` : ''}\n${date};${url.host};${hash}`;
  const key = init.key ?? /accesskey=(.*)$/i.exec(emulator.connectionString)![1]!;
  const signature = createHmac('sha256', Buffer.from(key, 'base64')).update(stringToSign).digest('base64');
  return fetch(url, {
    method,
    body: method === 'GET' ? undefined : body,
    headers: {
      'Content-Type': 'application/json',
      'x-ms-date': date,
      'x-ms-content-sha256': hash,
      Authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
      ...init.headers,
    },
  });
}

beforeAll(async () => {
  outbox = mkdtempSync(join(tmpdir(), 'acs-outbox-'));
  emulator = await startAcsEmulator({ tls, signer, outboxDir: outbox });
});

afterAll(async () => {
  await emulator?.stop();
  rmSync(outbox, { recursive: true, force: true });
});

beforeEach(() => emulator.reset());

describe('ACS Email emulator with the real @azure/communication-email SDK', () => {
  it('accepts an HMAC-signed send (connection string), polls to Succeeded and writes .eml + .html', async () => {
    const client = new EmailClient(emulator.connectionString);
    const poller = await client.beginSend(message());
    const result = await poller.pollUntilDone();
    expect(result.status).toBe('Succeeded');

    const [sent, ...rest] = emulator.messages();
    expect(rest).toHaveLength(0);
    expect(sent).toMatchObject({
      operationId: result.id,
      senderAddress: 'DoNotReply@alerts.example.com',
      to: [{ address: 'ops@contoso.com', displayName: 'Contoso Ops, Tier 1' }],
      cc: [{ address: 'lead@contoso.com' }],
      bcc: [],
      subject: 'Provisioning job quarantined: Contoso → Workday',
      headers: { 'X-Entra-Sync-Watch-Alert': 'quarantine; fingerprint=abc123' },
    });

    const requests = emulator.requests();
    expect(requests.map((r) => `${r.method} ${r.status} ${r.auth}`)).toEqual([
      'POST 202 hmac',
      'GET 200 hmac',
      'GET 200 hmac',
    ]);
    expect(requests[0]!.path).toBe('/emails:send?api-version=2025-09-01');
    expect(requests[1]!.path).toBe(`/emails/operations/${result.id}?api-version=2025-09-01`);

    // The outbox files are what a person opens.
    expect(sent!.emlPath && existsSync(sent!.emlPath)).toBeTruthy();
    expect(sent!.htmlPath && existsSync(sent!.htmlPath)).toBeTruthy();
    expect(sent!.emlPath!.endsWith(`-${result.id}.eml`)).toBe(true);
    expect(readFileSync(sent!.htmlPath!, 'utf8')).toBe(message().content.html);

    const eml = readFileSync(sent!.emlPath!, 'utf8');
    const [head, ...bodyParts] = eml.split('\r\n\r\n');
    const headerLines = head!.split('\r\n').filter((l) => !l.startsWith(' '));
    expect(headerLines.map((l) => l.slice(0, l.indexOf(':')))).toEqual([
      'From',
      'To',
      'Cc',
      'Subject',
      'Date',
      'Message-ID',
      'MIME-Version',
      'X-Entra-Sync-Watch-Alert',
      'Content-Type',
    ]);
    expect(head).toContain('From: DoNotReply@alerts.example.com');
    expect(head).toContain('To: "Contoso Ops, Tier 1" <ops@contoso.com>');
    expect(head).toContain('Cc: lead@contoso.com');
    expect(head).toContain(`Message-ID: <${result.id}@acs-emulator.invalid>`);
    expect(head).toContain('X-Entra-Sync-Watch-Alert: quarantine; fingerprint=abc123');
    expect(head).toMatch(/^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/m);
    // Non-ASCII subject is RFC 2047-encoded and decodes back.
    const subjectLine = /^Subject: (.*(?:\r\n .*)*)/m.exec(head!)![1]!;
    expect(subjectLine).toMatch(/^=\?UTF-8\?B\?/);
    const decoded = [...subjectLine.matchAll(/=\?UTF-8\?B\?([^?]*)\?=/g)].map((m) => Buffer.from(m[1]!, 'base64'));
    expect(Buffer.concat(decoded).toString('utf8')).toBe('Provisioning job quarantined: Contoso → Workday');
    // multipart/alternative with a text/plain and a text/html part, quoted-printable.
    const boundary = /boundary="([^"]+)"/.exec(head!)![1]!;
    const body = bodyParts.join('\r\n\r\n');
    expect(head).toContain('Content-Type: multipart/alternative;');
    expect(body).toContain('Content-Type: text/plain; charset=utf-8');
    expect(body).toContain('Content-Type: text/html; charset=utf-8');
    expect(body).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(body.trimEnd().endsWith(`--${boundary}--`)).toBe(true);
    expect(body).toContain('Pr=C3=BCfen'); // ü in quoted-printable
    for (const line of eml.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
  });

  it('accepts a bearer token for https://communication.azure.com (TokenCredential)', async () => {
    askedScopes.length = 0;
    const client = new EmailClient(emulator.endpoint, credential());
    const result = await (
      await client.beginSend(message({ content: { subject: 'Recovered', plainText: 'All good again.' } }))
    ).pollUntilDone();
    expect(result.status).toBe('Succeeded');
    expect(askedScopes[0]).toEqual(['https://communication.azure.com//.default']);
    expect(emulator.requests().every((r) => r.auth === 'bearer' && r.status < 300)).toBe(true);
    const [sent] = emulator.messages();
    expect(sent).toMatchObject({ subject: 'Recovered', plainText: 'All good again.' });
    expect(sent!.html).toBeUndefined();
    // No HTML body: the .eml is a single text/plain part and the .html preview shows the text.
    const eml = readFileSync(sent!.emlPath!, 'utf8');
    expect(eml).toContain('Content-Type: text/plain; charset=utf-8');
    expect(eml).not.toContain('multipart/');
    expect(readFileSync(sent!.htmlPath!, 'utf8')).toContain('<pre');
  });

  it('refuses a bearer token for another audience with 401', async () => {
    const client = new EmailClient(emulator.endpoint, credential({ aud: 'https://graph.microsoft.com' }));
    await expect(client.beginSend(message())).rejects.toMatchObject({
      name: 'RestError',
      statusCode: 401,
      code: 'Denied',
    });
    expect(emulator.messages()).toHaveLength(0);
  });

  it('delivers once when the same Operation-Id is sent twice, and answers with the same operation', async () => {
    const client = new EmailClient(emulator.connectionString);
    const operationId = randomUUID();
    const first = await (await client.beginSend(message(), { operationId })).pollUntilDone();
    const second = await (await client.beginSend(message(), { operationId })).pollUntilDone();
    expect(first).toEqual({ id: operationId, status: 'Succeeded' });
    expect(second).toEqual({ id: operationId, status: 'Succeeded' });
    expect(emulator.messages()).toHaveLength(1);
    const posts = emulator.requests().filter((r) => r.method === 'POST');
    expect(posts.map((r) => [r.status, r.operationId])).toEqual([
      [202, operationId],
      [202, operationId],
    ]);
  });

  it('answers 401 Denied to a wrong access key, a stale x-ms-date, a body that does not match its hash, and no auth', async () => {
    const wrongKey = `endpoint=${emulator.endpoint}/;accesskey=${randomBytes(32).toString('base64')}`;
    const error = await new EmailClient(wrongKey).beginSend(message()).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'RestError',
      statusCode: 401,
      code: 'Denied',
      message: 'Denied by the resource provider.',
    });

    const body = JSON.stringify(message());
    const stale = await hmacFetch('/emails:send?api-version=2025-09-01', {
      method: 'POST',
      body,
      date: new Date(Date.now() - 16 * 60_000),
    });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('x-ms-error-code')).toBe('Denied');

    const tampered = await hmacFetch('/emails:send?api-version=2025-09-01', { method: 'POST', body, hashOf: '{}' });
    expect(tampered.status).toBe(401);

    const none = await fetch(`${emulator.endpoint}/emails:send?api-version=2025-09-01`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: { code: 'Denied', message: 'Denied by the resource provider.' } });

    // A correctly signed raw request goes through, so the failures above are about what was broken.
    const ok = await hmacFetch('/emails:send?api-version=2025-09-01', { method: 'POST', body });
    expect(ok.status).toBe(202);
    expect(emulator.messages()).toHaveLength(1);
    expect(emulator.requests().map((r) => r.auth)).toEqual(['hmac', 'hmac', 'hmac', 'none', 'hmac']);
  });

  it('validates the body like the service: 400 with error code and x-ms-error-code', async () => {
    const client = new EmailClient(emulator.connectionString);
    const cases: [string, EmailMessage][] = [
      ['no recipients', message({ recipients: { to: [] } })],
      ['bad address', message({ recipients: { to: [{ address: 'not-an-email' }] } })],
      ['no body', message({ content: { subject: 'x' } as unknown as EmailMessage['content'] })], // the types forbid it; the wire allows it
      ['empty subject', message({ content: { subject: '', plainText: 'x' } })],
      [
        '51 recipients',
        message({
          recipients: {
            to: Array.from({ length: 26 }, (_, i) => ({ address: `to${i}@x.example` })),
            bcc: Array.from({ length: 25 }, (_, i) => ({ address: `b${i}@x.example` })),
          },
        }),
      ],
    ];
    for (const [name, bad] of cases) {
      const error = await client.beginSend(bad).catch((e: unknown) => e);
      expect(error, name).toMatchObject({ name: 'RestError', statusCode: 400 });
      expect((error as { code: string }).code, name).toMatch(/^(BadRequest|InvalidRequest)$/);
    }
    // exactly 50 is fine
    const fifty = message({
      recipients: { to: Array.from({ length: 50 }, (_, i) => ({ address: `to${i}@x.example` })) },
    });
    expect((await (await client.beginSend(fifty)).pollUntilDone()).status).toBe('Succeeded');

    const notJson = await hmacFetch('/emails:send?api-version=2025-09-01', {
      method: 'POST',
      body: '{"senderAddress":',
    });
    expect(notJson.status).toBe(400);
    expect(notJson.headers.get('x-ms-error-code')).toBe('BadRequest');

    const oldVersion = await hmacFetch('/emails:send?api-version=2021-10-01-preview', {
      method: 'POST',
      body: JSON.stringify(message()),
    });
    expect(oldVersion.status).toBe(400);
    expect(((await oldVersion.json()) as { error: { code: string } }).error.code).toBe('UnsupportedApiVersion');

    const v2023 = await hmacFetch('/emails:send?api-version=2023-03-31', {
      method: 'POST',
      body: JSON.stringify(message()),
    });
    expect(v2023.status).toBe(202);
    expect(v2023.headers.get('operation-location')).toMatch(
      /\/emails\/operations\/[0-9a-f-]{36}\?api-version=2023-03-31$/,
    );

    const unknown = await hmacFetch(`/emails/operations/${randomUUID()}?api-version=2025-09-01`);
    expect(unknown.status).toBe(404);
    expect(emulator.messages()).toHaveLength(2);
  });

  it('answers injected 429s with Retry-After, which the SDK retries to success', async () => {
    emulator.injectFault({ status: 429, retryAfterSeconds: 0, times: 2, path: 'send' });
    emulator.injectFault({ status: 503, retryAfterSeconds: 0, times: 1, path: 'operation' });
    const client = new EmailClient(emulator.connectionString);
    const result = await (await client.beginSend(message())).pollUntilDone();
    expect(result.status).toBe('Succeeded');
    expect(emulator.requests().map((r) => `${r.method} ${r.status}`)).toEqual([
      'POST 429',
      'POST 429',
      'POST 202',
      'GET 503',
      'GET 200',
      'GET 200',
    ]);
    expect(emulator.messages()).toHaveLength(1);
  });

  it('ends the operation Failed with EmailDropped when injected, and delivers nothing', async () => {
    emulator.injectFault({ status: 200, times: 1, operationStatus: 'Failed' });
    const client = new EmailClient(emulator.connectionString);
    const poller = await client.beginSend(message());
    await expect(poller.pollUntilDone()).rejects.toThrow(/EmailDropped/);
    expect(emulator.messages()).toHaveLength(0);

    emulator.injectFault({ status: 200, times: 1, operationStatus: 'Canceled' });
    await expect((await client.beginSend(message())).pollUntilDone()).rejects.toThrow(/cancel/i);
    expect(emulator.messages()).toHaveLength(0);
  });

  it('keeps CR/LF in the subject, names and headers from creating new header lines', async () => {
    const client = new EmailClient(emulator.connectionString);
    await (
      await client.beginSend(
        message({
          content: { subject: 'Alert\r\nBcc: victim@evil.example\r\nX-Injected: yes', plainText: 'body' },
          recipients: { to: [{ address: 'ops@contoso.com', displayName: 'Ops\r\nX-Injected-Name: 1' }] },
          headers: { 'X-Alert': 'a\r\nX-Injected-Header: 1' },
        }),
      )
    ).pollUntilDone();
    const [sent] = emulator.messages();
    const eml = readFileSync(sent!.emlPath!, 'utf8');
    const head = eml.split('\r\n\r\n')[0]!;
    const names = head
      .split('\r\n')
      .filter((l) => !/^[ \t]/.test(l))
      .map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
    expect(names).not.toContain('bcc');
    expect(names.some((n) => n.startsWith('x-injected'))).toBe(false);
    expect(head).toContain('Subject: Alert Bcc: victim@evil.example X-Injected: yes');
    expect(head).toContain('X-Alert: a X-Injected-Header: 1');
  });

  it('keeps a valid Message-ID the sender sets, replaces an invalid or repeated one, and carries threading headers into the .eml', async () => {
    const client = new EmailClient(emulator.connectionString);
    const send = async (headers: Record<string, string>) => {
      const result = await (
        await client.beginSend(message({ headers, disableUserEngagementTracking: true }))
      ).pollUntilDone();
      return emulator.messages().find((m) => m.operationId === result.id)!;
    };
    const root = await send({
      'Message-ID': '<alert.abc.1795748700@alerts.example.com>',
      'Auto-Submitted': 'auto-generated',
    });
    expect(root.messageId).toBe('alert.abc.1795748700@alerts.example.com');
    expect(root.userEngagementTrackingDisabled).toBe(true);
    expect(root.headers).toEqual({ 'Auto-Submitted': 'auto-generated' });

    const reply = await send({
      'Message-ID': '<notice.1@alerts.example.com>',
      'In-Reply-To': '<alert.abc.1795748700@alerts.example.com>',
      References: '<alert.abc.1795748700@alerts.example.com> <alert.def.1795748700@alerts.example.com>',
    });
    const head = readFileSync(reply.emlPath!, 'utf8')
      .split('\r\n\r\n')[0]!
      .replace(/\r\n[ \t]+/g, ' ');
    expect(head).toContain('Message-ID: <notice.1@alerts.example.com>');
    expect(head).toContain('In-Reply-To: <alert.abc.1795748700@alerts.example.com>');
    expect(head).toContain(
      'References: <alert.abc.1795748700@alerts.example.com> <alert.def.1795748700@alerts.example.com>',
    );
    expect(head.match(/^Message-ID:/gm)).toHaveLength(1);

    // ACS: an invalid ID is removed and the service makes one; so is one already used.
    const invalid = await send({ 'Message-ID': 'no-brackets@alerts.example.com' });
    expect(invalid.messageId).toBe(`${invalid.operationId}@acs-emulator.invalid`);
    const repeated = await send({ 'Message-ID': '<alert.abc.1795748700@alerts.example.com>' });
    expect(repeated.messageId).toBe(`${repeated.operationId}@acs-emulator.invalid`);
  });

  it('refuses an invalid or repeated Message-ID with 400 when x-ms-acsemail-validate-message-id is true', async () => {
    const client = new EmailClient(emulator.connectionString);
    const strict = (id: string) =>
      message({ headers: { 'Message-ID': id, 'x-ms-acsemail-validate-message-id': 'true' } });
    await expect(client.beginSend(strict('<guid>'))).rejects.toMatchObject({ statusCode: 400 });
    await (await client.beginSend(strict('<first@alerts.example.com>'))).pollUntilDone();
    await expect(client.beginSend(strict('<first@alerts.example.com>'))).rejects.toMatchObject({ statusCode: 400 });
    expect(emulator.messages().map((m) => m.messageId)).toEqual(['first@alerts.example.com']);
    expect(emulator.messages()[0]!.headers).toBeUndefined();
  });
});
