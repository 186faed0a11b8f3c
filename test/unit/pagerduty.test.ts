import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { eventErrors } from '../../emulators/pagerduty-receiver';
import { buildPolicy, ConfigError } from '../../lib/config/config';
import type { PlannedChannel } from '../../lib/model';
import { channelFor } from '../../lib/notify/channels';
import { noticeViews, type NoticeView } from '../../lib/notify/notice';
import schema from '../../config.schema.json';
import { ALERT_FIXTURES, KINDS, noticeOf, NOW, RENDER_CONTEXT } from '../fixtures/alerts';
import { DIRECTION_CONTROLS, FOREIGN_LINK, hostileQuarantine } from '../fixtures/hostile';
import { digestTemplates } from '../support/digest-templates';

/**
 * The PagerDuty channel's own parts, without the network: its config entry, and the event it lays
 * out for each kind of notice of every rule, checked by the emulator's reading of PagerDuty's docs.
 */

const TARGET = {
  id: 'pagerduty:PD_ROUTING_KEY',
  type: 'pagerduty',
  routingKeySetting: 'PD_ROUTING_KEY',
  receiver: 'root~pagerduty:PD_ROUTING_KEY',
} as PlannedChannel;
const pagerduty = channelFor('pagerduty')!;
const context = { target: TARGET, route: 'root', id: 'k', now: NOW };
const layout = (views: NoticeView[]) => pagerduty.layout.notices(views, context) as { body: string } | undefined;
/** The event as posted: the channel adds the routing key from its setting when it posts. */
const posted = (views: NoticeView[]): Record<string, unknown> | undefined => {
  const message = layout(views);
  return message && { routing_key: 'r'.repeat(32), ...(JSON.parse(message.body) as Record<string, unknown>) };
};

describe('the PagerDuty channel', () => {
  it.each(Object.keys(ALERT_FIXTURES))(
    '%s: a trigger PagerDuty takes for firing and changed, a resolve of the same key, nothing for a reminder',
    (condition) => {
      const alert = ALERT_FIXTURES[condition]!;
      for (const kind of KINDS) {
        const event = posted(noticeViews([noticeOf(alert, kind)], RENDER_CONTEXT));
        if (kind === 'reminder') {
          expect(event, kind).toBeUndefined();
          continue;
        }
        expect(event, kind).toBeDefined();
        expect(eventErrors(event, Buffer.byteLength(JSON.stringify(event))), kind).toEqual([]);
        expect(event!.dedup_key, kind).toBe(alert.fingerprint);
        expect(event!.event_action, kind).toBe(kind === 'resolved' ? 'resolve' : 'trigger');
      }
    },
  );

  it('an escalation step’s service gets a trigger that says Escalated; every trigger carries the Acknowledge link', () => {
    const alert = ALERT_FIXTURES.quarantine!;
    const link = { label: 'Acknowledge', href: 'https://watch.contoso.com/api/acknowledge?i=x' };
    const ctx = { ...RENDER_CONTEXT, acknowledge: () => link };
    const notice = noticeOf(alert, 'escalation', 'root.escalate.0');
    notice.item.escalation = { step: 0, afterMs: 30 * 60_000, unacknowledgedSince: alert.startsAt as string };
    const event = posted(noticeViews([notice], ctx))!;
    expect(eventErrors(event, Buffer.byteLength(JSON.stringify(event)))).toEqual([]);
    expect(event).toMatchObject({ event_action: 'trigger', dedup_key: alert.fingerprint });
    expect((event.payload as { summary: string }).summary).toMatch(/^Escalated: Quarantined: /);
    expect(event.links).toContainEqual({ href: link.href, text: 'Acknowledge' });
    expect(posted(noticeViews([noticeOf(alert, 'firing')], ctx))!.links).toContainEqual({
      href: link.href,
      text: 'Acknowledge',
    });
  });

  it('says what the email says, bounded and inert: the summary at most 1,024 characters, plain text, https links only', () => {
    for (const kind of ['firing', 'changed'] as const) {
      const event = posted(noticeViews([noticeOf(hostileQuarantine(), kind)], RENDER_CONTEXT))!;
      const payload = event.payload as { summary: string; custom_details: Record<string, unknown> };
      expect(eventErrors(event, Buffer.byteLength(JSON.stringify(event)))).toEqual([]);
      expect(payload.summary.length).toBeLessThanOrEqual(1024);
      expect(JSON.stringify(event)).not.toMatch(DIRECTION_CONTROLS);
      expect(JSON.stringify(payload.custom_details)).not.toContain(FOREIGN_LINK);
      expect(JSON.stringify(payload.custom_details).length).toBeLessThan(17_000);
      for (const link of event.links as { href: string }[]) expect(link.href).toMatch(/^https:\/\//);
    }
  });

  it('says what changed first in a change notice, and names its severity as PagerDuty does', () => {
    const alert = ALERT_FIXTURES.quarantine!;
    const changed = posted(noticeViews([noticeOf(alert, 'changed')], RENDER_CONTEXT))!;
    expect((changed.payload as { summary: string }).summary).toMatch(/^Changed: Quarantined: /);
    const warning = posted(noticeViews([noticeOf({ ...alert, severity: 'warning' }, 'firing')], RENDER_CONTEXT))!;
    expect((warning.payload as { severity: string }).severity).toBe('warning');
  });

  it('acknowledges the incident when someone decided from the alert’s message', () => {
    const alert = ALERT_FIXTURES['deletion-threshold']!;
    const notice = noticeOf(alert, 'firing');
    const decision = {
      linkId: 'l',
      title: 'Deletes approved',
      by: 'Adele Vance (adele.vance@contoso.com)',
      at: '2026-11-27T07:12:00.000Z',
      detail: 'Graph accepted the restart with resetScope ForceDeletes (204).',
    };
    const views = noticeViews(
      [{ ...notice, item: { ...notice.item, kind: 'decided', decisions: [decision] } }],
      RENDER_CONTEXT,
    );
    const event = posted(views);
    expect(event).toEqual({ routing_key: 'r'.repeat(32), event_action: 'acknowledge', dedup_key: alert.fingerprint });
    expect(eventErrors(event, JSON.stringify(event).length)).toEqual([]);
  });

  it('sends no daily digest', () => {
    for (const t of digestTemplates()) expect(pagerduty.layout.digest(t.digest, context), t.name).toBeUndefined();
  });

  it('carries one alert a message, within the 512 KB PagerDuty takes', () => {
    expect(pagerduty.limits).toEqual({ alertsPerMessage: 1, bytes: 512 * 1024 });
  });
});

describe('a PagerDuty channel in the config', () => {
  const validate = new Ajv({ allErrors: true }).compile(schema);
  const problemsOf = (channels: unknown[]): string[] => {
    try {
      buildPolicy({ route: { channels } }, { emailTo: ['ops@contoso.com'] });
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('names the app setting of its routing key, like every channel its secrets', () => {
    const policy = buildPolicy(
      { route: { channels: [{ type: 'pagerduty', routingKeySetting: 'PD_ROUTING_KEY' }] } },
      { emailTo: ['ops@contoso.com'] },
    );
    expect(policy.route.channels).toEqual([
      { id: 'pagerduty:PD_ROUTING_KEY', type: 'pagerduty', routingKeySetting: 'PD_ROUTING_KEY' },
    ]);
    expect(validate({ route: { channels: [{ type: 'pagerduty', routingKeySetting: 'PD_ROUTING_KEY' }] } })).toBe(true);
  });

  it('refuses a missing setting, a key written into the file, one of the app’s own settings and an unknown field, by path', () => {
    expect(
      problemsOf([
        { type: 'pagerduty' },
        { type: 'pagerduty', routingKeySetting: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5-' },
        { type: 'pagerduty', routingKeySetting: 'ACS_CONNECTION_STRING' },
        { type: 'pagerduty', routingKeySetting: 'PD_KEY', serviceKey: 'x' },
      ]),
    ).toEqual([
      'route.channels[0].routingKeySetting: required: the name of the app setting that holds the routing key (the Integration Key of an Events API v2 integration) (the value itself never goes in this file)',
      'route.channels[1].routingKeySetting: "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5-" is not an app setting name (letters, digits and underscores, e.g. PD_ROUTING_KEY)',
      "route.channels[2].routingKeySetting: ACS_CONNECTION_STRING is one of Entra Sync Watch's own settings; name a setting of this channel's own (e.g. PD_ROUTING_KEY)",
      'route.channels[3].serviceKey: unknown field for a pagerduty channel (expected one of type, routingKeySetting)',
    ]);
    for (const channel of [{ type: 'pagerduty' }, { type: 'pagerduty', routingKeySetting: 'PD', serviceKey: 'x' }])
      expect(validate({ route: { channels: [channel] } }), JSON.stringify(channel)).toBe(false);
  });
});
