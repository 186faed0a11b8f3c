import type { ChannelTarget } from '../model';
import type { DigestPolicy } from '../model/policy';
import { channelFor, ENTRY_TYPES } from '../notify/channels';
import type { ChannelEntry, Report } from '../notify/channels/channel';
import { canonicalTimeZone, isObject, shown } from '../util/json-checks';

/**
 * A route's `channels` and `digest`, validated like the rest of the config file: each problem with
 * the JSON path of its field (config.ts calls these and collects the problems). Each channel
 * validates its own entry (lib/notify/channels/<type>.ts); what they share is checked here. A
 * channel's address and secrets are secrets, so the config only names the app settings that hold
 * them; whether those are set is checked when a message is posted, so a channel set up wrong fails
 * alone and never stops email.
 */

const TIME_OF_DAY = /^(?:[01]\d|2[0-3]):[0-5]\d$/;

/** `teams or webhook`, `teams, webhook or pagerduty`. */
function orList(words: readonly string[]): string {
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : (words[0] ?? '');
}

/** The entry of a channel type a route may list, or undefined. */
function entryOf(type: unknown): { type: string; entry: ChannelEntry<ChannelTarget> } | undefined {
  const config = typeof type === 'string' && ENTRY_TYPES.includes(type) ? channelFor(type)?.config : undefined;
  return config?.kind === 'entry' ? { type: type as string, entry: config } : undefined;
}

function buildChannel(value: unknown, path: string, report: Report): ChannelTarget | undefined {
  if (!isObject(value)) {
    report(path, `expected a channel such as { "type": "teams", "urlSetting": "TEAMS_OPS_URL" }, got ${shown(value)}`);
    return undefined;
  }
  const channel = entryOf(value.type);
  if (!channel) {
    report(
      `${path}.type`,
      value.type === undefined
        ? `required: ${orList(ENTRY_TYPES)}`
        : `expected one of ${ENTRY_TYPES.join(', ')}, got ${shown(value.type)}`,
    );
    return undefined;
  }
  const { type, entry } = channel;
  for (const key of Object.keys(value)) {
    if (!entry.fields.includes(key))
      report(`${path}.${key}`, `unknown field for a ${type} channel (expected one of ${entry.fields.join(', ')})`);
  }
  const built = entry.build(value, path, report);
  if (!built) return undefined;
  return { id: `${type}:${String((built as Record<string, unknown>)[entry.address])}`, type, ...built };
}

/** The setting a channel target is addressed by (its URL's, its routing key's): what follows its type in its id. */
function addressOf(target: ChannelTarget): string {
  return target.id.slice(target.type.length + 1);
}

/**
 * A route's channels: its own when it gives `channels` (`[]` for none), else its parent's. Two
 * channels of one route addressed by the same setting are refused: each channel's log is known by
 * its type and that setting.
 */
export function buildChannels(
  value: unknown,
  path: string,
  report: Report,
  inherited: ChannelTarget[],
): ChannelTarget[] {
  if (value === undefined) return inherited;
  if (!Array.isArray(value)) {
    report(path, `expected a list of channels, got ${shown(value)}`);
    return inherited;
  }
  const channels: ChannelTarget[] = [];
  value.forEach((item, i) => {
    const channel = buildChannel(item, `${path}[${i}]`, report);
    if (!channel) return;
    const twin = channels.findIndex((c) => addressOf(c) === addressOf(channel));
    if (twin < 0) channels.push(channel);
    else
      report(
        `${path}[${i}].${entryOf(channel.type)?.entry.address}`,
        `the same setting as ${path}[${twin}]; a route posts to each URL once`,
      );
  });
  return channels;
}

/**
 * A route's daily digest: `{ "at": "08:00", "timeZone": "Europe/Berlin" }`. Without a `timeZone`
 * it is in the route's; a route with a `timeZone` (its own or its parent's) and a digest that names
 * another are refused, so a route's messages and its digest never speak two time zones.
 */
export function buildDigest(
  value: unknown,
  path: string,
  report: Report,
  route: { timeZone: string; configured: boolean } = { timeZone: 'UTC', configured: false },
): DigestPolicy | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    report(path, `expected { "at": "08:00", "timeZone": "Europe/Berlin" }, got ${shown(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value))
    if (key !== 'at' && key !== 'timeZone') report(`${path}.${key}`, 'unknown field (expected one of at, timeZone)');
  const at = typeof value.at === 'string' && TIME_OF_DAY.test(value.at) ? value.at : undefined;
  if (!at)
    report(
      `${path}.at`,
      value.at === undefined
        ? 'required: the local time HH:MM the digest goes out'
        : `${shown(value.at)} is not a time of day; expected HH:MM from 00:00 to 23:59`,
    );
  if (value.timeZone === undefined) return at ? { at, timeZone: route.timeZone } : undefined;
  const zoneText = typeof value.timeZone === 'string' ? value.timeZone.trim() : undefined;
  const timeZone = zoneText ? canonicalTimeZone(zoneText) : undefined;
  if (!timeZone) {
    report(
      `${path}.timeZone`,
      `${shown(value.timeZone)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`,
    );
    return undefined;
  }
  if (route.configured && timeZone !== route.timeZone) {
    report(
      `${path}.timeZone`,
      `${timeZone} differs from the route's timeZone ${route.timeZone}: a route's messages and its digest show one time zone; leave this out (the digest follows the route) or make them the same`,
    );
    return undefined;
  }
  return at ? { at, timeZone } : undefined;
}
