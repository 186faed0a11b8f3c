// Filled in by the storage work: starts Azurite once for the whole run.
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
