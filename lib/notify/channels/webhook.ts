import { PostError, urlFromSetting, type HttpPoster } from '../../clients/http-poster';
import type { ChannelTarget, DigestView, Link } from '../../model';
import { digestWords } from '../digest-words';
import { httpsLinks, preheaderOf, subjectOf, summarize, type NoticeAction, type NoticeView } from '../notice';
import { stillOpenWords } from '../still-open';
import { displayLine, displayText } from '../../util/safe-text';
import { defineChannel, settingName, settingSchema } from './channel';
import { httpDelivery } from './http';
import { signedHeaders, signingSecret, type SigningSecret } from './webhook-signing';
import type { ChannelMessage, ChannelRenderOptions } from './message';

/**
 * The generic JSON webhook: a versioned, documented payload (schemas/webhook-v1.json; docs/channels.md,
 * "Webhooks") with the same words every channel shows (lib/notify/notice.ts), signed per Standard
 * Webhooks (webhook-signing.ts) so a receiver can check with a library of its own that it comes from
 * this monitor and is not a replay. Text is plain text, made display-safe (no control or direction
 * characters, foreign URLs defanged, bounded); a receiver that shows it as HTML must still escape it.
 */

/** The payload's version: a new field may be added within it; a change that breaks a receiver is a new version. */
const WEBHOOK_SCHEMA_VERSION = 1;

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
  /** How bad, in words: `Critical: act now`, `Warning`. */
  urgency: string;
  /** IDs and Graph requests for scripts. */
  scripts: { label: string; value: string }[];
  /** The signed "Review and decide" link, only when the alert offers a decision and WATCH_ACTIONS is on. */
  decide?: WebhookLink;
  /** A decided notice's decision; a resolved notice's decisions of its period (who decided). */
  decisions?: { title: string; by: string; at: string; detail: string }[];
  /** What the reader can do, most important first (the email's buttons: decide, open, acknowledge, snooze; `snooze` above is kept for older receivers). */
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
  summary: {
    subject: string;
    severity: NoticeView['severity'];
    counts: string;
    resolvedOnly: boolean;
    /** The message's first line, as an email's preview shows it: the kind first. */
    firstLine: string;
  };
  /** For a post of resolved notices: what is still open and muted in the route; null otherwise. */
  stillOpen: WebhookStillOpen | null;
  notices: WebhookNotice[];
}

interface WebhookStillOpen {
  headline: string;
  open: WebhookDigestAlert[];
  muted: WebhookDigestAlert[];
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
    urgency: v.urgency,
    scripts: (view.scripts ?? []).map(([label, value]) => ({ label: line(label, 120), value: text(value, 2000) })),
    ...(v.decide && links([v.decide]).length > 0 ? { decide: links([v.decide])[0] } : {}),
    ...(v.item.decisions?.length
      ? {
          decisions: v.item.decisions.map((d) => ({
            title: line(d.title, 120),
            by: line(d.by, 300),
            at: d.at,
            detail: text(d.detail, 600),
          })),
        }
      : {}),
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
  const open = options.stillOpen && summary.resolvedOnly ? options.stillOpen : undefined;
  const words = open ? stillOpenWords(open, views[0]?.timeZone) : undefined;
  return {
    ...(envelope('notices', options) as WebhookEnvelope & { type: 'notices' }),
    part: options.part ?? null,
    summary: {
      subject: line(subjectOf(views, summary), 300),
      severity: summary.severity,
      counts: line(summary.counts, 300),
      resolvedOnly: summary.resolvedOnly,
      firstLine: line(preheaderOf(views, summary, words?.headline), 600),
    },
    stillOpen:
      open && words
        ? { headline: line(words.headline, 300), open: open.open.map(digestAlert), muted: open.muted.map(digestAlert) }
        : null,
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

// ---- the channel ---------------------------------------------------------------------------------

/** A webhook of a route: `{ "type": "webhook", "urlSetting": "OPS_WEBHOOK_URL", "secretSetting": "OPS_WEBHOOK_SECRET" }`. */
export interface WebhookTarget extends ChannelTarget {
  type: 'webhook';
  /** The app setting holding the receiver's https URL. */
  urlSetting: string;
  /** The app setting holding the signing secret (`whsec_<base64>`, the Standard Webhooks form). */
  secretSetting: string;
}

/** The signing secret from its setting, or a PostError naming the setting and what is wrong with it. */
function secretOf(poster: HttpPoster, name: string, describe: string): SigningSecret {
  const value = poster.setting(name);
  if (!value)
    throw new PostError(`${describe}: the app setting ${name} (its signing secret) is not set`, 'misconfigured');
  const secret = signingSecret(value);
  if ('problem' in secret)
    throw new PostError(`${describe}: the signing secret in ${name} ${secret.problem}`, 'misconfigured');
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
        'the Standard Webhooks signing secret (whsec_ and base64)',
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
        'A generic JSON webhook (schemas/webhook-v1.json), signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).',
      properties: {
        type: { const: 'webhook' },
        urlSetting: settingSchema("The app setting that holds the receiver's https URL, e.g. OPS_WEBHOOK_URL."),
        secretSetting: settingSchema(
          'The app setting that holds the signing secret the receiver checks, e.g. OPS_WEBHOOK_SECRET: whsec_ and the base64 of 24 to 64 random bytes (the Standard Webhooks form).',
        ),
      },
    },
  },
  limits: { alertsPerMessage: MAX_ALERTS_PER_WEBHOOK, bytes: MAX_WEBHOOK_BYTES },
  layout: {
    notices: (views, ctx) =>
      webhookMessage(views, {
        part: ctx.part,
        id: ctx.id,
        now: ctx.now,
        route: ctx.route,
        channel: ctx.target.id,
        stillOpen: ctx.stillOpen,
      }),
    digest: (digest, ctx) =>
      webhookDigest(digest, { id: ctx.id, now: ctx.now, route: ctx.route, channel: ctx.target.id }),
  },
  // A retry carries the same id (webhook-id, and the deprecated X-Entra-Sync-Watch-Delivery and
  // Idempotency-Key): a receiver that got a post whose answer was lost drops the second one.
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
