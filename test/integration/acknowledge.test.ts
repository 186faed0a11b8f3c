import { HttpRequest, InvocationContext } from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { acknowledge } from '../../functions/acknowledge';
import { handleAcknowledge } from '../../lib/acknowledge/handler';
import { createCredentials, createTableClient } from '../../lib/clients';
import { cycleDepsFromSettings } from '../../lib/app';
import { buildPolicy, loadPolicy } from '../../lib/config/config';
import { runCycle } from '../../lib/cycle/cycle';
import type { CycleLimits } from '../../lib/cycle/limits';
import { LinkLedger } from '../../lib/store/link-ledger';
import type { AlertRecord, CyclePoint } from '../../lib/model';
import { loadSettings } from '../../lib/settings/settings';
import { readStatus } from '../../lib/status/status';
import { renderStatusPage } from '../../lib/status/page';
import { renderStatusText } from '../../lib/status/text';
import { ALERTS_TABLE, AlertStore } from '../../lib/store/alert-store';
import { STATE_TABLE, stateStores } from '../../lib/store/state-table';
import type { DeliveredEmail } from '../../emulators/acs';
import { captureLog } from '../support/log-capture';
import { DEMO_SCENARIO, ownStorage, startWorld, type World } from '../support/world';

/**
 * Acknowledgements and escalation on the real pipeline: the cycle against the emulators and
 * Azurite, the Acknowledge links the real messages carry, opened and confirmed through the
 * Function App's own handler (functions/acknowledge.ts) with the production table names in a
 * storage account of this file's own; then both kept exactly once through a kill at every cycle
 * point, on tables of their own.
 */

const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const FABRIKAM_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01';
const BASE = 'https://sync-watch.example.net';
const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * Two routes take a Contoso quarantine: root.0 (the change board, by email and a webhook) and
 * root.1 (ops, by email and Teams), which escalates to the lead after 30 min and to the leads'
 * webhook after 2 h.
 */
const CONFIG = {
  route: {
    routes: [
      {
        match: { condition: 'quarantine' },
        to: ['change-board@contoso.com'],
        continue: true,
        channels: [{ type: 'webhook', urlSetting: 'OPS_WEBHOOK_URL', secretSetting: 'OPS_WEBHOOK_SECRET' }],
      },
      {
        match: { tenant: CONTOSO },
        to: ['ops@contoso.com', 'night-shift@contoso.com'],
        channels: [{ type: 'teams', urlSetting: 'TEAMS_OPS_URL' }],
        escalate: [
          { after: '30m', to: ['lead@contoso.com'] },
          {
            after: '2h',
            channels: [{ type: 'webhook', urlSetting: 'LEADS_WEBHOOK_URL', secretSetting: 'OPS_WEBHOOK_SECRET' }],
          },
        ],
      },
    ],
  },
  // The cycles' clocks run hours ahead of the emulator, to which every running job would look stalled.
  rules: { 'job-stalled': { enabled: false } },
};

const ACK_LINK = /https:\/\/sync-watch\.example\.net\/api\/acknowledge\?\S+/;

/** The Acknowledge link a message carries (email plain text, or a channel post's JSON). */
function ackLinkOf(text: string | undefined): string {
  const link = ACK_LINK.exec(text ?? '')?.[0];
  if (!link) throw new Error(`no Acknowledge link in:\n${text?.slice(0, 400)}`);
  return link.replace(/[",].*$/, '');
}

/** The hidden fields of a confirmation page's form. */
function hiddenFields(body: string): Record<string, string> {
  return Object.fromEntries(
    [...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
      m[1] as string,
      (m[2] as string).replace(/&amp;/g, '&'),
    ]),
  );
}

const quarantine = (world: World, errorCode: string) =>
  world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, {
    state: 'quarantined',
    quarantine: { reason: 'EncounteredQuarantineException', errorCode },
  });
const recover = (world: World) => world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, { state: 'healthy' });
const to = (m: DeliveredEmail) => m.to.map((a) => a.address).join(',');
/** What an email is, from the header mail rules read (the subject of a thread never changes). */
const KIND_WORDS: Record<string, string> = {
  firing: 'New',
  reminder: 'Reminder',
  changed: 'Changed',
  escalation: 'Escalated',
  resolved: 'Resolved',
  ended: 'Ended',
};
const kindOf = (m: DeliveredEmail) => KIND_WORDS[m.headers?.['X-Entra-Sync-Watch-Kind'] ?? ''] ?? 'unknown';

describe('acknowledge and escalate, end to end through the Function App', () => {
  let world: World;
  const saved = { ...process.env };
  beforeAll(async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'esw-ack-')), 'watch-config.json');
    writeFileSync(config, JSON.stringify(CONFIG));
    world = await startWorld(DEMO_SCENARIO, {
      AzureWebJobsStorage: ownStorage('acknowledge'),
      SNOOZE_SIGNING_KEY: 'k'.repeat(48),
      SNOOZE_BASE_URL: BASE,
      WATCH_CONFIG: config,
    });
    world.env.LEADS_WEBHOOK_URL = world.cloud.webhooks.webhookUrl('leads');
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    world.cloud.acs.reset();
    world.cloud.webhooks.reset();
  });
  afterEach(async () => {
    process.env = { ...saved };
    // Each test starts with its alert ended and forgotten: a quiet job, then a cycle a week later.
    recover(world);
    await cycleAt(new Date(Date.now() + 30 * 24 * HOUR));
  });

  const settings = () => loadSettings(world.env);
  const alerts = () =>
    new AlertStore(createTableClient(settings(), createCredentials(settings(), world.env).azure, ALERTS_TABLE));
  const cycleAt = (at: Date) => runCycle(cycleDepsFromSettings(settings(), world.env, world.log, () => at));
  const context = () =>
    new InvocationContext({
      functionName: 'acknowledge',
      logHandler: (level, ...args) => captureLog('acknowledge function', `${level}: ${args.join(' ')}`),
    });
  /** A request to the Function App's acknowledge function, as a browser makes it. */
  const call = async (method: 'GET' | 'POST', url: string, form?: Record<string, string>, origin = BASE) => {
    Object.assign(process.env, world.env);
    const request = new HttpRequest({
      method,
      url,
      headers: {
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(method === 'POST' && origin ? { origin } : {}),
      },
      ...(form ? { body: { string: new URLSearchParams(form).toString() } } : {}),
    });
    const response = await acknowledge(request, context());
    return { status: response.status, headers: response.headers, body: String(response.body ?? '') };
  };
  /** Opens a link and confirms its page as `who`: what a person does with the button. */
  const confirm = async (link: string, who: string, comment = '') => {
    const page = await call('GET', link);
    expect(page.status).toBe(200);
    return call('POST', `${BASE}/api/acknowledge`, { ...hiddenFields(page.body), who, comment });
  };
  const emails = () => world.cloud.acs.messages();
  const posts = (kind: 'teams' | 'webhook', name: string) =>
    world.cloud.webhooks.accepted(kind).filter((p) => p.name === name);
  const stored = async (): Promise<AlertRecord> =>
    [...(await alerts().loadAll()).values()].find((a) => a.labels.condition === 'quarantine' && a.state === 'firing')!;

  it('an acknowledgement stops reminders on every route and channel and shows in the next notices; a change clears it', async () => {
    const t0 = new Date();
    quarantine(world, 'CodeA');
    expect((await cycleAt(t0)).errors).toEqual([]);
    expect(emails().map(to).sort()).toEqual(['change-board@contoso.com', 'ops@contoso.com,night-shift@contoso.com']);
    expect([posts('teams', 'ops').length, posts('webhook', 'ops').length]).toEqual([1, 1]);
    // Every firing notice carries the link: email (text and button), the Teams card, the webhook's actions.
    const opsEmail = emails().find((m) => to(m).startsWith('ops@'))!;
    const link = ackLinkOf(opsEmail.plainText);
    expect(opsEmail.html).toContain(link.replace(/&/g, '&amp;'));
    expect(posts('teams', 'ops')[0]!.body).toContain('"title":"Acknowledge"');
    const hook = JSON.parse(posts('webhook', 'ops')[0]!.body);
    expect(hook.notices[0].actions[1]).toMatchObject({ kind: 'acknowledge', label: 'Acknowledge' });
    expect(hook.notices[0].acknowledged).toBeNull();

    // Opening the link asks; the recipients of the email it came in are whom it offers.
    const page = await call('GET', link);
    expect(page.status).toBe(200);
    expect(page.body).toContain('value="night-shift@contoso.com"');
    expect(page.body).not.toContain('change-board@contoso.com');
    expect((await stored()).acknowledged).toBeUndefined();
    // A POST from elsewhere (no Origin of ours), or without the page's token, does nothing.
    const form = { ...hiddenFields(page.body), who: 'night-shift@contoso.com', comment: 'On it <b>now</b>' };
    expect((await call('POST', `${BASE}/api/acknowledge`, form, 'https://evil.example')).status).toBe(403);
    expect((await call('POST', `${BASE}/api/acknowledge`, { ...form, form: '' })).status).toBe(403);
    const done = await call('POST', `${BASE}/api/acknowledge`, form);
    expect(done.status).toBe(201);
    expect((await call('POST', `${BASE}/api/acknowledge`, form)).status).toBe(200);
    expect((await stored()).acknowledged).toMatchObject({ by: 'night-shift@contoso.com', comment: 'On it <b>now</b>' });

    // Past the repeat interval and both escalation delays: no reminder and no escalation anywhere.
    const quiet = await cycleAt(new Date(t0.getTime() + 5 * HOUR));
    expect(quiet.errors).toEqual([]);
    expect(emails()).toHaveLength(2);
    expect([posts('teams', 'ops').length, posts('webhook', 'ops').length, posts('webhook', 'leads').length]).toEqual([
      1, 1, 0,
    ]);
    const view = await readStatus(
      {
        alerts: alerts(),
        ...stateStores(createTableClient(settings(), createCredentials(settings(), world.env).azure, STATE_TABLE)),
      },
      { policy: loadPolicy(settings().configPath, { emailTo: ['ops@contoso.com'] }) },
    );
    const shown = view.firing.find((a) => a.condition === 'quarantine');
    expect(shown?.acknowledged).toMatchObject({ by: 'night-shift@contoso.com', comment: 'On it <b>now</b>' });
    expect(renderStatusPage(view)).toContain('acknowledged</span> by night-shift@contoso.com at');
    expect(renderStatusPage(view)).not.toContain('<b>now</b>');
    expect(renderStatusText(view)).toMatch(
      /acknowledged by night-shift@contoso\.com at \d{4}-\d\d-\d\d \d\d:\d\d UTC: "On it <b>now<\/b>"/,
    );

    // A new error code: a change notice to every route and channel says who had acknowledged it, and that this clears it.
    quarantine(world, 'CodeB');
    expect((await cycleAt(new Date(t0.getTime() + 6 * HOUR))).errors).toEqual([]);
    const changed = emails().slice(2);
    expect(changed.map((m) => kindOf(m))).toEqual(['Changed', 'Changed']);
    for (const m of changed)
      expect(m.plainText).toMatch(/Acknowledged by night-shift@contoso\.com at .*, before the alert changed/);
    const changedHook = JSON.parse(posts('webhook', 'ops')[1]!.body).notices[0];
    expect(changedHook.kind).toBe('changed');
    expect(changedHook.acknowledged).toMatchObject({ by: 'night-shift@contoso.com', standing: false });
    expect(changedHook.actions[1].kind).toBe('acknowledge');
    expect(posts('teams', 'ops')[1]!.body).toContain('before the alert changed');
    expect((await stored()).acknowledged?.cleared).toBeDefined();
    // The old link is about the alert before the change: refused by name.
    const stale = await call('GET', link);
    expect([stale.status, stale.body.includes('The alert changed after this message')]).toEqual([409, true]);

    // Unacknowledged again: the first escalation step goes out 30 min after the change, once.
    await cycleAt(new Date(t0.getTime() + 6 * HOUR + 31 * MIN));
    await cycleAt(new Date(t0.getTime() + 6 * HOUR + 40 * MIN));
    const escalations = emails().filter((m) => kindOf(m) === 'Escalated');
    expect(escalations.map(to)).toEqual(['lead@contoso.com']);
    expect(escalations[0]!.plainText).toContain('Nobody has acknowledged this alert in 30 min');

    // The lead acknowledges from the escalation email (the page offers the lead): no further step, no reminder.
    const lead = await confirm(ackLinkOf(escalations[0]!.plainText), 'lead@contoso.com', 'Taking it');
    expect(lead.status).toBe(201);
    const before = emails().length;
    await cycleAt(new Date(t0.getTime() + 11 * HOUR));
    expect(emails()).toHaveLength(before);
    expect(posts('webhook', 'leads')).toHaveLength(0);

    // It ends: every route, channel and the escalated lead hear it, each notice saying who acknowledged it.
    recover(world);
    await cycleAt(new Date(t0.getTime() + 11 * HOUR + 5 * MIN));
    const resolved = emails().slice(before);
    expect(resolved.map((m) => `${kindOf(m)} ${to(m)}`).sort()).toEqual([
      'Resolved change-board@contoso.com',
      'Resolved lead@contoso.com',
      'Resolved ops@contoso.com,night-shift@contoso.com',
    ]);
    for (const m of resolved) expect(m.plainText).toMatch(/Acknowledged by lead@contoso\.com at .*\.\n\s+"Taking it"/);
    expect(JSON.parse(posts('webhook', 'ops').at(-1)!.body).notices[0]).toMatchObject({
      kind: 'resolved',
      // Nothing left to acknowledge or snooze: only the page to look at.
      actions: [expect.objectContaining({ kind: 'open' })],
      acknowledged: { by: 'lead@contoso.com', standing: true, comment: 'Taking it' },
    });
  });

  it('escalation goes to each step once after its delay, shows on the status page, and never after an acknowledgement', async () => {
    const t0 = new Date();
    quarantine(world, 'CodeA');
    await cycleAt(t0);
    await cycleAt(new Date(t0.getTime() + 29 * MIN));
    expect(emails().filter((m) => kindOf(m) === 'Escalated')).toEqual([]);
    await cycleAt(new Date(t0.getTime() + 31 * MIN));
    await cycleAt(new Date(t0.getTime() + 45 * MIN));
    const escalated = emails().filter((m) => kindOf(m) === 'Escalated');
    expect(escalated.map((m) => `${to(m)} ${m.subject}`)).toEqual([
      expect.stringMatching(
        new RegExp(`^lead@contoso\\.com Re: ${CONTOSO}: Quarantined: Fabrikam to Contoso \\(since `),
      ),
    ]);
    expect(escalated[0]!.headers?.['X-Entra-Sync-Watch-Kind']).toBe('escalation');
    // The routes themselves are not told again.
    expect(emails()).toHaveLength(3);
    await cycleAt(new Date(t0.getTime() + 2 * HOUR + MIN));
    await cycleAt(new Date(t0.getTime() + 2 * HOUR + 10 * MIN));
    const leads = posts('webhook', 'leads');
    expect(leads).toHaveLength(1);
    expect(JSON.parse(leads[0]!.body)).toMatchObject({
      source: { route: 'root.1.escalate.1' },
      notices: [{ kind: 'escalation', status: 'Escalated', escalation: expect.stringContaining('in 2 h') }],
    });
    const view = await readStatus(
      {
        alerts: alerts(),
        ...stateStores(createTableClient(settings(), createCredentials(settings(), world.env).azure, STATE_TABLE)),
      },
      { policy: loadPolicy(settings().configPath, { emailTo: ['ops@contoso.com'] }) },
    );
    expect(view.firing.find((a) => a.condition === 'quarantine')?.escalated?.map((x) => x.to)).toEqual([
      'lead@contoso.com',
      'webhook LEADS_WEBHOOK_URL',
    ]);
    expect(renderStatusPage(view)).toContain('escalated to lead@contoso.com at');

    // A new firing period, acknowledged within the delay: never escalated.
    recover(world);
    await cycleAt(new Date(t0.getTime() + 3 * HOUR));
    // Its end goes to the escalation steps that heard of it too.
    expect(JSON.parse(posts('webhook', 'leads').at(-1)!.body).notices[0].kind).toBe('resolved');
    expect(
      emails()
        .filter((m) => to(m) === 'lead@contoso.com')
        .map((m) => kindOf(m)),
    ).toEqual(['Escalated', 'Resolved']);
    const leadsBefore = posts('webhook', 'leads').length;
    const t1 = new Date(t0.getTime() + 4 * HOUR);
    quarantine(world, 'CodeA');
    const count = emails().length;
    await cycleAt(t1);
    const teamsLink = ackLinkOf(posts('teams', 'ops').at(-1)!.body);
    const done = await confirm(teamsLink, 'Dana (on call)');
    expect(done.status).toBe(201);
    expect((await stored()).acknowledged).toMatchObject({ by: 'Dana (on call)', via: 'root.1~teams:TEAMS_OPS_URL' });
    for (const later of [31 * MIN, 2 * HOUR + MIN, 5 * HOUR]) await cycleAt(new Date(t1.getTime() + later));
    expect(
      emails()
        .slice(count)
        .map((m) => kindOf(m)),
    ).toEqual(['New', 'New']);
    expect(posts('webhook', 'leads')).toHaveLength(leadsBefore);
  });

  it('refuses by name: a tampered, expired or foreign link, one of an earlier firing, a GET that tries to act, a POST without the form’s token', async () => {
    const t0 = new Date();
    quarantine(world, 'CodeA');
    await cycleAt(t0);
    const link = ackLinkOf(emails().find((m) => to(m).startsWith('ops@'))?.plainText);
    const fields = Object.fromEntries(new URL(link).searchParams.entries());
    const url = (f: Record<string, string>) => `${BASE}/api/acknowledge?${new URLSearchParams(f).toString()}`;

    const tampered = await call('GET', url({ ...fields, a: 'f'.repeat(32) }));
    expect([tampered.status, tampered.body.includes('changed after it was made')]).toEqual([403, true]);
    const { acknowledgeFromEnv } = await import('../../lib/app');
    const expired = await acknowledgeFromEnv(
      world.env,
      { method: 'GET', fields },
      new Date(t0.getTime() + 8 * 24 * HOUR),
    );
    expect([expired.status, expired.body.includes('has expired')]).toEqual([410, true]);
    const foreign = await acknowledgeFromEnv(
      { ...world.env, SNOOZE_SIGNING_KEY: 'o'.repeat(48) },
      { method: 'GET', fields },
    );
    expect([foreign.status, foreign.body.includes('not made by this monitor')]).toEqual([403, true]);

    // A GET carrying everything a POST would (a scanner, a prefetch, a forged link) only shows the page.
    const page = await call('GET', link);
    const form = { ...hiddenFields(page.body), who: 'ops@contoso.com', comment: 'x' };
    const acting = await call('GET', url(form));
    expect([acting.status, acting.body.includes('Acknowledge this alert?')]).toEqual([200, true]);
    const noToken = await call('POST', `${BASE}/api/acknowledge`, { ...form, form: '' });
    expect([noToken.status, noToken.body.includes('the form is missing or too old')]).toEqual([403, true]);
    expect((await stored()).acknowledged).toBeUndefined();

    // The alert ends and fires again: the first firing's link is refused, before and after confirming.
    recover(world);
    await cycleAt(new Date(t0.getTime() + 10 * MIN));
    quarantine(world, 'CodeA');
    await cycleAt(new Date(t0.getTime() + 20 * MIN));
    const replayed = await call('POST', `${BASE}/api/acknowledge`, form);
    expect([replayed.status, replayed.body.includes('This link is about an earlier firing')]).toEqual([409, true]);
    expect((await call('GET', link)).status).toBe(409);
    expect((await stored()).acknowledged).toBeUndefined();
  });

  it('says Acknowledge links are off without SNOOZE_SIGNING_KEY', async () => {
    const off = await (
      await import('../../lib/app')
    ).acknowledgeFromEnv({ ...world.env, SNOOZE_SIGNING_KEY: '', SNOOZE_BASE_URL: '' }, { method: 'GET', fields: {} });
    expect([off.status, off.body.includes('Acknowledge links are off')]).toEqual([404, true]);
  });
});

describe('acknowledgements and escalation through a kill at every cycle point', () => {
  const FAST: CycleLimits = { cycleMs: 8000, observeMs: 4800, tenantMs: 2500, callMs: 1500, maxRetryAfterMs: 1000 };
  const POINTS: CyclePoint[] = ['evaluated', 'leased', 'state-written', 'planned', 'sending', 'sent', 'recorded'];
  let world: World;
  beforeAll(async () => {
    world = await startWorld(DEMO_SCENARIO, { SNOOZE_SIGNING_KEY: 'k'.repeat(48), SNOOZE_BASE_URL: BASE });
    world.env.LEADS_WEBHOOK_URL = world.cloud.webhooks.webhookUrl('leads');
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    world.cloud.control.reset();
    world.cloud.acs.reset();
    world.cloud.webhooks.reset();
    world.tableName = `k${Math.random().toString(36).slice(2)}`;
  });

  const policy = buildPolicy(CONFIG, { emailTo: ['ops@contoso.com'] });
  const deps = (clock: () => Date, probe?: (p: CyclePoint) => void | Promise<void>) =>
    world.deps({ policy, clock, ...(probe ? { probe } : {}) }, { limits: FAST });
  /** Runs a cycle that the process dies in at `point` (it never resumes, never releases its lease). */
  const killedAt = async (point: CyclePoint, clock: () => Date) => {
    let killed = false;
    void runCycle(
      deps(clock, (p) => {
        if (p !== point) return undefined;
        killed = true;
        return new Promise<void>(() => undefined);
      }),
    );
    for (let waited = 0; !killed && waited < 20_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    return killed;
  };
  const ledger = () =>
    new LinkLedger(
      TableClient.fromConnectionString(inject('storageConnectionString'), `${world.tableName}ledger`, {
        allowInsecureConnection: true,
      }),
    );
  /** Confirms a message's Acknowledge link through the handler, on this test's tables. */
  const acknowledgeBy = async (link: string, who: string, now: Date) => {
    const ackDeps = {
      settings: { key: 'k'.repeat(48), baseUrl: BASE },
      alerts: deps(() => now).alerts,
      ledger: ledger(),
      policy,
      now,
    };
    const fields = Object.fromEntries(new URL(link).searchParams.entries());
    const page = await handleAcknowledge({ method: 'GET', fields }, ackDeps);
    return handleAcknowledge({ method: 'POST', fields: { ...hiddenFields(page.body), who }, origin: BASE }, ackDeps);
  };
  const emails = () => world.cloud.acs.messages();
  const teams = () => world.cloud.webhooks.accepted('teams');

  it.each(POINTS)('killed at "%s" while the escalation is due: the lead hears it exactly once', async (point) => {
    let now = Date.parse('2026-11-27T12:00:00Z');
    const clock = () => new Date(now);
    quarantine(world, 'CodeA');
    expect((await runCycle(deps(clock))).errors).toEqual([]);
    now += 31 * MIN;
    expect(await killedAt(point, clock)).toBe(true);
    now += FAST.cycleMs + 1000; // past the dead instance's lease
    await runCycle(deps(clock));
    now += MIN;
    await runCycle(deps(clock));
    const escalations = emails().filter((m) => kindOf(m) === 'Escalated');
    expect(escalations.map(to)).toEqual(['lead@contoso.com']);
    // The escalation step heard it; the routes were not told again.
    expect(
      emails()
        .map((m) => kindOf(m))
        .sort(),
    ).toEqual(['Escalated', 'New', 'New']);
  });

  it.each(POINTS)(
    'killed at "%s" with a reminder due, then acknowledged: no reminder reaches anyone after the acknowledgement',
    async (point) => {
      let now = Date.parse('2026-11-27T12:00:00Z');
      const clock = () => new Date(now);
      quarantine(world, 'CodeA');
      expect((await runCycle(deps(clock))).errors).toEqual([]);
      const link = ackLinkOf(emails().find((m) => to(m).startsWith('ops@'))?.plainText);
      // Past the repeat interval (and both escalation delays): the cycle that would remind dies at `point`.
      now += 4 * HOUR + MIN;
      expect(await killedAt(point, clock)).toBe(true);
      const done = await acknowledgeBy(link, 'ops@contoso.com', clock());
      expect(done.status).toBe(201);
      const sentBefore = {
        emails: emails().length,
        teams: teams().length,
        hooks: world.cloud.webhooks.accepted('webhook').length,
      };
      now += FAST.cycleMs + 1000;
      expect((await runCycle(deps(clock))).errors).toEqual([]);
      now += HOUR;
      expect((await runCycle(deps(clock))).errors).toEqual([]);
      // Whatever the dead cycle got out before it died stays; nothing new is a reminder or an escalation.
      const after = [
        ...emails()
          .slice(sentBefore.emails)
          .map((m) => kindOf(m)),
        ...teams()
          .slice(sentBefore.teams)
          .map((p) => JSON.parse(p.body).attachments[0].content.body[0].items[0].text),
        ...world.cloud.webhooks
          .accepted('webhook')
          .slice(sentBefore.hooks)
          .map((p) => JSON.parse(p.body).notices[0].kind),
      ];
      expect(after).toEqual([]);
      // And the outbox holds nothing still waiting to remind anyone.
      expect(await deps(clock).outbox.list()).toEqual([]);
    },
  );
});
