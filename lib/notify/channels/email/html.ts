import { causeSections, memberName, type CauseSection } from '../../causes';
import {
  bannerOf,
  brief,
  statusLine,
  listStatus,
  SEVERITY_LABEL,
  shortWhen,
  type NoticeAcknowledgement,
  type NoticeAction,
  type NoticeSummary,
  type NoticeView,
} from '../../notice';
import type { StillOpenWords } from '../../still-open';
import { escapeHtml } from '../../../util/text';
import {
  banner,
  BREAK,
  button,
  cardRow,
  emailDocument,
  footerRow,
  line,
  LINK_BG,
  MUTED,
  paragraph,
  primaryButton,
  row,
  subheading,
  text,
  textLink,
  title,
  TONES,
  type Tone,
} from './parts';

/**
 * The HTML part of an alert email, laid out for the first screen of a phone (375 × 667 px): how bad
 * (the banner, in words), what broke and where (the heading), what happened, since when and for how
 * long, what Entra does next, and the primary action as a button, all before anything else. Then
 * the sections, one per cause (lib/notify/causes.ts): the runbook once, the facts a person reads,
 * the other links, and last a compact "Details for scripts" block with IDs and Graph requests.
 */

/** What the email says besides its notices: which part of a split, what is still open, the words for filters. */
export interface HtmlExtras {
  part?: string;
  stillOpen?: StillOpenWords;
  preheader: string;
  footer: string[];
}

/** Bounds of the first screen's texts, so a 10 kB display name from Graph never pushes the button below it. */
const LEAD = { heading: 100, what: 200, when: 160, next: 240, change: 240, oneLine: true };

function toneOf(v: NoticeView): Tone {
  if (v.kind === 'resolved') return v.resolvedWell ? 'resolved' : 'ended';
  if (v.kind === 'decided') return 'ended';
  return v.severity;
}

function summaryTone(summary: NoticeSummary): Tone {
  if (summary.resolvedOnly) return summary.allEndedWell ? 'resolved' : 'ended';
  return summary.severity;
}

/** What a decide button leads to, said under it: the decision is made on the monitor's own page (lib/actions/). */
const DECIDE_NOTE =
  'You sign in first; the page shows the job as Graph has it now and asks you to confirm. The link works once.';

/** A notice's actions as buttons: the first full width when it is the primary one, snooze in grey. */
function actionButtons(actions: NoticeAction[], primary: boolean): string {
  const [first, ...rest] = actions;
  if (!first) return '';
  const others = (primary ? rest : actions).map((a) => button(a, a.kind === 'snooze' ? MUTED : LINK_BG)).join('');
  const note = actions.some((a) => a.kind === 'decide')
    ? `<p class="esw-muted" style="margin:6px 0 4px;font-size:13px;line-height:18px;color:${MUTED}">${line(DECIDE_NOTE)}</p>`
    : '';
  return `${primary ? primaryButton(first) : ''}${others ? `<div style="margin:0 0 4px">${others}</div>` : ''}${note}`;
}

/** What a notice says before anything else: what changed, what happened, since when, what Entra does next. */
function essentials(
  v: NoticeView,
  bounds = { what: 1000, when: 400, next: 600, change: 600, oneLine: false },
): string[] {
  const parts: string[] = [];
  if (brief(v)) {
    parts.push(paragraph(text(v.when, bounds.when + 200), 'font-weight:600'));
    return parts;
  }
  // On the first screen every text is one bounded line of words: a line break from Graph takes no room there.
  const words = (value: unknown, max: number) => (bounds.oneLine ? line(value, max) : text(value, max));
  if (v.escalation) parts.push(paragraph(words(v.escalation, bounds.change), 'font-weight:600'));
  if (v.change) parts.push(paragraph(`<b>What changed:</b> ${words(v.change, bounds.change)}`));
  parts.push(paragraph(words(v.view.what, bounds.what)));
  parts.push(row('Since', text(v.when, bounds.when)));
  if (v.view.next) parts.push(row('What happens next', text(v.view.next, bounds.next)));
  return parts;
}

/**
 * Who acknowledged the notice's firing period, and their comment (untrusted: escaped, one line):
 * green while it stands. It comes after a notice's buttons, so it never pushes them off the first screen.
 */
function acknowledgedHtml(ack: NoticeAcknowledgement): string {
  const comment = ack.comment ? `<br>“${line(ack.comment, 200)}”` : '';
  const tone: Tone = ack.standing ? 'resolved' : 'ended';
  return paragraph(
    `<span class="esw-tone-${tone}" style="font-weight:600;color:${TONES[tone].colour}">${line(ack.text, 300)}</span>${comment}`,
  );
}

/** What is still open in the route, for a resolved message. */
function stillOpenHtml(words: StillOpenWords): string {
  const lines = words.lines.length
    ? `<ul style="margin:0 0 12px;padding:0 0 0 20px">${words.lines.map((l) => `<li style="margin:0 0 4px;font-size:14px;line-height:20px;${BREAK}">${line(l, 300)}</li>`).join('')}</ul>`
    : '';
  return `${paragraph(`<b>${line(words.headline, 200)}</b>`)}${lines}`;
}

/** The first screen: the most urgent notice's heading, essentials and buttons; for several, what else the email holds. */
function leadRow(views: NoticeView[], sections: CauseSection[], summary: NoticeSummary, extras: HtmlExtras): string {
  const lead = views[0] as NoticeView;
  const parts = [title(line(lead.heading, LEAD.heading))];
  parts.push(...essentials(lead, LEAD));
  if (extras.stillOpen) parts.push(stillOpenHtml(extras.stillOpen));
  parts.push(actionButtons(lead.actions, true));
  if (lead.acknowledged) parts.push(acknowledgedHtml(lead.acknowledged));
  if (views.length > 1) {
    const mixed = new Set(views.map((v) => v.kind)).size > 1;
    const listed = sections.slice(0, 10);
    const more = sections.length - listed.length;
    parts.push(
      paragraph(
        `<b>In this email: ${views.length} alerts${summary.tenants.length > 1 ? ` in ${summary.tenants.length} tenants` : ''}</b>, by cause:`,
        'margin:16px 0 6px',
      ),
      `<ul style="margin:0;padding:0 0 0 20px">${listed
        .map((s) => {
          const v = s.views[0] as NoticeView;
          const status = listStatus(v, mixed);
          return `<li style="margin:0 0 4px;font-size:14px;line-height:20px;${BREAK}"><span class="esw-tone-${toneOf(v)}" style="font-weight:600;color:${TONES[toneOf(v)].colour}">${line(status)}:</span> ${line(s.title, 160)}</li>`;
        })
        .join('')}${more > 0 ? `<li style="font-size:14px;line-height:20px">And ${more} more causes.</li>` : ''}</ul>`,
    );
  }
  return cardRow(parts.join('\n'), { rule: false, padding: '18px 24px 18px' });
}

/** What to do now: the runbook, or a pointer to the section above that has the same one. */
function runbookHtml(s: CauseSection): string[] {
  const { view } = s.views[0] as NoticeView;
  if (!view.runbook || brief(s.views[0] as NoticeView)) return [];
  if (s.sameStepsAs)
    return [subheading('What to do now'), paragraph(`The same as for ${line(s.sameStepsAs.title, 200)} above.`)];
  const steps = view.runbook.steps.map(
    (st) => `<li style="margin:0 0 6px;font-size:15px;line-height:22px;${BREAK}">${text(st, 1000)}</li>`,
  );
  return [
    subheading('What to do now'),
    paragraph(text(view.runbook.meaning, 1000)),
    `<ol style="margin:0 0 8px;padding:0 0 0 22px">${steps.join('')}</ol>`,
  ];
}

/** "Details for scripts": IDs and Graph requests, small, last. */
function scriptsHtml(pairs: [string, string][], max = 2000): string[] {
  if (!pairs.length) return [];
  return [
    `<h3 class="esw-muted" style="margin:16px 0 6px;font-size:13px;line-height:18px;font-weight:600;color:${MUTED}">Details for scripts</h3>`,
    pairs.map(([label, value]) => row(line(label, 80), text(value, max), { small: true })).join(''),
  ];
}

/** One alert's section in full; the lead's own what and since are on the first screen already. */
function singleSection(s: CauseSection, grouped: boolean, lead: NoticeView): string {
  const v = s.views[0] as NoticeView;
  const parts: string[] = [];
  if (grouped) {
    const status = statusLine(v);
    parts.push(
      `<p class="esw-tone-${toneOf(v)}" style="margin:0 0 6px;font-size:12px;line-height:16px;font-weight:700;letter-spacing:0.05em;text-transform:uppercase;color:${TONES[toneOf(v)].colour}">${line(status)}</p>`,
      `<h2 style="margin:0 0 8px;font-size:18px;line-height:24px;font-weight:600;${BREAK}">${line(v.heading, 200)}</h2>`,
    );
    if (v !== lead) {
      parts.push(...essentials(v), actionButtons(v.actions, false));
      if (v.acknowledged) parts.push(acknowledgedHtml(v.acknowledged));
    }
  }
  parts.push(...runbookHtml(s));
  // A resolved notice is told in brief: what it was (the first facts) and its ID; the runbook, the other
  // links and the Graph requests were for while it was open.
  const ended = brief(v);
  const facts = ended ? v.view.facts.slice(0, 2) : v.view.facts;
  if (facts.length) {
    parts.push(subheading('Details'));
    parts.push(facts.map(([label, value]) => row(line(label, 120), text(value, 1000))).join('\n'));
  }
  if (v.moreLinks.length && !ended)
    parts.push(
      subheading('More links'),
      `<ul style="margin:0;padding:0 0 0 20px">${v.moreLinks.map((l) => `<li style="margin:0 0 4px;font-size:14px;line-height:20px">${textLink(l, line(l.label, 120))}</li>`).join('')}</ul>`,
    );
  parts.push(...scriptsHtml([...(ended ? [] : (v.view.scripts ?? [])), ['Alert ID', v.alert.fingerprint]]));
  return cardRow(parts.join('\n'));
}

/** A compact list: its lines share one style, so a hundred of them stay small. */
function compactList(items: string[]): string {
  return `<ul style="margin:0;padding:0 0 0 20px;font-size:14px;line-height:20px;${BREAK}">${items.map((i) => `<li style="margin:0 0 6px">${i}</li>`).join('')}</ul>`;
}

/** One configuration of a cause, in a list: its name (linked to its page) and since when. */
/**
 * How much a list line holds: a linked name of up to 80 characters, or (when a mass incident with
 * long names would pass the budget otherwise) a name of up to 40 without its link.
 */
interface Compactness {
  links: boolean;
  name: number;
}
const ROOMY: Compactness = { links: true, name: 80 };
const TIGHT: Compactness = { links: false, name: 40 };

function memberItem(v: NoticeView, withTenant = true, room = ROOMY): string {
  const [open] = v.actions;
  const name = line(memberName(v, withTenant), room.name);
  const linked =
    room.links && open?.kind === 'open'
      ? `<a href="${escapeHtml(open.href)}" style="color:${LINK_BG}">${name}</a>`
      : name;
  return `${linked} <span class="esw-muted" style="color:${MUTED}">· ${line(shortWhen(v))}</span>`;
}

/** Several alerts of one cause: what it means and what to do, once, then the configurations it hits. */
function causeSection(s: CauseSection, room = ROOMY): string {
  const v = s.views[0] as NoticeView;
  const status = statusLine(v, false);
  const parts = [
    `<p class="esw-tone-${toneOf(v)}" style="margin:0 0 6px;font-size:12px;line-height:16px;font-weight:700;letter-spacing:0.05em;text-transform:uppercase;color:${TONES[toneOf(v)].colour}">${line(status)}</p>`,
    `<h2 style="margin:0 0 8px;font-size:18px;line-height:24px;font-weight:600;${BREAK}">${line(s.title, 200)}</h2>`,
    ...runbookHtml(s),
    subheading(`${s.views.length} configurations`),
    compactList(s.views.map((m) => memberItem(m, s.tenants > 1, room))),
    // Alert IDs are the monitor's own (hex): every one of them is listed, however many.
    ...scriptsHtml(
      [['Alert IDs, in the order listed', s.views.map((m) => m.alert.fingerprint).join(' ')]],
      40 * s.views.length,
    ),
  ];
  return cardRow(parts.join('\n'));
}

/**
 * The most bytes of HTML one email may take with every section in full. Gmail shows only the first
 * 102 KB of a message's HTML and hides the rest behind "[Message clipped] View entire message";
 * past this budget, the email shows its later sections in brief, one line per alert, so nothing is
 * clipped and nothing is lost.
 */
export const EMAIL_HTML_BUDGET_BYTES = 90_000;

/** Alerts in brief: one line each, how bad in words, linked name, since when. */
function briefItems(views: NoticeView[], room = ROOMY): string {
  return views
    .map(
      (v) =>
        `<li style="margin:0 0 6px"><b class="esw-tone-${toneOf(v)}" style="color:${TONES[toneOf(v)].colour}">${line(brief(v) ? v.status : SEVERITY_LABEL[v.severity])}:</b> ${memberItem(v, true, room)}</li>`,
    )
    .join('');
}

/** The sections that did not fit in full, as one section of brief lines. */
function briefSection(sections: CauseSection[], room = ROOMY): string {
  const views = sections.flatMap((s) => s.views);
  if (!views.length) return '';
  const intro = `${views.length === 1 ? 'One more alert is' : `${views.length} more alerts are`} shown in brief, so that mail clients do not cut this email off (Gmail hides what comes after 102 KB). Each alert's own reminders and notices have the details.`;
  return cardRow(
    `${subheading('More alerts')}\n${paragraph(line(intro, 400), `font-size:14px;line-height:20px;color:${MUTED}`)}\n<ul style="margin:0;padding:0 0 0 20px;font-size:14px;line-height:20px;${BREAK}">${briefItems(views, room)}</ul>\n${scriptsHtml([['Alert IDs, in the order listed', views.map((v) => v.alert.fingerprint).join(' ')]], 40 * views.length).join('\n')}`,
  );
}

/**
 * How many sections (in order) an email shows in full: as many as keep the whole email within
 * `budget` with the rest in brief, and always the first.
 */
export function fullCount(fixedBytes: number, sections: { full: string; brief: string }[], budget: number): number {
  const size = (part: string) => Buffer.byteLength(part) + 1;
  let bytes = fixedBytes + sections.reduce((n, s) => n + size(s.brief), 0);
  let count = 0;
  for (const { full, brief } of sections) {
    const next = bytes + size(full) - size(brief);
    if (count > 0 && next > budget) break;
    bytes = next;
    count += 1;
  }
  return count;
}

/** The whole HTML document of an email about `views` (most urgent first). */
export function emailHtml(views: NoticeView[], summary: NoticeSummary, subject: string, extras: HtmlExtras): string {
  const grouped = views.length > 1;
  const lead = views[0] as NoticeView;
  const tone = grouped ? summaryTone(summary) : toneOf(lead);
  const sections = causeSections(views);
  const document = (rows: string[]) =>
    emailDocument(subject, extras.preheader, [
      banner(bannerOf(views, summary), tone),
      extras.part
        ? cardRow(`<b>${line(extras.part, 300)}</b>`, { rule: false, padding: '12px 24px 0' }).replace(
            'font-family',
            'font-size:14px;line-height:20px;font-family',
          )
        : '',
      leadRow(views, sections, summary, extras),
      ...rows,
      footerRow(extras.footer),
    ]);
  // Sections in full while they fit, the rest in brief; when even that would pass the budget (a
  // mass incident of long names), the lists name the configurations shorter and without links.
  const fit = (fullRoom: Compactness, briefRoom: Compactness): string => {
    const rendered = sections.map((s) => ({
      full: s.views.length === 1 ? singleSection(s, grouped, lead) : causeSection(s, fullRoom),
      // What the section costs in brief: its lines, and its IDs in the brief section's list of them.
      brief: briefItems(s.views, briefRoom) + s.views.map((v) => `${v.alert.fingerprint} `).join(''),
    }));
    // The document without sections, and the brief section's own frame, as a fixed cost.
    const frame = rendered[0]
      ? Buffer.byteLength(briefSection(sections.slice(0, 1), briefRoom)) - Buffer.byteLength(rendered[0].brief)
      : 0;
    const shown = fullCount(Buffer.byteLength(document([])) + frame, rendered, EMAIL_HTML_BUDGET_BYTES);
    return document([...rendered.slice(0, shown).map((r) => r.full), briefSection(sections.slice(shown), briefRoom)]);
  };
  const within = (html: string) => Buffer.byteLength(html) <= EMAIL_HTML_BUDGET_BYTES;
  const roomy = fit(ROOMY, ROOMY);
  if (within(roomy)) return roomy;
  const tightBrief = fit(ROOMY, TIGHT);
  return within(tightBrief) ? tightBrief : fit(TIGHT, TIGHT);
}
