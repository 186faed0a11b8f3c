import type { DigestView, PlannedChannel } from '../../model';
import type { NoticeView } from '../notice';
import type { ChannelMessage, ChannelRenderOptions } from './message';
import { teamsDigest, teamsMessage } from './teams';
import { webhookDigest, webhookMessage } from './webhook';

/**
 * The channels besides email, each one file beside this one (teams.ts, webhook.ts; email/ is a
 * folder of its own): what a planned message for a channel says, laid out for that channel.
 */
export function channelMessage(
  channel: PlannedChannel,
  views: NoticeView[],
  options: ChannelRenderOptions = {},
): ChannelMessage {
  switch (channel.type) {
    case 'teams':
      return teamsMessage(views, { ...options, cardVersion: channel.cardVersion });
    case 'webhook':
      return webhookMessage(views, { ...options, route: channel.receiver.split('~')[0], channel: channel.id });
  }
}

/** A route's daily digest, laid out for a channel. */
export function channelDigest(
  channel: PlannedChannel,
  digest: DigestView,
  options: ChannelRenderOptions = {},
): ChannelMessage {
  switch (channel.type) {
    case 'teams':
      return teamsDigest(digest, { ...options, cardVersion: channel.cardVersion });
    case 'webhook':
      return webhookDigest(digest, { ...options, route: channel.receiver.split('~')[0], channel: channel.id });
  }
}

export type { ChannelMessage, ChannelRenderOptions } from './message';
