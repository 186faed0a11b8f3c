extension microsoftGraphV1

// Many tenants: a multi-tenant app registration whose only credential is the Function App's managed
// identity, as a federated identity credential (no secret anywhere). It requires the Graph application
// permissions the monitor reads with (lib/clients/permissions.ts), holds them in this tenant, and each
// customer tenant's admin consents to them (npm run onboard prints the link; the redirect URI below
// is where they land). Pattern: microsoftgraph/msgraph-bicep-types quickstart "msi-as-a-fic-secretless".
param displayName string
param uniqueName string
param managedIdentityPrincipalId string
@description('The managed identity\'s token issuer: <login endpoint><tenant>/v2.0')
param issuer string
param tokenExchangeAudience string
param consentRedirectUri string
@description('Grant the app its Graph app roles in this tenant (needs Privileged Role Administrator). False: this tenant consents like a customer tenant would (npm run onboard).')
param grantGraphRoles bool = true

@description('Also require and grant Synchronization.ReadWrite.All, for decisions from an alert (WATCH_ACTIONS): each customer tenant then consents to it anew, or keeps the monitor read-only there. False: read-only.')
param enableActions bool = false

var readPermissions = ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All']
var actionPermissions = ['Synchronization.ReadWrite.All']
var graphPermissions = enableActions ? concat(readPermissions, actionPermissions) : readPermissions

resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

resource app 'Microsoft.Graph/applications@v1.0' = {
  displayName: displayName
  uniqueName: uniqueName
  signInAudience: 'AzureADMultipleOrgs'
  web: {
    redirectUris: [consentRedirectUri]
  }
  requiredResourceAccess: [
    {
      resourceAppId: '00000003-0000-0000-c000-000000000000'
      resourceAccess: [
        for permission in graphPermissions: {
          id: filter(graph.appRoles, role => role.value == permission)[0].id
          type: 'Role'
        }
      ]
    }
  ]

  resource managedIdentityCredential 'federatedIdentityCredentials@v1.0' = {
    name: '${app.uniqueName}/function-app-managed-identity'
    description: 'The Entra Sync Watch Function App\'s user-assigned managed identity signs in as this app.'
    issuer: issuer
    subject: managedIdentityPrincipalId
    audiences: [tokenExchangeAudience]
  }
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: app.appId
}

// The home tenant consents by assignment, like any customer tenant's admin would; not with
// GRANT_GRAPH_ROLES=false, whose deployer may create the app (Application Developer) but not grant it.
resource appRoles 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for permission in graphPermissions: if (grantGraphRoles) {
    principalId: servicePrincipal.id
    resourceId: graph.id
    appRoleId: filter(graph.appRoles, role => role.value == permission)[0].id
  }
]

output appId string = app.appId
