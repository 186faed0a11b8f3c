/**
 * What kind of provisioning a job is: the one notion of a job's type that messages (`jobKind`),
 * coverage (`job-status:<type>`) and `npm run doctor` share. A service principal's application
 * template says it for cross-tenant synchronization, Cloud Sync and custom SCIM apps; a gallery
 * app carries its own template, so the job template tells HR-inbound ones from SCIM ones
 * (docs/reference/graph-provisioning-api.md §1.12).
 */

/** Application templates of the service principals that own synchronization jobs (reference §1.12). */
const TEMPLATES = {
  crossTenantSync: '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7',
  cloudSync: '1a4721b3-e57f-4451-ae87-ef078703ec94',
  customScim: '8adf8e6e-67b2-4cf2-a259-e3dc5476c621',
} as const;

/** Job templates of Entra Cloud Sync (reference §1.12). */
const CLOUD_SYNC_JOBS = [
  'ad2aadprovisioning',
  'ad2aadpasswordhash',
  'aad2adexchangehybridwriteback',
  'aad2adprovisioning',
];

/**
 * Job templates of inbound provisioning from an HR source into Entra or AD: API-driven inbound
 * (`API2AAD`, `API2AD`: its job IDs in Microsoft's bulkUpload samples start so) and the Workday and
 * SuccessFactors connectors, matched by name (their exact template IDs are not published).
 */
const HR_INBOUND = /^(api2aad|api2ad)$|workday|successfactors/i;

/**
 * The types, in the order coverage lists them, with the words messages use. The words are part of
 * alert annotations (`jobKind`) and so are kept as they were released.
 */
export const JOB_TYPES = {
  'cross-tenant': 'cross-tenant synchronization',
  'cloud-sync': 'Entra Cloud Sync',
  'hr-inbound': 'HR-driven inbound provisioning',
  'scim-custom': 'custom SCIM app provisioning',
  'scim-gallery': 'app provisioning',
} as const;

export type JobType = keyof typeof JOB_TYPES;

/** A job's type from its job template and its service principal's application template (either may be absent). */
export function jobTypeOf(job: { templateId?: string; applicationTemplateId?: string }): JobType {
  const template = (job.applicationTemplateId ?? '').toLowerCase();
  const jobTemplate = (job.templateId ?? '').toLowerCase();
  if (template === TEMPLATES.crossTenantSync || jobTemplate === 'azure2azure') return 'cross-tenant';
  if (template === TEMPLATES.cloudSync || CLOUD_SYNC_JOBS.includes(jobTemplate)) return 'cloud-sync';
  if (template === TEMPLATES.customScim || jobTemplate === 'scim') return 'scim-custom';
  if (HR_INBOUND.test(jobTemplate)) return 'hr-inbound';
  return 'scim-gallery';
}
