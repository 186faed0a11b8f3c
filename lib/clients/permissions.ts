/**
 * What the monitor's identities must be granted, in one place: the deployment (infra/) grants it,
 * `npm run onboard` asks customer tenants for it, and the infra contract test
 * (test/unit/infra-contract.test.ts) checks both against the code.
 */

/**
 * Microsoft Graph application permissions (app roles), least privilege: reading only
 * (DESIGN.md). Every permission the code names in a message must be one of these.
 */
export const GRAPH_APPLICATION_PERMISSIONS = {
  'Application.Read.All': 'list the service principals that own synchronization jobs',
  'Synchronization.Read.All': 'read the synchronization jobs and their quarantine state',
  'AuditLog.Read.All': 'read the provisioning logs (failures, held deletes)',
} as const;

/** Microsoft Graph's application ID, the same in every tenant and cloud. */
export const MICROSOFT_GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

export interface AzureRole {
  /** Built-in role name and its ID (the same in every subscription). */
  name: string;
  id: string;
  /** The resource the deployment grants it on. */
  scope: 'storage' | 'communication' | 'applicationInsights' | 'logAnalyticsWorkspace';
  /** The npm package whose client needs it, or `host` for the Functions host itself. */
  neededBy: string;
  /** False when the deployment cannot grant it (a workspace the customer owns): docs/deploying.md ("Permissions") says how. */
  deployed: boolean;
}

/**
 * Azure RBAC roles of the Function App's managed identity. IDs from the Azure built-in roles
 * reference (docs/reference/platform-notes.md §5, §6.1, §6.2).
 */
export const AZURE_ROLES: AzureRole[] = [
  {
    name: 'Storage Table Data Contributor',
    id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    scope: 'storage',
    neededBy: '@azure/data-tables',
    deployed: true,
  },
  {
    name: 'Storage Queue Data Contributor',
    id: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
    scope: 'storage',
    neededBy: '@azure/storage-queue',
    deployed: true,
  },
  {
    name: 'Storage Blob Data Owner',
    id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    scope: 'storage',
    neededBy: 'host',
    deployed: true,
  },
  {
    name: 'Communication and Email Service Owner',
    id: '09976791-48a7-449e-bb21-39d1a415f350',
    scope: 'communication',
    neededBy: '@azure/communication-email',
    deployed: true,
  },
  {
    name: 'Monitoring Metrics Publisher',
    id: '3913510d-42f4-4e42-8a64-420c390055eb',
    scope: 'applicationInsights',
    neededBy: 'host',
    deployed: true,
  },
  {
    name: 'Log Analytics Reader',
    id: '73c42c96-874c-492b-b04d-ab87d138a893',
    scope: 'logAnalyticsWorkspace',
    neededBy: '@azure/monitor-query-logs',
    deployed: false,
  },
];
