import { randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { deleteIfPresent, isConflict, isNotFound, PROPERTY_BUDGET_CHARS, stored, tableCreator } from './table';
import type { LinkPurpose } from '../util/signed-links';

/**
 * The ledger of link uses (table SyncWatchLinkLedger): one row per link that was used, keyed by the
 * link's id, so a link is used once however many instances race for it. Claiming inserts the row
 * only if it is absent (Table Storage answers 409 to the second insert, whichever instance makes
 * it); later changes to a use are conditional on its ETag. A use carries a record of its holder's
 * (a decision's audit, who snoozed), kept with the claim in one row so the two can never disagree.
 *
 * Beside the uses, a purpose can write notes (refused attempts, for the audit), newest first.
 *
 * Rows outlive the alert store's cleanup: each keeps until its own `keepUntil` (at least until
 * its link expired, so a replay is refused as used, not let through), and `sweep` deletes the
 * rest.
 *
 *   PartitionKey `use-<purpose>`,  RowKey <link id>
 *   PartitionKey `note-<purpose>`, RowKey <inverted time>-<random>
 */

export const LINK_LEDGER_TABLE = 'SyncWatchLinkLedger';

export interface LinkUse<T> {
  purpose: LinkPurpose;
  linkId: string;
  /** When it was claimed (ISO). */
  claimedAt: string;
  /** When the link itself expires (ISO). */
  expiresAt: string;
  /** When the row may be deleted (ISO); never before expiresAt. */
  keepUntil: string;
  record: T;
  etag: string;
}

export interface LedgerNote<T> {
  id: string;
  at: string;
  keepUntil: string;
  record: T;
}

/** Another instance (or request) changed the use since it was read: read it again and decide anew. */
export class LedgerConflict extends Error {
  constructor(purpose: LinkPurpose, linkId: string) {
    super(`the ${purpose} link ${linkId} was changed by another request at the same time`);
    this.name = 'LedgerConflict';
  }
}

interface UseEntity {
  partitionKey: string;
  rowKey: string;
  claimedAt: string;
  expiresAt: string;
  keepUntil: string;
  record: string;
}

interface NoteEntity {
  partitionKey: string;
  rowKey: string;
  at: string;
  keepUntil: string;
  record: string;
}

const usePartition = (purpose: LinkPurpose) => `use-${purpose}`;
const notePartition = (purpose: LinkPurpose) => `note-${purpose}`;
/** Milliseconds before year 2286, so inverted times sort newest first as text. */
const INVERT = 9_999_999_999_999;

function recordText(record: unknown, what: string): string {
  const text = JSON.stringify(record);
  if (text.length > PROPERTY_BUDGET_CHARS)
    throw new Error(`${what} is ${text.length} characters, over the ${PROPERTY_BUDGET_CHARS} one row keeps`);
  return text;
}

export class LinkLedger {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  private fromEntity<T>(purpose: LinkPurpose, entity: UseEntity & { etag?: string }): LinkUse<T> {
    return {
      purpose,
      linkId: entity.rowKey,
      claimedAt: entity.claimedAt,
      expiresAt: entity.expiresAt,
      keepUntil: entity.keepUntil,
      record: JSON.parse(entity.record) as T,
      etag: entity.etag ?? '',
    };
  }

  /**
   * Claims a link: the first claim of its id wins (`claimed: true`); every later one, from any
   * instance, gets the use already there (`claimed: false`) and changes nothing.
   */
  async claim<T>(
    purpose: LinkPurpose,
    linkId: string,
    use: { at: Date; expiresAt: Date; keepUntil: Date; record: T },
  ): Promise<{ claimed: boolean; use: LinkUse<T> }> {
    await this.ensureTable();
    const keepUntil = new Date(Math.max(use.keepUntil.getTime(), use.expiresAt.getTime()));
    const entity: UseEntity = {
      partitionKey: usePartition(purpose),
      rowKey: linkId,
      claimedAt: use.at.toISOString(),
      expiresAt: use.expiresAt.toISOString(),
      keepUntil: keepUntil.toISOString(),
      record: recordText(use.record, `the record of ${purpose} link ${linkId}`),
    };
    try {
      const answer = await stored(this.table, `claiming a ${purpose} link`, () => this.table.createEntity(entity));
      return { claimed: true, use: this.fromEntity<T>(purpose, { ...entity, etag: answer.etag }) };
    } catch (error) {
      if (!isConflict(error)) throw error;
      const existing = await this.get<T>(purpose, linkId);
      if (!existing) throw new LedgerConflict(purpose, linkId);
      return { claimed: false, use: existing };
    }
  }

  /** The use of a link, if it was used. */
  async get<T>(purpose: LinkPurpose, linkId: string): Promise<LinkUse<T> | undefined> {
    await this.ensureTable();
    try {
      const entity = await stored(this.table, `reading a ${purpose} link's use`, () =>
        this.table.getEntity<UseEntity>(usePartition(purpose), linkId),
      );
      return this.fromEntity<T>(purpose, entity);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Replaces a use's record if nobody changed it since `use` was read; LedgerConflict otherwise. */
  async update<T>(use: LinkUse<T>, record: T): Promise<LinkUse<T>> {
    const entity: UseEntity = {
      partitionKey: usePartition(use.purpose),
      rowKey: use.linkId,
      claimedAt: use.claimedAt,
      expiresAt: use.expiresAt,
      keepUntil: use.keepUntil,
      record: recordText(record, `the record of ${use.purpose} link ${use.linkId}`),
    };
    try {
      const answer = await stored(this.table, `updating a ${use.purpose} link's use`, () =>
        this.table.updateEntity(entity, 'Replace', { etag: use.etag }),
      );
      return { ...use, record, etag: answer.etag ?? '' };
    } catch (error) {
      if (isConflict(error) || isNotFound(error)) throw new LedgerConflict(use.purpose, use.linkId);
      throw error;
    }
  }

  /** Every use of a purpose claimed at or after `since`, newest first. */
  async uses<T>(purpose: LinkPurpose, since?: Date): Promise<LinkUse<T>[]> {
    await this.ensureTable();
    const rows = await stored(this.table, `listing ${purpose} link uses`, async () => {
      const all: (UseEntity & { etag?: string })[] = [];
      for await (const entity of this.table.listEntities<UseEntity>({
        queryOptions: { filter: `PartitionKey eq '${usePartition(purpose)}'` },
      }))
        all.push(entity);
      return all;
    });
    return rows
      .map((row) => this.fromEntity<T>(purpose, row))
      .filter((use) => !since || Date.parse(use.claimedAt) >= since.getTime())
      .sort((a, b) => b.claimedAt.localeCompare(a.claimedAt));
  }

  /** Writes a note of a purpose (a refused attempt), kept until `keepUntil`. */
  async note<T>(purpose: LinkPurpose, at: Date, keepUntil: Date, record: T): Promise<LedgerNote<T>> {
    await this.ensureTable();
    const id = `${String(INVERT - at.getTime()).padStart(13, '0')}-${randomBytes(6).toString('hex')}`;
    const entity: NoteEntity = {
      partitionKey: notePartition(purpose),
      rowKey: id,
      at: at.toISOString(),
      keepUntil: keepUntil.toISOString(),
      record: recordText(record, `a ${purpose} note`),
    };
    await stored(this.table, `writing a ${purpose} note`, () => this.table.createEntity(entity));
    return { id, at: entity.at, keepUntil: entity.keepUntil, record };
  }

  /** The newest `limit` notes of a purpose, newest first. */
  async notes<T>(purpose: LinkPurpose, limit = 50): Promise<LedgerNote<T>[]> {
    await this.ensureTable();
    const notes: LedgerNote<T>[] = [];
    await stored(this.table, `listing ${purpose} notes`, async () => {
      for await (const entity of this.table.listEntities<NoteEntity>({
        queryOptions: { filter: `PartitionKey eq '${notePartition(purpose)}'` },
      })) {
        notes.push({
          id: entity.rowKey,
          at: entity.at,
          keepUntil: entity.keepUntil,
          record: JSON.parse(entity.record) as T,
        });
        if (notes.length >= limit) break;
      }
    });
    return notes;
  }

  /** Deletes the rows of `purposes` whose keepUntil passed; answers how many went. */
  async sweep(purposes: readonly LinkPurpose[], now: Date): Promise<number> {
    await this.ensureTable();
    let deleted = 0;
    for (const partition of purposes.flatMap((p) => [usePartition(p), notePartition(p)])) {
      const old: string[] = [];
      await stored(this.table, 'listing link ledger rows to sweep', async () => {
        for await (const entity of this.table.listEntities<{ rowKey: string; keepUntil: string }>({
          queryOptions: { filter: `PartitionKey eq '${partition}'`, select: ['RowKey', 'keepUntil'] },
        }))
          if (Date.parse(entity.keepUntil) < now.getTime()) old.push(entity.rowKey);
      });
      for (const rowKey of old) {
        await deleteIfPresent(this.table, partition, rowKey, 'deleting a swept link ledger row');
        deleted++;
      }
    }
    return deleted;
  }
}
