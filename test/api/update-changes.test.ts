import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createWorkspace } from '../../db/queries/api-keys';
import { insertConnection } from '../../db/queries/connections';
import { newId } from '../../db/queries/ids';
import { links, records } from '../../db/schema';
import { SyncStore } from '../../db/store';
import { defaultSettings } from '../../sync/settings';
import { openTestDatabase, type OpenTestDatabase } from '../support/pg';
import { capturingLogger, RecordingControl, serve, type TestServer } from './harness';

// The activity feed says, for each update the engine made, which fields changed from what to what: the
// store records the target's values before the write beside what the app returned after it.

let database: OpenTestDatabase;
let server: TestServer;
let key: string;
let workspaceId: string;

beforeAll(async () => {
  database = await openTestDatabase();
  workspaceId = (await createWorkspace(database.db, 'One')).id;
  key = (await createApiKey(database.db, workspaceId, 'one')).key;
  server = await serve({ db: database.db, control: new RecordingControl(), masterKey: randomBytes(32), logger: capturingLogger().logger });
});

afterAll(async () => {
  await server?.close();
  await database?.dispose();
});

describe('updated events', () => {
  it('carry detail.changes: each field written, its value before and the value the app holds after', async () => {
    const { id } = await insertConnection(database.db, {
      id: newId('con'),
      workspaceId,
      name: 'Alpha <-> Beta',
      appA: 'sandbox',
      appB: 'sandbox',
      scopeA: {},
      scopeB: {},
      credentialsA: 'unused',
      credentialsB: 'unused',
      settings: defaultSettings(),
      state: 'running',
    });
    await database.db.insert(records).values([
      { connectionId: id, side: 'a', extId: 'a-1', version: '2', fields: { first_name: 'Ada', job_title: 'Countess', phone_work: '+44 20 7946 0000' }, emails: [], dirty: false },
      { connectionId: id, side: 'b', extId: 'b-1', version: '1', fields: { first_name: 'Ada', job_title: 'Analyst', phone_work: null }, emails: [], dirty: false },
    ]);
    await database.db.insert(links).values({ connectionId: id, aId: 'a-1', bId: 'b-1' });
    const store = new SyncStore(database.db, id);
    await store.commitPlan({
      batchId: 'batch-1',
      ops: [
        {
          kind: 'update',
          target: 'b',
          id: 'b-1',
          version: '1',
          fields: { job_title: 'Countess', phone_work: '+44 20 7946 0000' },
          link: { a: 'a-1', b: 'b-1' },
          baseline: { job_title: 'Countess', phone_work: '+44 20 7946 0000' },
        },
      ],
      conflicts: [],
      ambiguous: [],
      gone: [],
      settled: [],
    });
    const [op] = await store.takeBatchOperations('batch-1');
    // The app normalises the phone number it stores.
    const returned = { extId: 'b-1', version: '2', fields: { first_name: 'Ada', job_title: 'Countess', phone_work: '+442079460000' }, emails: [] };
    await store.recordWriteOutcomes('b', [{ op, result: 'done', record: returned }], () => ({ name: 'Ada', email: null }));

    const res = await server.request('GET', `/connections/${id}/activity`, { key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [event] = res.body.events;
    expect(event).toMatchObject({ kind: 'updated', side: 'b', extId: 'b-1', contactName: 'Ada', changed: ['job_title', 'phone_work'] });
    expect(event.detail.changes).toEqual([
      { field: 'job_title', from: 'Analyst', to: 'Countess' },
      { field: 'phone_work', from: null, to: '+442079460000' },
    ]);
  });
});
