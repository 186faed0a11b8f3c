import { createRequire } from 'node:module';
import type * as AdaptiveCards from 'adaptivecards';

/**
 * Adaptive Cards checked by Microsoft's own renderer library (`adaptivecards`, the one the Adaptive
 * Cards designer builds on) for the version a card declares, with Teams' host config. Its `lib/` is
 * ES modules with extensionless imports that Node 20 cannot load (ERR_MODULE_NOT_FOUND
 * '.../adaptivecards/lib/strings'), so the webpack bundle in `dist/` is loaded instead. Parsing and
 * validating need no DOM.
 */
const AC = createRequire(import.meta.url)('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCards;

/**
 * What of Teams' host config a validation reads: six actions in a set (the library's default is five).
 * From the Teams host config the designer uses, microsoft/AdaptiveCards
 * samples/HostConfig/microsoft-teams-light.json (`"actions": { "maxActions": 6 }`).
 */
const TEAMS_HOST_CONFIG = new AC.HostConfig({ actions: { maxActions: 6 } });

/**
 * Every event the library raises for a card parsed and validated at the version it declares, such as
 * `Parse/UnsupportedProperty: Property "style" is supported in version 1.5, but you are using
 * version 1.4.` or `Validation/TooManyActions: Maximum number of actions exceeded (6).` The version
 * enforced is the parse context's, not the card's `version` field, so the context is given the
 * declared one; version-gated properties are reported while parsing, the rest when validating, so
 * both are read. An empty list is a card the library takes whole, as declared.
 */
export function adaptiveCardEvents(card: { version?: unknown }): string[] {
  const declared = typeof card.version === 'string' ? card.version : '';
  const version = AC.Version.parse(declared, new AC.SerializationContext());
  if (!version?.isValid) return [`the card declares no valid version (${JSON.stringify(card.version)})`];
  const context = new AC.SerializationContext(version);
  const parsed = new AC.AdaptiveCard();
  parsed.hostConfig = TEAMS_HOST_CONFIG;
  parsed.parse(card, context);
  const events = [
    ...Array.from({ length: context.eventCount }, (_, i) => context.getEventAt(i)),
    ...parsed.validateProperties().validationEvents,
  ];
  return events.map((e) => `${AC.ValidationPhase[e.phase]}/${AC.ValidationEvent[e.event]}: ${e.message}`);
}
