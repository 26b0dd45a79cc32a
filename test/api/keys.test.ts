import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../db/client';
import { authenticateApiKey, createApiKey, ensureFirstKey, hashApiKey, revokeApiKey } from '../../db/queries/api-keys';
import { openTestDatabase, type OpenTestDatabase } from '../support/pg';

let database: OpenTestDatabase;

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database?.dispose();
});

describe('API keys', () => {
  it('creates the first workspace and key once, whatever the number of processes starting', async () => {
    const results = await Promise.all([ensureFirstKey(database.db), ensureFirstKey(database.db), ensureFirstKey(database.db)]);
    const keys = results.filter((k): k is string => k !== null);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^rk_[A-Za-z0-9_-]{43}$/);
    expect(await authenticateApiKey(database.db, keys[0])).toMatchObject({ workspaceId: expect.stringMatching(/^ws_/) });
    expect(await ensureFirstKey(database.db)).toBeNull();
    const workspaces = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from workspaces`));
    expect(workspaces[0].n).toBe(1);
  });

  it('stores only a hash and a short prefix of the key', async () => {
    const auth = await authenticateApiKey(database.db, (await ensureFirstKey(database.db)) ?? '');
    expect(auth).toBeNull();
    const ws = rowsOf<{ id: string }>(await database.db.execute(sql`select id from workspaces limit 1`))[0];
    const created = await createApiKey(database.db, ws.id, 'ci');
    const row = rowsOf<Record<string, unknown>>(await database.db.execute(sql`select * from api_keys where id = ${created.id}`))[0];
    expect(JSON.stringify(row)).not.toContain(created.key);
    expect(row.key_hash).toBe(hashApiKey(created.key));
    expect(created.key.startsWith(String(row.prefix))).toBe(true);
    expect(String(row.prefix).length).toBeLessThan(12);
  });

  it('refuses unknown and revoked keys', async () => {
    const ws = rowsOf<{ id: string }>(await database.db.execute(sql`select id from workspaces limit 1`))[0];
    const created = await createApiKey(database.db, ws.id, 'temp');
    expect(await authenticateApiKey(database.db, created.key)).not.toBeNull();
    expect(await authenticateApiKey(database.db, `${created.key}x`)).toBeNull();
    expect(await authenticateApiKey(database.db, 'not-even-a-key')).toBeNull();
    await revokeApiKey(database.db, created.id);
    expect(await authenticateApiKey(database.db, created.key)).toBeNull();
  });
});
