import { causeSections, memberName, type CauseSection } from '../../causes';
import {
  bannerOf,
  brief,
  statusLine,
  listStatus,
  shortWhen,
  type NoticeAction,
  type NoticeSummary,
  type NoticeView,
} from '../../notice';
import type { StillOpenWords } from '../../still-open';
import { displayLine, displayText } from '../../../util/safe-text';
import { fullCount } from './html';

/**
 * The plain-text part: the same words as the HTML part, in the same order (the first screen's
 * essentials and actions first, then one section per cause, the details for scripts last), for
 * clients and people who read text, and for mail filters and screen readers that prefer it. Links
 * are written out.
 */

export interface TextExtras {
  part?: string;
  stillOpen?: StillOpenWords;
  footer: string[];
}

const RULER = '-'.repeat(60);

/**
 * The most bytes of plain text one email may take with every section in full; past it, the later
 * sections are named in brief (one line per alert), as in the HTML part.
 */
export const EMAIL_TEXT_BUDGET_BYTES = 90_000;

function indented(value: string, prefix = '   '): string {
  return value.split('\n').join(`\n${prefix}`);
}

function actionLines(actions: NoticeAction[]): string[] {
  return actions.flatMap((a) => [
    a.kind === 'decide'
      ? `${displayLine(a.label, 120)} (you sign in first; the page asks you to confirm; the link works once):`
      : a.kind === 'acknowledge' || a.kind === 'snooze'
        ? `${displayLine(a.label, 120)} (the page asks you to confirm):`
        : `${displayLine(a.label, 120)}:`,
    `  ${a.href}`,
  ]);
}

/** Who acknowledged the notice's firing period, and their comment (one line, from whoever wrote it). */
function acknowledgedLines(v: NoticeView): string[] {
  if (!v.acknowledged) return [];
  const { text, comment } = v.acknowledged;
  return [displayText(text, 600), ...(comment ? [`  "${displayLine(comment, 300)}"`] : [])];
}

const withGap = (lines: string[]): string[] => (lines.length ? ['', ...lines] : []);

function essentials(v: NoticeView): string[] {
  if (brief(v)) return [displayText(v.when, 600)];
  const lines: string[] = [];
  if (v.escalation) lines.push(displayText(v.escalation, 600), '');
  if (v.change) lines.push(`What changed: ${displayText(v.change, 600)}`, '');
  lines.push(displayText(v.view.what, 1000), '', `Since: ${displayText(v.when, 400)}`);
  if (v.view.next) lines.push(`What happens next: ${displayText(v.view.next, 600)}`);
  return lines;
}

function runbookLines(s: CauseSection): string[] {
  const { view, kind } = s.views[0] as NoticeView;
  if (!view.runbook || brief({ kind })) return [];
  if (s.sameStepsAs) return ['', `What to do now: the same as for ${displayLine(s.sameStepsAs.title, 200)} above.`];
  return [
    '',
    'What to do now:',
    displayText(view.runbook.meaning, 1000),
    ...view.runbook.steps.map((step, i) => `${i + 1}. ${indented(displayText(step, 1000))}`),
  ];
}

function scriptLines(pairs: [string, string][], max = 2000): string[] {
  if (!pairs.length) return [];
  return [
    '',
    'Details for scripts:',
    ...pairs.map(([label, value]) => `- ${displayLine(label, 80)}: ${indented(displayText(value, max), '  ')}`),
  ];
}

function singleSection(s: CauseSection, grouped: boolean, lead: NoticeView): string[] {
  const v = s.views[0] as NoticeView;
  const lines: string[] = [];
  if (grouped) {
    const status = statusLine(v);
    lines.push(`${status.toUpperCase()}: ${displayLine(v.heading, 200)}`);
    if (v !== lead)
      lines.push(
        '',
        ...essentials(v),
        ...(v.actions.length ? ['', ...actionLines(v.actions)] : []),
        ...withGap(acknowledgedLines(v)),
      );
  }
  lines.push(...runbookLines(s));
  // A resolved notice is told in brief: what it was (the first facts) and its ID; the runbook, the other
  // links and the Graph requests were for while it was open.
  const ended = brief(v);
  const facts = ended ? v.view.facts.slice(0, 2) : v.view.facts;
  if (facts.length) {
    lines.push('', 'Details:');
    for (const [label, value] of facts)
      lines.push(`- ${displayLine(label, 120)}: ${indented(displayText(value, 1000), '  ')}`);
  }
  if (v.moreLinks.length && !ended) {
    lines.push('', 'More links:');
    for (const link of v.moreLinks) lines.push(`- ${displayLine(link.label, 120)}:`, `  ${link.href}`);
  }
  lines.push(...scriptLines([...(ended ? [] : (v.view.scripts ?? [])), ['Alert ID', v.alert.fingerprint]]));
  return lines;
}

/** Whether list lines write out each configuration's link (and name it in full), or, past the budget, not. */
type Room = 'roomy' | 'tight';

function memberLine(v: NoticeView, withTenant = true, room: Room = 'roomy'): string {
  const [open] = v.actions;
  const link = room === 'roomy' && open?.kind === 'open' ? `: ${open.href}` : '';
  return `- ${displayLine(memberName(v, withTenant), room === 'roomy' ? 160 : 40)}, ${shortWhen(v)}${link}`;
}

function causeSection(s: CauseSection, room: Room = 'roomy'): string[] {
  const v = s.views[0] as NoticeView;
  const status = statusLine(v, false);
  return [
    `${status.toUpperCase()}: ${displayLine(s.title, 200)}`,
    ...runbookLines(s),
    '',
    `${s.views.length} configurations:`,
    ...s.views.map((m) => memberLine(m, s.tenants > 1, room)),
    ...scriptLines(
      [['Alert IDs, in the order listed', s.views.map((m) => m.alert.fingerprint).join(' ')]],
      40 * s.views.length,
    ),
  ];
}

function briefLines(views: NoticeView[], room: Room = 'roomy'): string[] {
  return views.map((v) => `${brief(v) ? v.status : v.urgency}: ${memberLine(v, true, room).slice(2)}`);
}

/** The plain-text body of an email about `views` (most urgent first). */
export function emailText(views: NoticeView[], summary: NoticeSummary, extras: TextExtras): string {
  const grouped = views.length > 1;
  const lead = views[0] as NoticeView;
  const sections = causeSections(views);
  const head: string[] = [bannerOf(views, summary).toUpperCase(), ''];
  if (extras.part) head.push(displayLine(extras.part, 300), '');
  head.push(displayLine(lead.heading, 300), '', ...essentials(lead));
  if (extras.stillOpen)
    head.push(
      '',
      displayLine(extras.stillOpen.headline, 200),
      ...extras.stillOpen.lines.map((l) => `- ${displayLine(l, 300)}`),
    );
  if (lead.actions.length) head.push('', ...actionLines(lead.actions));
  // Who acknowledged comes after the buttons, as in the HTML part, where it must not push them off the first screen.
  head.push(...withGap(acknowledgedLines(lead)));
  if (grouped) {
    head.push(
      '',
      `In this email: ${views.length} alerts${summary.tenants.length > 1 ? ` in ${summary.tenants.length} tenants` : ''}, by cause:`,
    );
    const mixed = new Set(views.map((v) => v.kind)).size > 1;
    for (const s of sections.slice(0, 10))
      head.push(`- ${listStatus(s.views[0] as NoticeView, mixed)}: ${displayLine(s.title, 160)}`);
    if (sections.length > 10) head.push(`- And ${sections.length - 10} more causes.`);
  }
  const foot = ['', RULER, ...extras.footer];
  const join = (lines: string[]) => `${lines.join('\n')}\n`;
  const trimmed = (lines: string[]) => lines.slice(lines.findIndex((l) => l !== ''));
  const briefHead = ['', RULER, '', "More alerts, in brief (each alert's own notices have the details):"];
  // As in the HTML part: sections in full while they fit, then in brief, then without links.
  const fit = (fullRoom: Room, briefRoom: Room): string => {
    const rendered = sections.map((s) => ({
      full: join([
        '',
        RULER,
        '',
        ...trimmed(s.views.length === 1 ? singleSection(s, grouped, lead) : causeSection(s, fullRoom)),
      ]),
      // What the section costs in brief: its lines, and its IDs in the brief list's line of them.
      brief: join(briefLines(s.views, briefRoom)) + s.views.map((v) => `${v.alert.fingerprint} `).join(''),
    }));
    const idsLabel = join(scriptLines([['Alert IDs, in the order listed', '']]));
    const shown = fullCount(
      Buffer.byteLength(join([...head, ...briefHead, ...foot])) + Buffer.byteLength(idsLabel),
      rendered,
      EMAIL_TEXT_BUDGET_BYTES,
    );
    const rest = sections.slice(shown).flatMap((s) => s.views);
    return (
      join(head) +
      rendered
        .slice(0, shown)
        .map((r) => r.full)
        .join('') +
      (rest.length
        ? join([
            ...briefHead,
            ...briefLines(rest, briefRoom),
            ...scriptLines(
              [['Alert IDs, in the order listed', rest.map((v) => v.alert.fingerprint).join(' ')]],
              40 * rest.length,
            ),
          ])
        : '') +
      join(foot)
    );
  };
  const within = (text: string) => Buffer.byteLength(text) <= EMAIL_TEXT_BUDGET_BYTES;
  const roomy = fit('roomy', 'roomy');
  if (within(roomy)) return roomy;
  const tightBrief = fit('roomy', 'tight');
  return within(tightBrief) ? tightBrief : fit('tight', 'tight');
}
