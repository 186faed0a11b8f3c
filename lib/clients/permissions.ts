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

type GraphPermission = keyof typeof GRAPH_APPLICATION_PERMISSIONS;

/** The permission each Graph read needs, by the operation names lib/observe gives its reads. */
export const READ_PERMISSIONS: Record<string, GraphPermission> = {
  servicePrincipals: 'Application.Read.All',
  'synchronization/jobs': 'Synchronization.Read.All',
  'provisioning logs': 'AuditLog.Read.All',
};

/** What the provisioning logs need besides AuditLog.Read.All (Graph answers 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant without it). */
export const LOGS_LICENCE = 'a Microsoft Entra ID P1 or P2 licence';

/**
 * `GET /servicePrincipals/{id}/synchronization/secrets`, which the early warnings read (the
 * notification email, deletion prevention, a SCIM token's expiry). It is not a documented method
 * on v1.0 (nor on beta; Entra's own how-tos call it on beta) and its permission is not documented
 * (docs/reference/graph-provisioning-api.md §1.1, research memo 16-17 §2). What is known:
 * - `tried`: the monitor reads with the permission it has for the jobs. Nothing confirms it is
 *   enough; it is not listed among this permission's methods.
 * - `knownToWork`: Terraform's azuread provider reads (and writes) the secrets on v1.0 and documents
 *   one of these application roles for it. Both can also write, so they are not asked for by
 *   default: grant one only if the early warnings are worth a write permission to you.
 * - `setting`: turns the read off; the early warnings are then off, not degraded.
 * docs/deploying.md, "Reading the synchronization secrets", quotes the same names and sources (a unit test checks it).
 */
export const SECRETS_READ = {
  tried: 'Synchronization.Read.All',
  knownToWork: ['Application.ReadWrite.All', 'Directory.ReadWrite.All'],
  setting: 'WATCH_SECRETS_READ',
  sources: [
    'https://learn.microsoft.com/graph/api/resources/synchronization-synchronization?view=graph-rest-1.0',
    'https://registry.terraform.io/providers/hashicorp/azuread/latest/docs/resources/synchronization_secret',
  ],
} as const;

/** What a refused secrets read likely lacks, as the log's "likely missing ..." says it. */
export const SECRETS_READ_MISSING = `${SECRETS_READ.tried} or more: the permission for reading synchronization secrets is not documented; ${SECRETS_READ.knownToWork.join(' or ')} is known to work`;

/** What fixes a refused secrets read, as the status view and the alert say it. */
export const SECRETS_READ_FIX = `grant ${SECRETS_READ.knownToWork.join(' or ')} (known to work for this undocumented read; both can also write), or set ${SECRETS_READ.setting}=off to turn the early warnings off`;

/**
 * The one write permission, granted only when decisions from an alert are turned on (infra
 * `enableActions`, WATCH_ACTIONS); a customer tenant consents to it separately, and the monitor
 * acts only in tenants whose token carries it (lib/actions/readiness.ts). It allows every
 * synchronization write, not only the ones the monitor makes (docs/decisions.md, "Decisions from an alert").
 */
export const GRAPH_ACTION_PERMISSIONS = {
  'Synchronization.ReadWrite.All':
    'restart a job (approve or reject held deletes, retry a quarantine) and provision one object on demand, when a signed-in operator decides',
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
