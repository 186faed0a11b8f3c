import type { Link } from '../../../model';
import { escapeHtml } from '../../../util/text';
import {
  bannerOf,
  brief,
  repeatedRunbooks,
  SEVERITY_LABEL,
  type NoticeAcknowledgement,
  type NoticeSummary,
  type NoticeView,
} from '../../notice';
import { displayLine, displayText } from '../../../util/safe-text';

/**
 * The HTML part of an alert email, written for mail clients rather than browsers: tables for
 * layout (Outlook's Word engine ignores most CSS), every style inline (Gmail drops many `<style>`
 * rules), at most 600 px wide (Outlook through a conditional table, everyone else through
 * max-width), and label/value rows that sit side by side on a desktop and stack on a phone without
 * media queries (inline-blocks with a max-width). A `<style>` block only adds what degrades
 * gracefully: narrower padding on phones and colours for clients in dark mode.
 * Every text goes through displayText/displayLine (safe-text.ts) and then escapeHtml.
 */

export const FONT = "'Segoe UI',-apple-system,BlinkMacSystemFont,Roboto,'Helvetica Neue',Arial,sans-serif";
export const INK = '#201f1e';
export const MUTED = '#605e5c';
export const RULE = '#e1dfdd';
export const PAGE = '#f3f2f1';
const LINK_BG = '#0f6cbd';
/** Banner and status colours; each keeps at least 4.5:1 contrast with white text. */
const TONES = {
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
const text = (value: unknown, max = 2000): string => escapeHtml(displayText(value, max)).replace(/\n/g, '<br>');

function toneOf(v: NoticeView): Tone {
  if (v.kind === 'resolved') return v.resolvedWell ? 'resolved' : 'ended';
  if (v.kind === 'decided') return 'ended';
  return v.severity;
}

function summaryTone(summary: NoticeSummary): Tone {
  if (summary.resolvedOnly) return summary.allEndedWell ? 'resolved' : 'ended';
  return summary.severity;
}

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
${(Object.keys(TONES) as Tone[]).map((t) => `  .esw-tone-${t} { color: ${TONES[t].dark} !important; }`).join('\n')}
}
</style>`;

export function head(title: string): string {
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
 * A label and its value: side by side in 600 px, the value under its label on a phone (two
 * inline-blocks that fit side by side only when there is room; no media query needed). Outlook for
 * Windows ignores max-width and stacks them too, which reads as well.
 */
function row(label: string, valueHtml: string): string {
  return (
    '<div style="margin:0 0 8px">' +
    `<div class="esw-muted" style="display:inline-block;box-sizing:border-box;width:100%;max-width:${LABEL_WIDTH}px;vertical-align:top;padding:0 12px 2px 0;font-size:13px;line-height:20px;font-weight:600;color:${MUTED}">${label}</div>` +
    `<div style="display:inline-block;width:100%;max-width:${VALUE_WIDTH}px;vertical-align:top;font-size:14px;line-height:20px;${BREAK}">${valueHtml}</div>` +
    '</div>'
  );
}

function paragraph(html: string, style = ''): string {
  return `<p style="margin:0 0 12px;font-size:15px;line-height:22px;${BREAK}${style}">${html}</p>`;
}

export function subheading(label: string): string {
  return `<h3 style="margin:16px 0 8px;font-size:15px;line-height:20px;font-weight:600">${label}</h3>`;
}

/** A link as a button: a table cell with a background, which Outlook draws too. One per line, easy to tap. */
function button(link: Link, background = LINK_BG): string {
  return [
    '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:8px 0 0;border-collapse:separate">',
    `<tr><td style="border-radius:4px;background:${background}">`,
    `<a href="${escapeHtml(link.href)}" style="display:block;padding:10px 16px;font-family:${FONT};font-size:14px;line-height:20px;font-weight:600;color:#ffffff;text-decoration:none;word-break:break-word;overflow-wrap:anywhere">${line(link.label, 120)}</a>`,
    '</td></tr></table>',
  ].join('');
}

/** Only https links reach a button, whatever a rule returned. */
function safeLinks(links: Link[]): Link[] {
  return links.filter((l) => {
    try {
      return new URL(l.href).protocol === 'https:';
    } catch {
      return false;
    }
  });
}

function section(v: NoticeView, withHeading: boolean, sameStepsAs?: NoticeView): string {
  const tone = toneOf(v);
  const { view } = v;
  const parts: string[] = [];
  const status = brief(v) ? v.status : `${v.status} · ${SEVERITY_LABEL[v.severity]}`;
  // A single alert's banner and title say this already; in a grouped email each section says it for itself.
  if (withHeading) {
    parts.push(
      `<p class="esw-tone-${tone}" style="margin:0 0 6px;font-size:12px;line-height:16px;font-weight:700;letter-spacing:0.05em;text-transform:uppercase;color:${TONES[tone].colour}">${line(status)}</p>`,
    );
    parts.push(
      `<h2 style="margin:0 0 8px;font-size:18px;line-height:24px;font-weight:600;${BREAK}">${line(v.heading, 200)}</h2>`,
    );
  }
  if (brief(v)) {
    parts.push(paragraph(text(v.when, 600), 'font-weight:600'));
    if (v.acknowledged) parts.push(acknowledgedHtml(v));
  } else {
    if (v.escalation) parts.push(paragraph(text(v.escalation, 600), 'font-weight:600'));
    if (v.change) parts.push(row('What changed', text(v.change, 600)));
    if (v.acknowledged) parts.push(acknowledgedHtml(v));
    parts.push(paragraph(text(view.what, 1000)));
    parts.push(row('Since', text(v.when, 400)));
    if (view.next) parts.push(row('What happens next', text(view.next, 600)));
    if (view.runbook && sameStepsAs) {
      parts.push(subheading('What to do now'));
      parts.push(paragraph(`The same as for ${line(sameStepsAs.heading, 200)} above.`));
    } else if (view.runbook) {
      parts.push(subheading('What to do now'));
      parts.push(paragraph(text(view.runbook.meaning, 1000)));
      const steps = view.runbook.steps.map(
        (s) => `<li style="margin:0 0 6px;font-size:15px;line-height:22px;${BREAK}">${text(s, 1000)}</li>`,
      );
      parts.push(`<ol style="margin:0 0 8px;padding:0 0 0 22px">${steps.join('')}</ol>`);
    }
    // The decision itself, signed in and confirmed on the monitor's own page (lib/actions/).
    const decide = safeLinks(v.decide ? [v.decide] : []);
    if (decide.length) {
      parts.push(decide.map((link) => button(link)).join(''));
      parts.push(
        paragraph(
          'You sign in first; the page shows the job as Graph has it now and asks you to confirm. The link works once.',
          `margin:6px 0 12px;font-size:13px;line-height:18px;color:${MUTED}`,
        ),
      );
    }
  }
  const facts = brief(v) ? view.facts.slice(0, 3) : view.facts;
  if (facts.length) {
    parts.push(subheading('Details'));
    parts.push(facts.map(([label, value]) => row(line(label, 120), text(value, 1000))).join('\n'));
  }
  // The rule's links, then Acknowledge (a page that asks to confirm; lib/acknowledge/), as the notice's actions order them.
  const links = safeLinks([...view.links, ...v.actions.filter((a) => a.kind === 'acknowledge')]);
  if (links.length) parts.push(`<div style="margin:12px 0 0">${links.map((link) => button(link)).join('')}</div>`);
  // Snooze buttons side by side, in grey: they open a page that asks to confirm (lib/snooze/).
  const snooze = safeLinks(v.snooze);
  if (snooze.length) {
    parts.push(
      `<table role="presentation" cellpadding="0" cellspacing="0" style="margin:12px 0 0"><tr>${snooze.map((link) => `<td style="padding:0 8px 0 0;vertical-align:top">${button(link, MUTED)}</td>`).join('')}</tr></table>`,
    );
  }
  return `<tr><td class="esw-pad esw-rule esw-ink" style="padding:18px 24px 22px;border-top:1px solid ${RULE};font-family:${FONT};color:${INK}">\n${parts.join('\n')}\n</td></tr>`;
}

/** Who acknowledged the notice's firing period, and their comment: green while it stands. */
function acknowledgedHtml(v: NoticeView): string {
  const ack = v.acknowledged as NoticeAcknowledgement;
  const comment = ack.comment ? `<br>“${text(ack.comment, 300)}”` : '';
  const tone: Tone = ack.standing ? 'resolved' : 'ended';
  return paragraph(
    `<span class="esw-tone-${tone}" style="font-weight:600;color:${TONES[tone].colour}">${text(ack.text, 600)}</span>${comment}`,
  );
}

export function banner(label: string, tone: Tone): string {
  return `<tr><td class="esw-pad" style="background:${TONES[tone].colour};padding:10px 24px;font-family:${FONT};font-size:13px;line-height:18px;font-weight:700;letter-spacing:0.06em;text-transform:uppercase;color:#ffffff">${line(label)}</td></tr>`;
}

function footer(views: NoticeView[]): string {
  const ids = [...new Set(views.map((v) => v.alert.fingerprint))].map((id) => line(id, 64)).join(', ');
  const mute = views.some((v) => v.snooze.length > 0)
    ? 'To mute an alert for a while, use its Snooze buttons (each asks you to confirm first), or add a silence that matches it to the config file (<code>WATCH_CONFIG</code>, <code>silences</code>).'
    : 'To mute an alert for a while, add a silence that matches it to the config file (<code>WATCH_CONFIG</code>, <code>silences</code>).';
  return [
    `<tr><td class="esw-pad esw-rule esw-muted" style="padding:16px 24px 20px;border-top:1px solid ${RULE};font-family:${FONT};font-size:12px;line-height:18px;color:${MUTED}">`,
    `<p style="margin:0 0 6px">Sent by Entra Sync Watch. ${mute}</p>`,
    `<p style="margin:0;word-break:break-all">${views.length === 1 ? 'Alert ID' : 'Alert IDs'}: ${ids}</p>`,
    '</td></tr>',
  ].join('\n');
}

/**
 * The most bytes of HTML one email may take with every alert in full. Gmail shows only the first
 * 102 KB of a message's HTML and hides the rest behind "[Message clipped] View entire message"
 * (the footer and the last alerts with it); past this budget, the email shows its later alerts in
 * brief, one line each, so that the whole email stays readable in one screen of scrolling.
 */
export const EMAIL_HTML_BUDGET_BYTES = 90_000;

/** An alert of a long email in brief: its status, heading, since when and its first link. */
function briefItem(v: NoticeView): string {
  const tone = toneOf(v);
  const link = safeLinks(v.view.links)[0];
  const heading = link
    ? `<a href="${escapeHtml(link.href)}" style="color:${LINK_BG};${BREAK}">${line(v.heading, 200)}</a>`
    : line(v.heading, 200);
  const when = brief(v) ? line(v.when, 200) : `Since ${line(v.when, 200)}`;
  return (
    `<li style="margin:0 0 10px;font-size:14px;line-height:20px;${BREAK}">` +
    `<span class="esw-tone-${tone}" style="font-weight:600;color:${TONES[tone].colour}">${line(v.status)}</span> ${heading}<br>` +
    `<span class="esw-muted" style="color:${MUTED}">${when}</span></li>`
  );
}

/** The alerts that did not fit in full, as one section of brief lines. */
function briefSection(views: NoticeView[]): string {
  if (!views.length) return '';
  const intro = `${views.length === 1 ? 'One more alert is' : `${views.length} more alerts are`} shown in brief, so that mail clients do not cut this email off (Gmail hides what comes after 102 KB). The plain-text version of this email has every detail; each alert's own reminders and notices have them too.`;
  return `<tr><td class="esw-pad esw-rule esw-ink" style="padding:18px 24px 14px;border-top:1px solid ${RULE};font-family:${FONT};color:${INK}">\n${subheading('More alerts')}\n${paragraph(intro, `font-size:14px;line-height:20px;color:${MUTED}`)}\n<ul style="margin:0;padding:0 0 0 20px">${views.map(briefItem).join('')}</ul>\n</td></tr>`;
}

/**
 * How many of `views` (in order) an email shows in full: as many as keep the whole email within
 * EMAIL_HTML_BUDGET_BYTES with the rest in brief, and always the first.
 */
function fullCount(fixedBytes: number, sections: { full: string; brief: string }[]): number {
  const size = (part: string) => Buffer.byteLength(part) + 1;
  let bytes = fixedBytes + sections.reduce((n, s) => n + size(s.brief), 0);
  let count = 0;
  for (const { full, brief } of sections) {
    const next = bytes + size(full) - size(brief);
    if (count > 0 && next > EMAIL_HTML_BUDGET_BYTES) break;
    bytes = next;
    count += 1;
  }
  return count;
}

/** The whole HTML document of an email about `views`. */
export function emailHtml(views: NoticeView[], summary: NoticeSummary, subject: string, part?: string): string {
  const single = views.length === 1 ? views[0] : undefined;
  const tone = single ? toneOf(single) : summaryTone(summary);
  const title = single ? single.heading : summary.counts;
  const repeats = repeatedRunbooks(views);
  const preview = single
    ? brief(single)
      ? single.when
      : (single.change ?? single.view.what)
    : views.map((v) => `${v.status}: ${v.heading}`).join(' · ');
  const overview = single
    ? ''
    : `<tr><td class="esw-pad esw-ink" style="padding:0 24px 12px;font-family:${FONT};color:${INK}"><ul style="margin:0;padding:0 0 0 20px">${views
        .map(
          (v) =>
            `<li style="margin:0 0 4px;font-size:15px;line-height:22px;${BREAK}"><span class="esw-tone-${toneOf(v)}" style="font-weight:600;color:${TONES[toneOf(v)].colour}">${line(v.status)}</span> ${line(v.heading, 200)}</li>`,
        )
        .join('')}</ul></td></tr>`;
  const document = (sections: string[]) =>
    [
      head(subject),
      `<body class="esw-page" style="margin:0;padding:0;background:${PAGE};-webkit-text-size-adjust:100%;text-size-adjust:100%">`,
      `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;font-size:1px;line-height:1px;color:${PAGE};opacity:0">${line(preview, 200)}</div>`,
      `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" class="esw-page" style="background:${PAGE}"><tr><td class="esw-outer" align="center" style="padding:16px 8px">`,
      '<!--[if mso]><table role="presentation" width="600" cellpadding="0" cellspacing="0" align="center"><tr><td><![endif]-->',
      '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" class="esw-card" style="max-width:600px;background:#ffffff">',
      banner(bannerOf(views, summary), tone),
      part
        ? `<tr><td class="esw-pad esw-ink" style="padding:12px 24px 0;font-family:${FONT};color:${INK};font-size:14px;line-height:20px"><b>${line(part, 300)}</b></td></tr>`
        : '',
      `<tr><td class="esw-pad esw-ink" style="padding:18px 24px 12px;font-family:${FONT};color:${INK}"><h1 style="margin:0;font-size:21px;line-height:28px;font-weight:600;${BREAK}">${line(title, 300)}</h1></td></tr>`,
      overview,
      ...sections,
      footer(views),
      '</table>',
      '<!--[if mso]></td></tr></table><![endif]-->',
      '</td></tr></table>',
      '</body>',
      '</html>',
    ]
      .filter((p) => p !== '')
      .join('\n');
  const sections = views.map((v) => ({ full: section(v, !single, repeats.get(v)), brief: briefItem(v) }));
  // The document without sections, and the brief section's own frame (without its one line), as a fixed cost.
  const frame =
    Buffer.byteLength(briefSection(views.slice(0, 1))) - Buffer.byteLength(briefItem(views[0] as NoticeView));
  const shown = fullCount(Buffer.byteLength(document([])) + frame, sections);
  return document([...sections.slice(0, shown).map((s) => s.full), briefSection(views.slice(shown))]);
}
