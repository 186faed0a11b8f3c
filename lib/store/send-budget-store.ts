import type { TableClient } from '@azure/data-tables';
import { allowsSend, parseSendLog, withSend, type SendBudget } from './send-budget';
import { isConflict, isNotFound, stored, tableCreator } from './table';

const BUDGET = 'budget';

/**
 * The send budget shared by every instance (lib/store/send-budget.ts does its arithmetic): one row
 * of the state table, `budget/sends`, updated under its ETag.
 */
export class SendBudgetStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /**
   * Takes one send from the budget shared by every instance, or says none is left. The send log
   * lives in one row, updated under its ETag, so two instances cannot both take the last send.
   */
  async take(now: Date, budget: SendBudget): Promise<boolean> {
    await this.ensureTable();
    for (let attempt = 0; attempt < 5; attempt++) {
      let row: { log?: string; times?: string; etag?: string } | undefined;
      try {
        row = await stored(this.table, 'reading the send budget', () =>
          this.table.getEntity<{ log?: string; times?: string }>(BUDGET, 'sends'),
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      const log = parseSendLog(row?.log ?? row?.times);
      const t = now.getTime();
      if (!allowsSend(log, t, budget)) return false;
      const entity = { partitionKey: BUDGET, rowKey: 'sends', log: JSON.stringify(withSend(log, t)), times: '' };
      try {
        await stored(this.table, 'taking a send from the budget', () =>
          row?.etag ? this.table.updateEntity(entity, 'Replace', { etag: row.etag }) : this.table.createEntity(entity),
        );
        return true;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    return false;
  }
}
