import type { Link } from '../../../model';
import { escapeHtml } from '../../../util/text';
import { displayLine, displayText } from '../../../util/safe-text';

/**
 * The pieces every HTML email is made of (alert emails in html.ts, digests in digest.ts), written
 * for mail clients rather than browsers: tables for layout (Outlook's Word engine ignores most CSS),
 * every style inline (Gmail drops many `<style>` rules), at most 600 px wide (Outlook through a
 * conditional table, everyone else through max-width), and label/value rows that sit side by side
 * on a desktop and stack on a phone without media queries (inline-blocks with a max-width). A
 * `<style>` block only adds what degrades gracefully: narrower padding on phones and colours for
 * clients in dark mode. Every text goes through displayText/displayLine (safe-text.ts) and then
 * escapeHtml.
 */

const FONT = "'Segoe UI',-apple-system,BlinkMacSystemFont,Roboto,'Helvetica Neue',Arial,sans-serif";
const INK = '#201f1e';
export const MUTED = '#605e5c';
const RULE = '#e1dfdd';
const PAGE = '#f3f2f1';
export const LINK_BG = '#0f6cbd';
/** Banner and status colours; each keeps at least 4.5:1 contrast with white text. */
export const TONES = {
  critical: { colour: '#a4262c', dark: '#ff9a9a' },
  warning: { colour: '#8a4b00', dark: '#ffc27a' },
  resolved: { colour: '#0b6a0b', dark: '#8fdc8f' },
  ended: { colour: '#484644', dark: '#d2d0ce' },
} as const;
export type Tone = keyof typeof TONES;

/** Content width of the card: 600 px less 24 px padding each side. */
const LABEL_WIDTH = 168;
const VALUE_WIDTH = 380;

/** Long IDs, paths and URLs break anywhere rather than push the layout wider than the screen. */
export const BREAK = 'word-break:break-word;overflow-wrap:anywhere;';

export const line = (value: unknown, max = 300): string => escapeHtml(displayLine(value, max));
export const text = (value: unknown, max = 2000): string => escapeHtml(displayText(value, max)).replace(/\n/g, '<br>');

const STYLE = `<style>
:root { color-scheme: light dark; supported-color-schemes: light dark; }
table { border-collapse: collapse; mso-table-lspace: 0pt; mso-table-rspace: 0pt; }
a[x-apple-data-detectors] { color: inherit !important; text-decoration: none !important; }
@media only screen and (max-width: 480px) {
  .esw-outer { padding: 0 !important; }
  .esw-pad { padding-left: 16px !important; padding-right: 16px !important; }
}
@media (prefers-color-scheme: dark) {
  .esw-page, .esw-outer { background: #161616 !important; }
  .esw-card { background: #242424 !important; }
  .esw-ink { color: #edebe9 !important; }
  .esw-muted { color: #c8c6c4 !important; }
  .esw-rule { border-color: #3b3a39 !important; }
  .esw-link { color: #8cc8ff !important; }
${(Object.keys(TONES) as Tone[]).map((t) => `  .esw-tone-${t} { color: ${TONES[t].dark} !important; }`).join('\n')}
}
</style>`;

function head(title: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en" dir="ltr" xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta http-equiv="X-UA-Compatible" content="IE=edge">',
    '<meta name="x-apple-disable-message-reformatting">',
    // No automatic links for numbers, dates or addresses in text that came from Graph.
    '<meta name="format-detection" content="telephone=no, date=no, address=no, email=no, url=no">',
    '<meta name="color-scheme" content="light dark">',
    '<meta name="supported-color-schemes" content="light dark">',
    `<title>${line(title, 200)}</title>`,
    '<!--[if mso]><noscript><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml></noscript><![endif]-->',
    STYLE,
    '</head>',
  ].join('\n');
}

/**
 * A whole email: the head, a hidden preheader (what the mail list shows beside the subject: the
 * kind first, since a thread's subject never changes), and the card with its rows.
 */
export function emailDocument(title: string, preheader: string, rows: string[]): string {
  return [
    head(title),
    `<body class="esw-page" style="margin:0;padding:0;background:${PAGE};-webkit-text-size-adjust:100%;text-size-adjust:100%">`,
    `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;font-size:1px;line-height:1px;color:${PAGE};opacity:0">${line(preheader, 200)}</div>`,
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" class="esw-page" style="background:${PAGE}"><tr><td class="esw-outer" align="center" style="padding:16px 8px">`,
    '<!--[if mso]><table role="presentation" width="600" cellpadding="0" cellspacing="0" align="center"><tr><td><![endif]-->',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" class="esw-card" style="max-width:600px;background:#ffffff">',
    ...rows.filter((r) => r !== ''),
    '</table>',
    '<!--[if mso]></td></tr></table><![endif]-->',
    '</td></tr></table>',
    '</body>',
    '</html>',
  ].join('\n');
}

/** A row of the card with padding, optionally under a rule. */
export function cardRow(html: string, { rule = true, padding = '18px 24px 22px' } = {}): string {
  return `<tr><td class="esw-pad${rule ? ' esw-rule' : ''} esw-ink" style="padding:${padding};${rule ? `border-top:1px solid ${RULE};` : ''}font-family:${FONT};color:${INK}">\n${html}\n</td></tr>`;
}

/**
 * A label and its value: side by side in 600 px, the value under its label on a phone (two
 * inline-blocks that fit side by side only when there is room; no media query needed). Outlook for
 * Windows ignores max-width and stacks them too, which reads as well.
 */
export function row(label: string, valueHtml: string, { small = false } = {}): string {
  const size = small ? 'font-size:12px;line-height:17px' : 'font-size:14px;line-height:20px';
  return (
    `<div style="margin:0 0 ${small ? 4 : 8}px">` +
    `<div class="esw-muted" style="display:inline-block;box-sizing:border-box;width:100%;max-width:${LABEL_WIDTH}px;vertical-align:top;padding:0 12px ${small ? 0 : 2}px 0;${size};font-weight:600;color:${MUTED}">${label}</div>` +
    `<div${small ? ' class="esw-muted"' : ''} style="display:inline-block;width:100%;max-width:${VALUE_WIDTH}px;vertical-align:top;${size};${small ? `color:${MUTED};` : ''}${BREAK}">${valueHtml}</div>` +
    '</div>'
  );
}

export function paragraph(html: string, style = ''): string {
  return `<p style="margin:0 0 12px;font-size:15px;line-height:22px;${BREAK}${style}">${html}</p>`;
}

export function subheading(label: string): string {
  return `<h3 style="margin:16px 0 8px;font-size:15px;line-height:20px;font-weight:600">${label}</h3>`;
}

/**
 * The first screen's button: the whole width of the card and 48 px tall (a thumb's target), a
 * table cell with a background, which Outlook draws too; the link is the whole area.
 */
export function primaryButton(link: Link): string {
  return [
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin:4px 0 0;border-collapse:separate">',
    `<tr><td align="center" style="border-radius:6px;background:${LINK_BG}">`,
    `<a class="esw-primary" href="${escapeHtml(link.href)}" style="display:block;padding:14px 16px;font-family:${FONT};font-size:16px;line-height:20px;font-weight:700;color:#ffffff;text-decoration:none;text-align:center;${BREAK}">${line(link.label, 80)}</a>`,
    '</td></tr></table>',
  ].join('');
}

/** A smaller button, side by side with others where they fit (snooze, a section's own link). */
export function button(link: Link, background = LINK_BG): string {
  return [
    '<table role="presentation" cellpadding="0" cellspacing="0" style="display:inline-table;margin:8px 8px 0 0;border-collapse:separate">',
    `<tr><td style="border-radius:4px;background:${background}">`,
    `<a href="${escapeHtml(link.href)}" style="display:block;padding:10px 14px;font-family:${FONT};font-size:14px;line-height:20px;font-weight:600;color:#ffffff;text-decoration:none;${BREAK}">${line(link.label, 80)}</a>`,
    '</td></tr></table>',
  ].join('');
}

/** A plain link in text. */
export function textLink(link: Link, label: string): string {
  return `<a class="esw-link" href="${escapeHtml(link.href)}" style="color:${LINK_BG};${BREAK}">${label}</a>`;
}

export function banner(label: string, tone: Tone): string {
  return `<tr><td class="esw-pad" style="background:${TONES[tone].colour};padding:10px 24px;font-family:${FONT};font-size:13px;line-height:18px;font-weight:700;letter-spacing:0.06em;text-transform:uppercase;color:#ffffff">${line(label)}</td></tr>`;
}

/** The card's first heading. */
export function title(html: string): string {
  return `<h1 style="margin:0 0 10px;font-size:20px;line-height:26px;font-weight:600;${BREAK}">${html}</h1>`;
}

/** Small print at the foot of every email: who sent it and the words Gmail filters match (`esw-kind-firing ...`). */
export function footerRow(paragraphs: string[]): string {
  return [
    `<tr><td class="esw-pad esw-rule esw-muted" style="padding:16px 24px 20px;border-top:1px solid ${RULE};font-family:${FONT};font-size:12px;line-height:18px;color:${MUTED}">`,
    ...paragraphs.map((p, i) => `<p style="margin:0 0 ${i === paragraphs.length - 1 ? 0 : 6}px;${BREAK}">${p}</p>`),
    '</td></tr>',
  ].join('\n');
}
