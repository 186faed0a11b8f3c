import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeOperators, mayAct } from '../../lib/actions/access';
import { buildPolicy, ConfigError } from '../../lib/config/config';
import { IdTokenError, TenantKeys, verifyIdToken } from '../../lib/actions/id-token';
import { onDemandRuleOf, readOnDemandAnswer } from '../../lib/actions/on-demand';
import { actionsPossible } from '../../lib/actions/readiness';
import { FORCE_DELETES, plansFor, RE_EVALUATE_SCOPE, retryScope } from '../../lib/actions/plans';
import { csrfToken, csrfValid, seal, unseal } from '../../lib/actions/sealed';
import { actionsSettings, actionsSwitch } from '../../lib/settings/actions';
import { personOf } from '../../lib/actions/sign-in';
import { describeState, sameState, stateHash, stateNow, stateOfAlert } from '../../lib/actions/state';
import type { AlertRecord } from '../../lib/model';
import { ALERT_FIXTURES } from '../fixtures/alerts';
import { jobOf, OPERATOR } from '../support/actions-world';

const KEY = 'z'.repeat(48);
const NOW = new Date('2026-11-27T03:12:00Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);

describe('sealed cookies', () => {
  it('open as sealed, for their use, until they expire', () => {
    const sealed = seal('session', { who: 'adele' }, KEY, later(60_000));
    expect(unseal('session', sealed, KEY, NOW)).toEqual({ who: 'adele' });
    expect(unseal('session', sealed, KEY, later(61_000))).toBeUndefined();
    expect(unseal('signin', sealed, KEY, NOW)).toBeUndefined();
    expect(unseal('session', sealed, 'y'.repeat(48), NOW)).toBeUndefined();
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[20] = (bytes[20] as number) ^ 1;
    expect(unseal('session', bytes.toString('base64url'), KEY, NOW)).toBeUndefined();
    expect(unseal('session', 'garbage', KEY, NOW)).toBeUndefined();
    expect(unseal('session', undefined, KEY, NOW)).toBeUndefined();
  });

  it('hide what they hold', () => {
    expect(
      Buffer.from(seal('signin', { verifier: 'pkce-verifier-text' }, KEY, later(1000)), 'base64url').toString(),
    ).not.toContain('pkce-verifier-text');
  });
});

describe('anti-forgery tokens', () => {
  const token = csrfToken(KEY, 'session-1', 'link-1', 'act', NOW);

  it('are good for their session, link and step, for 30 minutes', () => {
    expect(csrfValid(KEY, token, 'session-1', 'link-1', 'act', later(29 * 60_000))).toBe(true);
    expect(csrfValid(KEY, token, 'session-1', 'link-1', 'act', later(31 * 60_000))).toBe(false);
    expect(csrfValid(KEY, token, 'session-2', 'link-1', 'act', NOW)).toBe(false);
    expect(csrfValid(KEY, token, 'session-1', 'link-2', 'act', NOW)).toBe(false);
    expect(csrfValid(KEY, token, 'session-1', 'link-1', 'confirm', NOW)).toBe(false);
    expect(csrfValid('y'.repeat(48), token, 'session-1', 'link-1', 'act', NOW)).toBe(false);
    expect(csrfValid(KEY, undefined, 'session-1', 'link-1', 'act', NOW)).toBe(false);
    expect(
      csrfValid(
        KEY,
        `${Number(token.split('.')[0]) + 60}.${token.split('.')[1]}`,
        'session-1',
        'link-1',
        'act',
        later(120_000),
      ),
    ).toBe(false);
  });
});

describe('ID token checks', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const TENANT = '11111111-2222-4333-8444-555555555555';
  const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
  const CLIENT = '66666666-7777-4888-9999-000000000000';
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const claims = {
    iss: ISSUER,
    aud: CLIENT,
    tid: TENANT,
    oid: OPERATOR.oid,
    exp: NOW.getTime() / 1000 + 3600,
    nbf: NOW.getTime() / 1000 - 60,
    nonce: 'n-1',
    name: 'Adele Vance',
    preferred_username: 'adele.vance@contoso.com',
    roles: ['SyncWatch.Operator'],
  };
  const tokenOf = (
    payload: Record<string, unknown>,
    header: Record<string, unknown> = { alg: 'RS256', kid: 'key-1' },
  ) => {
    const text = `${b64(header)}.${b64(payload)}`;
    return `${text}.${sign('sha256', Buffer.from(text), privateKey).toString('base64url')}`;
  };
  let fetches = 0;
  const keys = () => {
    fetches = 0;
    return new TenantKeys('https://login.microsoftonline.com/keys', async () => {
      fetches++;
      return { keys: [{ kty: 'RSA', use: 'sig', kid: 'key-1', n: jwk.n, e: jwk.e }] };
    });
  };
  const expected = { issuer: ISSUER, clientId: CLIENT, nonce: 'n-1', tenantId: TENANT, now: NOW };

  it('takes a token signed with a key of the tenant, for this app, this sign-in, in time', async () => {
    const checked = await verifyIdToken(tokenOf(claims), expected, keys());
    expect(personOf(checked)).toEqual({
      oid: OPERATOR.oid,
      tid: TENANT,
      name: 'Adele Vance',
      upn: 'adele.vance@contoso.com',
      roles: ['SyncWatch.Operator'],
      groups: [],
      groupsOverage: false,
    });
  });

  it.each([
    ['a forged signature', () => tokenOf(claims).replace(/\.[^.]+$/, '.AAAA'), /signature does not verify/],
    ['alg none', () => `${b64({ alg: 'none', kid: 'key-1' })}.${b64(claims)}.`, /not RS256/],
    ['HS256', () => tokenOf(claims, { alg: 'HS256', kid: 'key-1' }), /not RS256/],
    ['an unknown key', () => tokenOf(claims, { alg: 'RS256', kid: 'key-2' }), /not one the tenant publishes/],
    ['another issuer', () => tokenOf({ ...claims, iss: 'https://login.microsoftonline.com/other/v2.0' }), /issued by/],
    ['another app', () => tokenOf({ ...claims, aud: 'someone-else' }), /another application/],
    ['another sign-in', () => tokenOf({ ...claims, nonce: 'n-2' }), /nonce/],
    ['an expired token', () => tokenOf({ ...claims, exp: NOW.getTime() / 1000 - 600 }), /expired/],
    ['a token not valid yet', () => tokenOf({ ...claims, nbf: NOW.getTime() / 1000 + 600 }), /not valid yet/],
    ['another tenant', () => tokenOf({ ...claims, tid: '99999999-2222-4333-8444-555555555555' }), /another tenant/],
    ['no object ID', () => tokenOf({ ...claims, oid: undefined }), /no tenant or object ID/],
    ['not a JWT', () => 'abc', /not a JWT/],
  ])('refuses %s', async (_what, token, message) => {
    const failure = verifyIdToken(token(), expected, keys());
    await expect(failure).rejects.toBeInstanceOf(IdTokenError);
    await expect(failure).rejects.toThrow(message);
  });

  it('fetches the keys once, and again for an unknown key at most every five minutes', async () => {
    const tenantKeys = keys();
    await verifyIdToken(tokenOf(claims), expected, tenantKeys);
    await verifyIdToken(tokenOf(claims), expected, tenantKeys);
    await expect(verifyIdToken(tokenOf(claims, { alg: 'RS256', kid: 'new' }), expected, tenantKeys)).rejects.toThrow();
    await expect(verifyIdToken(tokenOf(claims, { alg: 'RS256', kid: 'new' }), expected, tenantKeys)).rejects.toThrow();
    expect(fetches).toBe(1);
  });

  it('notes a groups overage: the token does not list the groups', () => {
    expect(personOf({ ...claims, _claim_names: { groups: 'src1' } }).groupsOverage).toBe(true);
    expect(personOf({ ...claims, hasgroups: true }).groupsOverage).toBe(true);
  });
});

describe('actions settings', () => {
  const env = {
    WATCH_ACTIONS: 'on',
    ACTIONS_SIGNING_KEY: 'k'.repeat(40),
    ACTIONS_SIGNIN_CLIENT_ID: '66666666-7777-4888-9999-000000000000',
    AZURE_TENANT_ID: '11111111-2222-4333-8444-555555555555',
    WEBSITE_HOSTNAME: 'esw.azurewebsites.net',
  };
  const load = (
    overrides: Record<string, string | undefined>,
    context = { authorityHost: 'https://login.microsoftonline.com' },
  ) => {
    const problems: string[] = [];
    return { settings: actionsSettings({ ...env, ...overrides }, context, problems), problems };
  };

  it('are off unless WATCH_ACTIONS turns them on, whatever else is set', () => {
    for (const value of [undefined, '', 'off', 'false', 'OFF'])
      expect(load({ WATCH_ACTIONS: value, ACTIONS_SIGNING_KEY: undefined })).toEqual({
        settings: undefined,
        problems: [],
      });
  });

  it('turn on every action, or the ones listed', () => {
    expect(load({}).settings).toMatchObject({
      actions: ['approve-deletes', 're-evaluate', 'retry', 'verify-user'],
      baseUrl: 'https://esw.azurewebsites.net',
      linkLifetimeMs: 24 * 3600_000,
      signIn: { tenantId: '11111111-2222-4333-8444-555555555555', clientId: '66666666-7777-4888-9999-000000000000' },
    });
    expect(load({ WATCH_ACTIONS: 'verify-user, retry' }).settings?.actions).toEqual(['retry', 'verify-user']);
    expect(load({ WATCH_ACTIONS: 'approve, retry' }).problems).toEqual([
      'WATCH_ACTIONS holds "approve"; expected off, on, or a comma-separated list of approve-deletes, re-evaluate, retry, verify-user',
    ]);
    expect(actionsSwitch('yes', [])).toHaveLength(4);
  });

  it.each([
    [{ ACTIONS_SIGNING_KEY: undefined }, /ACTIONS_SIGNING_KEY is required/],
    [{ ACTIONS_SIGNING_KEY: 'short' }, /ACTIONS_SIGNING_KEY is 5 characters/],
    [{ SNOOZE_SIGNING_KEY: 'k'.repeat(40) }, /must differ from SNOOZE_SIGNING_KEY/],
    [{ ACTIONS_SIGNIN_CLIENT_ID: undefined }, /ACTIONS_SIGNIN_CLIENT_ID is required/],
    [{ ACTIONS_SIGNIN_CLIENT_ID: 'my-app' }, /ACTIONS_SIGNIN_CLIENT_ID="my-app" is not an application \(client\) ID/],
    [{ AZURE_TENANT_ID: undefined }, /ACTIONS_SIGNIN_TENANT_ID \(or AZURE_TENANT_ID\) is required/],
    [{ WEBSITE_HOSTNAME: undefined }, /have no address: set ACTIONS_BASE_URL/],
    [{ ACTIONS_BASE_URL: 'http://esw.example.net' }, /must be a plain https:\/\/ address/],
    [{ ACTIONS_LINK_LIFETIME: '30d' }, /ACTIONS_LINK_LIFETIME="30d" must be a duration from 5m to 7d/],
  ])('name what is wrong: %o', (overrides, message) => {
    const { settings, problems } = load(overrides);
    expect(settings).toBeUndefined();
    expect(problems.join('\n')).toMatch(message);
  });

  it('point the links at ACTIONS_BASE_URL, else SNOOZE_BASE_URL, else the app’s host', () => {
    expect(
      load({ ACTIONS_BASE_URL: 'https://watch.contoso.com/', SNOOZE_BASE_URL: 'https://s.contoso.com' }).settings
        ?.baseUrl,
    ).toBe('https://watch.contoso.com');
    expect(load({ SNOOZE_BASE_URL: 'https://s.contoso.com' }).settings?.baseUrl).toBe('https://s.contoso.com');
    expect(load({ ACTIONS_LINK_LIFETIME: '4h' }).settings?.linkLifetimeMs).toBe(4 * 3600_000);
  });

  it('refuse verify-user in Azure China, where Graph has no provisionOnDemand', () => {
    const problems: string[] = [];
    actionsSettings(env, { authorityHost: 'https://login.chinacloudapi.cn', chinaCloud: true }, problems);
    expect(problems).toEqual([expect.stringContaining('Azure China (21Vianet) has no provisionOnDemand')]);
    expect(
      load({ WATCH_ACTIONS: 'approve-deletes' }, { authorityHost: 'x', chinaCloud: true } as never).problems,
    ).toEqual([]);
  });
});

describe('who may act (the config’s actions section)', () => {
  const tenant = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
  const policyOf = (actions: unknown) => buildPolicy({ actions }, { emailTo: ['ops@contoso.com'] });

  it('is a section of the config file, each problem named by its path', () => {
    let problems: string[] = [];
    try {
      policyOf({
        operators: { roles: ['bad role!'], group: [] },
        tenants: { contoso: {}, [tenant]: { groups: ['not-a-guid'] } },
        other: 1,
      });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      'actions.other: unknown field (expected one of operators, tenants)',
      'actions.operators.group: unknown field (expected one of roles, groups)',
      'actions.operators.roles: "bad role!" is not app role values (e.g. SyncWatch.Operator)',
      'actions.tenants.contoso: not a tenant ID (GUID)',
      `actions.tenants.${tenant}.groups: "not-a-guid" is not group object IDs`,
    ]);
    expect(policyOf(undefined).actions).toBeUndefined();
    const access = policyOf({
      operators: { roles: ['A'] },
      tenants: { [tenant.toUpperCase()]: { roles: ['B'] } },
    }).actions;
    expect(access?.operators).toEqual({ roles: ['A'], groups: [] });
    expect([...(access?.tenants ?? [])]).toEqual([[tenant, { roles: ['B'], groups: [] }]]);
  });

  it('says what it takes', () => {
    const access = policyOf({
      operators: { roles: ['SyncWatch.Operator'], groups: ['d0d0d0d0-0000-4000-8000-000000000009'] },
    }).actions!;
    expect(describeOperators(access.operators)).toBe(
      'the app role SyncWatch.Operator or membership of the group d0d0d0d0-0000-4000-8000-000000000009',
    );
    expect(mayAct(OPERATOR, tenant, access)).toEqual({ ok: true, via: 'app role SyncWatch.Operator' });
    expect(
      mayAct({ ...OPERATOR, roles: [], groups: ['D0D0D0D0-0000-4000-8000-000000000009'] }, tenant, access),
    ).toEqual({
      ok: true,
      via: 'group d0d0d0d0-0000-4000-8000-000000000009',
    });
  });
});

describe('what Graph answers to provisionOnDemand', () => {
  it('reads the app provisioning shape: a result key, one object of steps', () => {
    const result = readOnDemandAnswer({
      key: JSON.stringify({
        result: 'Skipped',
        details: {
          errorCode: 'RedundantExport',
          errorMessage: 'The state of the user in both the source and target systems already match.',
        },
      }),
      value: JSON.stringify({
        action: 'Other',
        reportableIdentifier: 'BillBob@contoso.com',
        provisioningSteps: [
          {
            name: 'EntryImport',
            type: 'Import',
            status: 'Success',
            description: "Retrieved User 'BillBob@contoso.com'",
            details: {},
          },
          {
            name: 'EntrySynchronizationSkip',
            type: 'Export',
            status: 'Skipped',
            description: 'already match',
            details: { SkipReason: 'RedundantExport' },
          },
        ],
        statusInfo: { status: 'Skipped' },
      }),
    });
    expect(result).toMatchObject({
      result: 'Skipped',
      reason: 'The state of the user in both the source and target systems already match.',
      subject: 'BillBob@contoso.com',
      steps: [
        { type: 'Import', status: 'Success' },
        { type: 'Export', status: 'Skipped', details: [['SkipReason', 'RedundantExport']] },
      ],
    });
  });

  it('reads the cross-tenant shape: a type name for a key, an array of step lists', () => {
    const result = readOnDemandAnswer({
      key: 'Microsoft.Identity.Health.CPP.Common.DataContracts.SyncFabric.StatusInfo',
      value: JSON.stringify([
        { provisioningSteps: [{ name: 'EntryImport', type: 'Import', status: 'Success', description: 'ok' }] },
        { provisioningSteps: [{ name: 'EntryExport', type: 'Export', status: 'Failure', description: 'no' }] },
      ]),
    });
    expect(result).toMatchObject({
      result: 'Failure',
      reason: 'no',
      steps: [{ status: 'Success' }, { status: 'Failure' }],
    });
  });

  it('reads a group’s empty answer and garbage without failing', () => {
    expect(readOnDemandAnswer({ key: '{"result":"Success","details":{}}', value: '{}' })).toEqual({
      result: 'Success',
      steps: [],
    });
    expect(readOnDemandAnswer({ key: 'not json', value: 'neither' })).toEqual({ steps: [] });
    expect(readOnDemandAnswer(undefined)).toEqual({ steps: [] });
  });

  it('finds the rule that supports provision on demand in the schema', () => {
    const rule = (id: string, supports?: string) => ({
      id,
      metadata: supports ? [{ key: 'supportsProvisionOnDemand', value: supports }] : [],
    });
    expect(onDemandRuleOf({ synchronizationRules: [rule('a', 'false'), rule('USER_INBOUND_USER', 'true')] })).toBe(
      'USER_INBOUND_USER',
    );
    expect(onDemandRuleOf({ synchronizationRules: [rule('only')] })).toBe('only');
    expect(onDemandRuleOf({ synchronizationRules: [rule('a'), rule('b')] })).toBeUndefined();
    expect(onDemandRuleOf(null)).toBeUndefined();
  });
});

describe('what each alert offers', () => {
  const deletion = ALERT_FIXTURES['deletion-threshold'] as AlertRecord;
  const quarantine = ALERT_FIXTURES.quarantine as AlertRecord;
  const all = ['approve-deletes', 're-evaluate', 'retry', 'verify-user'] as const;

  it('a deletion hold: approve (ForceDeletes alone) or re-evaluate (never ForceDeletes, never Full)', () => {
    const plans = plansFor(deletion, all);
    expect(plans.map((p) => [p.name, p.resetScope])).toEqual([
      ['approve-deletes', FORCE_DELETES],
      ['re-evaluate', RE_EVALUATE_SCOPE],
    ]);
    expect(RE_EVALUATE_SCOPE).not.toMatch(/ForceDeletes|Full|ConnectorDataStore/);
    expect(plans[0]?.does).toContain('612 objects');
  });

  it('a quarantine: retry and verify one user; failures: verify one user; tenant-wide alerts: nothing', () => {
    expect(plansFor(quarantine, all).map((p) => p.name)).toEqual(['retry', 'verify-user']);
    expect(plansFor(ALERT_FIXTURES['provisioning-failures'] as AlertRecord, all).map((p) => p.name)).toEqual([
      'verify-user',
    ]);
    expect(plansFor(ALERT_FIXTURES['tenant-unreadable'] as AlertRecord, all)).toEqual([]);
    expect(plansFor(quarantine, ['approve-deletes'])).toEqual([]);
  });

  it('retries escrow thresholds with Escrows and Watermark too', () => {
    expect(retryScope('EncounteredQuarantineException')).toBe('QuarantineState');
    expect(retryScope('EncounteredBaseEscrowThreshold')).toBe('QuarantineState, Escrows, Watermark');
  });
});

describe('the state a link binds', () => {
  const deletion = ALERT_FIXTURES['deletion-threshold'] as AlertRecord;

  it('is the same from the alert and from Graph for the same situation', () => {
    const fromAlert = stateOfAlert(deletion);
    const fromGraph = stateNow(deletion, jobOf(deletion));
    expect(stateHash(fromAlert)).toBe(stateHash(fromGraph));
    expect(sameState({ hash: stateHash(fromAlert), held: '612' }, fromGraph)).toBe(true);
    expect(describeState(fromGraph)).toBe('quarantined (TooManyDeletes) since 2026-11-27 02:40 UTC, 612 deletes held');
  });

  it('changes with a new series, another reason or the end of the quarantine, not with a re-evaluation', () => {
    const bound = { hash: stateHash(stateOfAlert(deletion)), held: '612' };
    const job = jobOf(deletion);
    const reEvaluated = { ...job, quarantine: { ...job.quarantine!, currentBegan: new Date('2026-11-27T08:40:00Z') } };
    expect(sameState(bound, stateNow(deletion, reEvaluated))).toBe(true);
    const newSeries = { ...job, quarantine: { ...job.quarantine!, seriesBegan: new Date('2026-11-27T08:40:00Z') } };
    expect(sameState(bound, stateNow(deletion, newSeries))).toBe(false);
    expect(sameState(bound, stateNow(deletion, jobOf(deletion, 'EncounteredQuarantineException')))).toBe(false);
    const { quarantine: _gone, ...rest } = job;
    expect(sameState(bound, stateNow(deletion, { ...rest, status: { known: 'Active', raw: 'Active' } }))).toBe(false);
    // A message that named no count binds none.
    expect(
      sameState(
        { ...bound, held: '' },
        stateNow({ ...deletion, annotations: { ...deletion.annotations, heldDeletes: 700 } }, job),
      ),
    ).toBe(true);
  });
});

describe('are actions possible in a tenant (for npm run doctor)', () => {
  const tokenWith = (roles: string[]) => `h.${Buffer.from(JSON.stringify({ roles })).toString('base64url')}.s`;
  const credential = (roles: string[] | Error) => ({
    getToken: async (_scope: string | string[], options?: { tenantId?: string }) => {
      if (roles instanceof Error) throw roles;
      return { token: tokenWith(options?.tenantId === 'contoso' ? roles : []), expiresOnTimestamp: 0 };
    },
  });

  it('yes when the token for that tenant carries Synchronization.ReadWrite.All', async () => {
    const c = credential(['Synchronization.Read.All', 'Synchronization.ReadWrite.All']);
    expect(await actionsPossible(c, 'https://graph.microsoft.com', 'contoso')).toEqual({ possible: true });
    expect(await actionsPossible(c, 'https://graph.microsoft.com', 'fabrikam')).toMatchObject({
      possible: false,
      missing: ['Synchronization.ReadWrite.All'],
      reason: expect.stringContaining('an administrator there must consent'),
    });
  });

  it('no, with the reason, when there is no token at all', async () => {
    const c = credential(new Error('AADSTS700016: Application not found\nTrace ID: x'));
    expect(await actionsPossible(c, 'https://graph.microsoft.com', 'contoso')).toEqual({
      possible: false,
      missing: ['Synchronization.ReadWrite.All'],
      reason: 'no Graph token for tenant contoso: AADSTS700016: Application not found',
    });
  });
});
