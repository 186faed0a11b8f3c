import { createHash } from 'node:crypto';
import type { EmailClient } from '@azure/communication-email';
import type { EmailContent, Recipients } from '../model';

export type { Recipients } from '../model';

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
 * Sends one email; the same `idempotencyKey` never delivers twice. Throws DeliveryFailedError
 * when the service definitively did not deliver, any other error when the outcome is unknown.
 */
export interface Mailer {
  send(content: EmailContent, recipients: Recipients, idempotencyKey: string): Promise<{ operationId: string }>;
}

/** RFC 4122 version-5 UUID of `name` in our own namespace: a stable ACS Operation-Id for a key. */
export function uuidV5(name: string, namespace = '6f1c1d0e-4b7a-4f3e-9a51-2b1e8f0c9d77'): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(Buffer.concat([ns, Buffer.from(name, 'utf8')])).digest();
  const b = hash.subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x50;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * ACS Email through the real SDK. The Operation-Id is derived from the notification key, so a
 * send retried after a crash or timeout maps to the operation the service already has.
 */
export function createAcsMailer(client: EmailClient, senderAddress: string): Mailer {
  return {
    async send(content, recipients, idempotencyKey) {
      const operationId = uuidV5(idempotencyKey);
      const poller = await client.beginSend(
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
        { operationId },
      );
      let result;
      try {
        result = await poller.pollUntilDone();
      } catch (error) {
        const state = poller.getOperationState().status;
        if (state === 'failed' || state === 'canceled') {
          throw new DeliveryFailedError(`ACS ${state === 'failed' ? 'failed' : 'canceled'} operation ${operationId}: ${(error as Error).message}`);
        }
        throw error;
      }
      if (result.status !== 'Succeeded') {
        throw new DeliveryFailedError(`ACS did not deliver operation ${operationId}: status ${result.status}${result.error ? `, ${result.error.code}: ${result.error.message}` : ''}`);
      }
      return { operationId };
    },
  };
}
