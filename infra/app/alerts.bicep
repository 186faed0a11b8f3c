// The second dead man's switch: Azure Monitor, not the app, notices when no cycle has finished in
// 15 minutes (the host stopped, the app crashes at start, storage is unreachable...), and emails
// ALERT_EMAIL_TO through an action group, independent of ACS. The first is the heartbeat URL.
param name string
param actionGroupName string
param location string
param tags object = {}
param applicationInsightsId string
@description('Comma-separated recipients (ALERT_EMAIL_TO).')
param alertEmailTo string

var recipients = filter(map(split(alertEmailTo, ','), address => trim(address)), address => !empty(address))

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'syncwatch'
    enabled: true
    emailReceivers: [
      for (address, i) in recipients: {
        name: 'recipient-${i}'
        emailAddress: address
        useCommonAlertSchema: true
      }
    ]
  }
}

resource noCycleFinished 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: name
  location: location
  tags: tags
  properties: {
    displayName: 'Entra Sync Watch: no cycle finished in 15 minutes'
    description: 'No cycle-metrics trace arrived in 15 minutes: the watch timer is not running or every cycle fails before it finishes. See docs/operating.md, "Alerts about the monitor itself".'
    severity: 1
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../monitoring/no-cycle-finished.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'cyclesFinished'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [actionGroup.id]
    }
  }
}
