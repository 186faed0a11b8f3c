import { describe, expect, it } from 'vitest';
import { handleSnooze, type SnoozeDeps } from '../../lib/snooze/handler';
import { readSnoozeLink, snoozeLinks } from '../../lib/snooze/links';
import { AlertStore } from '../../lib/store/alert-store';
import { LinkLedger } from '../../lib/store/link-ledger';
import { SilenceStore } from '../../lib/store/silence-store';
import { formToken, formTokenValid } from '../../lib/util/form-token';
import { MemoryTable } from '../support/memory-table';
import { at, firingQuarantine, MIN, T0 } from '../support/quarantine-alert';

/**
 * The snooze endpoint's handler over the real stores (in-memory tables): its confirmation POST
 * resists cross-site forgery as the acknowledge page's does (lib/util/form-token.ts, shared): the
 * page's token and this monitor's Origin, or a 403 page that says why; the page's own form works.
 */

const KEY = 'k'.repeat(48);
const BASE = 'https://watch.contoso.com';

async function world() {
  const alerts = new AlertStore(new MemoryTable('alerts').asClient());
  const silences = new SilenceStore(new MemoryTable('state').asClient());
  const ledger = new LinkLedger(new MemoryTable('ledger').asClient());
  const alert = firingQuarantine();
  await alerts.save(alert);
  const deps = (now: Date): SnoozeDeps => ({
    snooze: { key: KEY, baseUrl: BASE },
    alerts,
    silences,
    ledger,
    tenantNames: new Map(),
    now,
  });
  const [fourHours] = snoozeLinks(alert, { key: KEY, baseUrl: BASE }, T0);
  const fields = Object.fromEntries(new URL(fourHours!.href).searchParams.entries());
  return { deps, silences, fields };
}

/** The hidden fields of the confirmation page's form, and who. */
function formOf(body: string, by: string): Record<string, string> {
  const hidden = [...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(
    (m) => [m[1] as string, (m[2] as string).replace(/&amp;/g, '&')] as const,
  );
  return { ...Object.fromEntries(hidden), by };
}

const GET = (fields: Record<string, string>) => ({ method: 'GET', fields });
const POST = (fields: Record<string, string>, origin: string | null = BASE) => ({
  method: 'POST',
  fields,
  ...(origin ? { origin } : {}),
});

describe('the snooze endpoint’s confirmation', () => {
  it('the page’s form carries a token; its POST with this monitor’s Origin snoozes, once', async () => {
    const { deps, silences, fields } = await world();
    const page = await handleSnooze(GET(fields), deps(T0));
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({ 'Referrer-Policy': 'same-origin', 'X-Frame-Options': 'DENY' });
    const form = formOf(page.body, 'alice@contoso.com');
    expect(form.form).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(await silences.list()).toEqual([]);

    const done = await handleSnooze(POST(form), deps(at(2 * MIN)));
    expect([done.status, done.body.includes('Muted until')]).toEqual([201, true]);
    const again = await handleSnooze(POST(form), deps(at(3 * MIN)));
    expect([again.status, again.body.includes('Already snoozed')]).toEqual([200, true]);
    expect((await silences.list()).map((s) => s.createdBy)).toEqual(['alice@contoso.com (snooze link)']);
  });

  it('refuses, with a 403 page that says why, a POST from another origin, without one, without the page’s token, or with a stale, forged, another link’s or another page’s token', async () => {
    const { deps, silences, fields } = await world();
    const form = formOf((await handleSnooze(GET(fields), deps(T0))).body, 'mallory');
    const linkId = (readSnoozeLink(fields, KEY, T0) as { ok: true; link: { linkId: string } }).link.linkId;
    const cases: [string, ReturnType<typeof POST>, Date, string][] = [
      ['another origin', POST(form, 'https://evil.example'), T0, 'Refused: not sent from this page'],
      ['no origin', POST(form, null), T0, 'Refused: not sent from this page'],
      ['an opaque origin', POST(form, 'null'), T0, 'Refused: not sent from this page'],
      ['the link alone (no token)', POST(fields), T0, 'Refused: the form is missing or too old'],
      ['an empty token', POST({ ...form, form: '' }), T0, 'the form is missing or too old'],
      ['a token 31 minutes old', POST(form), at(31 * MIN), 'the form is missing or too old'],
      ['a forged token', POST({ ...form, form: `${T0.getTime() / 1000}.${'A'.repeat(43)}` }), T0, 'too old'],
      ['another link’s token', POST({ ...form, form: formToken(KEY, 'snooze', 'x'.repeat(22), T0) }), T0, 'too old'],
      [
        'the acknowledge page’s token',
        POST({ ...form, form: formToken(KEY, 'acknowledge', linkId, T0) }),
        T0,
        'too old',
      ],
    ];
    for (const [what, request, now, words] of cases) {
      const answer = await handleSnooze(request, deps(now));
      expect([what, answer.status, answer.body.includes(words)]).toEqual([what, 403, true]);
      expect(answer.headers['Content-Type']).toBe('text/html; charset=utf-8');
    }
    expect(await silences.list()).toEqual([]);
  });
});

describe('form tokens (lib/util/form-token.ts)', () => {
  it('are bound to the page, the link and the key, and last 30 minutes', () => {
    const token = formToken(KEY, 'snooze', 'link-1', T0);
    expect(formTokenValid(KEY, 'snooze', token, 'link-1', at(30 * MIN))).toBe(true);
    expect(formTokenValid(KEY, 'snooze', token, 'link-1', at(30 * MIN + 1000))).toBe(false);
    expect(formTokenValid(KEY, 'acknowledge', token, 'link-1', T0)).toBe(false);
    expect(formTokenValid(KEY, 'snooze', token, 'link-2', T0)).toBe(false);
    expect(formTokenValid('o'.repeat(48), 'snooze', token, 'link-1', T0)).toBe(false);
    expect(formTokenValid(KEY, 'snooze', undefined, 'link-1', T0)).toBe(false);
  });
});
