// The Function App's user-assigned managed identity: its only credential, for storage, ACS,
// Application Insights and Microsoft Graph (or, with many tenants, as the federated credential of the app).
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
