import { bannerOf, brief, repeatedRunbooks, type NoticeSummary, type NoticeView } from '../../notice';
import { displayLine, displayText } from '../../../util/safe-text';

/**
 * The plain-text part: the same words as the HTML part, in the same order, for clients and people
 * who read text (and for mail filters and screen readers that prefer it). Links are written out.
 */

const RULER = '-'.repeat(60);

function indented(value: string, prefix = '   '): string {
  return value.split('\n').join(`\n${prefix}`);
}

function sectionText(v: NoticeView, withHeading: boolean, sameStepsAs?: NoticeView): string[] {
  const { view } = v;
  const lines: string[] = [];
  if (withHeading) lines.push(`${v.status.toUpperCase()}: ${displayLine(v.heading, 200)}`, '');
  const acknowledged = v.acknowledged
    ? [
        displayText(v.acknowledged.text, 600),
        ...(v.acknowledged.comment ? [`  "${displayLine(v.acknowledged.comment, 300)}"`] : []),
        '',
      ]
    : [];
  if (brief(v)) {
    lines.push(displayText(v.when, 600));
    if (acknowledged.length) lines.push('', ...acknowledged.slice(0, -1));
  } else {
    if (v.escalation) lines.push(displayText(v.escalation, 600), '');
    if (v.change) lines.push(`What changed: ${displayText(v.change, 600)}`, '');
    lines.push(...acknowledged);
    lines.push(displayText(view.what, 1000), '', `Since: ${displayText(v.when, 400)}`);
    if (view.next) lines.push(`What happens next: ${displayText(view.next, 600)}`);
    if (view.runbook && sameStepsAs) {
      lines.push('', `What to do now: the same as for ${displayLine(sameStepsAs.heading, 200)} above.`);
    } else if (view.runbook) {
      lines.push('', 'What to do now:', displayText(view.runbook.meaning, 1000));
      view.runbook.steps.forEach((step, i) => lines.push(`${i + 1}. ${indented(displayText(step, 1000))}`));
    }
    if (v.decide && /^https:\/\//i.test(v.decide.href))
      lines.push(
        '',
        `${displayLine(v.decide.label, 120)} (you sign in first; the page asks you to confirm; the link works once):`,
        `  ${v.decide.href}`,
      );
  }
  const facts = brief(v) ? view.facts.slice(0, 3) : view.facts;
  if (facts.length) {
    lines.push('', 'Details:');
    for (const [label, value] of facts)
      lines.push(`- ${displayLine(label, 120)}: ${indented(displayText(value, 1000), '  ')}`);
  }
  const links = view.links.filter((l) => /^https:\/\//i.test(l.href));
  if (links.length) {
    lines.push('', 'Links:');
    for (const link of links) lines.push(`- ${displayLine(link.label, 120)}:`, `  ${link.href}`);
  }
  const acknowledge = v.actions.filter((a) => a.kind === 'acknowledge' && /^https:\/\//i.test(a.href));
  for (const link of acknowledge) lines.push('', 'Acknowledge (the page asks you to confirm):', `  ${link.href}`);
  const snooze = v.snooze.filter((l) => /^https:\/\//i.test(l.href));
  if (snooze.length) {
    lines.push('', 'Snooze (the page asks you to confirm):');
    for (const link of snooze) lines.push(`- ${displayLine(link.label, 120)}:`, `  ${link.href}`);
  }
  return lines;
}

/** The plain-text body of an email about `views`. */
export function emailText(views: NoticeView[], summary: NoticeSummary, part?: string): string {
  const single = views.length === 1 ? views[0] : undefined;
  const lines: string[] = [];
  lines.push(bannerOf(views, summary).toUpperCase(), '');
  if (part) lines.push(displayLine(part, 300), '');
  if (single) {
    lines.push(displayLine(single.heading, 300), '', ...sectionText(single, false));
  } else {
    lines.push(displayLine(summary.counts, 300), '');
    for (const v of views) lines.push(`- ${v.status}: ${displayLine(v.heading, 200)}`);
    const repeats = repeatedRunbooks(views);
    for (const v of views) lines.push('', RULER, '', ...sectionText(v, true, repeats.get(v)));
  }
  const ids = [...new Set(views.map((v) => v.alert.fingerprint))].join(', ');
  const mute = views.some((v) => v.snooze.length > 0)
    ? 'To mute an alert for a while, use its Snooze links (each asks you to confirm first), or add a silence that matches it to the config file (WATCH_CONFIG, silences).'
    : 'To mute an alert for a while, add a silence that matches it to the config file (WATCH_CONFIG, silences).';
  lines.push(
    '',
    RULER,
    `Sent by Entra Sync Watch. ${mute}`,
    `${views.length === 1 ? 'Alert ID' : 'Alert IDs'}: ${displayLine(ids, 2000)}`,
  );
  return `${lines.join('\n')}\n`;
}
