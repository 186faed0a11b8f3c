/**
 * A worker process of the bench's fan-out: the emulated Functions queue host (emulators/queue-host.ts)
 * running functions/observe.ts, or with `--jobs-only` the same work without provisioning logs
 * (scripts/bench/jobs-only-worker.ts). The bench bundles it with esbuild and runs it with plain node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { observe } from '../../functions/observe';
import { runQueueWorker } from '../../emulators/queue-host';
import { observeJobsOnly } from './jobs-only-worker';

const args = process.argv.slice(2);
// 10,000 tenant IDs are longer than one environment variable may be (128 KiB on Linux): the bench passes them in a file.
if (process.env.BENCH_TENANTS_FILE) process.env.WATCH_TENANTS = readFileSync(process.env.BENCH_TENANTS_FILE, 'utf8');
// Bundled, this file does not know where the project is: the bench starts it there.
runQueueWorker(
  args.includes('--jobs-only') ? observeJobsOnly : observe,
  'observe',
  args,
  join(process.cwd(), 'host.json'),
).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
