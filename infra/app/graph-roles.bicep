extension microsoftGraphV1

// One tenant: grants the managed identity the Microsoft Graph application permissions the monitor
// reads with (lib/clients/permissions.ts), and, only with enableActions, the one write permission
// decisions from an alert need. The deployer needs Privileged Role Administrator (or Global
// Administrator) to grant app roles. Microsoft Graph Bicep deploys in the public cloud only.
param principalId string

@description('Also grant Synchronization.ReadWrite.All, for decisions from an alert (WATCH_ACTIONS). False: read-only.')
param enableActions bool = false

var readPermissions = ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All']
var actionPermissions = ['Synchronization.ReadWrite.All']
var graphPermissions = enableActions ? concat(readPermissions, actionPermissions) : readPermissions

resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

resource identityRoles 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for permission in graphPermissions: {
    principalId: principalId
    resourceId: graph.id
    appRoleId: filter(graph.appRoles, role => role.value == permission)[0].id
  }
]
