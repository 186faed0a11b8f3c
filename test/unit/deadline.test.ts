import { describe, expect, it } from 'vitest';
import { beforeDeadline, Deadline, seconds, sleep, TimeoutError } from '../../lib/util/deadline';
import { boundedRetryOptions, PageLimitExceeded, readAllPages, MalformedGraphResponse } from '../../lib/clients/graph';
import { boundedCredential } from '../../lib/clients/timeouts';

describe('deadlines', () => {
  it('a shorter deadline within a longer one fires with either, and never outlives it', () => {
    const outer = Deadline.in(1000);
    const inner = outer.within(50);
    expect(inner.remainingMs()).toBeLessThanOrEqual(50);
    expect(outer.within(5000)).toBe(outer);
    expect(outer.before(900).remainingMs()).toBeLessThanOrEqual(100);
    expect(outer.before(5000).remainingMs()).toBe(0);
    expect(Deadline.never().remainingMs()).toBe(Number.POSITIVE_INFINITY);
    expect(Deadline.never().expired()).toBe(false);
  });

  it('gives up on work that does not finish in time, with a TimeoutError naming it and its length', async () => {
    const never = new Promise<string>(() => undefined);
    const error = await beforeDeadline(never, Deadline.in(30), 'reading tenant x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('reading tenant x timed out after 0.03 s');
    await expect(beforeDeadline(Promise.resolve('done'), Deadline.in(1000), 'x')).resolves.toBe('done');
    await expect(beforeDeadline(Promise.reject(new Error('own')), Deadline.in(1000), 'x')).rejects.toThrow('own');
    await expect(beforeDeadline(Promise.resolve(1), Deadline.never(), 'x')).resolves.toBe(1);
  });

  it('a deadline shared by many waits and calls fires for each of them, with no leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const shared = Deadline.in(40);
      let aborted = 0;
      for (let i = 0; i < 30; i++) shared.signal.addEventListener('abort', () => aborted++);
      const fired = new Promise((resolve) => shared.signal.addEventListener('abort', resolve));
      const waits = Array.from({ length: 30 }, (_, i) =>
        beforeDeadline(new Promise<never>(() => undefined), shared, `wait ${i}`).catch((e: unknown) => e),
      );
      const outcomes = await Promise.all(waits);
      expect(outcomes.every((e) => e instanceof TimeoutError)).toBe(true);
      await fired;
      expect(aborted).toBe(30);
      // A nearer deadline within a far one passes on its own time, the far one still running.
      const far = Deadline.in(60_000);
      const near = far.within(20);
      await new Promise((resolve) => near.signal.addEventListener('abort', resolve));
      expect(near.expired()).toBe(true);
      expect(far.signal.aborted).toBe(false);
      await new Promise((resolve) => setImmediate(resolve)); // the warning, had there been one, is emitted by now
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('says seconds the way people read them', () => {
    expect(seconds(2500)).toBe('2.5');
    expect(seconds(30_000)).toBe('30');
    expect(seconds(240_000)).toBe('240');
    expect(seconds(1000)).toBe('1');
    expect(seconds(250)).toBe('0.25');
    expect(seconds(1040)).toBe('1');
  });

  it('sleeps until woken by a signal', async () => {
    const started = performance.now();
    await sleep(10_000, AbortSignal.timeout(20));
    expect(performance.now() - started).toBeLessThan(2000);
    await sleep(0);
  });

  it('a credential whose token never comes is cut off at the call limit', async () => {
    const hung = { getToken: () => new Promise<null>(() => undefined) };
    const bounded = boundedCredential(hung, { deadline: () => Deadline.in(10_000), callMs: 30 });
    await expect(bounded.getToken('scope/.default', { tenantId: 't1' })).rejects.toThrow(
      'the token request for tenant t1 timed out after 0.03 s',
    );
  });
});

describe('Graph retries and paging within the budget', () => {
  const response = (retryAfter?: string) =>
    ({ headers: new Headers(retryAfter === undefined ? {} : { 'Retry-After': retryAfter }) }) as unknown as Response;
  const shouldRetry = (retryAfter: string | undefined, remainingMs: number, maxRetryAfterMs = 1000) =>
    boundedRetryOptions({ deadline: () => Deadline.in(remainingMs), callMs: 100, maxRetryAfterMs }).shouldRetry(
      3,
      0,
      '',
      {},
      response(retryAfter),
    );

  it('waits for a Retry-After only when it is short enough and the retry still ends before the deadline', () => {
    expect(shouldRetry('0', 5000)).toBe(true);
    expect(shouldRetry('1', 5000)).toBe(true);
    expect(shouldRetry('2', 5000)).toBe(false); // longer than the longest wait allowed
    expect(shouldRetry('1', 1050)).toBe(false); // the wait and one call do not fit
    expect(shouldRetry('180', 600_000, 200_000)).toBe(true); // the client's own cap, when allowed
    expect(shouldRetry(new Date(Date.now() + 60_000).toUTCString(), 600_000)).toBe(false);
    expect(shouldRetry(undefined, 600_000, 10_000)).toBe(true); // back-off without Retry-After
  });

  it('follows @odata.nextLink to the end, and names a link that comes back or a list with no value', async () => {
    const pages: Record<string, unknown> = {
      first: { value: [1, 2], '@odata.nextLink': 'second' },
      second: { value: [3] },
    };
    const reader = { get: async (url: string) => pages[url], batch: async () => [] };
    await expect(readAllPages(reader, 'first', 'things')).resolves.toEqual([1, 2, 3]);
    pages.second = { value: [3], '@odata.nextLink': 'first' };
    await expect(readAllPages(reader, 'first', 'things')).rejects.toThrow(PageLimitExceeded);
    await expect(readAllPages(reader, 'first', 'things')).rejects.toThrow(/same @odata.nextLink came back twice/);
    pages.first = { items: [] };
    await expect(readAllPages(reader, 'first', 'things')).rejects.toThrow(MalformedGraphResponse);
  });
});
