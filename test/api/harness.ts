import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type express from 'express';
import { createApp, type ApiDeps } from '../../api/app';
import type { ConnectionControlPort } from '../../api/control';
import { createLogger } from '../../api/logging';
import type { Db } from '../../db/client';
import { insertConnection } from '../../db/queries/connections';
import { newId } from '../../db/queries/ids';
import { defaultSettings, type ConnectionSettings } from '../../sync/settings';
import type { ConnectionPhase, ConnectionStatus } from '../../workflows/messages';

export interface ControlCall {
  method: keyof ConnectionControlPort;
  id: string;
}

export function statusFor(connectionId: string, phase: ConnectionPhase): ConnectionStatus {
  return {
    connectionId,
    phase,
    paused: phase === 'paused',
    syncing: false,
    cycles: 3,
    lastCycleAt: '2024-01-01T00:00:00.000Z',
    nextCycleAt: null,
    lastError: null,
    brake: null,
    currentCycle: null,
    lastCycle: null,
    reconcile: { nextAt: null, currentCycle: null, last: null },
    counts: {
      scanned: { a: 1, b: 2 },
      total: { a: 1, b: null },
      matched: 1,
      created: { a: 0, b: 1 },
      updated: { a: 0, b: 0 },
      deleted: { a: 0, b: 0 },
      failed: 0,
      conflicts: 0,
    },
  };
}

/** Records every call; `fail` makes the named method throw the given error once. */
export class RecordingControl implements ConnectionControlPort {
  calls: ControlCall[] = [];
  failures = new Map<keyof ConnectionControlPort, Error>();
  phases = new Map<string, ConnectionPhase>();
  /** the safety brake's reasons per connection, for status(); holding puts it in needs-confirmation */
  brakes = new Map<string, string[]>();

  private record(method: keyof ConnectionControlPort, id: string) {
    this.calls.push({ method, id });
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      throw failure;
    }
  }
  fail(method: keyof ConnectionControlPort, err: Error) {
    this.failures.set(method, err);
  }
  callsTo(method: keyof ConnectionControlPort) {
    return this.calls.filter((c) => c.method === method).map((c) => c.id);
  }

  async start(id: string) {
    this.record('start', id);
    this.phases.set(id, 'initial-scan');
  }
  async pause(id: string) {
    this.record('pause', id);
    this.phases.set(id, 'paused');
    return statusFor(id, 'paused');
  }
  async resume(id: string) {
    this.record('resume', id);
    this.phases.set(id, 'running');
    return statusFor(id, 'running');
  }
  async syncNow(id: string) {
    this.record('syncNow', id);
    return { cycle: 4 };
  }
  async resync(id: string) {
    this.record('resync', id);
    return { cycle: 4, contacts: 2 };
  }
  async reconcile(id: string) {
    this.record('reconcile', id);
    return { cycle: 4 };
  }
  async confirm(id: string) {
    this.record('confirm', id);
    return statusFor(id, 'running');
  }
  async cancel(id: string) {
    this.record('cancel', id);
    return statusFor(id, 'running');
  }
  async settingsChanged(id: string) {
    this.record('settingsChanged', id);
  }
  async status(id: string) {
    this.record('status', id);
    const reasons = this.brakes.get(id);
    if (reasons) return { ...statusFor(id, 'needs-confirmation'), brake: { reasons } };
    const phase = this.phases.get(id);
    return phase ? statusFor(id, phase) : null;
  }
  async stop(id: string) {
    this.record('stop', id);
    this.phases.delete(id);
  }
  async endFailureCases(id: string) {
    this.record('endFailureCases', id);
    return 0;
  }
  async retryContact(input: { connectionId: string; side: string; extId: string }) {
    this.record('retryContact', input.connectionId);
    return `contact-failure:${input.connectionId}:${input.side}:${input.extId}`;
  }
}

export function namedError(name: string, message = name): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/** A pino logger whose lines are kept, to check what reaches the logs. */
export function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug' }, stream), lines };
}

export interface TestServer {
  url: string;
  app: express.Application;
  close(): Promise<void>;
  request(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

export async function serve(deps: Omit<ApiDeps, 'masterKey'> & { masterKey?: Buffer }): Promise<TestServer> {
  const app = createApp({ masterKey: randomBytes(32), ...deps });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    app,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      let body: string | undefined;
      if (opts.raw !== undefined) body = opts.raw;
      else if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: the test sees the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
  };
}

/**
 * A Sandbox <-> Sandbox connection row for the routes that read the database only: no workflow runs and
 * its credentials are never decrypted.
 */
export async function insertRouteConnection(
  db: Db,
  workspaceId: string,
  opts: { settings?: ConnectionSettings; state?: ConnectionPhase; name?: string } = {},
): Promise<string> {
  const row = await insertConnection(db, {
    id: newId('con'),
    workspaceId,
    name: opts.name ?? 'Alpha <-> Beta',
    appA: 'sandbox',
    appB: 'sandbox',
    scopeA: { instance: 'alpha' },
    scopeB: { instance: 'beta' },
    credentialsA: 'not-read-by-these-routes',
    credentialsB: 'not-read-by-these-routes',
    settings: opts.settings ?? defaultSettings(),
    state: opts.state ?? 'running',
  });
  return row.id;
}
