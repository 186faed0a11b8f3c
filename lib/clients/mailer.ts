import { createHash } from 'node:crypto';
import type { EmailClient } from '@azure/communication-email';
import type { EmailContent, Recipients } from '../model';

/**
 * ACS accepted the message and then reported it Failed or Canceled: it was not delivered, and
 * sending again under the same Operation-Id would only return the failed operation.
 */
export class DeliveryFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryFailedError';
  }
}

/**
 * ACS answered 429: the subscription's sending limit is reached (ACS counts it per subscription, so
 * other senders spend it too). The email was not taken; nothing more should be sent before
 * `retryAfterMs` has passed.
 */
export class SendThrottledError extends Error {
  constructor(
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(message);
    this.name = 'SendThrottledError';
  }
}

/** When ACS says nothing of when to come back: a minute, the shorter of its two windows. */
const DEFAULT_RETRY_AFTER_MS = 60_000;

/**
 * The wait a 429 asks for: `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds) if present, else
 * `Retry-After` in seconds or as an HTTP date (the headers the Azure SDK's own throttling policy reads).
 */
function retryAfterMsOf(headers: { get(name: string): string | undefined } | undefined, now: number): number {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(headers?.get(name));
    if (headers?.get(name) && Number.isFinite(ms) && ms >= 0) return ms;
  }
  const text = headers?.get('retry-after')?.trim();
  if (!text) return DEFAULT_RETRY_AFTER_MS;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - now) : DEFAULT_RETRY_AFTER_MS;
}

/** What ACS says became of a send operation; `Unknown` when it has no operation of that id. */
export type OperationStatus = 'NotStarted' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled' | 'Unknown';

/**
 * Sends one email under the Operation-Id derived from `idempotencyKey` (`operationIdOf`). Throws
 * DeliveryFailedError when the service definitively did not deliver, any other error when the
 * outcome is unknown: then `status` says, before anything is sent again, whether it went out.
 */
export interface Mailer {
  send(
    content: EmailContent,
    recipients: Recipients,
    idempotencyKey: string,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ operationId: string }>;
  status(operationId: string, options?: { abortSignal?: AbortSignal }): Promise<OperationStatus>;
}

/** RFC 4122 version-5 UUID of `name` in our own namespace: a stable ACS Operation-Id for a key. */
function uuidV5(name: string, namespace = '6f1c1d0e-4b7a-4f3e-9a51-2b1e8f0c9d77'): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1')
    .update(Buffer.concat([ns, Buffer.from(name, 'utf8')]))
    .digest();
  const b = hash.subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x50;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The ACS Operation-Id of a send: derived from its key, so it is known before the send is made. */
export function operationIdOf(idempotencyKey: string): string {
  return uuidV5(idempotencyKey);
}

const KNOWN_STATUSES = new Set(['NotStarted', 'Running', 'Succeeded', 'Failed', 'Canceled']);

type GetSendResult = (
  operationId: string,
  options?: { abortSignal?: AbortSignal },
) => Promise<{ id: string; status: string }>;

/**
 * `GET /emails/operations/{id}` through the SDK's own generated client (its pipeline: the same
 * auth, retries and our call limits). EmailClient 1.1.0 builds it but does not expose it; its
 * shape is pinned by the delivery tests against the emulator, and a missing one is said plainly.
 */
function sendResultReader(client: EmailClient): GetSendResult {
  const email = (client as unknown as { generatedClient?: { email?: { getSendResult?: GetSendResult } } })
    .generatedClient?.email;
  const getSendResult = email?.getSendResult;
  if (typeof getSendResult !== 'function') {
    return () =>
      Promise.reject(
        new Error(
          'this @azure/communication-email has no getSendResult: the status of a send cannot be asked, so it is not sent again',
        ),
      );
  }
  return getSendResult.bind(email);
}

/**
 * ACS Email through the real SDK. The Operation-Id is derived from the email's key; the outcome of
 * a send whose answer was lost is asked with `status`, never assumed from a repeated Operation-Id
 * (what ACS does with one is not documented: docs/operating.md, "Delivery").
 */
export function createAcsMailer(client: EmailClient, senderAddress: string): Mailer {
  const getSendResult = sendResultReader(client);
  return {
    async status(operationId, options) {
      try {
        const result = await getSendResult(operationId, { abortSignal: options?.abortSignal });
        return KNOWN_STATUSES.has(result.status) ? (result.status as OperationStatus) : 'Running';
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return 'Unknown';
        throw error;
      }
    },
    async send(content, recipients, idempotencyKey, options) {
      const operationId = operationIdOf(idempotencyKey);
      const poller = await throttledAsSuch(() =>
        client.beginSend(
          {
            senderAddress,
            content: { subject: content.subject, html: content.html, plainText: content.plainText },
            recipients: {
              to: recipients.to.map((address) => ({ address })),
              cc: recipients.cc?.map((address) => ({ address })),
            },
            // Threading, Auto-Submitted and importance (lib/notify/channels/email/headers.ts).
            headers: content.headers,
            // No tracking pixel or rewritten links in an alert (wire name userEngagementTrackingDisabled).
            disableUserEngagementTracking: true,
          },
          { operationId, abortSignal: options?.abortSignal },
        ),
      );
      let result;
      try {
        result = await poller.pollUntilDone({ abortSignal: options?.abortSignal });
      } catch (error) {
        const state = poller.getOperationState().status;
        if (state === 'failed' || state === 'canceled') {
          throw new DeliveryFailedError(
            `ACS ${state === 'failed' ? 'failed' : 'canceled'} operation ${operationId}: ${(error as Error).message}`,
          );
        }
        throw error;
      }
      if (result.status !== 'Succeeded') {
        throw new DeliveryFailedError(
          `ACS did not deliver operation ${operationId}: status ${result.status}${result.error ? `, ${result.error.code}: ${result.error.message}` : ''}`,
        );
      }
      return { operationId };
    },
  };
}

/**
 * The send, with ACS's 429 turned into SendThrottledError. The SDK does not retry it (ACS_RETRIES in
 * lib/clients/index.ts): a Function must not sleep through a Retry-After that can last an hour.
 */
async function throttledAsSuch<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    const { statusCode, response } = error as {
      statusCode?: number;
      response?: { headers?: { get(name: string): string | undefined } };
    };
    if (statusCode !== 429) throw error;
    const retryAfterMs = retryAfterMsOf(response?.headers, Date.now());
    throw new SendThrottledError(retryAfterMs, `ACS answered 429 Too Many Requests: ${(error as Error).message}`);
  }
}
