import { linkTargetsFor, type CloudName } from '../evaluate/cloud';
import type { AlertRecord, Link, LinkTargets, NotificationItem } from '../model';
import { decideLinkFor } from '../actions/links';
import type { ActionsSettings } from '../settings/actions';
import { snoozeLinks, type SnoozeSettings } from '../snooze/links';
import { acknowledgeLink } from '../acknowledge/links';

/**
 * Rendering, as the delivery stage sees it: the email channel (lib/notify/channels/email/) and what
 * it needs from settings. Kept as the one import for deliver.ts and tests.
 */
export { renderEmail, emailFromViews, type RenderContext } from './channels/email/compose';
export type { Notice } from './notice';
/** What rendering takes from the deployment: where links point, the domain of Message-IDs, snooze and acknowledge links. */
export interface RenderOptions {
  links?: LinkTargets;
  messageIdDomain?: string;
  /** The signed snooze links of an alert (when SNOOZE_SIGNING_KEY is set). */
  snooze?: (alert: AlertRecord, now: Date) => Link[];
  /** The signed "Review and decide" link of an alert that offers a decision (when WATCH_ACTIONS is on). */
  decide?: (alert: AlertRecord, now: Date) => Link | undefined;
  /** The signed Acknowledge link of a notice (when SNOOZE_SIGNING_KEY is set). */
  acknowledge?: (alert: AlertRecord, item: NotificationItem, now: Date) => Link | undefined;
}

/**
 * Render options from settings: links into the admin center of the cloud GRAPH_ENDPOINT belongs to
 * (or the named `cloud`), admin consent for `clientId` (AZURE_CLIENT_ID), Message-IDs on the
 * sender's domain (ALERT_EMAIL_FROM), snooze and acknowledge links when SNOOZE_SIGNING_KEY is set, and
 * decide links when WATCH_ACTIONS is on.
 */
export function renderOptionsFor(input: {
  graphEndpoint: string;
  emailFrom: string;
  clientId?: string;
  cloud?: CloudName;
  snooze?: SnoozeSettings;
  actions?: ActionsSettings;
}): RenderOptions {
  const { snooze, actions } = input;
  return {
    links: linkTargetsFor(input.cloud ?? { graphEndpoint: input.graphEndpoint }, input.clientId),
    messageIdDomain: input.emailFrom.split('@').pop(),
    ...(snooze
      ? {
          snooze: (alert: AlertRecord, now: Date) => snoozeLinks(alert, snooze, now),
          acknowledge: (alert: AlertRecord, item: NotificationItem, now: Date) =>
            acknowledgeLink(alert, item, snooze, now),
        }
      : {}),
    ...(actions ? { decide: (alert: AlertRecord, now: Date) => decideLinkFor(alert, actions, now) } : {}),
  };
}
