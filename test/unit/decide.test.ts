import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { DecisionAudit } from '../../lib/actions/audit';
import { IN_FLIGHT_MS, type ExecutionPoint } from '../../lib/actions/execute';
import { DECIDE_BOUND } from '../../lib/actions/links';
import { SESSION_COOKIE, SIGN_IN_COOKIE } from '../../lib/actions/session';
import { linkFields, linkUrl, newLink } from '../../lib/util/signed-links';
import type { AlertRecord } from '../../lib/model';
import { ALERT_FIXTURES } from '../fixtures/alerts';
import {
  actionsWorld,
  BASE,
  BYSTANDER,
  formFields,
  OPERATOR,
  SETTINGS,
  type ActionsWorld,
} from '../support/actions-world';

/**
 * The decide endpoint, step by step and refusal by refusal, on its real handler, ledger and pages
 * (lib/actions/), with Graph and the sign-in faked (test/support/actions-world.ts). The same flow
 * against the emulators and Azurite is in test/integration/decide.test.ts.
 */

/** Who may act, from a config file's `actions` section. */
const accessOf = (actions: unknown) => buildPolicy({ actions }, { emailTo: ['ops@contoso.com'] }).actions!;

const deletionTrip = () => ALERT_FIXTURES['deletion-threshold'] as AlertRecord;

async function decisionPage(world: ActionsWorld, link: string, cookies = world.cookieFor(OPERATOR)) {
  const page = await world.get(link, cookies);
  expect(page.status, page.body).toBe(200);
  return page;
}

/** Decision page → "Approve the held deletes…" → the confirmation page. */
async function confirmation(world: ActionsWorld, link: string, cookies = world.cookieFor(OPERATOR)) {
  const page = await decisionPage(world, link, cookies);
  const confirm = await world.post(formFields(page.body, 'Approve the held deletes'), cookies);
  expect(confirm.status, confirm.body).toBe(200);
  return confirm;
}

async function approve(world: ActionsWorld, link: string, cookies = world.cookieFor(OPERATOR)) {
  const confirm = await confirmation(world, link, cookies);
  return { form: formFields(confirm.body), result: await world.post(formFields(confirm.body), cookies) };
}

const decisions = async (world: ActionsWorld) => new DecisionAudit(world.ledger).decisions();
const refusals = async (world: ActionsWorld) =>
  (await new DecisionAudit(world.ledger).refusals()).map((r) => r.record.refusal);

describe('deciding from an alert', () => {
  it('asks who you are before it shows anything, and comes back to the link after sign-in', async () => {
    const world = actionsWorld(deletionTrip());
    const link = world.linkFor(deletionTrip());
    const first = await world.get(link);
    expect(first.status).toBe(302);
    expect(first.headers.Location).toMatch(/^https:\/\/login\.microsoftonline\.com\//);
    expect(first.body).toBe('');
    expect(first.cookies).toEqual([expect.objectContaining({ name: SIGN_IN_COOKIE, maxAgeSeconds: 600 })]);
    expect(world.graph.reads).toBe(0);

    const back = await world.send({
      step: 'signed-in',
      query: { code: 'code-adele', state: 's1' },
      cookies: { [SIGN_IN_COOKIE]: first.cookies[0]!.value },
    });
    expect(back.status).toBe(303);
    expect(back.headers.Location).toBe(`${BASE}/api/decide?${new URL(link).searchParams.toString()}`);
    const session = back.cookies.find((c) => c.name === SESSION_COOKIE);
    expect(session?.maxAgeSeconds).toBe(1800);
    expect(back.cookies).toContainEqual({ name: SIGN_IN_COOKIE, value: '', maxAgeSeconds: 0 });

    const page = await world.get(back.headers.Location as string, { [SESSION_COOKIE]: session!.value });
    expect(page.status).toBe(200);
    expect(page.body).toContain('Deletion threshold tripped: Fabrikam to Contoso (Contoso)');
    expect(page.body).toContain('Signed in as Adele Vance (adele.vance@contoso.com)');
    expect(page.body).toContain(
      'The job is quarantined (TooManyDeletes) since 2026-11-27 02:40 UTC, 612 deletes held.',
    );
    expect(page.body).toContain('Approve the held deletes');
    expect(page.body).toContain('Reject: re-evaluate after fixing the cause');
    expect(page.body).not.toContain('Verify one user');
    expect(world.graph.restarts).toEqual([]);
  });

  it('approves: the decision page, the confirmation, one restart with ForceDeletes, the audit row, the result', async () => {
    const world = actionsWorld(deletionTrip());
    const link = world.linkFor(deletionTrip());
    const confirm = await confirmation(world, link);
    expect(confirm.body).toContain('Approve the held deletes?');
    expect(confirm.body).toContain(
      '/restart\n{&quot;criteria&quot;:{&quot;resetScope&quot;:&quot;ForceDeletes&quot;}}',
    );
    expect(confirm.body).toContain('This cannot be undone from here');
    expect(world.graph.restarts).toEqual([]);

    const result = await world.post(formFields(confirm.body), world.cookieFor(OPERATOR));
    expect(result.status, result.body).toBe(200);
    expect(result.body).toContain('Done.');
    expect(result.body).toContain(
      'approve-deletes (resetScope ForceDeletes) by Adele Vance at 2026-11-27 07:12 UTC: done. Graph answered 204.',
    );
    expect(world.graph.restarts.map((r) => r.scope)).toEqual(['ForceDeletes']);

    const [decision] = await decisions(world);
    expect(decision?.record).toMatchObject({
      status: 'done',
      tenantId: deletionTrip().labels.tenantId,
      jobId: deletionTrip().labels.jobId,
      configuration: 'Fabrikam to Contoso',
      attempts: [
        {
          n: 1,
          action: 'approve-deletes',
          resetScope: 'ForceDeletes',
          by: {
            name: 'Adele Vance',
            upn: 'adele.vance@contoso.com',
            oid: OPERATOR.oid,
            via: 'app role SyncWatch.Operator',
          },
          stateSeen: 'quarantined (TooManyDeletes) since 2026-11-27 02:40 UTC, 612 deletes held',
          graph: { status: 204, requestId: 'req-1' },
          status: 'done',
        },
      ],
    });
    expect(await decisions(world)).toHaveLength(1);

    // The link acts once: the same form again is refused, and opening the link shows what was decided.
    const again = await world.post(formFields(confirm.body), world.cookieFor(OPERATOR));
    expect(again.status).toBe(409);
    expect(again.body).toContain('This link was used');
    const visit = await world.get(link, world.cookieFor(OPERATOR));
    expect(visit.body).toContain('Already decided.');
    expect(world.graph.restarts).toHaveLength(1);
    expect(await refusals(world)).toEqual(['replayed']);
  });

  it('refuses a second message’s link once the alert was decided, until the job runs', async () => {
    const alert = deletionTrip();
    const world = actionsWorld(alert);
    const first = world.linkFor(alert);
    // A reminder an hour later carries a link of its own, about the same state.
    world.clock.now = new Date(world.clock.now.getTime() + 60_000);
    const reminder = world.linkFor(alert);
    await approve(world, first);
    const second = await world.get(reminder, world.cookieFor(OPERATOR));
    expect(second.status).toBe(409);
    expect(second.body).toContain('Already decided from another message');
    expect(second.body).toContain('approve-deletes by Adele Vance');
    expect(world.graph.restarts).toHaveLength(1);
    expect(await refusals(world)).toEqual(['decided-elsewhere']);
  });

  it('rejects: re-evaluate restarts with Watermark, Escrows, QuarantineState and never ForceDeletes', async () => {
    const world = actionsWorld(deletionTrip());
    const page = await decisionPage(world, world.linkFor(deletionTrip()));
    const confirm = await world.post(formFields(page.body, 'Reject: re-evaluate'), world.cookieFor(OPERATOR));
    expect(confirm.body).toContain('Fix the cause first');
    await world.post(formFields(confirm.body), world.cookieFor(OPERATOR));
    expect(world.graph.restarts.map((r) => r.scope)).toEqual(['Watermark, Escrows, QuarantineState']);
  });

  it('retries a quarantine with QuarantineState, and Escrows and Watermark for an escrow threshold', async () => {
    const quarantine = ALERT_FIXTURES.quarantine as AlertRecord;
    const world = actionsWorld(quarantine);
    const page = await decisionPage(world, world.linkFor(quarantine));
    expect(page.body).toContain('Verify one user');
    const confirm = await world.post(formFields(page.body, 'Retry now'), world.cookieFor(OPERATOR));
    await world.post(formFields(confirm.body), world.cookieFor(OPERATOR));
    expect(world.graph.restarts.map((r) => r.scope)).toEqual(['QuarantineState']);

    const escrow = {
      ...quarantine,
      annotations: { ...quarantine.annotations, reason: 'EncounteredEscrowProportionThreshold' },
    };
    const second = actionsWorld(escrow);
    const page2 = await decisionPage(second, second.linkFor(escrow));
    const confirm2 = await second.post(formFields(page2.body, 'Retry now'), second.cookieFor(OPERATOR));
    await second.post(formFields(confirm2.body), second.cookieFor(OPERATOR));
    expect(second.graph.restarts.map((r) => r.scope)).toEqual(['QuarantineState, Escrows, Watermark']);
  });

  it('verifies one user with provision on demand and shows Graph’s steps, escaped', async () => {
    const quarantine = ALERT_FIXTURES.quarantine as AlertRecord;
    const world = actionsWorld(quarantine);
    const page = await decisionPage(world, world.linkFor(quarantine));
    const objectId = 'c1c1c1c1-0000-4000-8000-00000000abcd';
    const confirm = await world.post(
      { ...formFields(page.body, 'Verify one user'), other: objectId },
      world.cookieFor(OPERATOR),
    );
    expect(confirm.status, confirm.body).toBe(200);
    expect(confirm.body).toContain('/provisionOnDemand');
    expect(confirm.body).toContain('USER_INBOUND_USER');
    const result = await world.post(formFields(confirm.body), world.cookieFor(OPERATOR));
    expect(world.graph.onDemand).toEqual([{ ruleId: 'USER_INBOUND_USER', objectId }]);
    expect(world.graph.restarts).toEqual([]);
    expect(result.body).toContain('Graph’s steps for alex.wilber@fabrikam.com');
    expect(result.body).toContain('Scoping');
    expect(result.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; target refused the update');
    expect(result.body).not.toContain('<script>');
    const [decision] = await decisions(world);
    expect(decision?.record.attempts[0]).toMatchObject({
      action: 'verify-user',
      subject: { objectId },
      status: 'done',
    });
    expect(decision?.record.result?.steps).toHaveLength(3);
  });

  it('offers the objects a failure digest names, and provisions the one picked', async () => {
    const failures = ALERT_FIXTURES['provisioning-failures'] as AlertRecord;
    const world = actionsWorld(failures);
    const page = await decisionPage(world, world.linkFor(failures));
    expect(page.body).toContain('<span>Lee Gu (lee.gu@contoso.com)</span>');
    expect(page.body).toContain('value="a1b2c3d4-0000-4000-8000-000000000010"');
    const confirm = await world.post(
      { ...formFields(page.body, 'Verify one user'), subject: 'a1b2c3d4-0000-4000-8000-000000000010' },
      world.cookieFor(OPERATOR),
    );
    expect(confirm.body).toContain('Object: <strong>Lidia Holloway (lidia.holloway@contoso.com)</strong>');
    await world.post(formFields(confirm.body), world.cookieFor(OPERATOR));
    expect(world.graph.onDemand).toEqual([
      { ruleId: 'USER_INBOUND_USER', objectId: 'a1b2c3d4-0000-4000-8000-000000000010' },
    ]);
    const [decision] = await decisions(world);
    expect(decision?.record.attempts[0]?.subject).toMatchObject({
      name: 'Lidia Holloway (lidia.holloway@contoso.com)',
    });
  });

  it('refuses a user object that is not an object ID, saying why', async () => {
    const quarantine = ALERT_FIXTURES.quarantine as AlertRecord;
    const world = actionsWorld(quarantine);
    const page = await decisionPage(world, world.linkFor(quarantine));
    const refused = await world.post(
      { ...formFields(page.body, 'Verify one user'), other: 'alex.wilber@fabrikam.com' },
      world.cookieFor(OPERATOR),
    );
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('Enter the object ID of the user');
    expect(world.graph.onDemand).toEqual([]);
  });
});

describe('refusals: each named, nothing done, and written to the audit', () => {
  it('refuses a signed-in person without the role with a 403 that names the role', async () => {
    const world = actionsWorld(deletionTrip());
    const page = await world.get(world.linkFor(deletionTrip()), world.cookieFor(BYSTANDER));
    expect(page.status).toBe(403);
    expect(page.body).toContain('You may not act on this alert');
    expect(page.body).toContain('the app role SyncWatch.Operator');
    expect(page.body).not.toContain('612');
    expect(world.graph.reads).toBe(0);
    expect(await refusals(world)).toEqual(['no-role']);
    const [refusal] = await new DecisionAudit(world.ledger).refusals();
    expect(refusal?.record.by).toMatchObject({ name: 'Megan Bowen', upn: 'megan.bowen@contoso.com' });
  });

  it('lets a group of the config act in its tenant only, instead of the role there', async () => {
    const alert = deletionTrip();
    const desk = 'd0d0d0d0-0000-4000-8000-000000000009';
    const access = accessOf({ tenants: { [alert.labels.tenantId]: { groups: [desk] } } });
    const world = actionsWorld(alert, { access });
    const byRole = await world.get(world.linkFor(alert), world.cookieFor(OPERATOR));
    expect(byRole.status).toBe(403);
    expect(byRole.body).toContain(`membership of the group ${desk}`);
    const byGroup = await world.get(world.linkFor(alert), world.cookieFor({ ...BYSTANDER, groups: [desk] }));
    expect(byGroup.status).toBe(200);
  });

  it('says group membership cannot be judged when the token had too many groups', async () => {
    const alert = deletionTrip();
    const access = accessOf({ operators: { groups: ['d0d0d0d0-0000-4000-8000-000000000009'] } });
    const world = actionsWorld(alert, { access });
    const page = await world.get(world.linkFor(alert), world.cookieFor({ ...BYSTANDER, groupsOverage: true }));
    expect(page.status).toBe(403);
    expect(page.body).toContain('more groups than a sign-in token lists');
  });

  it.each([
    ['changed', (u: URL) => u.searchParams.set('n', '1'), 403, 'This link was changed', 'tampered'],
    [
      'from another monitor',
      (u: URL) => u.searchParams.set('k', 'AAAAAAAA'),
      403,
      'not one of this monitor',
      'foreign',
    ],
    ['cut short', (u: URL) => u.searchParams.delete('j'), 400, 'This link is incomplete', 'damaged'],
  ])('refuses a link that was %s', async (_what, change, status, words, refusal) => {
    const world = actionsWorld(deletionTrip());
    const url = new URL(world.linkFor(deletionTrip()));
    change(url);
    const page = await world.get(url.toString(), world.cookieFor(OPERATOR));
    expect(page.status).toBe(status);
    expect(page.body).toContain(words);
    expect(page.body).toContain('Nothing was changed.');
    expect(world.graph.reads).toBe(0);
    // A signed-in person is named in the audit; an anonymous bad link only in the log.
    expect(await refusals(world)).toEqual([refusal]);
    const anonymous = actionsWorld(deletionTrip());
    expect((await anonymous.get(url.toString())).status).toBe(status);
    expect(await refusals(anonymous)).toEqual([]);
  });

  it('refuses a snooze link (another purpose) at the decide endpoint as foreign', async () => {
    const world = actionsWorld(deletionTrip());
    const snooze = newLink('snooze', { t: 'x', a: 'y' }, world.clock.now, 3600_000);
    const page = await world.get(linkUrl(BASE, 'decide', snooze, SETTINGS.signingKey), world.cookieFor(OPERATOR));
    expect([page.status, page.body.includes('not one of this monitor')]).toEqual([403, true]);
  });

  it('refuses an expired link, with 410', async () => {
    const world = actionsWorld(deletionTrip());
    const link = world.linkFor(deletionTrip());
    world.clock.now = new Date(world.clock.now.getTime() + 24 * 3600_000 + 1000);
    const page = await world.get(link, world.cookieFor(OPERATOR));
    expect(page.status).toBe(410);
    expect(page.body).toContain('This link has expired');
    expect(await refusals(world)).toEqual(['expired']);
  });

  it('refuses a link whose job is not its alert’s, even signed with the key', async () => {
    const alert = deletionTrip();
    const world = actionsWorld(alert);
    const genuine = Object.fromEntries(new URL(world.linkFor(alert)).searchParams);
    const bound = Object.fromEntries(DECIDE_BOUND.map((name) => [name, genuine[name] as string]));
    const other = newLink('decide', { ...bound, j: 'Azure2Azure.another-job' }, world.clock.now, 3600_000);
    const page = await world.get(linkUrl(BASE, 'decide', other, SETTINGS.signingKey), world.cookieFor(OPERATOR));
    expect(page.status).toBe(403);
    expect(page.body).toContain('This link names another job than its alert');
    expect(world.graph.reads).toBe(0);
    expect(await refusals(world)).toEqual(['foreign-job']);
  });

  it('refuses a stale state and shows what is true now: a new trip, or no longer quarantined', async () => {
    const alert = deletionTrip();
    const world = actionsWorld(alert);
    const link = world.linkFor(alert);
    const q = world.graph.snapshot.quarantine!;
    world.graph.snapshot = {
      ...world.graph.snapshot,
      quarantine: { ...q, seriesBegan: new Date('2026-11-27T07:11:00Z') },
    };
    const newTrip = await world.get(link, world.cookieFor(OPERATOR));
    expect(newTrip.status).toBe(409);
    expect(newTrip.body).toContain('The state changed since the message');
    expect(newTrip.body).toContain('it is quarantined (TooManyDeletes) since 2026-11-27 07:11 UTC, 612 deletes held');
    expect(newTrip.body).toContain('Now, per Microsoft Graph');

    world.graph.snapshot = { ...world.graph.snapshot, status: { known: 'Active', raw: 'Active' } };
    delete world.graph.snapshot.quarantine;
    const healthy = await world.get(link, world.cookieFor(OPERATOR));
    expect(healthy.status).toBe(409);
    expect(healthy.body).toContain('it is not quarantined');
    expect(world.graph.restarts).toEqual([]);
    expect(await refusals(world)).toEqual(['stale', 'stale']);
  });

  it('refuses the act step when the state changed between the confirmation and the button', async () => {
    const world = actionsWorld(deletionTrip());
    const confirm = await confirmation(world, world.linkFor(deletionTrip()));
    // Someone approved in the portal meanwhile.
    world.graph.snapshot = { ...world.graph.snapshot, status: { known: 'Active', raw: 'Active' } };
    delete world.graph.snapshot.quarantine;
    const act = await world.post(formFields(confirm.body), world.cookieFor(OPERATOR));
    expect(act.status).toBe(409);
    expect(world.graph.restarts).toEqual([]);
    expect(await decisions(world)).toEqual([]);
  });

  it('refuses a held count other than the message named', async () => {
    const alert = deletionTrip();
    const world = actionsWorld(alert);
    const link = world.linkFor(alert);
    world.alerts.set(`${alert.labels.tenantId}|${alert.fingerprint}`, {
      ...alert,
      annotations: { ...alert.annotations, heldDeletes: 900 },
    });
    const page = await world.get(link, world.cookieFor(OPERATOR));
    expect(page.status).toBe(409);
    expect(page.body).toContain('900 deletes held');
  });

  it('refuses an alert that ended, or began again since the message', async () => {
    const alert = deletionTrip();
    const world = actionsWorld(alert);
    const link = world.linkFor(alert);
    const key = `${alert.labels.tenantId}|${alert.fingerprint}`;
    world.alerts.set(key, { ...alert, state: 'resolved', endsAt: '2026-11-27T07:11:00.000Z' });
    const ended = await world.get(link, world.cookieFor(OPERATOR));
    expect([ended.status, ended.body.includes('The alert ended at 2026-11-27 07:11 UTC')]).toEqual([409, true]);
    world.alerts.set(key, { ...alert, startsAt: '2026-11-27T07:11:30.000Z' });
    const again = await world.get(link, world.cookieFor(OPERATOR));
    expect([again.status, again.body.includes('A new alert began')]).toEqual([409, true]);
  });

  it('refuses a POST without its anti-forgery token, with another step’s token, or from another site', async () => {
    const world = actionsWorld(deletionTrip());
    const link = world.linkFor(deletionTrip());
    const confirm = await confirmation(world, link);
    const act = formFields(confirm.body);
    const page = await decisionPage(world, link);
    const toConfirm = formFields(page.body, 'Approve the held deletes');

    const missing = await world.post({ ...act, csrf: '' }, world.cookieFor(OPERATOR));
    expect([missing.status, missing.body.includes('anti-forgery token is missing or old')]).toEqual([403, true]);
    // The confirmation step's token cannot act.
    const wrongStep = await world.post({ ...act, csrf: toConfirm.csrf as string }, world.cookieFor(OPERATOR));
    expect(wrongStep.status).toBe(403);
    // Another person's session cannot use this person's token.
    const otherSession = await world.post(
      act,
      world.cookieFor({ ...OPERATOR, oid: 'c0c0c0c0-0000-4000-8000-000000000003' }),
    );
    expect(otherSession.status).toBe(403);
    // A page elsewhere posting the same fields.
    const crossSite = await world.post(act, world.cookieFor(OPERATOR), 'https://evil.example.net');
    expect([crossSite.status, crossSite.body.includes('not sent from this page')]).toEqual([403, true]);
    const noOrigin = await world.send({ method: 'POST', form: act, cookies: world.cookieFor(OPERATOR) });
    expect(noOrigin.status).toBe(403);
    expect(world.graph.restarts).toEqual([]);
    // Notes at the same instant have no order among them.
    expect((await refusals(world)).sort()).toEqual(['cross-site', 'cross-site', 'csrf', 'csrf', 'csrf']);
  });

  it('refuses in a tenant whose admin did not consent to the write permission, before anything is offered', async () => {
    const world = actionsWorld(deletionTrip());
    world.deps.readiness = async () => ({
      possible: false,
      missing: ['Synchronization.ReadWrite.All'],
      reason: 'no consent',
    });
    const page = await world.get(world.linkFor(deletionTrip()), world.cookieFor(OPERATOR));
    expect(page.status).toBe(403);
    expect(page.body).toContain('The monitor may not act in this tenant');
    expect(page.body).toContain('Synchronization.ReadWrite.All');
    expect(page.body).not.toContain('Approve the held deletes');
    expect(await refusals(world)).toEqual(['not-permitted']);
  });

  it('refuses a POST without a session, and never redirects a POST to sign-in', async () => {
    const world = actionsWorld(deletionTrip());
    const confirm = await confirmation(world, world.linkFor(deletionTrip()));
    const act = await world.post(formFields(confirm.body), {});
    expect(act.status).toBe(401);
    expect(act.headers.Location).toBeUndefined();
    expect(world.graph.restarts).toEqual([]);
    expect(await refusals(world)).toEqual(['no-sign-in']);
  });

  it('refuses a GET that tries to act: opening a link never acts', async () => {
    const world = actionsWorld(deletionTrip());
    const confirm = await confirmation(world, world.linkFor(deletionTrip()));
    const query = new URLSearchParams(formFields(confirm.body)).toString();
    const page = await world.get(`${BASE}/api/decide?${query}`, world.cookieFor(OPERATOR));
    expect(page.status).toBe(405);
    expect(page.body).toContain('Opening a link never acts');
    expect(world.graph.restarts).toEqual([]);
    expect(await decisions(world)).toEqual([]);
    expect(await refusals(world)).toEqual(['get-acts']);
  });

  it.each([
    [
      { kind: 'refuse', status: 403, code: 'Authorization_RequestDenied' },
      'refused',
      '403 Authorization_RequestDenied',
    ],
    [{ kind: 'refuse', status: 409, code: 'Conflict' }, 'refused', '409 Conflict'],
    [{ kind: 'fail', status: 503 }, 'interrupted', '503 UnknownError'],
  ] as const)('names Graph’s refusal (%o), records it, and lets a person try again', async (fault, status, words) => {
    const world = actionsWorld(deletionTrip());
    world.graph.faults.push(fault);
    const link = world.linkFor(deletionTrip());
    const { form, result } = await approve(world, link);
    expect(result.status).toBe(fault.kind === 'fail' ? 202 : 502);
    expect(result.body).toContain(fault.kind === 'fail' ? 'Not known yet.' : 'Not done.');
    expect(result.body).toContain(words);
    const [decision] = await decisions(world);
    expect(decision?.record.status).toBe(fault.kind === 'fail' ? 'unknown' : status);
    expect(world.graph.restarts).toEqual([]);
    if (fault.kind === 'fail') {
      // A 5xx may have been carried out: nothing is offered until the job's next run tells.
      const waiting = await world.get(link, world.cookieFor(OPERATOR));
      expect([waiting.status, waiting.body.includes('open the link again after the job’s next run')]).toEqual([
        202,
        true,
      ]);
      expect(waiting.body).not.toContain('<form');
      world.clock.now = new Date(world.clock.now.getTime() + 40 * 60_000);
      world.graph.run(world.clock.now);
    }

    // Opening the link shows the attempt and offers the decision again; a new attempt acts once.
    const page = await decisionPage(world, link);
    expect(page.body).toContain('An earlier attempt did not take effect.');
    if (fault.kind === 'fail') expect((await decisions(world))[0]?.record.status).toBe('interrupted');
    const retry = await approve(world, link);
    expect(retry.result.status).toBe(200);
    expect(world.graph.restarts.map((r) => r.scope)).toEqual(['ForceDeletes']);
    const [after] = await decisions(world);
    expect(after?.record.attempts.map((a) => a.status)).toEqual([status, 'done']);
    expect(form.i).toBe(retry.form.i);
  });
});

describe('a kill at every point never restarts twice nor loses the audit', () => {
  const points: ExecutionPoint[] = ['claimed', 'graph-answered', 'recorded'];

  it.each(points)('killed at %s: the next visit and the retried POST settle it, one restart in all', async (point) => {
    const world = actionsWorld(deletionTrip());
    const link = world.linkFor(deletionTrip());
    const confirm = await confirmation(world, link);
    const act = formFields(confirm.body);
    world.deps.checkpoint = (at) => {
      if (at === point) throw new Error(`killed at ${at}`);
    };
    await expect(world.post(act, world.cookieFor(OPERATOR))).rejects.toThrow(`killed at ${point}`);
    world.deps.checkpoint = undefined;
    const restartsAfterKill = world.graph.restarts.length;
    expect(restartsAfterKill).toBe(point === 'claimed' ? 0 : 1);
    expect(await decisions(world)).toHaveLength(1);

    // Within the time a call may take, the row is in flight: nothing is done.
    const soon = await world.post(act, world.cookieFor(OPERATOR));
    expect(soon.status).toBe(point === 'recorded' ? 409 : 202);
    // Past it, the retried POST settles the row from Graph's job, without calling again. The job
    // has not run since: whether a restart was accepted cannot show yet, so nothing is offered.
    world.clock.now = new Date(world.clock.now.getTime() + IN_FLIGHT_MS + 1000);
    const retried = await world.post(act, world.cookieFor(OPERATOR));
    expect(world.graph.restarts).toHaveLength(restartsAfterKill);
    if (point !== 'recorded') {
      expect([retried.status, retried.body.includes('Not known yet.')]).toEqual([202, true]);
      expect((await decisions(world))[0]?.record.status).toBe('unknown');
    }
    // Entra's next cycle runs the job: an accepted restart takes effect then.
    world.clock.now = new Date(world.clock.now.getTime() + 40 * 60_000);
    world.graph.run(world.clock.now);
    const visit = await world.get(link, world.cookieFor(OPERATOR));
    const [settled] = await decisions(world);
    if (point === 'claimed') {
      // Graph never heard of it: the job ran and is unchanged, so it is interrupted, and a person tries again.
      expect(settled?.record.status).toBe('interrupted');
      expect(settled?.record.attempts[0]?.note).toContain('it did not take effect');
      expect(visit.body).toContain('An earlier attempt did not take effect.');
      const again = await approve(world, link);
      expect(again.result.status).toBe(200);
    } else {
      expect(settled?.record.status).toBe('done');
      // Settled by this visit, or complete before it.
      expect(visit.body).toContain(point === 'graph-answered' ? 'Done.' : 'Already decided.');
      if (point === 'graph-answered') expect(settled?.record.attempts[0]?.note).toContain('so it took effect');
    }
    expect(world.graph.restarts.map((r) => r.scope)).toEqual(['ForceDeletes']);
    expect(await decisions(world)).toHaveLength(1);
    // The old form again (its session has ended since): refused, nothing sent.
    expect([403, 409]).toContain((await world.post(act, world.cookieFor(OPERATOR))).status);
    expect(world.graph.restarts).toHaveLength(1);
  });

  it('settles a lost answer from the job once it has run: done, and never sent again', async () => {
    const world = actionsWorld(deletionTrip());
    world.graph.faults.push({ kind: 'lose-answer' });
    const link = world.linkFor(deletionTrip());
    const { result, form } = await approve(world, link);
    expect([result.status, result.body.includes('Not known yet.')]).toEqual([202, true]);
    expect((await decisions(world))[0]?.record.status).toBe('unknown');
    expect((await world.post(form, world.cookieFor(OPERATOR))).status).toBe(202);
    world.clock.now = new Date(world.clock.now.getTime() + 40 * 60_000);
    world.graph.run(world.clock.now);
    const visit = await world.get(link, world.cookieFor(OPERATOR));
    expect(visit.body).toContain('Done.');
    expect(visit.body).toContain('the job no longer shows the state this decision was about');
    const again = await world.get(link, world.cookieFor(OPERATOR));
    expect(again.body).toContain('Already decided.');
    expect([403, 409]).toContain((await world.post(form, world.cookieFor(OPERATOR))).status);
    expect(world.graph.restarts).toHaveLength(1);
  });

  it('lets one of two simultaneous approvals act', async () => {
    const world = actionsWorld(deletionTrip());
    const link = world.linkFor(deletionTrip());
    const act = formFields((await confirmation(world, link)).body);
    const [a, b] = await Promise.all([
      world.post(act, world.cookieFor(OPERATOR)),
      world.post(act, world.cookieFor(OPERATOR)),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 202]);
    expect(world.graph.restarts).toHaveLength(1);
  });
});

describe('with actions off', () => {
  it('the link of an alert offers nothing it does not allow', () => {
    const world = actionsWorld(deletionTrip(), { settings: { actions: ['verify-user'] } });
    expect(world.linkFor(deletionTrip())).toBe('');
    expect(world.linkFor(ALERT_FIXTURES.quarantine as AlertRecord)).toContain('/api/decide?');
    const resolved = { ...deletionTrip(), state: 'resolved' as const };
    expect(world.linkFor(resolved)).toBe('');
  });

  it('links only the fields a decide link has', () => {
    const world = actionsWorld(deletionTrip());
    const url = new URL(world.linkFor(deletionTrip()));
    expect([...url.searchParams.keys()].sort()).toEqual([...DECIDE_BOUND, 'e', 'i', 'k', 's'].sort());
    expect(linkFields).toBeTypeOf('function');
  });
});
