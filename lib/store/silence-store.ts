import { TableClient, type TableEntity } from '@azure/data-tables';
import type { Silence } from '../model/policy';
import type { Matchers } from '../model/config-file';
import { isConflict, isNotFound, stored, tableCreator } from './table';

/**
 * Silences made by snooze links, in Table Storage beside the config file's silences (table
 * SyncWatchState, partition `silences`, one row each): the cycle mutes what they match like a
 * silence of the config, and the status page shows them. A row's key derives from the link that
 * made it, so confirming the same link twice makes one silence. Rows a day past their end are
 * deleted as the cycle reads them.
 */

const PARTITION = 'silences';
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
      matchers: JSON.stringify(silence.matchers),
      startsAt: silence.startsAt.toISOString(),
      endsAt: silence.endsAt.toISOString(),
      createdBy: silence.createdBy,
      comment: silence.comment,
      fingerprint: silence.fingerprint,
      heading: silence.heading,
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

  /** The silences still of use at `now` (on, to come, or ended within a day), deleting the older ones. */
  async current(now: Date): Promise<StoredSilence[]> {
    const all = await this.list();
    const cutoff = now.getTime() - ENDED_SILENCE_RETENTION_MS;
    for (const old of all.filter((s) => s.endsAt.getTime() < cutoff)) {
      await stored(this.table, 'deleting an ended snooze silence', () =>
        this.table.deleteEntity(PARTITION, old.id),
      ).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
    return all.filter((s) => s.endsAt.getTime() >= cutoff);
  }
}
