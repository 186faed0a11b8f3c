// Azure Communication Services Email: an Email Communication Service with an Azure-managed domain
// (<guid>.azurecomm.net, ready at once, a few emails a minute) and, optionally, a custom domain that
// is linked and used once its DNS records are verified (useCustomDomain).
param emailServiceName string
param communicationServiceName string
param dataLocation string
param customDomain string = ''
param useCustomDomain bool = false
param tags object = {}

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: { dataLocation: dataLocation }

  resource managedDomain 'domains' = {
    name: 'AzureManagedDomain'
    location: 'global'
    properties: {
      domainManagement: 'AzureManaged'
      userEngagementTracking: 'Disabled'
    }
  }
}

resource customEmailDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = if (!empty(customDomain)) {
  parent: emailService
  name: empty(customDomain) ? 'unused' : customDomain
  location: 'global'
  properties: {
    domainManagement: 'CustomerManaged'
    userEngagementTracking: 'Disabled'
  }
}

// The Azure-managed domain has DoNotReply already; a custom domain gets it here.
resource customDoNotReply 'Microsoft.Communication/emailServices/domains/senderUsernames@2023-04-01' = if (!empty(customDomain)) {
  parent: customEmailDomain
  name: 'donotreply'
  properties: {
    username: 'DoNotReply'
    displayName: 'Entra Sync Watch'
  }
}

var sendFromCustom = useCustomDomain && !empty(customDomain)

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: communicationServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    linkedDomains: sendFromCustom ? [emailService::managedDomain.id, customEmailDomain.id] : [emailService::managedDomain.id]
  }
}

output communicationServiceName string = communication.name
output endpoint string = 'https://${communication.properties.hostName}'
output senderAddress string = sendFromCustom ? 'DoNotReply@${customDomain}' : 'DoNotReply@${emailService::managedDomain.properties.mailFromSenderDomain}'
output customDomainVerificationRecords object = empty(customDomain) ? {} : customEmailDomain.properties.verificationRecords
