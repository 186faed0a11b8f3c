import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { forgetKeptCredentials, keptCredentials } from '../../lib/clients/credentials';
import { loadSettings } from '../../lib/settings/settings';
import { runCycle } from '../../lib/cycle/cycle';
import type { Scenario } from '../../emulators';
import { guidFrom, jobIdFor } from '../../emulators';
import { startWorld, type World } from '../support/world';

/**
 * Tokens outlive a cycle: each cycle builds its dependencies from the settings anew (as each timer
 * invocation does), yet a Functions instance asks the authority for one Graph token per tenant, not
 * one per tenant per cycle. A tenant whose reads Graph refused gets a new token at its next cycle,
 * so a permission granted in between takes effect then, not when the cached token expires.
 * Counted at the emulated authority, through the real @azure/identity credentials.
 */

const A = guidFrom('reuse-a');
const B = guidFrom('reuse-b');
const C = guidFrom('reuse-c');
const READ = ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'];

function tenant(id: string, name: string, grants: string[]): Scenario['tenants'][number] {
  const sp = guidFrom(`reuse-sp-${name}`);
  return {
    id,
    displayName: name,
    grants,
    servicePrincipals: [
      {
        id: sp,
        appId: guidFrom(`reuse-app-${name}`),
        displayName: `${name} sync`,
        applicationTemplateId: '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7',
        jobs: [{ id: jobIdFor('Azure2Azure', id, sp), templateId: 'Azure2Azure', state: 'healthy' }],
      },
    ],
  };
}

let world: World;

beforeAll(async () => {
  world = await startWorld({
    name: 'token-reuse',
    app: { clientId: guidFrom('reuse-app'), clientSecret: 'reuse-secret~1' },
    // C has not been granted Synchronization.Read.All yet: its jobs are refused.
    tenants: [
      tenant(A, 'Alpha', READ),
      tenant(B, 'Beta', READ),
      tenant(C, 'Gamma', ['Application.Read.All', 'AuditLog.Read.All']),
    ],
  });
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(() => {
  forgetKeptCredentials();
  world.cloud.control.reset();
  world.tableName = `reuse${Math.random().toString(36).slice(2)}`;
});

/** Graph token requests the authority granted since the logs were last cleared, per tenant. */
function graphTokens(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of world.cloud.control.tokenRequests()) {
    if (t.status !== 200 || !t.scope?.startsWith(world.cloud.graphEndpoint)) continue;
    counts[t.tenantId] = (counts[t.tenantId] ?? 0) + 1;
  }
  return counts;
}

/** One cycle with dependencies built from the settings anew, as a timer invocation builds them. */
async function cycle() {
  world.cloud.control.clearLogs();
  const summary = await runCycle(world.deps());
  return { summary, tokens: graphTokens() };
}

describe('Graph tokens across cycles in one instance', () => {
  it("asks once per tenant, renews a refused tenant's token each cycle, and a permission granted in between takes effect at the next cycle", async () => {
    const first = await cycle();
    expect(first.tokens).toEqual({ [A]: 1, [B]: 1, [C]: 1 });
    expect(first.summary.tenantsUnreadable).toEqual([C]);

    const second = await cycle();
    expect(second.tokens).toEqual({ [C]: 1 }); // A and B reuse theirs; C was refused, so it gets a new one
    expect(second.summary.tenantsUnreadable).toEqual([C]);

    world.cloud.control.setGrants(C, READ); // an admin grants the missing permission
    const third = await cycle();
    expect(third.summary.tenantsUnreadable).toEqual([]);
    expect(third.tokens).toEqual({ [C]: 1 }); // the new token carries the new permission

    const fourth = await cycle();
    expect(fourth.tokens).toEqual({});
    expect(fourth.summary.errors).toEqual([]);
    expect(fourth.summary.jobsSeen).toBe(3);
  });

  it('renews the token of a tenant that withdrew a permission, so granting it again works at the next cycle', async () => {
    world.cloud.control.setGrants(C, READ);
    expect((await cycle()).tokens).toEqual({ [A]: 1, [B]: 1, [C]: 1 });
    world.cloud.control.setGrants(A, ['Application.Read.All', 'AuditLog.Read.All']); // withdrawn: Graph refuses at once
    const refused = await cycle();
    expect(refused.summary.tenantsUnreadable).toEqual([A]);
    expect(refused.tokens).toEqual({});
    // Granted again, and another role with it: only a new token carries that one.
    world.cloud.control.setGrants(A, [...READ, 'Directory.Read.All']);
    const back = await cycle();
    expect(back.summary.tenantsUnreadable).toEqual([]);
    expect(back.tokens).toEqual({ [A]: 1 });
  });

  it('keeps one set of credentials per settings, and another for other settings', () => {
    const settings = loadSettings(world.env);
    expect(keptCredentials(settings, world.env)).toBe(keptCredentials(settings, world.env));
    const other = loadSettings({ ...world.env, AZURE_CLIENT_SECRET: 'another-secret' });
    expect(keptCredentials(other, world.env)).not.toBe(keptCredentials(settings, world.env));
  });
});

describe('the kept Graph credential', () => {
  const graph = () => keptCredentials(loadSettings(world.env), world.env).graph;
  const scope = () => `${world.cloud.graphEndpoint}/.default`;
  const ask = (tenantId: string, claims?: string) => graph().getToken(scope(), { tenantId, claims });

  it('answers a second ask, in this cycle or the next, from its cache', async () => {
    const first = await ask(A);
    expect(graphTokens()).toEqual({ [A]: 1 });
    world.cloud.control.clearLogs();
    expect((await ask(A))?.token).toBe(first?.token);
    // The next cycle builds its dependencies anew from the same settings: the same credential.
    expect((await ask(A))?.token).toBe(first?.token);
    expect(graphTokens()).toEqual({});
  });

  it('shares one token request among callers that ask at once', async () => {
    const tokens = await Promise.all(Array.from({ length: 5 }, () => ask(B)));
    expect(new Set(tokens.map((t) => t?.token)).size).toBe(1);
    expect(graphTokens()).toEqual({ [B]: 1 });
  });

  it("renew() drops that tenant's token and only that one", async () => {
    const [, b] = await Promise.all([ask(A), ask(B)]);
    world.cloud.control.clearLogs();
    graph().renew(A.toUpperCase());
    const [, b2] = await Promise.all([ask(A), ask(B)]);
    expect(graphTokens()).toEqual({ [A]: 1 });
    expect(b2).toBe(b);
  });

  it('does not keep a token asked for before renew() was called', async () => {
    const asked = ask(C);
    graph().renew(C);
    await asked;
    world.cloud.control.clearLogs();
    await ask(C);
    expect(graphTokens()).toEqual({ [C]: 1 });
  });

  it('asks the authority at a claims challenge, and keeps the token it gets', async () => {
    await ask(A);
    world.cloud.control.clearLogs();
    const challenged = await ask(
      A,
      JSON.stringify({ access_token: { nbf: { essential: true, value: String(Math.floor(Date.now() / 1000)) } } }),
    );
    expect(graphTokens()).toEqual({ [A]: 1 });
    world.cloud.control.clearLogs();
    expect(await ask(A)).toBe(challenged); // the very token the challenge got
    expect(graphTokens()).toEqual({});
  });
});
