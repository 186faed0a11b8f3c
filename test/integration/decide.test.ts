import { withoutSince } from '../support/subjects';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acknowledge } from '../../functions/acknowledge';
import { decide } from '../../functions/decide';
import { DecisionAudit } from '../../lib/actions/audit';
import { IN_FLIGHT_MS, type ExecutionPoint } from '../../lib/actions/execute';
import { handleDecide, type DecideDeps } from '../../lib/actions/handler';
import { cycleDepsFromSettings, decideDepsFromEnv, readStatusFromEnv, runDoctorFromEnv } from '../../lib/app';
import { renderStatusPage } from '../../lib/status/page';
import { renderStatusText } from '../../lib/status/text';
import { createCredentials, createTableClient } from '../../lib/clients';
import { runCycle } from '../../lib/cycle/cycle';
import { loadSettings } from '../../lib/settings/settings';
import { LINK_LEDGER_TABLE, LinkLedger } from '../../lib/store/link-ledger';
import { Browser as PageBrowser, formOf, type Serve } from '../../scripts/decide-browser';
import { captureLog } from '../support/log-capture';
import { DEMO_SCENARIO, ownStorage, startWorld, type World } from '../support/world';
import type { DeliveredEmail } from '../../emulators/acs';

/**
 * Decisions from an alert end to end, against the emulators (Graph with restart and
 * provisionOnDemand, the authority signing people in with the authorization code and PKCE) and
 * Azurite, with the production table names in a storage account of this file's own: a deletion
 * trip's email carries "Review and decide"; following it signs in through the authority, shows
 * the decision page, the confirmation, and approves; Graph's job-action log shows the one restart
 * with ForceDeletes, whatever point the process is stopped at.
 */

const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const FABRIKAM_SP = '11a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601';
const FABRIKAM_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01';
const WOODGROVE_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e02';
const BASE = 'https://sync-watch.contoso.com';
const READ = ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'];

/** The decide function as the Functions host runs it, from the settings in process.env. */
const viaFunction =
  (world: World): Serve =>
  async (request) => {
    Object.assign(process.env, world.env);
    const url = `${BASE}/api/decide${request.step ? `/${request.step}` : ''}?${new URLSearchParams(request.query).toString()}`;
    const cookie = Object.entries(request.cookies)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
    const response = await decide(
      new HttpRequest({
        method: request.method,
        url,
        params: request.step ? { step: request.step } : {},
        headers: {
          ...(cookie ? { cookie } : {}),
          ...(request.origin ? { origin: request.origin } : {}),
          ...(request.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(request.method === 'POST' ? { body: { string: new URLSearchParams(request.form).toString() } } : {}),
      }),
      new InvocationContext({
        functionName: 'decide',
        logHandler: (level, ...args) => captureLog('decide function', `${level}: ${args.join(' ')}`),
      }),
    );
    const headers = Object.fromEntries(
      Object.entries((response.headers ?? {}) as Record<string, string>).map(([k, v]) => [k, String(v)]),
    );
    return {
      status: response.status ?? 200,
      headers,
      body: String(response.body ?? ''),
      cookies: (response.cookies ?? []).map((c) => ({ name: c.name, value: c.value, maxAgeSeconds: c.maxAge ?? 0 })),
    };
  };

describe('decisions from an alert, against the emulators', () => {
  let world: World;
  const saved = { ...process.env };

  beforeAll(async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'esw-decide-')), 'watch-config.json');
    writeFileSync(
      config,
      JSON.stringify({ tenants: { [CONTOSO]: { name: 'Contoso' } }, rules: { 'job-stalled': { enabled: false } } }),
    );
    world = await startWorld(DEMO_SCENARIO, {
      AzureWebJobsStorage: ownStorage('decide'),
      WATCH_CONFIG: config,
      WATCH_ACTIONS: 'on',
      ACTIONS_SIGNING_KEY: 'decide-signing-key-for-the-integration-test-0123',
      ACTIONS_BASE_URL: BASE,
      // Acknowledge links too, on the same host: the decide pages' session reaches the acknowledge page.
      SNOOZE_SIGNING_KEY: 's'.repeat(48),
      SNOOZE_BASE_URL: BASE,
    });
    // The app people sign in to is the emulator's one app registration; its redirect URI is ours.
    world.env.ACTIONS_SIGNIN_CLIENT_ID = world.cloud.clientId;
    world.env.ACTIONS_SIGNIN_CLIENT_SECRET = world.cloud.clientSecret;
    world.cloud.control.setRedirectUris([`${BASE}/api/decide/signed-in`]);
    // Contoso's admin consented to decisions (before any token is issued: a token carries the roles of its moment).
    world.cloud.control.setGrants(CONTOSO, [...READ, 'Synchronization.ReadWrite.All']);
  });
  afterAll(() => world.stop());
  afterEach(() => {
    process.env = { ...saved };
  });

  const settings = () => loadSettings(world.env);
  const cycle = () => runCycle(cycleDepsFromSettings(settings(), world.env, world.log));
  const ledger = () =>
    new LinkLedger(createTableClient(settings(), createCredentials(settings(), world.env).azure, LINK_LEDGER_TABLE));
  const decisions = async () => new DecisionAudit(ledger()).decisions();
  const restarts = () => world.cloud.control.jobActions('restart').filter((a) => a.jobId === FABRIKAM_JOB);
  const seen = new Set<string>();
  /** The "Review and decide" link about `jobId` in the newest email that has one not followed before. */
  const decideLink = (jobId: string): string => {
    for (const email of [...world.cloud.acs.messages()].reverse())
      for (const [link] of (email.plainText ?? '').matchAll(/https:\/\/sync-watch\.contoso\.com\/api\/decide\?\S+/g))
        if (new URL(link).searchParams.get('j') === jobId && !seen.has(link)) {
          seen.add(link);
          return link;
        }
    throw new Error(
      `no new decide link about ${jobId} in the emails: ${world.cloud.acs
        .messages()
        .map((m) => m.subject)
        .join(' | ')}`,
    );
  };
  /** A deletion trip of Fabrikam's job, seen by a cycle, with a new firing period and its email. */
  const trip = async () => {
    world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, {
      state: 'quarantined',
      quarantine: { reason: 'TooManyDeletes', errorCode: 'TooManyDeletes' },
    });
    expect((await cycle()).errors).toEqual([]);
    return decideLink(FABRIKAM_JOB);
  };
  const healthy = async () => {
    world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, { state: 'healthy' });
    await cycle();
  };

  it('the email’s link, sign-in as an operator, the confirmation, approve: one restart with ForceDeletes, audited', async () => {
    world.cloud.control.step('deletion-threshold-tripped');
    expect((await cycle()).errors).toEqual([]);
    const link = decideLink(FABRIKAM_JOB);
    const browser = new PageBrowser(BASE, viaFunction(world));

    const page = await browser.open(link);
    expect(page.status, page.body).toBe(200);
    expect(page.body).toContain('Signed in as Adele Vance (adele.vance@contoso.com)');
    expect(page.body).toContain('Deletion threshold tripped: Fabrikam to Contoso (Contoso)');
    expect(page.body).toMatch(/The job is quarantined \(TooManyDeletes\) since .* UTC, 612 deletes held\./);
    // The authority was asked by the authorization code flow with PKCE, as the sign-in app.
    const signIns = world.cloud.control.tokenRequests().filter((r) => r.grantType === 'authorization_code');
    expect(signIns).toEqual([expect.objectContaining({ clientId: world.cloud.clientId, status: 200 })]);

    const confirm = await browser.post(formOf(page.body, 'Approve the held deletes'));
    expect(confirm.status, confirm.body).toBe(200);
    expect(confirm.body).toContain('Confirm: approve the held deletes');
    expect(restarts()).toEqual([]);

    const result = await browser.post(formOf(confirm.body, 'Confirm'));
    expect(result.status, result.body).toBe(200);
    expect(result.body).toContain('Done.');
    expect(restarts()).toEqual([
      expect.objectContaining({
        tenantId: CONTOSO,
        servicePrincipalId: FABRIKAM_SP,
        status: 204,
        resetScope: 'ForceDeletes',
      }),
    ]);
    const [decision, ...others] = await decisions();
    expect(others).toEqual([]);
    expect(decision?.record).toMatchObject({
      status: 'done',
      tenantId: CONTOSO,
      jobId: FABRIKAM_JOB,
      configuration: 'Fabrikam to Contoso',
      attempts: [
        {
          action: 'approve-deletes',
          resetScope: 'ForceDeletes',
          by: { name: 'Adele Vance', upn: 'adele.vance@contoso.com', via: 'app role SyncWatch.Operator' },
          graph: { status: 204 },
        },
      ],
    });

    // The same form again is refused.
    expect((await browser.post(formOf(confirm.body, 'Confirm'))).status).toBe(409);

    // The next cycle tells the alert's routes, once: the decision is a notice like any other.
    expect((await cycle()).errors).toEqual([]);
    expect((await cycle()).errors).toEqual([]);
    const decided = world.cloud.acs.messages().filter((m) => m.headers?.['X-Entra-Sync-Watch-Kind'] === 'decided');
    // In the alert's thread: its subject with `Re: `.
    expect(decided.map((m) => withoutSince(m.subject))).toEqual([
      'Re: Contoso: Deletion threshold tripped: Fabrikam to Contoso',
    ]);
    expect(decided[0]?.plainText).toMatch(
      /Deletes approved by Adele Vance \(adele\.vance@contoso\.com\) at \d{4}-\d\d-\d\d \d\d:\d\d UTC\. Graph accepted the restart with resetScope ForceDeletes \(204\)/,
    );

    // The job runs its held deletes at its next run; the resolved notice that follows names who decided.
    const [run] = world.cloud.control.runJobs();
    expect(run).toMatchObject({ jobId: FABRIKAM_JOB, state: 'healthy', deleted: 612 });
    expect(restarts()).toHaveLength(1);
    expect((await cycle()).errors).toEqual([]);
    const resolved = world.cloud.acs
      .messages()
      .filter(
        (m) =>
          m.headers?.['X-Entra-Sync-Watch-Kind'] === 'resolved' && m.subject.includes('Deletion threshold tripped'),
      );
    expect(resolved).toHaveLength(1);
    expect(resolved[0]?.plainText).toContain('Deletes approved by Adele Vance (adele.vance@contoso.com) at');

    // The status page shows the audit.
    const status = await readStatusFromEnv(world.env);
    expect(status.audit?.decisions).toEqual([
      expect.objectContaining({
        heading: 'Deletion threshold tripped: Fabrikam to Contoso (Contoso)',
        action: 'approve-deletes (resetScope ForceDeletes)',
        by: 'Adele Vance (adele.vance@contoso.com)',
        via: 'app role SyncWatch.Operator',
        status: 'done',
        answer: '204',
      }),
    ]);
    const html = renderStatusPage(status);
    expect(html).toContain('Decisions from alerts <span class="count">1</span>');
    expect(html).toContain('<code>approve-deletes (resetScope ForceDeletes)</code>');
    expect(renderStatusText(status)).toMatch(/Decisions from alerts\n {2}WHEN +ALERT +DECISION/);
  });

  it('a kill at every point of the approval: one restart in all, one audit row', async () => {
    const points: ExecutionPoint[] = ['claimed', 'graph-answered', 'recorded'];
    for (const point of points) {
      const link = await trip();
      const before = restarts().length;
      const decidedBefore = world.cloud.acs
        .messages()
        .filter((m) => m.headers?.['X-Entra-Sync-Watch-Kind'] === 'decided').length;
      let kill: ExecutionPoint | undefined = point;
      // Each request gets fresh dependencies, as a new instance would after a crash; `clock.shift`
      // moves the endpoint's clock past the time a call to Graph may take.
      const serve: Serve = async (request) => {
        const deps = decideDepsFromEnv(world.env) as DecideDeps;
        return handleDecide(request, {
          ...deps,
          now: () => new Date(Date.now() + clock.shift),
          checkpoint: (at) => {
            if (at === kill) throw new Error(`killed at ${at}`);
          },
        });
      };
      const clock = { shift: 0 };
      const later = (url: string) => {
        clock.shift += IN_FLIGHT_MS + 1000;
        return browser.open(url);
      };
      const browser = new PageBrowser(BASE, serve);
      const page = await browser.open(link);
      const confirm = await browser.post(formOf(page.body, 'Approve the held deletes'));
      const act = formOf(confirm.body, 'Confirm');
      await expect(browser.post(act)).rejects.toThrow(`killed at ${point}`);
      kill = undefined;
      const linkId = new URL(link).searchParams.get('i') as string;
      const row = async () => (await decisions()).find((d) => d.linkId === linkId);
      expect((await row())?.record.attempts).toHaveLength(1);

      if (point === 'claimed') {
        // Graph never heard of it. Within the in-flight window the POST again is "under way";
        // Entra's next evaluation of the quarantine shows nothing changed; then a person approves.
        expect((await browser.post(act)).status).toBe(202);
        world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, {
          state: 'quarantined',
          quarantine: { reason: 'TooManyDeletes', errorCode: 'TooManyDeletes', seriesCount: 2 },
        });
        const again = await later(link);
        expect(again.body).toContain('An earlier attempt did not take effect.');
        const confirm2 = await browser.post(formOf(again.body, 'Approve the held deletes'));
        expect((await browser.post(formOf(confirm2.body, 'Confirm'))).status).toBe(200);
      } else if (point === 'graph-answered') {
        // Graph accepted it; the job shows it only when it runs. Until then: not known yet, nothing sent again.
        const waiting = await later(link);
        expect([waiting.status, waiting.body.includes('Not known yet.')]).toEqual([202, true]);
        world.cloud.control.runJobs();
        const settled = await browser.open(link);
        expect(settled.body).toContain('so it took effect');
      }
      expect(
        restarts()
          .slice(before)
          .map((r) => [r.status, r.resetScope]),
      ).toEqual([[204, 'ForceDeletes']]);
      expect((await row())?.record.status).toBe('done');
      expect((await decisions()).filter((d) => d.linkId === linkId)).toHaveLength(1);
      // Told once, however many cycles run: a decided notice while the alert still fires; when
      // it was settled only after the job ran (the alert ends), its resolved notice names who decided.
      await cycle();
      await cycle();
      const decided = world.cloud.acs.messages().filter((m) => m.headers?.['X-Entra-Sync-Watch-Kind'] === 'decided');
      expect(decided.length - decidedBefore).toBe(point === 'graph-answered' ? 0 : 1);
      if (point === 'graph-answered') {
        const resolved = world.cloud.acs.messages().at(-1);
        expect(resolved?.headers?.['X-Entra-Sync-Watch-Kind']).toBe('resolved');
        expect(resolved?.plainText).toContain('Deletes approved by Adele Vance (adele.vance@contoso.com) at');
      }
      world.cloud.control.runJobs();
      await healthy();
    }
  });

  it('refuses someone without the role, a GET that acts and another site’s post, and with actions off answers 404', async () => {
    const link = await trip();
    const megan = new PageBrowser(BASE, viaFunction(world), 'megan.bowen@contoso.com');
    const refused = await megan.open(link);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('the app role SyncWatch.Operator');
    expect(refused.body).not.toContain('612');

    const adele = new PageBrowser(BASE, viaFunction(world));
    const page = await adele.open(link);
    const confirm = await adele.post(formOf(page.body, 'Approve the held deletes'));
    const act = formOf(confirm.body, 'Confirm');
    const restartsBefore = restarts().length;
    const getActs = await adele.open(`${BASE}/api/decide?${new URLSearchParams(act).toString()}`);
    expect(getActs.status).toBe(405);
    expect((await adele.post(act, 'https://evil.example.net')).status).toBe(403);
    expect((await adele.post({ ...act, csrf: '' })).status).toBe(403);
    const refusals = (await new DecisionAudit(ledger()).refusals()).map((r) => r.record.refusal);
    expect(refusals).toEqual(expect.arrayContaining(['no-role', 'get-acts', 'cross-site', 'csrf']));
    const shown = (await readStatusFromEnv(world.env)).audit?.refusals ?? [];
    expect(shown.find((r) => r.refusal === 'no-role')).toMatchObject({ by: 'Megan Bowen (megan.bowen@contoso.com)' });

    const off = viaFunction({ ...world, env: { ...world.env, WATCH_ACTIONS: 'off' } });
    for (const step of ['', 'signed-in'])
      expect(
        (
          await off({
            method: 'GET',
            step,
            query: Object.fromEntries(new URL(link).searchParams),
            form: {},
            cookies: {},
          })
        ).status,
      ).toBe(404);
    expect(restarts()).toHaveLength(restartsBefore);
    await healthy();
  });

  it('someone signed in on the decide pages acknowledges in their own name; without the session the page asks as before', async () => {
    const link = await trip();
    const email = world.cloud.acs.messages().find((m) => m.plainText?.includes(link)) as DeliveredEmail;
    const ackLink = /https:\/\/sync-watch\.contoso\.com\/api\/acknowledge\?\S+/.exec(email.plainText ?? '')?.[0];
    expect(ackLink).toBeDefined();
    /** The acknowledge function as the Functions host runs it, with the browser's cookies. */
    const acknowledgeAs = async (
      browser: PageBrowser | undefined,
      method: 'GET' | 'POST',
      form?: Record<string, string>,
    ) => {
      Object.assign(process.env, world.env);
      const cookie = [...(browser?.jar ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
      const response = await acknowledge(
        new HttpRequest({
          method,
          url: method === 'GET' ? (ackLink as string) : `${BASE}/api/acknowledge`,
          headers: {
            ...(cookie ? { cookie } : {}),
            ...(form ? { origin: BASE, 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          ...(form ? { body: { string: new URLSearchParams(form).toString() } } : {}),
        }),
        new InvocationContext({
          functionName: 'acknowledge',
          logHandler: (level, ...args) => captureLog('acknowledge function', `${level}: ${args.join(' ')}`),
        }),
      );
      return { status: response.status, body: String(response.body ?? '') };
    };

    // Nobody signed in: the page offers the recipients of the email, as without decisions.
    const anonymous = await acknowledgeAs(undefined, 'GET');
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toContain('name="who"');
    expect(anonymous.body).not.toContain('You are signed in');

    // Adele signs in through the authority on the decide page; the acknowledge page then knows her.
    const adele = new PageBrowser(BASE, viaFunction(world));
    expect((await adele.open(link)).status).toBe(200);
    const page = await acknowledgeAs(adele, 'GET');
    expect(page.status, page.body).toBe(200);
    expect(page.body).toContain('You are signed in as <strong>Adele Vance (adele.vance@contoso.com)</strong>');
    expect(page.body).not.toContain('name="who"');
    const done = await acknowledgeAs(adele, 'POST', {
      ...formOf(page.body, 'Acknowledge'),
      comment: 'Checking the deletes',
    });
    expect(done.status, done.body).toBe(201);
    const status = await readStatusFromEnv(world.env);
    const shown = status.firing.find((a) => a.condition === 'deletion-threshold');
    expect(shown?.acknowledged).toMatchObject({
      by: 'Adele Vance (adele.vance@contoso.com)',
      comment: 'Checking the deletes',
    });
    expect(renderStatusPage(status)).toContain('acknowledged</span> by Adele Vance (adele.vance@contoso.com) at');
    await healthy();
  });

  it('npm run doctor says per tenant whether decisions can be carried out there', async () => {
    const NORTHWIND = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
    const report = await runDoctorFromEnv(world.env);
    const rows = report.checks.filter((r) => r.check === 'actions');
    expect(rows.find((r) => r.tenant === CONTOSO)).toMatchObject({ status: 'ok' });
    // Northwind's admin consented to reading only.
    expect(rows.find((r) => r.tenant === NORTHWIND)).toMatchObject({
      status: 'fail',
      result: expect.stringContaining('lacks Synchronization.ReadWrite.All'),
    });
    // With actions off there is no such check.
    const off = await runDoctorFromEnv({ ...world.env, WATCH_ACTIONS: 'off' });
    expect(off.checks.some((r) => r.check === 'actions')).toBe(false);
  });

  it('verifies one user with provisionOnDemand and shows Graph’s steps', async () => {
    world.cloud.control.setJob(CONTOSO, WOODGROVE_JOB, {
      state: 'quarantined',
      quarantine: {
        reason: 'EncounteredQuarantineException',
        errorCode: 'AzureDirectoryB2BManagementPolicyCheckFailure',
      },
    });
    expect((await cycle()).errors).toEqual([]);
    const link = decideLink(WOODGROVE_JOB);
    const browser = new PageBrowser(BASE, viaFunction(world));
    const page = await browser.open(link);
    expect(page.body).toContain('Retry now');
    const objectId = '0e1d2c3b-4a59-4687-9786-a5b4c3d2e1f0';
    const confirm = await browser.post({ ...formOf(page.body, 'Verify one user'), other: objectId });
    expect(confirm.status, confirm.body).toBe(200);
    const result = await browser.post(formOf(confirm.body, 'Confirm'));
    expect(result.status, result.body).toBe(200);
    expect(result.body).toContain('Graph’s steps');
    const [call] = world.cloud.control.jobActions('provisionOnDemand');
    expect(call).toMatchObject({ jobId: WOODGROVE_JOB, status: 200, subject: { objectId, objectTypeName: 'User' } });
    const [decision] = (await decisions()).filter((d) => d.record.jobId === WOODGROVE_JOB);
    expect(decision?.record).toMatchObject({
      status: 'done',
      attempts: [{ action: 'verify-user', subject: { objectId } }],
    });
    expect(decision?.record.result?.steps.length).toBeGreaterThan(0);
    world.cloud.control.setJob(CONTOSO, WOODGROVE_JOB, { state: 'healthy' });
  });
});
