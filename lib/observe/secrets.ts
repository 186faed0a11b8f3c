import { graphDate } from './normalize';
import type { SyncSettings } from '../model/observation';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return undefined;
}

function number(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The keys of a JSON object, case-insensitively (`enabled` or `Enabled`). */
function pick(object: Record<string, unknown>, key: string): unknown {
  const found = Object.keys(object).find((k) => k.toLowerCase() === key.toLowerCase());
  return found === undefined ? undefined : object[found];
}

function notificationSettings(value: unknown): SyncSettings['notifications'] {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!isObject(parsed)) return undefined;
  const recipients = pick(parsed, 'Recipients');
  return {
    enabled: bool(pick(parsed, 'Enabled')),
    recipients: typeof recipients === 'string' ? recipients : undefined,
    deleteThresholdEnabled: bool(pick(parsed, 'DeleteThresholdEnabled')),
    deleteThresholdValue: number(pick(parsed, 'DeleteThresholdValue')),
  };
}

/**
 * What a service principal's synchronization secrets (`GET .../synchronization/secrets`,
 * `{ value: [{ key, value }] }`, docs/reference/graph-provisioning-api.md §1.14) say for the
 * early warnings: the `SyncNotificationSettings` document and `TokenExpiration`. Every other
 * value (credentials, even masked) is dropped here and never logged. Undefined when the body has
 * no value list.
 */
export function parseSecrets(body: unknown): SyncSettings | undefined {
  const list = isObject(body) ? body.value : undefined;
  if (!Array.isArray(list)) return undefined;
  const settings: SyncSettings = { keys: [] };
  for (const entry of list) {
    if (!isObject(entry) || typeof entry.key !== 'string') continue;
    settings.keys.push(entry.key);
    const key = entry.key.toLowerCase();
    if (key === 'syncnotificationsettings') settings.notifications = notificationSettings(entry.value);
    else if (key === 'tokenexpiration' && typeof entry.value === 'string' && entry.value.trim() !== '') {
      // UNCONFIRMED: the format of TokenExpiration is not documented; an ISO date is read, anything else is kept raw.
      settings.tokenExpiration = { raw: entry.value, at: graphDate(entry.value) };
    }
  }
  return settings;
}
