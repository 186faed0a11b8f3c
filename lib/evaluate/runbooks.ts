import type { Runbook } from '../model';

/** What to do, per quarantine reason and per well-known error code (docs/reference/graph-provisioning-api.md §1.6, §2, §6). */

const REASONS: Record<string, Runbook> = {
  EncounteredQuarantineException: {
    meaning: 'Entra could not connect to the target: the credentials are invalid or the connection is broken.',
    steps: [
      'Open the configuration in the Entra admin center > Provisioning and run "Test connection".',
      'Re-authorize or renew the credentials (for cross-tenant sync: the target tenant\'s cross-tenant access settings and consent).',
      'Start the job again once the test connection passes.',
    ],
  },
  EncounteredEscrowProportionThreshold: {
    meaning: 'More than 40% of provisioning events failed, so Entra quarantined the job.',
    steps: [
      'Open the provisioning logs filtered to this job and status Failure; group by error code.',
      'Fix the most common error (attribute mappings, matching, target permissions).',
      'Restart the job; it also leaves quarantine by itself once a retry succeeds.',
    ],
  },
  EncounteredBaseEscrowThreshold: {
    meaning: 'Too many objects failed to provision (escrow threshold), so Entra quarantined the job.',
    steps: ['Open the provisioning logs filtered to this job and status Failure.', 'Fix the errors, then restart the job.'],
  },
  EncounteredTotalEscrowThreshold: {
    meaning: 'The total number of failed objects passed Entra\'s limit, so it quarantined the job.',
    steps: ['Open the provisioning logs filtered to this job and status Failure.', 'Fix the errors, then restart the job.'],
  },
  QuarantinedOnDemand: {
    meaning: 'Microsoft detected an issue with this application and quarantined the job by hand.',
    steps: ['Check Microsoft 365 / Entra service health and the audit log (Activity: Quarantine).', 'Open a support case if the reason is not clear.'],
  },
  IngestionInterrupted: {
    meaning: 'Entra reports that ingestion was interrupted (the reason is not documented further).',
    steps: ['Check the audit log (Activity: Quarantine) and the provisioning logs for this job.', 'Restart the job once the cause is clear.'],
  },
};

const GENERIC: Runbook = {
  meaning: 'Entra quarantined the job; it is retried at a reduced rate (after 6, 12 and 24 hours, then daily) and disabled after four weeks.',
  steps: [
    'Open the configuration in the Entra admin center > Provisioning and read the quarantine details.',
    'Check the audit log (Activity: Quarantine) and the provisioning logs for this job.',
    'Fix the cause, then start the job again.',
  ],
};

const ERROR_CODES: Record<string, string> = {
  AzureDirectoryB2BManagementPolicyCheckFailure:
    'Enable "Automatically redeem invitations" in the outbound cross-tenant access settings of the source tenant and the inbound settings of the target tenant.',
  SystemForCrossDomainIdentityManagementCredentialValidationUnavailable:
    'The SCIM endpoint could not be reached or answered unexpectedly: check its URL, TLS certificate and credentials.',
  AzureActiveDirectoryInvalidCredential: 'Repair the Cloud Sync service account (Repair-AADCloudSyncToolsAccount).',
  AzureActiveDirectoryExpiredCredentials: 'Repair the Cloud Sync service account (Repair-AADCloudSyncToolsAccount).',
  HybridIdentityServiceNoActiveAgents: 'No provisioning agent is active: check the agent servers and their service.',
};

export function quarantineRunbook(reason: string, errorCode: string | undefined): Runbook {
  const base = REASONS[reason] ?? GENERIC;
  const extra = errorCode ? ERROR_CODES[errorCode] : undefined;
  return extra ? { meaning: base.meaning, steps: [extra, ...base.steps] } : base;
}
