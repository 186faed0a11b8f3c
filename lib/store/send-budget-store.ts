import type { TableClient } from '@azure/data-tables';
import { allowsSend, parseSendLog, withSend, type SendBudget } from './send-budget';
import { isConflict, isNotFound, stored, tableCreator } from './table';

const BUDGET = 'budget';

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

/**
 * The send budget shared by every instance (lib/store/send-budget.ts does its arithmetic): one row
 * of the state table, `budget/sends`, updated under its ETag. It also keeps the pause ACS asks for
 * with a 429 (its Retry-After), so no instance sends before it has passed.
 */
export class SendBudgetStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /** The budget row: the send log, and the time before which ACS asked not to be sent to. */
  private async read(): Promise<BudgetRow | undefined> {
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
  private async write(read: BudgetRow | undefined, row: Omit<BudgetRow, 'etag'>, what: string): Promise<boolean> {
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
   * spent, or ACS asked for a pause (hold) that has not ended. The send log lives in one row,
   * updated under its ETag, so two instances cannot both take the last send.
   */
  async take(now: Date, budget: SendBudget): Promise<boolean> {
    await this.ensureTable();
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.read();
      const t = now.getTime();
      if (heldUntil(row, t) !== undefined) return false;
      const log = parseSendLog(row?.log ?? row?.times);
      if (!allowsSend(log, t, budget)) return false;
      const written = { log: JSON.stringify(withSend(log, t)), times: '', notBefore: row?.notBefore ?? '' };
      if (await this.write(row, written, 'taking a send from the budget')) return true;
    }
    return false;
  }

  /**
   * No instance sends before `until`: ACS answered 429 with this Retry-After. Kept in the budget
   * row every instance reads before a send; a later hold never shortens an earlier, longer one.
   */
  async hold(until: Date): Promise<void> {
    await this.ensureTable();
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.read();
      const kept = Date.parse(row?.notBefore ?? '');
      if (Number.isFinite(kept) && kept >= until.getTime()) return;
      const written = { log: row?.log ?? '', times: row?.times ?? '', notBefore: until.toISOString() };
      if (await this.write(row, written, 'holding the sends ACS throttled')) return;
    }
  }

  /** When sends may resume, if ACS asked for a pause that has not ended by `now`. */
  async heldUntil(now: Date): Promise<Date | undefined> {
    await this.ensureTable();
    const until = heldUntil(await this.read(), now.getTime());
    return until === undefined ? undefined : new Date(until);
  }
}
