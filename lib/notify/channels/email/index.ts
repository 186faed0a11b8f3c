import type { EmailContent } from '../../../model';
import { noticeViews, summarize, type Notice, type NoticeView } from '../../notice';
import type { ViewContext } from '../../view';
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
}

/** An email from notice views (most urgent first, as noticeViews returns them). */
export function emailFromViews(views: NoticeView[], options: EmailOptions = {}): EmailContent {
  const summary = summarize(views);
  const subject = emailSubject(views, summary);
  return {
    subject,
    html: emailHtml(views, summary, subject),
    plainText: emailText(views, summary),
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
