// Storage for the Functions host (blob leases of the timer, the deployment package, queues), the
// tenant fan-out's queue and reports (table SyncWatchFanOut) and the alert state (tables
// SyncWatchAlerts, SyncWatchState and SyncWatchDiscovery). Keys are disabled: identity-based access only.
param name string
param location string
param tags object = {}
param deploymentContainerName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }

  resource blobs 'blobServices' = {
    name: 'default'
    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
    }
  }

  // The tenant fan-out (lib/fanout/): the timer's messages to the queue-triggered function "observe",
  // and where the host moves a message it gave up on. Made here so the roles and the queues exist
  // before the first cycle (the app would create them too).
  resource queues 'queueServices' = {
    name: 'default'
    resource observe 'queues' = {
      name: 'syncwatch-observe'
    }
    resource observePoison 'queues' = {
      name: 'syncwatch-observe-poison'
    }
  }
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
