import type { EmailContent } from '../../../model';
import { filterTags, noticeViews, preheaderOf, summarize, type Notice, type NoticeView } from '../../notice';
import { stillOpenWords, type StillOpen } from '../../still-open';
import type { ViewContext } from '../../../evaluate/view';
import { formatTime } from '../../../util/text';
import { emailHeaders, emailSubject, messageIdDomain } from './headers';
import { emailHtml } from './html';
import { emailText } from './text';

/**
 * The email channel: one email for the notices of one recipient set. Its words come from the
 * channel-neutral notice views (lib/notify/notice.ts); this folder only lays them out as a subject,
 * headers, an HTML part and a plain-text part that says the same.
 */

export interface EmailOptions {
  /** Right side of the Message-IDs: the sender's domain (default: entra-sync-watch.invalid). */
  messageIdDomain?: string;
  /** Which part this email is, when one cycle's notices to the same people were split (lib/notify/group.ts). */
  part?: { index: number; total: number };
  /** For a message of resolved notices: what is still open in its route (lib/notify/still-open.ts). */
  stillOpen?: StillOpen;
  /** When it is made: the footer says so, in the notices' time zone. */
  now?: Date;
}

/** The line atop each email of a split: which part, of how many, and why. */
function partLine(part: { index: number; total: number }): string {
  return `Part ${part.index} of ${part.total}: this cycle's notices to these recipients are split into ${part.total} emails so that each stays readable.`;
}

/** How to mute, with the snooze buttons when the email has them. */
function muteLine(views: NoticeView[], html: boolean): string {
  const config = html ? '<code>WATCH_CONFIG</code>, <code>silences</code>' : 'WATCH_CONFIG, silences';
  return views.some((v) => v.snooze.length > 0)
    ? `To mute an alert for a while, use its Snooze ${html ? 'buttons' : 'links'} (each asks you to confirm first), or add a silence that matches it to the config file (${config}).`
    : `To mute an alert for a while, add a silence that matches it to the config file (${config}).`;
}

/** An email from notice views (most urgent first, as noticeViews returns them). */
export function emailFromViews(views: NoticeView[], options: EmailOptions = {}): EmailContent {
  const summary = summarize(views);
  const subject = emailSubject(views, summary, options.part);
  const part = options.part ? partLine(options.part) : undefined;
  const timeZone = views[0]?.timeZone ?? 'UTC';
  const stillOpen = options.stillOpen && summary.resolvedOnly ? stillOpenWords(options.stillOpen, timeZone) : undefined;
  const sent = options.now ? ` at ${formatTime(options.now.toISOString(), timeZone)}` : '';
  const tags = `Filter tags: ${filterTags(views, summary)}`;
  return {
    subject,
    html: emailHtml(views, summary, subject, {
      part,
      stillOpen,
      preheader: preheaderOf(views, summary, stillOpen?.headline),
      footer: [`Sent by Entra Sync Watch${sent}. ${muteLine(views, true)}`, tags],
    }),
    plainText: emailText(views, summary, {
      part,
      stillOpen,
      footer: [`Sent by Entra Sync Watch${sent}. ${muteLine(views, false)}`, tags],
    }),
    headers: emailHeaders(views, summary, messageIdDomain(options.messageIdDomain)),
  };
}

export type RenderContext = ViewContext & EmailOptions;

/**
 * One email for the notices of one recipient set: a subject with the alert's stable stem when it
 * is about one alert, the tenant and the most urgent alert when about several; the first screen
 * (how bad, what and where, since when, what Entra does next, the button), then one section per cause.
 */
export function renderEmail(notices: Notice[], ctx: RenderContext): EmailContent {
  return emailFromViews(noticeViews(notices, ctx), ctx);
}
