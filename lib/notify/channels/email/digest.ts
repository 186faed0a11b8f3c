import type { DigestView, EmailContent } from '../../../model';
import { headerSafe } from '../../../util/text';
import { andMore, digestWords, type DigestTone, type DigestWords } from '../../digest-words';
import { displayLine } from '../../../util/safe-text';
import { messageIdDomain } from './headers';
import { banner, BREAK, FONT, head, INK, line, MUTED, PAGE, RULE, subheading, type Tone } from './html';

/**
 * The daily digest as an email (lib/notify/digest-words.ts says what it says): the same card,
 * banner and bounded width as an alert email, one line per alert, and a plain-text part that says
 * the same. Its own thread per route (`<digest.{route}@domain>`), so a mail client keeps the days
 * together and apart from the alerts.
 */

const TONES: Record<DigestTone, Tone> = {
  critical: 'critical',
  warning: 'warning',
  healthy: 'resolved',
  muted: 'ended',
};
const BANNERS: Record<DigestTone, string> = {
  critical: 'Daily digest · Critical',
  warning: 'Daily digest · Warning',
  healthy: 'Daily digest · All healthy',
  muted: 'Daily digest · Muted only',
};

function html(words: DigestWords): string {
  const sections = words.sections.map((section) => {
    const lines = section.lines.map(
      (l) =>
        `<p style="margin:0 0 10px;font-size:15px;line-height:21px;${BREAK}"><b>${line(l.label, 260)}</b><br><span class="esw-muted" style="font-size:13px;color:${MUTED}">${line(l.detail, 500)}</span></p>`,
    );
    if (section.more > 0)
      lines.push(
        `<p class="esw-muted" style="margin:0 0 10px;font-size:13px;color:${MUTED}">${line(andMore(section.more))}</p>`,
      );
    return `<tr><td class="esw-pad esw-rule esw-ink" style="padding:6px 24px 10px;border-top:1px solid ${RULE};font-family:${FONT};color:${INK}">\n${subheading(line(section.title))}\n${lines.join('\n')}\n</td></tr>`;
  });
  return [
    head(words.subject),
    `<body class="esw-page" style="margin:0;padding:0;background:${PAGE};-webkit-text-size-adjust:100%;text-size-adjust:100%">`,
    `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;font-size:1px;line-height:1px;color:${PAGE};opacity:0">${line(words.headline, 200)}</div>`,
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" class="esw-page" style="background:${PAGE}"><tr><td class="esw-outer" align="center" style="padding:16px 8px">`,
    '<!--[if mso]><table role="presentation" width="600" cellpadding="0" cellspacing="0" align="center"><tr><td><![endif]-->',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" class="esw-card" style="max-width:600px;background:#ffffff">',
    banner(BANNERS[words.tone], TONES[words.tone]),
    `<tr><td class="esw-pad esw-ink" style="padding:18px 24px 12px;font-family:${FONT};color:${INK}"><h1 style="margin:0;font-size:21px;line-height:28px;font-weight:600;${BREAK}">${line(words.headline, 300)}</h1></td></tr>`,
    ...sections,
    `<tr><td class="esw-pad esw-rule esw-muted" style="padding:16px 24px 20px;border-top:1px solid ${RULE};font-family:${FONT};font-size:12px;line-height:18px;color:${MUTED}"><p style="margin:0">${line(words.footer, 400)} Sent by Entra Sync Watch.</p></td></tr>`,
    '</table>',
    '<!--[if mso]></td></tr></table><![endif]-->',
    '</td></tr></table>',
    '</body>',
    '</html>',
  ].join('\n');
}

function plainText(words: DigestWords): string {
  const lines = [BANNERS[words.tone].toUpperCase(), '', displayLine(words.headline, 300)];
  for (const section of words.sections) {
    lines.push('', `${displayLine(section.title)}:`);
    for (const l of section.lines) lines.push(`- ${displayLine(l.label, 260)}`, `  ${displayLine(l.detail, 500)}`);
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
