import type { AlertRecord } from '../model';
import { displayLine } from '../util/safe-text';
import { alertHeading, tenantNameOf, viewOf } from '../evaluate/view';
import type { AlertStore } from '../store/alert-store';
import type { LinkLedger } from '../store/link-ledger';
import type { LinkUse, SilenceStore, StoredSilence } from '../store/silence-store';
import { formatTime } from '../util/text';
import { formToken, forgedFormRefusal } from '../util/form-token';
import type { LinkPageRequest } from '../util/link-form';
import {
  DURATION_WORDS,
  SNOOZE_DURATIONS,
  readSnoozeLink,
  snoozable,
  type SnoozeLink,
  type SnoozeRequest,
  type SnoozeSettings,
} from './links';
import { confirmPage, donePage, problemPage, LINK_PAGE_HEADERS } from './page';

/**
 * What the snooze endpoint does (functions/snooze.ts registers it): a GET only shows what the
 * link would do and a button, because mail scanners and link previews open links by themselves;
 * only the POST of that button makes the silence, and only with the link's signed fields, the
 * form's anti-forgery token (a page on another site cannot read it) and an Origin of this monitor
 * (lib/util/form-token.ts, as for the acknowledge page). Both check the signature and the expiry;
 * nothing about the alert is trusted from the request but its identity.
 */

export interface SnoozeDeps {
  snooze: SnoozeSettings;
  alerts: AlertStore;
  silences: SilenceStore;
  /** Where the uses of links of the shared format are kept (lib/store/link-ledger.ts). */
  ledger: LinkLedger;
  tenantNames: Map<string, string>;
  now: Date;
}

export interface SnoozeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const page = (status: number, body: string): SnoozeResponse => ({ status, headers: LINK_PAGE_HEADERS, body });

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

/** What the ledger keeps of a snooze link's use: when, and the silence it made (dates as ISO text). */
interface SnoozeUseRecord {
  usedAt: string;
  silence: Omit<StoredSilence, 'startsAt' | 'endsAt'> & { startsAt: string; endsAt: string };
}

function useOf(record: SnoozeUseRecord): LinkUse {
  const { silence } = record;
  return {
    usedAt: new Date(record.usedAt),
    silence: { ...silence, startsAt: new Date(silence.startsAt), endsAt: new Date(silence.endsAt) },
  };
}

/** Where a link's use is kept: the link ledger for links of the shared format, the state table for legacy ones. */
function usesOf(link: SnoozeLink, deps: SnoozeDeps) {
  if (link.format === 'legacy')
    return {
      get: () => deps.silences.linkUse(link.linkId),
      claim: (silence: StoredSilence) =>
        deps.silences.useLink(link.linkId, silence, new Date(link.request.expires * 1000), deps.now),
    };
  return {
    get: async () => {
      const use = await deps.ledger.get<SnoozeUseRecord>('snooze', link.linkId);
      return use ? useOf(use.record) : undefined;
    },
    claim: async (silence: StoredSilence) => {
      const record: SnoozeUseRecord = {
        usedAt: deps.now.toISOString(),
        silence: { ...silence, startsAt: silence.startsAt.toISOString(), endsAt: silence.endsAt.toISOString() },
      };
      const expiresAt = new Date(link.request.expires * 1000);
      const { claimed, use } = await deps.ledger.claim('snooze', link.linkId, {
        at: deps.now,
        expiresAt,
        keepUntil: expiresAt,
        record,
      });
      return { first: claimed, use: useOf(use.record) };
    },
  };
}

/** The silence a confirmed request makes: this alert's labels exactly, from now for the duration. */
function silenceFor(link: SnoozeLink, alert: AlertRecord, by: string, deps: SnoozeDeps): StoredSilence {
  const { request } = link;
  const { tenantId, servicePrincipalId, jobId, condition } = alert.labels;
  return {
    // The same link confirmed twice (a double click, a second tab) makes one silence.
    id: link.linkId,
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
export async function handleSnooze(request: LinkPageRequest, deps: SnoozeDeps): Promise<SnoozeResponse> {
  const { method, fields } = request;
  if (method !== 'GET' && method !== 'POST')
    return {
      ...page(405, problemPage('Not allowed', 'Open the link from the email.')),
      headers: { ...LINK_PAGE_HEADERS, Allow: 'GET, POST' },
    };
  const verified = readSnoozeLink(fields, deps.snooze.key, deps.now);
  if (!verified.ok) return page(verified.status, problemPage('This snooze link does not work', verified.reason));
  const { link } = verified;
  // A POST must come from this monitor's own page: its Origin, and the token only that page holds.
  const forged = forgedFormRefusal(request, deps.snooze, 'snooze', link.linkId, deps.now);
  if (forged) return page(403, problemPage(forged.title, forged.text));
  const alert = await alertFor(link.request, deps);
  if (!('fingerprint' in alert)) return alert;
  const heading = headingOf(alert, deps);
  const uses = usesOf(link, deps);
  // GET only reads: a link used before whose silence has ended says so instead of offering the button.
  const earlier = await uses.get();
  if (earlier && earlier.silence.endsAt.getTime() <= deps.now.getTime()) return usedPage(earlier, heading);
  if (method === 'GET') {
    const { duration } = link.request;
    return page(
      200,
      confirmPage({
        heading,
        duration: DURATION_WORDS[duration],
        until: new Date(deps.now.getTime() + SNOOZE_DURATIONS[duration]),
        fields: { ...link.fields, form: formToken(deps.snooze.key, 'snooze', link.linkId, deps.now) },
      }),
    );
  }
  // The use is recorded first, in one atomic insert kept until the link expires, so cleaning up
  // ended silences never makes the link usable again; then its silence (again after a crash in between).
  const { first, use } = await uses.claim(silenceFor(link, alert, fields.by ?? '', deps));
  if (!first && use.silence.endsAt.getTime() <= deps.now.getTime()) return usedPage(use, heading);
  const { created, silence } = await deps.silences.add(use.silence);
  return page(
    first && created ? 201 : 200,
    donePage({ heading, until: silence.endsAt, createdBy: silence.createdBy, again: !(first && created) }),
  );
}
