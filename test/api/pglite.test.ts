import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../db/client';
import { ensureFirstKey } from '../../db/queries/api-keys';
import { capturingLogger, RecordingControl, serve, type TestServer } from './harness';

// `npm start` without DATABASE_URL runs on embedded PGlite: the same routes must work there, transactions included.

let dir: string;
let database: Database;
let server: TestServer;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rapport-pglite-'));
  database = await openDatabase({ dataDir: dir });
  key = (await ensureFirstKey(database.db))!;
  server = await serve({ db: database.db, control: new RecordingControl(), masterKey: randomBytes(32), logger: capturingLogger().logger });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the API on PGlite', () => {
  it('creates, changes concurrently, pauses and deletes a connection', async () => {
    const account = (instance: string) => ({ app: 'sandbox', credentials: { apiToken: 'tok' }, scope: { baseUrl: 'http://127.0.0.1:4010', instance } });
    const created = await server.request('POST', '/connections', { key, body: { a: account('a'), b: account('b') } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const patches = await Promise.all([
      server.request('PATCH', `/connections/${id}`, { key, body: { settings: { pollIntervalSeconds: 90 } } }),
      server.request('PATCH', `/connections/${id}`, { key, body: { settings: { master: 'b' } } }),
      server.request('GET', `/connections/${id}`, { key }),
    ]);
    expect(patches.map((p) => p.status)).toEqual([200, 200, 200]);
    const after = await server.request('GET', `/connections/${id}`, { key });
    expect(after.body.settings).toMatchObject({ pollIntervalSeconds: 90, master: 'b' });
    expect((await server.request('POST', `/connections/${id}/pause`, { key })).status).toBe(200);
    expect((await server.request('DELETE', `/connections/${id}`, { key })).status).toBe(204);
    expect((await server.request('GET', '/readyz')).body).toEqual({ ok: true, checks: { database: 'ok' } });
  });
});
