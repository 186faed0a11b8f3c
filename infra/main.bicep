// Entra Sync Watch on Azure: a Flex Consumption Function App (Node 22) with a user-assigned managed
// identity, identity-only storage, Application Insights with Entra auth, ACS Email, the Microsoft
// Graph app roles, and an Azure Monitor alert when no cycle finishes (a second dead man's switch).
// Shape of Azure-Samples/functions-quickstart-typescript-azd; `azd up` deploys it (docs/deploying.md, "Deploy with azd").
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: names the resource group and makes resource names unique.')
param environmentName string

// Only regions that offer Flex Consumption, so a wrong pick fails at once (azd offers only these, and
// ARM rejects any other before creating anything) rather than minutes in, at the Function App.
// Source: the @allowed list of Microsoft's azd template Azure-Samples/functions-quickstart-typescript-azd
// (infra/main.bicep, last changed 2025-05-06, unchanged at its 2026-02-24 head), without its canary
// region eastus2euap; Microsoft's docs publish no list. Refresh it from your subscription with
// `az functionapp list-flexconsumption-locations --query "sort_by(@, &name)[].name" -o tsv`.
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@description('Region of the Function App and the regional resources: one that offers Flex Consumption.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Who receives the alerts, comma-separated (ALERT_EMAIL_TO). Also receives Azure Monitor\'s "no cycle finished" alert.')
param alertEmailTo string

@description('Tenants to watch, comma-separated (WATCH_TENANTS). Empty: the tenant of this subscription.')
param watchTenants string = ''

@description('NCRONTAB schedule of the watch timer, in UTC (WATCH_SCHEDULE).')
param watchSchedule string = '0 */5 * * * *'

@description('WATCH_CONFIG: the path of the config file (routes, silences, ...) in the deployed app, e.g. /home/site/wwwroot/watch-config.json for a watch-config.json at the project root. Empty: none.')
param watchConfig string = ''

@description('WATCH_FANOUT_TENANTS: past this many tenants the timer hands them to the queue-triggered function, spread over instances (0: never). Empty: the default (500).')
param watchFanOutTenants string = ''

@description('WATCH_FANOUT_BATCH: tenants per queue message of the fan-out. Empty: the default (10).')
param watchFanOutBatch string = ''

@description('WATCH_CONCURRENCY: tenants one instance reads at once. Empty: the default (64).')
param watchConcurrency string = ''

@description('Watch customer tenants: creates a multi-tenant app registration whose credential is the managed identity (a federated identity credential). Each customer tenant then consents to it (npm run onboard).')
param multiTenant bool = false

@description('Grant the Microsoft Graph app roles with the Graph Bicep extension, to the managed identity or, with multiTenant, to the app in this tenant (needs Privileged Role Administrator; public cloud only). False: the template grants no Graph app role; an administrator grants them by hand or consents (docs/deploying.md, "Grant the Graph roles by hand").')
param grantGraphRoles bool = true

@description('A custom email domain to create (its DNS records are an output). Empty: the Azure-managed domain only.')
param customEmailDomain string = ''

@description('Send from the custom domain (set after its DNS records are verified) instead of the Azure-managed domain.')
param useCustomEmailDomain bool = false

@description('Where ACS keeps email data at rest, e.g. United States, Europe, UK.')
param emailDataLocation string = 'United States'

@description('Decisions from an alert (docs/decisions.md, "Decisions from an alert"): grants the monitor Synchronization.ReadWrite.All (in multi-tenant mode, each customer tenant consents to it anew), creates the sign-in app with the app role SyncWatch.Operator, and turns WATCH_ACTIONS on. Also set ACTIONS_SIGNING_KEY in WATCH_SECRET_SETTINGS. False: the monitor stays read-only.')
param enableActions bool = false

@description('WATCH_ACTIONS when enableActions is true: on (every action) or a comma-separated list of approve-deletes, re-evaluate, retry, verify-user.')
param watchActions string = 'on'

@description('Object ID of the person deploying: may read the alert state (npm run status against Azure). Empty: nobody.')
param principalId string = ''

@secure()
@description('App settings that hold secrets, as base64 of a JSON object (WATCH_SECRET_SETTINGS): the URLs and signing secrets of the Teams and webhook channels the config names, SNOOZE_SIGNING_KEY and ACTIONS_SIGNING_KEY. Set here, they survive the next azd provision, which replaces every app setting. Empty: none.')
param secretSettings string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}syncwatch-${resourceToken}'
// The multi-tenant app's alternate key: only this environment (subscription, name, region) makes it,
// which is how the postdown hook knows the app is this environment's to delete.
var watchAppUniqueName = 'entra-sync-watch-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

// AZURE_CLOUD (lib/settings/clouds.ts) and the per-cloud values a deployment needs, keyed by ARM's cloud name.
var clouds = {
  AzureCloud: { name: 'AzurePublicCloud', portal: 'https://entra.microsoft.com/', tokenExchangeAudience: 'api://AzureADTokenExchange', appHostSuffix: 'azurewebsites.net' }
  AzureUSGovernment: { name: 'AzureUSGovernment', portal: 'https://entra.microsoft.us/', tokenExchangeAudience: 'api://AzureADTokenExchangeUSGov', appHostSuffix: 'azurewebsites.us' }
  AzureChinaCloud: { name: 'AzureChinaCloud', portal: 'https://portal.azure.cn/', tokenExchangeAudience: 'api://AzureADTokenExchangeChina', appHostSuffix: 'chinacloudsites.cn' }
}
var cloud = clouds[environment().name]
// Where the Function App answers: the decide links and the sign-in app's redirect URI must agree,
// and the sign-in app is made before the Function App (whose settings name it).
var actionsBaseUrl = 'https://${functionAppName}.${cloud.appHostSuffix}'
var actionsSignInUniqueName = 'entra-sync-watch-signin-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}syncwatch-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module email 'app/email.bicep' = {
  name: 'email'
  scope: rg
  params: {
    emailServiceName: '${abbrs.communicationEmailServices}${resourceToken}'
    communicationServiceName: '${abbrs.communicationCommunicationServices}${resourceToken}'
    dataLocation: emailDataLocation
    customDomain: customEmailDomain
    useCustomDomain: useCustomEmailDomain
    tags: tags
  }
}

// One tenant: the managed identity itself holds the Graph app roles.
module graphRoles 'app/graph-roles.bicep' = if (!multiTenant && grantGraphRoles) {
  name: 'graphRoles'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    enableActions: enableActions
  }
}

// Many tenants: a multi-tenant app whose only credential is the managed identity.
module multiTenantApp 'app/multi-tenant-app.bicep' = if (multiTenant) {
  name: 'multiTenantApp'
  scope: rg
  params: {
    displayName: 'Entra Sync Watch (${environmentName})'
    uniqueName: watchAppUniqueName
    managedIdentityPrincipalId: identity.outputs.principalId
    issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    tokenExchangeAudience: cloud.tokenExchangeAudience
    consentRedirectUri: cloud.portal
    grantGraphRoles: grantGraphRoles
    enableActions: enableActions
  }
}

// Decisions from an alert: the app the ops team signs in to (home tenant only, app role SyncWatch.Operator).
module signInApp 'app/sign-in-app.bicep' = if (enableActions) {
  name: 'signInApp'
  scope: rg
  params: {
    displayName: 'Entra Sync Watch sign-in (${environmentName})'
    uniqueName: actionsSignInUniqueName
    grantConsent: grantGraphRoles
    redirectUri: '${actionsBaseUrl}/api/decide/signed-in'
    managedIdentityPrincipalId: identity.outputs.principalId
    issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    tokenExchangeAudience: cloud.tokenExchangeAudience
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    acsEndpoint: email.outputs.endpoint
    senderAddress: email.outputs.senderAddress
    alertEmailTo: alertEmailTo
    watchTenants: empty(watchTenants) ? tenant().tenantId : watchTenants
    watchSchedule: watchSchedule
    watchConfig: watchConfig
    watchFanOutTenants: watchFanOutTenants
    watchFanOutBatch: watchFanOutBatch
    watchConcurrency: watchConcurrency
    cloudName: cloud.name
    tenantId: tenant().tenantId
    watchAppClientId: multiTenant ? multiTenantApp.outputs.appId : ''
    watchActions: enableActions ? watchActions : 'off'
    actionsSignInClientId: enableActions ? signInApp.outputs.appId : ''
    actionsBaseUrl: enableActions ? actionsBaseUrl : ''
    secretSettings: secretSettings
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    communicationServiceName: email.outputs.communicationServiceName
    applicationInsightsName: monitoring.outputs.name
    managedIdentityPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
  }
}

module deadMansSwitch 'app/alerts.bicep' = {
  name: 'deadMansSwitch'
  scope: rg
  params: {
    name: '${abbrs.insightsScheduledQueryRules}no-cycle-${resourceToken}'
    actionGroupName: '${abbrs.insightsActionGroups}syncwatch-${resourceToken}'
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.id
    alertEmailTo: alertEmailTo
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output ALERT_EMAIL_FROM string = email.outputs.senderAddress
output ACS_ENDPOINT string = email.outputs.endpoint
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_RESOURCE_GROUP string = rg.name
output WATCH_APP_CLIENT_ID string = multiTenant ? multiTenantApp.outputs.appId : ''
output ACTIONS_SIGNIN_CLIENT_ID string = enableActions ? signInApp.outputs.appId : ''
// For the hooks: the postdown hook deletes the sign-in app too, the postprovision hook checks the write permission.
output ACTIONS_SIGNIN_UNIQUE_NAME string = enableActions ? actionsSignInUniqueName : ''
output ACTIONS_ENABLED bool = enableActions
// For the hooks (infra/hooks/): the postdown hook deletes the app only if its uniqueName is this one,
// the postprovision hook waits for the identity's role on this storage account and checks the Graph app roles.
output WATCH_APP_UNIQUE_NAME string = multiTenant ? watchAppUniqueName : ''
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.id
output GRAPH_ROLES_GRANTED bool = grantGraphRoles
// For `npm run status` from your machine (Storage Table Data Reader is granted to principalId).
output AzureWebJobsStorage__tableServiceUri string = storage.outputs.tableEndpoint
output CUSTOM_EMAIL_DOMAIN_DNS_RECORDS object = email.outputs.customDomainVerificationRecords
