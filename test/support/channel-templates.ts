import type { PlannedChannel } from '../../lib/model';
import { channelDigest, channelMessage, type ChannelMessage } from '../../lib/notify/channels';
import { digestTemplates } from './digest-templates';
import { NOW } from '../fixtures/alerts';
import { noticeTemplates } from './templates';

/** Every message the product can post to each channel besides email, from the fixtures (test/support/templates.ts). */
export const TEAMS: PlannedChannel = { id: 'teams:TEAMS_OPS_URL', type: 'teams', urlSetting: 'TEAMS_OPS_URL', receiver: 'root~teams:TEAMS_OPS_URL' };
export const WEBHOOK: PlannedChannel = { id: 'webhook:OPS_WEBHOOK_URL', type: 'webhook', urlSetting: 'OPS_WEBHOOK_URL', secretSetting: 'OPS_WEBHOOK_SECRET', receiver: 'root~webhook:OPS_WEBHOOK_URL' };

export interface ChannelTemplate {
  name: string;
  teams: ChannelMessage;
  webhook: ChannelMessage;
}

export function channelTemplates(): ChannelTemplate[] {
  return [
    ...noticeTemplates().map(({ name, views }) => ({
      name,
      teams: channelMessage(TEAMS, views, { now: NOW, id: `golden-${name}` }),
      webhook: channelMessage(WEBHOOK, views, { now: NOW, id: `golden-${name}` }),
    })),
    ...digestTemplates().map(({ name, digest }) => ({
      name,
      teams: channelDigest(TEAMS, digest, { now: NOW, id: `golden-${name}` }),
      webhook: channelDigest(WEBHOOK, digest, { now: NOW, id: `golden-${name}` }),
    })),
  ];
}
