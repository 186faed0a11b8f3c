extension microsoftGraphV1

// Decisions from an alert (WATCH_ACTIONS, enableActions): the app registration the ops team signs in
// to before they act, in this (the home) tenant only. It has a web redirect to the Function App's
// /api/decide/signed-in, the app role SyncWatch.Operator (lib/actions/settings.ts OPERATOR_ROLE),
// assignment required (only people given the role, or in a group given it, get a token at all), the
// delegated openid and profile consented for everyone (no consent prompt), and the managed identity
// as its only credential (a federated identity credential: no secret anywhere). It holds no Graph
// application permission: it only tells the Function App who a person is.
param displayName string
param uniqueName string
@description('https://<function app host>/api/decide/signed-in')
param redirectUri string
param managedIdentityPrincipalId string
@description('The managed identity\'s token issuer: <login endpoint><tenant>/v2.0')
param issuer string
param tokenExchangeAudience string
@description('Consent to openid and profile for everyone (needs an admin role, as the Graph app roles do: GRANT_GRAPH_ROLES). False: each person consents at first sign-in, or an admin does.')
param grantConsent bool = true

var operatorRole = 'SyncWatch.Operator'

resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

resource app 'Microsoft.Graph/applications@v1.0' = {
  displayName: displayName
  uniqueName: uniqueName
  signInAudience: 'AzureADMyOrg'
  web: {
    redirectUris: [redirectUri]
    implicitGrantSettings: {
      enableIdTokenIssuance: false
      enableAccessTokenIssuance: false
    }
  }
  appRoles: [
    {
      id: guid(uniqueName, operatorRole)
      value: operatorRole
      displayName: 'Entra Sync Watch operator'
      description: 'Approves or rejects held deletes, retries a quarantined job and provisions one user on demand, from an Entra Sync Watch alert.'
      allowedMemberTypes: ['User']
      isEnabled: true
    }
  ]
  requiredResourceAccess: [
    {
      resourceAppId: '00000003-0000-0000-c000-000000000000'
      resourceAccess: [
        for scope in ['openid', 'profile']: {
          id: filter(graph.oauth2PermissionScopes, s => s.value == scope)[0].id
          type: 'Scope'
        }
      ]
    }
  ]

  resource managedIdentityCredential 'federatedIdentityCredentials@v1.0' = {
    name: '${app.uniqueName}/function-app-managed-identity'
    description: 'The Entra Sync Watch Function App\'s user-assigned managed identity redeems sign-ins as this app.'
    issuer: issuer
    subject: managedIdentityPrincipalId
    audiences: [tokenExchangeAudience]
  }
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: app.appId
  appRoleAssignmentRequired: true
}

resource consent 'Microsoft.Graph/oauth2PermissionGrants@v1.0' = if (grantConsent) {
  clientId: servicePrincipal.id
  consentType: 'AllPrincipals'
  resourceId: graph.id
  scope: 'openid profile'
}

output appId string = app.appId
