/**
 * A stand-in for PagerDuty's Events API v2, over HTTPS on 127.0.0.1, checking each event as
 * PagerDuty documents it (PagerDuty/developer-docs: docs/events-API-v2/02-Trigger-Events.md and
 * 01-Overview.md; the OpenAPI document PagerDuty/api-schema: reference/events-v2/openapiv3.json):
 *
 *   POST /v2/enqueue   a JSON event:
 *     routing_key    required, the 32-character Integration Key
 *     event_action   required, trigger | acknowledge | resolve
 *     dedup_key      at most 255 characters; required for acknowledge and resolve (a trigger without
 *                    one gets a generated key, returned in the answer)
 *     payload        required for trigger: summary (at most 1024 characters), source, severity
 *                    (critical | error | warning | info) required; timestamp (ISO 8601), component,
 *                    group, class (strings), custom_details (an object) optional
 *     links          [{ href (required), text }]; images [{ src (required, https), href, alt }]
 *     the whole event at most 512 KB
 *   → 202 { "status": "success", "message": "Event processed", "dedup_key": ... }
 *   → 400 { "status": "invalid event", "message": "Event object is invalid", "errors": [...] }
 *     (the body's shape is go-pagerduty's V2EventResponse; the wording is what integrators observe:
 *     PagerDuty documents 400 only as "Bad Request - Check that the JSON is valid")
 *
 * It keeps PagerDuty's alerts as the docs describe de-duplication: events with the dedup_key of an
 * open alert (sent with the same routing key) apply to it, a trigger adding a log entry; once the
 * alert is resolved, a new trigger opens a new alert, and acknowledge or resolve are dropped.
 *
 * Faults on demand: the next N events answered with a status (429 "Request Limit Exceeded", 500,
 * 400 invalid event), held without an answer (`hang`), or taken and answered late (`delayMs`). With
 * `outboxDir`, each event taken is also written as a .json file. Invented: the error texts of 429
 * and 5xx answers, and the `errors` of an injected 400.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { readBody, sendJson, startHttpsServer } from './http';
import { recordSecret } from './secrets';
import type { TlsMaterial } from './tls';

interface ReceivedEvent {
  at: string;
  /** The event as posted (its routing key included: the emulator's test plumbing, never logged). */
  event: Record<string, unknown>;
  /** The HTTP status it was answered with. */
  status: number;
  /** Why it was refused. */
  errors?: string[];
  filePath?: string;
}

/** A PagerDuty alert as the emulator keeps it. */
interface PagerDutyAlert {
  routingKey: string;
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  /** The summary of the trigger that opened it. */
  summary: string;
  severity: string;
  /** Trigger events applied to it (the first included). */
  triggers: number;
  openedAt: string;
  resolvedAt?: string;
}

interface PagerDutyFault {
  /** Answer with this status instead (429, 500, 503, or 400 as an invalid event). */
  status?: number;
  /** Hold the request without an answer until the sender gives up (nothing is taken). */
  hang?: boolean;
  /** Take the event, then answer only after this long. */
  delayMs?: number;
  times: number;
}

export interface PagerDutyReceiverOptions {
  tls: TlsMaterial;
  outboxDir?: string;
  /** The Integration Key of the one Events API v2 integration (default: 32 random characters). */
  routingKey?: string;
}

export interface PagerDutyReceiver {
  origin: string;
  /** `https://127.0.0.1:<port>/v2/enqueue`: what PAGERDUTY_EVENTS_URL points at. */
  eventsUrl: string;
  /** The Integration Key of its integration (PD_ROUTING_KEY). */
  routingKey: string;
  /** Every event received, refused ones included, oldest first. */
  events(): ReceivedEvent[];
  /** The events taken (202), in order. */
  accepted(): ReceivedEvent[];
  /** PagerDuty's alerts, oldest first. */
  alerts(): PagerDutyAlert[];
  fail(fault: PagerDutyFault): void;
  reset(): void;
  stop(): Promise<void>;
}

const ROUTING_KEY_LENGTH = 32;
const MAX_DEDUP_KEY = 255;
const MAX_SUMMARY = 1024;
const MAX_EVENT_BYTES = 512 * 1024;
const ACTIONS = ['trigger', 'acknowledge', 'resolve'];
const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isText = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/** What is wrong with an event's payload (a trigger's). */
function payloadErrors(payload: unknown): string[] {
  if (!isObject(payload)) return ["'payload' is missing or not an object"];
  const errors: string[] = [];
  if (!isText(payload.summary)) errors.push("'payload.summary' is missing or blank");
  else if (payload.summary.length > MAX_SUMMARY)
    errors.push(`'payload.summary' is longer than ${MAX_SUMMARY} characters`);
  if (!isText(payload.source)) errors.push("'payload.source' is missing or blank");
  if (!SEVERITIES.includes(payload.severity as string))
    errors.push(`'payload.severity' must be one of ${SEVERITIES.join(', ')}`);
  if (payload.timestamp !== undefined && !(typeof payload.timestamp === 'string' && ISO_8601.test(payload.timestamp)))
    errors.push("'payload.timestamp' is not an ISO 8601 timestamp");
  for (const key of ['component', 'group', 'class'])
    if (payload[key] !== undefined && typeof payload[key] !== 'string')
      errors.push(`'payload.${key}' must be a string`);
  if (payload.custom_details !== undefined && !isObject(payload.custom_details))
    errors.push("'payload.custom_details' must be an object");
  return errors;
}

/** What is wrong with an event's links and images. */
function contextErrors(event: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (event.links !== undefined) {
    if (!Array.isArray(event.links)) errors.push("'links' must be a list");
    else
      event.links.forEach((link, i) => {
        if (!isObject(link) || !isText(link.href)) errors.push(`'links[${i}].href' is missing`);
        else if (link.text !== undefined && typeof link.text !== 'string')
          errors.push(`'links[${i}].text' must be a string`);
      });
  }
  if (event.images !== undefined) {
    if (!Array.isArray(event.images)) errors.push("'images' must be a list");
    else
      event.images.forEach((image, i) => {
        if (!isObject(image) || !isText(image.src) || !image.src.startsWith('https://'))
          errors.push(`'images[${i}].src' must be an https URL`);
      });
  }
  return errors;
}

/** What is wrong with an event, as PagerDuty checks it; empty when it is valid. */
export function eventErrors(event: unknown, bytes: number): string[] {
  if (bytes > MAX_EVENT_BYTES) return [`the event is ${bytes} bytes; events are limited to 512 KB`];
  if (!isObject(event)) return ['the event must be a JSON object'];
  const errors: string[] = [];
  if (typeof event.routing_key !== 'string') errors.push("'routing_key' is missing");
  else if (event.routing_key.length !== ROUTING_KEY_LENGTH)
    errors.push(`Length of 'routing_key' is incorrect (should be ${ROUTING_KEY_LENGTH} characters)`);
  if (!ACTIONS.includes(event.event_action as string))
    errors.push(`'event_action' must be one of ${ACTIONS.join(', ')}`);
  if (event.dedup_key !== undefined) {
    if (typeof event.dedup_key !== 'string' || event.dedup_key === '') errors.push("'dedup_key' must be a string");
    else if (event.dedup_key.length > MAX_DEDUP_KEY)
      errors.push(`'dedup_key' is longer than ${MAX_DEDUP_KEY} characters`);
  } else if (event.event_action === 'acknowledge' || event.event_action === 'resolve')
    errors.push(`'dedup_key' is required for ${event.event_action} events`);
  if (event.event_action === 'trigger') errors.push(...payloadErrors(event.payload));
  errors.push(...contextErrors(event));
  return errors;
}

export async function startPagerDutyReceiver(options: PagerDutyReceiverOptions): Promise<PagerDutyReceiver> {
  const routingKey = options.routingKey ?? randomBytes(16).toString('hex');
  recordSecret('routing-key', routingKey);
  let events: ReceivedEvent[] = [];
  let alerts: PagerDutyAlert[] = [];
  let faults: PagerDutyFault[] = [];
  let seq = 0;
  const held = new Set<ServerResponse>();

  function takeFault(): PagerDutyFault | undefined {
    const fault = faults.find((f) => f.times > 0);
    if (fault) fault.times--;
    return fault;
  }

  function record(entry: Omit<ReceivedEvent, 'at'>): ReceivedEvent {
    const received: ReceivedEvent = { at: new Date().toISOString(), ...entry };
    if (options.outboxDir && entry.status === 202) {
      mkdirSync(options.outboxDir, { recursive: true });
      received.filePath = join(options.outboxDir, `${String(++seq).padStart(3, '0')}-pagerduty.json`);
      const { routing_key: _key, ...shown } = entry.event;
      writeFileSync(received.filePath, `${JSON.stringify(shown, null, 2)}\n`);
    }
    events.push(received);
    return received;
  }

  /** Applies a valid event to PagerDuty's alerts as the docs describe de-duplication; returns its dedup_key. */
  function apply(event: Record<string, unknown>): string {
    const key = (event.dedup_key as string | undefined) ?? randomUUID();
    const open = alerts.find(
      (a) => a.routingKey === event.routing_key && a.dedupKey === key && a.status !== 'resolved',
    );
    const now = new Date().toISOString();
    if (event.event_action === 'trigger') {
      const payload = event.payload as { summary: string; severity: string };
      if (open) open.triggers++;
      else
        alerts.push({
          routingKey: event.routing_key as string,
          dedupKey: key,
          status: 'triggered',
          summary: payload.summary,
          severity: payload.severity,
          triggers: 1,
          openedAt: now,
        });
    } else if (open) {
      // Acknowledge or resolve apply to the open alert; without one they are dropped.
      open.status = event.event_action === 'resolve' ? 'resolved' : 'acknowledged';
      if (open.status === 'resolved') open.resolvedAt = now;
    }
    return key;
  }

  const server = await startHttpsServer(options.tls, async (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    if (req.method !== 'POST' || url.pathname !== '/v2/enqueue')
      return sendJson(res, 404, { status: 'Not Found', message: 'Not Found' });
    const text = await readBody(req);
    const fault = takeFault();
    if (fault?.hang) {
      // Never answered: the sender's timeout ends it. Nothing is taken.
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      record({ event: {}, status: 400, errors: ['JSON parse error'] });
      return sendJson(res, 400, {
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: ['JSON parse error'],
      });
    }
    const shown = isObject(event) ? event : {};
    if (fault?.status === 400) {
      const errors = ['refused on demand (injected by the emulator)'];
      record({ event: shown, status: 400, errors });
      return sendJson(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors });
    }
    if (fault?.status === 429) {
      record({ event: shown, status: 429 });
      return sendJson(res, 429, { status: 'throttle event', message: 'Request Limit Exceeded' });
    }
    if (fault?.status) {
      record({ event: shown, status: fault.status });
      return sendJson(res, fault.status, { status: 'error', message: `failing on demand with ${fault.status}` });
    }
    const errors = eventErrors(event, Buffer.byteLength(text));
    if (errors.length > 0) {
      record({ event: shown, status: 400, errors });
      return sendJson(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors });
    }
    const dedupKey = apply(shown);
    record({ event: shown, status: 202 });
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (res.destroyed) return;
    sendJson(res, 202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  });

  return {
    origin: server.origin,
    eventsUrl: `${server.origin}/v2/enqueue`,
    routingKey,
    events: () => [...events],
    accepted: () => events.filter((e) => e.status === 202),
    alerts: () => alerts.map((a) => ({ ...a })),
    fail: (fault) => {
      faults.push({ ...fault });
    },
    reset: () => {
      events = [];
      alerts = [];
      faults = [];
      for (const res of held) res.destroy();
    },
    stop: async () => {
      for (const res of held) res.destroy();
      await server.close();
    },
  };
}
