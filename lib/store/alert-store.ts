import { TableClient, TableEntity, type TransactionAction } from '@azure/data-tables';
import {
  isConflict,
  isNotFound,
  MAX_TRANSACTION_OPERATIONS,
  PROPERTY_BUDGET_CHARS,
  stored,
  tableCreator,
} from './table';
import type { AlertRecord, Annotations } from '../model';
import { boundedAnnotations, boundedMaterial, MAX_ANNOTATION_CHARS, MAX_LIST_CHARS } from '../util/text';

export const ALERTS_TABLE = 'SyncWatchAlerts';

/** Raised when another instance changed the row since we read it: that instance owns the change. */
export class ConcurrentUpdateError extends Error {
  constructor(fingerprint: string) {
    super(`alert ${fingerprint} was changed by another instance since this cycle read it`);
    this.name = 'ConcurrentUpdateError';
  }
}

interface AlertEntity {
  partitionKey: string;
  rowKey: string;
  state: string;
  severity: string;
  labels: string;
  annotations: string;
  notified: string;
  startsAt?: string;
  endsAt?: string;
  lastSeenAt?: string;
  pendingCount?: number;
  material?: string;
  endReason?: string;
  missingSince?: string;
  /** JSON of the acknowledgement; absent on rows written before acknowledgements existed (they load without one). */
  acknowledged?: string;
}

/** Table keys may not hold / \ # ? or control characters; tenant ids are GUIDs or domain names. */
function partitionKeyOf(tenantId: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return tenantId.replace(/[/\\#?\u0000-\u001f\u007f-\u009f]/g, '_');
}

/**
 * Annotations that fit one property: each value is already bounded where findings are made; if
 * many long ones still make the JSON too big, every text is cut shorter and every list holds less
 * (whole entries, never cut text) until it fits. A row that cannot be saved is an alert that is
 * never sent, so nothing from Graph may make it too big.
 */
function storableAnnotations(annotations: Annotations): Annotations {
  for (
    let max = MAX_ANNOTATION_CHARS, listMax = MAX_LIST_CHARS;
    ;
    max = Math.floor(max / 2), listMax = Math.floor(listMax / 2)
  ) {
    const candidate = boundedAnnotations(annotations, max, listMax);
    if (JSON.stringify(candidate).length <= PROPERTY_BUDGET_CHARS || max < 40) return candidate;
  }
}

/** The record as it will be stored: what the next cycle reads back, so the cycle keeps the same. */
function storable(record: AlertRecord): AlertRecord {
  const notified: AlertRecord['notified'] = {};
  for (const [route, log] of Object.entries(record.notified))
    notified[route] = { ...log, material: boundedMaterial(log.material) };
  return {
    ...record,
    annotations: storableAnnotations(record.annotations),
    material: boundedMaterial(record.material),
    notified,
  };
}

function toEntity(record: AlertRecord): TableEntity<AlertEntity> {
  return {
    partitionKey: partitionKeyOf(record.labels.tenantId),
    rowKey: record.fingerprint,
    state: record.state,
    severity: record.severity,
    labels: JSON.stringify(record.labels),
    annotations: JSON.stringify(record.annotations),
    notified: JSON.stringify(record.notified),
    startsAt: record.startsAt,
    endsAt: record.endsAt,
    lastSeenAt: record.lastSeenAt,
    pendingCount: record.pendingCount,
    material: record.material,
    endReason: record.endReason,
    missingSince: record.missingSince,
    acknowledged: record.acknowledged ? JSON.stringify(record.acknowledged) : undefined,
  };
}

function fromEntity(entity: AlertEntity & { etag?: string }): AlertRecord {
  return {
    fingerprint: entity.rowKey,
    labels: JSON.parse(entity.labels),
    severity: entity.severity as AlertRecord['severity'],
    state: entity.state as AlertRecord['state'],
    annotations: JSON.parse(entity.annotations),
    notified: entity.notified ? JSON.parse(entity.notified) : {},
    startsAt: entity.startsAt ?? undefined,
    endsAt: entity.endsAt ?? undefined,
    lastSeenAt: entity.lastSeenAt ?? undefined,
    pendingCount: entity.pendingCount ?? undefined,
    material: entity.material ?? undefined,
    endReason: (entity.endReason as AlertRecord['endReason']) ?? undefined,
    missingSince: entity.missingSince ?? undefined,
    acknowledged: entity.acknowledged ? JSON.parse(entity.acknowledged) : undefined,
    etag: entity.etag,
  };
}

/**
 * Alert state in Azure Table Storage: one row per alert (partition = tenant, row = fingerprint).
 * Every write is conditional on the ETag the cycle read, so two instances running a cycle at
 * once cannot both move the same alert (and so cannot both send its email).
 */
export class AlertStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  async get(tenantId: string, fingerprint: string): Promise<AlertRecord | undefined> {
    await this.ensureTable();
    try {
      const entity = await stored(this.table, `reading alert ${fingerprint}`, () =>
        this.table.getEntity<AlertEntity>(partitionKeyOf(tenantId), fingerprint),
      );
      return fromEntity(entity as AlertEntity & { etag?: string });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async loadAll(): Promise<Map<string, AlertRecord>> {
    await this.ensureTable();
    return stored(this.table, 'reading the alerts', async () => {
      const records = new Map<string, AlertRecord>();
      for await (const entity of this.table.listEntities<AlertEntity>()) {
        const record = fromEntity(entity as AlertEntity & { etag?: string });
        records.set(record.fingerprint, record);
      }
      return records;
    });
  }

  /** The alerts of one tenant (its partition): what a fan-out worker judges its tenant's alerts by (lib/fanout/worker.ts). */
  async loadTenant(tenantId: string): Promise<Map<string, AlertRecord>> {
    await this.ensureTable();
    const filter = `PartitionKey eq '${partitionKeyOf(tenantId).replace(/'/g, "''")}'`;
    return stored(this.table, `reading the alerts of tenant ${tenantId}`, async () => {
      const records = new Map<string, AlertRecord>();
      for await (const entity of this.table.listEntities<AlertEntity>({ queryOptions: { filter } })) {
        const record = fromEntity(entity as AlertEntity & { etag?: string });
        records.set(record.fingerprint, record);
      }
      return records;
    });
  }

  /** Deletes a record if nobody changed it since it was read; false when someone did (or it is gone). */
  async deleteIfUnchanged(record: AlertRecord): Promise<boolean> {
    await this.ensureTable();
    try {
      await stored(this.table, `deleting alert ${record.fingerprint}`, () =>
        this.table.deleteEntity(partitionKeyOf(record.labels.tenantId), record.fingerprint, { etag: record.etag }),
      );
      return true;
    } catch (error) {
      if (isConflict(error) || isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * Writes many records, each under its own ETag, in transactions of up to 100 rows of one tenant
   * (a mass incident writes a thousand alerts in ten round trips). A transaction is all or nothing:
   * when one row in it lost a race, its rows are written one by one instead, so each record gets
   * its own outcome. Returns, per record in order, the stored record or the error of its write.
   */
  async saveMany(records: AlertRecord[]): Promise<(AlertRecord | Error)[]> {
    await this.ensureTable();
    const results: (AlertRecord | Error)[] = new Array(records.length);
    for (const chunk of transactionChunks(records)) {
      const fitted = chunk.map((i) => storable(records[i] as AlertRecord));
      const actions = fitted.map((r): TransactionAction =>
        r.etag ? ['update', { ...toEntity(r) }, 'Replace', { etag: r.etag }] : ['create', { ...toEntity(r) }],
      );
      try {
        const response = await stored(this.table, `saving ${chunk.length} alerts`, () =>
          this.table.submitTransaction(actions),
        );
        chunk.forEach((index, k) => {
          const record = fitted[k] as AlertRecord;
          results[index] = {
            ...record,
            etag: response.getResponseForEntity(record.fingerprint)?.etag ?? response.subResponses[k]?.etag,
          };
        });
      } catch (error) {
        if (!isConflict(error) && !(chunk.length > 1 && isRejected(error))) throw error;
        for (const index of chunk) {
          results[index] = await this.save(records[index] as AlertRecord).catch((e: unknown) => {
            if (e instanceof ConcurrentUpdateError || isRejected(e)) return e as Error;
            throw e;
          });
        }
      }
    }
    return results;
  }

  /**
   * Writes a record (bounded to fit: see storable); returns it as stored, with its new ETag.
   * Throws ConcurrentUpdateError on a lost race, StorageError when Table Storage fails.
   */
  async save(record: AlertRecord): Promise<AlertRecord> {
    await this.ensureTable();
    const fitted = storable(record);
    const entity = toEntity(fitted);
    try {
      const response = await stored(this.table, `saving alert ${record.fingerprint}`, () =>
        fitted.etag
          ? this.table.updateEntity(entity, 'Replace', { etag: fitted.etag })
          : this.table.createEntity(entity),
      );
      return { ...fitted, etag: response.etag };
    } catch (error) {
      if (isConflict(error)) {
        throw new ConcurrentUpdateError(record.fingerprint);
      }
      throw error;
    }
  }
}

function isRejected(error: unknown): boolean {
  return (
    (error as { name?: string; kind?: string })?.name === 'StorageError' &&
    (error as { kind?: string }).kind === 'rejected'
  );
}

/** Transactions hold one partition, at most 100 operations and 4 MB; alerts are at most ~35 KB each, so 80 rows keep well inside. */
const ROWS_PER_TRANSACTION = Math.min(80, MAX_TRANSACTION_OPERATIONS);

/** Indexes of `records` grouped by partition (tenant), in chunks a transaction can take. */
function transactionChunks(records: AlertRecord[]): number[][] {
  const byPartition = new Map<string, number[]>();
  records.forEach((r, i) => {
    const key = partitionKeyOf(r.labels.tenantId);
    byPartition.set(key, [...(byPartition.get(key) ?? []), i]);
  });
  const chunks: number[][] = [];
  for (const indexes of byPartition.values()) {
    for (let i = 0; i < indexes.length; i += ROWS_PER_TRANSACTION)
      chunks.push(indexes.slice(i, i + ROWS_PER_TRANSACTION));
  }
  return chunks;
}
