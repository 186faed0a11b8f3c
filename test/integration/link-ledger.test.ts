import { TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { LedgerConflict, LinkLedger } from '../../lib/store/link-ledger';

/**
 * The link ledger on real Table Storage (Azurite): claims race from several "instances" (each its
 * own TableClient, as each Functions instance has), and exactly one wins; an update from a stale
 * read loses with LedgerConflict; the row survives until its keepUntil, then the sweep takes it.
 */

const NOW = new Date('2026-11-27T03:12:00Z');
const HOUR = 3600_000;

function instances(count: number): LinkLedger[] {
  const table = `ledger${randomUUID().replace(/-/g, '')}`;
  return Array.from(
    { length: count },
    () =>
      new LinkLedger(
        TableClient.fromConnectionString(inject('storageConnectionString'), table, { allowInsecureConnection: true }),
      ),
  );
}

const use = (record: unknown) => ({
  at: NOW,
  expiresAt: new Date(NOW.getTime() + HOUR),
  keepUntil: new Date(NOW.getTime() + 2 * HOUR),
  record,
});

describe('the link ledger on Table Storage', () => {
  it('lets exactly one of twenty simultaneous claims from four instances win', async () => {
    const ledgers = instances(4);
    await ledgers[0]!.get('decide', 'warm-up');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) => ledgers[n % 4]!.claim('decide', 'link-race', use({ n }))),
    );
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    const winner = results.find((r) => r.claimed)!.use.record;
    for (const r of results) expect(r.use.record).toEqual(winner);
  });

  it('lets one of two updates from the same read through; the other gets LedgerConflict', async () => {
    const [a, b] = instances(2);
    const { use: claimed } = await a!.claim('decide', 'link-update', use({ step: 'started' }));
    const readByB = (await b!.get('decide', 'link-update'))!;
    const outcomes = await Promise.allSettled([
      a!.update(claimed, { step: 'done by a' }),
      b!.update(readByB, { step: 'done by b' }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(LedgerConflict);
    const final = (await a!.get<{ step: string }>('decide', 'link-update'))!.record.step;
    expect(['done by a', 'done by b']).toContain(final);
  });

  it('keeps a use until its time, then sweeps it; notes too', async () => {
    const [ledger] = instances(1);
    await ledger!.claim('snooze', 'link-old', use({}));
    await ledger!.note('decide', NOW, new Date(NOW.getTime() + HOUR), { refusal: 'csrf' });
    expect(await ledger!.sweep(['snooze', 'decide'], new Date(NOW.getTime() + HOUR))).toBe(0);
    expect(await ledger!.sweep(['snooze', 'decide'], new Date(NOW.getTime() + 3 * HOUR))).toBe(2);
    expect(await ledger!.get('snooze', 'link-old')).toBeUndefined();
    expect(await ledger!.notes('decide')).toEqual([]);
  });
});
