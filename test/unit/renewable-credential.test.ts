import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { describe, expect, it } from 'vitest';
import { renewableCredential } from '../../lib/clients/credentials';
import { boundedCredential } from '../../lib/clients/timeouts';
import { Deadline, TimeoutError } from '../../lib/util/deadline';

/**
 * The Graph credential every cycle shares: tokens kept per tenant and scope until their refresh
 * time, concurrent asks sharing one request, a tenant told to renew getting a fresh credential,
 * and a request whose wait was cut off (a hung token endpoint) never shared again.
 */

const SCOPE = 'https://graph.microsoft.com/.default';
const HOUR = 3_600_000;

/** A stand-in identity library: counts its requests; each answers at once, or never when told to hang. */
function authority(start = 0) {
  let clock = start;
  const asked: { tenantId?: string; claims?: string; instance: number }[] = [];
  let instances = 0;
  let hang = false;
  const make = (): TokenCredential => {
    const instance = ++instances;
    return {
      getToken(_scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
        asked.push({ tenantId: options?.tenantId, claims: options?.claims, instance });
        if (hang) return new Promise(() => undefined);
        return Promise.resolve({ token: `t${asked.length}`, expiresOnTimestamp: clock + HOUR });
      },
    };
  };
  return {
    make,
    asked,
    instances: () => instances,
    hang: (on: boolean) => (hang = on),
    clock: () => clock,
    advance: (ms: number) => (clock += ms),
  };
}

describe('the renewable Graph credential', () => {
  it('shares one request among concurrent asks for a tenant, and keeps its token until five minutes before it expires', async () => {
    const a = authority();
    const credential = renewableCredential(a.make, a.make(), a.clock);
    const [t1, t2] = await Promise.all([
      credential.getToken(SCOPE, { tenantId: 'T1' }),
      credential.getToken(SCOPE, { tenantId: 't1' }),
    ]);
    expect(t1?.token).toBe('t1');
    expect(t2).toBe(t1);
    expect(a.asked).toHaveLength(1);
    a.advance(HOUR - 5 * 60_000 - 1);
    expect((await credential.getToken(SCOPE, { tenantId: 'T1' }))?.token).toBe('t1');
    a.advance(1);
    expect((await credential.getToken(SCOPE, { tenantId: 'T1' }))?.token).toBe('t2');
    // Another tenant, or another scope, has its own token.
    expect((await credential.getToken(SCOPE, { tenantId: 'T2' }))?.token).toBe('t3');
    expect((await credential.getToken('https://other/.default', { tenantId: 'T1' }))?.token).toBe('t4');
  });

  it('uses the refresh time the identity library gives, when it gives one', async () => {
    const a = authority();
    const make = (): TokenCredential => ({
      getToken: () =>
        Promise.resolve({
          token: `r${a.advance(0)}`,
          expiresOnTimestamp: a.clock() + HOUR,
          refreshAfterTimestamp: a.clock() + 60_000,
        }),
    });
    let calls = 0;
    const counted: TokenCredential = { getToken: (s, o) => (calls++, make().getToken(s, o)) };
    const credential = renewableCredential(make, counted, a.clock);
    await credential.getToken(SCOPE, { tenantId: 'T1' });
    a.advance(59_999);
    await credential.getToken(SCOPE, { tenantId: 'T1' });
    expect(calls).toBe(1);
    a.advance(1);
    await credential.getToken(SCOPE, { tenantId: 'T1' });
    expect(calls).toBe(2);
  });

  it('always asks the authority for a claims challenge, and keeps that token', async () => {
    const a = authority();
    const credential = renewableCredential(a.make, a.make(), a.clock);
    await credential.getToken(SCOPE, { tenantId: 'T1' });
    expect((await credential.getToken(SCOPE, { tenantId: 'T1', claims: 'c' }))?.token).toBe('t2');
    expect((await credential.getToken(SCOPE, { tenantId: 'T1' }))?.token).toBe('t2');
    expect(a.asked.map((x) => x.claims)).toEqual([undefined, 'c']);
  });

  it('gives a tenant told to renew a credential of its own, and a new token from it; other tenants keep theirs', async () => {
    const a = authority();
    const credential = renewableCredential(a.make, a.make(), a.clock);
    await credential.getToken(SCOPE, { tenantId: 'T1' });
    await credential.getToken(SCOPE, { tenantId: 'T2' });
    credential.renew('t1');
    expect((await credential.getToken(SCOPE, { tenantId: 'T1' }))?.token).toBe('t3');
    expect((await credential.getToken(SCOPE, { tenantId: 'T2' }))?.token).toBe('t2');
    expect(a.asked.map((x) => x.instance)).toEqual([1, 1, 2]);
  });

  it('a wait cut off by its time limit ends the sharing of that request: the next ask, this cycle or the next, asks anew', async () => {
    const a = authority();
    const credential = renewableCredential(a.make, a.make(), a.clock);
    const bounded = boundedCredential(credential, { deadline: () => Deadline.never(), callMs: 30 });
    a.hang(true);
    await expect(bounded.getToken(SCOPE, { tenantId: 'T1' })).rejects.toBeInstanceOf(TimeoutError);
    await expect(bounded.getToken(SCOPE, { tenantId: 'T1' })).rejects.toThrow(/the token request for tenant T1/);
    expect(a.asked).toHaveLength(2); // the second did not wait on the first's hung request
    a.hang(false);
    expect((await bounded.getToken(SCOPE, { tenantId: 'T1' }))?.token).toBe('t3');
  });

  it('abandon forgets only the shared request of that tenant and scope', async () => {
    const a = authority();
    const credential = renewableCredential(a.make, a.make(), a.clock);
    a.hang(true);
    void credential.getToken(SCOPE, { tenantId: 'T1' });
    void credential.getToken(SCOPE, { tenantId: 'T2' });
    credential.abandon!(SCOPE, 'T1');
    void credential.getToken(SCOPE, { tenantId: 'T1' });
    void credential.getToken(SCOPE, { tenantId: 'T2' });
    expect(a.asked.map((x) => x.tenantId)).toEqual(['T1', 'T2', 'T1']);
  });

  it("stops sharing a request once a waiting caller's own signal aborts", async () => {
    const a = authority();
    const credential = renewableCredential(a.make, a.make(), a.clock);
    a.hang(true);
    const controller = new AbortController();
    void credential.getToken(SCOPE, { tenantId: 'T1', abortSignal: controller.signal });
    void credential.getToken(SCOPE, { tenantId: 'T1' });
    expect(a.asked).toHaveLength(1);
    controller.abort();
    void credential.getToken(SCOPE, { tenantId: 'T1' });
    expect(a.asked).toHaveLength(2);
  });
});
