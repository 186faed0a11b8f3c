import { createHash } from 'node:crypto';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { snooze } from '../../functions/snooze';
import { createCredentials, createTableClient } from '../../lib/clients';
import { cycleDepsFromSettings, snoozeFromEnv } from '../../lib/app';
import { loadPolicy } from '../../lib/config/config';
import { loadSettings } from '../../lib/settings/settings';
import { runCycle } from '../../lib/cycle/cycle';
import { readStatus } from '../../lib/status/status';
import { renderStatusPage } from '../../lib/status/page';
import { readSnoozeLink, snoozeParams } from '../../lib/snooze/links';
import { formToken } from '../../lib/util/form-token';
import { ALERTS_TABLE, AlertStore } from '../../lib/store/alert-store';
import { SilenceStore } from '../../lib/store/silence-store';
import { STATE_TABLE, stateStores } from '../../lib/store/state-table';
import { captureLog } from '../support/log-capture';
import { DEMO_SCENARIO, ownStorage, startWorld, type World } from '../support/world';
import { CONTOSO, FABRIKAM_JOB, quarantine } from '../support/demo';

/**
 * Snooze links end to end, with the production table names in a storage account of this file's
 * own: the email and the Teams card carry signed links; opening one (GET) only asks; the button's
 * POST makes a silence in Table Storage that the next cycles obey and the status page shows.
 */

const BASE = 'https://sync-watch.example.net';

/** The hidden fields of a confirmation page's form (the link's signed fields and the page's token). */
function hiddenFields(body: string): Record<string, string> {
  return Object.fromEntries(
    [...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
      m[1] as string,
      (m[2] as string).replace(/&amp;/g, '&'),
    ]),
  );
}

describe('snooze links', () => {
  let world: World;
  const saved = { ...process.env };
  beforeAll(async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'esw-snooze-')), 'watch-config.json');
    // Clocks below run a day ahead of the emulator, to which every running job would look stalled.
    writeFileSync(
      config,
      JSON.stringify({
        route: { channels: [{ type: 'teams', urlSetting: 'TEAMS_OPS_URL' }] },
        rules: { 'job-stalled': { enabled: false } },
      }),
    );
    world = await startWorld(DEMO_SCENARIO, {
      AzureWebJobsStorage: ownStorage('snooze'),
      SNOOZE_SIGNING_KEY: 'k'.repeat(48),
      SNOOZE_BASE_URL: BASE,
      WATCH_CONFIG: config,
    });
  });
  afterAll(() => world.stop());
  afterEach(() => {
    process.env = { ...saved };
  });

  const settings = () => loadSettings(world.env);
  const stores = () => {
    const credential = createCredentials(settings(), world.env).azure;
    return {
      alerts: new AlertStore(createTableClient(settings(), credential, ALERTS_TABLE)),
      ...stateStores(createTableClient(settings(), credential, STATE_TABLE)),
      silences: new SilenceStore(createTableClient(settings(), credential, STATE_TABLE)),
    };
  };
  const cycleAt = (at: Date) => runCycle(cycleDepsFromSettings(settings(), world.env, world.log, () => at));
  const context = () =>
    new InvocationContext({
      functionName: 'snooze',
      logHandler: (level, ...args) => captureLog('snooze function', `${level}: ${args.join(' ')}`),
    });
  /** A request to the Function App's snooze function, as a browser makes it (a POST with the page's Origin). */
  const call = async (method: 'GET' | 'POST', url: string, body?: string, origin = BASE) => {
    Object.assign(process.env, world.env);
    const request = new HttpRequest({
      method,
      url,
      ...(body
        ? { body: { string: body }, headers: { 'content-type': 'application/x-www-form-urlencoded', origin } }
        : {}),
    });
    const response = await snooze(request, context());
    return { status: response.status, headers: response.headers, body: String(response.body ?? '') };
  };
  /**
   * A confirmation as the page's form makes it at `at`: the link's fields, who, and the form's
   * token as the page would have shown it (minted by the page's own module: a page shown at `at`,
   * also when the link's state means none is shown then), posted with this monitor's Origin.
   */
  const confirmAt = (fields: Record<string, string>, by: string, at: Date) => {
    const link = readSnoozeLink(fields, 'k'.repeat(48), at);
    if (!link.ok) throw new Error(link.reason);
    const form = formToken('k'.repeat(48), 'snooze', link.link.linkId, at);
    return snoozeFromEnv(world.env, { method: 'POST', fields: { ...fields, by, form }, origin: BASE }, at);
  };
  const fabrikamEmails = () =>
    world.cloud.acs.messages().filter((m) => m.subject.includes('Deletion threshold tripped'));

  it('email and Teams carry signed links; the GET only asks; the POST snoozes; the cycles obey; the status page shows it', async () => {
    const t0 = new Date();
    quarantine(world);
    const first = await cycleAt(t0);
    expect(first.errors).toEqual([]);

    const [email] = fabrikamEmails();
    const links = [...(email?.plainText ?? '').matchAll(/https:\/\/sync-watch\.example\.net\/api\/snooze\?\S+/g)].map(
      (m) => m[0],
    );
    expect(links).toHaveLength(2);
    // Decisions from alerts are off here (WATCH_ACTIONS unset): no decide link anywhere.
    expect(email?.plainText).not.toContain('/api/decide');
    expect(email?.html).not.toContain('/api/decide');
    expect(email?.html).toContain(links[1]!.replace(/&/g, '&amp;'));
    const card = JSON.parse(world.cloud.webhooks.accepted('teams')[0]!.body);
    const actions = JSON.stringify(card.attachments[0].content.body);
    expect(actions).toContain('"title":"Snooze 4 h"');
    expect(actions).toContain('"title":"Snooze 1 day"');
    expect(actions).not.toContain('/api/decide');
    const day = links.find((l) => l.includes('d=1d')) as string;

    // Opening the link (a person, or a mail scanner) changes nothing: it shows a button that POSTs.
    const page = await call('GET', day);
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({ 'Content-Security-Policy': expect.stringContaining("form-action 'self'") });
    expect(page.body).toContain('Snooze this alert for 1 day?');
    expect(page.body).toContain('Deletion threshold tripped: Fabrikam to Contoso');
    expect(page.body).toContain('<form method="post">');
    expect(await stores().silences.list()).toEqual([]);

    // A changed link is refused.
    expect((await call('GET', day.replace('d=1d', 'd=4h'))).status).toBe(403);

    // The button's POST acts only from this page: another site's post, or one without the page's token, is refused.
    const form = new URLSearchParams({ ...hiddenFields(page.body), by: 'alice@contoso.com' }).toString();
    const forged = await call('POST', `${BASE}/api/snooze`, form, 'https://evil.example');
    expect([forged.status, forged.body.includes('Refused: not sent from this page')]).toEqual([403, true]);
    const linkOnly = new URLSearchParams([...new URL(day).searchParams.entries(), ['by', 'mallory']]).toString();
    const noToken = await call('POST', `${BASE}/api/snooze`, linkOnly);
    expect([noToken.status, noToken.body.includes('Refused: the form is missing or too old')]).toEqual([403, true]);
    expect(await stores().silences.list()).toEqual([]);

    const done = await call('POST', `${BASE}/api/snooze`, form);
    expect(done.status).toBe(201);
    expect(done.body).toContain('Muted until');
    const again = await call('POST', `${BASE}/api/snooze`, form);
    expect([again.status, again.body.includes('Already snoozed')]).toEqual([200, true]);
    const [silence] = await stores().silences.list();
    expect(silence).toMatchObject({
      createdBy: 'alice@contoso.com (snooze link)',
      matchers: { tenant: CONTOSO, job: FABRIKAM_JOB, condition: 'deletion-threshold' },
    });
    expect(await stores().silences.list()).toHaveLength(1);

    // Past the repeat interval (4 h for critical alerts), within the snooze: no reminder anywhere.
    const muted = await cycleAt(new Date(t0.getTime() + 5 * 3600_000));
    expect(muted.errors).toEqual([]);
    expect(fabrikamEmails()).toHaveLength(1);
    expect(world.cloud.webhooks.accepted('teams')).toHaveLength(1);
    expect(world.log.lines.join('\n')).toMatch(
      /muted alert [0-9a-f]+ \(deletion-threshold, Fabrikam to Contoso\): silence by alice@contoso\.com \(snooze link\) until/,
    );

    const view = await readStatus(stores(), {
      policy: loadPolicy(settings().configPath, { emailTo: ['ops@contoso.com'] }),
      snoozes: stores().silences,
      now: new Date(t0.getTime() + 5 * 3600_000),
    });
    expect(view.firing.find((a) => a.condition === 'deletion-threshold')?.mutedBy?.description).toContain(
      'snooze link',
    );
    expect(view.mutes).toContainEqual(
      expect.objectContaining({
        kind: 'silence',
        active: true,
        snoozed: expect.stringContaining('Deletion threshold tripped'),
        createdBy: 'alice@contoso.com (snooze link)',
      }),
    );
    expect(renderStatusPage(view)).toContain(
      'Snooze <div class="muted small">Deletion threshold tripped: Fabrikam to Contoso',
    );

    // Once the snooze has ended, the reminder that was due goes out.
    await cycleAt(new Date(t0.getTime() + 25 * 3600_000));
    expect(fabrikamEmails().map((m) => m.headers?.['X-Entra-Sync-Watch-Kind'])).toEqual(['firing', 'reminder']);
  });

  it('a link is used once: two posts at once make one silence; after it ended (and its row is cleaned up) the link makes no new one', async () => {
    const t0 = new Date();
    world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, {
      state: 'quarantined',
      quarantine: { reason: 'TooManyDeletes' },
    });
    expect((await cycleAt(t0)).errors).toEqual([]);
    const email = fabrikamEmails().at(-1);
    const link = [...(email?.plainText ?? '').matchAll(/https:\/\/sync-watch\.example\.net\/api\/snooze\?\S+/g)]
      .map((m) => m[0])
      .find((l) => l.includes('d=4h')) as string;
    const fields = Object.fromEntries(new URL(link).searchParams.entries());
    const form = new URLSearchParams({
      ...hiddenFields((await call('GET', link)).body),
      by: 'carol@contoso.com',
    }).toString();
    const before = (await stores().silences.list()).length;

    // Two instances take the same confirmation at once: one silence, both pages say so.
    const [a, b] = await Promise.all([
      call('POST', `${BASE}/api/snooze`, form),
      call('POST', `${BASE}/api/snooze`, form),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect((await stores().silences.list()).length).toBe(before + 1);

    // Used again while its silence is on: the same silence, nothing new.
    const during = await confirmAt(fields, 'dave', new Date(t0.getTime() + 3600_000));
    expect([during.status, during.body.includes('Already snoozed')]).toEqual([200, true]);

    // The silence ended 4 h in; a day later its row is cleaned up. The link still has days to run.
    const later = new Date(t0.getTime() + 30 * 3600_000);
    await stores().silences.current(later);
    expect((await stores().silences.list()).length).toBe(before);
    const opened = await snoozeFromEnv(world.env, { method: 'GET', fields }, later);
    const replay = await confirmAt(fields, 'mallory', later);
    expect(replay.status).toBe(409);
    expect(replay.body).toContain('This link was already used');
    expect(replay.body).toContain('carol@contoso.com');
    expect(replay.body).toMatch(/the silence it made ended at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(opened.status).toBe(409);
    expect(opened.body).not.toContain('<form');
    expect((await stores().silences.list()).length).toBe(before);
  });

  it('links of the earlier format in emails sent before still work once; a use the earlier release stored still counts', async () => {
    const t0 = new Date();
    world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, {
      state: 'quarantined',
      quarantine: { reason: 'TooManyDeletes' },
    });
    expect((await cycleAt(t0)).errors).toEqual([]);
    const alert = [...(await stores().alerts.loadAll()).values()].find(
      (a) => a.labels.jobId === FABRIKAM_JOB && a.state === 'firing',
    )!;
    // What an email sent by the earlier release carries: t, a, d, e and its own HMAC.
    const expires = Math.floor((t0.getTime() + 6 * 24 * 3600_000) / 1000);
    const old = (duration: '4h' | '1d') =>
      snoozeParams({ tenantId: CONTOSO, fingerprint: alert.fingerprint, duration, expires }, 'k'.repeat(48));
    const before = (await stores().silences.list()).length;
    const post = (fields: Record<string, string>, at: Date) => confirmAt(fields, 'erin@contoso.com', at);

    expect((await snoozeFromEnv(world.env, { method: 'GET', fields: old('4h') }, t0)).status).toBe(200);
    expect((await post(old('4h'), t0)).status).toBe(201);
    expect((await post(old('4h'), t0)).body).toContain('Already snoozed');
    expect((await stores().silences.list()).length).toBe(before + 1);
    // After its silence ended, the old link is used: refused, as the earlier release refused it.
    const later = new Date(t0.getTime() + 5 * 3600_000);
    expect((await post(old('4h'), later)).status).toBe(409);

    // A use the earlier release wrote (state table, partition snooze-links) before this one was deployed.
    const legacy = old('1d');
    const legacyId = createHash('sha256').update(`${alert.fingerprint}\n1d\n${legacy.s}`).digest('hex').slice(0, 32);
    const earlier = new Date(t0.getTime() - 3 * 24 * 3600_000);
    await stores().silences.useLink(
      legacyId,
      {
        id: legacyId,
        matchers: { tenant: CONTOSO, job: FABRIKAM_JOB, condition: 'deletion-threshold' },
        startsAt: earlier,
        endsAt: new Date(earlier.getTime() + 24 * 3600_000),
        createdBy: 'frank@contoso.com (snooze link)',
        comment: 'Snoozed for 1 day from a message about it',
        fingerprint: alert.fingerprint,
        heading: 'Deletion threshold tripped: Fabrikam to Contoso (Contoso)',
      },
      new Date(expires * 1000),
      earlier,
    );
    const replay = await snoozeFromEnv(world.env, { method: 'GET', fields: legacy }, t0);
    expect(replay.status).toBe(409);
    expect(replay.body).toContain('frank@contoso.com');
  });

  it('says snooze links are off without SNOOZE_SIGNING_KEY, and refuses other methods', async () => {
    const off = await snoozeFromEnv(
      { ...world.env, SNOOZE_SIGNING_KEY: '', SNOOZE_BASE_URL: '' },
      { method: 'GET', fields: {} },
    );
    expect([off.status, off.body.includes('Snooze links are off')]).toEqual([404, true]);
    expect((await snoozeFromEnv(world.env, { method: 'DELETE', fields: {} })).status).toBe(405);
  });
});
