import type { StillOpen } from '../still-open';

/** What the channels besides email share: a rendered message and what rendering it takes. */

/** A message rendered for a channel: the exact bytes to post (webhooks sign them), and a one-line summary for the log. */
export interface ChannelMessage {
  body: string;
  contentType: string;
  /** The message's subject line, as an email about the same notices would have it. */
  summary: string;
}

export interface ChannelRenderOptions {
  /** Which part this message is, when one cycle's notices to one channel were split. */
  part?: { index: number; total: number };
  /** Teams: the Adaptive Card version the card declares (default 1.5). */
  cardVersion?: '1.4' | '1.5';
  /** Webhooks: the message's idempotency key (the same on every retry) and when it was made. */
  id?: string;
  now?: Date;
  /** Webhooks: the route and channel the message is for. */
  route?: string;
  channel?: string;
  /** For a message of resolved notices: what is still open in its route. */
  stillOpen?: StillOpen;
}
