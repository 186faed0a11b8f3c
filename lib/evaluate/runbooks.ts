import type { Runbook } from '../model';

/** What to do, per quarantine reason and per well-known error code (docs/reference/graph-provisioning-api.md §1.6, §2, §6). */

const REASONS: Record<string, Runbook> = {
  EncounteredQuarantineException: {
    meaning: 'Entra could not connect to the target: the credentials are invalid or the connection is broken.',
    steps: [
      'Open the configuration in the Entra admin center > Provisioning and run "Test connection".',
      "Re-authorize or renew the credentials (for cross-tenant sync: the target tenant's cross-tenant access settings and consent).",
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
    steps: [
      'Open the provisioning logs filtered to this job and status Failure.',
      'Fix the errors, then restart the job.',
    ],
  },
  EncounteredTotalEscrowThreshold: {
    meaning: "The total number of failed objects passed Entra's limit, so it quarantined the job.",
    steps: [
      'Open the provisioning logs filtered to this job and status Failure.',
      'Fix the errors, then restart the job.',
    ],
  },
  QuarantinedOnDemand: {
    meaning: 'Microsoft detected an issue with this application and quarantined the job by hand.',
    steps: [
      'Check Microsoft 365 / Entra service health and the audit log (Activity: Quarantine).',
      'Open a support case if the reason is not clear.',
    ],
  },
  IngestionInterrupted: {
    meaning: 'Entra reports that ingestion was interrupted (the reason is not documented further).',
    steps: [
      'Check the audit log (Activity: Quarantine) and the provisioning logs for this job.',
      'Restart the job once the cause is clear.',
    ],
  },
};

const GENERIC: Runbook = {
  meaning:
    'Entra quarantined the job; it is retried at a reduced rate (after 6, 12 and 24 hours, then daily) and disabled after four weeks.',
  steps: [
    'Open the configuration in the Entra admin center > Provisioning and read the quarantine details.',
    'Check the audit log (Activity: Quarantine) and the provisioning logs for this job.',
    'Fix the cause, then start the job again.',
  ],
};

const ERROR_CODES: Record<string, string> = {
  AzureActiveDirectoryQuotaLimitExceeded:
    'The target directory has reached its object quota: remove objects it no longer needs (deleted objects count until they are purged), or ask Microsoft support to raise the quota.',
  AzureDirectoryB2BManagementPolicyCheckFailure:
    'Enable "Automatically redeem invitations" in the outbound cross-tenant access settings of the source tenant and the inbound settings of the target tenant.',
  SystemForCrossDomainIdentityManagementCredentialValidationUnavailable:
    'The SCIM endpoint could not be reached or answered unexpectedly: check its URL, TLS certificate and credentials.',
  AzureActiveDirectoryInvalidCredential: 'Repair the Cloud Sync service account (Repair-AADCloudSyncToolsAccount).',
  AzureActiveDirectoryExpiredCredentials: 'Repair the Cloud Sync service account (Repair-AADCloudSyncToolsAccount).',
  HybridIdentityServiceNoActiveAgents: 'No provisioning agent is active: check the agent servers and their service.',
  // Job-level codes of gallery connectors (reference §6.1).
  SalesforceInvalidCredentials:
    'Salesforce rejected the credentials: re-authorize the connection in Provisioning > Admin Credentials, then Test connection.',
  BoxInsufficientPermissions:
    'Box rejected the authorization: re-authorize access to Box in Provisioning > Admin Credentials.',
  // Entra Cloud Sync (reference §6.1, [E19]).
  HybridIdentityServiceNoAgentsAssigned:
    'No provisioning agent is assigned to this Cloud Sync configuration: assign an agent (Entra admin center > Entra Connect > Cloud Sync > Agents).',
  HybridIdentityServiceInvalidResource:
    "The Cloud Sync configuration points at a domain or resource the agents cannot find: check the configured domain and the agents' connectivity.",
  HybridIdentityServiceAgentSignalingError:
    'The provisioning agent could not be reached: check that its service runs and that it can reach Entra (outbound 443).',
  HybridSynchronizationActiveDirectoryInternalServerError:
    'Active Directory answered with an internal error: check the domain controllers the agent uses and its service account.',
  AzureDirectoryServiceServerBusy:
    'Entra was busy: this usually clears on retry; contact Microsoft support if it lasts more than 24 hours.',
  AzureActiveDirectoryAuthenticationFailed:
    'Authentication to Entra failed: repair the Cloud Sync service account (Repair-AADCloudSyncToolsAccount) or re-authorize the connection.',
  TimeOut:
    "The agent did not answer within 10 minutes: check the agent server's load and its connectivity to the domain controllers.",
};

/** Advice for a well-known job-level error code (quarantine, last run), for any rule; undefined when none is known. */
export function errorCodeAdvice(code: string | undefined): string | undefined {
  return code ? ERROR_CODES[code] : undefined;
}

/**
 * Whole runbooks for error codes whose cause and fix differ from what their quarantine reason
 * suggests: `EncounteredQuarantineException` says "cannot connect", but with
 * `AzureDirectoryB2BManagementPolicyCheckFailure` the credentials are fine and the fix is a
 * cross-tenant access setting (docs/reference/graph-provisioning-api.md §6).
 */
const ERROR_CODE_RUNBOOKS: Record<string, Runbook> = {
  AzureDirectoryB2BManagementPolicyCheckFailure: {
    meaning:
      'The cross-tenant access settings do not allow this synchronization: Entra could not create or update users in the target tenant because automatic redemption of invitations is not enabled on both sides. The credentials are fine.',
    steps: [
      'In the source tenant: External Identities > Cross-tenant access settings > the target tenant > Outbound access settings > Trust settings: enable "Automatically redeem invitations with the tenant".',
      'In the target tenant: Cross-tenant access settings > the source tenant > Inbound access settings: enable "Automatically redeem invitations with the tenant" and, under Cross-tenant sync, "Allow users sync into this tenant".',
      'Restart the job (Provisioning > Restart provisioning), or wait: it leaves quarantine by itself at the next successful attempt.',
    ],
  },
  SystemForCrossDomainIdentityManagementCredentialValidationUnavailable: {
    meaning:
      'Entra could not validate the credentials against the SCIM endpoint: the endpoint could not be reached or answered unexpectedly.',
    steps: [
      'Check the SCIM endpoint: its tenant URL, TLS certificate and that it answers from the internet.',
      'Open the configuration in the Entra admin center > Provisioning and run "Test connection"; renew the secret token if it was rotated.',
      'Restart the job once the test connection passes.',
    ],
  },
  AzureActiveDirectoryInvalidCredential: {
    meaning: "The Cloud Sync service account's credentials are invalid, so the agent cannot write to Entra ID.",
    steps: [
      'Repair the Cloud Sync service account (Repair-AADCloudSyncToolsAccount on an agent server).',
      'Restart the job.',
    ],
  },
  AzureActiveDirectoryExpiredCredentials: {
    meaning: "The Cloud Sync service account's credentials have expired, so the agent cannot write to Entra ID.",
    steps: [
      'Repair the Cloud Sync service account (Repair-AADCloudSyncToolsAccount on an agent server).',
      'Restart the job.',
    ],
  },
  HybridIdentityServiceNoActiveAgents: {
    meaning: 'No provisioning agent is active for this configuration, so nothing can be read from Active Directory.',
    steps: [
      'Check the agent servers: the Microsoft Entra Provisioning Agent service must be running and able to reach Entra.',
      'Restart the job once an agent shows as active.',
    ],
  },
};

/**
 * The runbook for a quarantine: chosen by error code first, then by reason. An error code known
 * only by a one-line hint (ERROR_CODES) gets that hint before the generic steps, not the reason's
 * runbook, whose explanation may not fit the error at all.
 */
export function quarantineRunbook(reason: string, errorCode: string | undefined): Runbook {
  const byCode = errorCode ? ERROR_CODE_RUNBOOKS[errorCode] : undefined;
  if (byCode) return byCode;
  const hint = errorCode ? ERROR_CODES[errorCode] : undefined;
  if (hint)
    return {
      meaning: `Entra quarantined the job (${reason}) with error code ${errorCode}.`,
      steps: [hint, ...GENERIC.steps],
    };
  return REASONS[reason] ?? GENERIC;
}
