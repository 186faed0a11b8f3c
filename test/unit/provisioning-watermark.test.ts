import { describe, expect, it } from 'vitest';
import type { EventPage, EventSource } from '../../lib/observe/event-source';
import { Limiters, SlidingWindowLimiter } from '../../lib/observe/event-source';
import type { GraphReader } from '../../lib/clients/graph';
import {
  createGraphEventSource,
  graphLogProblem,
  readProvisioningLogs,
  type ReadOptions,
  type ReadPlan,
} from '../../lib/observe/provisioning-logs';
import type { HeldDeletes, ProvisioningEvent } from '../../lib/model/provisioning';
import { decodeLogState, encodeLogState, fitLogState, type LogState } from '../../lib/store/provisioning-log-store';
import { event, MIN, T0 } from '../support/events';

const DAY = 24 * 60 * MIN;

/**
 * A log that behaves like Graph's for the reader: events become visible when they "arrive", a read
 * returns the ones after `from` oldest first (ties by id), in pages; faults can stop a read mid-way.
 */
class FakeLog implements EventSource {
  readonly kind = 'graph' as const;
  visible: ProvisioningEvent[] = [];
  pageSize = 10;
  /** Throws a 429 when this page is asked for (0-based), once. */
  failAtPage?: number;
  latestCalls = 0;
  latestFails = false;
  stagedFails = false;
  pagesServed = 0;

  arrive(...events: ProvisioningEvent[]): void {
    this.visible.push(...events);
  }

  private async *paged(items: ProvisioningEvent[]): AsyncGenerator<EventPage> {
    for (let start = 0, page = 0; start < items.length || start === 0; start += this.pageSize, page++) {
      if (this.failAtPage === page) {
        this.failAtPage = undefined;
        throw Object.assign(new Error('Please retry again later.'), { statusCode: 429, code: 'TooManyRequests' });
      }
      this.pagesServed++;
      yield {
        events: items.slice(start, start + this.pageSize),
        invalid: [],
        more: start + this.pageSize < items.length,
      };
      if (items.length === 0) return;
    }
  }

  failuresSince(from: number): AsyncGenerator<EventPage> {
    const items = this.visible
      .filter((e) => e.at > from && e.status.known === 'failure')
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.paged(items);
  }

  stagedDeletes(jobId: string, since: number): AsyncGenerator<EventPage> {
    if (this.stagedFails)
      throw Object.assign(new Error('Insufficient privileges to complete the operation.'), {
        statusCode: 403,
        code: 'Authorization_RequestDenied',
      });
    const items = this.visible
      .filter((e) => e.jobId === jobId && e.action.known === 'stagedDelete' && e.at > since)
      .sort((a, b) => b.at - a.at);
    return this.paged(items);
  }

  async latestEvent(jobId: string, after: number | undefined): Promise<number | undefined> {
    this.latestCalls++;
    if (this.latestFails) throw Object.assign(new Error('Service unavailable'), { statusCode: 503 });
    const times = this.visible
      .filter((e) => e.jobId === jobId && (after === undefined || e.at > after))
      .map((e) => e.at);
    return times.length ? Math.max(...times) : undefined;
  }

  problemOf = graphLogProblem;
}

function plan(now: number, extra: Partial<ReadPlan> = {}): ReadPlan {
  return { now, windowFor: () => DAY, lookbackMs: DAY, deletionTrips: [], silenceChecks: [], ...extra };
}

/** Through the store's encoding, as a restart would see it. */
function stored(state: LogState): LogState {
  return decodeLogState(encodeLogState(structuredClone(state))!);
}

async function cycle(
  log: FakeLog,
  state: LogState | undefined,
  now: number,
  options: ReadOptions = {},
  extra: Partial<ReadPlan> = {},
) {
  const result = await readProvisioningLogs(log, state, plan(now, extra), options);
  return { ...result, saved: stored(result.state) };
}

const counted = (state: LogState) =>
  Object.values(state.digest.jobs).reduce((n, j) => n + Object.values(j.codes).reduce((m, c) => m + c.count, 0), 0);
const failures = (n: number, at: (i: number) => number) =>
  Array.from({ length: n }, (_, i) => event({ at: at(i), id: `f-${String(i).padStart(3, '0')}-${at(i)}` }));

describe('the provisioning-log watermark', () => {
  it('follows every page to the end, counts each event once, and moves the watermark to now', async () => {
    const log = new FakeLog();
    log.arrive(...failures(25, (i) => T0 - 30 * MIN + i * 1000), event({ status: 'success', at: T0 - MIN }));
    const { observation, saved } = await cycle(log, undefined, T0);
    expect(observation).toMatchObject({ complete: true, eventsRead: 25, pagesRead: 3, problems: [] });
    expect(counted(saved)).toBe(25);
    expect(saved.watermark).toBe(T0);
    expect(saved.backlog).toBe(false);
  });

  it('keeps the ids at the boundary: equal timestamps split by pages and by the page cap are counted once each', async () => {
    const log = new FakeLog();
    log.pageSize = 5;
    log.arrive(...failures(12, () => T0 - 5 * MIN));
    const first = await cycle(log, undefined, T0, { maxPages: 2 });
    expect(first.observation.eventsRead).toBe(10);
    expect(first.observation.complete).toBe(false);
    expect(first.observation.problems.map((p) => p.kind)).toEqual(['page-cap']);
    expect(first.saved).toMatchObject({ backlog: true, watermark: T0 - 5 * MIN });
    const second = await cycle(log, first.saved, T0 + MIN, { maxPages: 2 });
    expect(second.observation.eventsRead).toBe(2);
    expect(second.observation.complete).toBe(true);
    expect(counted(second.saved)).toBe(12);
    const third = await cycle(log, second.saved, T0 + 2 * MIN, { maxPages: 2 });
    expect(third.observation.eventsRead).toBe(0);
    expect(counted(third.saved)).toBe(12);
  });

  it('goes on after the last event read when the cap stops a read of late events, not after the old watermark', async () => {
    const log = new FakeLog();
    log.pageSize = 5;
    const quiet = await cycle(log, undefined, T0);
    expect(quiet.saved.watermark).toBe(T0);
    log.arrive(...failures(12, (i) => T0 - 10 * MIN + i * 30_000));
    const first = await cycle(log, quiet.saved, T0 + MIN, { maxPages: 2 });
    expect(first.saved).toMatchObject({ backlog: true, watermark: T0 - 10 * MIN + 9 * 30_000 });
    const second = await cycle(log, first.saved, T0 + 2 * MIN, { maxPages: 2 });
    expect(second.observation.eventsRead).toBe(2);
    expect(second.saved).toMatchObject({ backlog: false, watermark: T0 + 2 * MIN });
    expect(counted(second.saved)).toBe(12);
  });

  it('reads late events inside the overlap window once, and widens the overlap for events later than it', async () => {
    const log = new FakeLog();
    log.arrive(...failures(3, (i) => T0 - 10 * MIN + i * 1000));
    const first = await cycle(log, undefined, T0, { overlapMs: 15 * MIN });
    log.arrive(
      event({ id: 'late-5m', at: T0 - 5 * MIN }),
      event({ id: 'late-14m', at: T0 - 14 * MIN }),
      event({ id: 'too-late', at: T0 - 20 * MIN }),
    );
    const second = await cycle(log, first.saved, T0 + MIN, { overlapMs: 15 * MIN });
    expect(second.observation.eventsRead).toBe(2);
    expect(counted(second.saved)).toBe(5);
    // 14 minutes late (at least: the last read, at T0, did not have it): the overlap widens to half again that.
    expect(second.observation.read).toMatchObject({ overlapMs: 25 * MIN, lateness: { maxMs: 14 * MIN } });
    expect(second.observation.read?.changes).toEqual([
      'events arrived up to 14 min late: each read now starts 25 min before the last (was 15 min)',
    ]);
    // The wider overlap finds the one 20 minutes late; the overlap window is read again every cycle, yet counted once.
    const third = await cycle(log, second.saved, T0 + 2 * MIN, { overlapMs: 15 * MIN });
    expect(third.observation.eventsRead).toBe(1);
    expect(counted(third.saved)).toBe(6);
    const fourth = await cycle(log, third.saved, T0 + 3 * MIN, { overlapMs: 15 * MIN });
    expect(fourth.observation.eventsRead).toBe(0);
    expect(counted(fourth.saved)).toBe(6);
  });

  it('counts nothing twice when a cycle dies between the read and the write', async () => {
    const log = new FakeLog();
    log.arrive(...failures(8, (i) => T0 - 20 * MIN + i * MIN));
    const before = await cycle(log, undefined, T0);
    log.arrive(...failures(4, (i) => T0 + 10_000 + i * 1000));
    const lost = await cycle(log, before.saved, T0 + MIN); // read, judged... and never written
    expect(counted(lost.saved)).toBe(12);
    const again = await cycle(log, before.saved, T0 + 2 * MIN); // the next cycle starts from the last write
    expect(again.observation.eventsRead).toBe(4);
    expect(counted(again.saved)).toBe(12);
    expect(again.saved.digest).toEqual(lost.saved.digest);
  });

  it('keeps what was read before a read fails, and goes on from there', async () => {
    const log = new FakeLog();
    log.pageSize = 4;
    log.arrive(...failures(10, (i) => T0 - 10 * MIN + i * 1000));
    log.failAtPage = 1;
    const broken = await cycle(log, undefined, T0);
    expect(broken.observation.complete).toBe(false);
    expect(broken.observation.problems).toEqual([
      expect.objectContaining({ kind: 'throttled', status: 429, operation: 'provisioning logs' }),
    ]);
    expect(counted(broken.saved)).toBe(4);
    expect(broken.saved.watermark).toBe(T0 - 10 * MIN + 3000);
    const healed = await cycle(log, broken.saved, T0 + MIN);
    expect(healed.observation.complete).toBe(true);
    expect(counted(healed.saved)).toBe(10);
  });

  it('looks back one window on its first read, and survives a restart (the store round trip) without recounting', async () => {
    const log = new FakeLog();
    log.arrive(event({ id: 'ancient', at: T0 - 2 * DAY }), ...failures(3, (i) => T0 - 60 * MIN + i * MIN));
    const first = await cycle(log, undefined, T0);
    expect(first.observation.eventsRead).toBe(3);
    expect(first.saved.seen).toHaveLength(3); // kept for the widest overlap (2 h), where late events are looked for...
    log.arrive(...failures(2, (i) => T0 - MIN + i * 1000));
    const second = await cycle(log, first.saved, T0 + MIN);
    expect(second.saved.seen.length).toBe(5); // ...with the new ones, and a restart remembers them
    const restarted = await cycle(log, stored(second.saved), T0 + 2 * MIN);
    expect(restarted.observation.eventsRead).toBe(0);
    expect(counted(restarted.saved)).toBe(5);
  });

  it('starts over when the source changes (Graph and Log Analytics ids are not comparable)', async () => {
    const log = new FakeLog();
    log.arrive(...failures(2, (i) => T0 - MIN + i));
    const first = await cycle(log, undefined, T0);
    const laState: LogState = { ...first.saved, source: 'log-analytics' };
    const again = await cycle(log, laState, T0 + MIN);
    expect(again.observation.eventsRead).toBe(2);
    expect(again.saved.source).toBe('graph');
  });

  it('keeps the state within one table row, dropping the oldest overlap ids first', () => {
    const state: LogState = {
      version: 1,
      source: 'graph',
      backlog: false,
      watermark: T0,
      digest: { jobs: {} },
      activity: {},
      seen: [],
    };
    for (let i = 0; i < 150_000; i++) state.seen.push([T0 - i, Math.random().toString(36).slice(2, 14)]);
    const { chunks, dropped } = fitLogState(state);
    expect(chunks.length).toBeLessThanOrEqual(14);
    expect(dropped[0]).toMatch(/overlap ids/);
    expect(Math.min(...state.seen.map((s) => s[0]))).toBeGreaterThan(T0 - 150_000);
  });
});

describe('held deletes and silence', () => {
  it('counts the held deletes of the latest cycle once per object and names a spread of them', async () => {
    const log = new FakeLog();
    const staged = (cycleId: string, at: number, names: string[]) =>
      names.map((name, i) =>
        event({ action: 'stagedDelete', status: 'skipped', cycleId, at: at + i, name, job: 'Azure2Azure.fab' }),
      );
    const names = Array.from({ length: 30 }, (_, i) => `Guest ${String(i).padStart(2, '0')}`);
    log.arrive(
      ...staged('old', T0 - 3 * 60 * MIN, names.slice(0, 5)),
      ...staged('new', T0 - 10 * MIN, names),
      ...staged('new', T0 - 9 * MIN, names.slice(0, 3)),
    );
    const { observation } = await cycle(
      log,
      undefined,
      T0,
      { heldSample: 5 },
      { deletionTrips: [{ jobId: 'Azure2Azure.fab', since: T0 - DAY }] },
    );
    const held = observation.heldDeletes.get('Azure2Azure.fab') as HeldDeletes;
    expect(held).toMatchObject({ count: 30, cycleId: 'new', capped: false });
    expect(held.sample.map((o) => o.displayName)).toEqual(['Guest 00', 'Guest 06', 'Guest 12', 'Guest 18', 'Guest 24']);
    expect(held.sample[0]?.upn).toBe('guest.00@contoso.example');
  });

  it('says when the held deletes could not all be read, or not at all', async () => {
    const log = new FakeLog();
    log.pageSize = 10;
    log.arrive(
      ...Array.from({ length: 25 }, (_, i) =>
        event({ action: 'stagedDelete', status: 'skipped', cycleId: 'c', at: T0 - i, job: 'j', name: `N${i}` }),
      ),
    );
    const capped = await cycle(
      log,
      undefined,
      T0,
      { heldDeletesMaxPages: 2 },
      { deletionTrips: [{ jobId: 'j', since: T0 - DAY }] },
    );
    expect(capped.observation.heldDeletes.get('j')).toMatchObject({ count: 20, capped: true });
    log.stagedFails = true;
    const failed = await cycle(log, undefined, T0, {}, { deletionTrips: [{ jobId: 'j', since: T0 - DAY }] });
    expect(failed.observation.heldDeletes.get('j')).toMatchObject({
      kind: 'access',
      operation: 'the staged deletes of job j',
      missing: 'the application permission AuditLog.Read.All',
    });
  });

  it("asks for a watched job's newest event only when it could be silent soon, and holds it when that fails", async () => {
    const log = new FakeLog();
    log.arrive(event({ job: 'j', status: 'success', at: T0 - 3 * 60 * MIN }));
    const silence = { silenceChecks: [{ jobId: 'j', silentForMs: 6 * 60 * MIN }] };
    const first = await cycle(log, undefined, T0, {}, silence);
    expect(first.observation.activity.get('j')).toEqual({ lastEventAt: T0 - 3 * 60 * MIN, watchingSince: T0 });
    expect(log.latestCalls).toBe(1);
    log.arrive(event({ job: 'j', status: 'success', at: T0 - MIN }));
    const second = await cycle(log, first.saved, T0 + MIN, {}, silence);
    expect(log.latestCalls).toBe(2); // 3 h old is half the 6 h limit: worth asking
    const third = await cycle(log, second.saved, T0 + 2 * MIN, {}, silence);
    expect(log.latestCalls).toBe(2); // a minute old: no need
    expect(third.observation.activity.get('j')?.lastEventAt).toBe(T0 - MIN);
    log.latestFails = true;
    const failed = await cycle(
      log,
      { ...third.saved, activity: { j: { watchingSince: T0 } } },
      T0 + 3 * MIN,
      {},
      silence,
    );
    expect(failed.observation.activityUnknown.has('j')).toBe(true);
    expect(failed.observation.activity.has('j')).toBe(false);
    // A job no longer watched is forgotten.
    const unwatched = await cycle(log, third.saved, T0 + 4 * MIN);
    expect(unwatched.saved.activity).toEqual({});
  });
});

describe('graphLogProblem', () => {
  const graphError = (statusCode: number, code: string, message = 'm') =>
    Object.assign(new Error(message), { statusCode, code, body: JSON.stringify({ error: { code, message } }) });

  it('names the missing permission, the missing licence, throttling and outages', () => {
    expect(
      graphLogProblem(
        graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
        'provisioning logs',
      ),
    ).toMatchObject({
      kind: 'access',
      missing: 'the application permission AuditLog.Read.All',
    });
    expect(
      graphLogProblem(graphError(403, 'Authentication_RequestFromNonPremiumTenantOrB2CTenant'), 'provisioning logs'),
    ).toMatchObject({
      kind: 'licence',
      missing: 'a Microsoft Entra ID P1 or P2 licence in the tenant',
    });
    const throttled = Object.assign(graphError(429, 'TooManyRequests'), {
      headers: new Headers({ 'Retry-After': '7' }),
    });
    expect(graphLogProblem(throttled, 'x')).toMatchObject({ kind: 'throttled', retryAfterSeconds: 7 });
    expect(graphLogProblem(graphError(503, 'serviceNotAvailable'), 'x').kind).toBe('transient');
    expect(graphLogProblem(new Error('socket hang up'), 'x').kind).toBe('transient');
    expect(graphLogProblem(Object.assign(new Error('aborted'), { name: 'AbortError' }), 'x').kind).toBe('timeout');
  });
});

describe('SlidingWindowLimiter', () => {
  it('lets 5 requests through per 10 s and waits for the oldest to leave the window', async () => {
    let now = 0;
    const waits: number[] = [];
    const limiter = new SlidingWindowLimiter(
      5,
      10_000,
      async (ms) => {
        waits.push(ms);
        now += ms;
      },
      () => now,
    );
    for (let i = 0; i < 5; i++) await limiter.take();
    expect(waits).toEqual([]);
    now = 2000;
    await limiter.take();
    expect(waits).toEqual([8001]);
    expect(now).toBe(10_001);
  });

  it("keeps a tenant's limit and the app's limit across tenants at once", async () => {
    let now = 0;
    const sleep = async (ms: number) => {
      now += ms;
    };
    const app = new SlidingWindowLimiter(6, 10_000, sleep, () => now);
    const tenantA = new Limiters(new SlidingWindowLimiter(5, 10_000, sleep, () => now), app);
    const tenantB = new Limiters(new SlidingWindowLimiter(5, 10_000, sleep, () => now), app);
    for (let i = 0; i < 4; i++) await tenantA.take();
    await tenantB.take();
    await tenantB.take();
    expect(now).toBe(0);
    await tenantB.take(); // the app's seventh request within 10 s waits
    expect(now).toBe(10_001);
  });
});

describe('the Graph source where Graph may differ from its docs', () => {
  const DAY_MS = 24 * 60 * MIN;
  /** Graph as the Graph client shows it: a 400 is thrown with its body; a page of raw events otherwise. */
  function graph(refuse: (url: string) => string | undefined, value: unknown[] = []) {
    const urls: string[] = [];
    const reader: GraphReader = {
      async get(url) {
        urls.push(url);
        const message = refuse(url);
        if (message)
          throw Object.assign(new Error(message), {
            statusCode: 400,
            code: 'BadRequest',
            body: { error: { code: 'BadRequest', message } },
          });
        return { value };
      },
      batch: async () => [],
    };
    return { reader, urls };
  }
  const read = (reader: GraphReader, state: LogState | undefined, now: number) =>
    readProvisioningLogs(
      createGraphEventSource(reader, { limiter: { take: async () => undefined } }),
      state,
      plan(now),
    );

  it('keeps a refused status filter for a day, tries it again then, and keeps the fallback while Graph still refuses', async () => {
    const refusing = graph((url) => (url.includes('provisioningStatusInfo') ? 'Invalid filter clause' : undefined));
    const first = await read(refusing.reader, undefined, T0);
    expect(first.observation.read).toMatchObject({
      filter: 'time-only',
      filterFallback: { reason: 'refused', since: T0 },
    });
    expect(first.state.query).toEqual({ statusFilter: { reason: 'refused', since: T0, retryAt: T0 + DAY_MS } });
    refusing.urls.length = 0;
    await read(refusing.reader, first.state, T0 + DAY_MS - MIN);
    expect(refusing.urls.some((u) => u.includes('provisioningStatusInfo'))).toBe(false);
    const retried = await read(refusing.reader, first.state, T0 + DAY_MS);
    expect(refusing.urls.filter((u) => u.includes('provisioningStatusInfo'))).toHaveLength(1);
    // Still refused: the fallback stays, since when it began, and the next try is a day on.
    expect(retried.state.query).toEqual({ statusFilter: { reason: 'refused', since: T0, retryAt: T0 + 2 * DAY_MS } });
    expect(retried.observation.read?.changes).toEqual([]);
    const accepting = graph(() => undefined);
    const healed = await read(accepting.reader, retried.state, T0 + 2 * DAY_MS);
    expect(healed.state.query).toBeUndefined();
    expect(healed.observation.read?.filter).toBe('server');
  });

  it("drops only $top when Graph's refusal names it, and $top on a job's newest-event read too", async () => {
    const refusing = graph((url) => (url.includes('$top') ? "Query option 'Top' is not allowed." : undefined));
    const { state, observation } = await readProvisioningLogs(
      createGraphEventSource(refusing.reader, { limiter: { take: async () => undefined } }),
      undefined,
      plan(T0, { silenceChecks: [{ jobId: 'job-1', silentForMs: DAY_MS }] }),
    );
    expect(refusing.urls.filter((u) => u.includes('$top')).length).toBe(1); // one refusal, then remembered
    expect(
      refusing.urls
        .filter((u) => !u.includes('$top'))
        .every((u) => u.includes('provisioningStatusInfo') || u.includes("jobId eq 'job-1'")),
    ).toBe(true);
    expect(state.query).toEqual({ top: { since: T0, retryAt: T0 + DAY_MS } });
    expect(observation.read).toMatchObject({ pageSize: 'default', filter: 'server' });
    expect(observation.activityUnknown.size).toBe(0);
  });

  it('lets a 400 to every shape of the query stand as the problem it is, and remembers no fallback', async () => {
    const refusing = graph(() => 'Invalid filter clause');
    const { state, observation } = await read(refusing.reader, undefined, T0);
    expect(refusing.urls).toHaveLength(4); // as asked, without the status clause, without $top, without both
    expect(observation.problems).toEqual([
      expect.objectContaining({ kind: 'invalid-response', status: 400, operation: 'provisioning logs' }),
    ]);
    expect(state.query).toBeUndefined();
    expect(observation.read?.filter).toBe('server');
  });
});
