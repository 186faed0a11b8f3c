import { createHttpPoster, type HttpPoster } from '../../lib/clients/http-poster';
import type { PlannedChannel } from '../../lib/model';
import { channelFor, routeOf } from '../../lib/notify/channels';
import type { ChannelMessage } from '../../lib/notify/channels/message';

/**
 * Posts laid-out messages to channel targets exactly as delivery does (the registry's request,
 * headers, signing and reading of the answer, over the real HTTP poster), without a cycle around it:
 * for tests of the receivers and of what a post sends.
 */
export interface ChannelPoster {
  post<T extends PlannedChannel>(
    target: T,
    message: ChannelMessage,
    options: { idempotencyKey: string },
  ): Promise<string>;
}

export function channelPoster(
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number; clock?: () => Date } = {},
  poster: HttpPoster = createHttpPoster(env, options),
): ChannelPoster {
  return {
    post(target, message, { idempotencyKey }) {
      const channel = channelFor(target.type);
      if (!channel) throw new Error(`no channel ${target.type} is registered`);
      return channel.delivery.send(message, {
        poster,
        sendBudget: { take: async () => true, heldUntil: async () => undefined },
        budget: { perMinute: 1000, perHour: 1000 },
        now: poster.now,
        log: { info: () => undefined, warn: () => undefined, error: () => undefined },
        signal: new AbortController().signal,
        message: {
          key: idempotencyKey,
          recipients: { to: [] },
          items: [],
          plannedAt: '',
          failedAttempts: 0,
          channel: target,
        },
        target,
        describe: `${channel.name(target)} of route ${routeOf(target)}`,
      });
    },
  };
}
