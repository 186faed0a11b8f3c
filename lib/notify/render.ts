import { linkTargetsFor, type CloudName } from '../evaluate/cloud';
import type { LinkTargets } from '../model';

/**
 * Rendering, as the delivery stage sees it: the email channel (lib/notify/channels/email/) and what
 * it needs from settings. Kept as the one import for deliver.ts and tests.
 */
export { renderEmail, emailFromViews, type RenderContext } from './channels/email';
export type { Notice } from './notice';
export type { EmailContent } from '../model';

/** What rendering takes from the deployment: where links point and the domain of Message-IDs. */
export interface RenderOptions {
  links?: LinkTargets;
  messageIdDomain?: string;
}

/**
 * Render options from settings: links into the admin center of the cloud GRAPH_ENDPOINT belongs to
 * (or the named `cloud`), admin consent for `clientId` (AZURE_CLIENT_ID), and Message-IDs on the
 * sender's domain (ALERT_EMAIL_FROM).
 */
export function renderOptionsFor(input: { graphEndpoint: string; emailFrom: string; clientId?: string; cloud?: CloudName }): RenderOptions {
  return {
    links: linkTargetsFor(input.cloud ?? { graphEndpoint: input.graphEndpoint }, input.clientId),
    messageIdDomain: input.emailFrom.split('@').pop(),
  };
}
