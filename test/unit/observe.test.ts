import { describe, expect, it } from 'vitest';
import type { BatchRequest, BatchResponse, GraphReader } from '../../lib/clients/graph';
import { listServicePrincipals, sweepDue } from '../../lib/observe/discovery';
import { InvalidGraphData } from '../../lib/observe/normalize';
import { observeTenant, type ObserveOptions } from '../../lib/observe/observe';
import type { DiscoveryCache, DiscoverySnapshot, KnownServicePrincipal } from '../../lib/store/discovery-store';

/**
 * Discovery and reading decisions, over a scripted Graph (the integration tests run the same
 * through the real SDK against the emulator): what a sweep probes and keeps, what the cache
 * remembers, and whose problem a refusal is.
 */

const TENANT = 't1';
const NOW = new Date('2026-11-27T12:00:00Z');
const DAY = 86_400_000;

interface FakeSp {
  id: string;
  applicationTemplateId?: string | null;
  /** Jobs answer: a list of job ids, or an HTTP status. */
  jobs?: string[] | number;
  secrets?: unknown[] | number;
}

/** A Graph that answers from a table of service principals; counts what was asked. */
function fakeGraph(sps: FakeSp[], options: { pageSize?: number; listStatus?: number; batchThrows?: Error } = {}) {
  const calls = { lists: 0, batches: 0, jobReads: [] as string[], secretReads: [] as string[] };
  const pageSize = options.pageSize ?? 999;
  const error = (status: number) =>
    Object.assign(new Error(`HTTP ${status}`), {
      statusCode: status,
      code: status === 401 ? 'UnknownError' : 'Authorization_RequestDenied',
      body: '{}',
    });
  const reader: GraphReader = {
    async get(url) {
      calls.lists++;
      if (options.listStatus) throw error(options.listStatus);
      const offset = Number(/skip=(\d+)/.exec(url)?.[1] ?? 0);
      const page = sps.slice(offset, offset + pageSize).map((sp) => ({
        id: sp.id,
        appId: `app-${sp.id}`,
        displayName: `App ${sp.id}`,
        applicationTemplateId: sp.applicationTemplateId ?? null,
      }));
      return {
        value: page,
        ...(offset + pageSize < sps.length
          ? { '@odata.nextLink': `https://graph.test/v1.0/servicePrincipals?skip=${offset + pageSize}` }
          : {}),
      };
    },
    async batch(requests: BatchRequest[]): Promise<BatchResponse[]> {
      calls.batches++;
      if (options.batchThrows) throw options.batchThrows;
      return requests.map((r) => {
        const [, , id, , kind] = r.url.split('/');
        const sp = sps.find((s) => s.id === decodeURIComponent(id ?? ''));
        if (kind === 'jobs') calls.jobReads.push(sp?.id ?? '?');
        else calls.secretReads.push(sp?.id ?? '?');
        const answer = kind === 'jobs' ? (sp?.jobs ?? []) : (sp?.secrets ?? []);
        if (!sp) return { id: r.id, status: 404, headers: {}, body: {} };
        if (typeof answer === 'number')
          return {
            id: r.id,
            status: answer,
            headers: {},
            body: { error: { code: answer === 401 ? 'UnknownError' : 'Forbidden', message: '' } },
          };
        const value =
          kind === 'jobs'
            ? (answer as string[]).map((jobId) => ({ id: jobId, templateId: 'scim', status: { code: 'Active' } }))
            : answer;
        return { id: r.id, status: 200, headers: {}, body: { value } };
      });
    },
  };
  return { reader, calls };
}

class MemoryCache implements DiscoveryCache {
  snapshots = new Map<string, DiscoverySnapshot>();
  writes = 0;
  async load(tenantId: string) {
    const s = this.snapshots.get(tenantId);
    return s ? structuredClone(s) : undefined;
  }
  async saveSweep(tenantId: string, snapshot: DiscoverySnapshot) {
    this.writes++;
    this.snapshots.set(tenantId, structuredClone(snapshot));
  }
  async saveServicePrincipal(tenantId: string, sp: KnownServicePrincipal) {
    this.writes++;
    const s = this.snapshots.get(tenantId)!;
    s.servicePrincipals = [...s.servicePrincipals.filter((x) => x.id !== sp.id), structuredClone(sp)];
  }
  async forgetServicePrincipal(tenantId: string, spId: string) {
    const s = this.snapshots.get(tenantId);
    if (s) s.servicePrincipals = s.servicePrincipals.filter((x) => x.id !== spId);
  }
}

const TEMPLATE = '8adf8e6e-67b2-4cf2-a259-e3dc5476c621';
const options = (cache: DiscoveryCache | undefined, now = NOW, listed: string[] = []): ObserveOptions => ({
  now,
  discovery: { cache, refreshMs: DAY, listed },
  sleep: async () => {},
});

describe('listServicePrincipals', () => {
  it('pages through every service principal and stops at the page cap, saying so', async () => {
    const sps = Array.from({ length: 25 }, (_, i) => ({ id: `sp${i}` }));
    expect((await listServicePrincipals(fakeGraph(sps, { pageSize: 10 }).reader)).servicePrincipals).toHaveLength(25);
    const capped = await listServicePrincipals(fakeGraph(sps, { pageSize: 10 }).reader, 2);
    expect([capped.servicePrincipals.length, capped.truncatedAfterPages]).toEqual([20, 2]);
  });

  it('refuses a repeated nextLink and a page without a value list', async () => {
    const loop: GraphReader = {
      get: async () => ({ value: [], '@odata.nextLink': 'https://graph.test/same' }),
      batch: async () => [],
    };
    await expect(listServicePrincipals(loop)).rejects.toThrow(/same @odata.nextLink twice/);
    const broken: GraphReader = { get: async () => ({ items: [] }), batch: async () => [] };
    await expect(listServicePrincipals(broken)).rejects.toBeInstanceOf(InvalidGraphData);
  });

  it('a sweep is due for a tenant never swept, and once the refresh interval has passed', () => {
    expect(sweepDue(undefined, DAY, NOW)).toBe(true);
    expect(sweepDue(new Date(NOW.getTime() - DAY + 1).toISOString(), DAY, NOW)).toBe(false);
    expect(sweepDue(new Date(NOW.getTime() - DAY).toISOString(), DAY, NOW)).toBe(true);
  });
});

describe('observeTenant: discovery', () => {
  const tenantSps: FakeSp[] = [
    { id: 'first-party' },
    { id: 'scim', applicationTemplateId: TEMPLATE, jobs: ['scim.1'] },
    { id: 'sso-only', applicationTemplateId: 'g1', jobs: [] },
    { id: 'sso-refusing', applicationTemplateId: 'g2', jobs: 403 },
    { id: 'legacy' /* no template, but listed */, jobs: ['legacy.1'] },
  ];

  it('a sweep probes the service principals with a template and the listed ones, and keeps those with jobs', async () => {
    const cache = new MemoryCache();
    const { reader, calls } = fakeGraph(tenantSps);
    const o = await observeTenant(reader, TENANT, options(cache, NOW, ['legacy']));
    expect(o.problem).toBeUndefined();
    expect(calls.jobReads.sort()).toEqual(['legacy', 'scim', 'sso-only', 'sso-refusing']);
    expect(o.jobs.map((j) => j.jobId).sort()).toEqual(['legacy.1', 'scim.1']);
    expect(o.servicePrincipalProblems).toEqual([]);
    // The candidate that refused is named once, not a problem of the tenant or of a watched configuration.
    expect(o.degraded?.map((d) => d.operation)).toEqual(['synchronization/jobs']);
    expect(o.degraded?.[0]?.consequence).toMatch(/^1 service principal\(s\) with an application template refused/);
    expect(o.discovery).toMatchObject({ swept: true, candidates: 4, known: 2 });
    expect(
      cache.snapshots
        .get(TENANT)
        ?.servicePrincipals.map((s) => s.id)
        .sort(),
    ).toEqual(['legacy', 'scim']);
    expect(o.jobs.every((j) => j.firstSeenAt?.getTime() === NOW.getTime())).toBe(true);
  });

  it('between sweeps it reads only the known ones, and keeps when each job was first seen', async () => {
    const cache = new MemoryCache();
    await observeTenant(fakeGraph(tenantSps).reader, TENANT, options(cache, NOW, ['legacy']));
    const later = new Date(NOW.getTime() + 3600_000);
    const grown = tenantSps.map((sp) => (sp.id === 'scim' ? { ...sp, jobs: ['scim.1', 'scim.2'] } : sp));
    const { reader, calls } = fakeGraph(grown);
    const writesBefore = cache.writes;
    const o = await observeTenant(reader, TENANT, options(cache, later, ['legacy']));
    expect(calls.lists).toBe(0);
    expect(calls.jobReads.sort()).toEqual(['legacy', 'scim']);
    const seen = Object.fromEntries(o.jobs.map((j) => [j.jobId, j.firstSeenAt?.toISOString()]));
    expect(seen).toEqual({ 'scim.1': NOW.toISOString(), 'scim.2': later.toISOString(), 'legacy.1': NOW.toISOString() });
    expect(cache.writes).toBe(writesBefore + 1); // only the configuration with a new job
    expect(o.discovery).toMatchObject({ swept: false, sweptAt: NOW.toISOString() });

    // A day later the sweep runs again and finds what is new.
    const next = await observeTenant(
      fakeGraph([...grown, { id: 'new-scim', applicationTemplateId: TEMPLATE, jobs: ['new.1'] }]).reader,
      TENANT,
      options(cache, new Date(NOW.getTime() + DAY), ['legacy']),
    );
    expect(next.discovery?.swept).toBe(true);
    expect(next.jobs.map((j) => j.jobId).sort()).toEqual(['legacy.1', 'new.1', 'scim.1', 'scim.2']);
  });

  it('when the list is refused it watches what the last sweep found, named once; with nothing found before the tenant is unreadable', async () => {
    const cache = new MemoryCache();
    await observeTenant(fakeGraph(tenantSps).reader, TENANT, options(cache));
    const { reader, calls } = fakeGraph(tenantSps, { listStatus: 403 });
    const o = await observeTenant(reader, TENANT, options(cache, new Date(NOW.getTime() + 2 * DAY)));
    expect(o.problem).toBeUndefined();
    expect(calls.jobReads).toEqual(['scim']);
    expect(o.degraded?.map((d) => [d.operation, d.problem.likelyMissingPermission])).toEqual([
      ['servicePrincipals', 'Application.Read.All'],
    ]);
    expect(cache.snapshots.get(TENANT)?.sweptAt).toBe(NOW.toISOString()); // the sweep is tried again next cycle

    const fresh = await observeTenant(
      fakeGraph(tenantSps, { listStatus: 403 }).reader,
      't2',
      options(new MemoryCache()),
    );
    expect(fresh.problem).toMatchObject({ kind: 'access', status: 403, operation: 'servicePrincipals' });
  });

  it("a known configuration that is refused is its own problem; when every read is refused it is the tenant's", async () => {
    const cache = new MemoryCache();
    const two = [
      { id: 'a', applicationTemplateId: TEMPLATE, jobs: ['a.1'] },
      { id: 'b', applicationTemplateId: TEMPLATE, jobs: ['b.1'] },
    ];
    await observeTenant(fakeGraph(two).reader, TENANT, options(cache));
    const one = await observeTenant(
      fakeGraph([two[0]!, { ...two[1]!, jobs: 403 }]).reader,
      TENANT,
      options(cache, new Date(NOW.getTime() + 60_000)),
    );
    expect(one.problem).toBeUndefined();
    expect(one.servicePrincipalProblems.map((p) => [p.servicePrincipal.id, p.problem.status])).toEqual([['b', 403]]);
    const all = await observeTenant(
      fakeGraph(two.map((sp) => ({ ...sp, jobs: 401 }))).reader,
      TENANT,
      options(cache, new Date(NOW.getTime() + 120_000)),
    );
    expect(all.problem).toMatchObject({
      kind: 'access',
      status: 401,
      likelyMissingPermission: 'Synchronization.Read.All',
    });
    expect(all.servicePrincipalProblems).toEqual([]);
  });

  it('a $batch call refused as a whole (the token) makes the tenant unreadable; a candidate that fails transiently stays watched', async () => {
    const refused = fakeGraph(tenantSps, {
      batchThrows: Object.assign(new Error('Access token has expired'), {
        statusCode: 401,
        code: 'InvalidAuthenticationToken',
        body: '{}',
      }),
    });
    expect((await observeTenant(refused.reader, TENANT, options(new MemoryCache()))).problem).toMatchObject({
      kind: 'access',
      status: 401,
    });
    const flaky = fakeGraph([{ id: 'x', applicationTemplateId: TEMPLATE, jobs: 503 }]);
    const cache = new MemoryCache();
    const o = await observeTenant(flaky.reader, TENANT, { ...options(cache), batchRetries: 0 });
    expect(o.servicePrincipalProblems.map((p) => [p.servicePrincipal.id, p.problem.kind])).toEqual([
      ['x', 'transient'],
    ]);
    expect(cache.snapshots.get(TENANT)?.servicePrincipals.map((s) => s.id)).toEqual(['x']);
  });
});

describe('observeTenant: the discovery cache written later (deferWrites)', () => {
  it('hands the write to the caller: nothing is written until it runs it, and first-seen times are set at once', async () => {
    const cache = new MemoryCache();
    const { reader } = fakeGraph([{ id: 'scim', applicationTemplateId: TEMPLATE, jobs: ['scim.1'] }]);
    const writes: (() => Promise<void>)[] = [];
    const observation = await observeTenant(reader, TENANT, { ...options(cache), deferWrites: (w) => writes.push(w) });
    expect(cache.writes).toBe(0);
    expect(observation.jobs.map((j) => j.firstSeenAt)).toEqual([NOW]);
    expect(writes).toHaveLength(1);
    await writes[0]!();
    expect(cache.writes).toBe(1);
    expect((await cache.load(TENANT))?.servicePrincipals.map((sp) => sp.id)).toEqual(['scim']);
  });

  it('a write that fails marks the cache degraded on the observation, for the coverage computed after it', async () => {
    const cache = new MemoryCache();
    cache.saveSweep = () => Promise.reject(new Error('Table Storage is unreachable'));
    const { reader } = fakeGraph([{ id: 'scim', applicationTemplateId: TEMPLATE, jobs: ['scim.1'] }]);
    const writes: (() => Promise<void>)[] = [];
    const observation = await observeTenant(reader, TENANT, { ...options(cache), deferWrites: (w) => writes.push(w) });
    expect(observation.degraded?.some((d) => d.operation === 'discovery cache')).toBe(false);
    await writes[0]!();
    expect(observation.degraded?.find((d) => d.operation === 'discovery cache')?.consequence).toBe(
      'the sweep is done again next cycle',
    );
  });
});

describe('observeTenant: secrets', () => {
  it('reads the secrets of configurations with jobs; a refusal skips their checks, named once, the tenant still read', async () => {
    const sps: FakeSp[] = [
      {
        id: 'a',
        applicationTemplateId: TEMPLATE,
        jobs: ['a.1'],
        secrets: [
          { key: 'SyncNotificationSettings', value: '{"Enabled":false}' },
          { key: 'SecretToken', value: '*' },
        ],
      },
      { id: 'b', applicationTemplateId: TEMPLATE, jobs: ['b.1'], secrets: 403 },
      { id: 'c', applicationTemplateId: TEMPLATE, jobs: ['c.1'], secrets: 403 },
    ];
    const { reader, calls } = fakeGraph(sps);
    const o = await observeTenant(reader, TENANT, options(undefined));
    expect(calls.secretReads.sort()).toEqual(['a', 'b', 'c']);
    expect(o.problem).toBeUndefined();
    expect(o.syncSettings?.get('a')).toEqual({
      keys: ['SyncNotificationSettings', 'SecretToken'],
      notifications: {
        enabled: false,
        recipients: undefined,
        deleteThresholdEnabled: undefined,
        deleteThresholdValue: undefined,
      },
    });
    expect([...(o.secretsUnread?.keys() ?? [])]).toEqual(['b', 'c']);
    expect(o.degraded).toHaveLength(1);
    expect(o.degraded?.[0]).toMatchObject({ operation: 'synchronization/secrets', problem: { status: 403 } });
    expect(o.degraded?.[0]?.consequence).toContain('skipped for 2 of 3 configuration(s)');
  });
});

describe('observeTenant: a configuration missing from a read is confirmed by a later one before it is gone', () => {
  const MINUTE = 60_000;
  const at = (minutes: number) => new Date(NOW.getTime() + minutes * MINUTE);
  const confirmAfter = (cache: DiscoveryCache, now: Date): ObserveOptions => ({
    ...options(cache, now),
    discovery: { cache, refreshMs: DAY, listed: [], confirmAfterMs: 4 * MINUTE },
  });

  it('a 404 for a known service principal: confirming, held on a read moments later, gone on a read a cycle later', async () => {
    const cache = new MemoryCache();
    const sps: FakeSp[] = [{ id: 'scim', applicationTemplateId: TEMPLATE, jobs: ['scim.1'] }];
    await observeTenant(fakeGraph(sps).reader, TENANT, confirmAfter(cache, at(0)));
    const gone: FakeSp[] = [{ id: 'scim', applicationTemplateId: TEMPLATE, jobs: 404 }];
    const first = await observeTenant(fakeGraph(gone).reader, TENANT, confirmAfter(cache, at(5)));
    expect(first.missing).toEqual([
      expect.objectContaining({ jobId: undefined, since: at(5).toISOString(), confirmed: false }),
    ]);
    expect(first.servicePrincipals).toEqual([]); // nothing for the rules to judge meanwhile
    // Another instance a minute later is not a second read.
    const overlap = await observeTenant(fakeGraph(gone).reader, TENANT, confirmAfter(cache, at(6)));
    expect(overlap.missing?.[0]?.confirmed).toBe(false);
    const second = await observeTenant(fakeGraph(gone).reader, TENANT, confirmAfter(cache, at(10)));
    expect(second.missing).toEqual([expect.objectContaining({ since: at(5).toISOString(), confirmed: true })]);
    expect((await cache.load(TENANT))?.servicePrincipals.map((sp) => sp.id)).toEqual([]);
  });

  it('a job missing from one list and back on the next is never gone, and keeps its first-seen time', async () => {
    const cache = new MemoryCache();
    const with1: FakeSp[] = [{ id: 'scim', applicationTemplateId: TEMPLATE, jobs: ['scim.1'] }];
    const empty: FakeSp[] = [{ id: 'scim', applicationTemplateId: TEMPLATE, jobs: [] }];
    await observeTenant(fakeGraph(with1).reader, TENANT, confirmAfter(cache, at(0)));
    const blip = await observeTenant(fakeGraph(empty).reader, TENANT, confirmAfter(cache, at(5)));
    expect(blip.missing).toEqual([expect.objectContaining({ jobId: 'scim.1', confirmed: false })]);
    const back = await observeTenant(fakeGraph(with1).reader, TENANT, confirmAfter(cache, at(10)));
    expect(back.missing).toBeUndefined();
    expect(back.jobs[0]?.firstSeenAt).toEqual(at(0));
    expect((await cache.load(TENANT))?.servicePrincipals[0]?.jobsMissingSince).toBeUndefined();
  });

  it('without a cache there is nothing to compare with: a missing one is gone at once, as before', async () => {
    const o = await observeTenant(fakeGraph([{ id: 'scim', jobs: 404 }]).reader, TENANT, {
      ...options(undefined),
      discovery: { refreshMs: DAY, listed: ['scim'] },
    });
    expect(o.missing).toBeUndefined();
  });
});
