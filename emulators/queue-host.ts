/**
 * A stand-in for the Azure Functions host's queue trigger (the Storage queues extension), so tests
 * and `npm run bench` can run the fan-out's queue-triggered function in several worker processes
 * without `func` (Core Tools cannot be installed here). It behaves as the extension documents
 * (docs/reference/platform-notes.md §1.6, §1.10), with the settings of host.json's
 * `extensions.queues`:
 *
 * - `messageEncoding` (default `base64`): the message text is base64-decoded before the function
 *   sees it; text that is JSON is handed over parsed, as the Node.js worker does;
 * - `batchSize` (default 16) messages are taken at once and run side by side;
 * - `maxPollingInterval` (default 1 minute; host.json here sets 2 s): an empty queue is polled
 *   less and less often, up to that interval;
 * - a failed invocation makes the message visible again after `visibilityTimeout` (default 0);
 *   once it has been dequeued `maxDequeueCount` times (default 5) it moves to `<queue>-poison`.
 *
 * A message being processed stays invisible for 10 minutes (the extension renews it; nothing here
 * runs that long). The CLI runs one worker process:
 *
 *   node scripts/with-emulator-ca.mjs npx tsx emulators/queue-host.ts [--die-on <text>] [--batch-size <n>]
 *
 * with the app's settings in the environment (AzureWebJobsStorage with Azurite's QueueEndpoint).
 * `--die-on <text>` makes the process exit at once, without finishing or releasing it, when it
 * takes a message whose text contains <text>: an instance lost in the middle of its work.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import { InvocationContext } from '@azure/functions';

export interface QueueExtensionSettings {
  messageEncoding: 'base64' | 'none';
  batchSize: number;
  maxDequeueCount: number;
  visibilityTimeoutMs: number;
  maxPollingIntervalMs: number;
}

const IN_FLIGHT_SECONDS = 600;

/** `hh:mm:ss` (or `d.hh:mm:ss`) as host.json writes durations. */
function timespanMs(text: unknown, fallback: number): number {
  if (typeof text !== 'string') return fallback;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text.trim());
  if (!m) return fallback;
  return (((Number(m[1] ?? 0) * 24 + Number(m[2])) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1000;
}

/** `extensions.queues` of a host.json, with the extension's defaults for what it does not say. */
export function queueExtensionSettings(hostJsonPath: string): QueueExtensionSettings {
  const host = JSON.parse(readFileSync(hostJsonPath, 'utf8')) as { extensions?: { queues?: Record<string, unknown> } };
  const q = host.extensions?.queues ?? {};
  return {
    messageEncoding: q.messageEncoding === 'none' ? 'none' : 'base64',
    batchSize: typeof q.batchSize === 'number' ? q.batchSize : 16,
    maxDequeueCount: typeof q.maxDequeueCount === 'number' ? q.maxDequeueCount : 5,
    visibilityTimeoutMs: timespanMs(q.visibilityTimeout, 0),
    maxPollingIntervalMs: timespanMs(q.maxPollingInterval, 60_000),
  };
}

/** What the function receives: the decoded text, parsed when it is JSON. */
export function triggerValue(messageText: string, encoding: QueueExtensionSettings['messageEncoding']): unknown {
  const text = encoding === 'base64' ? Buffer.from(messageText, 'base64').toString('utf8') : messageText;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export type QueueHandler = (entry: unknown, context: InvocationContext) => Promise<void>;

interface QueueHostOptions {
  queue: QueueClient;
  /** `<queue>-poison`, where messages go after `maxDequeueCount` failed invocations. */
  poison: QueueClient;
  handler: QueueHandler;
  functionName: string;
  settings: QueueExtensionSettings;
  log?: (line: string) => void;
  /** Exit the process when a message's decoded text contains this (an instance lost mid-message). */
  dieOn?: string;
}

interface QueueHost {
  /** Invocations finished, by outcome. */
  counts: { succeeded: number; failed: number; poisoned: number };
  stop(): Promise<void>;
}

function startQueueHost(options: QueueHostOptions): QueueHost {
  const { queue, handler, settings } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const counts = { succeeded: 0, failed: 0, poisoned: 0 };
  let stopping = false;
  let wake: (() => void) | undefined;

  async function invoke(message: DequeuedMessageItem): Promise<void> {
    const text =
      settings.messageEncoding === 'base64'
        ? Buffer.from(message.messageText, 'base64').toString('utf8')
        : message.messageText;
    if (options.dieOn && text.includes(options.dieOn)) {
      log(`[queue-host ${process.pid}] took message ${message.messageId} and dies (--die-on)`);
      process.exit(137);
    }
    const context = new InvocationContext({
      functionName: options.functionName,
      invocationId: `${message.messageId}:${message.dequeueCount}`,
      triggerMetadata: {
        id: message.messageId,
        dequeueCount: message.dequeueCount,
        insertionTime: message.insertedOn,
        popReceipt: message.popReceipt,
      },
      logHandler: (level, ...args) =>
        log(`[${options.functionName} ${process.pid}] ${level}: ${args.map(String).join(' ')}`),
    });
    try {
      await handler(triggerValue(message.messageText, settings.messageEncoding), context);
      await queue.deleteMessage(message.messageId, message.popReceipt);
      counts.succeeded++;
    } catch (error) {
      log(
        `[${options.functionName} ${process.pid}] failed (dequeue ${message.dequeueCount} of ${settings.maxDequeueCount}): ${(error as Error).message}`,
      );
      if (message.dequeueCount >= settings.maxDequeueCount) {
        await options.poison.createIfNotExists();
        await options.poison.sendMessage(message.messageText);
        await queue.deleteMessage(message.messageId, message.popReceipt);
        counts.poisoned++;
      } else {
        await queue.updateMessage(
          message.messageId,
          message.popReceipt,
          undefined,
          Math.ceil(settings.visibilityTimeoutMs / 1000),
        );
        counts.failed++;
      }
    }
  }

  const loop = (async () => {
    await queue.createIfNotExists();
    let idleMs = 100;
    while (!stopping) {
      const { receivedMessageItems } = await queue.receiveMessages({
        numberOfMessages: Math.min(32, settings.batchSize),
        visibilityTimeout: IN_FLIGHT_SECONDS,
      });
      if (receivedMessageItems.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, idleMs);
        });
        idleMs = Math.min(idleMs * 2, settings.maxPollingIntervalMs);
        continue;
      }
      idleMs = 100;
      await Promise.all(receivedMessageItems.map((m) => invoke(m)));
    }
  })();

  return {
    counts,
    async stop() {
      stopping = true;
      wake?.();
      await loop.catch(() => undefined);
    },
  };
}

/**
 * One worker process: the queue host running `handler` on the fan-out queue of the settings in the
 * environment, until SIGTERM. Options: `--die-on <text>`, `--batch-size <n>` (messages one process
 * takes at once, instead of host.json's: a test spreading a few messages over several workers).
 */
export async function runQueueWorker(
  handler: QueueHandler,
  functionName: string,
  args: string[],
  hostJson = join(__dirname, '..', 'host.json'),
): Promise<void> {
  const option = (name: string) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
  const connection = process.env.AzureWebJobsStorage;
  if (!connection) throw new Error('AzureWebJobsStorage must name the storage (with a QueueEndpoint)');
  const { FANOUT_QUEUE } = await import('../lib/fanout/message');
  const service = QueueServiceClient.fromConnectionString(connection);
  const batchSize = option('--batch-size');
  const host = startQueueHost({
    queue: service.getQueueClient(FANOUT_QUEUE),
    poison: service.getQueueClient(`${FANOUT_QUEUE}-poison`),
    handler,
    functionName,
    settings: { ...queueExtensionSettings(hostJson), ...(batchSize ? { batchSize: Number(batchSize) } : {}) },
    dieOn: option('--die-on'),
  });
  console.log(`[queue-host ${process.pid}] listening on ${FANOUT_QUEUE}`);
  const stop = () => void host.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// Run as a script (not when bundled into another entry point): functions/observe.ts.
if (/queue-host\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  import('../functions/observe')
    .then(({ observe }) => runQueueWorker(observe, 'observe', process.argv.slice(2)))
    .catch((error: unknown) => {
      console.error(`[queue-host ${process.pid}] ${(error as Error).message}`);
      process.exit(1);
    });
}
