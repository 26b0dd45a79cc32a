import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createWorkspace } from '../../db/queries/api-keys';
import { links, records } from '../../db/schema';
import { connectionSettingsSchema } from '../../sync/settings';
import type { ConnectionPhase } from '../../workflows/messages';
import { openTestDatabase, type OpenTestDatabase } from '../support/pg';
import { capturingLogger, insertRouteConnection, RecordingControl, serve, type TestServer } from './harness';

// The safety brake's banner data: the linked contacts whose deletion the brake holds, written to the store
// as the engine leaves them while it holds (deleted and dirty, links still active), read back over HTTP.

let database: OpenTestDatabase;
let server: TestServer;
let keyOne: string;
let keyTwo: string;
let workspaceOne: string;
let control: RecordingControl;

const PLAN_REASON = 'the cycle would trash or delete 3 of 4 linked contacts (more than 10%)';

const newConnection = (opts: { policy?: 'never' | 'trash' | 'delete'; protectA?: boolean; state?: ConnectionPhase } = {}) =>
  insertRouteConnection(database.db, workspaceOne, {
    settings: connectionSettingsSchema.parse({ deletions: { policy: opts.policy ?? 'delete', protectA: opts.protectA ?? false } }),
    state: opts.state,
  });

type Rec = typeof records.$inferInsert;
const person = (connectionId: string, side: 'a' | 'b', extId: string, first: string, email: string, extra: Partial<Rec> = {}): Rec => ({
  connectionId,
  side,
  extId,
  version: '1',
  fields: { first_name: first, last_name: 'Example', email_1: email },
  emails: [email],
  dirty: false,
  ...extra,
});
const gone = { deleted: true, dirty: true };

/**
 * Four linked pairs; on side a, 1-3 were deleted and wait to be planned, 9 (unlinked) too; side b's 4 is
 * gone as well as its partner. Live dirty records wait beside them, which the brake does not hold.
 */
async function seed(id: string): Promise<void> {
  await database.db.insert(records).values([
    person(id, 'a', 'a-1', 'Ada', 'ada@example.com', gone),
    person(id, 'a', 'a-2', 'Bob', 'bob@example.com', gone),
    person(id, 'a', 'a-3', 'Cy', 'cy@example.com', gone),
    person(id, 'a', 'a-4', 'Dee', 'dee@example.com', gone),
    person(id, 'a', 'a-5', 'Eve', 'eve@example.com', { dirty: true }),
    person(id, 'a', 'a-9', 'Nobody', 'nobody@example.com', gone),
    person(id, 'b', 'b-1', 'Ada', 'ada@example.com'),
    person(id, 'b', 'b-2', 'Bob', 'bob@example.com'),
    person(id, 'b', 'b-3', 'Cy', 'cy@example.com'),
    person(id, 'b', 'b-4', 'Dee', 'dee@example.com', gone),
    person(id, 'b', 'b-5', 'Eve', 'eve@example.com'),
  ]);
  await database.db.insert(links).values([
    { connectionId: id, aId: 'a-1', bId: 'b-1' },
    { connectionId: id, aId: 'a-2', bId: 'b-2' },
    { connectionId: id, aId: 'a-3', bId: 'b-3' },
    { connectionId: id, aId: 'a-4', bId: 'b-4' },
    { connectionId: id, aId: 'a-5', bId: 'b-5' },
  ]);
}

const get = (path: string, key = keyOne) => server.request('GET', path, { key });
const brakeOf = (id: string, query = '') => get(`/connections/${id}/brake${query}`);

beforeAll(async () => {
  database = await openTestDatabase();
  const one = await createWorkspace(database.db, 'One');
  const two = await createWorkspace(database.db, 'Two');
  workspaceOne = one.id;
  keyOne = (await createApiKey(database.db, one.id, 'one')).key;
  keyTwo = (await createApiKey(database.db, two.id, 'two')).key;
  control = new RecordingControl();
  server = await serve({ db: database.db, control, masterKey: randomBytes(32), logger: capturingLogger().logger, statusTimeoutMs: 500 });
});

afterAll(async () => {
  await server?.close();
  await database?.dispose();
});

describe('GET /connections/:id/brake', () => {
  it('lists the linked contacts whose deletion the brake holds, and what Confirm would do on the other side', async () => {
    const id = await newConnection();
    await seed(id);
    control.brakes.set(id, [PLAN_REASON]);
    const res = await brakeOf(id);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      connectionId: id,
      holding: true,
      reasons: [PLAN_REASON],
      total: 5,
      held: [
        { side: 'a', id: 'a-1', name: 'Ada Example', email: 'ada@example.com', other: { side: 'b', id: 'b-1', outcome: 'delete' } },
        { side: 'a', id: 'a-2', name: 'Bob Example', email: 'bob@example.com', other: { side: 'b', id: 'b-2', outcome: 'delete' } },
        { side: 'a', id: 'a-3', name: 'Cy Example', email: 'cy@example.com', other: { side: 'b', id: 'b-3', outcome: 'delete' } },
        // gone on both sides: the pair only ends
        { side: 'a', id: 'a-4', name: 'Dee Example', email: 'dee@example.com', other: { side: 'b', id: 'b-4', outcome: 'unlink' } },
        { side: 'b', id: 'b-4', name: 'Dee Example', email: 'dee@example.com', other: { side: 'a', id: 'a-4', outcome: 'unlink' } },
      ],
      nextCursor: null,
    });
  });

  it('says what the deletion policy does: tag for trash, unlink for never or a protected side', async () => {
    const outcomes = async (opts: Parameters<typeof newConnection>[0]) => {
      const id = await newConnection(opts);
      await seed(id);
      control.brakes.set(id, [PLAN_REASON]);
      const res = await brakeOf(id);
      return (res.body.held as { id: string; other: { outcome: string } }[]).map((h) => `${h.id}:${h.other.outcome}`);
    };
    expect(await outcomes({ policy: 'trash' })).toEqual(['a-1:tag', 'a-2:tag', 'a-3:tag', 'a-4:unlink', 'b-4:unlink']);
    expect(await outcomes({ policy: 'never' })).toEqual(['a-1:unlink', 'a-2:unlink', 'a-3:unlink', 'a-4:unlink', 'b-4:unlink']);
    expect(await outcomes({ policy: 'delete', protectA: true })).toEqual(['a-1:delete', 'a-2:delete', 'a-3:delete', 'a-4:unlink', 'b-4:unlink']);
  });

  it('lists nothing when the brake does not hold, though deletions wait to be planned', async () => {
    const id = await newConnection();
    await seed(id);
    control.phases.set(id, 'running');
    const res = await brakeOf(id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ connectionId: id, holding: false, reasons: [], total: 0, held: [], nextCursor: null });
  });

  it('pages by keyset with the same cursors as the other lists, and refuses a cursor it did not hand out', async () => {
    const id = await newConnection();
    await seed(id);
    control.brakes.set(id, [PLAN_REASON]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await brakeOf(id, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(5);
      expect(res.body.held.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.held.map((h: { side: string; id: string }) => `${h.side}:${h.id}`));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual(['a:a-1', 'a:a-2', 'a:a-3', 'a:a-4', 'b:b-4']);
    expect(pages).toBe(3);

    const bad = await brakeOf(id, '?cursor=not*a*cursor');
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('cursor');
    expect((await brakeOf(id, '?limit=0')).status).toBe(400);
  });

  it('holds every linked contact of a side whose listing came back empty', async () => {
    const id = await newConnection();
    await seed(id);
    control.brakes.set(id, ['side B lists no contacts where it had 5']);
    const res = await brakeOf(id);
    expect(res.body.holding).toBe(true);
    expect(res.body.held.map((h: { side: string; id: string; other: { id: string; outcome: string } }) => `${h.side}:${h.id}->${h.other.id}:${h.other.outcome}`)).toEqual([
      // the deletions recorded on side a still wait as well
      'a:a-1->b-1:delete',
      'a:a-2->b-2:delete',
      'a:a-3->b-3:delete',
      'a:a-4->b-4:unlink',
      'b:b-4->a-4:unlink',
      // b-1..b-3 are linked to contacts already gone on a: both sides gone, the pair only ends
      'b:b-1->a-1:unlink',
      'b:b-2->a-2:unlink',
      'b:b-3->a-3:unlink',
      'b:b-5->a-5:delete',
    ].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    expect(res.body.total).toBe(9);
  });

  it('falls back on the stored phase when the workflow does not answer', async () => {
    const id = await newConnection({ state: 'needs-confirmation' });
    await seed(id);
    const res = await brakeOf(id);
    expect(res.body).toMatchObject({ holding: true, reasons: [], total: 5 });
    expect(res.body.held).toHaveLength(5);
  });

  it("answers 404 for another workspace's connection, and 401 without a key", async () => {
    const id = await newConnection();
    await seed(id);
    control.brakes.set(id, [PLAN_REASON]);
    expect((await brakeOf(id)).status).toBe(200);
    const other = await get(`/connections/${id}/brake`, keyTwo);
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain('Ada');
    expect((await server.request('GET', `/connections/${id}/brake`)).status).toBe(401);
  });
});
