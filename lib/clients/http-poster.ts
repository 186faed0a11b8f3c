import { shownUrl } from '../settings/settings';
import { displayLine, scrubSecrets } from '../util/safe-text';

/**
 * Posts to channels over HTTPS (Teams cards, signed webhooks, PagerDuty events): the transport of
 * every channel that is an HTTP endpoint. A channel's address and secrets are read from the app
 * settings its config names, at each post (`setting`), so a channel set up wrong fails alone, with
 * its setting named, and never stops email or another channel. URLs may be secrets (a Workflows URL
 * carries its signature in the query), so they are only ever shown without their query.
 */

/** One POST: where, with which headers, and the exact bytes (a webhook signs them). */
export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * What the endpoint answered: its status and body (any status; the channel says what it means). The
 * body is bounded and has every credential it may echo taken out (the URL posted to, every setting
 * the channels read, any URL's query, tokens): it is logged and kept in the cycle history the status
 * page shows, and a receiver that echoes its request would otherwise expose a Teams `sig` or a token.
 */
export interface HttpAnswer {
  status: number;
  body: string;
}

export interface HttpPoster {
  /** The app setting `name`, trimmed; undefined when it is not set. */
  setting(name: string): string | undefined;
  /** Wall-clock time (a webhook's timestamp). */
  now(): Date;
  /**
   * Posts and reads the answer. Throws PostError `unknown` when no answer came (the endpoint may have
   * the post: a retry carries the same idempotency key). `what` names the channel in the error.
   */
  post(request: HttpRequest, options: { what: string; abortSignal?: AbortSignal }): Promise<HttpAnswer>;
}

/**
 * A post that did not go through: `misconfigured` (a setting missing or malformed), `refused` (the
 * receiver answered with an error) or `unknown` (no answer in time: the receiver may have it, so a
 * retry carries the same id for it to drop). Each is retried next cycle.
 */
export class PostError extends Error {
  constructor(
    message: string,
    readonly outcome: 'misconfigured' | 'refused' | 'unknown',
  ) {
    super(message);
    this.name = 'PostError';
  }
}

/** An https URL from the app setting `name`, or a PostError naming the setting; `purpose` says what it should hold. */
export function urlFromSetting(poster: HttpPoster, name: string, what: string, purpose: string): string {
  const value = poster.setting(name);
  if (!value)
    throw new PostError(`${what}: the app setting ${name} is not set; set it to the ${purpose}`, 'misconfigured');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PostError(
      `${what}: the app setting ${name} holds ${shownUrl(value)}; expected an https:// URL`,
      'misconfigured',
    );
  }
  if (url.protocol !== 'https:')
    throw new PostError(
      `${what}: the app setting ${name} must be an https:// URL (alerts are never posted over plain HTTP), got ${shownUrl(value)}`,
      'misconfigured',
    );
  return url.href;
}

/** How much of an answer's body is kept: enough for any error a channel reads, never a page. */
const MAX_ANSWER_CHARS = 8000;

/** What the receiver said, in one short line (never more than a bounded excerpt of its body). */
export function answerText(answer: HttpAnswer): string {
  const excerpt = displayLine(answer.body, 200);
  return `HTTP ${answer.status}${excerpt ? `: ${excerpt}` : ''}`;
}

/**
 * A poster over `fetch`, reading channel settings from `env`. Each post waits at most `timeoutMs`
 * (and never past the cycle's deadline); redirects are not followed, so a body is only ever sent to
 * the URL the setting names.
 */
export function createHttpPoster(
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number; clock?: () => Date } = {},
): HttpPoster {
  const timeoutMs = options.timeoutMs ?? 10_000;
  // Every setting value a channel read (URLs, secrets, keys): never shown in what an endpoint answers.
  const secrets = new Set<string>();
  return {
    setting: (name) => {
      const value = env[name]?.trim() || undefined;
      if (value) secrets.add(value);
      return value;
    },
    now: options.clock ?? (() => new Date()),
    async post(request, { what, abortSignal }) {
      const signals = [AbortSignal.timeout(timeoutMs), ...(abortSignal ? [abortSignal] : [])];
      let response: Response;
      try {
        response = await fetch(request.url, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          redirect: 'manual',
          signal: AbortSignal.any(signals),
        });
      } catch (error) {
        const e = error as Error & { cause?: { code?: string; message?: string } };
        const why =
          e.name === 'TimeoutError' || e.name === 'AbortError'
            ? `no answer within ${Math.round(timeoutMs / 1000)} s`
            : (e.cause?.code ?? e.cause?.message ?? e.message);
        throw new PostError(`${what}: ${displayLine(scrubSecrets(why, [request.url, ...secrets]), 200)}`, 'unknown');
      }
      const body = await response.text().catch(() => '');
      return {
        status: response.status,
        body: scrubSecrets(body.slice(0, MAX_ANSWER_CHARS), [request.url, ...secrets]),
      };
    },
  };
}
