import { TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { fingerprintOf } from '../../lib/evaluate/evaluate';
import type { AlertLabels, AlertRecord } from '../../lib/model';
import { AlertStore, ConcurrentUpdateError } from '../../lib/store/alert-store';

/** A fresh table in the shared Azurite, through the real @azure/data-tables client. */
function freshStore(table = `t${randomUUID().replace(/-/g, '')}`): { store: AlertStore; table: string } {
  const client = TableClient.fromConnectionString(inject('storageConnectionString'), table, {
    allowInsecureConnection: true,
  });
  return { store: new AlertStore(client), table };
}

const labels: AlertLabels = {
  tenantId: 'aaaaaaaa-0000-0000-0000-000000000001',
  servicePrincipalId: 'sp',
  jobId: 'Azure2Azure.x.y',
  condition: 'quarantine',
};
const record: AlertRecord = {
  fingerprint: fingerprintOf(labels),
  labels,
  severity: 'critical',
  state: 'firing',
  annotations: { servicePrincipalName: 'Fabrikam to Contoso', seriesCount: 2, reasonKnown: true },
  startsAt: '2026-11-27T03:00:00.000Z',
  notified: {
    root: { startsAt: '2026-11-27T03:00:00.000Z', lastAt: '2026-11-27T03:00:05.000Z', reminders: 0, resolved: false },
  },
};

describe('AlertStore on Azurite', () => {
  it('round-trips a record, and a new client (a restarted process) reads the same state', async () => {
    const { store, table } = freshStore();
    const saved = await store.save(record);
    expect(saved.etag).toBeTruthy();
    const { store: restarted } = freshStore(table);
    const loaded = (await restarted.loadAll()).get(record.fingerprint);
    expect(loaded).toEqual({
      ...record,
      etag: saved.etag,
      endsAt: undefined,
      lastSeenAt: undefined,
      pendingCount: undefined,
    });
    expect(await restarted.get(labels.tenantId, record.fingerprint)).toEqual(loaded);
  });

  it('refuses a write based on a stale read: two instances cannot both move an alert', async () => {
    const { store, table } = freshStore();
    const saved = await store.save(record);
    const { store: other } = freshStore(table);
    const theirs = (await other.loadAll()).get(record.fingerprint)!;
    await store.save({ ...saved, notified: {} });
    await expect(other.save({ ...theirs, notified: {} })).rejects.toBeInstanceOf(ConcurrentUpdateError);
    await expect(other.save({ ...record, etag: undefined })).rejects.toBeInstanceOf(ConcurrentUpdateError);
  });
});
