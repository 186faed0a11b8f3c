import type { DigestView, EmailContent } from '../../../model';
import { headerSafe } from '../../../util/text';
import { andMore, digestWords, type DigestTone, type DigestWords } from '../../digest-words';
import { displayLine } from '../../../util/safe-text';
import { messageIdDomain } from './headers';
import {
  banner,
  BREAK,
  cardRow,
  emailDocument,
  footerRow,
  line,
  MUTED,
  paragraph,
  primaryButton,
  subheading,
  textLink,
  title,
  type Tone,
} from './parts';

/**
 * The daily digest as an email (lib/notify/digest-words.ts says what it says): the same card,
 * banner and bounded width as an alert email, the most urgent open alert's button on the first
 * screen, one line per alert (linked to its page), and a plain-text part that says the same. Its
 * own thread per route (`<digest.{route}@domain>`), so a mail client keeps the days together and
 * apart from the alerts.
 */

const TONES: Record<DigestTone, Tone> = {
  critical: 'critical',
  warning: 'warning',
  healthy: 'resolved',
  muted: 'ended',
};

function html(words: DigestWords): string {
  const sections = words.sections.map((section) => {
    const lines = section.lines.map(
      (l) =>
        `<p style="margin:0 0 10px;font-size:15px;line-height:21px;${BREAK}"><b>${l.link ? textLink(l.link, line(l.label, 260)) : line(l.label, 260)}</b><br><span class="esw-muted" style="font-size:13px;color:${MUTED}">${line(l.detail, 500)}</span></p>`,
    );
    if (section.more > 0)
      lines.push(
        `<p class="esw-muted" style="margin:0 0 10px;font-size:13px;color:${MUTED}">${line(andMore(section.more))}</p>`,
      );
    return cardRow(`${subheading(line(section.title))}\n${lines.join('\n')}`, { padding: '6px 24px 10px' });
  });
  const lead = [title(line(words.headline, 300))];
  if (words.primary)
    lead.push(
      paragraph(`Most urgent: ${line(words.primary.heading, 200)}`, 'font-size:14px;line-height:20px'),
      primaryButton(words.primary.link),
    );
  return emailDocument(words.subject, words.headline, [
    banner(`Daily digest · ${words.urgency}`, TONES[words.tone]),
    cardRow(lead.join('\n'), { rule: false, padding: '18px 24px 12px' }),
    ...sections,
    footerRow([`${line(words.footer, 400)} Sent by Entra Sync Watch.`]),
  ]);
}

function plainText(words: DigestWords): string {
  const lines = [`Daily digest · ${words.urgency}`.toUpperCase(), '', displayLine(words.headline, 300)];
  if (words.primary)
    lines.push(
      '',
      `Most urgent: ${displayLine(words.primary.heading, 200)}`,
      `${words.primary.link.label}:`,
      `  ${words.primary.link.href}`,
    );
  for (const section of words.sections) {
    lines.push('', `${displayLine(section.title)}:`);
    for (const l of section.lines)
      lines.push(
        `- ${displayLine(l.label, 260)}`,
        `  ${displayLine(l.detail, 500)}`,
        ...(l.link ? [`  ${l.link.href}`] : []),
      );
    if (section.more > 0) lines.push(`  ${andMore(section.more)}`);
  }
  lines.push('', '-'.repeat(60), `${displayLine(words.footer, 400)} Sent by Entra Sync Watch.`);
  return `${lines.join('\n')}\n`;
}

/** The digest email of a route for a date. */
export function digestEmail(digest: DigestView, options: { messageIdDomain?: string } = {}): EmailContent {
  const words = digestWords(digest);
  const domain = messageIdDomain(options.messageIdDomain);
  const route = digest.routeId.replace(/[^A-Za-z0-9.-]/g, '-');
  return {
    subject: headerSafe(words.subject, 200),
    html: html(words),
    plainText: plainText(words),
    headers: {
      'Message-ID': `<digest.${route}.${digest.date}@${domain}>`,
      'In-Reply-To': `<digest.${route}@${domain}>`,
      References: `<digest.${route}@${domain}>`,
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      'X-Entra-Sync-Watch-Kind': 'digest',
      'X-Entra-Sync-Watch-Severity': words.tone,
    },
  };
}
