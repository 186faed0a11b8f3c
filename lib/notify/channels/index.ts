import type { ChannelTarget, PlannedChannel, PlannedMessage } from '../../model';
import type { Channel } from './channel';
import { email } from './email';
import { pagerduty } from './pagerduty';
import { teams } from './teams';
import { webhook } from './webhook';

/**
 * Every channel the monitor delivers to, the route's own (email) first. A new channel is one file in
 * this folder and one line here: config validation, the schema (`npm run schema`), grouping,
 * planning and delivery read this list.
 */
export const CHANNELS: readonly Channel[] = [email, teams, webhook, pagerduty];

const BY_TYPE = new Map(CHANNELS.map((channel) => [channel.type, channel]));

/** The kinds of channel a route may list in `channels` (email is the route's own). */
export const ENTRY_TYPES: readonly string[] = CHANNELS.filter((c) => c.config.kind === 'entry').map((c) => c.type);

/** A route's own channel: the one whose address is the route's recipients. */
const ROUTE_OWN = CHANNELS.find((c) => c.config.kind === 'route') as Channel;

/** The channel of a type; undefined for a type no longer (or not yet) registered. */
export function channelFor(type: string): Channel | undefined {
  return BY_TYPE.get(type);
}

/** The channel of a route's channel target, or the route's own (email) for none; undefined for a type not registered. */
export function channelOf(target: ChannelTarget | undefined): Channel | undefined {
  return target ? channelFor(target.type) : ROUTE_OWN;
}

/** Where a planned message goes: its channel (undefined when no longer registered) and its target. */
export function destinationOf(message: PlannedMessage): { channel: Channel | undefined; target: PlannedChannel } {
  if (message.channel) return { channel: channelFor(message.channel.type), target: message.channel };
  const route = message.items[0]?.routeId ?? message.digest?.routeId ?? 'root';
  return { channel: ROUTE_OWN, target: { id: ROUTE_OWN.type, type: ROUTE_OWN.type, receiver: route } };
}

/** The route a channel's message is for: `root.0` of `root.0~teams:TEAMS_OPS_URL`. */
export function routeOf(target: PlannedChannel): string {
  return target.receiver.split('~')[0] as string;
}
