/**
 * Stand-ins for the two kinds of channel Entra Sync Watch posts to besides email, over HTTPS on
 * 127.0.0.1, each checking what the real receiver checks and recording what it took:
 *
 *   POST /workflows/{name}/triggers/manual/paths/invoke?api-version=1&sp=...&sv=1.0&sig={sig}
 *        A Teams Workflows webhook ("When a Teams webhook request is received"): the URL's `sig`
 *        is its only credential (401 without the right one); the body must be the Workflows
 *        envelope `{ "type": "message", "attachments": [{ "contentType":
 *        "application/vnd.microsoft.card.adaptive", "content": { "type": "AdaptiveCard", ... } }] }`
 *        (400 otherwise). It answers 202 Accepted with no body, as the trigger does: the flow posts
 *        the card afterwards, so a card Teams would refuse (over 28,672 bytes) is recorded with the
 *        problem the flow run would report, while the sender still got 202.
 *
 *   POST /hooks/{name}
 *        A generic receiver that verifies either of two signing schemes (and records which one a post used):
 *        - the product's deprecated headers (sent until 30 June 2027), as docs/channels.md ("Webhooks") describes them:
 *          an `X-Entra-Sync-Watch-Timestamp` within 300 s of its own clock and an `X-Entra-Sync-Watch-Signature` of `v1=` + hex
 *          HMAC-SHA256(secret, "<timestamp>.<body>"); a delivery id (`X-Entra-Sync-Watch-Delivery`);
 *        - Standard Webhooks (https://www.standardwebhooks.com, the spec's `webhook-id`, `webhook-timestamp`,
 *          `webhook-signature: v1,<base64>` headers), verified by the `standardwebhooks` package with the same
 *          secret, which has the spec's `whsec_<base64>` form; the timestamp within the same window;
 *          `webhook-id` is the delivery id. A post with a `webhook-signature` (every post of the product) is
 *          checked this way.
 *        401 otherwise; a delivery id it already took is answered 200 and recorded as a duplicate, as a
 *        receiver that deduplicates would.
 *
 * Faults on demand: the next N posts answered with a status, held without an answer (`hang`), or
 * taken and answered late (`delayMs`, so the sender times out on a post that did arrive). With
 * `outboxDir`, each card and payload is also written as a .json file a person can open (paste a
 * card into https://adaptivecards.io/designer to see it). Invented where the real services are not
 * documented: the exact 400 bodies, and the problem text of a refused card (emulators/README.md).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { header, readBody, sendEmpty, sendJson, startHttpsServer } from './http';
import { recordSecret } from './secrets';
import type { TlsMaterial } from './tls';

type ChannelKind = 'teams' | 'webhook';
/** How a webhook post was signed: the deprecated `X-Entra-Sync-Watch-*` headers, or Standard Webhooks' `webhook-*` headers. */
type SigningScheme = 'entra-sync-watch' | 'standard-webhooks';

export interface ReceivedPost {
  at: string;
  kind: ChannelKind;
  /** The workflow's or hook's name in its URL. */
  name: string;
  body: string;
  headers: Record<string, string>;
  /** Teams: the envelope is right; webhook: the signature and timestamp check out. */
  verified: boolean;
  /** Why it was refused (or, for a card, why the flow run would fail). */
  problem?: string;
  /** A webhook delivery id taken before (dropped by a deduplicating receiver). */
  duplicate?: boolean;
  /** Webhook posts: the signing scheme its headers used (`standard-webhooks` when it has a `webhook-signature`). */
  scheme?: SigningScheme;
  filePath?: string;
}

interface ReceiverFault {
  /** Which kind of post it applies to (default: both). */
  kind?: ChannelKind;
  /** Answer with this status instead (e.g. 500, 429, 503). */
  status?: number;
  /** Hold the request without an answer until the sender gives up (nothing is recorded). */
  hang?: boolean;
  /** Take the post (record it), then answer only after this long. */
  delayMs?: number;
  /**
   * Answer `status` (default 400) with a careless error page that echoes the request back: the
   * full URL with its query (a Workflows `sig`, a webhook's `?token=`), the signature header, the
   * webhook's signing secret and a bearer token, as a misconfigured proxy or a debug endpoint does.
   */
  echo?: boolean;
  /** How many posts it applies to. */
  times: number;
}

export interface WebhookReceiverOptions {
  tls: TlsMaterial;
  outboxDir?: string;
  /**
   * The webhook signing secret; default `whsec_` + 32 random bytes in base64 (the Standard Webhooks form). Today's
   * scheme uses the whole string as its HMAC key; Standard Webhooks the bytes after `whsec_` (a secret without
   * that prefix: its UTF-8 bytes, in the package's `raw` format, as the README tells receivers).
   */
  secret?: string;
  /** The receiver's clock, for the replay window (default: the real one). */
  clock?: () => Date;
  /** How old or far ahead a timestamp it accepts (default 300 s). */
  windowSeconds?: number;
}

export interface WebhookReceiver {
  origin: string;
  /** A Workflows webhook URL for the Teams channel `name` (its `sig` is the secret). */
  teamsUrl(name?: string): string;
  /** The URL of the generic webhook `name`. */
  webhookUrl(name?: string): string;
  /** The signing secret the generic webhooks check (both schemes; `whsec_<base64>` unless one was given). */
  secret: string;
  /** Every post received, refused ones included, oldest first. */
  posts(kind?: ChannelKind): ReceivedPost[];
  /** Posts taken: verified and, for webhooks, not a duplicate. */
  accepted(kind?: ChannelKind): ReceivedPost[];
  fail(fault: ReceiverFault): void;
  reset(): void;
  stop(): Promise<void>;
}

/** Teams refuses a message whose properties exceed this many bytes (the flow run fails with MessageSizeExceeded). */
export const TEAMS_MESSAGE_LIMIT_BYTES = 28_672;
const CARD_TYPE = 'application/vnd.microsoft.card.adaptive';

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** What is wrong with a Workflows envelope and its card, or undefined. */
function envelopeProblem(body: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'the body is not JSON';
  }
  const message = json as {
    type?: unknown;
    attachments?: {
      contentType?: unknown;
      content?: { type?: unknown; version?: unknown; body?: unknown; actions?: unknown };
    }[];
  };
  if (message.type !== 'message') return 'type must be "message"';
  if (!Array.isArray(message.attachments) || message.attachments.length === 0) return 'attachments must hold the card';
  const [attachment] = message.attachments;
  if (attachment?.contentType !== CARD_TYPE) return `attachments[0].contentType must be ${CARD_TYPE}`;
  const card = attachment.content;
  if (card?.type !== 'AdaptiveCard') return 'attachments[0].content.type must be AdaptiveCard';
  if (typeof card.version !== 'string' || !/^1\.\d$/.test(card.version))
    return 'attachments[0].content.version must be an Adaptive Card version such as "1.5"';
  if (!Array.isArray(card.body)) return 'attachments[0].content.body must be a list of elements';
  return undefined;
}

/** What Teams would refuse in a card it was handed (the flow run fails; the webhook already answered 202). */
function cardProblem(body: string): string | undefined {
  if (Buffer.byteLength(body) > TEAMS_MESSAGE_LIMIT_BYTES)
    return `MessageSizeExceeded: ${Buffer.byteLength(body)} bytes, at most ${TEAMS_MESSAGE_LIMIT_BYTES}`;
  const urls = [...body.matchAll(/"url":"([^"]*)"/g)].map((m) => m[1] as string);
  const bad = urls.find((u) => !u.startsWith('https://'));
  return bad === undefined ? undefined : `an Action.OpenUrl to a non-https URL: ${bad.slice(0, 80)}`;
}

/** A timestamp (seconds) outside the replay window, as a problem, or undefined. */
function staleness(timestamp: string, now: Date, windowSeconds: number): string | undefined {
  const age = Math.floor(now.getTime() / 1000) - Number(timestamp);
  return Math.abs(age) > windowSeconds
    ? `timestamp outside the ${windowSeconds} s replay window (${age} s old)`
    : undefined;
}

const JSON_BODY = (req: IncomingMessage) =>
  /^application\/json\b/i.test(header(req, 'content-type') ?? '') ? undefined : 'Content-Type must be application/json';

/** The deprecated scheme, written from the description in docs/channels.md, "Webhooks" (not from the product's code). */
function signatureProblem(
  req: IncomingMessage,
  body: string,
  secret: string,
  now: Date,
  windowSeconds: number,
): string | undefined {
  const timestamp = header(req, 'x-entra-sync-watch-timestamp');
  const signature = header(req, 'x-entra-sync-watch-signature');
  if (!timestamp || !/^\d+$/.test(timestamp)) return 'no X-Entra-Sync-Watch-Timestamp';
  const stale = staleness(timestamp, now, windowSeconds);
  if (stale) return stale;
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  const given = (signature ?? '').split(',').map((s) => Buffer.from(s.trim()));
  if (!given.some((g) => g.length === expected.length && timingSafeEqual(g, expected))) return 'signature mismatch';
  return JSON_BODY(req);
}

/**
 * Standard Webhooks, checked by the `standardwebhooks` package (the spec's reference library): `webhook-id`,
 * `webhook-timestamp`, `webhook-signature` (space-separated `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`).
 * The receiver's own window is applied first, so its clock governs replays as for the deprecated scheme; the package
 * then also holds the timestamp to its fixed 5 minutes of the real clock.
 */
function standardWebhookProblem(
  req: IncomingMessage,
  body: string,
  verifier: Webhook,
  now: Date,
  windowSeconds: number,
): string | undefined {
  const headers = {
    'webhook-id': header(req, 'webhook-id') ?? '',
    'webhook-timestamp': header(req, 'webhook-timestamp') ?? '',
    'webhook-signature': header(req, 'webhook-signature') ?? '',
  };
  if (!headers['webhook-id'] || !/^\d+$/.test(headers['webhook-timestamp']))
    return 'webhook-id and webhook-timestamp (seconds) are required with webhook-signature';
  const stale = staleness(headers['webhook-timestamp'], now, windowSeconds);
  if (stale) return stale;
  try {
    verifier.verify(body, headers, { jsonParse: false });
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    return error.message === 'No matching signature found' ? 'signature mismatch' : error.message;
  }
  return JSON_BODY(req);
}

/** The bearer token an echoing receiver shows (a token of its own, never one of ours). */
export const ECHO_BEARER = 'eyJhbGciOiJub25lIn0.eyJlY2hvIjoidHJ1ZSJ9.ZWNoby1zaWduYXR1cmUtb2YtYS1yZWNlaXZlci10b2tlbg';

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const secret = options.secret ?? `whsec_${randomBytes(32).toString('base64')}`;
  const standard = secret.startsWith('whsec_')
    ? new Webhook(secret)
    : new Webhook(Buffer.from(secret), { format: 'raw' });
  const workflowSig = randomBytes(24).toString('base64url');
  recordSecret('webhook-secret', secret);
  recordSecret('sas-signature', workflowSig);
  const clock = options.clock ?? (() => new Date());
  const windowSeconds = options.windowSeconds ?? 300;
  let posts: ReceivedPost[] = [];
  let faults: ReceiverFault[] = [];
  let seq = 0;
  const held = new Set<ServerResponse>();
  const deliveries = new Set<string>();

  function takeFault(kind: ChannelKind): ReceiverFault | undefined {
    const fault = faults.find((f) => f.times > 0 && (f.kind === undefined || f.kind === kind));
    if (fault) fault.times--;
    return fault;
  }

  function record(post: Omit<ReceivedPost, 'at'>): ReceivedPost {
    const entry: ReceivedPost = { at: clock().toISOString(), ...post };
    if (options.outboxDir && post.verified) {
      mkdirSync(options.outboxDir, { recursive: true });
      entry.filePath = join(options.outboxDir, `${String(++seq).padStart(3, '0')}-${post.kind}-${post.name}.json`);
      try {
        writeFileSync(entry.filePath, `${JSON.stringify(JSON.parse(post.body), null, 2)}\n`);
      } catch {
        writeFileSync(entry.filePath, post.body);
      }
    }
    posts.push(entry);
    return entry;
  }

  async function answer(
    res: ServerResponse,
    fault: ReceiverFault | undefined,
    status: number,
    body?: unknown,
  ): Promise<void> {
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (res.destroyed) return;
    if (body === undefined) sendEmpty(res, status);
    else sendJson(res, status, body);
  }

  const server = await startHttpsServer(options.tls, async (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    if (req.method === 'GET' && url.pathname === '/_receiver/posts')
      return sendJson(
        res,
        200,
        posts.map(({ body: _body, ...rest }) => rest),
      );
    const teams = /^\/workflows\/([\w-]+)\/triggers\/manual\/paths\/invoke$/.exec(url.pathname);
    const hook = /^\/hooks\/([\w-]+)$/.exec(url.pathname);
    if (req.method !== 'POST' || (!teams && !hook))
      return sendJson(res, 404, { error: { code: 'NotFound', message: 'no such workflow or hook' } });
    const kind: ChannelKind = teams ? 'teams' : 'webhook';
    const name = (teams ?? hook)?.[1] as string;
    const body = await readBody(req);
    const fault = takeFault(kind);
    if (fault?.hang) {
      // Never answered: the sender's timeout must end it. Nothing is recorded.
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    if (fault?.echo) {
      recordSecret('access-token', ECHO_BEARER);
      const page =
        `<html><body><h1>Bad Request</h1><p>POST https://${header(req, 'host') ?? 'localhost'}${req.url ?? '/'} failed.</p>` +
        `<pre>X-Entra-Sync-Watch-Signature: ${header(req, 'x-entra-sync-watch-signature') ?? ''}\n` +
        `Authorization: Bearer ${ECHO_BEARER}\nconfigured secret=${secret}</pre></body></html>`;
      res.writeHead(fault.status || 400, { 'Content-Type': 'text/html' });
      res.end(page);
      return;
    }
    if (fault?.status)
      return sendJson(
        res,
        fault.status,
        { error: { code: 'FailingOnDemand', message: `failing on demand with ${fault.status}` } },
        fault.status === 429 || fault.status === 503 ? { 'Retry-After': '1' } : {},
      );
    const headers = headersOf(req);
    if (kind === 'teams') {
      const sig = url.searchParams.get('sig') ?? '';
      if (sig.length !== workflowSig.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(workflowSig))) {
        record({ kind, name, body, headers, verified: false, problem: 'the URL signature (sig) is wrong' });
        return sendJson(res, 401, {
          error: {
            code: 'DirectApiInvalidAuthorizationSignature',
            message: 'The provided authorization signature is invalid.',
          },
        });
      }
      const problem = envelopeProblem(body);
      if (problem) {
        record({ kind, name, body, headers, verified: false, problem });
        return sendJson(res, 400, { error: { code: 'InvalidRequestContent', message: problem } });
      }
      record({ kind, name, body, headers, verified: true, problem: cardProblem(body) });
      return answer(res, fault, 202);
    }
    const scheme: SigningScheme = header(req, 'webhook-signature') ? 'standard-webhooks' : 'entra-sync-watch';
    const problem =
      scheme === 'standard-webhooks'
        ? standardWebhookProblem(req, body, standard, clock(), windowSeconds)
        : signatureProblem(req, body, secret, clock(), windowSeconds);
    if (problem) {
      record({ kind, name, body, headers, verified: false, problem, scheme });
      return sendJson(res, 401, { error: { code: 'InvalidSignature', message: problem } });
    }
    const delivery =
      (scheme === 'standard-webhooks' ? header(req, 'webhook-id') : header(req, 'x-entra-sync-watch-delivery')) ?? '';
    const duplicate = delivery !== '' && deliveries.has(delivery);
    deliveries.add(delivery);
    record({ kind, name, body, headers, verified: true, duplicate, scheme });
    return answer(res, fault, 200, { received: true, duplicate });
  });

  const query = `api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${workflowSig}`;
  return {
    origin: server.origin,
    teamsUrl: (name = 'ops') => `${server.origin}/workflows/${name}/triggers/manual/paths/invoke?${query}`,
    webhookUrl: (name = 'ops') => `${server.origin}/hooks/${name}`,
    secret,
    posts: (kind) => posts.filter((p) => kind === undefined || p.kind === kind),
    accepted: (kind) => posts.filter((p) => p.verified && !p.duplicate && (kind === undefined || p.kind === kind)),
    fail: (fault) => {
      faults.push({ ...fault });
    },
    reset: () => {
      posts = [];
      faults = [];
      deliveries.clear();
      for (const res of held) res.destroy();
    },
    stop: async () => {
      for (const res of held) res.destroy();
      await server.close();
    },
  };
}
