import { TableClient, type TableEntity } from '@azure/data-tables';
import type { Silence } from '../model/policy';
import type { Matchers } from '../model/config-file';
import { deleteIfPresent, isConflict, isNotFound, stored, tableCreator } from './table';

/**
 * Silences made by snooze links, in Table Storage beside the config file's silences (table
 * SyncWatchState, partition `silences`, one row each): the cycle mutes what they match like a
 * silence of the config, and the status page shows them. A row's key derives from the link that
 * made it, so confirming the same link twice makes one silence. Rows a day past their end are
 * deleted as the cycle reads them.
 */

const PARTITION = 'silences';
/** One row per snooze link used, kept until the link expires: a link is used once. */
const LINKS_PARTITION = 'snooze-links';
/** How long a silence is kept after it ended (the status page and the digest show recent ones). */
const ENDED_SILENCE_RETENTION_MS = 24 * 3600_000;

/** A silence from a snooze link: one alert, for a while. */
export interface StoredSilence extends Silence {
  id: string;
  /** The alert it was made for. */
  fingerprint: string;
  /** What the alert was called when it was snoozed (for the status page). */
  heading: string;
}

interface SilenceEntity {
  partitionKey: string;
  rowKey: string;
  matchers: string;
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  fingerprint: string;
  heading: string;
}

/** The first use of a snooze link: when, and the silence it made (kept whole, so a crash between the two writes is repaired). */
export interface LinkUse {
  usedAt: Date;
  silence: StoredSilence;
}

interface LinkUseEntity extends Omit<SilenceEntity, 'rowKey'> {
  rowKey: string;
  silenceId: string;
  usedAt: string;
  /** When the link stops working: the row may go then. */
  linkExpires: string;
}

/** A silence's fields as a row holds them (its keys aside). */
function silenceFields(silence: StoredSilence): Omit<SilenceEntity, 'partitionKey' | 'rowKey'> {
  return {
    matchers: JSON.stringify(silence.matchers),
    startsAt: silence.startsAt.toISOString(),
    endsAt: silence.endsAt.toISOString(),
    createdBy: silence.createdBy,
    comment: silence.comment,
    fingerprint: silence.fingerprint,
    heading: silence.heading,
  };
}

function fromEntity(entity: SilenceEntity): StoredSilence {
  return {
    id: entity.rowKey,
    matchers: JSON.parse(entity.matchers) as Matchers,
    startsAt: new Date(entity.startsAt),
    endsAt: new Date(entity.endsAt),
    createdBy: entity.createdBy,
    comment: entity.comment,
    fingerprint: entity.fingerprint,
    heading: entity.heading,
  };
}

export class SilenceStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  /** Every stored silence, oldest first. */
  async list(): Promise<StoredSilence[]> {
    await this.ensureTable();
    const rows = await stored(this.table, 'reading the snooze silences', async () => {
      const all: SilenceEntity[] = [];
      for await (const entity of this.table.listEntities<SilenceEntity>({
        queryOptions: { filter: `PartitionKey eq '${PARTITION}'` },
      }))
        all.push(entity);
      return all;
    });
    return rows.map(fromEntity).sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
  }

  /** Adds a silence; the one already there when this id was confirmed before. */
  async add(silence: StoredSilence): Promise<{ created: boolean; silence: StoredSilence }> {
    await this.ensureTable();
    const entity: TableEntity<SilenceEntity> = {
      partitionKey: PARTITION,
      rowKey: silence.id,
      ...silenceFields(silence),
    };
    try {
      await stored(this.table, 'saving a snooze silence', () => this.table.createEntity(entity));
      return { created: true, silence };
    } catch (error) {
      if (!isConflict(error)) throw error;
      const existing = await stored(this.table, 'reading a snooze silence', () =>
        this.table.getEntity<SilenceEntity>(PARTITION, silence.id),
      );
      return { created: false, silence: fromEntity(existing) };
    }
  }

  /**
   * Records the first use of a snooze link (`linkId`), with the silence it makes, until the link
   * expires; when the link was used before, that first use. One atomic insert decides it, so two
   * instances confirming the same link at once agree on one use.
   */
  async useLink(
    linkId: string,
    silence: StoredSilence,
    linkExpires: Date,
    now: Date,
  ): Promise<{ first: boolean; use: LinkUse }> {
    await this.ensureTable();
    const entity: TableEntity<LinkUseEntity> = {
      partitionKey: LINKS_PARTITION,
      rowKey: linkId,
      silenceId: silence.id,
      usedAt: now.toISOString(),
      linkExpires: linkExpires.toISOString(),
      ...silenceFields(silence),
    };
    try {
      await stored(this.table, 'recording the use of a snooze link', () => this.table.createEntity(entity));
      return { first: true, use: { usedAt: now, silence } };
    } catch (error) {
      if (!isConflict(error)) throw error;
      const use = await this.linkUse(linkId);
      if (!use) throw error;
      return { first: false, use };
    }
  }

  /** The recorded use of a snooze link, if it was used. */
  async linkUse(linkId: string): Promise<LinkUse | undefined> {
    await this.ensureTable();
    try {
      const row = await stored(this.table, 'reading the use of a snooze link', () =>
        this.table.getEntity<LinkUseEntity>(LINKS_PARTITION, linkId),
      );
      return { usedAt: new Date(row.usedAt), silence: fromEntity({ ...row, rowKey: row.silenceId }) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Forgets the uses of links that have expired (no link can be used again after that). */
  private async forgetExpiredLinks(now: Date): Promise<void> {
    const expired = await stored(this.table, 'reading the used snooze links', async () => {
      const keys: string[] = [];
      for await (const entity of this.table.listEntities<LinkUseEntity>({
        queryOptions: { filter: `PartitionKey eq '${LINKS_PARTITION}'`, select: ['RowKey', 'linkExpires'] },
      }))
        if (Date.parse(entity.linkExpires) < now.getTime()) keys.push(entity.rowKey);
      return keys;
    });
    for (const key of expired)
      await deleteIfPresent(this.table, LINKS_PARTITION, key, 'forgetting an expired snooze link');
  }

  /** The silences still of use at `now` (on, to come, or ended within a day), deleting the older ones (and the uses of expired links). */
  async current(now: Date): Promise<StoredSilence[]> {
    await this.forgetExpiredLinks(now);
    const all = await this.list();
    const cutoff = now.getTime() - ENDED_SILENCE_RETENTION_MS;
    for (const old of all.filter((s) => s.endsAt.getTime() < cutoff)) {
      await deleteIfPresent(this.table, PARTITION, old.id, 'deleting an ended snooze silence');
    }
    return all.filter((s) => s.endsAt.getTime() >= cutoff);
  }
}
