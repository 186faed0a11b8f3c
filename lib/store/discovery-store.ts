import { TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { tableCreator } from './table';

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

const SWEEP_ROW = '~sweep';
/** Table Storage takes at most 100 actions per transaction, all in one partition. */
const TRANSACTION_LIMIT = 100;

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

/** A JSON object of strings from a row, or {} when it is absent or damaged. */
function stringMap(text: string | undefined): Record<string, string> {
  try {
    const parsed = JSON.parse(text ?? '{}') as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function fromEntity(entity: ServicePrincipalEntity): KnownServicePrincipal {
  let jobsFirstSeen: Record<string, string> = {};
  try {
    const parsed = JSON.parse(entity.jobsFirstSeen) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      jobsFirstSeen = parsed as Record<string, string>;
  } catch {
    // A damaged row loses its first-seen times only: they start again from now.
  }
  const sp: KnownServicePrincipal = {
    id: entity.spId,
    appId: entity.appId ?? '',
    displayName: entity.displayName ?? entity.spId,
    jobsFirstSeen,
  };
  if (entity.applicationTemplateId) sp.applicationTemplateId = entity.applicationTemplateId;
  if (entity.missingSince) sp.missingSince = entity.missingSince;
  if (entity.jobsMissingSince) sp.jobsMissingSince = stringMap(entity.jobsMissingSince);
  return sp;
}

/**
 * The discovery cache in Table Storage (table `SyncWatchDiscovery`): one partition per tenant,
 * one row per known service principal and a `~sweep` row with the time of the last sweep. The
 * sweep row is written last, so a sweep that dies half-way is simply done again.
 */
export class DiscoveryStore implements DiscoveryCache {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  async load(tenantId: string): Promise<DiscoverySnapshot | undefined> {
    await this.ensureTable();
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

  async saveSweep(tenantId: string, snapshot: DiscoverySnapshot): Promise<void> {
    await this.ensureTable();
    const partitionKey = safeKey(tenantId);
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
    for (let start = 0; start < actions.length; start += TRANSACTION_LIMIT) {
      await this.table.submitTransaction(actions.slice(start, start + TRANSACTION_LIMIT));
    }
    await this.table.upsertEntity(
      { partitionKey, rowKey: SWEEP_ROW, sweptAt: snapshot.sweptAt, count: snapshot.servicePrincipals.length },
      'Replace',
    );
  }

  async saveServicePrincipal(tenantId: string, sp: KnownServicePrincipal): Promise<void> {
    await this.ensureTable();
    await this.table.upsertEntity(toEntity(tenantId, sp), 'Replace');
  }

  async forgetServicePrincipal(tenantId: string, spId: string): Promise<void> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(safeKey(tenantId), safeKey(spId));
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
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
    const partitionKey = safeKey(tenantId);
    const filter = `PartitionKey eq '${partitionKey.replace(/'/g, "''")}'`;
    const actions: TransactionAction[] = [];
    for await (const entity of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } }))
      actions.push(['delete', { partitionKey, rowKey: String(entity.rowKey) }]);
    // The sweep row last, as saveSweep writes it last: a half-forgotten tenant is swept again.
    actions.sort((a, b) => Number(a[1].rowKey === SWEEP_ROW) - Number(b[1].rowKey === SWEEP_ROW));
    for (let start = 0; start < actions.length; start += TRANSACTION_LIMIT)
      await this.table.submitTransaction(actions.slice(start, start + TRANSACTION_LIMIT));
  }
}
