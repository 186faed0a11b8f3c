import { TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { DiscoveryStore, type KnownServicePrincipal } from '../../lib/store/discovery-store';

/**
 * The discovery cache against Azurite with the real SDK: a tenant's snapshot in its sweep row (one
 * point read a cycle), the rows layout of before moved into it, a snapshot too large for a row
 * kept as rows, and two instances changing one snapshot at once.
 */

const TENANT = '5d15c0e5-0000-4000-8000-0000000000aa';
const SWEPT_AT = '2026-12-07T06:00:00.000Z';
/** The tenant's one row, its key naming the tenant (Azurite finds rows by row key first). */
const SNAPSHOT_ROW = `~sweep_${TENANT}`;

function newTable(): TableClient {
  return TableClient.fromConnectionString(
    inject('storageConnectionString'),
    `discostore${randomUUID().replace(/-/g, '').slice(0, 12)}`,
    { allowInsecureConnection: true },
  );
}

function sp(n: number, name = `App ${n}`): KnownServicePrincipal {
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return {
    id,
    appId: `11111111-0000-4000-8000-${String(n).padStart(12, '0')}`,
    displayName: name,
    applicationTemplateId: 'scim',
    jobsFirstSeen: { [`scim.${n}`]: SWEPT_AT },
  };
}

/** Counts the store's requests by kind: a point read names its row in the path, a query does not. */
function counted(table: TableClient) {
  const calls = { pointReads: 0, queries: 0 };
  const get = table.getEntity.bind(table);
  const list = table.listEntities.bind(table);
  table.getEntity = ((...args: Parameters<TableClient['getEntity']>) => {
    calls.pointReads++;
    return get(...args);
  }) as TableClient['getEntity'];
  table.listEntities = ((...args: Parameters<TableClient['listEntities']>) => {
    calls.queries++;
    return list(...args);
  }) as TableClient['listEntities'];
  return calls;
}

async function rowKeys(table: TableClient): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of table.listEntities({ queryOptions: { select: ['RowKey'] } })) keys.push(String(e.rowKey));
  return keys.sort();
}

describe('the discovery cache keeps a tenant in one row (lib/store/discovery-store.ts)', () => {
  it('reads a tenant back with one point read and no query', async () => {
    const table = newTable();
    const store = new DiscoveryStore(table);
    const servicePrincipals = [sp(1), { ...sp(2), missingSince: SWEPT_AT, jobsMissingSince: { 'scim.2': SWEPT_AT } }];
    await store.saveSweep(TENANT, { sweptAt: SWEPT_AT, servicePrincipals });
    expect(await rowKeys(table)).toEqual([SNAPSHOT_ROW]);
    const reader = new DiscoveryStore(table);
    const calls = counted(table);
    expect(await reader.load(TENANT)).toEqual({ sweptAt: SWEPT_AT, servicePrincipals });
    expect(calls).toEqual({ pointReads: 1, queries: 0 });
    // A tenant never swept: no snapshot row, and no sweep row of the rows layout either.
    expect(await reader.load('a-tenant-never-swept')).toBeUndefined();
    expect(calls).toEqual({ pointReads: 3, queries: 0 });
  });

  it('reads a tenant cached as rows before, and moves it into one row at its next sweep', async () => {
    const table = newTable();
    await table.createTable();
    // The layout the versions before wrote: a row per service principal, the sweep row without a snapshot.
    for (const n of [1, 2])
      await table.upsertEntity({
        partitionKey: TENANT,
        rowKey: sp(n).id,
        spId: sp(n).id,
        appId: sp(n).appId,
        displayName: sp(n).displayName,
        applicationTemplateId: 'scim',
        jobsFirstSeen: JSON.stringify(sp(n).jobsFirstSeen),
      });
    await table.upsertEntity({ partitionKey: TENANT, rowKey: '~sweep', sweptAt: SWEPT_AT, count: 2 });
    const store = new DiscoveryStore(table);
    expect(await store.load(TENANT)).toEqual({ sweptAt: SWEPT_AT, servicePrincipals: [sp(1), sp(2)] });
    const later = '2026-12-08T06:00:00.000Z';
    await store.saveSweep(TENANT, { sweptAt: later, servicePrincipals: [sp(2), sp(3)] });
    expect(await rowKeys(table)).toEqual([SNAPSHOT_ROW]);
    const calls = counted(table);
    expect(await new DiscoveryStore(table).load(TENANT)).toEqual({ sweptAt: later, servicePrincipals: [sp(2), sp(3)] });
    expect(calls.queries).toBe(0);
  });

  it('keeps a snapshot too large for one row as rows, read back whole, and moves back when it fits', async () => {
    const table = newTable();
    const store = new DiscoveryStore(table);
    // 2,000 service principals with long names: past what one entity holds.
    const many = Array.from({ length: 2_000 }, (_, n) => sp(n, `Provisioning connector ${n} `.padEnd(180, '.')));
    await store.saveSweep(TENANT, { sweptAt: SWEPT_AT, servicePrincipals: many });
    const keys = await rowKeys(table);
    expect(keys.length).toBe(2_001);
    expect(keys).toContain('~sweep');
    const loaded = await new DiscoveryStore(table).load(TENANT);
    expect(loaded?.servicePrincipals).toHaveLength(2_000);
    expect(loaded?.servicePrincipals.find((s) => s.id === sp(1_999).id)?.displayName).toBe(many[1_999]!.displayName);
    // One more known between sweeps: a row of its own.
    await store.saveServicePrincipal(TENANT, sp(5_000));
    expect((await store.load(TENANT))?.servicePrincipals).toHaveLength(2_001);
    await store.saveSweep(TENANT, { sweptAt: SWEPT_AT, servicePrincipals: many.slice(0, 10) });
    expect(await rowKeys(table)).toEqual([SNAPSHOT_ROW]);
    expect((await store.load(TENANT))?.servicePrincipals).toHaveLength(10);
  });

  it('keeps both changes when two instances change one tenant at once, and forgets one service principal', async () => {
    const table = newTable();
    await new DiscoveryStore(table).saveSweep(TENANT, { sweptAt: SWEPT_AT, servicePrincipals: [sp(1)] });
    const [a, b] = [new DiscoveryStore(table), new DiscoveryStore(table)];
    await Promise.all([a.saveServicePrincipal(TENANT, sp(2)), b.saveServicePrincipal(TENANT, sp(3))]);
    const ids = (await a.load(TENANT))?.servicePrincipals.map((s) => s.id).sort();
    expect(ids).toEqual([sp(1).id, sp(2).id, sp(3).id]);
    await b.forgetServicePrincipal(TENANT, sp(2).id.toUpperCase());
    expect((await a.load(TENANT))?.servicePrincipals.map((s) => s.id).sort()).toEqual([sp(1).id, sp(3).id]);
    expect(await rowKeys(table)).toEqual([SNAPSHOT_ROW]);
  });

  it('sweeps a tenant again whose snapshot is damaged', async () => {
    const table = newTable();
    const store = new DiscoveryStore(table);
    await store.saveSweep(TENANT, { sweptAt: SWEPT_AT, servicePrincipals: [sp(1)] });
    await table.updateEntity({ partitionKey: TENANT, rowKey: SNAPSHOT_ROW, sp0: '[{"id": "cut off' }, 'Merge');
    expect(await store.load(TENANT)).toBeUndefined();
  });
});
