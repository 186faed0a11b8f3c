import { inUse, secretsInView, servicePrincipalAnnotations } from '../job-facts';
import { appName, configurationScripts, jobLinks, sentences, str } from '../present';
import type { ServicePrincipalRule } from '../rule';

/**
 * Entra's own failure email for a configuration in use is off, or on with nobody to send it to
 * (`SyncNotificationSettings` `Enabled` / `Recipients`, reference §1.14, §2.1). That email is
 * slow and one-time, but it is the fallback when this monitor itself is down. Needs the
 * synchronization secrets to be readable.
 */
export const notificationEmailOff: ServicePrincipalRule = {
  condition: 'notification-email-off',
  scope: 'servicePrincipal',
  title: 'Entra notification email off',
  counted: { one: 'notification email off', many: 'notification emails off' },
  description:
    "Entra's built-in failure email for a configuration in use is off, or on without recipients (secret SyncNotificationSettings Enabled / Recipients). Needs the synchronization secrets to be readable.",
  defaultSeverity: 'warning',
  defaultPendingCycles: 0,
  defaultKeepFiringForMs: 0,
  params: {},
  inView: secretsInView,
  check({ servicePrincipal, jobs, syncSettings }) {
    const notifications = syncSettings?.notifications;
    if (!notifications || !inUse(jobs)) return undefined;
    let problem: string | undefined;
    if (notifications.enabled === false) problem = 'off';
    else if (notifications.enabled === true && (notifications.recipients ?? '').trim() === '')
      problem = 'no recipients';
    if (!problem) return undefined;
    return { annotations: { ...servicePrincipalAnnotations(servicePrincipal), problem }, material: problem };
  },
  present(alert, ctx) {
    const n = alert.annotations;
    const app = appName(alert);
    const what =
      n.problem === 'off'
        ? `Entra's own notification email for ${app} is switched off: if this monitor stops, nobody hears of a quarantine.`
        : `Entra's own notification email for ${app} is on but has no recipients: it goes nowhere.`;
    return {
      title: 'Entra notification email off',
      about: app,
      what,
      facts: [['Built-in email', n.problem === 'off' ? 'off (Enabled false)' : 'on, no Notification Email address']],
      scripts: configurationScripts(alert),
      runbook: {
        meaning:
          'Entra emails the Notification Email address once when a job is quarantined. Entra Sync Watch tells you sooner and more often, but the built-in email is the fallback if the monitor itself fails.',
        steps: [
          'Entra admin center > Enterprise applications > this app > Provisioning > Settings: tick "Send an email notification when a failure occurs" and fill in Notification Email.',
          `If you rely on Entra Sync Watch alone on purpose, switch this check off: rules["notification-email-off"] with enabled false (or an override for app "${str(n.servicePrincipalName)}").`,
        ],
      },
      links: jobLinks(alert, ctx),
      ended: 'has its notification email back',
    };
  },
  describeChange(before, after) {
    const said = (problem: string) =>
      problem === 'off' ? 'off' : problem === 'no recipients' ? 'on without recipients' : problem || 'not known';
    return sentences([`Entra's notification email was ${said(before)}; it is now ${said(after)}`]);
  },
};
