/**
 * Azure Communication Services Email emulator: the data-plane API that `@azure/communication-email`
 * (`EmailClient.beginSend`) talks to, over HTTPS on 127.0.0.1, with the real wire format:
 *
 *   POST /emails:send?api-version=...            -> 202 { id, status: "Running" } + Operation-Location + retry-after
 *   GET  /emails/operations/{id}?api-version=... -> 200 { id, status, error? }
 *
 * Auth is the service's: HMAC-SHA256 over `VERB\npathAndQuery\n<signed header values>` with the
 * connection string's access key (what `new EmailClient(connectionString)` sends), or an Entra
 * bearer token for `https://communication.azure.com` (what `new EmailClient(endpoint, tokenCredential)` sends).
 * See docs/reference/platform-notes.md section 4.
 *
 * Delivered messages are kept in memory and, with `outboxDir`, written as `.eml` + `.html` files a
 * person can open.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { startHttpsServer } from './http';
import type { TlsMaterial } from './tls';
import { bearerToken, type TokenSigner } from './tokens';
import { buildEml, buildHtmlPreview, isValidHeaderName, RESERVED_HEADER_NAMES } from './acs-mime';
import { recordSecret } from './secrets';

export interface AcsEmulatorOptions {
  tls: TlsMaterial;
  signer: TokenSigner;
  /** Where each delivered message is written as `<timestamp>-<operationId>.eml` and `.html`. */
  outboxDir?: string;
  /** Base64 access key of the connection string; default: 32 random bytes. */
  accessKey?: string;
}

interface EmailAddress {
  address: string;
  displayName?: string;
}

export interface DeliveredEmail {
  operationId: string;
  receivedAt: string;
  senderAddress: string;
  to: EmailAddress[];
  cc: EmailAddress[];
  bcc: EmailAddress[];
  subject: string;
  html?: string;
  plainText?: string;
  headers?: Record<string, string>;
  replyTo?: EmailAddress[];
  /** The internet message ID it went out with (no angle brackets): the sender's when valid and new, else one of the emulator's. */
  messageId: string;
  /** Whether the request asked for no engagement tracking (`userEngagementTrackingDisabled`). */
  userEngagementTrackingDisabled?: boolean;
  emlPath?: string;
  htmlPath?: string;
}

interface AcsFault {
  /**
   * HTTP status to answer (429, 500, 503, ...). Ignored when `operationStatus` or `hang` is set; with
   * `malformedJson` it is the status of the broken answer; a 2xx with only `delayMs` answers normally, late.
   */
  status: number;
  /** Sent as `Retry-After` (seconds) when given. */
  retryAfterSeconds?: number;
  /** How many matching requests the fault answers. */
  times: number;
  /** Which requests it matches: sends, status polls, or (undefined) both. */
  path?: 'send' | 'operation';
  /**
   * Instead of an HTTP error: accept the next `times` sends (202), then end their operations in this
   * status with `error: { code: 'EmailDropped', ... }`; nothing is delivered.
   */
  operationStatus?: 'Failed' | 'Canceled';
  /** Never answer: the socket stays open until the emulator stops (a hung service). */
  hang?: boolean;
  /** Answer `status` with a body that is cut off mid-JSON. */
  malformedJson?: boolean;
  /** Wait this long before answering (normally, or with the fault). */
  delayMs?: number;
  /**
   * For sends: take the message first (it is delivered, the operation exists), then answer with
   * the fault instead of 202: a send the service accepted whose answer never reached the client.
   */
  afterAccepting?: boolean;
}

interface AcsRequestRecord {
  at: string;
  method: string;
  path: string;
  status: number;
  operationId?: string;
  auth: 'hmac' | 'bearer' | 'none';
}

export interface AcsEmulator {
  /** `https://127.0.0.1:PORT` */
  endpoint: string;
  /** `endpoint=https://127.0.0.1:PORT/;accesskey=<base64>` */
  connectionString: string;
  messages(): DeliveredEmail[];
  requests(): AcsRequestRecord[];
  injectFault(f: AcsFault): void;
  /** Drops the faults still queued; messages and operations stay (a client can still ask about them). */
  clearFaults(): void;
  /** Forgets messages, requests, faults, operations and Message-IDs (so Operation-Ids may be reused). Outbox files stay. */
  reset(): void;
  stop(): Promise<void>;
}

/** api-versions of the Email data plane that SDK 1.1.0 (2025-09-01) and 1.0.0 (2023-03-31) use. */
const ACS_SUPPORTED_API_VERSIONS = ['2025-09-01', '2023-03-31'] as const;
/** Audience of the tokens the SDK asks for (scope `https://communication.azure.com//.default`). */
const ACS_AUDIENCE = 'https://communication.azure.com';

const MAX_RECIPIENTS = 50;
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Loose on purpose (the service checks deliverability later): local@domain.tld, no spaces, brackets or quotes.
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

type PublicStatus = 'NotStarted' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled';

interface Operation {
  id: string;
  /** How many status GETs it has answered; the first says Running, later ones the final status. */
  polls: number;
  finalStatus: 'Succeeded' | 'Failed' | 'Canceled';
}

interface ActiveFault extends AcsFault {
  remaining: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extraHeaders: Record<string, string> = {},
  ) {
    super(message);
  }
}

const denied = (reason: string, extra: Record<string, string> = {}): HttpError =>
  // The real service answers every failed HMAC/bearer check with this body; the reason goes in a
  // header only the emulator sends, so a failing test can say why.
  new HttpError(401, 'Denied', 'Denied by the resource provider.', { 'x-ms-emulator-denied-reason': reason, ...extra });

const badRequest = (message: string, code = 'BadRequest'): HttpError => new HttpError(400, code, message);

const STATUS_ERRORS: Record<number, { code: string; message: (retryAfter?: number) => string }> = {
  429: {
    code: 'TooManyRequests',
    message: (s) => `Too many requests. Please try again${s === undefined ? ' later' : ` after ${s} seconds`}.`,
  },
  500: { code: 'InternalServerError', message: () => 'An unexpected error occurred while processing the request.' },
  502: { code: 'BadGateway', message: () => 'The service received an invalid response from an upstream server.' },
  503: { code: 'ServiceUnavailable', message: () => 'The service is temporarily unavailable. Please try again later.' },
  504: { code: 'GatewayTimeout', message: () => 'The service did not respond in time.' },
};

function readBody(req: IncomingMessage): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge: size > MAX_REQUEST_BYTES }));
    req.on('error', reject);
  });
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
};

const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function authKind(req: IncomingMessage): AcsRequestRecord['auth'] {
  const authorization = header(req, 'authorization') ?? '';
  if (/^HMAC-SHA256\s/i.test(authorization)) return 'hmac';
  if (/^Bearer\s/i.test(authorization)) return 'bearer';
  return 'none';
}

/**
 * Checks `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=...`
 * the way the service does (platform notes 4.2 item 3): the body hash must match the raw body, the
 * date must be within 15 minutes, and the signature must be the HMAC-SHA256 (keyed with the decoded
 * access key) of `VERB\npathAndQuery\n<values of the signed headers joined by ';'>`.
 */
function verifyHmac(req: IncomingMessage, body: Buffer, key: Buffer): void {
  const authorization = header(req, 'authorization') ?? '';
  const match = /^HMAC-SHA256\s+SignedHeaders=([^&\s]+)&Signature=(\S+)$/i.exec(authorization.trim());
  if (!match) throw denied('Authorization is not HMAC-SHA256 SignedHeaders=...&Signature=...');
  const signedHeaders = match[1]!.toLowerCase().split(';');
  const signature = match[2]!;
  for (const required of ['host', 'x-ms-content-sha256']) {
    if (!signedHeaders.includes(required)) throw denied(`SignedHeaders must include ${required}`);
  }
  const dateHeader = signedHeaders.includes('x-ms-date')
    ? 'x-ms-date'
    : signedHeaders.includes('date')
      ? 'date'
      : undefined;
  if (!dateHeader) throw denied('SignedHeaders must include x-ms-date (or date)');

  const contentHash = createHash('sha256').update(body).digest('base64');
  const sentHash = header(req, 'x-ms-content-sha256');
  if (sentHash === undefined || !safeEqual(sentHash, contentHash))
    throw denied('x-ms-content-sha256 does not match the body');

  const date = Date.parse(header(req, dateHeader) ?? '');
  if (!Number.isFinite(date)) throw denied(`${dateHeader} is missing or not a date`);
  if (Math.abs(Date.now() - date) > MAX_CLOCK_SKEW_MS) throw denied(`${dateHeader} is more than 15 minutes off`);

  const values: string[] = [];
  for (const name of signedHeaders) {
    const value = header(req, name);
    if (value === undefined) throw denied(`signed header ${name} is missing`);
    values.push(value);
  }
  // The SDK signs URL.pathname + '?' + URLSearchParams.toString(); the raw request target is the same
  // for anything it sends, but accept either form.
  const rawTarget = req.url ?? '/';
  const url = new URL(rawTarget, 'https://emulator.invalid');
  const query = url.searchParams.toString();
  const targets = new Set([rawTarget, query ? `${url.pathname}?${query}` : url.pathname]);
  const signedBy = (target: string): string =>
    createHmac('sha256', key)
      .update(`${(req.method ?? 'GET').toUpperCase()}\n${target}\n${values.join(';')}`)
      .digest('base64');
  if (![...targets].some((t) => safeEqual(signedBy(t), signature))) throw denied('Signature does not match');
}

function verifyBearer(req: IncomingMessage, signer: TokenSigner): void {
  const challenge = {
    'WWW-Authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/common", resource="${ACS_AUDIENCE}"`,
  };
  const token = bearerToken(header(req, 'authorization'));
  if (!token) throw denied('Authorization: Bearer carries no token', challenge);
  const result = signer.verify(token);
  if ('error' in result) throw denied(result.error, challenge);
  const aud = result.claims.aud.replace(/\/+$/, '');
  if (aud !== ACS_AUDIENCE) throw denied(`audience ${result.claims.aud} is not ${ACS_AUDIENCE}`, challenge);
}

function asAddresses(value: unknown, field: string): EmailAddress[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`The field '${field}' must be an array of email addresses.`);
  return value.map((item: unknown, i) => {
    const entry = item as { address?: unknown; displayName?: unknown } | null;
    if (!entry || typeof entry !== 'object' || typeof entry.address !== 'string' || !entry.address) {
      throw badRequest(`The field '${field}[${i}].address' is required.`);
    }
    if (!EMAIL.test(entry.address)) {
      throw badRequest(`Invalid email address '${entry.address}' in '${field}[${i}].address'.`, 'InvalidRequest');
    }
    if (entry.displayName !== undefined && entry.displayName !== null && typeof entry.displayName !== 'string') {
      throw badRequest(`The field '${field}[${i}].displayName' must be a string.`);
    }
    const address: EmailAddress = { address: entry.address };
    if (typeof entry.displayName === 'string') address.displayName = entry.displayName;
    return address;
  });
}

interface ValidMessage {
  senderAddress: string;
  to: EmailAddress[];
  cc: EmailAddress[];
  bcc: EmailAddress[];
  replyTo: EmailAddress[];
  subject: string;
  html?: string;
  plainText?: string;
  headers?: Record<string, string>;
  /** A `Message-ID` custom header: the msg-id without brackets when it is valid, `invalid` when not. */
  messageId?: { id: string } | 'invalid';
  /** `x-ms-acsemail-validate-message-id: true`: a bad or repeated Message-ID is refused instead of replaced. */
  validateMessageId: boolean;
  userEngagementTrackingDisabled?: boolean;
  attachments: { name: string; contentType: string; contentInBase64: string; contentId?: string }[];
}

/** RFC 5322 msg-id: `<dot-atom@dot-atom>` (or a domain literal on the right), as ACS validates it. */
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const MSG_ID = new RegExp(`^<(${ATOM}(?:\\.${ATOM})*@(?:${ATOM}(?:\\.${ATOM})*|\\[[^\\[\\]\\\\\\s]*\\]))>$`);

/** The service's request validation, as far as it is documented (spec + service limits). */
function validateMessage(raw: Buffer): ValidMessage {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('The request body must be a JSON object.');
  const b = body as Record<string, unknown>;

  if (typeof b.senderAddress !== 'string' || !b.senderAddress)
    throw badRequest("The field 'senderAddress' is required.");
  if (!EMAIL.test(b.senderAddress)) throw badRequest(`Invalid sender address '${b.senderAddress}'.`, 'InvalidRequest');

  const content = b.content as Record<string, unknown> | undefined;
  if (!content || typeof content !== 'object') throw badRequest("The field 'content' is required.");
  if (typeof content.subject !== 'string' || !content.subject.trim())
    throw badRequest("The field 'content.subject' is required.");
  for (const f of ['html', 'plainText'] as const) {
    if (content[f] !== undefined && content[f] !== null && typeof content[f] !== 'string') {
      throw badRequest(`The field 'content.${f}' must be a string.`);
    }
  }
  const html = typeof content.html === 'string' ? content.html : undefined;
  const plainText = typeof content.plainText === 'string' ? content.plainText : undefined;
  if (!html && !plainText) throw badRequest("At least one of 'content.html' or 'content.plainText' is required.");

  const recipients = b.recipients as Record<string, unknown> | undefined;
  if (!recipients || typeof recipients !== 'object') throw badRequest("The field 'recipients' is required.");
  const to = asAddresses(recipients.to, 'recipients.to');
  const cc = asAddresses(recipients.cc, 'recipients.cc');
  const bcc = asAddresses(recipients.bcc, 'recipients.bcc');
  const total = to.length + cc.length + bcc.length;
  if (total === 0)
    throw badRequest('At least one recipient is required in recipients.to, recipients.cc or recipients.bcc.');
  if (total > MAX_RECIPIENTS) {
    throw badRequest(
      `The total number of recipients (${total}) exceeds the maximum of ${MAX_RECIPIENTS}.`,
      'InvalidRequest',
    );
  }
  const replyTo = asAddresses(b.replyTo, 'replyTo');

  let headers: Record<string, string> | undefined;
  let messageId: ValidMessage['messageId'];
  let validateMessageId = false;
  if (b.headers !== undefined && b.headers !== null) {
    if (typeof b.headers !== 'object' || Array.isArray(b.headers))
      throw badRequest("The field 'headers' must be an object of strings.");
    headers = {};
    for (const [name, value] of Object.entries(b.headers as Record<string, unknown>)) {
      if (typeof value !== 'string') throw badRequest(`The value of header '${name}' must be a string.`);
      if (!isValidHeaderName(name)) throw badRequest(`'${name}' is not a valid header name.`, 'InvalidRequest');
      // Documented: a sender's internet message ID is kept when valid; x-ms-acsemail-* headers steer
      // the service and are not part of the message (ACS "Custom headers" concept page).
      if (name.toLowerCase() === 'message-id') {
        const match = MSG_ID.exec(value.trim());
        messageId = match ? { id: match[1]! } : 'invalid';
        continue;
      }
      if (name.toLowerCase() === 'x-ms-acsemail-validate-message-id') {
        validateMessageId = value.trim().toLowerCase() === 'true';
        continue;
      }
      if (name.toLowerCase().startsWith('x-ms-acsemail-')) continue;
      // Undocumented: the emulator refuses custom headers that would replace the ones it builds.
      if (RESERVED_HEADER_NAMES.has(name.toLowerCase())) {
        throw badRequest(`The header '${name}' cannot be set as a custom header.`, 'InvalidRequest');
      }
      headers[name] = value;
    }
  }

  const attachments: ValidMessage['attachments'] = [];
  if (b.attachments !== undefined && b.attachments !== null) {
    if (!Array.isArray(b.attachments)) throw badRequest("The field 'attachments' must be an array.");
    for (const [i, a] of (b.attachments as Record<string, unknown>[]).entries()) {
      for (const f of ['name', 'contentType', 'contentInBase64'] as const) {
        if (!a || typeof a[f] !== 'string' || !a[f])
          throw badRequest(`The field 'attachments[${i}].${f}' is required.`);
      }
      if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(a.contentInBase64 as string)) {
        throw badRequest(`'attachments[${i}].contentInBase64' is not valid base64.`, 'InvalidRequest');
      }
      const attachment: ValidMessage['attachments'][number] = {
        name: a.name as string,
        contentType: a.contentType as string,
        contentInBase64: a.contentInBase64 as string,
      };
      if (typeof a.contentId === 'string' && a.contentId) attachment.contentId = a.contentId;
      attachments.push(attachment);
    }
  }

  if (validateMessageId && messageId === 'invalid') {
    throw badRequest(
      'The Message-ID header is not a valid RFC 2822 internet message ID, e.g. <id@domain.com>.',
      'InvalidRequest',
    );
  }
  const message: ValidMessage = {
    senderAddress: b.senderAddress,
    to,
    cc,
    bcc,
    replyTo,
    subject: content.subject,
    attachments,
    validateMessageId,
  };
  if (html !== undefined) message.html = html;
  if (plainText !== undefined) message.plainText = plainText;
  if (headers && Object.keys(headers).length > 0) message.headers = headers;
  if (messageId !== undefined) message.messageId = messageId;
  if (typeof b.userEngagementTrackingDisabled === 'boolean')
    message.userEngagementTrackingDisabled = b.userEngagementTrackingDisabled;
  return message;
}

export async function startAcsEmulator(options: AcsEmulatorOptions): Promise<AcsEmulator> {
  const accessKey = options.accessKey ?? randomBytes(32).toString('base64');
  const key = Buffer.from(accessKey, 'base64');
  if (key.length === 0) throw new Error('AcsEmulatorOptions.accessKey must be a non-empty base64 string');
  recordSecret('acs-access-key', accessKey);
  if (options.outboxDir) await mkdir(options.outboxDir, { recursive: true });

  let delivered: DeliveredEmail[] = [];
  let log: AcsRequestRecord[] = [];
  let faults: ActiveFault[] = [];
  /** Accepted operations by lower-case id: the idempotency record for Operation-Id. */
  let operations = new Map<string, Operation>();
  let endpoint = '';

  const takeFault = (kind: 'send' | 'operation', wantOperationStatus: boolean): ActiveFault | undefined => {
    const fault = faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.operationStatus !== undefined) === wantOperationStatus &&
        (wantOperationStatus || f.path === undefined || f.path === kind),
    );
    if (fault) fault.remaining -= 1;
    faults = faults.filter((f) => f.remaining > 0);
    return fault;
  };

  /** Internet message IDs already sent (lower case): ACS checks a sender's Message-ID for duplicates. */
  let messageIds = new Set<string>();
  /** The sender's Message-ID when valid and new; otherwise ACS makes its own (or, strict, refuses). */
  const chooseMessageId = (operationId: string, m: ValidMessage): string => {
    const given = m.messageId !== undefined && m.messageId !== 'invalid' ? m.messageId.id : undefined;
    const repeated = given !== undefined && messageIds.has(given.toLowerCase());
    if (repeated && m.validateMessageId)
      throw badRequest(`The Message-ID <${given}> was already used.`, 'InvalidRequest');
    const id = given !== undefined && !repeated ? given : `${operationId}@acs-emulator.invalid`;
    messageIds.add(id.toLowerCase());
    return id;
  };

  const deliver = async (operationId: string, m: ValidMessage): Promise<void> => {
    const receivedAt = new Date();
    const email: DeliveredEmail = {
      operationId,
      receivedAt: receivedAt.toISOString(),
      senderAddress: m.senderAddress,
      to: m.to,
      cc: m.cc,
      bcc: m.bcc,
      subject: m.subject,
      messageId: chooseMessageId(operationId, m),
    };
    if (m.userEngagementTrackingDisabled !== undefined)
      email.userEngagementTrackingDisabled = m.userEngagementTrackingDisabled;
    if (m.html !== undefined) email.html = m.html;
    if (m.plainText !== undefined) email.plainText = m.plainText;
    if (m.headers) email.headers = m.headers;
    if (m.replyTo.length) email.replyTo = m.replyTo;
    if (options.outboxDir) {
      const base = join(options.outboxDir, `${email.receivedAt.replace(/[:.]/g, '-')}-${operationId}`);
      const mime = {
        messageId: email.messageId,
        date: receivedAt,
        from: m.senderAddress,
        to: m.to,
        cc: m.cc,
        bcc: m.bcc,
        replyTo: m.replyTo,
        subject: m.subject,
        plainText: m.plainText,
        html: m.html,
        headers: m.headers,
        attachments: m.attachments,
      };
      await writeFile(`${base}.eml`, buildEml(mime), 'utf8');
      await writeFile(`${base}.html`, buildHtmlPreview(mime), 'utf8');
      email.emlPath = `${base}.eml`;
      email.htmlPath = `${base}.html`;
    }
    delivered.push(email);
  };

  const statusBody = (op: Operation, status: PublicStatus): Record<string, unknown> => {
    const body: Record<string, unknown> = { id: op.id, status };
    if (status === 'Failed' || status === 'Canceled') {
      body.error = {
        code: 'EmailDropped',
        message:
          status === 'Failed'
            ? 'The email has been dropped because of a delivery failure (injected by the emulator).'
            : 'The email send operation was canceled (injected by the emulator).',
      };
    }
    return body;
  };

  const currentStatus = (op: Operation): PublicStatus => (op.polls === 0 ? 'Running' : op.finalStatus);

  async function handle(req: IncomingMessage, res: ServerResponse, record: AcsRequestRecord): Promise<void> {
    const { body, tooLarge } = await readBody(req);
    const url = new URL(req.url ?? '/', 'https://emulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const isSend = url.pathname === '/emails:send';
    const opMatch = /^\/emails\/operations\/([^/]+)$/.exec(url.pathname);
    if (!isSend && !opMatch) throw new HttpError(404, 'NotFound', `The resource '${url.pathname}' was not found.`);
    if ((isSend && method !== 'POST') || (opMatch && method !== 'GET')) {
      throw new HttpError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`, {
        Allow: isSend ? 'POST' : 'GET',
      });
    }
    if (opMatch) record.operationId = decodeURIComponent(opMatch[1]!);
    const givenOperationId = header(req, 'operation-id');
    if (isSend && givenOperationId) record.operationId = givenOperationId;

    // Authentication first, as the service's front door does.
    if (record.auth === 'hmac') verifyHmac(req, body, key);
    else if (record.auth === 'bearer') verifyBearer(req, options.signer);
    else throw denied('no Authorization header (HMAC-SHA256 or Bearer) was sent');

    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) throw badRequest('An API version is required, but was not specified.', 'ApiVersionUnspecified');
    if (!(ACS_SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
      throw badRequest(
        `The HTTP resource that matches the request URI '${endpoint}${url.pathname}' does not support the API version '${apiVersion}'.`,
        'UnsupportedApiVersion',
      );
    }

    const fault = takeFault(isSend ? 'send' : 'operation', false);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault && isSend && fault.afterAccepting) {
      await accept(body, tooLarge, givenOperationId, apiVersion, res, record, true);
      if (fault.hang || fault.malformedJson) return misbehave(fault, res, record);
      throw statusFault(fault);
    }
    if (fault && (fault.hang || fault.malformedJson)) return misbehave(fault, res, record);
    if (fault && fault.status >= 400) throw statusFault(fault);

    if (opMatch) {
      const op = operations.get(record.operationId!.toLowerCase());
      if (!op) throw new HttpError(404, 'NotFound', `The operation '${record.operationId}' was not found.`);
      const status = currentStatus(op);
      op.polls += 1;
      const headers: Record<string, string> = {};
      if (status === 'Running' || status === 'NotStarted') headers['retry-after'] = '0';
      send(res, record, 200, statusBody(op, status), headers);
      return;
    }

    await accept(body, tooLarge, givenOperationId, apiVersion, res, record, false);
  }

  /** The error answer of an HTTP-status fault, with the service's code and message for that status. */
  function statusFault(fault: ActiveFault): HttpError {
    const known = STATUS_ERRORS[fault.status];
    const extra: Record<string, string> = {};
    if (fault.retryAfterSeconds !== undefined) extra['Retry-After'] = String(fault.retryAfterSeconds);
    return new HttpError(
      fault.status,
      known?.code ?? `Http${fault.status}`,
      known?.message(fault.retryAfterSeconds) ?? `The service answered ${fault.status} (injected by the emulator).`,
      extra,
    );
  }

  /** A fault's answer instead of the normal one: none at all (a hung socket), or a body cut mid-JSON. */
  function misbehave(fault: ActiveFault, res: ServerResponse, record: AcsRequestRecord): Promise<void> {
    if (fault.hang) {
      record.status = -1;
      return new Promise<void>(() => undefined); // the socket is destroyed when the emulator stops
    }
    record.status = fault.status;
    res.writeHead(fault.status, { 'Content-Type': 'application/json; charset=utf-8', 'x-ms-request-id': randomUUID() });
    res.end('{"id":"');
    return Promise.resolve();
  }

  /**
   * Takes a send: validates it and creates its operation (and delivers it) once per Operation-Id.
   * The operation is recorded before anything is awaited, so two sends with the same Operation-Id
   * that arrive together deliver once. `silent`: the answer is left to a fault.
   */
  async function accept(
    body: Buffer,
    tooLarge: boolean,
    givenOperationId: string | undefined,
    apiVersion: string,
    res: ServerResponse,
    record: AcsRequestRecord,
    silent: boolean,
  ): Promise<void> {
    if (tooLarge) throw new HttpError(413, 'RequestEntityTooLarge', 'The request exceeds the maximum size of 10 MB.');
    if (givenOperationId !== undefined && !UUID.test(givenOperationId)) {
      throw badRequest(`The Operation-Id header '${givenOperationId}' is not a valid GUID.`, 'InvalidRequest');
    }
    const operationHeaders = (op: Operation): Record<string, string> => ({
      'Operation-Location': `${endpoint}/emails/operations/${encodeURIComponent(op.id)}?api-version=${apiVersion}`,
      'retry-after': '0',
    });

    // Idempotency. What the real service does with a repeated Operation-Id is not documented; the
    // emulator answers 202 with the operation it already has (its current status, no second
    // delivery), whatever the second body says. That is what a client retrying a send needs.
    const existing = givenOperationId ? operations.get(givenOperationId.toLowerCase()) : undefined;
    if (existing) {
      if (!silent) send(res, record, 202, statusBody(existing, currentStatus(existing)), operationHeaders(existing));
      return;
    }

    const message = validateMessage(body);
    const dropFault = takeFault('send', true);
    const op: Operation = {
      id: givenOperationId ?? randomUUID(),
      polls: 0,
      finalStatus: dropFault?.operationStatus ?? 'Succeeded',
    };
    record.operationId = op.id;
    operations.set(op.id.toLowerCase(), op);
    if (op.finalStatus === 'Succeeded') await deliver(op.id, message);
    if (!silent) send(res, record, 202, { id: op.id, status: 'Running' }, operationHeaders(op));
  }

  function send(
    res: ServerResponse,
    record: AcsRequestRecord,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    record.status = status;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'x-ms-request-id': randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  const server = await startHttpsServer(options.tls, (req, res) => {
    const record: AcsRequestRecord = {
      at: new Date().toISOString(),
      method: (req.method ?? 'GET').toUpperCase(),
      path: req.url ?? '/',
      status: 0,
      auth: authKind(req),
    };
    log.push(record);
    handle(req, res, record).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        send(
          res,
          record,
          err.status,
          { error: { code: err.code, message: err.message } },
          { 'x-ms-error-code': err.code, ...err.extraHeaders },
        );
      } else {
        const message = err instanceof Error ? err.message : String(err);
        send(
          res,
          record,
          500,
          { error: { code: 'InternalServerError', message: `Emulator error: ${message}` } },
          { 'x-ms-error-code': 'InternalServerError' },
        );
      }
    });
  });

  endpoint = server.origin;

  return {
    endpoint,
    connectionString: `endpoint=${endpoint}/;accesskey=${accessKey}`,
    messages: () => structuredClone(delivered),
    requests: () => log.map((r) => ({ ...r })),
    injectFault(f: AcsFault) {
      if (!Number.isInteger(f.times) || f.times < 1) throw new Error('AcsFault.times must be a positive integer');
      if (f.delayMs !== undefined && (!Number.isFinite(f.delayMs) || f.delayMs < 0))
        throw new Error('AcsFault.delayMs must be a number >= 0');
      faults.push({ ...f, remaining: f.times });
    },
    clearFaults() {
      faults = [];
    },
    reset() {
      delivered = [];
      log = [];
      faults = [];
      operations = new Map();
      messageIds = new Set();
    },
    stop: () => server.close(),
  };
}
