import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { startApi, type RunningApi } from '../../api/server';
import type { Database } from '../../db/client';
import { createLogger } from '../../lib/logger';
import { startSandbox, type Sandbox } from '../../sandboxes/sandbox';
import type { InstanceConfig } from '../../sandboxes/sandbox';
import { createWorker } from '../../worker/worker';
import { ConnectionControl } from '../../client';
import type { ConnectionStatus } from '../../workflows/messages';
import type { RetrySchedule } from '../../workflows/retry-schedule';
import { openTestDatabase } from './pg';

export { eventually } from './eventually';

// The whole product in one test process, on real parts: PostgreSQL (a fresh database), the shared Temporal
// dev server, the Sandbox app, a worker on a task queue of its own, and the REST API.

let runtimeInstalled = false;

export interface StackOptions {
  instances?: Record<string, InstanceConfig>;
  /** start no worker: the test runs its own (e.g. in a child process) */
  worker?: boolean;
  pageSize?: number;
  planBatchSize?: number;
  /** when failure cases retry by themselves (HubSpot's 20 minutes when unset) */
  failureRetrySchedule?: RetrySchedule;
  database?: Database;
  /** another Temporal server than the suite's shared (headless) one, e.g. one with its UI */
  temporalAddress?: string;
}

export interface Stack {
  db: Database;
  /** the PostgreSQL URL of the stack's own database (null when one was given) */
  databaseUrl: string | null;
  sandbox: Sandbox;
  api: RunningApi;
  apiKey: string;
  client: Client;
  control: ConnectionControl;
  taskQueue: string;
  temporalAddress: string;
  masterKey: Buffer;
  /** JSON request to the API with the stack's key */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** POST /connections between two sandbox instances; returns the id */
  connect(a: string, b: string, settings?: Record<string, unknown>): Promise<string>;
  status(connectionId: string): Promise<ConnectionStatus | null>;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const temporalAddress = opts.temporalAddress ?? inject('temporalAddress');
  const ownDb = opts.database ? null : await openTestDatabase('rapport_e2e');
  const db = opts.database ?? ownDb!;
  const sandbox = await startSandbox({
    instances: opts.instances ?? { alpha: { token: 'alpha-secret-token' }, beta: { token: 'beta-secret-token' } },
  });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const taskQueue = `test-${randomUUID()}`;
  const control = new ConnectionControl(client, taskQueue);
  const masterKey = randomBytes(32);
  const logger = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const api = await startApi({ port: 0, database: db, temporalClient: client, control, masterKey, logger });
  if (!api.firstApiKey) throw new Error('expected a first API key in a fresh database');
  const apiKey = api.firstApiKey;

  let native: NativeConnection | null = null;
  let worker: Worker | null = null;
  let running: Promise<void> | null = null;

  const stack: Stack = {
    db,
    databaseUrl: ownDb?.url ?? null,
    sandbox,
    api,
    apiKey,
    client,
    control,
    taskQueue,
    temporalAddress,
    masterKey,
    async request(method, path, body) {
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async connect(a, b, settings) {
      const instance = (name: string) => ({
        app: 'sandbox',
        credentials: { apiToken: sandbox.instance(name).config.token },
        scope: { baseUrl: sandbox.url, instance: name },
      });
      const res = await stack.request('POST', '/connections', {
        name: `${a} ↔ ${b}`,
        a: instance(a),
        b: instance(b),
        settings: { pollIntervalSeconds: 2, ...settings },
      });
      if (res.status !== 201) throw new Error(`POST /connections: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    status: (id) => control.status(id),
    async startWorker() {
      native = await NativeConnection.connect({ address: temporalAddress });
      worker = await createWorker({
        connection: native,
        taskQueue,
        db: db.db,
        masterKey,
        logger,
        pageSize: opts.pageSize,
        planBatchSize: opts.planBatchSize,
        failureRetrySchedule: opts.failureRetrySchedule,
      });
      running = worker.run();
    },
    async stopWorker() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running?.catch(() => undefined);
      await native?.close();
      worker = null;
      running = null;
      native = null;
    },
    async close() {
      await stack.stopWorker();
      await api.close();
      await connection.close();
      await sandbox.close();
      await ownDb?.dispose();
    },
  };
  if (opts.worker !== false) await stack.startWorker();
  return stack;
}

/** Terminates every workflow this stack started, so the shared server does not keep them running. */
export async function terminateAll(stack: Stack, ids: string[]): Promise<void> {
  for (const id of ids) {
    await stack.client.workflow
      .getHandle(`connection:${id}`)
      .terminate('test finished')
      .catch(() => undefined);
  }
}
