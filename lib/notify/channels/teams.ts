import { urlFromSetting } from '../../clients/http-poster';
import type { ChannelTarget, DigestView, Link } from '../../model';
import { andMore, digestWords, type DigestTone } from '../digest-words';
import {
  bannerOf,
  brief,
  statusLine,
  httpsLinks,
  repeatedRunbooks,
  subjectOf,
  summarize,
  type NoticeAcknowledgement,
  type NoticeSummary,
  type NoticeView,
} from '../notice';
import { stillOpenWords, type StillOpen } from '../still-open';
import { shown } from '../../util/json-checks';
import { displayLine, displayText } from '../../util/safe-text';
import { defineChannel, settingName, settingSchema } from './channel';
import { httpDelivery } from './http';
import type { ChannelMessage, ChannelRenderOptions } from './message';

/**
 * The Teams channel: one Adaptive Card per message, in the envelope a Teams Workflows webhook
 * ("Send webhook alerts to a channel", trigger "When a Teams webhook request is received") takes:
 * `{ "type": "message", "attachments": [{ "contentType": "application/vnd.microsoft.card.adaptive",
 * "contentUrl": null, "content": <AdaptiveCard> }] }` (docs/channels.md, "Teams"). The words are the
 * notice views' (lib/notify/notice.ts); this file only lays them out as an email's first screen is:
 * a coloured banner (how bad, in words), the heading, what happened, since when and what Entra does
 * next, the notice's actions as buttons (Action.OpenUrl, the primary one first), then the runbook,
 * the details and, smaller, the details for scripts.
 *
 * A card is valid for the version it declares (1.5 by default, `cardVersion` per channel; a test
 * checks every card with Microsoft's `adaptivecards` library): it uses the elements of Adaptive
 * Cards 1.4 (TextBlock, FactSet, Container, ActionSet, Action.OpenUrl), and a 1.5 card adds only
 * `style: "heading"` on its title, which 1.4 lacks. TextBlock and FactSet text is Markdown in Teams:
 * text from Graph has its link syntax broken so it can never become a link, and foreign URLs in it
 * are defanged.
 */

const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
const CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';

/**
 * The most bytes one card may take. Teams refuses a message whose properties exceed 28,672 bytes
 * (and a Workflows run fails on it after the webhook already answered 202, so the sender never
 * hears of it); the card is kept well under that, leaving room for what the flow adds.
 */
export const TEAMS_CARD_BUDGET_BYTES = 24_000;

/** How much of each text a card shows; a card over the budget is laid out again with the next, smaller set. */
interface TextLimits {
  heading: number;
  what: number;
  value: number;
  facts: number;
  step: number;
  steps: number;
  links: number;
  /** Whether the details for scripts are shown. */
  scripts: boolean;
}
const LAYOUTS: TextLimits[] = [
  { heading: 200, what: 1000, value: 500, facts: 12, step: 600, steps: 10, links: 6, scripts: true },
  { heading: 160, what: 400, value: 200, facts: 6, step: 250, steps: 5, links: 6, scripts: false },
  { heading: 120, what: 200, value: 100, facts: 3, step: 0, steps: 0, links: 6, scripts: false },
  { heading: 100, what: 120, value: 80, facts: 1, step: 0, steps: 0, links: 1, scripts: false },
];

/** Banner styles of Adaptive Card containers: red, amber, green, and grey for an alert that ended badly. */
type Tone = 'attention' | 'warning' | 'good' | 'emphasis';

/** The TextBlock colour of each tone, for the status line of a section in a grouped card. */
const TEXT_COLOURS: Record<Tone, string> = {
  attention: 'Attention',
  warning: 'Warning',
  good: 'Good',
  emphasis: 'Default',
};

function toneOf(v: NoticeView): Tone {
  if (v.kind === 'resolved') return v.resolvedWell ? 'good' : 'emphasis';
  if (v.kind === 'decided') return 'emphasis';
  return v.severity === 'critical' ? 'attention' : 'warning';
}

function summaryTone(summary: NoticeSummary): Tone {
  if (summary.resolvedOnly) return summary.allEndedWell ? 'good' : 'emphasis';
  return summary.severity === 'critical' ? 'attention' : 'warning';
}

/**
 * Card text from any source: display-safe (no controls or direction controls, foreign URLs
 * defanged, bounded) and with Markdown link syntax broken (`[text](url)` → `[text] (url)`), so text
 * from Graph cannot turn into a link in Teams.
 */
function cardText(value: unknown, max: number, { multiline = false } = {}): string {
  const text = multiline ? displayText(value, max) : displayLine(value, max);
  // A single line break is no break in Adaptive Card Markdown: paragraphs need a blank line.
  const broken = text.replace(/\]\s*\(/g, '] (').replace(/<(?=https?:|www\.)/gi, '‹');
  return multiline ? broken.replace(/\n+/g, '\n\n') : broken;
}

type Element = Record<string, unknown>;

/** The Adaptive Card versions a card may declare (docs/channels.md, "Teams"). */
type CardVersion = NonNullable<ChannelRenderOptions['cardVersion']>;

function textBlock(text: string, extra: Element = {}): Element {
  return { type: 'TextBlock', text, wrap: true, ...extra };
}

/**
 * The card's title: large and bold. A 1.5 card also marks it `style: "heading"`, so screen readers
 * announce it as a heading; TextBlock.style is new in 1.5, and a 1.4 host drops it (the
 * `adaptivecards` library reports it as unsupported), so a 1.4 card leaves it out.
 */
function title(text: string, version: CardVersion): Element {
  return textBlock(text, { size: 'Large', weight: 'Bolder', ...(version === '1.5' ? { style: 'heading' } : {}) });
}

/** Buttons for the links (https only) and the snooze links; Teams shows at most six actions in a set. */
function actionSet(links: Link[], max: number): Element | undefined {
  const actions = httpsLinks(links)
    .slice(0, Math.min(6, max))
    .map((link) => ({ type: 'Action.OpenUrl', title: cardText(link.label, 60), url: link.href }));
  return actions.length > 0 ? { type: 'ActionSet', actions } : undefined;
}

function factSet(rows: [string, string][], limits: TextLimits, extra: Element = {}): Element | undefined {
  if (rows.length === 0) return undefined;
  return {
    type: 'FactSet',
    facts: rows.map(([title, value]) => ({ title: cardText(title, 60), value: cardText(value, limits.value) })),
    ...extra,
  };
}

/** Since when and what Entra does next: what the first screen says beside what happened. */
function essentials(v: NoticeView, limits: TextLimits): Element | undefined {
  if (brief(v)) return undefined;
  const rows: [string, string][] = [['Since', v.when]];
  if (v.view.next) rows.push(['What happens next', v.view.next]);
  return factSet(rows, limits);
}

function details(v: NoticeView, limits: TextLimits): Element[] {
  const facts = brief(v) ? v.view.facts.slice(0, 3) : v.view.facts.slice(0, limits.facts);
  const shown = factSet(facts, limits);
  const scripts = limits.scripts
    ? factSet([...(v.view.scripts ?? []), ['Alert ID', v.alert.fingerprint]], limits, { spacing: 'Medium' })
    : undefined;
  return [
    ...(shown ? [textBlock('Details', { weight: 'Bolder', spacing: 'Medium' }), shown] : []),
    ...(scripts
      ? [textBlock('Details for scripts', { isSubtle: true, size: 'Small', spacing: 'Medium' }), scripts]
      : []),
  ];
}

function runbook(v: NoticeView, limits: TextLimits, sameStepsAs: NoticeView | undefined): Element[] {
  const book = v.view.runbook;
  if (!book || brief(v)) return [];
  const title = textBlock('What to do now', { weight: 'Bolder', spacing: 'Medium' });
  if (sameStepsAs) return [title, textBlock(`The same as for ${cardText(sameStepsAs.heading, limits.heading)} above.`)];
  if (limits.steps === 0)
    return [
      title,
      textBlock(cardText(book.meaning, limits.what, { multiline: true })),
      textBlock('The full runbook is in the email about this alert.', { isSubtle: true }),
    ];
  const steps = book.steps
    .slice(0, limits.steps)
    .map((step, i) => textBlock(`${i + 1}. ${cardText(step, limits.step)}`, { spacing: 'Small' }));
  const more =
    book.steps.length > limits.steps
      ? [
          textBlock(`${book.steps.length - limits.steps} more step(s) in the email about this alert.`, {
            isSubtle: true,
          }),
        ]
      : [];
  return [title, textBlock(cardText(book.meaning, limits.what, { multiline: true })), ...steps, ...more];
}

/** Who acknowledged the alert (green while it stands), and their comment. */
function acknowledged(ack: NoticeAcknowledgement, limits: TextLimits): Element {
  const comment = ack.comment ? ` “${cardText(ack.comment, limits.value)}”` : '';
  return textBlock(`${cardText(ack.text, limits.what)}${comment}`, {
    color: ack.standing ? 'Good' : 'Default',
    weight: 'Bolder',
  });
}

/** One alert's section: for a grouped card with its own status line and heading. */
function section(v: NoticeView, limits: TextLimits, withHeading: boolean, sameStepsAs?: NoticeView): Element[] {
  const items: Element[] = [];
  if (withHeading) {
    const status = statusLine(v);
    items.push(textBlock(status.toUpperCase(), { size: 'Small', weight: 'Bolder', color: TEXT_COLOURS[toneOf(v)] }));
    items.push(textBlock(cardText(v.heading, limits.heading), { size: 'Medium', weight: 'Bolder', spacing: 'None' }));
  }
  if (v.escalation) items.push(textBlock(cardText(v.escalation, limits.what), { weight: 'Bolder' }));
  if (v.change) items.push(textBlock(`What changed: ${cardText(v.change, limits.what)}`, { weight: 'Bolder' }));
  items.push(textBlock(cardText(brief(v) ? v.when : v.view.what, limits.what, { multiline: true })));
  if (v.acknowledged) items.push(acknowledged(v.acknowledged, limits));
  const first = essentials(v, limits);
  if (first) items.push(first);
  // The notice's actions right after what the first screen says, the primary one first; then its other links.
  const actions = actionSet([...v.actions, ...v.moreLinks], limits.links);
  if (actions) items.push(actions);
  items.push(...runbook(v, limits, sameStepsAs));
  items.push(...details(v, limits));
  return items;
}

/** What is still open in the route, on a card of resolved notices. */
function stillOpenBlocks(open: StillOpen, timeZone: string): Element[] {
  const words = stillOpenWords(open, timeZone);
  return [
    textBlock(cardText(words.headline, 300), { weight: 'Bolder' }),
    ...words.lines.map((l) => textBlock(cardText(l, 300), { spacing: 'Small', size: 'Small' })),
  ];
}

function banner(text: string, tone: Tone): Element {
  return {
    type: 'Container',
    style: tone,
    bleed: true,
    items: [textBlock(displayLine(text, 120).toUpperCase(), { size: 'Small', weight: 'Bolder' })],
  };
}

/** Who sent it: the alert IDs are in each section's details for scripts. */
function footer(): Element {
  return textBlock('Sent by Entra Sync Watch.', { isSubtle: true, size: 'Small', separator: true, spacing: 'Medium' });
}

function card(
  views: NoticeView[],
  summary: NoticeSummary,
  limits: TextLimits,
  version: CardVersion,
  part: string | undefined,
  shown = views.length,
  stillOpen?: StillOpen,
): Element {
  const single = views.length === 1 ? views[0] : undefined;
  const body: Element[] = [banner(bannerOf(views, summary), single ? toneOf(single) : summaryTone(summary))];
  if (part) body.push(textBlock(cardText(part, 300), { weight: 'Bolder' }));
  const open = stillOpen && summary.resolvedOnly ? stillOpenBlocks(stillOpen, views[0]?.timeZone ?? 'UTC') : [];
  if (single) {
    body.push(title(cardText(single.heading, limits.heading), version));
    body.push(...section(single, limits, false), ...open);
  } else {
    body.push(title(cardText(summary.counts, limits.heading), version), ...open);
    const repeats = repeatedRunbooks(views);
    for (const v of views.slice(0, shown))
      body.push({
        type: 'Container',
        separator: true,
        spacing: 'Large',
        items: section(v, limits, true, repeats.get(v)),
      });
    if (shown < views.length)
      body.push(
        textBlock(
          `And ${views.length - shown} more alert(s) that do not fit in one card: the email about them has them all.`,
          { weight: 'Bolder', separator: true },
        ),
      );
  }
  body.push(footer());
  return {
    $schema: CARD_SCHEMA,
    type: 'AdaptiveCard',
    version,
    // What clients that cannot show the card (notifications, older hosts) show instead.
    fallbackText: displayLine(subjectOf(views, summary), 200),
    msteams: { width: 'Full' },
    body,
  };
}

/** The Workflows envelope around one card. */
export function teamsEnvelope(content: Element): Element {
  return { type: 'message', attachments: [{ contentType: CARD_CONTENT_TYPE, contentUrl: null, content }] };
}

/**
 * The Teams message for notice views (most urgent first, as noticeViews returns them): the full
 * card when it fits TEAMS_CARD_BUDGET_BYTES, else the same card with less of each text.
 */
export function teamsMessage(views: NoticeView[], options: ChannelRenderOptions = {}): ChannelMessage {
  const summary = summarize(views);
  const part = options.part
    ? `Part ${options.part.index} of ${options.part.total}: this cycle's notices are split into ${options.part.total} cards so that each stays within Teams' size limit.`
    : undefined;
  const version = options.cardVersion ?? '1.5';
  const fits = (text: string) => Buffer.byteLength(text) <= TEAMS_CARD_BUDGET_BYTES;
  let body = '';
  for (const limits of LAYOUTS) {
    body = JSON.stringify(teamsEnvelope(card(views, summary, limits, version, part, views.length, options.stillOpen)));
    if (fits(body)) break;
  }
  // More alerts than even the smallest layout holds (planning puts at most ten in a card, so only a
  // message planned by another version could): the first ones, and a line saying how many more.
  const smallest = LAYOUTS[LAYOUTS.length - 1] as TextLimits;
  for (let shown = views.length - 1; !fits(body) && shown >= 1; shown--)
    body = JSON.stringify(teamsEnvelope(card(views, summary, smallest, version, part, shown, options.stillOpen)));
  return { body, contentType: 'application/json; charset=utf-8', summary: displayLine(subjectOf(views, summary), 200) };
}

// ---- the daily digest ----------------------------------------------------------------------------

const DIGEST_TONES: Record<DigestTone, Tone> = {
  critical: 'attention',
  warning: 'warning',
  healthy: 'good',
  muted: 'emphasis',
};

/** A route's daily digest as a card: the headline, then a line per alert, within the size budget. */
function teamsDigest(digest: DigestView, options: ChannelRenderOptions = {}): ChannelMessage {
  const words = digestWords(digest);
  const version = options.cardVersion ?? '1.5';
  const build = (perSection: number) => {
    const body: Element[] = [
      banner(`Daily digest · ${words.urgency}`, DIGEST_TONES[words.tone]),
      title(cardText(words.headline, 300), version),
    ];
    if (words.primary) {
      body.push(textBlock(`Most urgent: ${cardText(words.primary.heading, 200)}`, { spacing: 'Small' }));
      const primary = actionSet([words.primary.link], 1);
      if (primary) body.push(primary);
    }
    for (const section of words.sections) {
      const lines = section.lines.slice(0, perSection);
      const left = section.lines.length - lines.length;
      const items: Element[] = [textBlock(cardText(section.title, 120), { weight: 'Bolder' })];
      for (const l of lines)
        items.push(
          textBlock(cardText(l.label, 200), { spacing: 'Small' }),
          textBlock(cardText(l.detail, 300), { isSubtle: true, size: 'Small', spacing: 'None' }),
        );
      if (left + section.more > 0) items.push(textBlock(andMore(left + section.more), { isSubtle: true }));
      body.push({ type: 'Container', separator: true, spacing: 'Medium', items });
    }
    body.push(
      textBlock(cardText(`${words.footer} Sent by Entra Sync Watch.`, 400), {
        isSubtle: true,
        size: 'Small',
        separator: true,
      }),
    );
    return JSON.stringify(
      teamsEnvelope({
        $schema: CARD_SCHEMA,
        type: 'AdaptiveCard',
        version,
        fallbackText: displayLine(words.subject, 200),
        msteams: { width: 'Full' },
        body,
      }),
    );
  };
  let body = build(Number.MAX_SAFE_INTEGER);
  for (
    let perSection = 20;
    Buffer.byteLength(body) > TEAMS_CARD_BUDGET_BYTES && perSection >= 1;
    perSection = Math.floor(perSection / 2)
  )
    body = build(perSection);
  return { body, contentType: 'application/json; charset=utf-8', summary: displayLine(words.subject, 200) };
}

// ---- the channel ---------------------------------------------------------------------------------

/** A Teams channel of a route: `{ "type": "teams", "urlSetting": "TEAMS_OPS_URL", "cardVersion": "1.4" }`. */
export interface TeamsTarget extends ChannelTarget {
  type: 'teams';
  /** The app setting holding the Workflows webhook URL (it carries its signature, so it is a secret). */
  urlSetting: string;
  /** The Adaptive Card version a card declares (default 1.5; see docs/channels.md, "Teams"). */
  cardVersion?: '1.4' | '1.5';
}

/**
 * Most alerts in one Teams card: Workflows refuses a card over 28 KB (docs/reference: Teams message
 * size limit), and ten full sections of bounded text stay inside it (the card is made more compact
 * at send time if they do not).
 */
export const MAX_ALERTS_PER_TEAMS_CARD = 10;

export const teams = defineChannel<TeamsTarget, ChannelMessage>({
  type: 'teams',
  noun: 'message',
  name: (target) => `Teams channel ${target.urlSetting}`,
  config: {
    kind: 'entry',
    fields: ['type', 'urlSetting', 'cardVersion'],
    address: 'urlSetting',
    summary: 'Teams (a Workflows webhook)',
    build(entry, path, report) {
      const urlSetting = settingName(
        entry.urlSetting,
        `${path}.urlSetting`,
        report,
        'the Teams Workflows webhook URL',
        'TEAMS_OPS_URL',
      );
      const version = entry.cardVersion;
      if (version !== undefined && version !== '1.4' && version !== '1.5')
        report(`${path}.cardVersion`, `expected "1.5" (default) or "1.4", got ${shown(version)}`);
      if (!urlSetting) return undefined;
      return { urlSetting, ...(version === '1.4' || version === '1.5' ? { cardVersion: version } : {}) };
    },
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'urlSetting'],
      description:
        'A Microsoft Teams channel, through a Workflows webhook ("Send webhook alerts to a channel"): an Adaptive Card with facts, the runbook and buttons for the links.',
      properties: {
        type: { const: 'teams' },
        urlSetting: settingSchema(
          "The app setting that holds the workflow's webhook URL (it carries a signature, so it is a secret), e.g. TEAMS_OPS_URL.",
        ),
        cardVersion: {
          enum: ['1.5', '1.4'],
          default: '1.5',
          description:
            'The Adaptive Card version the card declares. 1.5 by default; 1.4 for a workflow that shows "We\'re sorry, this card couldn\'t be displayed": the card then uses nothing newer than 1.4 (its title is large and bold, without the 1.5 heading style).',
        },
      },
    },
  },
  limits: { alertsPerMessage: MAX_ALERTS_PER_TEAMS_CARD, bytes: TEAMS_CARD_BUDGET_BYTES },
  layout: {
    notices: (views, ctx) =>
      teamsMessage(views, { part: ctx.part, cardVersion: ctx.target.cardVersion, stillOpen: ctx.stillOpen }),
    digest: (digest, ctx) => teamsDigest(digest, { cardVersion: ctx.target.cardVersion }),
  },
  // A Workflows webhook has no idempotency key: a card Teams took whose answer was lost is posted
  // again (at least once; docs/channels.md, "Delivery to channels").
  delivery: httpDelivery<TeamsTarget, ChannelMessage>({
    request: (content, ctx) => ({
      url: urlFromSetting(ctx.poster, ctx.target.urlSetting, ctx.describe, "workflow's webhook URL"),
      headers: { 'Content-Type': content.contentType, 'User-Agent': 'EntraSyncWatch/1' },
      body: content.body,
    }),
  }),
});
