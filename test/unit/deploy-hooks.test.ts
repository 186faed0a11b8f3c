import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { deleteAppRegistration } from '../../infra/hooks/app-registration';
import { failureOf, poll, realAz } from '../../infra/hooks/az';
import { DEPLOY_ROLE, SETTLE_MS, waitForDeployRole } from '../../infra/hooks/deploy-role';
import { checkGraphRoles } from '../../infra/hooks/graph-roles';
import { GRAPH_APPLICATION_PERMISSIONS, MICROSOFT_GRAPH_APP_ID } from '../../lib/clients/permissions';
import {
  fail,
  fakeAzOnPath,
  fakeClock,
  FORBIDDEN,
  hookWorld,
  NO_AZ,
  NOT_FOUND,
  NOT_SIGNED_IN,
  ok,
} from '../support/fake-az';
import { runNode } from '../support/process';

/**
 * The azd hooks (infra/hooks/, azure.yaml) decide with what `az` answers: a scripted `az` and a
 * clock that moves only when they sleep drive every branch here. Nothing here reaches Azure; what
 * the real `az` prints was checked against its documentation and public transcripts (docs/deploying.md, "What was verified where").
 */

const root = join(__dirname, '..', '..');
const PRINCIPAL = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const STORAGE =
  '/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-watch/providers/Microsoft.Storage/storageAccounts/stwatch';
const ENV = { MANAGED_IDENTITY_PRINCIPAL_ID: PRINCIPAL, AZURE_STORAGE_ACCOUNT_ID: STORAGE };
const ROLE_DEFINITION = (id: string) =>
  `/subscriptions/11111111-2222-4333-8444-555555555555/providers/Microsoft.Authorization/roleDefinitions/${id}`;
const STORAGE_BLOB_DATA_READER = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1';
const LIST =
  /^rest --method get --url \/subscriptions\/.*\/providers\/Microsoft\.Authorization\/roleAssignments\?api-version=2022-04-01$/;

function assignment(createdOn: string, principalId = PRINCIPAL, roleId = DEPLOY_ROLE.id) {
  return { properties: { principalId, roleDefinitionId: ROLE_DEFINITION(roleId), scope: STORAGE, createdOn } };
}
const ago = (clockStart: number, ms: number) => new Date(clockStart - ms).toISOString();
const START = Date.parse('2026-03-01T12:00:00Z');

describe('postprovision: wait for the storage role the package upload uses (Azure/azure-dev#8026)', () => {
  it('waits out the rest of two minutes after a role assigned 30 s ago, then says it is in place', async () => {
    const w = hookWorld([{ match: LIST, answers: [ok({ value: [assignment(ago(START, 30_000))] })] }], START);
    expect(await waitForDeployRole(ENV, w.deps)).toBe(0);
    expect(w.clock.sleeps).toEqual([SETTLE_MS - 30_000]);
    expect(w.text()).toContain(`was assigned 30 s ago; waiting 90 s for it to take effect`);
    expect(w.text()).toContain(
      `Storage Blob Data Owner for the managed identity ${PRINCIPAL} on ${STORAGE} is in place`,
    );
    expect(w.calls).toEqual([
      `rest --method get --url ${STORAGE}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`,
    ]);
  });

  it('does not wait for a role assigned before (a later azd provision)', async () => {
    const w = hookWorld([{ match: LIST, answers: [ok({ value: [assignment(ago(START, 3 * 3600_000))] })] }], START);
    expect(await waitForDeployRole(ENV, w.deps)).toBe(0);
    expect(w.clock.sleeps).toEqual([]);
  });

  it('asks ARM again, with a growing wait, until it lists the assignment (GUIDs in any case)', async () => {
    const w = hookWorld(
      [
        {
          match: LIST,
          answers: [
            ok({ value: [] }),
            ok({ value: [] }),
            ok({ value: [assignment(ago(START, 0), PRINCIPAL.toUpperCase(), DEPLOY_ROLE.id.toUpperCase())] }),
          ],
        },
      ],
      START,
    );
    expect(await waitForDeployRole(ENV, w.deps)).toBe(0);
    // 5 s, 10 s, then the rest of the two minutes counted from the assignment's creation.
    expect(w.clock.sleeps).toEqual([5_000, 10_000, SETTLE_MS - 15_000]);
    expect(w.text()).toContain(`Storage Blob Data Owner is not listed yet for ${PRINCIPAL}; asking again in 5 s`);
  });

  it("another principal's role, or another role, is not the one: it gives up after five minutes, exit 1, saying what to run", async () => {
    const w = hookWorld(
      [
        {
          match: LIST,
          answers: [
            ok({
              value: [
                assignment(ago(START, 600_000), '0e0e0e0e-0000-4000-8000-000000000000'),
                assignment(ago(START, 600_000), PRINCIPAL, STORAGE_BLOB_DATA_READER),
              ],
            }),
          ],
        },
      ],
      START,
    );
    expect(await waitForDeployRole(ENV, w.deps)).toBe(1);
    expect(w.clock.sleeps.reduce((a, b) => a + b, 0)).toBe(5 * 60_000);
    expect(Math.max(...w.clock.sleeps)).toBe(30_000);
    const text = w.text();
    expect(text).toContain(
      `Storage Blob Data Owner for the managed identity ${PRINCIPAL} on ${STORAGE} is still not assigned after 5 minutes`,
    );
    expect(text).toContain('Run `azd provision` again');
    expect(text).toContain(
      `az role assignment list --assignee ${PRINCIPAL} --scope ${STORAGE} --role "Storage Blob Data Owner"`,
    );
    expect(text).toContain('azd deploy');
  });

  it('without az, signed out, or not allowed to read: says why and what to run by hand, and lets the deploy go on (exit 0)', async () => {
    for (const [answer, why] of [
      [NO_AZ, 'the Azure CLI (az) is not installed or not on PATH'],
      [NOT_SIGNED_IN, 'run `az login`'],
      [
        fail('ERROR: {"error":{"code":"AuthorizationFailed","message":"The client does not have authorization"}}'),
        'may not read this',
      ],
    ] as const) {
      const w = hookWorld([{ match: LIST, answers: [answer] }], START);
      expect(await waitForDeployRole(ENV, w.deps)).toBe(0);
      expect(w.clock.sleeps).toEqual([]);
      expect(w.text()).toContain(why);
      expect(w.text()).toContain(`az role assignment list --assignee ${PRINCIPAL}`);
      expect(w.text()).toContain('Azure/azure-dev#8026');
    }
  });

  it('without the outputs it needs (an environment not refreshed), says so and does not call az', async () => {
    const w = hookWorld([], START);
    expect(await waitForDeployRole({ MANAGED_IDENTITY_PRINCIPAL_ID: PRINCIPAL }, w.deps)).toBe(0);
    expect(w.calls).toEqual([]);
    expect(w.text()).toContain('azd env refresh');
  });
});

const GRAPH = 'https://graph.microsoft.com';
const GRAPH_SP_ID = '0a0b0c0d-1111-4222-8333-444455556666';
const ROLE_IDS: Record<string, string> = {
  'Application.Read.All': '9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30',
  'Synchronization.Read.All': '5ba43d2f-fa88-4db2-bd1c-a67c5f0fb1ce',
  'AuditLog.Read.All': 'b0afded3-3588-46d8-8b3d-9842eff778da',
  'User.Read.All': 'df021288-bdef-4463-88db-98f22de89214',
};
const graphSp = {
  id: GRAPH_SP_ID,
  appRoles: Object.entries(ROLE_IDS).map(([value, id]) => ({ id, value })),
};
const CLOUD = {
  match: /^cloud show --query endpoints\.microsoftGraphResourceId -o tsv$/,
  answers: [ok(`${GRAPH}/\n`)],
};
const GRAPH_SP = {
  match: new RegExp(`servicePrincipals\\(appId='${MICROSOFT_GRAPH_APP_ID}'\\)\\?\\$select=id,appRoles$`),
  answers: [ok(graphSp)],
};
const held = (...permissions: string[]) =>
  ok({ value: permissions.map((p) => ({ resourceId: GRAPH_SP_ID, appRoleId: ROLE_IDS[p] })) });
const NEEDED = Object.keys(GRAPH_APPLICATION_PERMISSIONS);

describe('postprovision: the Graph app roles, checked (msgraph-bicep-types#193, GRANT_GRAPH_ROLES)', () => {
  it('says the managed identity holds them when it does', async () => {
    const w = hookWorld([
      CLOUD,
      GRAPH_SP,
      {
        match: new RegExp(`servicePrincipals/${PRINCIPAL}/appRoleAssignments$`),
        answers: [held(...NEEDED, 'User.Read.All')],
      },
    ]);
    expect(await checkGraphRoles({ ...ENV, GRAPH_ROLES_GRANTED: 'true' }, w.deps)).toBe(0);
    expect(w.text()).toBe(`graph roles: the managed identity ${PRINCIPAL} holds ${NEEDED.join(', ')}.`);
  });

  it('with GRANT_GRAPH_ROLES=false, names what is missing, the role that grants it and the exact commands', async () => {
    const w = hookWorld([CLOUD, GRAPH_SP, { match: /appRoleAssignments$/, answers: [held('Application.Read.All')] }]);
    expect(await checkGraphRoles({ ...ENV, GRAPH_ROLES_GRANTED: 'false' }, w.deps)).toBe(0);
    const text = w.text();
    expect(text).toContain(`the managed identity ${PRINCIPAL} lacks Synchronization.Read.All, AuditLog.Read.All`);
    expect(text).toContain('GRANT_GRAPH_ROLES=false: the template grants no Graph app role');
    expect(text).toContain('Privileged Role Administrator (or Global Administrator)');
    expect(text).toContain(
      `az rest --method post --url ${GRAPH}/v1.0/servicePrincipals/${PRINCIPAL}/appRoleAssignments --body '{"principalId":"${PRINCIPAL}","resourceId":"${GRAPH_SP_ID}","appRoleId":"${ROLE_IDS['AuditLog.Read.All']}"}'`,
    );
    expect(text).not.toContain(`"appRoleId":"${ROLE_IDS['Application.Read.All']}"`);
  });

  it("multi-tenant: waits for the new app's service principal to replicate, then points a missing consent at npm run onboard", async () => {
    const APP = '3c3c3c3c-aaaa-4bbb-8ccc-dddddddddddd';
    const APP_SP = '7d7d7d7d-aaaa-4bbb-8ccc-eeeeeeeeeeee';
    const w = hookWorld([
      CLOUD,
      GRAPH_SP,
      {
        match: new RegExp(`servicePrincipals\\(appId='${APP}'\\)\\?\\$select=id$`),
        answers: [NOT_FOUND, NOT_FOUND, ok({ id: APP_SP })],
      },
      { match: new RegExp(`servicePrincipals/${APP_SP}/appRoleAssignments$`), answers: [held()] },
    ]);
    const env = {
      ...ENV,
      WATCH_APP_CLIENT_ID: APP,
      GRAPH_ROLES_GRANTED: 'false',
      AZURE_TENANT_ID: 'f0f0f0f0-0000-4000-8000-000000000001',
    };
    expect(await checkGraphRoles(env, w.deps)).toBe(0);
    expect(w.clock.sleeps).toEqual([5_000, 10_000]);
    expect(w.text()).toContain(`the multi-tenant app ${APP} in this tenant lacks ${NEEDED.join(', ')}`);
    expect(w.text()).toContain('npm run onboard -- f0f0f0f0-0000-4000-8000-000000000001');
  });

  it('a principal Graph never finds, or an az that cannot ask: said, never fatal', async () => {
    const never = hookWorld([CLOUD, GRAPH_SP, { match: /appRoleAssignments$/, answers: [NOT_FOUND] }]);
    expect(await checkGraphRoles(ENV, never.deps)).toBe(0);
    expect(never.text()).toContain(`Microsoft Graph does not find the managed identity ${PRINCIPAL} after 3 minutes`);
    const forbidden = hookWorld([CLOUD, { match: /servicePrincipals/, answers: [FORBIDDEN] }]);
    expect(await checkGraphRoles(ENV, forbidden.deps)).toBe(0);
    expect(forbidden.text()).toContain('may not read this');
  });
});

const APP_ID = '5e5e5e5e-aaaa-4bbb-8ccc-ffffffffffff';
const APP_OBJECT = '8f8f8f8f-aaaa-4bbb-8ccc-000000000001';
const UNIQUE = 'entra-sync-watch-abcdefghijklm';
const SHOW_APP = {
  match: new RegExp(`applications\\(appId='${APP_ID}'\\)\\?\\$select=id,appId,uniqueName,displayName$`),
  answers: [ok({ id: APP_OBJECT, appId: APP_ID, uniqueName: UNIQUE, displayName: 'Entra Sync Watch (prod)' })],
};
const DELETE = { match: new RegExp(`^ad app delete --id ${APP_ID}$`), answers: [ok('')] };
const DOWN_ENV = { WATCH_APP_CLIENT_ID: APP_ID, WATCH_APP_UNIQUE_NAME: UNIQUE };

describe('postdown: the multi-tenant app registration azd down leaves behind (Azure/azure-dev#4724)', () => {
  it("deletes the app whose uniqueName is this environment's, and says how to restore or purge it", async () => {
    const w = hookWorld([CLOUD, SHOW_APP, DELETE]);
    expect(await deleteAppRegistration(DOWN_ENV, w.deps)).toBe(0);
    expect(w.calls.filter((c) => c.startsWith('ad app delete'))).toEqual([`ad app delete --id ${APP_ID}`]);
    const text = w.text();
    expect(text).toContain(`deleted ${APP_ID} ("Entra Sync Watch (prod)")`);
    expect(text).toContain(`az rest --method post --url ${GRAPH}/v1.0/directory/deletedItems/${APP_OBJECT}/restore`);
    expect(text).toContain(`az rest --method delete --url ${GRAPH}/v1.0/directory/deletedItems/${APP_OBJECT}`);
    expect(text).toContain(`az ad sp delete --id ${APP_ID}`);
  });

  it('leaves alone an app this environment did not make: another uniqueName, or no uniqueName to compare', async () => {
    const other = hookWorld([
      CLOUD,
      {
        match: SHOW_APP.match,
        answers: [ok({ id: APP_OBJECT, appId: APP_ID, uniqueName: null, displayName: 'Made by hand' })],
      },
      DELETE,
    ]);
    expect(await deleteAppRegistration(DOWN_ENV, other.deps)).toBe(0);
    expect(other.calls.some((c) => c.startsWith('ad app delete'))).toBe(false);
    expect(other.text()).toContain(`has uniqueName (none), not this environment's "${UNIQUE}"`);
    expect(other.text()).toContain(`az ad app delete --id ${APP_ID}`);

    const old = hookWorld([DELETE]);
    expect(await deleteAppRegistration({ WATCH_APP_CLIENT_ID: APP_ID }, old.deps)).toBe(0);
    expect(old.calls).toEqual([]);
    expect(old.text()).toContain('no WATCH_APP_UNIQUE_NAME to prove the template made it; not deleted');
  });

  it('does nothing without a multi-tenant app, and nothing twice', async () => {
    const none = hookWorld([]);
    expect(await deleteAppRegistration({}, none.deps)).toBe(0);
    expect(none.calls).toEqual([]);
    const gone = hookWorld([CLOUD, { match: SHOW_APP.match, answers: [NOT_FOUND] }, DELETE]);
    expect(await deleteAppRegistration(DOWN_ENV, gone.deps)).toBe(0);
    expect(gone.calls.some((c) => c.startsWith('ad app delete'))).toBe(false);
    expect(gone.text()).toContain('is already gone');
  });

  it('a delete that fails (not allowed, signed out) exits 1 with the command to run by hand', async () => {
    for (const answer of [FORBIDDEN, NOT_SIGNED_IN]) {
      const w = hookWorld([CLOUD, SHOW_APP, { match: DELETE.match, answers: [answer] }]);
      expect(await deleteAppRegistration(DOWN_ENV, w.deps)).toBe(1);
      expect(w.text()).toContain(`could not delete ${APP_ID}`);
      expect(w.text()).toContain(`az ad app delete --id ${APP_ID}`);
    }
  });
});

describe('the az runner and the backoff', () => {
  it('classifies what az says', () => {
    const r = (stderr: string, code = 1) => failureOf({ code, stdout: '', stderr });
    expect(r('', 127)).toBe('missing');
    expect(r("'az' is not recognized as an internal or external command,")).toBe('missing');
    expect(r("ERROR: Please run 'az login' to setup account.")).toBe('login');
    expect(r(FORBIDDEN.stderr as string)).toBe('forbidden');
    expect(r(NOT_FOUND.stderr as string)).toBe('notFound');
    expect(r('ERROR: Bad Request({"error":{"code":"BadRequest"}})')).toBe('other');
  });

  it('doubles the wait up to its cap and stops at the deadline, the last wait cut to it', async () => {
    const clock = fakeClock(0);
    expect(
      await poll(async () => undefined, { timeoutMs: 100_000, firstDelayMs: 5_000, maxDelayMs: 30_000 }, clock),
    ).toBe(undefined);
    expect(clock.sleeps).toEqual([5_000, 10_000, 20_000, 30_000, 30_000, 5_000]);
  });

  it.skipIf(process.platform === 'win32')(
    'runs the real az from PATH, and reports a missing one as missing',
    async () => {
      const fake = fakeAzOnPath([{ match: '^version$', answer: { stdout: '{"azure-cli":"2.75.0"}' } }]);
      const path = process.env.PATH;
      try {
        process.env.PATH = `${fake.dir}:${path}`;
        expect(await realAz(['version'])).toEqual({ code: 0, stdout: '{"azure-cli":"2.75.0"}', stderr: '' });
        process.env.PATH = join(fake.dir, 'nothing-here');
        const missing = await realAz(['version']);
        expect(failureOf(missing)).toBe('missing');
      } finally {
        process.env.PATH = path;
      }
    },
  );
});

/** Runs a hook with the very command azure.yaml gives azd, the environment's values as variables. */
async function runHook(hook: string, env: Record<string, string>, pathFirst: string) {
  const project = parseYaml(readFileSync(join(root, 'azure.yaml'), 'utf8')) as {
    hooks: Record<string, { posix: { run: string } }>;
  };
  const [node, ...args] = (project.hooks[hook]?.posix.run ?? '').split(' ');
  expect(node).toBe('node');
  const result = await runNode(args, {
    env: { ...env, PATH: `${pathFirst}:${process.env.PATH}` },
    label: `azd hook ${hook}`,
  });
  return { code: result.code, out: `${result.out}${result.err}` };
}

describe.skipIf(process.platform === 'win32')(
  'the hooks as azd runs them (azure.yaml commands, a fake az on PATH)',
  () => {
    it('postprovision: an old role and the Graph roles in place, exit 0', async () => {
      const fake = fakeAzOnPath([
        { match: '^cloud show', answer: { stdout: `${GRAPH}/\n` } },
        { match: `appId='${MICROSOFT_GRAPH_APP_ID}'`, answer: ok(graphSp) },
        { match: 'appRoleAssignments$', answer: held(...NEEDED) },
        { match: 'roleAssignments\\?api-version', answer: ok({ value: [assignment('2020-01-01T00:00:00Z')] }) },
      ]);
      const result = await runHook('postprovision', { ...ENV, GRAPH_ROLES_GRANTED: 'true' }, fake.dir);
      expect(result.out).toContain(`graph roles: the managed identity ${PRINCIPAL} holds`);
      expect(result.out).toContain('is in place');
      expect(result.code).toBe(0);
    }, 20_000);

    it('postdown: deletes the app this environment made, exit 0; a refused delete exits 1', async () => {
      const rules = (deleteAnswer: Partial<{ code: number; stderr: string }>) => [
        { match: '^cloud show', answer: { stdout: `${GRAPH}/\n` } },
        {
          match: `applications\\(appId='${APP_ID}'\\)`,
          answer: ok({ id: APP_OBJECT, appId: APP_ID, uniqueName: UNIQUE }),
        },
        { match: '^ad app delete', answer: deleteAnswer },
      ];
      const fine = fakeAzOnPath(rules({ code: 0 }));
      const deleted = await runHook('postdown', DOWN_ENV, fine.dir);
      expect(deleted.code).toBe(0);
      expect(fine.calls()).toContain(`ad app delete --id ${APP_ID}`);
      const refused = fakeAzOnPath(rules({ code: 1, stderr: FORBIDDEN.stderr as string }));
      const result = await runHook('postdown', DOWN_ENV, refused.dir);
      expect(result.code).toBe(1);
      expect(result.out).toContain(`az ad app delete --id ${APP_ID}`);
    }, 20_000);
  },
);
