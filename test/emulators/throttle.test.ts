import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guidFrom, startPrivateCloud, type PrivateCloud, type Scenario } from '../../emulators/index';
import { CROSS_TENANT_SYNC_TEMPLATE_ID, jobIdFor } from '../../emulators/jobs';
import { validateScenario } from '../../emulators/scenario';

/** Graph's latency and rate limits in the emulator (emulators/throttle.ts), on the wire. */

const A = guidFrom('throttle-tenant-a');
const B = guidFrom('throttle-tenant-b');

function tenant(id: string, name: string) {
  const sps = Array.from({ length: 5 }, (_, i) => {
    const sp = guidFrom(`throttle-sp-${name}-${i}`);
    return {
      id: sp,
      appId: guidFrom(`throttle-app-${name}-${i}`),
      displayName: `${name} ${i}`,
      applicationTemplateId: CROSS_TENANT_SYNC_TEMPLATE_ID,
      jobs: [{ id: jobIdFor('Azure2Azure', id, sp), templateId: 'Azure2Azure', state: 'healthy' as const }],
    };
  });
  return {
    id,
    displayName: name,
    grants: ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'],
    servicePrincipals: sps,
  };
}

const scenario: Scenario = {
  name: 'throttle',
  app: { clientId: guidFrom('throttle-app'), clientSecret: 'throttle-secret~1' },
  tenants: [tenant(A, 'Alpha'), tenant(B, 'Beta')],
  reportsRateLimit: { requests: 100, windowSeconds: 10 },
};

let cloud: PrivateCloud;
const tokens = new Map<string, string>();

beforeAll(async () => {
  cloud = await startPrivateCloud({ scenario });
  for (const id of [A, B]) {
    const credential = new ClientSecretCredential(id, cloud.clientId, cloud.clientSecret, {
      authorityHost: cloud.authorityHost,
      disableInstanceDiscovery: true,
    });
    tokens.set(id, (await credential.getToken(`${cloud.graphEndpoint}/.default`))!.token);
  }
});
afterAll(async () => {
  await cloud?.stop();
});
beforeEach(() => {
  cloud.control.reset();
  cloud.control.setGraphLimits({});
});

async function call(tenantId: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${cloud.graphEndpoint}/v1.0${path}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${tokens.get(tenantId)}`,
      'Content-Type': 'application/json',
      ...(init.headers ?? {}),
    },
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

const jobsPath = (tenantId: string, i: number) =>
  `/servicePrincipals/${scenario.tenants.find((t) => t.id === tenantId)!.servicePrincipals[i]!.id}/synchronization/jobs`;

describe('Graph emulator: latency', () => {
  it('answers every request, and every token request, one round trip late', async () => {
    cloud.control.setGraphLimits({ latencyMs: 150 });
    let started = performance.now();
    expect((await call(A, jobsPath(A, 0))).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    started = performance.now();
    const credential = new ClientSecretCredential(A, cloud.clientId, cloud.clientSecret, {
      authorityHost: cloud.authorityHost,
      disableInstanceDiscovery: true,
    });
    await credential.getToken(`${cloud.graphEndpoint}/.default`);
    // Discovery, then the token: two round trips.
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe('Graph emulator: identity and access limits', () => {
  it('throttles a tenant past its resource units with 429, Retry-After and the throttle scope, and no other tenant', async () => {
    cloud.control.setGraphLimits({ perTenant: { requests: 3, windowSeconds: 5 } });
    for (let i = 0; i < 3; i++) expect((await call(A, jobsPath(A, i))).status).toBe(200);
    const throttled = await call(A, jobsPath(A, 3));
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(throttled.headers.get('retry-after'))).toBeLessThanOrEqual(5);
    expect(throttled.headers.get('x-ms-throttle-scope')).toBe(`Tenant_Application/Read/${scenario.app.clientId}/${A}`);
    expect(throttled.headers.get('x-ms-throttle-information')).toBe('ResourceUnitLimitExceeded');
    expect(throttled.body).toMatchObject({ error: { code: 'TooManyRequests', message: 'Please retry again later.' } });
    expect((await call(B, jobsPath(B, 0))).status).toBe(200);
    expect(cloud.control.throttledCounts()).toEqual({ identity: 1, reports: 0 });
  });

  it('meters every request of a $batch on its own: those past the limit get their own 429, the envelope 200', async () => {
    cloud.control.setGraphLimits({ perTenant: { requests: 3, windowSeconds: 5 } });
    const requests = Array.from({ length: 5 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: jobsPath(A, i) }));
    const answer = await call(A, '/$batch', { method: 'POST', body: JSON.stringify({ requests }) });
    expect(answer.status).toBe(200);
    const responses = answer.body.responses as { id: string; status: number; headers: Record<string, string> }[];
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429]);
    for (const r of responses.filter((r) => r.status === 429))
      expect(Number(r.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
  });

  it('limits an app across tenants too', async () => {
    cloud.control.setGraphLimits({ perApp: { requests: 4, windowSeconds: 5 } });
    for (const [t, i] of [
      [A, 0],
      [A, 1],
      [B, 0],
      [B, 1],
    ] as const)
      expect((await call(t, jobsPath(t, i))).status).toBe(200);
    const throttled = await call(B, jobsPath(B, 2));
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('x-ms-throttle-scope')).toBe(
      `Application/Read/${scenario.app.clientId}/${scenario.app.clientId}`,
    );
  });

  it('admits again once the window has moved on', async () => {
    cloud.control.setGraphLimits({ perTenant: { requests: 1, windowSeconds: 0.3 } });
    expect((await call(A, jobsPath(A, 0))).status).toBe(200);
    expect((await call(A, jobsPath(A, 0))).status).toBe(429);
    await new Promise((r) => setTimeout(r, 350));
    expect((await call(A, jobsPath(A, 0))).status).toBe(200);
  });
});

describe('Graph emulator: reports limit across tenants', () => {
  it('refuses the provisioning logs of any tenant once the app made its reports requests across tenants', async () => {
    cloud.control.setGraphLimits({ reportsPerApp: { requests: 3, windowSeconds: 10 } });
    const logs = "/auditLogs/provisioning?$filter=provisioningStatusInfo/status eq 'failure'&$top=5";
    for (const t of [A, B, A]) expect((await call(t, logs)).status).toBe(200);
    const refused = await call(B, logs);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(cloud.control.throttledCounts()).toEqual({ identity: 0, reports: 1 });
    // Job reads are another limit.
    expect((await call(B, jobsPath(B, 0))).status).toBe(200);
  });

  it("keeps Graph's documented 122 requests per 10 s by default", () => {
    expect((cloud.control as unknown as { throttle: { limits: unknown } }).throttle.limits).toMatchObject({
      latencyMs: 0,
      perTenant: { requests: 3500, windowSeconds: 10 },
      perApp: { requests: 150_000, windowSeconds: 20 },
      reportsPerApp: { requests: 122, windowSeconds: 10 },
    });
  });
});

describe('scenario graphLimits', () => {
  it('is validated with the path of the bad field', () => {
    const base = { name: 'x', app: { clientId: guidFrom('x'), clientSecret: 's' }, tenants: [tenant(A, 'Alpha')] };
    expect(() => validateScenario({ ...base, graphLimits: { latencyMs: -1 } })).toThrow(
      'graphLimits.latencyMs: expected milliseconds 0..60000',
    );
    expect(() => validateScenario({ ...base, graphLimits: { perTenant: { requests: 0, windowSeconds: 10 } } })).toThrow(
      'graphLimits.perTenant.requests: expected an integer >= 1',
    );
    expect(() => validateScenario({ ...base, graphLimits: { concurrency: 4 } })).toThrow(
      'graphLimits.concurrency: unknown field',
    );
    expect(
      validateScenario({
        ...base,
        graphLimits: { latencyMs: 100, reportsPerApp: { requests: 122, windowSeconds: 10 } },
      }).graphLimits,
    ).toEqual({ latencyMs: 100, reportsPerApp: { requests: 122, windowSeconds: 10 } });
  });
});
