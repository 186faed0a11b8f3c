import { answerText, PostError, urlFromSetting, type HttpPoster } from '../../clients/http-poster';
import type { ChannelTarget } from '../../model';
import { displayLine, displayText } from '../../util/safe-text';
import { httpsLinks, subjectOf, summarize, type NoticeView } from '../notice';
import { defineChannel, settingName, settingSchema } from './channel';
import { httpDelivery } from './http';
import type { ChannelMessage } from './message';

/**
 * PagerDuty, through its Events API v2 (developer.pagerduty.com, "Send an Alert Event"): each
 * alert is one PagerDuty alert, known by its fingerprint as `dedup_key`. Its firing notice (and a
 * change notice) is a `trigger`, its resolved notice a `resolve` with the same key; a reminder
 * sends nothing, since PagerDuty keeps the incident open and pages by its own escalation policy,
 * and a daily digest is not an incident. A repeated event is harmless: a trigger with the key of an
 * open alert only adds to its log, a resolve of a resolved one is dropped. So a post whose answer
 * was lost is simply posted again next cycle.
 *
 * The routing key (an integration's Integration Key) is a secret: the config names the app setting
 * that holds it (`{ "type": "pagerduty", "routingKeySetting": "PD_ROUTING_KEY" }`). Events go to
 * https://events.pagerduty.com/v2/enqueue, or to the URL in the app setting PAGERDUTY_EVENTS_URL
 * (an EU account: https://events.eu.pagerduty.com/v2/enqueue).
 */

/** A PagerDuty service of a route: `{ "type": "pagerduty", "routingKeySetting": "PD_ROUTING_KEY" }`. */
interface PagerDutyTarget extends ChannelTarget {
  type: 'pagerduty';
  /** The app setting holding the routing key: the Integration Key of an Events API v2 integration. */
  routingKeySetting: string;
}

const EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
/** The app setting naming another Events API endpoint (an EU account's, an emulator's). */
const EVENTS_URL_SETTING = 'PAGERDUTY_EVENTS_URL';
/** An Integration Key is 32 characters ("the 32 character Integration Key"). */
const ROUTING_KEY_LENGTH = 32;
const MAX_SUMMARY = 1024;
/** "Events API payloads are limited to 512 KB." */
const MAX_EVENT_BYTES = 512 * 1024;
/** What the details of one event may take: what an email says of the alert, far below the limit. */
const MAX_DETAILS_CHARS = 16_000;
const MAX_LINKS = 10;

const SEVERITIES = { critical: 'critical', warning: 'warning' } as const;

/** An event without its routing key (read from its setting only when it is posted). */
interface PagerDutyEvent {
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  client?: string;
  payload?: {
    summary: string;
    source: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    timestamp?: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details?: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
}

/** What the email says of the alert, as PagerDuty shows custom details: plain text, bounded. */
function detailsOf(v: NoticeView, max = MAX_DETAILS_CHARS): Record<string, unknown> {
  const { view } = v;
  const full: Record<string, unknown> = {
    ...(v.change ? { 'what changed': displayText(v.change, 600) } : {}),
    'what happened': displayText(view.what, 1000),
    since: displayText(v.when, 400),
    ...(view.next ? { 'what happens next': displayText(view.next, 600) } : {}),
    ...(view.runbook
      ? {
          'what to do': [
            displayText(view.runbook.meaning, 1000),
            ...view.runbook.steps.slice(0, 10).map((step, i) => `${i + 1}. ${displayText(step, 600)}`),
          ],
        }
      : {}),
    details: Object.fromEntries(
      view.facts.slice(0, 12).map(([label, value]) => [displayLine(label, 120), displayText(value, 500)]),
    ),
    tenant: displayLine(v.tenant, 200),
    'alert id': v.alert.fingerprint,
  };
  if (JSON.stringify(full).length <= max) return full;
  return { 'what happened': displayText(view.what, 1000), 'alert id': v.alert.fingerprint };
}

/** What a trigger's summary starts with: a change or an escalation (to an escalation step's PagerDuty service) says so. */
const SUMMARY_PREFIX: Partial<Record<NoticeView['kind'], string>> = { changed: 'Changed: ', escalation: 'Escalated: ' };

/** The event for one notice (a decision acknowledges the incident), or undefined for a reminder (the incident stays open in PagerDuty). */
function eventOf(v: NoticeView, now: Date): PagerDutyEvent | undefined {
  const dedupKey = v.alert.fingerprint;
  if (v.kind === 'reminder') return undefined;
  if (v.kind === 'resolved') return { event_action: 'resolve', dedup_key: dedupKey };
  // Someone decided from the alert's message (decisions from an alert): the incident is in hand.
  if (v.kind === 'decided') return { event_action: 'acknowledge', dedup_key: dedupKey };
  const { view, alert } = v;
  return {
    event_action: 'trigger',
    dedup_key: dedupKey,
    client: 'Entra Sync Watch',
    payload: {
      summary: displayLine(`${SUMMARY_PREFIX[v.kind] ?? ''}${v.heading}`, MAX_SUMMARY),
      source: displayLine(alert.labels.tenantId, 200),
      severity: SEVERITIES[v.severity],
      timestamp: v.since ?? now.toISOString(),
      component: displayLine(view.about, 200),
      ...(v.tenant !== alert.labels.tenantId ? { group: displayLine(v.tenant, 200) } : {}),
      class: alert.labels.condition,
      custom_details: detailsOf(v),
    },
    // The notice's actions first (decide, open, acknowledge, snooze: the contract every channel follows), then its
    // other links. Acknowledge stops this monitor's reminders and escalation; acknowledging in PagerDuty stops only its paging.
    links: httpsLinks([...v.actions, ...v.moreLinks])
      .slice(0, MAX_LINKS)
      .map((link) => ({ href: link.href, text: displayLine(link.label, 120) })),
  };
}

/**
 * One event for one alert (a message carries one: alertsPerMessage), the most urgent notice's;
 * undefined when it sends nothing.
 */
function pagerDutyMessage(views: NoticeView[], now: Date): ChannelMessage | undefined {
  const [first] = views;
  const event = first ? eventOf(first, now) : undefined;
  if (!event) return undefined;
  let body = JSON.stringify(event);
  if (Buffer.byteLength(body) > MAX_EVENT_BYTES && event.payload)
    body = JSON.stringify({ ...event, payload: { ...event.payload, custom_details: detailsOf(first!, 0) } });
  return { body, contentType: 'application/json', summary: displayLine(subjectOf(views, summarize(views)), 200) };
}

/** The routing key from its setting: 32 characters, or a PostError naming the setting (never the key). */
function routingKeyOf(poster: HttpPoster, name: string, describe: string): string {
  const key = poster.setting(name);
  if (!key)
    throw new PostError(
      `${describe}: the app setting ${name} is not set; set it to the Integration Key (${ROUTING_KEY_LENGTH} characters) of an Events API v2 integration of the service`,
      'misconfigured',
    );
  if (key.length !== ROUTING_KEY_LENGTH)
    throw new PostError(
      `${describe}: the routing key in ${name} is ${key.length} characters; an Events API v2 Integration Key is ${ROUTING_KEY_LENGTH}`,
      'misconfigured',
    );
  return key;
}

/** PagerDuty's word on an event it refused: `Event object is invalid: <errors>`, bounded. */
function refusalOf(body: string): string {
  try {
    const answer = JSON.parse(body) as { message?: unknown; errors?: unknown };
    const errors = Array.isArray(answer.errors) ? answer.errors.map(String).join('; ') : '';
    return displayLine([answer.message, errors].filter(Boolean).join(': '), 300);
  } catch {
    return displayLine(body, 200);
  }
}

export const pagerduty = defineChannel<PagerDutyTarget, ChannelMessage>({
  type: 'pagerduty',
  noun: 'event',
  name: (target) => `PagerDuty service ${target.routingKeySetting}`,
  config: {
    kind: 'entry',
    fields: ['type', 'routingKeySetting'],
    address: 'routingKeySetting',
    summary: 'PagerDuty (Events API v2)',
    build(entry, path, report) {
      const routingKeySetting = settingName(
        entry.routingKeySetting,
        `${path}.routingKeySetting`,
        report,
        'the routing key (the Integration Key of an Events API v2 integration)',
        'PD_ROUTING_KEY',
      );
      return routingKeySetting ? { routingKeySetting } : undefined;
    },
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'routingKeySetting'],
      description:
        'A PagerDuty service, through the Events API v2: each alert is a PagerDuty alert (its fingerprint the dedup_key), triggered when it fires or changes and resolved when it ends; reminders send nothing. Events go to https://events.pagerduty.com/v2/enqueue, or to the URL in the app setting PAGERDUTY_EVENTS_URL (EU accounts: https://events.eu.pagerduty.com/v2/enqueue).',
      properties: {
        type: { const: 'pagerduty' },
        routingKeySetting: settingSchema(
          'The app setting that holds the routing key (the 32-character Integration Key of an Events API v2 integration of the service; a secret), e.g. PD_ROUTING_KEY.',
        ),
      },
    },
  },
  limits: { alertsPerMessage: 1, bytes: MAX_EVENT_BYTES },
  layout: {
    notices: (views, ctx) => pagerDutyMessage(views, ctx.now),
    // A daily digest is no incident: PagerDuty gets none.
    digest: () => undefined,
  },
  delivery: httpDelivery<PagerDutyTarget, ChannelMessage>({
    request: (content, ctx) => {
      const url = ctx.poster.setting(EVENTS_URL_SETTING)
        ? urlFromSetting(ctx.poster, EVENTS_URL_SETTING, ctx.describe, 'Events API v2 endpoint (https://…/v2/enqueue)')
        : EVENTS_URL;
      const routingKey = routingKeyOf(ctx.poster, ctx.target.routingKeySetting, ctx.describe);
      return {
        url,
        headers: { 'Content-Type': content.contentType, 'User-Agent': 'EntraSyncWatch/1' },
        body: JSON.stringify({ routing_key: routingKey, ...(JSON.parse(content.body) as PagerDutyEvent) }),
      };
    },
    // 400: PagerDuty refused the event as invalid; what we send is valid, so it is the routing key
    // (or the endpoint) the settings give. Retried each cycle until they are fixed: nothing is lost.
    explain: (answer, ctx) =>
      answer.status === 400
        ? `${ctx.where} refused the event (${answerText({ ...answer, body: '' })}: ${refusalOf(answer.body)}): a configuration problem: check that the app setting ${ctx.target.routingKeySetting} holds the Integration Key of an Events API v2 integration${ctx.poster.setting(EVENTS_URL_SETTING) ? ` and that ${EVENTS_URL_SETTING} is an Events API v2 endpoint` : ''}`
        : undefined,
  }),
});
