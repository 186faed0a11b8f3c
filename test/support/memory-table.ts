import { RestError, type TableClient, type TransactionAction } from '@azure/data-tables';

/**
 * An in-memory stand-in for the part of `TableClient` the stores use, behaving like Table Storage
 * where it matters to them: ETags on every row (conditional update and delete answer 412, a create
 * over an existing row 409), all-or-nothing transactions within one partition (at most 100
 * operations), and the size limits (a string property over 32,768 UTF-16 units, 64 KiB, is
 * `PropertyValueTooLarge`; an entity over 1 MiB `EntityTooLarge`). Fast enough for thousands of
 * simulated cycles (the soak); the real thing is Azurite, in the integration tests.
 *
 * `failWith(fn)` makes calls fail as an unreachable service does (fn decides per call).
 */

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };
interface Row {
  entity: Entity;
  etag: string;
}

const MAX_PROPERTY_CHARS = 32_768;
const MAX_ENTITY_BYTES = 1024 * 1024;

export interface MemoryTableStats {
  rows: number;
  reads: number;
  writes: number;
  largestPropertyChars: number;
}

function restError(status: number, code: string, message = code): RestError {
  const error = new RestError(`${code}: ${message}`, { statusCode: status, code });
  return error;
}

function checkSize(entity: Entity, stats: MemoryTableStats): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(entity)) {
    if (typeof value === 'string') {
      stats.largestPropertyChars = Math.max(stats.largestPropertyChars, value.length);
      if (value.length > MAX_PROPERTY_CHARS)
        throw restError(
          400,
          'PropertyValueTooLarge',
          `The property value exceeds the maximum allowed size (64KB): ${name}`,
        );
      bytes += value.length * 2;
    } else bytes += 8;
    bytes += name.length * 2;
  }
  if (bytes > MAX_ENTITY_BYTES)
    throw restError(400, 'EntityTooLarge', 'The entity is larger than the maximum allowed size (1MB).');
}

/** `PartitionKey eq 'x' and RowKey ge 'a' and RowKey le 'b'`: the filters the stores write. */
function matcher(filter: string | undefined): (e: Entity) => boolean {
  if (!filter) return () => true;
  const clauses = filter.split(/\s+and\s+/i).map((clause) => {
    const m = /^\s*(PartitionKey|RowKey)\s+(eq|ne|ge|gt|le|lt)\s+'((?:[^']|'')*)'\s*$/.exec(clause);
    if (!m) throw restError(400, 'InvalidInput', `unsupported filter clause: ${clause}`);
    const [, field, op, raw] = m as unknown as [string, 'PartitionKey' | 'RowKey', string, string];
    const value = raw.replace(/''/g, "'");
    const key = field === 'PartitionKey' ? 'partitionKey' : 'rowKey';
    return (e: Entity) => {
      const v = e[key] as string;
      switch (op) {
        case 'eq':
          return v === value;
        case 'ne':
          return v !== value;
        case 'ge':
          return v >= value;
        case 'gt':
          return v > value;
        case 'le':
          return v <= value;
        default:
          return v < value;
      }
    };
  });
  return (e) => clauses.every((c) => c(e));
}

export class MemoryTable {
  readonly url: string;
  readonly stats: MemoryTableStats = { rows: 0, reads: 0, writes: 0, largestPropertyChars: 0 };
  private readonly rows = new Map<string, Row>();
  private version = 0;
  private failure: ((operation: string) => Error | undefined) | undefined;

  constructor(readonly tableName: string) {
    this.url = `https://memory.table.invalid/${tableName}`;
  }

  /** The stand-in as the TableClient the stores take. */
  asClient(): TableClient {
    return this as unknown as TableClient;
  }

  /** Makes calls fail: `fn` returns the error to throw for an operation, or undefined to let it through. */
  failWith(fn: ((operation: string) => Error | undefined) | undefined): void {
    this.failure = fn;
  }

  /** Every row, for checks (bounded growth). */
  allRows(): Entity[] {
    return [...this.rows.values()].map((r) => r.entity);
  }

  private key(pk: string, rk: string): string {
    return `${pk}\u0000${rk}`;
  }

  private gate(operation: string): void {
    const error = this.failure?.(operation);
    if (error) throw error;
  }

  private nextEtag(): string {
    return `W/"datetime'${++this.version}'"`;
  }

  private output(row: Row): Record<string, unknown> {
    return { ...structuredClone(row.entity), etag: row.etag, timestamp: new Date().toISOString() };
  }

  private clean(entity: Record<string, unknown>): Entity {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entity)) if (v !== undefined && k !== 'etag' && k !== 'timestamp') out[k] = v;
    return out as Entity;
  }

  async createTable(): Promise<void> {
    this.gate('createTable');
  }

  async getEntity<T>(partitionKey: string, rowKey: string): Promise<T & { etag: string }> {
    this.gate('getEntity');
    this.stats.reads++;
    const row = this.rows.get(this.key(partitionKey, rowKey));
    if (!row) throw restError(404, 'ResourceNotFound', 'The specified resource does not exist.');
    return this.output(row) as T & { etag: string };
  }

  listEntities<T>(options: { queryOptions?: { filter?: string; select?: string[] } } = {}): AsyncIterableIterator<T> {
    this.gate('listEntities');
    this.stats.reads++;
    const match = matcher(options.queryOptions?.filter);
    const rows = [...this.rows.values()]
      .filter((r) => match(r.entity))
      .sort((a, b) =>
        (a.entity.partitionKey + '\u0000' + a.entity.rowKey).localeCompare(
          b.entity.partitionKey + '\u0000' + b.entity.rowKey,
        ),
      );
    const items = rows.map((r) => this.output(r) as T);
    return (async function* () {
      yield* items;
    })();
  }

  private apply(action: TransactionAction, pending: Map<string, Row | undefined>): void {
    const [kind, raw] = action;
    const entity = this.clean(raw as Record<string, unknown>);
    const key = this.key(entity.partitionKey, entity.rowKey);
    const existing = pending.has(key) ? pending.get(key) : this.rows.get(key);
    const parts = action as unknown as unknown[];
    const options = ((kind === 'delete' ? parts[2] : parts[3]) ?? {}) as { etag?: string };
    const etagMatches = (row: Row | undefined) =>
      options.etag === undefined || options.etag === '*' || row?.etag === options.etag;
    switch (kind) {
      case 'create':
        if (existing) throw restError(409, 'EntityAlreadyExists', 'The specified entity already exists.');
        checkSize(entity, this.stats);
        pending.set(key, { entity, etag: this.nextEtag() });
        return;
      case 'update': {
        if (!existing) throw restError(404, 'ResourceNotFound', 'The specified resource does not exist.');
        if (!etagMatches(existing))
          throw restError(
            412,
            'UpdateConditionNotSatisfied',
            'The update condition specified in the request was not satisfied.',
          );
        const next = action[2] === 'Merge' ? { ...existing.entity, ...entity } : entity;
        checkSize(next, this.stats);
        pending.set(key, { entity: next, etag: this.nextEtag() });
        return;
      }
      case 'upsert': {
        const next = action[2] === 'Merge' && existing ? { ...existing.entity, ...entity } : entity;
        checkSize(next, this.stats);
        pending.set(key, { entity: next, etag: this.nextEtag() });
        return;
      }
      case 'delete':
        if (!existing) throw restError(404, 'ResourceNotFound', 'The specified resource does not exist.');
        if (!etagMatches(existing))
          throw restError(
            412,
            'UpdateConditionNotSatisfied',
            'The update condition specified in the request was not satisfied.',
          );
        pending.set(key, undefined);
        return;
    }
  }

  private commit(pending: Map<string, Row | undefined>): void {
    for (const [key, row] of pending) {
      if (row) this.rows.set(key, row);
      else this.rows.delete(key);
    }
    this.stats.rows = this.rows.size;
    this.stats.writes += pending.size;
  }

  private single(action: TransactionAction, operation: string): { etag: string } {
    this.gate(operation);
    const pending = new Map<string, Row | undefined>();
    this.apply(action, pending);
    this.commit(pending);
    const row = [...pending.values()][0];
    return { etag: row?.etag ?? '' };
  }

  async createEntity(entity: Entity): Promise<{ etag: string }> {
    return this.single(['create', entity], 'createEntity');
  }

  async updateEntity(
    entity: Entity,
    mode: 'Merge' | 'Replace' = 'Merge',
    options: { etag?: string } = {},
  ): Promise<{ etag: string }> {
    return this.single(['update', entity, mode, { etag: options.etag ?? '*' }] as TransactionAction, 'updateEntity');
  }

  async upsertEntity(entity: Entity, mode: 'Merge' | 'Replace' = 'Merge'): Promise<{ etag: string }> {
    return this.single(['upsert', entity, mode] as TransactionAction, 'upsertEntity');
  }

  async deleteEntity(partitionKey: string, rowKey: string, options: { etag?: string } = {}): Promise<void> {
    this.single(
      ['delete', { partitionKey, rowKey }, { etag: options.etag ?? '*' }] as unknown as TransactionAction,
      'deleteEntity',
    );
  }

  async submitTransaction(actions: TransactionAction[]): Promise<{
    status: number;
    subResponses: { status: number; rowKey: string; etag?: string }[];
    getResponseForEntity(rowKey: string): { etag?: string } | undefined;
  }> {
    this.gate('submitTransaction');
    if (actions.length === 0 || actions.length > 100)
      throw restError(400, 'InvalidInput', 'A transaction holds 1 to 100 operations.');
    const partitions = new Set(actions.map((a) => (a[1] as Entity).partitionKey));
    if (partitions.size > 1)
      throw restError(
        400,
        'CommandsInBatchActOnDifferentPartitions',
        'All commands in a batch must operate on the same partition.',
      );
    const pending = new Map<string, Row | undefined>();
    // Deletes name their condition in the 3rd element; the stores pass none (any ETag).
    for (const action of actions)
      this.apply(
        action[0] === 'delete' ? (['delete', action[1], { etag: '*' }] as unknown as TransactionAction) : action,
        pending,
      );
    this.commit(pending);
    const subResponses = actions.map((a) => {
      const e = a[1] as Entity;
      return {
        status: a[0] === 'create' ? 201 : 204,
        rowKey: e.rowKey,
        etag: pending.get(this.key(e.partitionKey, e.rowKey))?.etag,
      };
    });
    return {
      status: 202,
      subResponses,
      getResponseForEntity: (rowKey) => subResponses.find((r) => r.rowKey === rowKey),
    };
  }
}

/** A network failure as the SDK reports one (no status): what an unreachable Table Storage throws. */
export function unreachable(): RestError {
  return new RestError('connect ECONNREFUSED 127.0.0.1:10002', { code: 'ECONNREFUSED' });
}
