import type { DigestView, PlannedChannel } from '../../lib/model';
import { channelFor, routeOf } from '../../lib/notify/channels';
import type { LayoutContext } from '../../lib/notify/channels/channel';
import type { ChannelMessage } from '../../lib/notify/channels/message';
import type { TeamsTarget } from '../../lib/notify/channels/teams';
import type { WebhookTarget } from '../../lib/notify/channels/webhook';
import type { NoticeView } from '../../lib/notify/notice';
import { digestTemplates } from './digest-templates';
import { NOW } from '../fixtures/alerts';
import { noticeTemplates } from './templates';

/** Every message the product can post to each channel besides email, from the fixtures (test/support/templates.ts). */
export const TEAMS: TeamsTarget & PlannedChannel = {
  id: 'teams:TEAMS_OPS_URL',
  type: 'teams',
  urlSetting: 'TEAMS_OPS_URL',
  receiver: 'root~teams:TEAMS_OPS_URL',
};
export const WEBHOOK: WebhookTarget & PlannedChannel = {
  id: 'webhook:OPS_WEBHOOK_URL',
  type: 'webhook',
  urlSetting: 'OPS_WEBHOOK_URL',
  secretSetting: 'OPS_WEBHOOK_SECRET',
  receiver: 'root~webhook:OPS_WEBHOOK_URL',
};

type LayoutOptions = Partial<Pick<LayoutContext<PlannedChannel>, 'id' | 'now' | 'part' | 'stillOpen'>>;

function layoutContext(target: PlannedChannel, options: LayoutOptions): LayoutContext<PlannedChannel> {
  return {
    target,
    route: routeOf(target),
    id: options.id ?? '',
    now: options.now ?? new Date(),
    part: options.part,
    stillOpen: options.stillOpen,
  };
}

/** What a channel of the registry lays out for notice views, as delivery lays it out. */
export function channelMessage<T extends PlannedChannel>(
  target: T,
  views: NoticeView[],
  options: LayoutOptions = {},
): ChannelMessage {
  const message = channelFor(target.type)?.layout.notices(views, layoutContext(target, options));
  if (!message) throw new Error(`the ${target.type} channel lays out nothing for these notices`);
  return message as ChannelMessage;
}

/** A route's daily digest, laid out by a channel of the registry. */
export function channelDigest<T extends PlannedChannel>(
  target: T,
  digest: DigestView,
  options: LayoutOptions = {},
): ChannelMessage {
  const message = channelFor(target.type)?.layout.digest(digest, layoutContext(target, options));
  if (!message) throw new Error(`the ${target.type} channel lays out nothing for a digest`);
  return message as ChannelMessage;
}

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
        return channelMessage(TEAMS, t.views, { now: NOW, id: `golden-${t.name}`, stillOpen: t.stillOpen });
      },
      get webhook() {
        return channelMessage(WEBHOOK, t.views, { now: NOW, id: `golden-${t.name}`, stillOpen: t.stillOpen });
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
