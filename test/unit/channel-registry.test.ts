import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { receiversOf } from '../../lib/dispatch/route';
import { CHANNELS, channelOf, ENTRY_TYPES } from '../../lib/notify/channels';
import type { ChannelEntry } from '../../lib/notify/channels/channel';
import type { ChannelTarget } from '../../lib/model';

/**
 * The channel registry (lib/notify/channels/index.ts) is the one list every stage reads: each
 * channel declares itself whole there, and what it declares agrees with itself (its config fields,
 * its schema fragment, its address), so a channel added in one file works everywhere.
 */

const entries = CHANNELS.flatMap((c) => (c.config.kind === 'entry' ? [[c.type, c.config] as const] : []));

describe('the channel registry', () => {
  it('lists each channel once, the route’s own (email) first and only once', () => {
    expect(new Set(CHANNELS.map((c) => c.type)).size).toBe(CHANNELS.length);
    expect(CHANNELS.filter((c) => c.config.kind === 'route').map((c) => c.type)).toEqual(['email']);
    expect(CHANNELS[0]?.type).toBe('email');
    expect(ENTRY_TYPES).toEqual(CHANNELS.slice(1).map((c) => c.type));
    expect(channelOf(undefined)?.type).toBe('email');
  });

  it.each(entries)(
    '%s: its schema fragment has exactly the fields it validates, and requires its address',
    (type, entry) => {
      const schema = entry.schema as { properties: Record<string, unknown>; required: string[] };
      expect(Object.keys(schema.properties).sort()).toEqual([...entry.fields].sort());
      expect(schema.properties.type).toEqual({ const: type });
      expect(schema.required).toEqual(expect.arrayContaining(['type', entry.address]));
      expect(entry.fields).toContain(entry.address);
    },
  );

  it.each(entries)(
    '%s: a config entry becomes a target known by its type and address, with its own log',
    (type, entry) => {
      const sample = sampleEntry(type, entry);
      const policy = buildPolicy({ route: { channels: [sample] } }, { emailTo: ['ops@contoso.com'] });
      const [target] = policy.route.channels ?? [];
      expect(target).toMatchObject({ id: `${type}:${sample[entry.address]}`, type });
      expect(receiversOf(policy.route).map((r) => r.id)).toEqual(['root', `root~${type}:${sample[entry.address]}`]);
      expect(channelOf(target)?.type).toBe(type);
    },
  );

  it('declares limits every channel keeps: at least one alert a message, within its bytes', () => {
    for (const channel of CHANNELS) {
      expect(channel.limits.alertsPerMessage, channel.type).toBeGreaterThanOrEqual(1);
      expect(channel.limits.bytes, channel.type).toBeGreaterThan(1000);
    }
  });
});

/** An entry with every required setting named `<FIELD>_SETTING` (valid setting names, none of the app's own). */
function sampleEntry(type: string, entry: ChannelEntry<ChannelTarget>): Record<string, string> {
  const schema = entry.schema as { required: string[] };
  return Object.fromEntries(
    schema.required.map((field) => [field, field === 'type' ? type : `${field.toUpperCase()}_VALUE`]),
  );
}
