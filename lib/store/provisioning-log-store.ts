import { gunzipSync, gzipSync } from 'node:zlib';
import { TableClient } from '@azure/data-tables';
import type { LogState } from '../model/provisioning';
import { deleteIfPresent, isConflict, isNotFound, tableCreator } from './table';

export type { LogState } from '../model/provisioning';

export interface StoredLogState {
  state: LogState;
  etag?: string;
}

/** Raised when another instance wrote the tenant's state since this cycle read it: its state is kept. */
export class LogStateConflictError extends Error {
  constructor(tenantId: string) {
    super(`the provisioning-log state of tenant ${tenantId} was written by another instance since this cycle read it`);
    this.name = 'LogStateConflictError';
  }
}

/**
 * Each tenant's LogState (lib/model/provisioning.ts) is one row, written in one ETag-guarded
 * write, so the watermark never moves without the digest that counted the events behind it: a
 * cycle that dies before the write reads the same events again next time and counts them once.
 */
const PARTITION = 'provisioning-logs';
/** Table Storage: a binary property holds at most 64 KiB and an entity at most 1 MiB. */
const CHUNK_BYTES = 64 * 1024;
const MAX_CHUNKS = 14;

type Entity = { partitionKey: string; rowKey: string; version: number; watermark?: string; chunks: number } & Record<
  string,
  unknown
>;

/** Table keys may not hold / \ # ? or control characters. */
function rowKeyOf(tenantId: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return tenantId.toLowerCase().replace(/[/\\#?\u0000-\u001f\u007f-\u009f]/g, '_');
}

/** The state as gzip'd JSON in at most MAX_CHUNKS binary properties; undefined when it does not fit. */
export function encodeLogState(state: LogState): Uint8Array[] | undefined {
  const zipped = gzipSync(Buffer.from(JSON.stringify(state), 'utf8'));
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < zipped.length; offset += CHUNK_BYTES)
    chunks.push(new Uint8Array(zipped.subarray(offset, offset + CHUNK_BYTES)));
  return chunks.length <= MAX_CHUNKS ? chunks : undefined;
}

export function decodeLogState(chunks: Uint8Array[]): LogState {
  return JSON.parse(gunzipSync(Buffer.concat(chunks.map((c) => Buffer.from(c)))).toString('utf8')) as LogState;
}

/**
 * Keeps a state small enough for one row: drops the oldest overlap ids first (the next read then
 * starts after them, so none counts twice, but an event arriving that late is missed: this is
 * reported), then the examples.
 * Returns the chunks and what had to be dropped.
 */
export function fitLogState(state: LogState): { chunks: Uint8Array[]; dropped: string[] } {
  const dropped: string[] = [];
  let chunks = encodeLogState(state);
  while (!chunks && state.seen.length > 0) {
    const drop = Math.ceil(state.seen.length / 2);
    state.seen.sort((a, b) => a[0] - b[0]).splice(0, drop);
    // What is remembered now starts later: no read may start before it (it would count the dropped ones twice).
    const oldest = state.seen[0]?.[0] ?? state.watermark;
    if (oldest !== undefined) state.seenSince = Math.max(state.seenSince ?? -Infinity, oldest);
    dropped.push(`${drop} overlap ids`);
    chunks = encodeLogState(state);
  }
  if (!chunks) {
    for (const job of Object.values(state.digest.jobs)) for (const code of Object.values(job.codes)) code.examples = [];
    dropped.push('the failure examples');
    chunks = encodeLogState(state);
  }
  if (!chunks)
    throw new Error('the provisioning-log state does not fit in one table row even without overlap ids and examples');
  return { chunks, dropped };
}

export class ProvisioningLogStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  async load(tenantId: string): Promise<StoredLogState | undefined> {
    await this.ensureTable();
    let entity: Entity & { etag?: string };
    try {
      entity = (await this.table.getEntity<Entity>(PARTITION, rowKeyOf(tenantId))) as Entity & { etag?: string };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < entity.chunks; i++) chunks.push(entity[`d${i}`] as Uint8Array);
    return { state: decodeLogState(chunks), etag: entity.etag };
  }

  /** The tenants it keeps a state for (lower-cased), for forgetting those no longer watched. */
  async tenants(): Promise<string[]> {
    await this.ensureTable();
    const tenants: string[] = [];
    for await (const entity of this.table.listEntities({
      queryOptions: { filter: `PartitionKey eq '${PARTITION}'`, select: ['RowKey'] },
    }))
      tenants.push(String(entity.rowKey));
    return tenants;
  }

  /** Forgets a tenant's watermark and digest (a tenant no longer watched; watched again, it starts afresh). */
  async forget(tenantId: string): Promise<void> {
    await this.ensureTable();
    await deleteIfPresent(this.table, PARTITION, rowKeyOf(tenantId));
  }

  /**
   * Writes the state under the ETag it was read with (none: a new row). Throws
   * LogStateConflictError when another instance wrote first. Returns what had to be dropped to fit.
   */
  async save(tenantId: string, state: LogState, etag: string | undefined): Promise<{ dropped: string[] }> {
    await this.ensureTable();
    const { chunks, dropped } = fitLogState(state);
    const entity: Entity = {
      partitionKey: PARTITION,
      rowKey: rowKeyOf(tenantId),
      version: state.version,
      chunks: chunks.length,
    };
    if (state.watermark !== undefined) entity.watermark = new Date(state.watermark).toISOString();
    chunks.forEach((chunk, i) => (entity[`d${i}`] = chunk));
    try {
      if (etag) await this.table.updateEntity(entity, 'Replace', { etag });
      else await this.table.createEntity(entity);
    } catch (error) {
      if (isConflict(error)) throw new LogStateConflictError(tenantId);
      throw error;
    }
    return { dropped };
  }
}
