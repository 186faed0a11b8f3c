import { createHmac, timingSafeEqual } from 'node:crypto';
import { PostError, urlFromSetting, type HttpPoster } from '../../clients/http-poster';
import type { ChannelTarget, DigestView, Link } from '../../model';
import { digestWords } from '../digest-words';
import { subjectOf, summarize, type NoticeAction, type NoticeView } from '../notice';
import { displayLine, displayText } from '../../util/safe-text';
import { defineChannel, settingName, settingSchema } from './channel';
import { httpDelivery } from './http';
import { httpsLinks, type ChannelMessage, type ChannelRenderOptions } from './message';

/**
 * The generic JSON webhook: a versioned, documented payload (schemas/webhook-v1.json; README,
 * "Webhooks") with the same words every channel shows (lib/notify/notice.ts), signed with
 * HMAC-SHA256 over `<timestamp>.<body>` so a receiver can check that it comes from this monitor and
 * is not a replay. Text is plain text, made display-safe (no control or direction characters,
 * foreign URLs defanged, bounded); a receiver that shows it as HTML must still escape it.
 */

/** The payload's version: a new field may be added within it; a change that breaks a receiver is a new version. */
const WEBHOOK_SCHEMA_VERSION = 1;

export const SIGNATURE_HEADER = 'X-Entra-Sync-Watch-Signature';
export const TIMESTAMP_HEADER = 'X-Entra-Sync-Watch-Timestamp';
/** The message's id, the same on every retry: a receiver drops a second delivery of an id it has. */
export const DELIVERY_HEADER = 'X-Entra-Sync-Watch-Delivery';
/** How old (or how far ahead) a timestamp a receiver should accept: a replay window of five minutes. */
const REPLAY_WINDOW_SECONDS = 300;

interface WebhookLink {
  label: string;
  href: string;
}

/** One notice in a `notices` payload (schemas/webhook-v1.json, definitions.notice). */
interface WebhookNotice {
  key: string;
  kind: NoticeView['kind'];
  status: string;
  severity: NoticeView['severity'];
  alert: {
    fingerprint: string;
    condition: string;
    tenantId: string;
    tenantName: string | null;
    servicePrincipalId: string;
    jobId: string;
    app: string | null;
    startsAt: string | null;
    endsAt: string | null;
  };
  heading: string;
  stem: string;
  title: string;
  about: string;
  what: string;
  when: string;
  since: string | null;
  sinceSource: 'entra' | 'monitor';
  endedAt: string | null;
  endedWell: boolean | null;
  next: string | null;
  /** For a change notice: what changed since the route's last notice. */
  change: string | null;
  facts: { label: string; value: string }[];
  runbook: { meaning: string; steps: string[] } | null;
  links: WebhookLink[];
  snooze: WebhookLink[];
  /** What the reader can do, most important first (the notice's actions; `snooze` above is kept for older receivers). */
  actions: { kind: NoticeAction['kind']; label: string; url: string }[];
  /** Who acknowledged the firing period (standing, or cleared by a change); null when nobody did. */
  acknowledged: { by: string; at: string; comment: string | null; standing: boolean; text: string } | null;
  /** For an escalation notice, why it comes (`Nobody has acknowledged this alert in 30 min …`); null otherwise. */
  escalation: string | null;
}

/** What every payload carries, whatever its type. */
interface WebhookEnvelope {
  version: typeof WEBHOOK_SCHEMA_VERSION;
  type: 'notices' | 'digest';
  /** The message's idempotency key: the same on every retry of it. */
  id: string;
  createdAt: string;
  source: { product: 'Entra Sync Watch'; route: string; channel: string };
}

interface NoticesPayload extends WebhookEnvelope {
  type: 'notices';
  part: { index: number; total: number } | null;
  summary: { subject: string; severity: NoticeView['severity']; counts: string; resolvedOnly: boolean };
  notices: WebhookNotice[];
}

const text = (value: unknown, max: number) => displayText(value, max);
const line = (value: unknown, max: number) => displayLine(value, max);
const orNull = (value: string | undefined, max: number) =>
  value === undefined || value === '' ? null : line(value, max);

function links(list: Link[]): WebhookLink[] {
  return httpsLinks(list).map((l) => ({ label: line(l.label, 120), href: l.href }));
}

function noticeOf(v: NoticeView): WebhookNotice {
  const { alert, view } = v;
  const annotation = (key: string) =>
    typeof alert.annotations[key] === 'string' && alert.annotations[key] !== ''
      ? line(alert.annotations[key], 300)
      : null;
  return {
    key: v.item.key,
    kind: v.kind,
    status: v.status,
    severity: v.severity,
    alert: {
      fingerprint: alert.fingerprint,
      condition: alert.labels.condition,
      tenantId: line(alert.labels.tenantId, 300),
      tenantName: v.tenant === alert.labels.tenantId ? null : line(v.tenant, 300),
      servicePrincipalId: line(alert.labels.servicePrincipalId, 300),
      jobId: line(alert.labels.jobId, 300),
      app: annotation('servicePrincipalName'),
      startsAt: v.item.startsAt ?? null,
      endsAt: v.endedAt ?? null,
    },
    heading: line(v.heading, 300),
    stem: line(v.stem, 300),
    title: line(view.title, 200),
    about: line(view.about, 300),
    what: text(view.what, 1000),
    when: text(v.when, 600),
    since: v.since ?? null,
    sinceSource: v.sinceSource,
    endedAt: v.endedAt ?? null,
    endedWell: v.kind === 'resolved' ? v.resolvedWell : null,
    next: orNull(view.next, 600),
    change: orNull(v.change, 600),
    facts: view.facts.map(([label, value]) => ({ label: line(label, 120), value: text(value, 1000) })),
    runbook: view.runbook
      ? { meaning: text(view.runbook.meaning, 1000), steps: view.runbook.steps.map((s) => text(s, 1000)) }
      : null,
    links: links(view.links),
    snooze: links(v.snooze),
    actions: httpsLinks(v.actions).map((a) => ({
      kind: a.kind,
      label: line(a.label, 120),
      url: a.href,
    })),
    acknowledged: v.acknowledged
      ? {
          by: line(v.acknowledged.by, 300),
          at: v.acknowledged.at,
          comment: orNull(v.acknowledged.comment, 300),
          standing: v.acknowledged.standing,
          text: text(v.acknowledged.text, 600),
        }
      : null,
    escalation: orNull(v.escalation, 600),
  };
}

function envelope(type: WebhookEnvelope['type'], options: ChannelRenderOptions): WebhookEnvelope {
  return {
    version: WEBHOOK_SCHEMA_VERSION,
    type,
    id: options.id ?? '',
    createdAt: (options.now ?? new Date()).toISOString(),
    source: { product: 'Entra Sync Watch', route: options.route ?? 'root', channel: options.channel ?? '' },
  };
}

/** The `notices` payload for notice views (most urgent first, as noticeViews returns them). */
function noticesPayload(views: NoticeView[], options: ChannelRenderOptions = {}): NoticesPayload {
  const summary = summarize(views);
  return {
    ...(envelope('notices', options) as WebhookEnvelope & { type: 'notices' }),
    part: options.part ?? null,
    summary: {
      subject: line(subjectOf(views, summary), 300),
      severity: summary.severity,
      counts: line(summary.counts, 300),
      resolvedOnly: summary.resolvedOnly,
    },
    notices: views.map(noticeOf),
  };
}

/** The webhook message for notice views: the JSON body, exactly as it is signed and posted. */
function webhookMessage(views: NoticeView[], options: ChannelRenderOptions = {}): ChannelMessage {
  const payload = noticesPayload(views, options);
  return {
    body: JSON.stringify(payload),
    contentType: 'application/json; charset=utf-8',
    summary: payload.summary.subject,
  };
}

/** A `digest` payload (schemas/webhook-v1.json, definitions.digest): the route's daily digest as it stood when made. */
interface DigestPayload extends WebhookEnvelope {
  type: 'digest';
  summary: { subject: string; healthy: boolean };
  digest: Omit<DigestView, 'routeId' | 'at' | 'open' | 'resolved'> & {
    open: WebhookDigestAlert[];
    resolved: WebhookDigestAlert[];
  };
}

type WebhookDigestAlert = {
  fingerprint: string;
  severity: DigestView['open'][number]['severity'];
  condition: string;
  heading: string;
  tenant: string;
  since: string | null;
  endedAt: string | null;
  mutedBy: string | null;
};

function digestAlert(a: DigestView['open'][number]): WebhookDigestAlert {
  return {
    fingerprint: a.fingerprint,
    severity: a.severity,
    condition: a.condition,
    heading: line(a.heading, 300),
    tenant: line(a.tenant, 300),
    since: a.since ?? null,
    endedAt: a.endedAt ?? null,
    mutedBy: a.mutedBy ? line(a.mutedBy, 300) : null,
  };
}

/** The webhook message for a route's daily digest. */
function webhookDigest(digest: DigestView, options: ChannelRenderOptions = {}): ChannelMessage {
  const words = digestWords(digest);
  const payload: DigestPayload = {
    ...(envelope('digest', options) as WebhookEnvelope & { type: 'digest' }),
    summary: { subject: line(words.subject, 300), healthy: words.tone === 'healthy' },
    digest: {
      date: digest.date,
      timeZone: digest.timeZone,
      generatedAt: digest.generatedAt,
      tenants: digest.tenants,
      counts: digest.counts,
      open: digest.open.map(digestAlert),
      resolved: digest.resolved.map(digestAlert),
      silences: digest.silences.map((s) => ({
        kind: s.kind,
        what: line(s.what, 300),
        endsAt: s.endsAt,
        createdBy: line(s.createdBy, 300),
        comment: line(s.comment, 300),
      })),
      more: digest.more,
    },
  };
  return {
    body: JSON.stringify(payload),
    contentType: 'application/json; charset=utf-8',
    summary: payload.summary.subject,
  };
}

// ---- signature -------------------------------------------------------------------------------------

/** `v1=<hex>`: HMAC-SHA256 with the secret over `<timestamp>.<body>` (the body as the exact bytes sent). */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The headers that sign a post made at `now`: the timestamp (Unix seconds), the signature and the delivery id. */
export function signedHeaders(body: string, secret: string, now: Date, id: string): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signatureOf(secret, timestamp, body),
    [DELIVERY_HEADER]: id,
    'Idempotency-Key': id,
  };
}

/**
 * What a receiver checks (README, "Webhooks", has the same in a few lines): the timestamp is a
 * whole number of seconds within the replay window of now, and one of the header's `v1=`
 * signatures is the HMAC of `<timestamp>.<body>`, compared in constant time.
 */
export function verifySignature(input: {
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  secret: string;
  now?: Date;
  windowSeconds?: number;
}): { ok: true } | { ok: false; reason: string } {
  const { body, secret } = input;
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp))
    return { ok: false, reason: `no ${TIMESTAMP_HEADER} (Unix seconds)` };
  const timestamp = Number(input.timestamp);
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const window = input.windowSeconds ?? REPLAY_WINDOW_SECONDS;
  if (Math.abs(now - timestamp) > window)
    return {
      ok: false,
      reason: `timestamp ${timestamp} is ${now - timestamp} s from now, outside the ${window} s window`,
    };
  const expected = Buffer.from(signatureOf(secret, timestamp, body));
  const given = (input.signature ?? '').split(',').map((s) => Buffer.from(s.trim()));
  if (!given.some((g) => g.length === expected.length && timingSafeEqual(g, expected)))
    return { ok: false, reason: 'the signature does not match the body' };
  return { ok: true };
}

// ---- the channel ---------------------------------------------------------------------------------

/** A webhook of a route: `{ "type": "webhook", "urlSetting": "OPS_WEBHOOK_URL", "secretSetting": "OPS_WEBHOOK_SECRET" }`. */
export interface WebhookTarget extends ChannelTarget {
  type: 'webhook';
  /** The app setting holding the receiver's https URL. */
  urlSetting: string;
  /** The app setting holding the HMAC-SHA256 signing secret. */
  secretSetting: string;
}

/** The shortest signing secret accepted: 128 bits as hex, or a long enough passphrase. */
const MIN_SECRET_LENGTH = 32;

/** The signing secret from its setting, or a PostError naming the setting. */
function secretOf(poster: HttpPoster, name: string, describe: string): string {
  const secret = poster.setting(name);
  if (!secret)
    throw new PostError(`${describe}: the app setting ${name} (its signing secret) is not set`, 'misconfigured');
  if (secret.length < MIN_SECRET_LENGTH)
    throw new PostError(
      `${describe}: the signing secret in ${name} is ${secret.length} characters; use at least ${MIN_SECRET_LENGTH} (e.g. openssl rand -hex 32)`,
      'misconfigured',
    );
  return secret;
}

/** Webhooks carry as many alerts as an email. */
const MAX_ALERTS_PER_WEBHOOK = 50;
/** What a receiver is asked to take at most in one body (the notices of 50 alerts stay far below it). */
const MAX_WEBHOOK_BYTES = 1024 * 1024;

export const webhook = defineChannel<WebhookTarget, ChannelMessage>({
  type: 'webhook',
  noun: 'message',
  name: (target) => `webhook ${target.urlSetting}`,
  config: {
    kind: 'entry',
    fields: ['type', 'urlSetting', 'secretSetting'],
    address: 'urlSetting',
    summary: 'signed JSON webhooks',
    build(entry, path, report) {
      const urlSetting = settingName(
        entry.urlSetting,
        `${path}.urlSetting`,
        report,
        "the receiver's https URL",
        'TEAMS_OPS_URL',
      );
      const secretSetting = settingName(
        entry.secretSetting,
        `${path}.secretSetting`,
        report,
        'the HMAC-SHA256 signing secret',
        'TEAMS_OPS_URL',
      );
      if (urlSetting && secretSetting && urlSetting === secretSetting)
        report(`${path}.secretSetting`, 'must name another setting than urlSetting');
      if (!urlSetting || !secretSetting || urlSetting === secretSetting) return undefined;
      return { urlSetting, secretSetting };
    },
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'urlSetting', 'secretSetting'],
      description:
        'A generic JSON webhook (schemas/webhook-v1.json), signed with HMAC-SHA256 over the timestamp and the body.',
      properties: {
        type: { const: 'webhook' },
        urlSetting: settingSchema("The app setting that holds the receiver's https URL, e.g. OPS_WEBHOOK_URL."),
        secretSetting: settingSchema(
          'The app setting that holds the signing secret the receiver checks, e.g. OPS_WEBHOOK_SECRET.',
        ),
      },
    },
  },
  limits: { alertsPerMessage: MAX_ALERTS_PER_WEBHOOK, bytes: MAX_WEBHOOK_BYTES },
  layout: {
    notices: (views, ctx) =>
      webhookMessage(views, { part: ctx.part, id: ctx.id, now: ctx.now, route: ctx.route, channel: ctx.target.id }),
    digest: (digest, ctx) =>
      webhookDigest(digest, { id: ctx.id, now: ctx.now, route: ctx.route, channel: ctx.target.id }),
  },
  // A retry carries the same id (X-Entra-Sync-Watch-Delivery, Idempotency-Key): a receiver that got
  // a post whose answer was lost drops the second one.
  delivery: httpDelivery<WebhookTarget, ChannelMessage>({
    request: (content, ctx) => {
      const url = urlFromSetting(ctx.poster, ctx.target.urlSetting, ctx.describe, "receiver's https URL");
      const secret = secretOf(ctx.poster, ctx.target.secretSetting, ctx.describe);
      return {
        url,
        headers: {
          'Content-Type': content.contentType,
          'User-Agent': 'EntraSyncWatch/1',
          ...signedHeaders(content.body, secret, ctx.poster.now(), ctx.idempotencyKey),
        },
        body: content.body,
      };
    },
  }),
});
