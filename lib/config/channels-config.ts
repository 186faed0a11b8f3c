import type { ChannelTarget } from '../model';
import type { DigestPolicy } from '../model/policy';
import { DEPLOYMENT_SETTINGS } from '../settings/settings';

/**
 * A route's `channels` (Teams, signed webhooks) and `digest`, validated like the rest of the
 * config file: each problem with the JSON path of its field (config.ts calls these and collects
 * the problems). A channel's URL and secret are secrets, so the config only names the app settings
 * that hold them; whether those are set is checked when a message is posted (lib/notify/poster.ts),
 * so a channel set up wrong fails alone and never stops email.
 */

type Report = (path: string, message: string) => void;
type Json = Record<string, unknown>;

/** App setting names as App Service and Functions accept them on every OS: letters, digits, underscores. */
export const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const SETTING_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
const TIME_OF_DAY = /^(?:[01]\d|2[0-3]):[0-5]\d$/;

const CHANNEL_FIELDS: Record<ChannelTarget['type'], string[]> = {
  teams: ['type', 'urlSetting', 'cardVersion'],
  webhook: ['type', 'urlSetting', 'secretSetting'],
};

function shown(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The name of an app setting that holds a secret: well-formed, and not one of the app's own settings. */
function settingName(value: unknown, path: string, report: Report, holds: string): string | undefined {
  if (value === undefined) {
    report(
      path,
      `required: the name of the app setting that holds ${holds} (the value itself never goes in this file)`,
    );
    return undefined;
  }
  if (typeof value !== 'string' || !SETTING_NAME.test(value)) {
    const looksLikeValue = typeof value === 'string' && /^https?:\/\//i.test(value);
    report(
      path,
      looksLikeValue
        ? 'expected the name of an app setting (e.g. TEAMS_OPS_URL), not the URL itself: URLs of channels are secrets, so put the URL in an app setting and name it here'
        : `${shown(value)} is not an app setting name (letters, digits and underscores, e.g. TEAMS_OPS_URL)`,
    );
    return undefined;
  }
  if (value in DEPLOYMENT_SETTINGS) {
    report(
      path,
      `${value} is one of Entra Sync Watch's own settings; name a setting of this channel's own (e.g. TEAMS_OPS_URL)`,
    );
    return undefined;
  }
  return value;
}

function buildChannel(value: unknown, path: string, report: Report): ChannelTarget | undefined {
  if (!isObject(value)) {
    report(path, `expected a channel such as { "type": "teams", "urlSetting": "TEAMS_OPS_URL" }, got ${shown(value)}`);
    return undefined;
  }
  const type = value.type;
  if (type !== 'teams' && type !== 'webhook') {
    report(
      `${path}.type`,
      value.type === undefined ? 'required: teams or webhook' : `expected one of teams, webhook, got ${shown(type)}`,
    );
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!CHANNEL_FIELDS[type].includes(key))
      report(
        `${path}.${key}`,
        `unknown field for a ${type} channel (expected one of ${CHANNEL_FIELDS[type].join(', ')})`,
      );
  }
  const urlSetting = settingName(
    value.urlSetting,
    `${path}.urlSetting`,
    report,
    type === 'teams' ? 'the Teams Workflows webhook URL' : "the receiver's https URL",
  );
  if (type === 'teams') {
    const version = value.cardVersion;
    if (version !== undefined && version !== '1.4' && version !== '1.5')
      report(`${path}.cardVersion`, `expected "1.5" (default) or "1.4", got ${shown(version)}`);
    if (!urlSetting) return undefined;
    return {
      id: `teams:${urlSetting}`,
      type,
      urlSetting,
      ...(version === '1.4' || version === '1.5' ? { cardVersion: version } : {}),
    };
  }
  const secretSetting = settingName(
    value.secretSetting,
    `${path}.secretSetting`,
    report,
    'the HMAC-SHA256 signing secret',
  );
  if (urlSetting && secretSetting && urlSetting === secretSetting)
    report(`${path}.secretSetting`, 'must name another setting than urlSetting');
  if (!urlSetting || !secretSetting || urlSetting === secretSetting) return undefined;
  return { id: `webhook:${urlSetting}`, type, urlSetting, secretSetting };
}

/**
 * A route's channels: its own when it gives `channels` (`[]` for none), else its parent's. Two
 * channels of one route posting to the same URL setting are refused: each channel's log is known
 * by its type and URL setting.
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
    const twin = channels.findIndex((c) => c.urlSetting === channel.urlSetting);
    if (twin >= 0)
      report(`${path}[${i}].urlSetting`, `the same setting as ${path}[${twin}]; a route posts to each URL once`);
    else channels.push(channel);
  });
  return channels;
}

/** The canonical IANA name (`europe/berlin` → `Europe/Berlin`), or undefined when the runtime does not know the zone. */
function canonicalTimeZone(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** A route's daily digest: `{ "at": "08:00", "timeZone": "Europe/Berlin" }`. */
export function buildDigest(value: unknown, path: string, report: Report): DigestPolicy | undefined {
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
  const zoneText = typeof value.timeZone === 'string' ? value.timeZone.trim() : undefined;
  const timeZone = zoneText ? canonicalTimeZone(zoneText) : undefined;
  if (!timeZone) {
    report(
      `${path}.timeZone`,
      value.timeZone === undefined
        ? 'required: an IANA time zone such as Europe/Berlin (UTC for none)'
        : `${shown(value.timeZone)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`,
    );
  }
  return at && timeZone ? { at, timeZone } : undefined;
}
