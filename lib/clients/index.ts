import { EmailClient } from '@azure/communication-email';
import { TableClient } from '@azure/data-tables';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/core-auth';
import type { Settings } from '../settings/settings';
import { callLimitPolicy, UNBOUNDED, type CallLimits } from './timeouts';

export { createCredentials } from './credentials';

/**
 * Pipeline options that bound every call of an Azure SDK client (lib/clients/timeouts.ts), with
 * the SDK's own retries kept few and short: the cycle's deadline, not the retry count, is what
 * limits them. Table Storage writes are safe to retry (each is conditional on its ETag, or a create).
 */
export function boundedClientOptions(service: string, limits: CallLimits, maxRetries = 2) {
  return {
    additionalPolicies: [{ policy: callLimitPolicy(service, limits) as never, position: 'perCall' as const }],
    retryOptions: { maxRetries, retryDelayInMs: 250, maxRetryDelayInMs: 4000 },
  };
}

/**
 * ACS sends are never retried by the SDK: a retried POST after a lost answer would rely on the
 * service ignoring a repeated Operation-Id, which is not documented. A send that fails waits for
 * the next cycle, which first asks ACS what became of it (lib/notify/deliver.ts).
 */
const ACS_RETRIES = 0;

export function createEmailClient(
  settings: Settings,
  credential: TokenCredential,
  limits: CallLimits = UNBOUNDED,
): EmailClient {
  if (settings.acs.connectionString)
    return new EmailClient(settings.acs.connectionString, boundedClientOptions('ACS', limits, ACS_RETRIES));
  return new EmailClient(settings.acs.endpoint, credential, boundedClientOptions('ACS', limits, ACS_RETRIES));
}

export function createTableClient(
  settings: Settings,
  credential: TokenCredential,
  table: string,
  limits: CallLimits = UNBOUNDED,
): TableClient {
  if ('connectionString' in settings.storage) {
    const local =
      /UseDevelopmentStorage=true/i.test(settings.storage.connectionString) ||
      /=http:\/\//i.test(settings.storage.connectionString);
    return TableClient.fromConnectionString(settings.storage.connectionString, table, {
      allowInsecureConnection: local,
      ...boundedClientOptions('Table Storage', limits),
    });
  }
  return new TableClient(
    settings.storage.tableServiceUri,
    table,
    credential,
    boundedClientOptions('Table Storage', limits),
  );
}

/**
 * A Storage queue on the app's storage account (the tenant fan-out, lib/fanout/): from the
 * connection string locally (Azurite's QueueEndpoint), or `AzureWebJobsStorage__queueServiceUri`
 * with the managed identity, as the Functions host reaches the same queue. Undefined when the
 * settings name no queue endpoint.
 */
export function createQueueClient(
  settings: Settings,
  credential: TokenCredential,
  queue: string,
  limits: CallLimits = UNBOUNDED,
): QueueClient | undefined {
  // The queue SDK takes no pipeline policies: each attempt is bounded here, the whole call by the
  // abort signal its caller passes (the cycle's deadline).
  const options = {
    retryOptions: {
      maxTries: 3,
      tryTimeoutInMs: Math.ceil(limits.callMs),
      retryDelayInMs: 250,
      maxRetryDelayInMs: 4000,
    },
  };
  if ('connectionString' in settings.storage) {
    const text = settings.storage.connectionString;
    if (!/UseDevelopmentStorage=true|QueueEndpoint=|AccountName=/i.test(text)) return undefined;
    return QueueServiceClient.fromConnectionString(text, options).getQueueClient(queue);
  }
  if (!settings.storage.queueServiceUri) return undefined;
  return new QueueServiceClient(settings.storage.queueServiceUri, credential, options).getQueueClient(queue);
}
