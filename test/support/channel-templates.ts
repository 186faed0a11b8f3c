import type { PlannedChannel } from '../../lib/model';
import { channelDigest, channelMessage, type ChannelMessage } from '../../lib/notify/channels';
import { digestTemplates } from './digest-templates';
import { NOW } from '../fixtures/alerts';
import { noticeTemplates } from './templates';

/** Every message the product can post to each channel besides email, from the fixtures (test/support/templates.ts). */
export const TEAMS: PlannedChannel = {
  id: 'teams:TEAMS_OPS_URL',
  type: 'teams',
  urlSetting: 'TEAMS_OPS_URL',
  receiver: 'root~teams:TEAMS_OPS_URL',
};
export const WEBHOOK: PlannedChannel = {
  id: 'webhook:OPS_WEBHOOK_URL',
  type: 'webhook',
  urlSetting: 'OPS_WEBHOOK_URL',
  secretSetting: 'OPS_WEBHOOK_SECRET',
  receiver: 'root~webhook:OPS_WEBHOOK_URL',
};

export interface ChannelTemplate {
  name: string;
  /** Laid out when read (see NoticeTemplate.views). */
  readonly teams: ChannelMessage;
  readonly webhook: ChannelMessage;
}

export function channelTemplates(): ChannelTemplate[] {
  return [
    ...noticeTemplates().map((t) => ({
      name: t.name,
      get teams() {
        return channelMessage(TEAMS, t.views, { now: NOW, id: `golden-${t.name}` });
      },
      get webhook() {
        return channelMessage(WEBHOOK, t.views, { now: NOW, id: `golden-${t.name}` });
      },
    })),
    ...digestTemplates().map((t) => ({
      name: t.name,
      get teams() {
        return channelDigest(TEAMS, t.digest, { now: NOW, id: `golden-${t.name}` });
      },
      get webhook() {
        return channelDigest(WEBHOOK, t.digest, { now: NOW, id: `golden-${t.name}` });
      },
    })),
  ];
}
