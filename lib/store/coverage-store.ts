import type { TableClient } from '@azure/data-tables';
import type { TenantCoverage } from '../model/coverage';
import { deleteIfPresent, isConflict, isNotFound, PROPERTY_BUDGET_CHARS, stored, tableCreator } from './table';

/**
 * Each tenant's coverage (lib/model/coverage.ts), one row in the state table: `coverage/<tenant>`
 * (and `coverage/workspace:<id>` for the KQL rules). It carries how long each check has been
 * degraded across restarts, instances and fan-out workers; the status view lists the rows, those
 * with a degraded check first, a bounded number of them.
 */
const PARTITION = 'coverage';

/** How often an unchanged coverage is written again, so the status view's "checked at" stays near the truth. */
const COVERAGE_REFRESH_MS = 3600_000;

/** Table keys may not hold / \ # ? or control characters. */
function rowKeyOf(subject: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return subject.toLowerCase().replace(/[/\\#?\u0000-\u001f\u007f-\u009f]/g, '_');
}

type Entity = { partitionKey: string; rowKey: string; degraded: number; body: string };

export interface StoredCoverage {
  coverage: TenantCoverage;
  etag?: string;
}

/** The coverage as one JSON property: the checks past what one property holds are dropped, and the last says so. */
function bodyOf(coverage: TenantCoverage): string {
  let body = JSON.stringify(coverage);
  for (
    let keep = coverage.checks.length - 1;
    body.length > PROPERTY_BUDGET_CHARS && keep >= 1;
    keep = Math.floor(keep / 2)
  ) {
    const dropped = coverage.checks.slice(keep);
    const state = dropped.some((c) => c.state === 'degraded') ? 'degraded' : 'active';
    body = JSON.stringify({
      ...coverage,
      checks: [
        ...coverage.checks.slice(0, keep),
        { check: `${dropped.length} more`, state, note: 'not kept: too many checks for one table row' },
      ],
    });
  }
  return body;
}

/**
 * Whether a coverage is worth writing over the one stored: it says something else (the time it was
 * computed aside), or the stored one was written over an hour ago. A fleet whose coverage does not
 * change costs one write per tenant an hour, not one per cycle.
 */
export function worthWriting(before: TenantCoverage | undefined, after: TenantCoverage): boolean {
  if (!before) return true;
  if (Date.parse(after.checkedAt) - Date.parse(before.checkedAt) >= COVERAGE_REFRESH_MS) return true;
  return JSON.stringify({ ...before, checkedAt: '' }) !== JSON.stringify({ ...after, checkedAt: '' });
}

export class CoverageStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  async load(subject: string): Promise<StoredCoverage | undefined> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, `reading the coverage of ${subject}`, () =>
        this.table.getEntity<Entity>(PARTITION, rowKeyOf(subject)),
      );
      return { coverage: JSON.parse(row.body) as TenantCoverage, etag: row.etag };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Writes a coverage under the ETag it was read with (none: a new row). Another instance that
   * wrote first keeps its row (it read the same tenant at the same time): returns false then.
   */
  async save(coverage: TenantCoverage, etag: string | undefined): Promise<boolean> {
    await this.ensureTable();
    const entity: Entity = {
      partitionKey: PARTITION,
      rowKey: rowKeyOf(coverage.subject),
      degraded: coverage.checks.filter((c) => c.state === 'degraded').length,
      body: bodyOf(coverage),
    };
    try {
      await stored(this.table, `recording the coverage of ${coverage.subject}`, () =>
        etag ? this.table.updateEntity(entity, 'Replace', { etag }) : this.table.createEntity(entity),
      );
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  /**
   * Up to `limit` coverages, those with a degraded check first, and how many rows there are in all:
   * a status view of thousands of tenants reads what it shows, not every row.
   */
  async list(limit: number): Promise<{ coverages: TenantCoverage[]; total: number }> {
    await this.ensureTable();
    return stored(this.table, 'listing the coverage', async () => {
      const coverages: TenantCoverage[] = [];
      for (const filter of [
        `PartitionKey eq '${PARTITION}' and degraded gt 0`,
        `PartitionKey eq '${PARTITION}' and degraded eq 0`,
      ]) {
        if (coverages.length >= limit) break;
        for await (const row of this.table.listEntities<Entity>({ queryOptions: { filter } })) {
          coverages.push(JSON.parse(row.body) as TenantCoverage);
          if (coverages.length >= limit) break;
        }
      }
      let total = 0;
      for await (const page of this.table
        .listEntities({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'`, select: ['RowKey'] } })
        .byPage({ maxPageSize: 1000 }))
        total += page.length;
      return { coverages, total };
    });
  }

  /** The subjects it keeps a coverage for (lower-cased), for forgetting tenants no longer watched. */
  async subjects(): Promise<string[]> {
    await this.ensureTable();
    return stored(this.table, 'listing the coverage', async () => {
      const subjects: string[] = [];
      for await (const row of this.table.listEntities({
        queryOptions: { filter: `PartitionKey eq '${PARTITION}'`, select: ['RowKey'] },
      }))
        subjects.push(String(row.rowKey));
      return subjects;
    });
  }

  async forget(subject: string): Promise<void> {
    await this.ensureTable();
    await deleteIfPresent(this.table, PARTITION, rowKeyOf(subject), `forgetting the coverage of ${subject}`);
  }
}
