import type { TableClient } from '@azure/data-tables';

const WRITES = new Set(['createEntity', 'updateEntity', 'upsertEntity', 'deleteEntity', 'submitTransaction']);

/**
 * The same table, with every write delayed by `ms` while `slow()` says so: a Table Storage that
 * answers reads at once and writes late, which is how an overlap race between instances opens.
 */
export function withSlowWrites(
  table: TableClient,
  ms: number,
  slow: (method: string, partitionKey: string | undefined) => boolean = () => true,
): TableClient {
  return new Proxy(table, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (!WRITES.has(String(name))) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        if (slow(String(name), partitionOf(args))) await new Promise((resolve) => setTimeout(resolve, ms));
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

/** The partition a write is about: of its entity, or of a transaction's first action. */
function partitionOf(args: unknown[]): string | undefined {
  const first = args[0] as { partitionKey?: string } | [string, { partitionKey?: string }][] | string | undefined;
  if (typeof first === 'string') return first;
  if (Array.isArray(first)) return first[0]?.[1]?.partitionKey;
  return first?.partitionKey;
}
