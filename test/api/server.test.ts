import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi } from '../../api/server';
import { openDatabase } from '../../db/client';
import { createApiKey, createWorkspace } from '../../db/queries/api-keys';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { capturingLogger, RecordingControl } from './harness';

// startApi as `npm run api` and `npm start` use it: its own database pool, master key file and Temporal client.

let database: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-api-'));
});
afterAll(async () => {
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('startApi', () => {
  it('creates the first key and a master key file once, and checks the database and Temporal', async () => {
    const api = await startApi({
      port: 0,
      databaseUrl: database.url,
      dataDir,
      temporalAddress: inject('temporalAddress'),
      env: {},
      logger: capturingLogger().logger,
    });
    try {
      expect(api.firstApiKey).toMatch(/^rk_/);
      expect(api.masterKey).toMatchObject({ generated: true, source: 'file', path: path.join(dataDir, 'master.key') });
      const ready = await fetch(`${api.url}/readyz`);
      expect(await ready.json()).toEqual({ ok: true, checks: { database: 'ok', temporal: 'ok' } });
      const list = await fetch(`${api.url}/connections`, { headers: { authorization: `Bearer ${api.firstApiKey}` } });
      expect(list.status).toBe(200);
    } finally {
      await api.close();
    }

    const again = await startApi({ port: 0, databaseUrl: database.url, dataDir, temporalAddress: inject('temporalAddress'), env: {}, logger: capturingLogger().logger });
    try {
      expect(again.firstApiKey).toBeNull();
      expect(again.masterKey).toMatchObject({ generated: false, source: 'file' });
    } finally {
      await again.close();
    }
  });

  it('is not ready while Temporal cannot be reached, but stays alive', async () => {
    const api = await startApi({ port: 0, databaseUrl: database.url, dataDir, temporalAddress: '127.0.0.1:1', env: {}, logger: capturingLogger().logger });
    try {
      expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${api.url}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { checks: Record<string, string> };
      expect(body.checks.database).toBe('ok');
      expect(body.checks.temporal).toMatch(/^failed/);
    } finally {
      await api.close();
    }
  });

  it('finishes requests in flight when closed, and refuses new ones', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    class SlowControl extends RecordingControl {
      override async syncNow(id: string) {
        entered();
        await gate;
        return super.syncNow(id);
      }
    }
    const control = new SlowControl();
    const api = await startApi({ port: 0, databaseUrl: database.url, dataDir, control, env: {}, logger: capturingLogger().logger, ensureFirstKey: false });
    const db = await openDatabase({ url: database.url, migrate: false });
    let key: string;
    try {
      const ws = await createWorkspace(db.db, 'drain');
      key = (await createApiKey(db.db, ws.id, 'drain')).key;
    } finally {
      await db.close();
    }
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const created = await fetch(`${api.url}/connections`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        a: { app: 'sandbox', credentials: { apiToken: 't' }, scope: { baseUrl: 'http://127.0.0.1:4010', instance: 'a' } },
        b: { app: 'sandbox', credentials: { apiToken: 't' }, scope: { baseUrl: 'http://127.0.0.1:4010', instance: 'b' } },
      }),
    });
    const { id } = (await created.json()) as { id: string };

    const inFlight = fetch(`${api.url}/connections/${id}/sync`, { method: 'POST', headers });
    await inside;
    const closed = api.close();
    await new Promise((r) => setTimeout(r, 50));
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
    release();
    expect((await inFlight).status).toBe(202);
    await closed;
    expect(control.callsTo('syncNow')).toEqual([id]);
  });
});
