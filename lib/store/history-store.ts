import type { TableClient } from '@azure/data-tables';
import { marksOf, type HistoryMarks, type JobHistory } from '../model/history';
import { isNotFound, PROPERTY_BUDGET_CHARS, stored, tableCreator } from './table';

/**
 * Each job's history across runs (lib/model/history.ts), one row in the state table:
 * partition `history/<tenant>`, row `<job id>`, the history as one JSON property. A tenant's
 * histories are read in one query a cycle; a job's row is written when its history changed.
 * The row is bounded (boundedBody): at most PROPERTY_BUDGET_CHARS, whatever the counters hold.
 */

/** Table keys may not hold / \ # ? or control characters. */
function keyOf(text: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return text.toLowerCase().replace(/[/\\#?\u0000-\u001f\u007f-\u009f]/g, '_');
}

const partitionOf = (tenantId: string) => `history_${keyOf(tenantId)}`;

/**
 * `marks`: what tells, without the history, whether a cycle has something to add to it: its newest
 * run's end and the hour being learnt with its figure (`<run at>|<hour>|<failures>`, each blank
 * when absent). Rows written before it have none: they are read in full, and get it when written.
 */
type Entity = { partitionKey: string; rowKey: string; tenantId: string; jobId: string; body: string; marks?: string };

function marksText(history: JobHistory): string {
  const { lastRunAt, open } = marksOf(history);
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

  /** Every job history kept for a tenant, by job id (a row that cannot be read starts afresh). */
  async load(tenantId: string): Promise<Map<string, JobHistory>> {
    await this.ensureTable();
    return stored(this.table, `reading the job histories of ${tenantId}`, async () => {
      const histories = new Map<string, JobHistory>();
      const filter = `PartitionKey eq '${partitionOf(tenantId).replace(/'/g, "''")}'`;
      for await (const row of this.table.listEntities<Entity>({ queryOptions: { filter } })) {
        const history = parsed(row.body);
        if (history) histories.set(row.jobId, history);
      }
      return histories;
    });
  }

  /**
   * What each of a tenant's job histories ends with, by job id, without the histories (a few
   * characters a job instead of up to PROPERTY_BUDGET_CHARS): a job whose row has no marks (written
   * before them, or unreadable) is left out, as if it had no history.
   */
  async marks(tenantId: string): Promise<Map<string, HistoryMarks>> {
    await this.ensureTable();
    return stored(this.table, `reading what the job histories of ${tenantId} end with`, async () => {
      const marks = new Map<string, HistoryMarks>();
      const filter = `PartitionKey eq '${partitionOf(tenantId).replace(/'/g, "''")}'`;
      for await (const row of this.table.listEntities<Entity>({
        queryOptions: { filter, select: ['jobId', 'marks'] },
      })) {
        const mark = parsedMarks(row.marks);
        if (mark) marks.set(row.jobId, mark);
      }
      return marks;
    });
  }

  async save(tenantId: string, jobId: string, history: JobHistory): Promise<void> {
    await this.ensureTable();
    const entity: Entity = {
      partitionKey: partitionOf(tenantId),
      rowKey: keyOf(jobId),
      tenantId,
      jobId,
      body: boundedBody(history),
      marks: marksText(history),
    };
    await stored(this.table, `recording the history of job ${jobId}`, () => this.table.upsertEntity(entity, 'Replace'));
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
      try {
        await this.table.deleteEntity(partitionOf(tenantId), String(row.rowKey));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }
}
