import { describe, expect, it } from 'vitest';
import { handleAcknowledge, type AcknowledgeDeps } from '../../lib/acknowledge/handler';
import { formToken } from '../../lib/util/form-token';
import { acknowledgeLink } from '../../lib/acknowledge/links';
import { LinkLedger } from '../../lib/store/link-ledger';
import { linkFields as signedFields, newLink } from '../../lib/util/signed-links';
import type { AlertRecord, NotificationItem } from '../../lib/model';
import { AlertStore, ConcurrentUpdateError } from '../../lib/store/alert-store';
import { MemoryTable } from '../support/memory-table';
import { DEFAULT_ACCESS } from '../../lib/actions/access';
import { newSession, sessionCookie } from '../../lib/actions/session';
import { personOf } from '../../lib/actions/sign-in';
import { policy, route } from '../support/policy';
import { at, firingQuarantine, MIN, QUARANTINE_FP, QUARANTINE_LABELS, T0 } from '../support/quarantine-alert';

/**
 * The acknowledge endpoint's handler over the real stores (in-memory tables): what a GET shows and
 * never does, what a POST needs (signature, Origin, the form's token, who), what it records once,
 * and each refusal by name.
 */

const KEY = 'k'.repeat(48);
const BASE = 'https://watch.contoso.com';
const SETTINGS = { key: KEY, baseUrl: BASE };
const t0 = T0;
const labels = QUARANTINE_LABELS;
const fp = QUARANTINE_FP;

const POLICY = policy({
  route: route('root', {
    to: ['alice@contoso.com', 'bob@contoso.com'],
    cc: ['carol@contoso.com'],
    channels: [{ id: 'teams:TEAMS_OPS_URL', type: 'teams' }],
  }),
});

/** The alert, with a name that has markup in it (escaped on every page). */
function firingAlert(startsAt = t0): AlertRecord {
  return firingQuarantine({
    startsAt: startsAt.toISOString(),
    annotations: { servicePrincipalName: 'Fabrikam <b>to</b> Contoso', reason: 'EncounteredQuarantineException' },
  });
}

/** A world of one firing alert in a real AlertStore and an empty link ledger. */
async function world(alert = firingAlert()) {
  const alerts = new AlertStore(new MemoryTable('alerts').asClient());
  const ledger = new LinkLedger(new MemoryTable('ledger').asClient());
  await alerts.save(alert);
  const deps = (now: Date, extra: Partial<AcknowledgeDeps> = {}): AcknowledgeDeps => ({
    settings: SETTINGS,
    alerts,
    ledger,
    policy: POLICY,
    now,
    ...extra,
  });
  const stored = async () => (await alerts.get(labels.tenantId, fp)) as AlertRecord;
  return { alerts, ledger, deps, stored };
}

/** The fields of the Acknowledge link of a notice to `receiver`, made at `now`. */
function linkFields(alert: AlertRecord, receiver = 'root', now = t0, key = KEY): Record<string, string> {
  const item: NotificationItem = {
    key: `${alert.fingerprint}:${receiver}:firing:${alert.startsAt}`,
    fingerprint: alert.fingerprint,
    routeId: receiver,
    kind: 'firing',
    startsAt: alert.startsAt as string,
  };
  const link = acknowledgeLink(alert, item, { key, baseUrl: BASE }, now);
  return Object.fromEntries(new URL(link!.href).searchParams.entries());
}

/** What the confirmation page's form posts: its hidden fields (the link's, and the token) and the choices made. */
function formOf(body: string, choices: Record<string, string> = {}): Record<string, string> {
  const hidden = [...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(
    (m) =>
      [
        m[1] as string,
        (m[2] as string)
          .replace(/&amp;/g, '&')
          .replace(/&#39;/g, "'")
          .replace(/&quot;/g, '"'),
      ] as const,
  );
  return { ...Object.fromEntries(hidden), ...choices };
}

const GET = (fields: Record<string, string>) => ({ method: 'GET', fields });
const POST = (fields: Record<string, string>, origin: string | null = BASE) => ({
  method: 'POST',
  fields,
  ...(origin ? { origin } : {}),
});

describe('the acknowledge endpoint', () => {
  it('GET shows the alert, the route’s recipients to choose from and a form; it records nothing, even with form fields in the query', async () => {
    const { deps, stored, ledger } = await world();
    const fields = linkFields(firingAlert());
    const page = await handleAcknowledge(GET(fields), deps(at(5 * MIN)));
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({
      'Referrer-Policy': 'same-origin',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy': expect.stringContaining("form-action 'self'"),
    });
    expect(page.body).toContain('Acknowledge this alert?');
    expect(page.body).toContain('Quarantined: Fabrikam &lt;b&gt;to&lt;/b&gt; Contoso');
    expect(page.body).not.toContain('<b>to</b>');
    for (const person of ['alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com'])
      expect(page.body).toContain(`<input type="radio" name="who" value="${person}"`);
    expect(page.body).toContain('<form method="post">');
    expect(formOf(page.body).form).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    // A scanner (or anyone) that GETs with the form's fields changes nothing either.
    const form = formOf(page.body, { who: 'alice@contoso.com', comment: 'on it' });
    expect((await handleAcknowledge(GET(form), deps(at(5 * MIN)))).status).toBe(200);
    expect((await stored()).acknowledged).toBeUndefined();
    expect(await ledger.uses('acknowledge')).toEqual([]);
  });

  it('POST records who, when and the comment on the alert once; a second confirmation changes nothing and says so', async () => {
    const { deps, stored, ledger } = await world();
    const page = await handleAcknowledge(GET(linkFields(firingAlert())), deps(at(5 * MIN)));
    const form = formOf(page.body, { who: 'Bob@Contoso.com', comment: 'Restarting after the fix <script>x</script>' });
    const done = await handleAcknowledge(POST(form), deps(at(6 * MIN)));
    expect(done.status).toBe(201);
    expect(done.body).toContain('Acknowledged by <strong>bob@contoso.com</strong> at 2026-11-27 03:06 UTC');
    expect(done.body).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(done.body).not.toContain('<script>');
    expect((await stored()).acknowledged).toEqual({
      startsAt: t0.toISOString(),
      by: 'bob@contoso.com',
      at: at(6 * MIN).toISOString(),
      comment: 'Restarting after the fix <script>x</script>',
      via: 'root',
      linkId: form.i,
    });
    const again = await handleAcknowledge(POST({ ...form, who: 'alice@contoso.com' }), deps(at(7 * MIN)));
    expect([again.status, again.body.includes('Already acknowledged')]).toEqual([200, true]);
    expect((await stored()).acknowledged?.by).toBe('bob@contoso.com');
    expect(await ledger.uses('acknowledge')).toHaveLength(1);
    // Opening the link again now shows the acknowledgement, not a form.
    const reopened = await handleAcknowledge(GET(linkFields(firingAlert())), deps(at(8 * MIN)));
    expect(reopened.body).toContain('Already acknowledged');
    expect(reopened.body).not.toContain('<form');
  });

  it('a new confirmation sweeps the ledger of uses whose links have expired, and keeps the others', async () => {
    const { deps, ledger } = await world();
    const old = { at: at(-9 * 24 * 60 * MIN), expiresAt: at(-2 * 24 * 60 * MIN), keepUntil: at(-2 * 24 * 60 * MIN) };
    await ledger.claim('acknowledge', 'o'.repeat(22), { ...old, record: { by: 'someone' } });
    await ledger.claim('acknowledge', 'r'.repeat(22), { ...old, expiresAt: at(MIN), record: { by: 'recent' } });
    const form = formOf((await handleAcknowledge(GET(linkFields(firingAlert())), deps(t0))).body, {
      who: 'alice@contoso.com',
    });
    expect((await handleAcknowledge(POST(form), deps(t0))).status).toBe(201);
    expect((await ledger.uses('acknowledge')).map((u) => u.linkId).sort()).toEqual([form.i, 'r'.repeat(22)].sort());
  });

  it('the first acknowledgement of a firing period stands: another receiver’s link is told who was first', async () => {
    const { deps, stored } = await world();
    const email = formOf((await handleAcknowledge(GET(linkFields(firingAlert())), deps(t0))).body, {
      who: 'alice@contoso.com',
    });
    expect((await handleAcknowledge(POST(email), deps(t0))).status).toBe(201);
    const teamsLink = linkFields(firingAlert(), 'root~teams:TEAMS_OPS_URL');
    const teams = await handleAcknowledge(GET(teamsLink), deps(at(MIN)));
    expect(teams.body).toContain('Already acknowledged');
    expect(teams.body).toContain('alice@contoso.com');
    expect((await stored()).acknowledged?.via).toBe('root');
  });

  it('a Teams or webhook link asks a name (the channel cannot say who read it); without one the POST is refused', async () => {
    const { deps, stored } = await world();
    const page = await handleAcknowledge(GET(linkFields(firingAlert(), 'root~teams:TEAMS_OPS_URL')), deps(t0));
    expect(page.body).toContain('the message went to a Teams channel');
    expect(page.body).toContain('<input type="text" id="who" name="who" required maxlength="100"');
    const refused = await handleAcknowledge(POST(formOf(page.body, { who: '  ' })), deps(t0));
    expect([refused.status, refused.body.includes('Give your name or email')]).toEqual([400, true]);
    const done = await handleAcknowledge(POST(formOf(page.body, { who: 'Dana (night shift)' })), deps(t0));
    expect(done.status).toBe(201);
    expect((await stored()).acknowledged).toMatchObject({ by: 'Dana (night shift)', via: 'root~teams:TEAMS_OPS_URL' });
  });

  it('an email link takes only someone it went to', async () => {
    const { deps, stored } = await world();
    const page = await handleAcknowledge(GET(linkFields(firingAlert())), deps(t0));
    const refused = await handleAcknowledge(POST(formOf(page.body, { who: 'mallory@evil.example' })), deps(t0));
    expect([refused.status, refused.body.includes('Choose yourself among the people')]).toEqual([400, true]);
    expect((await stored()).acknowledged).toBeUndefined();
  });

  describe('someone signed in on the decide pages (WATCH_ACTIONS on)', () => {
    const SESSION_KEY = 'actions-signing-key-of-this-test-0123456789';
    /** The decide pages' session cookie, made as they make it from a verified ID token's claims. */
    const sessionOf = (now: Date, name = 'Adele Vance', key = SESSION_KEY) => {
      const person = personOf({
        oid: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
        tid: labels.tenantId,
        name,
        preferred_username: 'adele.vance@contoso.com',
      });
      const cookie = sessionCookie(newSession(person, DEFAULT_ACCESS, now), key, now);
      return { [cookie.name]: cookie.value, other: 'x' };
    };
    const signedIn = (now: Date) => ({ sessionKey: SESSION_KEY, now });

    it('acknowledges in the name of the verified token, whatever the form says, through the link’s receiver', async () => {
      const { deps, stored } = await world();
      const cookies = sessionOf(t0);
      const page = await handleAcknowledge({ ...GET(linkFields(firingAlert())), cookies }, deps(t0, signedIn(t0)));
      expect(page.status).toBe(200);
      expect(page.body).toContain('You are signed in as <strong>Adele Vance (adele.vance@contoso.com)</strong>');
      expect(page.body).not.toContain('name="who"');
      // A name slipped into the form does not change who it is: the session says.
      const form = formOf(page.body, { who: 'alice@contoso.com', comment: 'mine' });
      const done = await handleAcknowledge({ ...POST(form), cookies }, deps(at(MIN), signedIn(at(MIN))));
      expect(done.status).toBe(201);
      expect(done.body).toContain('Acknowledged by <strong>Adele Vance (adele.vance@contoso.com)</strong>');
      expect((await stored()).acknowledged).toMatchObject({
        by: 'Adele Vance (adele.vance@contoso.com)',
        comment: 'mine',
        via: 'root',
      });
    });

    it('escapes the name the token carries', async () => {
      const { deps } = await world();
      const cookies = sessionOf(t0, 'Adele <b>Vance</b>');
      const page = await handleAcknowledge({ ...GET(linkFields(firingAlert())), cookies }, deps(t0, signedIn(t0)));
      expect(page.body).toContain('Adele &lt;b&gt;Vance&lt;/b&gt; (adele.vance@contoso.com)');
      expect(page.body).not.toContain('<b>Vance</b>');
    });

    it('without a valid session (none, another key’s, expired, or decisions off) the page asks as before', async () => {
      const { deps, stored } = await world();
      const fields = linkFields(firingAlert());
      const cases: [string, Record<string, string> | undefined, Partial<AcknowledgeDeps>][] = [
        ['no cookie', undefined, signedIn(t0)],
        ['a session sealed with another key', sessionOf(t0, 'Adele Vance', 'another-key-'.repeat(4)), signedIn(t0)],
        ['a session of 31 minutes ago', sessionOf(at(-31 * MIN)), signedIn(t0)],
        ['a tampered cookie', { '__Host-esw-decide': 'A'.repeat(80) }, signedIn(t0)],
        ['decisions from an alert off', sessionOf(t0), {}],
      ];
      for (const [what, cookies, extra] of cases) {
        const page = await handleAcknowledge({ ...GET(fields), ...(cookies ? { cookies } : {}) }, deps(t0, extra));
        expect([what, page.status, page.body.includes('You are signed in'), page.body.includes('name="who"')]).toEqual([
          what,
          200,
          false,
          true,
        ]);
      }
      // Confirmed without a session, it is the recipient chosen, as before.
      const page = await handleAcknowledge(GET(fields), deps(t0, signedIn(t0)));
      const done = await handleAcknowledge(
        POST(formOf(page.body, { who: 'bob@contoso.com' })),
        deps(at(MIN), signedIn(at(MIN))),
      );
      expect(done.status).toBe(201);
      expect((await stored()).acknowledged?.by).toBe('bob@contoso.com');
    });
  });

  describe('refusals, each by name', () => {
    it('a POST from another origin, without one, without the form’s token, with another link’s or an old token', async () => {
      const { deps, stored } = await world();
      const fields = linkFields(firingAlert());
      const form = formOf((await handleAcknowledge(GET(fields), deps(t0))).body, { who: 'alice@contoso.com' });
      const cases: [string, ReturnType<typeof POST>, Date, string][] = [
        ['another origin', POST(form, 'https://evil.example'), t0, 'not sent from this page'],
        ['no origin', POST(form, null), t0, 'not sent from this page'],
        ['no token', POST({ ...form, form: '' }), t0, 'the form is missing or too old'],
        [
          'another link’s token',
          POST({ ...form, form: formToken(KEY, 'acknowledge', 'x'.repeat(22), t0) }),
          t0,
          'missing or too old',
        ],
        [
          'a forged token',
          POST({ ...form, form: `${Math.floor(t0.getTime() / 1000)}.${'A'.repeat(43)}` }),
          t0,
          'too old',
        ],
        ['a token 31 minutes old', POST(form), at(31 * MIN), 'the form is missing or too old'],
      ];
      for (const [what, request, now, words] of cases) {
        const answer = await handleAcknowledge(request, deps(now));
        expect([what, answer.status, answer.body.includes(words)]).toEqual([what, 403, true]);
      }
      expect((await stored()).acknowledged).toBeUndefined();
    });

    it('a tampered, foreign, expired or damaged link', async () => {
      const { deps } = await world();
      const fields = linkFields(firingAlert());
      const cases: [string, Record<string, string>, Date, number, string][] = [
        ['tampered receiver', { ...fields, r: 'root.0' }, t0, 403, 'changed after it was made'],
        [
          'another monitor’s key',
          linkFields(firingAlert(), 'root', t0, 'o'.repeat(48)),
          t0,
          403,
          'not made by this monitor',
        ],
        ['expired', fields, at(8 * 24 * 60 * MIN), 410, 'has expired'],
        ['damaged', { ...fields, i: 'short' }, t0, 400, 'incomplete or damaged'],
        ['no signature', { ...fields, s: '' }, t0, 400, 'incomplete or damaged'],
      ];
      for (const [what, request, now, status, words] of cases) {
        const answer = await handleAcknowledge(GET(request), deps(now));
        expect([what, answer.status, answer.body.includes(words)]).toEqual([what, status, true]);
      }
    });

    it('a snooze link sent to the acknowledge endpoint is foreign (each purpose signs with its own key)', async () => {
      const { deps } = await world();
      const { t, a, p, r } = linkFields(firingAlert());
      const snooze = signedFields(newLink('snooze', { t, a, p, r } as Record<string, string>, t0, 3600_000), KEY);
      const answer = await handleAcknowledge(GET(snooze), deps(t0));
      expect([answer.status, answer.body.includes('not made by this monitor')]).toEqual([403, true]);
    });

    it('a link of an earlier firing period, of an alert that ended, of an alert gone, and a method other than GET or POST', async () => {
      const earlier = firingAlert(at(-3 * 60 * MIN));
      const { deps, alerts, stored } = await world();
      const old = await handleAcknowledge(GET(linkFields(earlier)), deps(t0));
      expect([old.status, old.body.includes('This link is about an earlier firing')]).toEqual([409, true]);
      const form = formOf((await handleAcknowledge(GET(linkFields(firingAlert())), deps(t0))).body, {
        who: 'alice@contoso.com',
      });
      await alerts.save({ ...(await stored()), state: 'resolved', endsAt: at(MIN).toISOString() });
      const ended = await handleAcknowledge(POST(form), deps(at(2 * MIN)));
      expect([ended.status, ended.body.includes('This alert has ended')]).toEqual([200, true]);
      expect((await stored()).acknowledged).toBeUndefined();
      const gone = await handleAcknowledge(
        GET(linkFields({ ...firingAlert(), fingerprint: 'f'.repeat(32) })),
        deps(t0),
      );
      expect(gone.status).toBe(404);
      const put = await handleAcknowledge({ method: 'PUT', fields: form }, deps(t0));
      expect([put.status, put.headers.Allow]).toEqual([405, 'GET, POST']);
    });

    it('after a change cleared the acknowledgement, a link of a message from before the change is refused; the change notice’s link works', async () => {
      const { deps, alerts, stored } = await world();
      const before = linkFields(firingAlert(), 'root', t0);
      const form = formOf((await handleAcknowledge(GET(before), deps(t0))).body, { who: 'alice@contoso.com' });
      await handleAcknowledge(POST(form), deps(t0));
      const acked = await stored();
      await alerts.save({
        ...acked,
        material: 'CodeB',
        acknowledged: { ...acked.acknowledged!, cleared: { at: at(10 * MIN).toISOString(), why: 'the alert changed' } },
      });
      const reused = await handleAcknowledge(POST(form), deps(at(11 * MIN)));
      expect([reused.status, reused.body.includes('The alert changed after this message')]).toEqual([409, true]);
      const otherOld = await handleAcknowledge(
        GET(linkFields(firingAlert(), 'root~teams:TEAMS_OPS_URL', t0)),
        deps(at(11 * MIN)),
      );
      expect(otherOld.status).toBe(409);
      // The change notice's link, made when the change was told, acknowledges the alert as it is now.
      const after = linkFields(firingAlert(), 'root~teams:TEAMS_OPS_URL', at(10 * MIN));
      const page = await handleAcknowledge(GET(after), deps(at(11 * MIN)));
      expect(page.body).toContain(
        'alice@contoso.com had acknowledged it at 2026-11-27 03:00 UTC, before the alert changed at',
      );
      const done = await handleAcknowledge(POST(formOf(page.body, { who: 'Bob' })), deps(at(12 * MIN)));
      expect(done.status).toBe(201);
      expect((await stored()).acknowledged).toMatchObject({ by: 'Bob', at: at(12 * MIN).toISOString() });
      expect((await stored()).acknowledged?.cleared).toBeUndefined();
    });
  });

  it('a crash between the ledger’s claim and the alert’s write is finished by confirming again', async () => {
    const { deps, alerts, stored, ledger } = await world();
    const form = formOf((await handleAcknowledge(GET(linkFields(firingAlert())), deps(t0))).body, {
      who: 'carol@contoso.com',
    });
    const crashing = { get: alerts.get.bind(alerts), save: () => Promise.reject(new Error('process killed')) };
    await expect(handleAcknowledge(POST(form), deps(t0, { alerts: crashing }))).rejects.toThrow('process killed');
    expect(await ledger.uses('acknowledge')).toHaveLength(1);
    expect((await stored()).acknowledged).toBeUndefined();
    // Opening the link shows the form again (a GET writes nothing); confirming finishes the write with the first use's record.
    const reopened = await handleAcknowledge(GET(linkFields(firingAlert())), deps(at(MIN)));
    expect(reopened.body).toContain('<form method="post">');
    const finished = await handleAcknowledge(
      POST({ ...formOf(reopened.body), who: 'alice@contoso.com' }),
      deps(at(MIN)),
    );
    expect(finished.status).toBe(201);
    expect((await stored()).acknowledged).toMatchObject({ by: 'carol@contoso.com', at: t0.toISOString() });
  });

  it('a cycle that moved the alert meanwhile costs a re-read, not the acknowledgement', async () => {
    const { deps, alerts, stored } = await world();
    const form = formOf((await handleAcknowledge(GET(linkFields(firingAlert())), deps(t0))).body, {
      who: 'alice@contoso.com',
    });
    let raced = false;
    const racing = {
      get: alerts.get.bind(alerts),
      save: async (record: AlertRecord) => {
        if (!raced) {
          raced = true;
          await alerts.save({ ...(await stored()), lastSeenAt: at(MIN).toISOString() });
          throw new ConcurrentUpdateError(record.fingerprint);
        }
        return alerts.save(record);
      },
    };
    expect((await handleAcknowledge(POST(form), deps(t0, { alerts: racing }))).status).toBe(201);
    expect(await stored()).toMatchObject({
      lastSeenAt: at(MIN).toISOString(),
      acknowledged: { by: 'alice@contoso.com' },
    });
  });
});
