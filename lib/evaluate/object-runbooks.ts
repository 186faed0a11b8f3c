/**
 * What to do about an object that failed to provision, per `errorInformation.errorCode` (Log
 * Analytics: `ResultSignature`). Codes and advice: docs/reference/graph-provisioning-api.md §6.2.
 */

const RETRIED = 'Entra retries these by itself (about every 40 minutes); act only if they keep failing.';
const NOT_AUTHORIZED =
  'The target app accepted the credentials but refuses the operation: check the permissions of the provisioning account in the target app.';
const DATA = 'Fix the source data or the attribute mappings for these objects, then provision one on demand to check.';
const SCIM = "The target's SCIM service does not behave as Entra expects: check its SCIM compliance with the vendor.";

const BY_CODE: Record<string, string> = {
  Conflict:
    'A value must be unique in the target and is already taken: fix the conflicting value or the matching attributes.',
  EntryConflict:
    'A value must be unique in the target and is already taken: fix the conflicting value or the matching attributes.',
  TooManyRequests: `The target app is rate limiting Entra. ${RETRIED}`,
  InternalServerError: `The target app failed. ${RETRIED}`,
  WebExceptionProtocolError: `The target app could not be reached or answered with an error. ${RETRIED}`,
  InternalError: `The provisioning service failed. ${RETRIED}`,
  Timeout: `The target app did not answer in time. ${RETRIED}`,
  InsufficientRights: NOT_AUTHORIZED,
  MethodNotAllowed: NOT_AUTHORIZED,
  NotPermitted: NOT_AUTHORIZED,
  Unauthorized: NOT_AUTHORIZED,
  UnprocessableEntity:
    'The target app refused the request as sent: check its configuration and the attribute mappings, or ask its vendor.',
  NotImplemented: 'The target app does not support this operation: check its configuration or ask its vendor.',
  InvalidAnchor:
    'An object created or matched earlier no longer exists in the target: restart the job (Restart provisioning) so it matches again.',
  MandatoryFieldsMissing: DATA,
  MissingValues: DATA,
  SchemaAttributeNotFound:
    'An attribute in the mappings does not exist in the target schema: fix the attribute mappings.',
  InvalidDomain:
    'A value uses a domain the target does not accept (e.g. an unverified UPN suffix): fix the source value or the mapping.',
  LicenseLimitExceeded: 'The target has no licence left to assign: free or buy licences in the target app.',
  DuplicateTargetEntries:
    'Several target objects match one source object: remove the duplicates in the target or make the matching attribute unique.',
  DuplicateSourceEntries:
    'Several source objects have the same matching value: make the matching attribute unique in the source.',
  ImportSkipped:
    'The object was skipped on import: check the scoping filters and assignments if it should be provisioned.',
  EntrySynchronizationSkipped:
    'The object was skipped: check the scoping filters and assignments if it should be provisioned.',
  SystemForCrossDomainIdentityManagementMultipleEntriesInResponse: SCIM,
  SystemForCrossDomainIdentityManagementServiceIncompatible: SCIM,
  SchemaPropertyCanOnlyAcceptValue: SCIM,
  AzureActiveDirectoryCannotUpdateObjectsOriginatedInExternalService:
    'The attribute is mastered by Exchange Online in the target: change it there (Set-MailUser) or stop mapping it.',
  AzureDirectoryB2BManagementPolicyCheckFailure:
    'Enable "Automatically redeem invitations" in the outbound cross-tenant access settings of the source tenant and the inbound settings of the target tenant.',
  AzureActiveDirectoryQuotaLimitExceeded:
    'The target directory reached its object quota: remove unused objects or ask Microsoft to raise the quota.',
  InvitationCreationFailure:
    "The target tenant could not create the B2B invitation: check its external collaboration settings and the user's mail and proxy addresses.",
  InvitationCreationFailureUserAccountDisabled:
    'The matching user in the target is disabled: enable it, or unassign the user.',
  AzureActiveDirectoryForbidden:
    'The target tenant\'s external collaboration settings block the invitation ("Guest invitations not allowed for your company"): allow invitations from the source tenant.',
  InvitationCreationFailureInvalidPropertyValue:
    'A value on the user is invalid for a B2B invitation in the target: fix it in the source.',
  InvitationCreationFailureAmbiguousUser:
    "The user's proxy address clashes with another object in the target: remove the clash.",
  AzureActiveDirectoryCannotUpdateObjectsMasteredOnPremises:
    'The target object is synchronized from on-premises Active Directory: change it there, or stop mapping the attribute.',
  EntityTypeNotSupported:
    'Cross-tenant synchronization does not provision this kind of object (e.g. groups): remove it from the scope.',
};

/** One step for a failing code (Entra's own recommendedAction wins when it gives one), or a generic step. */
export function objectRunbookStep(errorCode: string, recommendedAction?: string): string {
  if (recommendedAction && recommendedAction.trim() !== '') return recommendedAction.trim();
  return (
    BY_CODE[errorCode] ??
    'Open one of the failed events in the provisioning logs (Troubleshooting and recommendations) and fix what it names.'
  );
}
