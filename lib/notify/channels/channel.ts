import type { HttpPoster } from '../../clients/http-poster';
import type { Mailer } from '../../clients/mailer';
import type { ChannelTarget, DigestView, EmailBudgetSpent, PlannedMessage } from '../../model';
import type { Route } from '../../model/policy';
import { DEPLOYMENT_SETTINGS } from '../../settings/settings';
import type { SendBudgetStore } from '../../store/send-budget-store';
import type { SendBudget } from '../../store/send-budget';
import { shown, type Json } from '../../util/json-checks';
import type { Logger } from '../../util/log';
import type { NoticeView } from '../notice';
import type { StillOpen } from '../still-open';

/**
 * The contract of one channel. Each lives in its own file beside this one and is registered in
 * index.ts; config validation, the schema (`npm run schema`), grouping, planning and delivery read
 * it from there, so adding a channel touches nothing else.
 *
 * A route's own channel is email: `to` and `cc` are its address, its notification log is the
 * route's own id (`root.0`), and its messages carry no `channel`. Every other channel is an entry
 * in the route's `channels`, with a log of its own (`root.0~teams:TEAMS_OPS_URL`).
 */
export interface Channel<T extends ChannelTarget = ChannelTarget, C = unknown> {
  /** The `type` of its config entries and targets: `teams`. */
  type: string;
  /** What one of its messages is called in the log: `email`, `message`. */
  noun: string;
  /** How messages and errors name a target: `Teams channel TEAMS_OPS_URL`. */
  name(target: T): string;
  /** How a route names it: its own recipients (email), or an entry of its `channels`. */
  config: RouteOwnChannel | ChannelEntry<T>;
  /** How much one message may carry. */
  limits: {
    /** Alerts in one message; a cycle's notices beyond it are split into parts. */
    alertsPerMessage: number;
    /** Bytes of one message the channel takes; its layout keeps within them. */
    bytes: number;
  };
  /** Which of a cycle's notices share one message (email: one per recipient set); default: one per route receiver. */
  groupKey?(receiver: Route): string;
  /**
   * The layout of a group of notices, and of a route's daily digest. Undefined when this channel
   * sends nothing for them (a PagerDuty reminder: the incident stays open): the notices are
   * recorded as told, and nothing is posted.
   */
  layout: {
    notices(views: NoticeView[], ctx: LayoutContext<T>): C | undefined;
    digest(digest: DigestView, ctx: LayoutContext<T>): C | undefined;
  };
  /** How a message goes out, and what an answer (or none) means. */
  delivery: ChannelDelivery<T, C>;
}

/** A route's own channel: the route's recipients (`to`, `cc`) are its address. */
interface RouteOwnChannel {
  kind: 'route';
}

/** Collects a config problem with the JSON path of its field. */
export type Report = (path: string, message: string) => void;

/** A channel that is an entry of a route's `channels`. */
export interface ChannelEntry<T extends ChannelTarget> {
  kind: 'entry';
  /** The fields an entry may have besides `type`. */
  fields: readonly string[];
  /** The field naming the app setting it is addressed by: a route posts to each once, and it is in the target's id (`teams:TEAMS_OPS_URL`). */
  address: string;
  /** What a route's `channels` schema says of it: `Teams (a Workflows webhook)`. */
  summary: string;
  /** The entry validated (each problem reported with its path), as a target without its id and type; undefined when it is not usable. */
  build(entry: Json, path: string, report: Report): Omit<T, 'id' | 'type'> | undefined;
  /** Its JSON schema: one of the `oneOf` of `definitions.channel` in config.schema.json. */
  schema: Record<string, unknown>;
}

/** What a layout is given besides the notices: where the message goes and what it is. */
export interface LayoutContext<T> {
  target: T;
  /** The route the message is for (`root.0`); a message to several routes' recipients names the first. */
  route: string;
  /** The message's idempotency key: the same on every retry. */
  id: string;
  now: Date;
  /** Which part it is, when a cycle's notices to one destination were split. */
  part?: { index: number; total: number };
  /** The right side of Message-IDs (the sender's domain). */
  messageIdDomain?: string;
  /** For a message of resolved notices: what is still open (and muted) in its route, as it stands when laid out. */
  stillOpen?: StillOpen;
}

/** What sending is given: the transports, the shared send budget, the time, and the cycle's deadline. */
export interface DeliveryContext {
  mailer?: Mailer;
  poster?: HttpPoster;
  sendBudget: Pick<SendBudgetStore, 'take' | 'heldUntil'>;
  /** The config's send budget (sendBudget). */
  budget: SendBudget;
  now(): Date;
  log: Logger;
  signal: AbortSignal;
}

/** What became of a send whose outcome was not known, as the channel tells it. */
export type EarlierSend =
  | { outcome: 'delivered' }
  | { outcome: 'in-flight' }
  | { outcome: 'resend'; message: PlannedMessage }
  /** It could not be asked: the message and those after it wait for the next cycle. */
  | { outcome: 'unknown'; error: string };

/** After a send failed: what to say, what to write on the message, and whether the destination's next messages still go. */
type SendFailure =
  | { error: string; update?: PlannedMessage; next: 'go-on' | 'stop'; quotaSpent?: undefined }
  /**
   * The provider's own quota ran out (ACS's 429): not an error of the cycle. The message waits as if
   * never sent (`update`), the destination stops, and no instance sends before `until`.
   */
  | { quotaSpent: { until: Date; log: string; budgetSpent: EmailBudgetSpent }; update?: PlannedMessage };

/** Why no more messages may go now (a shared quota is spent), and what the cycle summary says of it. */
interface Refusal {
  reason: string;
  budgetSpent?: EmailBudgetSpent;
}

export interface ChannelDelivery<T, C> {
  /** The transport it goes through; without it, its messages wait and say why. */
  transport: 'mail' | 'http';
  /** Its messages share one queue whatever their route (email: ACS and its budget); default: a queue per route receiver. */
  sharedQueue?: boolean;
  /** For a message that carries an attempt (a send whose outcome is unknown): what became of it, before anything is sent again. */
  earlier?(message: PlannedMessage, ctx: DeliveryContext): Promise<EarlierSend>;
  /** Whether one more message may go now (a shared quota); the reason when not, and the rest wait. */
  admit?(ctx: DeliveryContext): Promise<Refusal | undefined>;
  /** The message as written down just before it is sent (email: the attempt, with its Operation-Id). */
  beforeSend?(message: PlannedMessage, now: Date): PlannedMessage;
  /** Sends it; resolves with a line for the log once the channel has taken it, throws when it has not (or may not have). */
  send(content: C, ctx: SendContext<T>): Promise<string>;
  /** What a failed send means. */
  failed(message: PlannedMessage, content: C, error: Error, describe: string, now: Date): SendFailure;
}

/** Sending one message: the delivery context, the message, its target and how it is named. */
export interface SendContext<T> extends DeliveryContext {
  message: PlannedMessage;
  target: T;
  /** `Teams channel TEAMS_OPS_URL of route root`. */
  describe: string;
}

/**
 * A channel as the registry keeps it. The registry hands each channel only targets and contents of
 * its own (it finds the channel by the target's type, and the content is its own layout's), so a
 * channel typed for its own target is one of the registry's.
 */
export function defineChannel<T extends ChannelTarget, C>(channel: Channel<T, C>): Channel {
  return channel as unknown as Channel;
}

// ---- what the config entries of channels share ---------------------------------------------------

/** App setting names as App Service and Functions accept them on every OS: letters, digits, underscores. */
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The name of an app setting that holds a secret: well-formed, and not one of the app's own settings. */
export function settingName(
  value: unknown,
  path: string,
  report: Report,
  holds: string,
  example: string,
): string | undefined {
  if (value === undefined) {
    report(
      path,
      `required: the name of the app setting that holds ${holds} (the value itself never goes in this file)`,
    );
    return undefined;
  }
  if (typeof value !== 'string' || !SETTING_NAME.test(value)) {
    const looksLikeValue = typeof value === 'string' && /^https?:\/\//i.test(value);
    report(
      path,
      looksLikeValue
        ? `expected the name of an app setting (e.g. ${example}), not the URL itself: URLs of channels are secrets, so put the URL in an app setting and name it here`
        : `${shown(value)} is not an app setting name (letters, digits and underscores, e.g. ${example})`,
    );
    return undefined;
  }
  if (value in DEPLOYMENT_SETTINGS) {
    report(
      path,
      `${value} is one of Entra Sync Watch's own settings; name a setting of this channel's own (e.g. ${example})`,
    );
    return undefined;
  }
  return value;
}

/** The JSON schema of a setting name in a channel entry. */
export function settingSchema(description: string): Record<string, unknown> {
  return { type: 'string', pattern: SETTING_NAME.source, description };
}
