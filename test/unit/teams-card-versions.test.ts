import { describe, expect, it } from 'vitest';
import type { TeamsTarget } from '../../lib/notify/channels/teams';
import { NOW } from '../fixtures/alerts';
import { adaptiveCardEvents } from '../support/adaptive-cards';
import { channelDigest, channelMessage, TEAMS } from '../support/channel-templates';
import { digestTemplates, oversizedDigest } from '../support/digest-templates';
import { noticeTemplates, oversizedNotices } from '../support/templates';

/**
 * Every card the product can post to Teams, checked by Microsoft's `adaptivecards` library for the
 * version the card declares (1.5 by default, 1.4 with `"cardVersion": "1.4"`): any event the library
 * raises fails the test. A 1.4 card with a 1.5 property is what a Workflows "post card" step that
 * only takes 1.4 shows as "We're sorry, this card couldn't be displayed" or renders without it
 * (docs/channels.md, "Teams"), so 1.4 must mean 1.4 throughout.
 */

type Version = NonNullable<TeamsTarget['cardVersion']>;
const VERSIONS: Version[] = ['1.4', '1.5'];

interface Card {
  version: string;
  body: unknown[];
}
const cardOf = (body: string): Card => JSON.parse(body).attachments[0].content;
const text = (card: Card) => JSON.stringify(card);

/** Each card the product makes for a target with this version: the templates' cards and digests, and the compact layouts. */
function cards(cardVersion: Version): { name: string; card: Card }[] {
  const target = { ...TEAMS, cardVersion };
  const at = { now: NOW, id: 'k' };
  return [
    ...noticeTemplates().map((t) => ({ name: t.name, card: cardOf(channelMessage(target, t.views, at).body) })),
    ...digestTemplates().map((t) => ({ name: t.name, card: cardOf(channelDigest(target, t.digest, at).body) })),
    // Over the size budget: less of each text (the runbook left to the email) ...
    { name: 'compact', card: cardOf(channelMessage(target, oversizedNotices(10, 200), at).body) },
    // ... and past the smallest layout, the first alerts and how many more.
    { name: 'cut short', card: cardOf(channelMessage(target, oversizedNotices(60, 400), at).body) },
    {
      name: 'part',
      card: cardOf(channelMessage(target, oversizedNotices(2, 10), { ...at, part: { index: 2, total: 3 } }).body),
    },
    { name: 'digest cut short', card: cardOf(channelDigest(target, oversizedDigest(200), at).body) },
  ];
}

describe('Teams cards checked by the adaptivecards library for the version they declare', () => {
  it.each(VERSIONS)('every card declared %s is valid for that version: no parse or validation event', (version) => {
    const all = cards(version);
    for (const { name, card } of all) {
      expect(card.version, name).toBe(version);
      expect(adaptiveCardEvents(card), `${name} (${version})`).toEqual([]);
    }
    // The set covers what it says: buttons, the compact layouts, a card cut short, a digest cut short.
    const named = (name: string) => text(all.find((c) => c.name === name)!.card);
    expect(named('quarantine.firing.snooze')).toMatch(/"type":"Action\.OpenUrl","title":"Snooze/);
    expect(named('compact')).toContain('The full runbook is in the email about this alert.');
    expect(named('cut short')).toMatch(/And \d+ more alert\(s\) that do not fit in one card/);
    expect(named('part')).toContain('Part 2 of 3');
    expect(named('digest cut short')).toMatch(/And \d+ more\./);
  });

  it('a 1.5 card marks its title as a heading for screen readers; a 1.4 card makes it large and bold only', () => {
    const title = (version: Version) =>
      cards(version).find((c) => c.name === 'quarantine.firing')!.card.body[1] as Record<string, unknown>;
    expect(title('1.5')).toMatchObject({ size: 'Large', weight: 'Bolder', style: 'heading' });
    expect(title('1.4')).toMatchObject({ size: 'Large', weight: 'Bolder' });
    expect(title('1.4')).not.toHaveProperty('style');
  });

  it('the check is not blind: it reports what 1.4 lacks, an unknown element, a seventh button, and a card with no version', () => {
    const card = (version: string, body: unknown[], actions: unknown[] = []) => ({
      type: 'AdaptiveCard',
      version,
      body,
      actions,
    });
    const heading = { type: 'TextBlock', text: 'Quarantined', style: 'heading' };
    expect(adaptiveCardEvents(card('1.4', [heading]))).toEqual([
      'Parse/UnsupportedProperty: Property "style" is supported in version 1.5, but you are using version 1.4.',
    ]);
    expect(adaptiveCardEvents(card('1.5', [heading]))).toEqual([]);
    expect(adaptiveCardEvents(card('1.4', [{ type: 'Table', columns: [], rows: [] }]))).toEqual([
      'Parse/UnknownElementType: Unknown element type "Table". Fallback will be used if present.',
    ]);
    expect(
      adaptiveCardEvents(
        card('1.4', [], [{ type: 'Action.OpenUrl', title: 'Open', url: 'https://x', mode: 'secondary' }]),
      ),
    ).toEqual([
      'Parse/UnsupportedProperty: Property "mode" is supported in version 1.5, but you are using version 1.4.',
    ]);
    // Teams shows six buttons in a set: a seventh is reported.
    const open = (n: number) => ({ type: 'Action.OpenUrl', title: `Open ${n}`, url: `https://x/${n}` });
    const buttons = (count: number) => [
      { type: 'ActionSet', actions: Array.from({ length: count }, (_, i) => open(i)) },
    ];
    expect(adaptiveCardEvents(card('1.5', buttons(6)))).toEqual([]);
    expect(adaptiveCardEvents(card('1.5', buttons(7)))).toEqual([
      'Validation/TooManyActions: Maximum number of actions exceeded (6).',
    ]);
    expect(adaptiveCardEvents({ ...card('', []), version: undefined })).toEqual([
      'the card declares no valid version (undefined)',
    ]);
  });
});
