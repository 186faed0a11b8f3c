import type { EmailContent } from '../../../model';
import { noticeViews, summarize, type Notice, type NoticeView } from '../../notice';
import type { ViewContext } from '../../../evaluate/view';
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
}

/** The line atop each email of a split: which part, of how many, and why. */
function partLine(part: { index: number; total: number }): string {
  return `Part ${part.index} of ${part.total}: this cycle's notices to these recipients are split into ${part.total} emails so that each stays readable.`;
}

/** An email from notice views (most urgent first, as noticeViews returns them). */
export function emailFromViews(views: NoticeView[], options: EmailOptions = {}): EmailContent {
  const summary = summarize(views);
  const subject = emailSubject(views, summary, options.part);
  const part = options.part ? partLine(options.part) : undefined;
  return {
    subject,
    html: emailHtml(views, summary, subject, part),
    plainText: emailText(views, summary, part),
    headers: emailHeaders(views, summary, messageIdDomain(options.messageIdDomain)),
  };
}

export type RenderContext = ViewContext & EmailOptions;

/**
 * One email for the notices of one recipient set: a subject with the alert's stable stem when it
 * is about one alert, a summary when about several; then one section per alert with what happened,
 * since when, what Entra does next, what to do now, the facts and the links.
 */
export function renderEmail(notices: Notice[], ctx: RenderContext): EmailContent {
  return emailFromViews(noticeViews(notices, ctx), ctx);
}
