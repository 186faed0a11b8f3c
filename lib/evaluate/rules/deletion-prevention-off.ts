import { inUse, secretsInView, servicePrincipalAnnotations } from '../job-facts';
import { appName, configurationFacts, entraLinks, givenFacts, str } from '../present';
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
        ...configurationFacts(alert, ctx),
        ...givenFacts([
          [
            'Provisioning settings',
            n.offInSecrets === true ? 'Prevent accidental deletion is off (DeleteThresholdEnabled false)' : undefined,
          ],
          ['Jobs with threshold 0', n.jobsWithoutThreshold],
        ]),
      ],
      runbook: {
        meaning:
          "With prevention on, Entra holds a cycle's deletes once they pass the threshold (default 500) and waits for a decision; with it off, they run.",
        steps: [
          'Entra admin center > Enterprise applications > this app > Provisioning > Settings: tick "Prevent accidental deletion" and set a threshold (500 by default).',
          `Or with Graph: PUT /servicePrincipals/${alert.labels.servicePrincipalId}/synchronization/secrets with the whole secret list, SyncNotificationSettings having "DeleteThresholdEnabled":true (PUT replaces every secret: GET them first).`,
          `If it is off on purpose, switch this check off for the app: rules["deletion-prevention-off"].overrides with match.app "${str(n.servicePrincipalName)}" and enabled false.`,
        ],
      },
      links: entraLinks(alert),
      ended: 'has deletion prevention on again',
    };
  },
};
