import { TableClient, type TransactionAction } from '@azure/data-tables';
import type { NotificationItem, PlannedMessage } from '../model';
import {
  isConflict,
  isNotFound,
  MAX_TRANSACTION_OPERATIONS,
  PROPERTY_BUDGET_CHARS,
  StorageError,
  stored,
  tableCreator,
} from './table';

const OUTBOX = 'outbox';
/** Row keys of an email's item rows: `<email key>.items.000`, after its header row `<email key>`. */
const ITEMS = '.items.';

interface OutboxHeader {
  partitionKey: string;
  rowKey: string;
  recipients: string;
  plannedAt: string;
  failedAttempts: number;
  itemRows: number;
  part?: string;
  attempt?: string;
  /** A post to a channel instead of an email (JSON of PlannedChannel: setting names, never their values). */
  channel?: string;
  /** A route's daily digest (JSON). */
  digest?: string;
  /** Rows written before items had rows of their own hold the whole email here. */
  body?: string;
}

/**
 * The items of an email in rows of their own, each under the property limit: a mass incident's
 * email must always be storable, since an email that cannot be written down is never sent.
 */
export function itemRows(items: NotificationItem[], budget = PROPERTY_BUDGET_CHARS): NotificationItem[][] {
  const rows: NotificationItem[][] = [];
  let row: NotificationItem[] = [];
  let size = 2;
  for (const item of items) {
    const length = JSON.stringify(item).length + 1;
    if (row.length > 0 && size + length > budget) {
      rows.push(row);
      row = [];
      size = 2;
    }
    row.push(item);
    size += length;
  }
  if (row.length > 0 || rows.length === 0) rows.push(row);
  return rows;
}

function itemRowKey(key: string, index: number): string {
  return `${key}${ITEMS}${String(index).padStart(3, '0')}`;
}

function headerOf(email: PlannedMessage, rows: number): OutboxHeader {
  return {
    partitionKey: OUTBOX,
    rowKey: email.key,
    recipients: JSON.stringify(email.recipients),
    plannedAt: email.plannedAt,
    failedAttempts: email.failedAttempts,
    itemRows: rows,
    part: email.part ? JSON.stringify(email.part) : undefined,
    attempt: email.attempt ? JSON.stringify(email.attempt) : undefined,
    channel: email.channel ? JSON.stringify(email.channel) : undefined,
    digest: email.digest ? JSON.stringify(email.digest) : undefined,
  };
}

/**
 * The outbox: every message decided and written down before it is sent (emails, channel posts,
 * digests), in the `outbox` partition of the state table, until it has gone out. Every value has a
 * bound: a message's items are spread over rows that fit.
 */
export class OutboxStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /** Creates the table if needed: the first call of a cycle, so unreachable storage is found before anything else is done. */
  async ready(): Promise<void> {
    await this.ensureTable();
  }

  async list(): Promise<PlannedMessage[]> {
    await this.ensureTable();
    const rows = await stored(this.table, 'reading the outbox', async () => {
      const all: (OutboxHeader & { items?: string })[] = [];
      for await (const entity of this.table.listEntities<OutboxHeader & { items?: string }>({
        queryOptions: { filter: `PartitionKey eq '${OUTBOX}'` },
      }))
        all.push(entity);
      return all;
    });
    const items = new Map(
      rows
        .filter((r) => r.rowKey.includes(ITEMS))
        .map((r) => [r.rowKey, JSON.parse(r.items ?? '[]') as NotificationItem[]]),
    );
    const planned: PlannedMessage[] = [];
    for (const header of rows.filter((r) => !r.rowKey.includes(ITEMS))) {
      if (header.body !== undefined) {
        planned.push(JSON.parse(header.body) as PlannedMessage);
        continue;
      }
      const parts = Array.from({ length: header.itemRows }, (_, i) => items.get(itemRowKey(header.rowKey, i)));
      // The rows are written and deleted in one transaction, so a header never lacks its items;
      // should one (a row deleted by hand), the email is left where it is rather than sent short.
      if (parts.some((p) => p === undefined)) continue;
      const email: PlannedMessage = {
        key: header.rowKey,
        recipients: JSON.parse(header.recipients),
        items: parts.flat() as NotificationItem[],
        plannedAt: header.plannedAt,
        failedAttempts: header.failedAttempts ?? 0,
      };
      if (header.part) email.part = JSON.parse(header.part);
      if (header.attempt) email.attempt = JSON.parse(header.attempt);
      if (header.channel) email.channel = JSON.parse(header.channel);
      if (header.digest) email.digest = JSON.parse(header.digest);
      planned.push(email);
    }
    return planned.sort(
      (a, b) =>
        a.plannedAt.localeCompare(b.plannedAt) ||
        (a.part?.index ?? 0) - (b.part?.index ?? 0) ||
        a.key.localeCompare(b.key),
    );
  }

  /**
   * Writes a planned email: its header row and its item rows in one transaction, so it is there
   * whole or not at all. False when it is already planned (by an earlier cycle or another instance).
   */
  async plan(email: PlannedMessage): Promise<boolean> {
    await this.ensureTable();
    const rows = itemRows(email.items);
    if (rows.length + 1 > MAX_TRANSACTION_OPERATIONS)
      throw new StorageError(
        `email ${email.key} has too many items to plan in one transaction (${email.items.length})`,
        'rejected',
      );
    const actions: TransactionAction[] = [
      ['create', { ...headerOf(email, rows.length) }],
      ...rows.map((items, i): TransactionAction => [
        'create',
        { partitionKey: OUTBOX, rowKey: itemRowKey(email.key, i), items: JSON.stringify(items) },
      ]),
    ];
    try {
      await stored(this.table, `planning email ${email.key}`, () => this.table.submitTransaction(actions));
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  /** Updates what is known about a planned email's sending (attempts, the send in flight); its items never change. */
  async update(email: PlannedMessage): Promise<void> {
    await this.ensureTable();
    const header = {
      partitionKey: OUTBOX,
      rowKey: email.key,
      failedAttempts: email.failedAttempts,
      // Merge leaves a property out when it is undefined; an empty string clears it.
      attempt: email.attempt ? JSON.stringify(email.attempt) : '',
    };
    try {
      await stored(this.table, `updating email ${email.key}`, () => this.table.updateEntity(header, 'Merge'));
    } catch (error) {
      if (!isNotFound(error)) throw error; // already sent and removed by another instance
    }
  }

  /** Removes a sent email, its header and item rows at once. */
  async done(key: string): Promise<void> {
    await this.ensureTable();
    const rowKeys = await stored(this.table, `reading email ${key}`, async () => {
      const keys: string[] = [];
      const filter = `PartitionKey eq '${OUTBOX}' and RowKey ge '${key}' and RowKey le '${key}${ITEMS}~'`;
      for await (const entity of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } }))
        keys.push(entity.rowKey as string);
      return keys;
    });
    if (rowKeys.length === 0) return;
    const actions = rowKeys.map((rowKey): TransactionAction => ['delete', { partitionKey: OUTBOX, rowKey }]);
    try {
      await stored(this.table, `removing email ${key}`, () => this.table.submitTransaction(actions));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
