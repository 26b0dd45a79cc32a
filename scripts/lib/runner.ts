import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { startApi, type RunningApi } from '../../api/server';
import { openDatabase, type Database } from '../../db/client';
import { loadMasterKey, MASTER_KEY_ENV, type MasterKey } from '../../db/crypto';
import { createLogger } from '../../lib/logger';
import { startSandbox, type InstanceConfig, type Sandbox } from '../../sandboxes/sandbox';
import { createWorker } from '../../worker/worker';
import { ConnectionControl, connectionWorkflowId, TASK_QUEUE } from '../../client';
import { ensureTemporal, preferredPort, waitForTemporal, type TemporalServer } from './temporal';

// The whole product in one process: `npm start` and `npm run bench` both bring it up through here, so the
// order of starting and stopping, and where state lives under the data folder, are decided once.

export type LogLine = (line: string) => void;

export interface AllInOneOptions {
  /** Holds temporal.db, pglite/, sandbox/ and master.key; created when missing. */
  dataDir: string;
  /** 0 for any free port; 3000 (or a free one when taken) when absent. */
  apiPort?: number;
  /** 0 (the default) for any free port. */
  sandboxPort?: number;
  sandboxInstances?: Record<string, InstanceConfig>;
  /** Ports of the embedded dev server; 7233/8233 (or free ones when taken) when absent. Ignored with TEMPORAL_ADDRESS. */
  temporal?: { port?: number; uiPort?: number | false };
  /** PostgreSQL; DATABASE_URL when absent, else PGlite in <dataDir>/pglite. */
  databaseUrl?: string;
  /** Human-facing progress lines (starting Temporal, key warnings, worker problems). */
  log: LogLine;
  /** Structured logs of the API and activities; warn level on stdout unless LOG_LEVEL says otherwise. */
  logger?: Logger;
  taskQueue?: string;
  workerOptions?: { pageSize?: number; planBatchSize?: number };
}

export interface ApiResponse {
  status: number;
  // JSON bodies of every route; callers narrow what they read.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface AllInOne {
  dataDir: string;
  temporal: { address: string; namespace: string; uiUrl: string | null; embedded: boolean };
  api: { url: string; firstApiKey: string | null };
  database: Database;
  masterKey: Omit<MasterKey, 'key'>;
  sandbox: Sandbox;
  client: Client;
  control: ConnectionControl;
  taskQueue: string;
  /** Settles when the worker stops; rejects when it fails on its own. */
  workerDone: Promise<void>;
  /** A JSON request to the API; the key defaults to the first key when this start created one. */
  apiRequest(method: string, urlPath: string, body?: unknown, key?: string | null): Promise<ApiResponse>;
  /** The connection's workflow in the Temporal UI, or null without a UI. */
  workflowUrl(connectionId: string): string | null;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * The worker's native runtime is a per-process singleton. Installed here so its logs join ours at warn level,
 * and without its own signal handlers: shutdown order is the caller's (close()), not the runtime's.
 */
function installRuntime(log: LogLine): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', (entry) => log(`[worker] ${entry.level} ${entry.message}${entry.meta ? ` ${safeJson(entry.meta)}` : ''}`)),
      shutdownSignals: [],
    });
  } catch {
    // Someone (a test harness) installed it first; theirs is as good.
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly holder: string,
  ) {
    super(
      `The data folder ${dataDir} is in use by process ${pid} (${holder}). ` +
        `Its embedded database and Temporal state take one process at a time: stop that one first, ` +
        `or use another folder with RAPPORT_DATA_DIR.`,
    );
    this.name = 'DataDirBusyError';
  }
}

/**
 * Claims the data folder for this process. PGlite, the dev server's SQLite file and the Sandbox's files would
 * all be damaged by two writers, so a second `npm start` (or `npm run api-key` while it runs) must refuse.
 */
export function lockDataDir(dataDir: string, holder: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'rapport.lock');
  const content = JSON.stringify({ pid: process.pid, holder, since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, content, { flag: 'wx' });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.removeListener('exit', release);
        rmSync(file, { force: true });
      };
      process.once('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner: { pid?: number; holder?: string } = {};
      try {
        owner = JSON.parse(readFileSync(file, 'utf8')) as typeof owner;
      } catch {
        // A half-written or foreign file is treated as stale.
      }
      if (typeof owner.pid === 'number' && owner.pid !== process.pid && processAlive(owner.pid)) {
        throw new DataDirBusyError(dataDir, owner.pid, owner.holder ?? 'unknown');
      }
      // Left by a process that died without cleaning up.
      rmSync(file, { force: true });
    }
  }
  throw new Error(`Could not lock ${dataDir}`);
}

export async function startAllInOne(opts: AllInOneOptions): Promise<AllInOne> {
  const log = opts.log;
  const dataDir = path.resolve(opts.dataDir);
  const logger = opts.logger ?? createLogger({ name: 'rapport', level: process.env.LOG_LEVEL ?? 'warn' });
  const taskQueue = opts.taskQueue ?? TASK_QUEUE;

  // Whatever has started so far, so a failure half-way stops exactly that.
  let release: (() => void) | null = null;
  let server: TemporalServer | null = null;
  let database: Database | null = null;
  let sandbox: Sandbox | null = null;
  let native: NativeConnection | null = null;
  let worker: Worker | null = null;
  let workerDone: Promise<void> | null = null;
  let connection: Connection | null = null;
  let api: RunningApi | null = null;

  const attempt = async (what: string, fn: () => Promise<unknown> | unknown) => {
    try {
      await fn();
    } catch (err) {
      log(`while stopping ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  // The worker drains first, so no activity is cut off half-way through a write to an app or the database;
  // then nothing can reach the API, the Sandbox saves its state, and the stores close.
  const stopAll = async () => {
    if (worker) {
      const w = worker;
      await attempt('the worker', async () => {
        if (w.getState() === 'RUNNING') w.shutdown();
        await workerDone?.catch(() => undefined);
      });
    }
    if (native) await attempt('the worker connection', () => native!.close());
    if (api) await attempt('the API', () => api!.close());
    if (connection) await attempt('the Temporal client', () => connection!.close());
    if (sandbox) await attempt('the Sandbox', () => sandbox!.close());
    if (database) await attempt('the database', () => database!.close());
    if (server) await attempt('Temporal', () => server!.stop());
    release?.();
  };

  try {
    release = lockDataDir(dataDir, `${path.basename(process.argv[1] ?? 'node')} (pid ${process.pid})`);

    const embedded = !process.env.TEMPORAL_ADDRESS;
    if (embedded) {
      const port = opts.temporal?.port ?? (await preferredPort(7233));
      const uiPort = opts.temporal?.uiPort === false ? false : (opts.temporal?.uiPort ?? (await preferredPort(8233)));
      log(`Starting Temporal (dev server, state in ${path.join(dataDir, 'temporal.db')})…`);
      server = await ensureTemporal({ dbFilename: path.join(dataDir, 'temporal.db'), port, uiPort, log });
    } else {
      server = await ensureTemporal({ log });
      log(`Using Temporal at ${server.address} (TEMPORAL_ADDRESS)…`);
      // Checked up front so a wrong address or a server without the search attributes is named as such,
      // instead of surfacing later as a transport error from the worker.
      await waitForTemporal(server.address, { namespace: server.namespace, timeoutMs: 20_000 }).catch((err: unknown) => {
        throw new Error(`TEMPORAL_ADDRESS=${server!.address}: ${err instanceof Error ? err.message : String(err)}`);
      });
    }

    database = await openDatabase({ url: opts.databaseUrl ?? process.env.DATABASE_URL, dataDir: path.join(dataDir, 'pglite') });

    const { key: masterKey, ...masterKeyInfo } = loadMasterKey({ env: process.env, dataDir });
    if (masterKeyInfo.generated) {
      log('');
      log('!!! ─────────────────────────────────────────────────────────────────────────────────────');
      log(`!!! ${MASTER_KEY_ENV} is not set: generated a master key in ${masterKeyInfo.path}`);
      log("!!! It encrypts the apps' credentials. Back it up: without it they cannot be decrypted.");
      log(`!!! In production set ${MASTER_KEY_ENV} yourself (openssl rand -base64 32).`);
      log('!!! ─────────────────────────────────────────────────────────────────────────────────────');
      log('');
    }

    sandbox = await startSandbox({
      port: opts.sandboxPort ?? 0,
      dataDir: path.join(dataDir, 'sandbox'),
      instances: opts.sandboxInstances,
    });

    installRuntime(log);
    native = await NativeConnection.connect({ address: server.address });
    worker = await createWorker({
      connection: native,
      namespace: server.namespace,
      taskQueue,
      db: database.db,
      masterKey,
      logger,
      pageSize: opts.workerOptions?.pageSize,
      planBatchSize: opts.workerOptions?.planBatchSize,
    });
    workerDone = worker.run();
    // Observed here so a failure is never an unhandled rejection; callers watch workerDone themselves.
    workerDone.catch(() => undefined);

    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: server.namespace });
    const control = new ConnectionControl(client, taskQueue);

    api = await startApi({
      port: opts.apiPort ?? (await preferredPort(3000)),
      database,
      temporalClient: client,
      control,
      masterKey,
      logger,
      dataDir,
      temporalUiUrl: server.uiUrl,
    });
    const firstApiKey = api.firstApiKey;
    const apiUrl = api.url;

    const apiRequest = async (method: string, urlPath: string, body?: unknown, key?: string | null): Promise<ApiResponse> => {
      const bearer = key === undefined ? firstApiKey : key;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      const res = await fetch(`${apiUrl}${urlPath}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // Not JSON (a proxy's error page, say): the text is more useful than an exception.
      }
      return { status: res.status, body: parsed };
    };

    const uiUrl = server.uiUrl;
    const namespace = server.namespace;
    let closing: Promise<void> | null = null;
    return {
      dataDir,
      temporal: { address: server.address, namespace, uiUrl, embedded },
      api: { url: apiUrl, firstApiKey },
      database,
      masterKey: masterKeyInfo,
      sandbox,
      client,
      control,
      taskQueue,
      workerDone,
      apiRequest,
      workflowUrl: (connectionId) =>
        uiUrl
          ? `${uiUrl}/namespaces/${namespace}/workflows/${connectionWorkflowId(connectionId)}`
          : null,
      close: () => (closing ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A random token of the kind an app issues; kept only in the Sandbox's own state. */
export function randomToken(prefix: string): string {
  return `${prefix}_${randomBytes(18).toString('base64url')}`;
}
