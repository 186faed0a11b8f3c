import { RestError, TableClient } from '@azure/data-tables';
import { TimeoutError } from '../util/deadline';

/** Table Storage's limit for one string property: 64 KiB of UTF-16, i.e. 32,768 UTF-16 code units (Azurite enforces it too). */
export const MAX_PROPERTY_CHARS = 32_768;
/** What one stored JSON property is kept under, with room to spare. */
export const PROPERTY_BUDGET_CHARS = 30_000;
/** Table Storage's limit on the operations of one entity group transaction. */
export const MAX_TRANSACTION_OPERATIONS = 100;

/**
 * Table Storage failed, said in words an operator can act on: which store, what the service or the
 * network said, and what to check. `unavailable` (unreachable, timed out, refused the credentials,
 * failing) stops the stage that needed it; `rejected` (the service refused one entity) is about
 * that entity only.
 */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly kind: 'unavailable' | 'rejected',
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

const CREATORS = new WeakMap<TableClient, () => Promise<void>>();

/**
 * Creates the table on first use; an existing table is fine. The stores that share one client (the
 * state table's outbox, send budget, lease, digest markers and cycle history) share one creation.
 */
export function tableCreator(table: TableClient): () => Promise<void> {
  const known = CREATORS.get(table);
  if (known) return known;
  let created: Promise<void> | undefined;
  const create = () => {
    created ??= table.createTable().catch((error: unknown) => {
      created = undefined;
      if (!(error instanceof RestError && error.statusCode === 409)) throw storageError(table, error);
    });
    return created;
  };
  CREATORS.set(table, create);
  return create;
}

export function isConflict(error: unknown): boolean {
  return error instanceof RestError && (error.statusCode === 412 || error.statusCode === 409);
}

export function isNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}

/** The service's error code from a Table Storage answer (JSON `odata.error` or the XML of an auth failure). */
function serviceCode(error: RestError): string | undefined {
  if (error.code && error.code !== 'REQUEST_SEND_ERROR') return error.code;
  const text = error.message ?? '';
  return /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? /"code"\s*:\s*"([^"]+)"/.exec(text)?.[1];
}

/** The first sentence of the service's message, without XML or JSON around it. */
function serviceMessage(error: RestError): string {
  const text = error.message ?? '';
  const inner = /<Message>([^<]+)<\/Message>/.exec(text)?.[1] ?? /"value"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? text;
  const first = inner.split(/\r?\n/)[0] ?? '';
  return first.length > 300 ? `${first.slice(0, 300)}…` : first;
}

/** Where the table lives, without a SAS or anything else in the query. */
function endpointOf(table: TableClient): string {
  try {
    const url = new URL(table.url);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'the configured endpoint';
  }
}

const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'REQUEST_SEND_ERROR',
]);

/** A StorageError for anything a Table Storage call threw (other than the 404/409/412 the stores handle). */
function storageError(table: TableClient, error: unknown, what = `table ${table.tableName}`): StorageError {
  if (error instanceof StorageError) return error;
  const where = endpointOf(table);
  if (error instanceof TimeoutError)
    return new StorageError(`Table Storage at ${where} (${what}): ${error.message}`, 'unavailable');
  if (error instanceof RestError) {
    const status = error.statusCode;
    const code = serviceCode(error);
    if (status === undefined || NETWORK.has(error.code ?? '')) {
      const local = /127\.0\.0\.1|localhost/.test(where)
        ? '; locally, start Azurite (npx azurite-table) or point AzureWebJobsStorage at a storage account'
        : '';
      return new StorageError(
        `Table Storage at ${where} cannot be reached (${error.code ?? 'no answer'}: ${serviceMessage(error)})${local}`,
        'unavailable',
      );
    }
    if (status === 401 || status === 403) {
      return new StorageError(
        `Table Storage at ${where} refused the credentials (${status} ${code ?? ''}): check the AccountKey or SAS in AzureWebJobsStorage, or give the identity the role Storage Table Data Contributor`.replace(
          ' )',
          ')',
        ),
        'unavailable',
      );
    }
    const kind = status === 400 || status === 413 ? 'rejected' : 'unavailable';
    return new StorageError(
      `Table Storage at ${where} answered ${status}${code ? ` ${code}` : ''} for ${what}: ${serviceMessage(error)}`,
      kind,
    );
  }
  const e = error as { name?: string; message?: string; code?: string };
  if (e?.name === 'AbortError')
    return new StorageError(
      `Table Storage at ${where} (${what}): the request was cut off at the cycle's deadline`,
      'unavailable',
    );
  return new StorageError(`Table Storage at ${where} (${what}): ${e?.message ?? String(error)}`, 'unavailable');
}

/**
 * Runs one Table Storage call; what the stores handle themselves (not found, conflicts) passes
 * through as the RestError it is, everything else becomes a StorageError.
 */
export async function stored<T>(table: TableClient, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isConflict(error) || isNotFound(error)) throw error;
    throw storageError(table, error, what);
  }
}

/**
 * Deletes one row; a row already gone (another instance deleted it, or a retry) is what was asked.
 * With `what`, any other failure becomes a StorageError (stored); without, it passes as it is.
 */
export async function deleteIfPresent(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
  what?: string,
): Promise<void> {
  const call = () => table.deleteEntity(partitionKey, rowKey);
  try {
    await (what === undefined ? call() : stored(table, what, call));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
