import { EmailClient } from '@azure/communication-email';
import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/core-auth';
import type { Settings } from '../config/settings';

export { createCredential, createCredentials, isMicrosoftAuthority, type Credentials } from './credentials';

export function createEmailClient(settings: Settings, credential: TokenCredential): EmailClient {
  if (settings.acs.connectionString) return new EmailClient(settings.acs.connectionString);
  return new EmailClient(settings.acs.endpoint, credential);
}

export function createTableClient(settings: Settings, credential: TokenCredential, table: string): TableClient {
  if ('connectionString' in settings.storage) {
    const local = /UseDevelopmentStorage=true/i.test(settings.storage.connectionString) || /=http:\/\//i.test(settings.storage.connectionString);
    return TableClient.fromConnectionString(settings.storage.connectionString, table, { allowInsecureConnection: local });
  }
  return new TableClient(settings.storage.tableServiceUri, table, credential);
}
