import { TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import {
  deleteIfPresent,
  isConflict,
  isNotFound,
  MAX_TRANSACTION_OPERATIONS,
  PROPERTY_BUDGET_CHARS,
  tableCreator,
} from './table';

export const DISCOVERY_TABLE = 'SyncWatchDiscovery';

/** A service principal found to own synchronization jobs (or listed in the config), and when each of its jobs was first seen. */
export interface KnownServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  applicationTemplateId?: string;
  /** Job id → ISO time the monitor first saw it: the only clock a never-run job has. */
  jobsFirstSeen: Record<string, string>;
  /** Since when its job list has answered 404, while that is confirmed (lib/observe/observe.ts). */
  missingSince?: string;
  /** Job id → since when a job it had is no longer listed, while that is confirmed. */
  jobsMissingSince?: Record<string, string>;
}

/** What the last sweep of a tenant found. */
export interface DiscoverySnapshot {
  /** When every service principal was last swept for jobs. */
  sweptAt: string;
  servicePrincipals: KnownServicePrincipal[];
}

/** Where discovery keeps what it found between cycles (Table Storage in production, memory in unit tests). */
export interface DiscoveryCache {
  /** The tenant's last completed sweep, or undefined when it was never swept (a tenant new to the monitor). */
  load(tenantId: string): Promise<DiscoverySnapshot | undefined>;
  /** Replaces the tenant's known service principals with a new sweep's. */
  saveSweep(tenantId: string, snapshot: DiscoverySnapshot): Promise<void>;
  /** Updates one known service principal (new jobs seen between sweeps). */
  saveServicePrincipal(tenantId: string, sp: KnownServicePrincipal): Promise<void>;
  /** Forgets one service principal confirmed gone. */
  forgetServicePrincipal?(tenantId: string, spId: string): Promise<void>;
  /** The tenants it keeps anything about (lower-cased), for forgetting those no longer watched. */
  tenants?(): Promise<string[]>;
  /** Forgets everything about a tenant no longer watched. */
  forgetTenant?(tenantId: string): Promise<void>;
}

/** The sweep row of the rows layout (a tenant with too many service principals for one row, or cached before). */
const SWEEP_ROW = '~sweep';

/**
 * The row holding a tenant's last sweep and what it found. The tenant is in the row key too:
 * Azurite (the local emulator) finds a row by its row key first, and a key every partition
 * shares made each read test every tenant's row (12 ms at 10,000 tenants, against 1.4 ms).
 */
const snapshotRow = (partitionKey: string) => `${SWEEP_ROW}_${partitionKey}`;

interface ServicePrincipalEntity {
  partitionKey: string;
  rowKey: string;
  spId: string;
  appId: string;
  displayName: string;
  applicationTemplateId?: string;
  jobsFirstSeen: string;
  missingSince?: string;
  jobsMissingSince?: string;
}

/** Keys may not hold / \ # ? or control characters; Graph is untrusted, so ids are made safe and kept whole in a field. */
function safeKey(value: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return value.toLowerCase().replace(/[/\\#?\u0000-\u001f\u007f-\u009f]/g, '_');
}

function toEntity(tenantId: string, sp: KnownServicePrincipal): TableEntity<ServicePrincipalEntity> {
  return {
    partitionKey: safeKey(tenantId),
    rowKey: safeKey(sp.id),
    spId: sp.id,
    appId: sp.appId,
    displayName: sp.displayName,
    applicationTemplateId: sp.applicationTemplateId,
    jobsFirstSeen: JSON.stringify(sp.jobsFirstSeen),
    missingSince: sp.missingSince,
    jobsMissingSince:
      sp.jobsMissingSince && Object.keys(sp.jobsMissingSince).length > 0
        ? JSON.stringify(sp.jobsMissingSince)
        : undefined,
  };
}

/** An object's string values (id → ISO time), or {} when it is not an object. */
function strings(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** A JSON object of strings from a row, or {} when it is absent or damaged. */
function stringMap(text: string | undefined): Record<string, string> {
  try {
    return strings(JSON.parse(text ?? '{}'));
  } catch {
    return {};
  }
}

function fromEntity(entity: ServicePrincipalEntity): KnownServicePrincipal {
  const sp: KnownServicePrincipal = {
    id: entity.spId,
    appId: entity.appId ?? '',
    displayName: entity.displayName ?? entity.spId,
    // A damaged row loses its first-seen times only: they start again from now.
    jobsFirstSeen: stringMap(entity.jobsFirstSeen),
  };
  if (entity.applicationTemplateId) sp.applicationTemplateId = entity.applicationTemplateId;
  if (entity.missingSince) sp.missingSince = entity.missingSince;
  if (entity.jobsMissingSince) sp.jobsMissingSince = stringMap(entity.jobsMissingSince);
  return sp;
}

/** A sweep row; the snapshot row's parts (`sp0`, `sp1`...) hold what the sweep found as JSON. */
type SweepEntity = { sweptAt?: string; count?: number; parts?: number; etag?: string } & Record<string, unknown>;

/**
 * At most this many parts of PROPERTY_BUDGET_CHARS: an entity holds at most 1 MiB, and a string
 * property is stored as UTF-16 (Table Storage's limits). About 1,800 service principals with jobs.
 */
const MAX_PARTS = 12;

/** A service principal read back from the snapshot's JSON (our own data, checked all the same). */
function fromStored(value: unknown): KnownServicePrincipal | undefined {
  const v = value as Partial<KnownServicePrincipal> | null;
  if (!v || typeof v !== 'object' || typeof v.id !== 'string') return undefined;
  const sp: KnownServicePrincipal = {
    id: v.id,
    appId: typeof v.appId === 'string' ? v.appId : '',
    displayName: typeof v.displayName === 'string' ? v.displayName : v.id,
    jobsFirstSeen: strings(v.jobsFirstSeen),
  };
  if (typeof v.applicationTemplateId === 'string') sp.applicationTemplateId = v.applicationTemplateId;
  if (typeof v.missingSince === 'string') sp.missingSince = v.missingSince;
  const jobsMissingSince = strings(v.jobsMissingSince);
  if (Object.keys(jobsMissingSince).length > 0) sp.jobsMissingSince = jobsMissingSince;
  return sp;
}

/** The snapshot a sweep row holds in its parts; undefined when it has none (the rows layout) or they are damaged. */
function snapshotOf(row: SweepEntity): DiscoverySnapshot | undefined {
  if (typeof row.parts !== 'number' || !row.sweptAt) return undefined;
  try {
    const text = Array.from({ length: row.parts }, (_, i) => String(row[`sp${i}`] ?? '')).join('');
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list)) return undefined;
    return { sweptAt: row.sweptAt, servicePrincipals: list.flatMap((v) => fromStored(v) ?? []) };
  } catch {
    return undefined;
  }
}

/** The snapshot as a sweep row's parts, or undefined when it is too large for one row. */
function partsOf(servicePrincipals: KnownServicePrincipal[]): Record<string, string | number> | undefined {
  const text = JSON.stringify(servicePrincipals);
  const count = Math.ceil(text.length / PROPERTY_BUDGET_CHARS);
  if (count > MAX_PARTS) return undefined;
  const parts: Record<string, string | number> = { parts: count };
  for (let i = 0; i < count; i++)
    parts[`sp${i}`] = text.slice(i * PROPERTY_BUDGET_CHARS, (i + 1) * PROPERTY_BUDGET_CHARS);
  return parts;
}

/** Attempts at a read-modify-write of a tenant's snapshot when another instance writes it meanwhile. */
const REWRITE_ATTEMPTS = 3;

/**
 * The discovery cache in Table Storage (table `SyncWatchDiscovery`): one partition per tenant, its
 * `~sweep_<tenant>` row holding the time of the last sweep and what it found (JSON in the row's
 * parts), so a cycle reads a tenant's cache with one point read. A tenant with more service
 * principals than one row holds (MAX_PARTS), or one cached before the snapshot moved into the row,
 * has instead one row per known service principal and a `~sweep` row, read with a partition query;
 * its next sweep that fits moves it into the one row. (Azurite, the local emulator, answers a
 * partition query by testing every row of the table: at 10,000 tenants that took most of a cycle,
 * docs/scale.md.) The rows layout writes its sweep row last, so a sweep that dies half-way is
 * simply done again.
 */
export class DiscoveryStore implements DiscoveryCache {
  private readonly ensureTable: () => Promise<void>;
  /** Tenants read from the rows layout by this instance: their rows go once their snapshot is in one row. */
  private readonly rowsLeft = new Set<string>();

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  async load(tenantId: string): Promise<DiscoverySnapshot | undefined> {
    await this.ensureTable();
    const partitionKey = safeKey(tenantId);
    const row = await this.sweepRow(partitionKey, snapshotRow(partitionKey));
    // A damaged snapshot is swept again.
    if (row) return snapshotOf(row);
    if (!(await this.sweepRow(partitionKey, SWEEP_ROW))) return undefined;
    this.rowsLeft.add(partitionKey);
    return this.loadRows(tenantId);
  }

  async saveSweep(tenantId: string, snapshot: DiscoverySnapshot): Promise<void> {
    await this.ensureTable();
    await this.write(tenantId, snapshot);
  }

  async saveServicePrincipal(tenantId: string, sp: KnownServicePrincipal): Promise<void> {
    await this.ensureTable();
    const key = safeKey(sp.id);
    const written = await this.rewrite(tenantId, (sps) => [...sps.filter((s) => safeKey(s.id) !== key), sp]);
    if (!written) await this.table.upsertEntity(toEntity(tenantId, sp), 'Replace');
  }

  async forgetServicePrincipal(tenantId: string, spId: string): Promise<void> {
    await this.ensureTable();
    const key = safeKey(spId);
    if (await this.rewrite(tenantId, (sps) => sps.filter((s) => safeKey(s.id) !== key))) return;
    await deleteIfPresent(this.table, safeKey(tenantId), key);
  }

  async tenants(): Promise<string[]> {
    await this.ensureTable();
    const tenants = new Set<string>();
    for await (const entity of this.table.listEntities({ queryOptions: { select: ['PartitionKey'] } }))
      tenants.add(String(entity.partitionKey));
    return [...tenants];
  }

  async forgetTenant(tenantId: string): Promise<void> {
    await this.ensureTable();
    await this.deleteRows(safeKey(tenantId), () => true);
  }

  private async sweepRow(partitionKey: string, rowKey: string): Promise<SweepEntity | undefined> {
    try {
      return await this.table.getEntity<SweepEntity>(partitionKey, rowKey);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The rows layout: one row per known service principal and the sweep row. */
  private async loadRows(tenantId: string): Promise<DiscoverySnapshot | undefined> {
    const partition = safeKey(tenantId).replace(/'/g, "''");
    let sweptAt: string | undefined;
    const servicePrincipals: KnownServicePrincipal[] = [];
    for await (const entity of this.table.listEntities<ServicePrincipalEntity & { sweptAt?: string }>({
      queryOptions: { filter: `PartitionKey eq '${partition}'` },
    })) {
      if (entity.rowKey === SWEEP_ROW) sweptAt = entity.sweptAt;
      else if (entity.spId) servicePrincipals.push(fromEntity(entity));
    }
    return sweptAt ? { sweptAt, servicePrincipals } : undefined;
  }

  /**
   * Changes a tenant's snapshot kept in its snapshot row, under the row's ETag (another instance's
   * write meanwhile: read again). False when the tenant is in the rows layout (or has no snapshot).
   */
  private async rewrite(
    tenantId: string,
    change: (sps: KnownServicePrincipal[]) => KnownServicePrincipal[],
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const partitionKey = safeKey(tenantId);
      const row = await this.sweepRow(partitionKey, snapshotRow(partitionKey));
      const snapshot = row && snapshotOf(row);
      if (!row || !snapshot) return false;
      try {
        await this.write(tenantId, { ...snapshot, servicePrincipals: change(snapshot.servicePrincipals) }, row.etag);
        return true;
      } catch (error) {
        if (!isConflict(error) || attempt >= REWRITE_ATTEMPTS) throw error;
      }
    }
  }

  /** Writes a tenant's snapshot: into its snapshot row when it fits (then its rows of before go), else as rows. */
  private async write(tenantId: string, snapshot: DiscoverySnapshot, etag?: string): Promise<void> {
    const partitionKey = safeKey(tenantId);
    const parts = partsOf(snapshot.servicePrincipals);
    if (!parts) return this.writeRows(tenantId, snapshot);
    const row = {
      partitionKey,
      rowKey: snapshotRow(partitionKey),
      sweptAt: snapshot.sweptAt,
      count: snapshot.servicePrincipals.length,
      ...parts,
    };
    if (etag) await this.table.updateEntity(row, 'Replace', { etag });
    else await this.table.upsertEntity(row, 'Replace');
    if (this.rowsLeft.has(partitionKey)) {
      await this.deleteRows(partitionKey, (rowKey) => rowKey !== row.rowKey);
      this.rowsLeft.delete(partitionKey);
    }
  }

  /** The rows layout, for a snapshot too large for one row: the snapshot row first gone, the sweep row last. */
  private async writeRows(tenantId: string, snapshot: DiscoverySnapshot): Promise<void> {
    const partitionKey = safeKey(tenantId);
    await deleteIfPresent(this.table, partitionKey, snapshotRow(partitionKey));
    const keep = new Set(snapshot.servicePrincipals.map((sp) => safeKey(sp.id)));
    const actions: TransactionAction[] = snapshot.servicePrincipals.map((sp): TransactionAction => [
      'upsert',
      { ...toEntity(tenantId, sp) },
      'Replace',
    ]);
    const filter = `PartitionKey eq '${partitionKey.replace(/'/g, "''")}'`;
    for await (const entity of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
      const rowKey = String(entity.rowKey);
      if (rowKey !== SWEEP_ROW && !keep.has(rowKey)) actions.push(['delete', { partitionKey, rowKey }]);
    }
    for (let start = 0; start < actions.length; start += MAX_TRANSACTION_OPERATIONS) {
      await this.table.submitTransaction(actions.slice(start, start + MAX_TRANSACTION_OPERATIONS));
    }
    await this.table.upsertEntity(
      { partitionKey, rowKey: SWEEP_ROW, sweptAt: snapshot.sweptAt, count: snapshot.servicePrincipals.length },
      'Replace',
    );
    this.rowsLeft.add(partitionKey);
  }

  /**
   * Deletes the rows of a partition that `which` names, the sweep rows last, as a sweep writes them
   * last: a tenant half forgotten is swept again.
   */
  private async deleteRows(partitionKey: string, which: (rowKey: string) => boolean): Promise<void> {
    const filter = `PartitionKey eq '${partitionKey.replace(/'/g, "''")}'`;
    const actions: TransactionAction[] = [];
    for await (const entity of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } }))
      if (which(String(entity.rowKey))) actions.push(['delete', { partitionKey, rowKey: String(entity.rowKey) }]);
    const last = (action: TransactionAction) => Number(String(action[1].rowKey).startsWith(SWEEP_ROW));
    actions.sort((a, b) => last(a) - last(b));
    for (let start = 0; start < actions.length; start += MAX_TRANSACTION_OPERATIONS)
      await this.table.submitTransaction(actions.slice(start, start + MAX_TRANSACTION_OPERATIONS));
  }
}
