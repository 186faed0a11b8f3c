import { headerSafe } from '../../util/text';
import { answerText, PostError, type HttpAnswer, type HttpPoster, type HttpRequest } from '../../clients/http-poster';
import type { ChannelTarget } from '../../model';
import { shownUrl } from '../../settings/settings';
import type { ChannelDelivery, SendContext } from './channel';
import type { ChannelMessage } from './message';

/**
 * Delivery for the channels that are HTTP endpoints (Teams, webhooks, PagerDuty), over the same
 * outbox, lease and notification log as email: the channel makes the request from its target's
 * settings, the poster sends it, and the channel says what the answer means. A channel that fails
 * (down, refusing, too slow, a setting missing) keeps its messages for the next cycle and holds back
 * nobody else: not email, not another channel. A retry carries the same idempotency key.
 */

/** How an HTTP channel makes its request and reads its answer. */
interface HttpChannel<T extends ChannelTarget, C extends ChannelMessage> {
  /** The request for one message; throws PostError `misconfigured` when a setting is missing or wrong. */
  request(content: C, ctx: PostContext<T>): HttpRequest;
  /**
   * What an answer that refused the message means, when the channel can say more than its status
   * (PagerDuty's 400: the event or its routing key is wrong). Default: `<where> answered HTTP 400: …`.
   */
  explain?(answer: HttpAnswer, ctx: AnswerContext<T>): string | undefined;
}

/** What making a request is given: the target, the poster's settings and clock, the message's key and name. */
interface PostContext<T> {
  target: T;
  poster: HttpPoster;
  /** The message's idempotency key, the same on every retry. */
  idempotencyKey: string;
  /** `Teams channel TEAMS_OPS_URL of route root`. */
  describe: string;
}

/** What reading an answer is given: the post's context, and where it went. */
interface AnswerContext<T> extends PostContext<T> {
  /** `Teams channel TEAMS_OPS_URL of route root (https://host/path (query hidden))`. */
  where: string;
}

/**
 * What an answer means: any 2xx took the message; a redirect refused it (posts go only to the URL in
 * the setting); 408, 429 and 5xx may have it (retried next cycle with the same key); anything else
 * refused it, in the channel's words when it has some.
 */
function readAnswer<T extends ChannelTarget>(
  answer: HttpAnswer,
  ctx: AnswerContext<T>,
  explain: HttpChannel<T, ChannelMessage>['explain'],
): void {
  if (answer.status >= 200 && answer.status < 300) return;
  const text = answerText(answer);
  if (answer.status >= 300 && answer.status < 400)
    throw new PostError(
      `${ctx.where} answered with a redirect (${text}); posts are sent only to the URL in the setting`,
      'refused',
    );
  if (isTransient(answer.status)) throw new PostError(`${ctx.where} answered ${text}`, 'unknown');
  throw new PostError(explain?.(answer, ctx) ?? `${ctx.where} answered ${text}`, 'refused');
}

/** A status that says "not now" rather than "not this": the post may be retried as it is. */
function isTransient(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** `Teams channel TEAMS_OPS_URL of route root (https://host/path (query hidden))`: the channel and where it posts. */
function postedTo(describe: string, url: string): string {
  return `${describe} (${shownUrl(url)})`;
}

/** The delivery of an HTTP channel: one POST per message, its answer read by the channel. */
export function httpDelivery<T extends ChannelTarget, C extends ChannelMessage>(
  channel: HttpChannel<T, C>,
): ChannelDelivery<T, C> {
  return {
    transport: 'http',
    async send(content: C, ctx: SendContext<T>): Promise<string> {
      const poster = ctx.poster as HttpPoster;
      const post: PostContext<T> = {
        target: ctx.target,
        poster,
        idempotencyKey: ctx.message.key,
        describe: ctx.describe,
      };
      const request = channel.request(content, post);
      const where = postedTo(ctx.describe, request.url);
      const answer = await poster.post(request, { what: where, abortSignal: ctx.signal });
      readAnswer(answer, { ...post, where }, channel.explain);
      return `posted to the ${ctx.describe}: ${content.summary}`;
    },
    failed(message, content, error, describe) {
      return {
        error: `posting "${headerSafe(content.summary, 80)}" to the ${describe} failed, will retry next cycle: ${error.message}`,
        // Down, refusing or set up wrong: its other messages would fail the same way, and wait with it.
        update: { ...message, failedAttempts: message.failedAttempts + 1 },
        next: 'stop',
      };
    },
  };
}
