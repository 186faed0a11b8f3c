// The Function App: Flex Consumption, Linux, Node 22, running as the user-assigned managed identity,
// with every app setting the code reads (DEPLOYMENT_SETTINGS in lib/settings/settings.ts; the infra
// contract test checks this file against it).
param name string
param planName string
param location string
param tags object = {}
param identityId string
param identityClientId string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
param acsEndpoint string
param senderAddress string
param alertEmailTo string
param watchTenants string
param watchSchedule string
@description('WATCH_CONFIG: path of the config file in the deployed app; empty for none.')
param watchConfig string = ''
param cloudName string
param tenantId string
@description('WATCH_FANOUT_TENANTS: past this many tenants the timer fans out to the queue-triggered function; empty for the default.')
param watchFanOutTenants string = ''
@description('WATCH_FANOUT_BATCH: tenants per queue message; empty for the default.')
param watchFanOutBatch string = ''
@description('WATCH_CONCURRENCY: tenants one instance reads at once; empty for the default.')
param watchConcurrency string = ''
@description('The multi-tenant app whose credential is the managed identity; empty when the identity reads its own tenant only.')
param watchAppClientId string = ''
@secure()
@description('WATCH_ACTIONS: off (the monitor is read-only), on, or a list of actions (main.bicep enableActions).')
param watchActions string = 'off'
@description('ACTIONS_SIGNIN_CLIENT_ID: the app people sign in to before they act; empty with actions off.')
param actionsSignInClientId string = ''
@description('ACTIONS_BASE_URL: the https address the decide links and the sign-in redirect use; empty with actions off.')
param actionsBaseUrl string = ''

@description('Base64 of a JSON object of app settings that hold secrets (channel URLs and signing secrets, SNOOZE_SIGNING_KEY, ACTIONS_SIGNING_KEY); empty for none. The settings below win over any of the same name.')
param secretSettings string = ''
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 40

var appSettings = {
  // The Functions host reaches its storage with the managed identity: no connection string, no key.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  // Also where the alert state lives (tables SyncWatchAlerts and SyncWatchState).
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  // Application Insights with Entra auth (local auth is disabled on the component).
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // How the host starts the Node worker: V8 collects once its old generation is 1.25 times what
  // was live, not up to 4 times (lib/settings/worker-arguments.ts; docs/scale.md#memory).
  languageWorkers__node__arguments: '--heap-growing-percent=25'
  // What to watch and when.
  WATCH_TENANTS: watchTenants
  WATCH_SCHEDULE: watchSchedule
  WATCH_CONFIG: watchConfig
  // How the work spreads (docs/scale.md): tenants read at once per instance, and past how many
  // tenants the timer hands them to the queue-triggered function (queue syncwatch-observe), in
  // batches of WATCH_FANOUT_BATCH. Empty: the defaults.
  WATCH_CONCURRENCY: watchConcurrency
  WATCH_FANOUT_TENANTS: watchFanOutTenants
  WATCH_FANOUT_BATCH: watchFanOutBatch
  // Where alerts go: ACS Email with Entra auth, from the verified domain's DoNotReply sender.
  ALERT_EMAIL_TO: alertEmailTo
  ALERT_EMAIL_FROM: senderAddress
  ACS_ENDPOINT: acsEndpoint
  // Who the monitor is: the managed identity (AZURE_CLIENT_ID), alone or as the federated
  // credential of the multi-tenant app (WATCH_APP_CLIENT_ID), in this cloud and home tenant.
  AZURE_CLOUD: cloudName
  AZURE_TENANT_ID: tenantId
  AZURE_CLIENT_ID: identityClientId
  WATCH_APP_CLIENT_ID: watchAppClientId
  // Decisions from an alert (off unless main.bicep enableActions): which, who signs people in, where
  // the links point. ACTIONS_SIGNING_KEY is a secret: it comes with the secret settings.
  WATCH_ACTIONS: watchActions
  ACTIONS_SIGNIN_CLIENT_ID: actionsSignInClientId
  ACTIONS_BASE_URL: actionsBaseUrl
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    // The channels' URLs and secrets and the snooze key, named by the config file (docs/channels.md, "Teams and webhooks"; set with azd as docs/deploying.md, "Secret settings", says), beside the settings above.
    properties: union(empty(secretSettings) ? {} : json(base64ToString(secretSettings)), appSettings)
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
