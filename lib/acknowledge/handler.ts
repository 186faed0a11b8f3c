import type { Acknowledgement, AlertRecord } from '../model';
import { acknowledgementOf } from '../model/acknowledgement';
import type { Policy, Route } from '../model/policy';
import { allReceivers } from '../dispatch/route';
import { alertHeading, tenantNameOf, viewOf } from '../evaluate/view';
import type { LinkLedger, LinkUse } from '../store/link-ledger';
import { LINK_PAGE_HEADERS, problemPage } from '../snooze/page';
import type { SnoozeSettings } from '../snooze/links';
import { ConcurrentUpdateError, type AlertStore } from '../store/alert-store';
import { readSession } from '../actions/session';
import { displayLine } from '../util/safe-text';
import { formatTime } from '../util/text';
import { formToken, forgedFormRefusal } from '../util/form-token';
import type { LinkPageRequest } from '../util/link-form';
import { acknowledgeFields, verifyAcknowledge, type AcknowledgeLink } from './links';
import { acknowledgedPage, confirmPage, MAX_COMMENT_CHARS, MAX_WHO_CHARS, type WhoField } from './page';

/**
 * What the acknowledge endpoint does (functions/acknowledge.ts registers it). A GET only shows what
 * the link would do and a form, because mail scanners and link previews open links by themselves;
 * only the form's POST acts, and only with the link's signature, the form's anti-forgery token (a
 * page on another site cannot read it) and an Origin of this monitor. Nothing about the alert is
 * taken from the request but which alert, which firing period and which receiver's message.
 *
 * The first confirmation of a link claims it in the link ledger (insert-if-absent, so one claim
 * wins across instances) with the acknowledgement it makes, then writes that acknowledgement onto
 * the alert's row under its ETag. A second confirmation of the same link finds the claim: it says
 * so, and finishes the write if a crash came between the two. The first acknowledgement of a
 * firing period stands: a later one (another link, another person) is told who was first.
 */

export interface AcknowledgeDeps {
  /** SNOOZE_SIGNING_KEY and SNOOZE_BASE_URL: acknowledge links share them (lib/acknowledge/links.ts). */
  settings: SnoozeSettings;
  alerts: Pick<AlertStore, 'get' | 'save'>;
  ledger: Pick<LinkLedger, 'claim' | 'get' | 'sweep'>;
  /** The config's routes (whose recipients an email's page offers) and tenant names; absent when the config cannot be read. */
  policy?: Pick<Policy, 'route' | 'tenantNames'>;
  now: Date;
  /**
   * ACTIONS_SIGNING_KEY, when decisions from an alert (issue 19) are on: whoever has signed in on
   * the decide pages (their sealed session cookie, from the ID token the monitor verified) is who
   * acknowledges. Sign-in is never asked for here: without a session the page asks as before.
   */
  sessionKey?: string;
}

export interface AcknowledgeRequest extends LinkPageRequest {
  /** The request's cookies: the decide pages' session cookie, when the person signed in there. */
  cookies?: Record<string, string>;
}

/** Who signed in, by the decide pages' session cookie (lib/actions/session.ts), when decisions from an alert are on. */
type SignedIn = { name: string; upn: string };

function signedInPerson(request: AcknowledgeRequest, deps: AcknowledgeDeps): SignedIn | undefined {
  if (!deps.sessionKey || !request.cookies) return undefined;
  const person = readSession(request.cookies, deps.sessionKey, deps.now)?.person;
  return person ? { name: person.name, upn: person.upn } : undefined;
}

export interface AcknowledgeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What the ledger keeps of a confirmed link: the acknowledgement it makes. */
type AcknowledgeUse = Omit<Acknowledgement, 'cleared' | 'linkId'> & { tenantId: string; fingerprint: string };

/** How many times the alert's row is read again when a cycle moved it meanwhile. */
const SAVE_ATTEMPTS = 5;

const page = (status: number, body: string): AcknowledgeResponse => ({
  status,
  headers: LINK_PAGE_HEADERS,
  body,
});
const problem = (status: number, title: string, text: string) => page(status, problemPage(title, text));

function headingOf(alert: AlertRecord, deps: AcknowledgeDeps): string {
  const tenantNames = deps.policy?.tenantNames ?? new Map<string, string>();
  const view = viewOf(alert, { now: deps.now, tenantNames });
  return displayLine(alertHeading(view, alert, tenantNameOf(alert, tenantNames)), 200);
}

/** `a Teams channel`, `a webhook`: what a name field says the message went to. */
function channelWords(type: string): string {
  return type === 'teams' ? 'a Teams channel' : type === 'webhook' ? 'a webhook' : `a ${type} channel`;
}

/** Whom the page asks about: the signed-in person, the recipients of the email the link came in, or a name. */
function whoFieldOf(link: AcknowledgeLink, deps: AcknowledgeDeps, signedIn: SignedIn | undefined): WhoField {
  if (signedIn) return { kind: 'signed-in', name: signedInName(signedIn) };
  const receiver: Route | undefined = deps.policy
    ? allReceivers(deps.policy.route).find((r) => r.id === link.receiver)
    : undefined;
  if (receiver && !receiver.channel) return { kind: 'recipients', recipients: [...receiver.to, ...receiver.cc] };
  return {
    kind: 'name',
    where: receiver?.channel ? channelWords(receiver.channel.type) : 'people this monitor no longer routes to',
  };
}

/** `Adele Vance (adele.vance@contoso.com)`: the name and sign-in name of the verified ID token. */
function signedInName(person: SignedIn): string {
  const name = displayLine(person.name, MAX_WHO_CHARS);
  return person.upn && person.upn !== person.name ? `${name} (${displayLine(person.upn, MAX_WHO_CHARS)})` : name;
}

/** Who acknowledges, from the form as the page asked it; undefined when the form does not say (or says someone not offered). */
function whoFrom(fields: AcknowledgeRequest['fields'], who: WhoField): string | undefined {
  if (who.kind === 'signed-in') return who.name;
  const given = displayLine(fields.who ?? '', MAX_WHO_CHARS);
  if (!given) return undefined;
  if (who.kind === 'name') return given;
  return who.recipients.find((r) => r.toLowerCase() === given.toLowerCase());
}

/** The alert a verified link names, or the page saying why there is nothing to acknowledge. */
async function alertFor(link: AcknowledgeLink, deps: AcknowledgeDeps): Promise<AlertRecord | AcknowledgeResponse> {
  const alert = await deps.alerts.get(link.tenantId, link.fingerprint);
  if (!alert)
    return problem(
      404,
      'No such alert',
      'The monitor has no alert by this link any more: it ended more than a week ago. Nothing to acknowledge.',
    );
  const heading = headingOf(alert, deps);
  if (alert.startsAt !== link.startsAt)
    return problem(
      409,
      'This link is about an earlier firing',
      `${heading} has ended and started again since this message (it fires now since ${formatTime(alert.startsAt)}). This link was for its firing from ${formatTime(link.startsAt)}: use the Acknowledge link of a newer message.`,
    );
  if (alert.state !== 'firing')
    return problem(
      200,
      'This alert has ended',
      `${heading} ended at ${formatTime(alert.endsAt)}. Nothing to acknowledge: if it starts again, a new message says so.`,
    );
  const ack = acknowledgementOf(alert);
  // A change cleared the acknowledgement after this link's message was made: the link is about the alert as it was.
  if (ack?.cleared && link.issued < Math.floor(Date.parse(ack.cleared.at) / 1000))
    return problem(
      409,
      'The alert changed after this message',
      `${heading} changed at ${formatTime(ack.cleared.at)} (${ack.cleared.why}), after the message this link came in. Use the Acknowledge link of the newer message, which says what changed.`,
    );
  return alert;
}

/** The page of an acknowledgement that stands (this request's, or an earlier one). */
function acknowledged(alert: AlertRecord, ack: Acknowledgement, already: boolean, deps: AcknowledgeDeps) {
  return page(
    already ? 200 : 201,
    acknowledgedPage({
      heading: headingOf(alert, deps),
      by: ack.by,
      at: ack.at,
      ...(ack.comment ? { comment: ack.comment } : {}),
      already,
    }),
  );
}

/** The page for a link that was used and whose acknowledgement a change has since cleared. */
function usedPage(use: LinkUse<AcknowledgeUse>, ack: Acknowledgement, heading: string): AcknowledgeResponse {
  return problem(
    409,
    'This link was already used',
    `This link was used at ${formatTime(use.record.at)} by ${use.record.by} to acknowledge ${heading}; then ${ack.cleared?.why ?? 'a change'} cleared it at ${formatTime(ack.cleared?.at)}. A link works once: use the Acknowledge link of the newer message.`,
  );
}

/**
 * Writes a claimed acknowledgement onto the alert's row (again after a crash), unless the period
 * is over, a change came after the link's message, or someone acknowledged it first; re-reads the
 * row when a cycle moved it meanwhile. The page to answer with.
 */
async function recordOnAlert(
  link: AcknowledgeLink,
  use: LinkUse<AcknowledgeUse>,
  deps: AcknowledgeDeps,
): Promise<AcknowledgeResponse> {
  const { record } = use;
  for (let attempt = 1; ; attempt++) {
    const alert = await alertFor(link, deps);
    if (!('fingerprint' in alert)) return alert;
    const existing = acknowledgementOf(alert);
    if (existing?.linkId === use.linkId)
      return existing.cleared
        ? usedPage(use, existing, headingOf(alert, deps))
        : acknowledged(alert, existing, true, deps);
    if (existing && !existing.cleared) return acknowledged(alert, existing, true, deps);
    const ack: Acknowledgement = {
      startsAt: record.startsAt,
      by: record.by,
      at: record.at,
      ...(record.comment ? { comment: record.comment } : {}),
      via: record.via,
      linkId: use.linkId,
    };
    try {
      return acknowledged(await deps.alerts.save({ ...alert, acknowledged: ack }), ack, false, deps);
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= SAVE_ATTEMPTS) throw error;
    }
  }
}

/**
 * What the GET of a link says when it was used before or the alert is acknowledged already; the
 * confirmation form otherwise (also for a link claimed whose write a crash interrupted: its POST
 * finishes that write). Reads only.
 */
function alreadyDone(
  earlier: LinkUse<AcknowledgeUse> | undefined,
  alert: AlertRecord,
  deps: AcknowledgeDeps,
): AcknowledgeResponse | undefined {
  const current = acknowledgementOf(alert);
  if (earlier && current?.linkId === earlier.linkId)
    return current.cleared
      ? usedPage(earlier, current, headingOf(alert, deps))
      : acknowledged(alert, current, true, deps);
  return current && !current.cleared ? acknowledged(alert, current, true, deps) : undefined;
}

/** Handles a GET (the confirmation page) or a POST (acknowledge) of the acknowledge endpoint. */
export async function handleAcknowledge(
  request: AcknowledgeRequest,
  deps: AcknowledgeDeps,
): Promise<AcknowledgeResponse> {
  const { method, fields } = request;
  if (method !== 'GET' && method !== 'POST')
    return {
      ...problem(405, 'Not allowed', 'Open the link from the message.'),
      headers: { ...LINK_PAGE_HEADERS, Allow: 'GET, POST' },
    };
  const verified = verifyAcknowledge(fields, deps.settings.key, deps.now);
  if (!verified.ok) return problem(verified.status, 'This Acknowledge link does not work', verified.reason);
  const { link } = verified;
  // A POST must come from this monitor's own page: its Origin, and the token only that page holds.
  const forged = forgedFormRefusal(request, deps.settings, 'acknowledge', link.linkId, deps.now);
  if (forged) return problem(403, forged.title, forged.text);
  const alert = await alertFor(link, deps);
  if (!('fingerprint' in alert)) return alert;
  const earlier = await deps.ledger.get<AcknowledgeUse>('acknowledge', link.linkId);
  const signedIn = signedInPerson(request, deps);

  if (method === 'GET') {
    const done = alreadyDone(earlier, alert, deps);
    if (done) return done;
    const cleared = acknowledgementOf(alert);
    return page(
      200,
      confirmPage({
        heading: headingOf(alert, deps),
        since: alert.startsAt as string,
        who: whoFieldOf(link, deps, signedIn),
        fields: {
          ...acknowledgeFields(fields),
          form: formToken(deps.settings.key, 'acknowledge', link.linkId, deps.now),
        },
        ...(cleared?.cleared
          ? {
              clearedBefore: `${cleared.by} had acknowledged it at ${formatTime(cleared.at)}, before ${cleared.cleared.why} at ${formatTime(cleared.cleared.at)}.`,
            }
          : {}),
      }),
    );
  }

  // A second confirmation of the link: what its first made (finishing the write if a crash interrupted it).
  if (earlier) return recordOnAlert(link, earlier, deps);
  const who = whoFieldOf(link, deps, signedIn);
  const by = whoFrom(fields, who);
  if (!by)
    return problem(
      400,
      'Say who is acknowledging',
      who.kind === 'recipients'
        ? 'Choose yourself among the people the message went to, then press Acknowledge.'
        : 'Give your name or email, then press Acknowledge.',
    );
  const comment = displayLine(fields.comment ?? '', MAX_COMMENT_CHARS);
  const { use } = await deps.ledger.claim<AcknowledgeUse>('acknowledge', link.linkId, {
    at: deps.now,
    expiresAt: new Date(link.expires * 1000),
    keepUntil: new Date(link.expires * 1000),
    record: {
      tenantId: link.tenantId,
      fingerprint: link.fingerprint,
      startsAt: link.startsAt,
      by,
      at: deps.now.toISOString(),
      ...(comment ? { comment } : {}),
      via: link.receiver,
    },
  });
  const answer = await recordOnAlert(link, use, deps);
  // Each new confirmation clears the uses of links that have expired, so the ledger holds about a
  // week of acknowledgements without a cycle of its own to clean it; a failure here costs nothing.
  await deps.ledger.sweep(['acknowledge'], deps.now).catch(() => 0);
  return answer;
}
