/**
 * The arguments the Functions host starts the Node worker with: the app setting
 * `languageWorkers__node__arguments`, set by infra/app/api.bicep and local.settings.sample.json
 * (test/unit/infra-contract.test.ts holds them to this list), and given by the bench to the
 * monitor and fan-out workers it measures.
 *
 * `--heap-growing-percent=25`: after each full collection, V8 lets its old generation grow to 1.25
 * times what was left live before it collects again. Its own factor goes up to 4 when its heap
 * limit is large (Node sizes that limit from the memory it sees), chosen from how fast the process
 * allocates. A cycle keeps about 50 MiB live but allocates hundreds of MiB in seconds (the HTTP and
 * JSON of thousands of requests), so with V8's own factor the heap was mostly garbage waiting for
 * a collection: at 1,000 tenants, on Node 22 on the bench's 24 GiB machine, a peak RSS of 387 MiB,
 * against 228 MiB with this (249 MiB at 50 %; docs/scale.md#memory). Not a cap: the heap limit is
 * V8's own and the heap grows as far as what is live needs. The cost is more full collections,
 * mostly on V8's background threads: 30 % more CPU time in a fresh monitor's first cycle, 10 % in
 * a steady one, with no later email or longer cycle on two cores.
 */
export const NODE_WORKER_ARGUMENTS: readonly string[] = ['--heap-growing-percent=25'];
