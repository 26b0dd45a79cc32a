import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { openDatabase, type Database } from '../db/client';
import { loadMasterKey, type MasterKey } from '../db/crypto';
import { ensureFirstKey } from '../db/queries/api-keys';
import { ConnectionControl } from '../client';
import { checkDatabase, createApp, type Readiness } from './app';
import type { ConnectionControlPort } from './control';
import { createLogger } from './logging';

export interface StartApiOptions {
  port?: number;
  /** 127.0.0.1 unless given: an install is local until someone decides to expose it. */
  host?: string;
  /** An open database, left open by close(); otherwise one is opened from databaseUrl / DATABASE_URL or PGlite. */
  database?: Database;
  databaseUrl?: string;
  /** Where PGlite and the generated master key live (RAPPORT_DATA_DIR, default .data). */
  dataDir?: string;
  /** A connected client, left open by close(); otherwise a connection to temporalAddress is made. */
  temporalClient?: Client;
  temporalAddress?: string;
  temporalNamespace?: string;
  /** Replaces the ConnectionControl built on the Temporal client. */
  control?: ConnectionControlPort;
  masterKey?: Buffer;
  logger?: Logger;
  /** The Temporal UI's base URL for the dashboard's links; TEMPORAL_UI_URL unless given. */
  temporalUiUrl?: string | null;
  /** Create the first workspace and key when none exists (default true). */
  ensureFirstKey?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface RunningApi {
  url: string;
  port: number;
  /** The key created on first start, to print once; null otherwise. */
  firstApiKey: string | null;
  /** null when the caller gave the key */
  masterKey: Omit<MasterKey, 'key'> | null;
  /** Stops accepting, lets in-flight requests finish, then closes what startApi opened. */
  close(): Promise<void>;
}

const TEMPORAL_CHECK_MS = 3_000;
const DRAIN_MS = 10_000;

export async function startApi(opts: StartApiOptions = {}): Promise<RunningApi> {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? createLogger('rapport-api');
  const dataDir = path.resolve(opts.dataDir ?? env.RAPPORT_DATA_DIR ?? '.data');
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((err: unknown) => logger.warn({ err: String(err) }, 'error while closing'));
    }
  };

  try {
    let masterKeyInfo: Omit<MasterKey, 'key'> | null = null;
    let masterKey = opts.masterKey;
    if (!masterKey) {
      const loaded = loadMasterKey({ env, dataDir });
      masterKey = loaded.key;
      masterKeyInfo = { generated: loaded.generated, source: loaded.source, path: loaded.path };
    }

    let database = opts.database;
    if (!database) {
      database = await openDatabase({ url: opts.databaseUrl ?? env.DATABASE_URL, dataDir: path.join(dataDir, 'pglite') });
      cleanups.push(database.close);
    }
    const db = database.db;

    let client = opts.temporalClient;
    // A given client keeps its own namespace; the dashboard's Temporal UI links name whichever is used.
    const temporalNamespace = client?.options.namespace ?? opts.temporalNamespace ?? env.TEMPORAL_NAMESPACE ?? 'default';
    if (!client && !opts.control) {
      // Lazy, so the API comes up (and says "not ready") while Temporal is still starting or unreachable.
      const connection = Connection.lazy({ address: opts.temporalAddress ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
      client = new Client({ connection, namespace: temporalNamespace });
      cleanups.push(() => connection.close());
    }
    const control = opts.control ?? new ConnectionControl(client!);

    const readiness = async (): Promise<Readiness> => {
      const checks: Record<string, string> = { database: await checkDatabase(db) };
      if (client) checks.temporal = await checkTemporal(client);
      return { ok: Object.values(checks).every((c) => c === 'ok'), checks };
    };

    const firstApiKey = opts.ensureFirstKey === false ? null : await ensureFirstKey(db);
    const temporalUiUrl = opts.temporalUiUrl ?? (env.TEMPORAL_UI_URL || null);
    const app = createApp({ db, control, masterKey, logger, readiness, temporalUiUrl, temporalNamespace });
    const server = await listen(app, opts.port ?? Number(env.PORT ?? 3000), opts.host ?? env.HOST ?? '127.0.0.1');
    const { port, address } = server.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    const url = `http://${host}:${port}`;
    logger.info({ url }, 'API listening');

    let closing: Promise<void> | null = null;
    return {
      url,
      port,
      firstApiKey,
      masterKey: masterKeyInfo,
      close: () => (closing ??= closeServer(server).then(cleanup)),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function checkTemporal(client: Client): Promise<string> {
  try {
    await client.connection.withDeadline(Date.now() + TEMPORAL_CHECK_MS, () => client.workflowService.getSystemInfo({}));
    return 'ok';
  } catch (err) {
    return `failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function listen(app: ReturnType<typeof createApp>, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

/** Stops accepting at once; requests in flight get DRAIN_MS to finish before their sockets are cut. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    // Idle keep-alive sockets would otherwise hold close() open until the client drops them.
    server.closeIdleConnections();
  });
}
