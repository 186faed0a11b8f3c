import { TableClient, type TransactionAction } from '@azure/data-tables';
import type { CycleSummary, NotificationItem, PlannedEmail } from '../model';
import { allowsSend, parseSendLog, withSend, type SendBudget } from '../notify/budget';
import {
  isConflict,
  isNotFound,
  MAX_TRANSACTION_OPERATIONS,
  PROPERTY_BUDGET_CHARS,
  StorageError,
  stored,
  tableCreator,
} from './table';

export const STATE_TABLE = 'SyncWatchState';

export type { PlannedEmail } from '../model';

const OUTBOX = 'outbox';
/** The send budget's row: the send log (`log`, or an older row's `times`) and ACS's pause (`notBefore`, ISO, '' for none). */
interface BudgetRow {
  log?: string;
  times?: string;
  notBefore?: string;
  etag?: string;
}

/** The end of ACS's pause, in epoch ms, if it has not ended by `now`. */
function heldUntil(row: BudgetRow | undefined, now: number): number | undefined {
  const until = Date.parse(row?.notBefore ?? '');
  return Number.isFinite(until) && until > now ? until : undefined;
}

const BUDGET = 'budget';
const CYCLE = 'cycle';
/** How many cycle summaries the status view keeps (one row, so one read): the last hour at the default schedule. */
export const RECENT_CYCLES_KEPT = 12;

/** A cycle summary as the status view keeps it: long problem lists are cut, and say by how much. */
export type RememberedCycle = CycleSummary & { omitted?: { errors: number; tenantsUnreadable: number } };

const LEASE = 'lease';
/** Per route, the local date of the last daily digest planned (lib/digest/digest.ts). */
const DIGEST = 'digest';
/** The partition of the row that remembers which tenants the last cycle watched (lib/cycle.ts, offboarding). */
const WATCHED = 'watched-tenants';
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

/** Who holds the planning lease and until when (wall-clock ISO time of the holder's deadline). */
export interface LeaseHolder {
  holder: string;
  until: string;
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

function headerOf(email: PlannedEmail, rows: number): OutboxHeader {
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
 * Everything besides alerts that the next cycle (or another instance) needs: planned emails and
 * channel posts (the outbox), the send budget shared by all instances, the planning lease, and the cycle summaries
 * for a status view. Every value has a bound: an email's items are spread over rows that fit.
 */
export class StateStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /** Creates the table if needed: the first call of a cycle, so unreachable storage is found before anything else is done. */
  async ready(): Promise<void> {
    await this.ensureTable();
  }

  async listPlanned(): Promise<PlannedEmail[]> {
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
    const planned: PlannedEmail[] = [];
    for (const header of rows.filter((r) => !r.rowKey.includes(ITEMS))) {
      if (header.body !== undefined) {
        planned.push(JSON.parse(header.body) as PlannedEmail);
        continue;
      }
      const parts = Array.from({ length: header.itemRows }, (_, i) => items.get(itemRowKey(header.rowKey, i)));
      // The rows are written and deleted in one transaction, so a header never lacks its items;
      // should one (a row deleted by hand), the email is left where it is rather than sent short.
      if (parts.some((p) => p === undefined)) continue;
      const email: PlannedEmail = {
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
  async plan(email: PlannedEmail): Promise<boolean> {
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
  async updatePlanned(email: PlannedEmail): Promise<void> {
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
  async donePlanned(key: string): Promise<void> {
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

  /** The budget row: the send log, and the time before which ACS asked not to be sent to (its 429's Retry-After). */
  private async readBudget(): Promise<BudgetRow | undefined> {
    try {
      return await stored(this.table, 'reading the send budget', () =>
        this.table.getEntity<BudgetRow>(BUDGET, 'sends'),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return undefined;
    }
  }

  /** Writes the budget row under the ETag it was read with; false when another instance changed it first. */
  private async writeBudget(read: BudgetRow | undefined, row: Omit<BudgetRow, 'etag'>, what: string): Promise<boolean> {
    const entity = { partitionKey: BUDGET, rowKey: 'sends', ...row };
    try {
      await stored(this.table, what, () =>
        read?.etag ? this.table.updateEntity(entity, 'Replace', { etag: read.etag }) : this.table.createEntity(entity),
      );
      return true;
    } catch (error) {
      if (!isConflict(error)) throw error;
      return false;
    }
  }

  /**
   * Takes one send from the budget shared by every instance, or says none is left: the budget is
   * spent, or ACS asked for a pause (holdSends) that has not ended. The send log lives in one row,
   * updated under its ETag, so two instances cannot both take the last send.
   */
  async takeSend(now: Date, budget: SendBudget): Promise<boolean> {
    await this.ensureTable();
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.readBudget();
      const t = now.getTime();
      if (heldUntil(row, t) !== undefined) return false;
      const log = parseSendLog(row?.log ?? row?.times);
      if (!allowsSend(log, t, budget)) return false;
      const written = { log: JSON.stringify(withSend(log, t)), times: '', notBefore: row?.notBefore ?? '' };
      if (await this.writeBudget(row, written, 'taking a send from the budget')) return true;
    }
    return false;
  }

  /**
   * No instance sends before `until`: ACS answered 429 with this Retry-After. Kept in the budget
   * row every instance reads before a send; a later hold never shortens an earlier, longer one.
   */
  async holdSends(until: Date): Promise<void> {
    await this.ensureTable();
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.readBudget();
      const kept = Date.parse(row?.notBefore ?? '');
      if (Number.isFinite(kept) && kept >= until.getTime()) return;
      const written = { log: row?.log ?? '', times: row?.times ?? '', notBefore: until.toISOString() };
      if (await this.writeBudget(row, written, 'holding the sends ACS throttled')) return;
    }
  }

  /** When sends may resume, if ACS asked for a pause that has not ended by `now`. */
  async sendsHeldUntil(now: Date): Promise<Date | undefined> {
    await this.ensureTable();
    const until = heldUntil(await this.readBudget(), now.getTime());
    return until === undefined ? undefined : new Date(until);
  }

  /**
   * Takes (or renews) the planning lease for `holder` until `until`, under the row's ETag: only one
   * instance plans and sends at a time. A lease past its time is free (its holder died or overran
   * its own deadline, after which it sends nothing). Returns the other holder when it is taken.
   */
  async takeLease(
    holder: string,
    now: Date,
    until: Date,
  ): Promise<{ taken: true } | { taken: false; by: LeaseHolder }> {
    await this.ensureTable();
    for (let attempt = 0; attempt < 5; attempt++) {
      let row: (LeaseHolder & { etag?: string }) | undefined;
      try {
        row = await stored(this.table, 'reading the planning lease', () =>
          this.table.getEntity<LeaseHolder>(LEASE, 'planning'),
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (row && row.holder !== holder && Date.parse(row.until) > now.getTime())
        return { taken: false, by: { holder: row.holder, until: row.until } };
      const entity = { partitionKey: LEASE, rowKey: 'planning', holder, until: until.toISOString() };
      try {
        await stored(this.table, 'taking the planning lease', () =>
          row?.etag ? this.table.updateEntity(entity, 'Replace', { etag: row.etag }) : this.table.createEntity(entity),
        );
        return { taken: true };
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    const current = await stored(this.table, 'reading the planning lease', () =>
      this.table.getEntity<LeaseHolder>(LEASE, 'planning'),
    ).catch(() => undefined);
    return {
      taken: false,
      by: { holder: current?.holder ?? 'another instance', until: current?.until ?? now.toISOString() },
    };
  }

  /** Gives the lease back if `holder` still has it. */
  async releaseLease(holder: string): Promise<void> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, 'reading the planning lease', () =>
        this.table.getEntity<LeaseHolder>(LEASE, 'planning'),
      );
      if (row.holder !== holder) return;
      await stored(this.table, 'releasing the planning lease', () =>
        this.table.deleteEntity(LEASE, 'planning', { etag: row.etag }),
      );
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }

  /** The fingerprint of the tenant list the state was last cleaned up for (offboarding), if any. */
  async watchedTenantsKey(): Promise<string | undefined> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, 'reading the watched tenant list', () =>
        this.table.getEntity<{ key: string }>(WATCHED, 'current'),
      );
      return row.key;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async setWatchedTenantsKey(key: string, tenants: number): Promise<void> {
    await this.ensureTable();
    await stored(this.table, 'recording the watched tenant list', () =>
      this.table.upsertEntity({ partitionKey: WATCHED, rowKey: 'current', key, tenants }, 'Replace'),
    );
  }

  /** The local date (`2026-11-27`) of the last daily digest planned for a route, if any. */
  async lastDigest(routeId: string): Promise<string | undefined> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, `reading the digest date of route ${routeId}`, () =>
        this.table.getEntity<{ date: string }>(DIGEST, routeId),
      );
      return row.date;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Notes that a route's digest for `date` is planned (it is in the outbox, which delivers it), so
   * no cycle or instance plans it again once it has been sent and left the outbox.
   */
  async markDigest(routeId: string, date: string): Promise<void> {
    await this.ensureTable();
    await stored(this.table, `recording the digest date of route ${routeId}`, () =>
      this.table.upsertEntity({ partitionKey: DIGEST, rowKey: routeId, date }, 'Replace'),
    );
  }

  async recordCycle(record: CycleSummary): Promise<void> {
    await this.ensureTable();
    // Errors are the unbounded part of a summary (one line per failing tenant); the status view needs the first ones.
    const errors =
      record.errors.length > 50
        ? [...record.errors.slice(0, 50), `… and ${record.errors.length - 50} more`]
        : record.errors;
    let body = JSON.stringify({ ...record, errors });
    if (body.length > PROPERTY_BUDGET_CHARS)
      body = JSON.stringify({ ...record, errors: [`${record.errors.length} problem(s); see the cycle's log`] });
    await stored(this.table, 'recording the cycle summary', () =>
      this.table.upsertEntity({ partitionKey: CYCLE, rowKey: 'latest', body }, 'Replace'),
    );
    await this.rememberCycle(record);
  }

  /** The last cycles, newest first, for the status view (problems trimmed to fit one row). */
  async recentCycles(): Promise<RememberedCycle[]> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, 'reading the recent cycles', () =>
        this.table.getEntity<{ body: string }>(CYCLE, 'recent'),
      );
      return JSON.parse(row.body) as RememberedCycle[];
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  /**
   * Adds a summary to the recent ones. One row holds them all (a property holds 32 K characters),
   * so each keeps at most a few problems; the status view says how many there were. A plain
   * read-modify-write: two cycles that finish at the same moment can lose one line of this
   * informational row, never an alert or an email.
   */
  private async rememberCycle(record: CycleSummary): Promise<void> {
    const trimmed: RememberedCycle = {
      ...record,
      tenantsUnreadable: record.tenantsUnreadable.slice(0, 20),
      errors: record.errors.slice(0, 3).map((e) => (e.length > 300 ? `${e.slice(0, 299)}…` : e)),
      ...(record.errors.length > 3 || record.tenantsUnreadable.length > 20
        ? {
            omitted: {
              errors: Math.max(0, record.errors.length - 3),
              tenantsUnreadable: Math.max(0, record.tenantsUnreadable.length - 20),
            },
          }
        : {}),
    };
    const recent = [trimmed, ...(await this.recentCycles())].slice(0, RECENT_CYCLES_KEPT);
    await stored(this.table, 'recording the recent cycles', () =>
      this.table.upsertEntity({ partitionKey: CYCLE, rowKey: 'recent', body: JSON.stringify(recent) }, 'Replace'),
    );
  }

  /** The last cycle's summary, for a status view. */
  async latestCycle(): Promise<CycleSummary | undefined> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, 'reading the cycle summary', () =>
        this.table.getEntity<{ body: string }>(CYCLE, 'latest'),
      );
      return JSON.parse(row.body) as CycleSummary;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
