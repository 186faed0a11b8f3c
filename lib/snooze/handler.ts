import { createHash } from 'node:crypto';
import type { AlertRecord } from '../model';
import { displayLine } from '../util/safe-text';
import { alertHeading, tenantNameOf, viewOf } from '../evaluate/view';
import type { AlertStore } from '../store/alert-store';
import type { LinkUse, SilenceStore, StoredSilence } from '../store/silence-store';
import { formatTime } from '../util/text';
import {
  DURATION_WORDS,
  SNOOZE_DURATIONS,
  snoozable,
  snoozeParams,
  verifySnooze,
  type SnoozeRequest,
  type SnoozeSettings,
} from './links';
import { confirmPage, donePage, problemPage, SNOOZE_PAGE_HEADERS } from './page';

/**
 * What the snooze endpoint does (functions/snooze.ts registers it): a GET only shows what the
 * link would do and a button, because mail scanners and link previews open links by themselves;
 * only the POST of that button, with the same signed fields, makes the silence. Both check the
 * signature and the expiry; nothing about the alert is trusted from the request but its identity.
 */

export interface SnoozeDeps {
  snooze: SnoozeSettings;
  alerts: AlertStore;
  silences: SilenceStore;
  tenantNames: Map<string, string>;
  now: Date;
}

export interface SnoozeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const page = (status: number, body: string): SnoozeResponse => ({ status, headers: SNOOZE_PAGE_HEADERS, body });

/** `Quarantined: Woodgrove to Contoso (Contoso)`, as the alert's messages name it. */
function headingOf(alert: AlertRecord, deps: SnoozeDeps): string {
  const view = viewOf(alert, { now: deps.now, tenantNames: deps.tenantNames });
  return displayLine(alertHeading(view, alert, tenantNameOf(alert, deps.tenantNames)), 200);
}

/** The alert a verified request names, or the page saying why there is nothing to snooze. */
async function alertFor(request: SnoozeRequest, deps: SnoozeDeps): Promise<AlertRecord | SnoozeResponse> {
  const alert = await deps.alerts.get(request.tenantId, request.fingerprint);
  if (!alert)
    return page(
      404,
      problemPage(
        'No such alert',
        'The monitor has no alert by this link any more: it ended more than a week ago. Nothing to snooze.',
      ),
    );
  if (alert.state === 'resolved')
    return page(
      200,
      problemPage(
        'This alert has ended',
        `${headingOf(alert, deps)} ended at ${formatTime(alert.endsAt)}. Nothing to snooze: if it starts again, a new message says so.`,
      ),
    );
  if (!snoozable(alert))
    return page(
      400,
      problemPage('This alert cannot be snoozed by link', 'Add a silence that matches it to the config file instead.'),
    );
  return alert;
}

/** A link's identity, the same for every use of it (a double click, a second tab, another instance, a replay). */
function linkIdOf(request: SnoozeRequest, signature: string): string {
  return createHash('sha256')
    .update(`${request.fingerprint}\n${request.duration}\n${signature}`)
    .digest('hex')
    .slice(0, 32);
}

/** The page for a link used before whose silence has ended: a link is used once. */
function usedPage(use: LinkUse, heading: string): SnoozeResponse {
  return page(
    409,
    problemPage(
      'This link was already used',
      `This link was already used at ${formatTime(use.usedAt.toISOString())} by ${use.silence.createdBy.replace(/ \(snooze link\)$/, '')} to snooze ${heading}; the silence it made ended at ${formatTime(use.silence.endsAt.toISOString())}. A snooze link works once: use a link in a newer message about the alert, or add a silence to the config file.`,
    ),
  );
}

/** The silence a confirmed request makes: this alert's labels exactly, from now for the duration. */
function silenceFor(
  request: SnoozeRequest,
  alert: AlertRecord,
  signature: string,
  by: string,
  deps: SnoozeDeps,
): StoredSilence {
  const { tenantId, servicePrincipalId, jobId, condition } = alert.labels;
  return {
    // The same link confirmed twice (a double click, a second tab) makes one silence.
    id: linkIdOf(request, signature),
    matchers: { tenant: tenantId, servicePrincipal: servicePrincipalId, job: jobId, condition },
    startsAt: deps.now,
    endsAt: new Date(deps.now.getTime() + SNOOZE_DURATIONS[request.duration]),
    createdBy: `${displayLine(by, 100) || 'someone'} (snooze link)`,
    comment: `Snoozed for ${DURATION_WORDS[request.duration]} from a message about it`,
    fingerprint: alert.fingerprint,
    heading: headingOf(alert, deps),
  };
}

/** Handles a GET (the confirmation page) or a POST (make the silence) of the snooze endpoint. */
export async function handleSnooze(
  method: string,
  fields: Record<string, string | undefined>,
  deps: SnoozeDeps,
): Promise<SnoozeResponse> {
  if (method !== 'GET' && method !== 'POST')
    return {
      ...page(405, problemPage('Not allowed', 'Open the link from the email.')),
      headers: { ...SNOOZE_PAGE_HEADERS, Allow: 'GET, POST' },
    };
  const verified = verifySnooze(fields, deps.snooze.key, deps.now);
  if (!verified.ok) return page(verified.status, problemPage('This snooze link does not work', verified.reason));
  const { request } = verified;
  const alert = await alertFor(request, deps);
  if (!('fingerprint' in alert)) return alert;
  const heading = headingOf(alert, deps);
  const linkId = linkIdOf(request, fields.s as string);
  // GET only reads: a link used before whose silence has ended says so instead of offering the button.
  const earlier = await deps.silences.linkUse(linkId);
  if (earlier && earlier.silence.endsAt.getTime() <= deps.now.getTime()) return usedPage(earlier, heading);
  if (method === 'GET') {
    const until = new Date(deps.now.getTime() + SNOOZE_DURATIONS[request.duration]);
    return page(
      200,
      confirmPage({
        heading,
        duration: DURATION_WORDS[request.duration],
        until,
        fields: snoozeParams(request, deps.snooze.key),
      }),
    );
  }
  // The use is recorded first, in one atomic insert kept until the link expires, so cleaning up
  // ended silences never makes the link usable again; then its silence (again after a crash in between).
  const { first, use } = await deps.silences.useLink(
    linkId,
    silenceFor(request, alert, fields.s as string, fields.by ?? '', deps),
    new Date(request.expires * 1000),
    deps.now,
  );
  if (!first && use.silence.endsAt.getTime() <= deps.now.getTime()) return usedPage(use, heading);
  const { created, silence } = await deps.silences.add(use.silence);
  return page(
    first && created ? 201 : 200,
    donePage({ heading, until: silence.endsAt, createdBy: silence.createdBy, again: !(first && created) }),
  );
}
