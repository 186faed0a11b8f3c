import { inUse, secretsInView, servicePrincipalAnnotations } from '../job-facts';
import { appName, configurationScripts, jobLinks, givenFacts, str } from '../present';
import type { ServicePrincipalRule } from '../rule';

/**
 * Accidental-deletion prevention is off for a configuration in use: nothing stops a scoping
 * mistake from deleting or disabling every target object in one cycle (reference §2). Read from
 * the `SyncNotificationSettings` secret (`DeleteThresholdEnabled: false`), or from the job
 * settings (`QuarantineTooManyDeletesThreshold` of 0 or less: INFERENCE, the docs give no
 * "off" value), which need no more than Synchronization.Read.All.
 */
export const deletionPreventionOff: ServicePrincipalRule = {
  condition: 'deletion-prevention-off',
  scope: 'servicePrincipal',
  title: 'Deletion prevention off',
  counted: { one: 'deletion prevention off', many: 'deletion prevention off' },
  description:
    'Accidental-deletion prevention is off for a configuration in use (secret SyncNotificationSettings DeleteThresholdEnabled false, or a job setting QuarantineTooManyDeletesThreshold of 0): one scoping mistake can delete every target object.',
  defaultSeverity: 'warning',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {},
  inView: secretsInView,
  check({ servicePrincipal, jobs, syncSettings }) {
    if (!inUse(jobs)) return undefined;
    const offInSecrets = syncSettings?.notifications?.deleteThresholdEnabled === false;
    const zeroJobs = jobs
      .filter((job) => job.deleteThreshold !== undefined && job.deleteThreshold <= 0)
      .map((job) => job.jobId);
    if (!offInSecrets && zeroJobs.length === 0) return undefined;
    return {
      annotations: {
        ...servicePrincipalAnnotations(servicePrincipal),
        offInSecrets,
        jobsWithoutThreshold: zeroJobs.length > 0 ? zeroJobs.join(', ') : undefined,
      },
    };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const app = appName(alert);
    return {
      title: 'Deletion prevention off',
      about: app,
      what: `Accidental-deletion prevention is off for ${app}: a scoping or assignment mistake can delete or disable every object it provisions, in one cycle.`,
      facts: [
        ...givenFacts([
          [
            'Provisioning settings',
            n.offInSecrets === true ? 'Prevent accidental deletion is off (DeleteThresholdEnabled false)' : undefined,
          ],
          ['Jobs with threshold 0', n.jobsWithoutThreshold],
        ]),
      ],
      scripts: [
        ...configurationScripts(alert),
        ['Read the settings', `GET /servicePrincipals/${alert.labels.servicePrincipalId}/synchronization/secrets`],
        [
          'Turn prevention on',
          `PUT /servicePrincipals/${alert.labels.servicePrincipalId}/synchronization/secrets with the whole list read above, SyncNotificationSettings having "DeleteThresholdEnabled":true`,
        ],
      ],
      runbook: {
        meaning:
          "With prevention on, Entra holds a cycle's deletes once they pass the threshold (default 500) and waits for a decision; with it off, they run.",
        steps: [
          'Entra admin center > Enterprise applications > this app > Provisioning > Settings: tick "Prevent accidental deletion" and set a threshold (500 by default).',
          'Or with Microsoft Graph (the request is in "Details for scripts"): PUT replaces every secret, so GET them first and send the whole list back.',
          `If it is off on purpose, switch this check off for the app: rules["deletion-prevention-off"].overrides with match.app "${str(n.servicePrincipalName)}" and enabled false.`,
        ],
      },
      links: jobLinks(alert, ctx),
      ended: 'has deletion prevention on again',
    };
  },
};
