import { RestError, TableClient } from '@azure/data-tables';

/** Creates the table on first use; an existing table is fine. */
export function tableCreator(table: TableClient): () => Promise<void> {
  let created: Promise<void> | undefined;
  return () => {
    created ??= table.createTable().catch((error: unknown) => {
      created = undefined;
      if (!(error instanceof RestError && error.statusCode === 409)) throw error;
    });
    return created;
  };
}

export function isConflict(error: unknown): boolean {
  return error instanceof RestError && (error.statusCode === 412 || error.statusCode === 409);
}

export function isNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}
