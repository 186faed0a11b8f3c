import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';

/** Azurite's well-known development account (public, documented; not a secret). */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  /** Connection string in the AzureWebJobsStorage format, pointing at this instance (the development account); with `queue`, its QueueEndpoint too. */
  connectionString: string;
  /** The connection string of another account started with it (`accounts`): a storage of its own, as a second storage account would be. */
  connectionStringFor(account: string): string;
  port: number;
  /** The queue service's port, when started with `queue: true`. */
  queuePort?: number;
  /** The processes of the table and queue services (for the bench's CPU figures). */
  pids: { table?: number; queue?: number };
  stop(): Promise<void>;
}

/** A local account's key: derived from its name (test storage, not a secret). */
function keyOf(account: string): string {
  return createHash('sha256').update(`azurite account ${account}`).digest('base64');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, path = 'Tables'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with code ${child.exitCode} before listening`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/${DEV_ACCOUNT}/${path}`, { method: 'GET' });
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`Azurite did not listen on port ${port} within ${timeoutMs} ms`);
}

/**
 * Starts the Azurite table service from node_modules on a free loopback port, in memory (nothing
 * on disk), and waits until it answers. State lives as long as this process does, so a test or
 * the demo can restart *our* process side (new clients) and see the state survive.
 */
export async function startAzurite(
  options: { cwd?: string; accounts?: string[]; queue?: boolean } = {},
): Promise<Azurite> {
  const port = await freePort();
  const bin = join(options.cwd ?? process.cwd(), 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
  const accounts = options.accounts ?? [];
  // Azurite serves only the accounts AZURITE_ACCOUNTS lists once it is set, so the development account is listed too.
  const env =
    accounts.length > 0
      ? {
          ...process.env,
          AZURITE_ACCOUNTS: [`${DEV_ACCOUNT}:${DEV_KEY}`, ...accounts.map((a) => `${a}:${keyOf(a)}`)].join(';'),
        }
      : process.env;
  const child = spawn(
    process.execPath,
    [
      bin,
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(port),
      '--inMemoryPersistence',
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitForPort(port, child, 20_000);
  } catch (error) {
    child.kill();
    throw new Error(`${(error as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
  let queue: { port: number; child: ChildProcess } | undefined;
  if (options.queue) {
    try {
      queue = await startQueueService(options.cwd ?? process.cwd(), env);
    } catch (error) {
      await stopChild(child);
      throw error;
    }
  }
  const connectionStringFor = (account: string): string => {
    if (account !== DEV_ACCOUNT && !accounts.includes(account))
      throw new Error(`Azurite was not started with the account ${account}`);
    const key = account === DEV_ACCOUNT ? DEV_KEY : keyOf(account);
    const queueEndpoint = queue ? `QueueEndpoint=http://127.0.0.1:${queue.port}/${account};` : '';
    return `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};TableEndpoint=http://127.0.0.1:${port}/${account};${queueEndpoint}`;
  };
  return {
    port,
    queuePort: queue?.port,
    pids: { table: child.pid, queue: queue?.child.pid },
    connectionString: connectionStringFor(DEV_ACCOUNT),
    connectionStringFor,
    stop: async () => {
      await Promise.all([stopChild(child), queue ? stopChild(queue.child) : undefined]);
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill();
  });
}

/**
 * Azurite's queue service (the tenant fan-out's queue, lib/fanout/), in memory, on a free port, with
 * the same accounts as the table service.
 */
async function startQueueService(cwd: string, env: NodeJS.ProcessEnv): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const bin = join(cwd, 'node_modules', 'azurite', 'dist', 'src', 'queue', 'main.js');
  const child = spawn(
    process.execPath,
    [
      bin,
      '--queueHost',
      '127.0.0.1',
      '--queuePort',
      String(port),
      '--inMemoryPersistence',
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitForPort(port, child, 20_000, '?comp=list');
  } catch (error) {
    child.kill();
    throw new Error(`Azurite's queue service: ${(error as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
  return { port, child };
}

/** A TCP proxy in front of Azurite that a test can cut: Table Storage becoming unavailable mid-cycle. */
export interface StorageProxy {
  port: number;
  /** `connectionString` with its table endpoint moved to the proxy. */
  connectionString: string;
  /**
   * Cuts Table Storage off: open connections are dropped and new ones are reset at once
   * (`reset`: what a crashed or restarting service looks like) or held without an answer (`hang`).
   */
  cut(mode?: 'reset' | 'hang'): void;
  /** Lets connections through again. */
  restore(): void;
  stop(): Promise<void>;
}

export async function startStorageProxy(azurite: Pick<Azurite, 'port' | 'connectionString'>): Promise<StorageProxy> {
  const sockets = new Set<Socket>();
  let mode: 'open' | 'reset' | 'hang' = 'open';
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (mode === 'reset') return client.resetAndDestroy();
    if (mode === 'hang') return;
    const upstream = connect(azurite.port, '127.0.0.1');
    track(upstream);
    client.pipe(upstream).pipe(client);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port,
    connectionString: azurite.connectionString.replace(`127.0.0.1:${azurite.port}`, `127.0.0.1:${port}`),
    cut(how = 'reset') {
      mode = how;
      dropAll();
    },
    restore() {
      mode = 'open';
    },
    stop: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
