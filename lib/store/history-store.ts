import type { TableClient, TransactionAction } from '@azure/data-tables';
import { marksOf, type HistoryMarks, type JobHistory } from '../model/history';
import {
  deleteIfPresent,
  isNotFound,
  MAX_TRANSACTION_OPERATIONS,
  PROPERTY_BUDGET_CHARS,
  stored,
  tableCreator,
} from './table';
import { mapLimit } from '../util/map-limit';

/**
 * Each job's history across runs (lib/model/history.ts), one row in the state table: partition
 * `history_<tenant>`, row `<job id>`, the history as one JSON property, and a `~marks_<tenant>`
 * row with what each history ends with (HistoryMarks). A cycle reads the tenant's marks row (one
 * point read); only the histories of the jobs that have something to add are read, each by its
 * key; the rows that changed are written with the marks row in one transaction, so the two
 * never disagree. Point reads, not a partition query: Table Storage serves them from the key
 * alone, and the local emulator (Azurite) answers a query by testing every row of the table,
 * which at 10,000 tenants took most of a cycle (docs/scale.md). A job row is bounded
 * (boundedBody): at most PROPERTY_BUDGET_CHARS, whatever the counters hold.
 */

/** Table keys may not hold / \ # ? or control characters. */
function keyOf(text: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return text.toLowerCase().replace(/[/\\#?\u0000-\u001f\u007f-\u009f]/g, '_');
}

const partitionOf = (tenantId: string) => `history_${keyOf(tenantId)}`;

/** A job's row key: never starting with `~` (Graph's job ids are untrusted), which the marks row's does. */
function jobKey(jobId: string): string {
  const key = keyOf(jobId);
  return key.startsWith('~') ? `_${key}` : key;
}

/**
 * The row of a tenant's marks: `~` sorts after every job's row key (jobKey). The tenant is in the
 * key too: Azurite (the local emulator) finds a row by its row key first, and a key every
 * partition shares made each read test every tenant's row (12 ms at 10,000 tenants, against
 * 1.4 ms; Azure finds a row by both keys).
 */
const marksRow = (tenantId: string) => `~marks_${keyOf(tenantId)}`;
const isMarksRow = (rowKey: string) => rowKey.startsWith('~marks');

/** Histories read by their keys at once per tenant. */
const READS_AT_ONCE = 8;

/**
 * `marks`: what tells, without the history, whether a cycle has something to add to it: its newest
 * run's end and the hour being learnt with its figure (`<run at>|<hour>|<failures>`, each blank
 * when absent). Rows written before it have none: they are read in full, and get it when written.
 */
type Entity = { partitionKey: string; rowKey: string; tenantId: string; jobId: string; body: string; marks?: string };

function marksText({ lastRunAt, open }: HistoryMarks): string {
  return `${lastRunAt ?? ''}|${open?.hour ?? ''}|${open?.failures ?? ''}`;
}

function parsedMarks(text: string | undefined): HistoryMarks | undefined {
  const match = /^(\d*)\|(\d*)\|(\d*)$/.exec(text ?? '');
  if (!match) return undefined;
  const [, at, hour, failures] = match;
  return {
    ...(at ? { lastRunAt: Number(at) } : {}),
    ...(hour && failures ? { open: { hour: Number(hour), failures: Number(failures) } } : {}),
  };
}

/**
 * The history as stored: its JSON, and if that is past the budget, with its oldest runs and hours
 * dropped until it fits (each halving keeps the newest, which the forecast and baseline need most).
 */
export function boundedBody(history: JobHistory): string {
  let body = JSON.stringify(history);
  let copy = history;
  while (body.length > PROPERTY_BUDGET_CHARS && (copy.runs.length > 0 || copy.profile.hours.length > 0)) {
    copy = {
      ...copy,
      runs: copy.runs.slice(Math.ceil(copy.runs.length / 2)),
      profile: { ...copy.profile, hours: copy.profile.hours.slice(Math.ceil(copy.profile.hours.length / 2)) },
    };
    body = JSON.stringify(copy);
  }
  if (body.length > PROPERTY_BUDGET_CHARS)
    body = JSON.stringify({ ...copy, profile: { ...copy.profile, byHourOfWeek: {} } });
  return body;
}

/** The marks row's JSON (job id → marks text), or undefined when it is damaged. */
function marksByJob(text: string | undefined): Map<string, HistoryMarks> | undefined {
  try {
    const value = JSON.parse(text ?? '') as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const marks = new Map<string, HistoryMarks>();
    for (const [jobId, mark] of Object.entries(value as Record<string, unknown>)) {
      const parsedMark = typeof mark === 'string' ? parsedMarks(mark) : undefined;
      if (parsedMark) marks.set(jobId, parsedMark);
    }
    return marks;
  } catch {
    return undefined;
  }
}

function jobRow(tenantId: string, jobId: string, history: JobHistory): Entity {
  return {
    partitionKey: partitionOf(tenantId),
    rowKey: jobKey(jobId),
    tenantId,
    jobId,
    body: boundedBody(history),
    marks: marksText(marksOf(history)),
  };
}

function parsed(body: string): JobHistory | undefined {
  try {
    const value = JSON.parse(body) as JobHistory;
    return value?.version === 1 && Array.isArray(value.runs) && Array.isArray(value.profile?.hours) ? value : undefined;
  } catch {
    return undefined;
  }
}

export class HistoryStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /**
   * The histories of a tenant's jobs, by job id: of the jobs given (each by its key; a job with no
   * row has none), or every one kept (a partition query). A row that cannot be read starts afresh.
   */
  async load(tenantId: string, jobIds?: string[]): Promise<Map<string, JobHistory>> {
    await this.ensureTable();
    if (!jobIds) return this.loadAll(tenantId);
    const histories = new Map<string, JobHistory>();
    await mapLimit(jobIds, READS_AT_ONCE, async (jobId) => {
      const row = await this.row(tenantId, jobKey(jobId), `reading the history of job ${jobId}`);
      const history = row && parsed(row.body);
      if (history) histories.set(jobId, history);
    });
    return histories;
  }

  /**
   * What each of a tenant's job histories ends with, by job id, without the histories (a few
   * characters a job instead of up to PROPERTY_BUDGET_CHARS): from the marks row, or, for a tenant
   * whose histories were written before it (or too many jobs for one row), from each job's row. A
   * job whose row has no marks (written before them, or unreadable) is left out, as if it had no history.
   */
  async marks(tenantId: string): Promise<Map<string, HistoryMarks>> {
    await this.ensureTable();
    const row = await this.row(tenantId, marksRow(tenantId), `reading what the job histories of ${tenantId} end with`);
    const byJob = row && marksByJob(row.marks);
    if (byJob) return byJob;
    return stored(this.table, `reading what the job histories of ${tenantId} end with`, async () => {
      const marks = new Map<string, HistoryMarks>();
      const filter = `PartitionKey eq '${partitionOf(tenantId).replace(/'/g, "''")}'`;
      for await (const entity of this.table.listEntities<Entity>({
        queryOptions: { filter, select: ['RowKey', 'jobId', 'marks'] },
      })) {
        const mark = isMarksRow(entity.rowKey) ? undefined : parsedMarks(entity.marks);
        if (mark) marks.set(entity.jobId, mark);
      }
      return marks;
    });
  }

  /**
   * Writes the histories that changed and the tenant's marks row (`ending`: what each of the
   * tenant's histories ends with, by job id), in transactions of the tenant's partition, the marks
   * row in the last: a marks row never promises a history that was not written. When the marks do
   * not fit one row, the row is removed instead, and marks are read from each job's row.
   */
  async saveTenant(
    tenantId: string,
    changed: [string, JobHistory][],
    ending: Map<string, HistoryMarks>,
  ): Promise<void> {
    await this.ensureTable();
    const partitionKey = partitionOf(tenantId);
    const marks = JSON.stringify(Object.fromEntries([...ending].map(([jobId, mark]) => [jobId, marksText(mark)])));
    // One action per row: job ids that differ only in case share a row (the last one is kept, as
    // separate writes kept it), and a transaction naming a row twice is refused whole.
    const rows = new Map(changed.map(([jobId, history]) => [jobKey(jobId), jobRow(tenantId, jobId, history)]));
    const actions: TransactionAction[] = [...rows.values()].map((row) => ['upsert', row, 'Replace']);
    if (marks.length <= PROPERTY_BUDGET_CHARS)
      actions.push(['upsert', { partitionKey, rowKey: marksRow(tenantId), marks }, 'Replace']);
    // Too many jobs for one row: the marks row goes first, so none is left promising less than the rows hold.
    else await this.forgetMarks(tenantId);
    for (let start = 0; start < actions.length; start += MAX_TRANSACTION_OPERATIONS) {
      const part = actions.slice(start, start + MAX_TRANSACTION_OPERATIONS);
      await stored(this.table, `recording the job histories of ${tenantId}`, () => this.table.submitTransaction(part));
    }
  }

  private async forgetMarks(tenantId: string): Promise<void> {
    await deleteIfPresent(
      this.table,
      partitionOf(tenantId),
      marksRow(tenantId),
      `removing the marks row of ${tenantId}`,
    );
  }

  private async loadAll(tenantId: string): Promise<Map<string, JobHistory>> {
    return stored(this.table, `reading the job histories of ${tenantId}`, async () => {
      const histories = new Map<string, JobHistory>();
      const filter = `PartitionKey eq '${partitionOf(tenantId).replace(/'/g, "''")}'`;
      for await (const row of this.table.listEntities<Entity>({ queryOptions: { filter } })) {
        const history = isMarksRow(row.rowKey) ? undefined : parsed(row.body);
        if (history) histories.set(row.jobId, history);
      }
      return histories;
    });
  }

  /** One row of the tenant's partition, or undefined when there is none. */
  private async row(tenantId: string, rowKey: string, what: string): Promise<Entity | undefined> {
    try {
      return await stored(this.table, what, () => this.table.getEntity<Entity>(partitionOf(tenantId), rowKey));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Up to `limit` histories of every tenant, for the status view, and how many rows there are in all. */
  async list(
    limit: number,
  ): Promise<{ histories: { tenantId: string; jobId: string; history: JobHistory }[]; total: number }> {
    await this.ensureTable();
    return stored(this.table, 'listing the job histories', async () => {
      const histories: { tenantId: string; jobId: string; history: JobHistory }[] = [];
      let total = 0;
      // Every partition `history_...`: from the prefix up to the character after `_`.
      const filter = "PartitionKey ge 'history_' and PartitionKey lt 'history`'";
      for await (const row of this.table.listEntities<Entity>({ queryOptions: { filter } })) {
        if (isMarksRow(row.rowKey)) continue;
        total++;
        const history = histories.length < limit ? parsed(row.body) : undefined;
        if (history) histories.push({ tenantId: row.tenantId, jobId: row.jobId, history });
      }
      return { histories, total };
    });
  }

  async forget(tenantId: string): Promise<void> {
    await this.ensureTable();
    const filter = `PartitionKey eq '${partitionOf(tenantId).replace(/'/g, "''")}'`;
    for await (const row of this.table.listEntities<Entity>({ queryOptions: { filter, select: ['RowKey'] } })) {
      await deleteIfPresent(this.table, partitionOf(tenantId), String(row.rowKey));
    }
  }
}
