/**
 * The `AADProvisioningLogs` table as Azure Monitor publishes it: the one table the config's KQL
 * rules are checked against (kql-check.ts). Source: Learn, "Azure Monitor Logs reference:
 * AADProvisioningLogs" (https://learn.microsoft.com/azure/azure-monitor/reference/tables/aadprovisioninglogs,
 * MicrosoftDocs/azure-reference-other: azure-monitor-ref/tables/includes/aadprovisioninglogs-include.md,
 * ms.date 2024-02-18), reproduced in docs/reference/graph-provisioning-api.md §4.1: 28 columns, the
 * complex ones JSON in `string` form (`parse_json()` them), no `dynamic` column.
 *
 * There is no `Action` column, although Microsoft's sample queries use one (reference §4.1,
 * CONFLICT): the published schema has `ProvisioningAction`. The Log Analytics emulator serves both
 * (emulators/provisioning-logs.ts), so that copied samples run there; the check follows the schema.
 */
export const AAD_PROVISIONING_LOGS = {
  table: 'AADProvisioningLogs',
  columns: {
    AADTenantId: 'string',
    _BilledSize: 'real',
    Category: 'string',
    ChangeId: 'string',
    CorrelationId: 'string',
    CycleId: 'string',
    DurationMs: 'long',
    Id: 'string',
    InitiatedBy: 'string',
    _IsBillable: 'string',
    JobId: 'string',
    ModifiedProperties: 'string',
    OperationName: 'string',
    OperationVersion: 'string',
    ProvisioningAction: 'string',
    ProvisioningStatusInfo: 'string',
    ProvisioningSteps: 'string',
    ResultDescription: 'string',
    ResultSignature: 'string',
    ResultType: 'string',
    ServicePrincipal: 'string',
    SourceIdentity: 'string',
    SourceSystem: 'string',
    TargetIdentity: 'string',
    TargetSystem: 'string',
    TenantId: 'string',
    TimeGenerated: 'datetime',
    Type: 'string',
  },
} as const satisfies { table: string; columns: Record<string, 'string' | 'real' | 'long' | 'datetime'> };
