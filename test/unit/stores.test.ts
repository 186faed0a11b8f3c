import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../lib/evaluate/evaluate';
import type { AlertLabels, AlertRecord, NotificationItem, PlannedMessage } from '../../lib/model';
import { AlertStore, ConcurrentUpdateError } from '../../lib/store/alert-store';
import { itemRows } from '../../lib/store/outbox-store';
import { stateStores } from '../../lib/store/state-table';
import { PROPERTY_BUDGET_CHARS, StorageError } from '../../lib/store/table';
import { MemoryTable, unreachable } from '../support/memory-table';

const TENANT = 'aaaaaaaa-0000-0000-0000-000000000001';

function alertRecord(i: number, annotations: AlertRecord['annotations'] = {}): AlertRecord {
  const labels: AlertLabels = {
    tenantId: TENANT,
    servicePrincipalId: `sp-${i}`,
    jobId: `Azure2Azure.job.${i}`,
    condition: 'quarantine',
  };
  return {
    fingerprint: fingerprintOf(labels),
    labels,
    severity: 'critical',
    state: 'firing',
    annotations,
    startsAt: '2026-11-27T03:00:00.000Z',
    notified: {},
  };
}

function items(n: number): NotificationItem[] {
  return Array.from({ length: n }, (_, i) => {
    const fp = alertRecord(i).fingerprint;
    return {
      key: `${fp}:root:firing:2026-11-27T03:00:00.000Z`,
      fingerprint: fp,
      routeId: 'root',
      kind: 'firing',
      startsAt: '2026-11-27T03:00:00.000Z',
      material: `EncounteredQuarantineException|AzureDirectoryB2BManagementPolicyCheckFailure-${i}`,
    };
  });
}

const email = (key: string, n: number): PlannedMessage => ({
  key,
  recipients: { to: ['ops@contoso.com'] },
  items: items(n),
  plannedAt: '2026-11-27T03:00:05.000Z',
  failedAttempts: 0,
});

describe('the outbox keeps any email in rows that fit', () => {
  it('a 1,000-item email (a mass incident before it is split) is written in rows under the property limit, read back whole, and removed at once', async () => {
    const table = new MemoryTable('state');
    const state = stateStores(table.asClient());
    expect(await state.outbox.plan(email('a'.repeat(40), 1000))).toBe(true);
    expect(table.stats.largestPropertyChars).toBeLessThanOrEqual(PROPERTY_BUDGET_CHARS);
    expect(table.allRows().length).toBeGreaterThan(2);
    const [back] = await state.outbox.list();
    expect(back).toEqual(email('a'.repeat(40), 1000));
    await state.outbox.done('a'.repeat(40));
    expect(table.allRows()).toEqual([]);
  });

  it('planning the same email twice writes it once; an update keeps its items and records the send in flight', async () => {
    const table = new MemoryTable('state');
    const state = stateStores(table.asClient());
    const e = email('b'.repeat(40), 3);
    expect(await state.outbox.plan(e)).toBe(true);
    expect(await state.outbox.plan(e)).toBe(false);
    await state.outbox.update({
      ...e,
      failedAttempts: 1,
      attempt: { operationId: 'op-1', startedAt: '2026-11-27T03:01:00.000Z' },
    });
    expect(await state.outbox.list()).toEqual([
      { ...e, failedAttempts: 1, attempt: { operationId: 'op-1', startedAt: '2026-11-27T03:01:00.000Z' } },
    ]);
    await state.outbox.update({ ...e, failedAttempts: 1, attempt: undefined });
    expect((await state.outbox.list())[0]?.attempt).toBeUndefined();
  });

  it('reads an email planned by an earlier version (one row with the whole email as its body)', async () => {
    const table = new MemoryTable('state');
    const e = email('c'.repeat(40), 2);
    await table.createEntity({ partitionKey: 'outbox', rowKey: e.key, body: JSON.stringify(e) });
    const state = stateStores(table.asClient());
    expect(await state.outbox.list()).toEqual([e]);
    await state.outbox.done(e.key);
    expect(table.allRows()).toEqual([]);
  });

  it('splits items into rows by size, never leaving a row empty', () => {
    const rows = itemRows(items(1000), 10_000);
    expect(rows.every((r) => r.length > 0 && JSON.stringify(r).length <= 10_000)).toBe(true);
    expect(rows.flat()).toEqual(items(1000));
    expect(itemRows([])).toEqual([[]]);
  });

  it('lists emails oldest first, parts in order', async () => {
    const state = stateStores(new MemoryTable('state').asClient());
    await state.outbox.plan({ ...email('e'.repeat(40), 1), part: { index: 2, total: 2 } });
    await state.outbox.plan({ ...email('f'.repeat(40), 1), part: { index: 1, total: 2 } });
    await state.outbox.plan({ ...email('d'.repeat(40), 1), plannedAt: '2026-11-27T03:00:00.000Z' });
    expect((await state.outbox.list()).map((e) => e.key[0])).toEqual(['d', 'f', 'e']);
  });
});

describe('the send budget shared by instances', () => {
  it('allows perMinute a minute and perHour an hour, then says no', async () => {
    const state = stateStores(new MemoryTable('state').asClient());
    const budget = { perMinute: 2, perHour: 3 };
    const at = (s: number) => new Date(Date.parse('2026-11-27T12:00:00Z') + s * 1000);
    expect(await state.sendBudget.take(at(0), budget)).toBe(true);
    expect(await state.sendBudget.take(at(1), budget)).toBe(true);
    expect(await state.sendBudget.take(at(2), budget)).toBe(false); // third in the minute
    expect(await state.sendBudget.take(at(61), budget)).toBe(true); // a new minute
    expect(await state.sendBudget.take(at(125), budget)).toBe(false); // fourth in the hour
    expect(await state.sendBudget.take(at(3700), budget)).toBe(true); // the hour has passed
  });

  it('an ACS 429 holds every instance until its Retry-After has passed, whatever the budget left', async () => {
    const table = new MemoryTable('state');
    const [one, other] = [stateStores(table.asClient()).sendBudget, stateStores(table.asClient()).sendBudget];
    const budget = { perMinute: 5, perHour: 10 };
    const at = (s: number) => new Date(Date.parse('2026-11-27T12:00:00Z') + s * 1000);
    expect(await one.take(at(0), budget)).toBe(true);
    await one.hold(at(120));
    await other.hold(at(30)); // a shorter hold never shortens a longer one
    expect(await other.heldUntil(at(1))).toEqual(at(120));
    expect(await other.take(at(1), budget)).toBe(false);
    expect(await one.take(at(119), budget)).toBe(false);
    expect(await other.heldUntil(at(120))).toBeUndefined();
    expect(await other.take(at(120), budget)).toBe(true);
    expect(await one.take(at(121), budget)).toBe(true);
  });

  it('two instances racing for the last send: exactly one gets it', async () => {
    const table = new MemoryTable('state');
    const budget = { perMinute: 30, perHour: 5 };
    const now = new Date('2026-11-27T12:00:00Z');
    const first = stateStores(table.asClient());
    for (let i = 0; i < 4; i++) expect(await first.sendBudget.take(now, budget)).toBe(true);
    const racers = [stateStores(table.asClient()), stateStores(table.asClient()), stateStores(table.asClient())];
    const results = await Promise.all(racers.map((s) => s.sendBudget.take(now, budget)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await first.sendBudget.take(now, budget)).toBe(false);
  });

  it('keeps its row small whatever the budget: 5,000 sends in an hour', async () => {
    const table = new MemoryTable('state');
    const state = stateStores(table.asClient());
    const start = Date.parse('2026-11-27T12:00:00Z');
    for (let i = 0; i < 5000; i++)
      await state.sendBudget.take(new Date(start + i * 700), { perMinute: 1000, perHour: 100_000 });
    expect(table.stats.largestPropertyChars).toBeLessThan(PROPERTY_BUDGET_CHARS);
  });
});

describe('the planning lease', () => {
  const now = new Date('2026-11-27T12:00:00Z');
  const later = (s: number) => new Date(now.getTime() + s * 1000);

  it('one holder at a time; renewed by its holder; free once past its time or released', async () => {
    const table = new MemoryTable('state');
    const a = stateStores(table.asClient());
    const b = stateStores(table.asClient());
    expect(await a.lease.take('a', now, later(240))).toEqual({ taken: true });
    expect(await b.lease.take('b', later(10), later(250))).toEqual({
      taken: false,
      by: { holder: 'a', until: later(240).toISOString() },
    });
    expect(await a.lease.take('a', later(20), later(260))).toEqual({ taken: true });
    expect((await b.lease.take('b', later(261), later(500))).taken).toBe(true); // a's time is up
    await a.lease.release('a'); // no longer a's: nothing happens
    expect((await a.lease.take('a', later(262), later(300))).taken).toBe(false);
    await b.lease.release('b');
    expect((await a.lease.take('a', later(263), later(300))).taken).toBe(true);
  });

  it('three instances at once: one takes it', async () => {
    const table = new MemoryTable('state');
    const stores = ['a', 'b', 'c'].map(() => stateStores(table.asClient()));
    const results = await Promise.all(stores.map((s, i) => s.lease.take(String(i), now, later(240))));
    expect(results.filter((r) => r.taken)).toHaveLength(1);
  });
});

describe('alert rows are bounded', () => {
  it('a 40,000-character error message is stored cut with a marker, and the record returned is what was stored', async () => {
    const store = new AlertStore(new MemoryTable('alerts').asClient());
    const saved = await store.save(alertRecord(1, { errorMessage: 'x'.repeat(40_000), reason: 'Unknown' }));
    expect(String(saved.annotations.errorMessage)).toMatch(/^x+… \[truncated: 40000 characters\]$/);
    expect(String(saved.annotations.errorMessage).length).toBeLessThanOrEqual(2000);
    const [back] = (await store.loadAll()).values();
    expect(back?.annotations).toEqual(saved.annotations);
  });

  it('many long annotations are cut shorter until the row fits', async () => {
    const table = new MemoryTable('alerts');
    const store = new AlertStore(table.asClient());
    const annotations = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, 'y'.repeat(5000)]));
    await store.save(alertRecord(2, annotations));
    expect(table.stats.largestPropertyChars).toBeLessThanOrEqual(PROPERTY_BUDGET_CHARS);
  });

  it('saves many alerts in transactions; one that lost a race is reported alone, the rest are saved', async () => {
    const table = new MemoryTable('alerts');
    const store = new AlertStore(table.asClient());
    const saved = (await store.saveMany(Array.from({ length: 150 }, (_, i) => alertRecord(i)))) as AlertRecord[];
    expect(saved.every((r) => !(r instanceof Error) && r.etag)).toBe(true);
    // Someone else moves alert 7 after we read it.
    await store.save({ ...(saved[7] as AlertRecord), state: 'resolved' });
    const again = await store.saveMany(saved.map((r) => ({ ...r, annotations: { seen: 2 } })));
    expect(again.filter((r) => r instanceof ConcurrentUpdateError)).toHaveLength(1);
    expect(again[7]).toBeInstanceOf(ConcurrentUpdateError);
    expect(again.filter((r) => !(r instanceof Error))).toHaveLength(149);
  });

  it('an unreachable Table Storage is a StorageError that names it', async () => {
    const table = new MemoryTable('alerts');
    table.failWith(() => unreachable());
    await expect(new AlertStore(table.asClient()).loadAll()).rejects.toThrow(StorageError);
    await expect(new AlertStore(table.asClient()).loadAll()).rejects.toThrow(/cannot be reached \(ECONNREFUSED/);
  });
});
