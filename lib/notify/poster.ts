import type { PlannedChannel } from '../model';
import { shownUrl } from '../config/settings';
import { displayLine, scrubSecrets } from './safe-text';
import type { ChannelMessage } from './channels';
import { signedHeaders } from './channels/webhook';

/**
 * Posts channel messages (Teams cards, signed webhooks) over HTTPS. A channel's URL and secret are
 * read from the app settings its config names, at each post: a channel set up wrong fails alone,
 * with its setting named, and never stops email or another channel. URLs are secrets (a Workflows
 * URL carries its signature in the query), so they are only ever shown without their query.
 */

export interface PostOptions {
  /** The message's idempotency key: the same on every retry, sent to webhooks as Idempotency-Key. */
  idempotencyKey: string;
  /** The cycle's deadline. */
  abortSignal?: AbortSignal;
}

export interface ChannelPoster {
  post(channel: PlannedChannel, message: ChannelMessage, options: PostOptions): Promise<void>;
}

/**
 * A post that did not go through: `misconfigured` (a setting missing or malformed), `refused` (the
 * receiver answered with an error) or `unknown` (no answer in time: the receiver may have it, so a
 * webhook's retry carries the same id for it to drop). Each is retried next cycle.
 */
export class ChannelPostError extends Error {
  constructor(
    message: string,
    readonly outcome: 'misconfigured' | 'refused' | 'unknown',
  ) {
    super(message);
    this.name = 'ChannelPostError';
  }
}

const NAMES = { teams: 'Teams channel', webhook: 'webhook' } as const;
/** The shortest signing secret accepted: 128 bits as hex, or a long enough passphrase. */
export const MIN_SECRET_LENGTH = 32;

function describe(channel: PlannedChannel, url?: string): string {
  return `${NAMES[channel.type]} ${channel.urlSetting} of route ${channel.receiver.split('~')[0]}${url ? ` (${shownUrl(url)})` : ''}`;
}

/** The channel's URL from its setting: https, or a ChannelPostError naming the setting. */
function urlOf(channel: PlannedChannel, env: Record<string, string | undefined>): string {
  const value = env[channel.urlSetting]?.trim();
  if (!value)
    throw new ChannelPostError(
      `${describe(channel)}: the app setting ${channel.urlSetting} is not set; set it to the ${channel.type === 'teams' ? "workflow's webhook URL" : "receiver's https URL"}`,
      'misconfigured',
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ChannelPostError(
      `${describe(channel)}: the app setting ${channel.urlSetting} holds ${shownUrl(value)}; expected an https:// URL`,
      'misconfigured',
    );
  }
  if (url.protocol !== 'https:')
    throw new ChannelPostError(
      `${describe(channel)}: the app setting ${channel.urlSetting} must be an https:// URL (alerts are never posted over plain HTTP), got ${shownUrl(value)}`,
      'misconfigured',
    );
  return url.href;
}

function secretOf(channel: PlannedChannel, env: Record<string, string | undefined>): string {
  const name = channel.secretSetting as string;
  const secret = env[name]?.trim();
  if (!secret)
    throw new ChannelPostError(
      `${describe(channel)}: the app setting ${name} (its signing secret) is not set`,
      'misconfigured',
    );
  if (secret.length < MIN_SECRET_LENGTH)
    throw new ChannelPostError(
      `${describe(channel)}: the signing secret in ${name} is ${secret.length} characters; use at least ${MIN_SECRET_LENGTH} (e.g. openssl rand -hex 32)`,
      'misconfigured',
    );
  return secret;
}

/**
 * What the receiver said, in one short line: a bounded excerpt of its body with every credential
 * it may echo taken out (the channel's URL and secret, any URL's query, tokens): the answer is
 * logged and kept in the cycle history the status page shows.
 */
async function answerOf(response: Response, secrets: (string | undefined)[]): Promise<string> {
  const body = await response.text().catch(() => '');
  const excerpt = displayLine(scrubSecrets(body.slice(0, 4000), secrets), 200);
  return `HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`;
}

/**
 * A poster over `fetch`, reading channel settings from `env`. Each post waits at most `timeoutMs`
 * (and never past the cycle's deadline); redirects are refused, so a body is only ever sent to the
 * URL the setting names.
 */
export function createChannelPoster(
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number; clock?: () => Date } = {},
): ChannelPoster {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const clock = options.clock ?? (() => new Date());
  return {
    async post(channel, message, { idempotencyKey, abortSignal }) {
      const url = urlOf(channel, env);
      const headers: Record<string, string> = { 'Content-Type': message.contentType, 'User-Agent': 'EntraSyncWatch/1' };
      if (channel.type === 'webhook')
        Object.assign(headers, signedHeaders(message.body, secretOf(channel, env), clock(), idempotencyKey));
      const signals = [AbortSignal.timeout(timeoutMs), ...(abortSignal ? [abortSignal] : [])];
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers,
          body: message.body,
          redirect: 'manual',
          signal: AbortSignal.any(signals),
        });
      } catch (error) {
        const e = error as Error & { cause?: { code?: string; message?: string } };
        const why =
          e.name === 'TimeoutError' || e.name === 'AbortError'
            ? `no answer within ${Math.round(timeoutMs / 1000)} s`
            : (e.cause?.code ?? e.cause?.message ?? e.message);
        throw new ChannelPostError(
          `${describe(channel, url)}: ${displayLine(scrubSecrets(why, [url, env[channel.secretSetting ?? '']]), 200)}`,
          'unknown',
        );
      }
      if (response.status >= 200 && response.status < 300) {
        await response.arrayBuffer().catch(() => undefined);
        return;
      }
      const answer = await answerOf(response, [url, env[channel.urlSetting], env[channel.secretSetting ?? '']]);
      if (response.status >= 300 && response.status < 400)
        throw new ChannelPostError(
          `${describe(channel, url)} answered with a redirect (${answer}); posts are sent only to the URL in the setting`,
          'refused',
        );
      throw new ChannelPostError(
        `${describe(channel, url)} answered ${answer}`,
        response.status >= 500 || response.status === 429 || response.status === 408 ? 'unknown' : 'refused',
      );
    },
  };
}
