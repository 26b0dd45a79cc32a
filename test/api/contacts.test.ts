import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountsCache } from '../../api/contacts';
import { createApiKey, createWorkspace } from '../../db/queries/api-keys';
import { failures, links, records } from '../../db/schema';
import { SyncStore } from '../../db/store';
import { buildPlanContext } from '../../sync/effective-mapping';
import { exclusionsOf } from '../../sync/exclusions';
import { connectionSettingsSchema, type ConnectionSettings } from '../../sync/settings';
import { sandboxFields } from '../../connectors/sandbox/fields';
import { openTestDatabase, type OpenTestDatabase } from '../support/pg';
import { capturingLogger, insertRouteConnection, RecordingControl, serve, type TestServer } from './harness';

// The Health tab's data: every contact of both sides with its status, derived from the sync store's
// records, links, failures and the rules' verdict the planner records. Rows are written as the engine writes
// them, then read back over HTTP.

let database: OpenTestDatabase;
let server: TestServer;
let keyOne: string;
let keyTwo: string;
let workspaceOne: string;
let control: RecordingControl;

const settings: ConnectionSettings = connectionSettingsSchema.parse({
  rules: { aToB: [{ filter: { field: 'company', operator: 'contains', value: 'Acme' } }] },
});

const newConnection = (workspaceId = workspaceOne, s: ConnectionSettings = settings) =>
  insertRouteConnection(database.db, workspaceId, { settings: s });

type Rec = typeof records.$inferInsert;
const person = (connectionId: string, side: 'a' | 'b', extId: string, first: string, last: string, email: string | null, extra: Partial<Rec> = {}): Rec => ({
  connectionId,
  side,
  extId,
  version: '1',
  fields: { first_name: first, last_name: last, company: 'Acme', ...(email ? { email_1: email } : {}) },
  emails: email ? [email.toLowerCase()] : [],
  dirty: false,
  ...extra,
});

const get = (path: string, key = keyOne) => server.request('GET', path, { key });

beforeAll(async () => {
  database = await openTestDatabase();
  const one = await createWorkspace(database.db, 'One');
  const two = await createWorkspace(database.db, 'Two');
  workspaceOne = one.id;
  keyOne = (await createApiKey(database.db, one.id, 'one')).key;
  keyTwo = (await createApiKey(database.db, two.id, 'two')).key;
  control = new RecordingControl();
  server = await serve({ db: database.db, control, masterKey: randomBytes(32), logger: capturingLogger().logger });
});

afterAll(async () => {
  await server?.close();
  await database?.dispose();
});

describe('GET /connections/:id/contacts', () => {
  let id: string;
  const ambiguousMessage = 'ambiguous match: 2 contacts on the other side share the email pat@acme.example (b-7, b-8)';

  beforeAll(async () => {
    id = await newConnection();
    const other = await newConnection();
    await database.db.insert(records).values([
      person(id, 'a', 'a-1', 'Ada', 'Lovelace', 'Ada@Example.com'),
      person(id, 'a', 'a-2', 'Grace', 'Hopper', 'grace@example.com', { dirty: true }),
      person(id, 'a', 'a-3', 'Edsger', 'Dijkstra', 'ewd@example.com', { excludedBy: 'rules', fields: { first_name: 'Edsger', last_name: 'Dijkstra', company: 'TU/e' } }),
      person(id, 'a', 'a-4', 'Nomail', 'Person', null),
      person(id, 'a', 'a-5', 'Pat', 'Doe', 'pat@acme.example'),
      person(id, 'a', 'a-6', 'Barbara', 'Liskov', 'barbara@example.com'),
      person(id, 'a', 'a-7', 'Alan', 'Kay', 'alan@example.com'),
      person(id, 'a', 'a-8', 'Katherine', 'Johnson', 'kj@example.com'),
      person(id, 'a', 'a-9', 'Gone', 'Away', 'gone@example.com', { deleted: true }),
      person(id, 'a', 'a-10', 'Frances', 'Allen', 'fran@example.com'),
      person(id, 'b', 'b-1', 'Ada', 'Lovelace', 'ada@example.com'),
      person(id, 'b', 'b-2', 'Grace', 'Hopper', 'grace@example.com'),
      person(id, 'b', 'b-3', '<img src=x onerror=alert(1)>', '100%_sure', 'hostile@example.com'),
      person(id, 'b', 'b-4', 'Donald', 'Knuth', 'knuth@example.com'),
      person(id, 'b', 'b-10', 'Frances', 'Allen', 'fran@example.com'),
      person(other, 'a', 'a-1', 'Elsewhere', 'Person', 'ada@example.com'),
    ]);
    await database.db.insert(links).values([
      { connectionId: id, aId: 'a-1', bId: 'b-1' },
      { connectionId: id, aId: 'a-2', bId: 'b-2' },
      { connectionId: id, aId: 'a-7', bId: 'b-gone', state: 'deleted-b' },
      { connectionId: id, aId: 'a-10', bId: 'b-10' },
      { connectionId: other, aId: 'a-1', bId: 'b-1' },
    ]);
    await database.db.insert(failures).values([
      { connectionId: id, side: 'a', extId: 'a-5', step: 'match', kind: 'ambiguous', message: ambiguousMessage, contactEmail: 'pat@acme.example' },
      { connectionId: id, side: 'a', extId: 'a-6', step: 'create', kind: 'contact', message: 'Beta: Field "Industry" is required', attempts: 3 },
      { connectionId: id, side: 'b', extId: 'b-4', targetId: 'a-x', step: 'update', kind: 'contact', message: 'Invalid value for field "Phone"' },
      // resolved: a-10 is in sync again
      { connectionId: id, side: 'a', extId: 'a-10', step: 'create', kind: 'contact', message: 'old', resolvedAt: new Date() },
    ]);
  });

  const byId = (body: any) => new Map<string, any>(body.contacts.map((c: any) => [`${c.side}:${c.id}`, c]));

  it('gives every live contact of both sides its status, and counts them whatever the filter', async () => {
    const res = await get(`/connections/${id}/contacts`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.connectionId).toBe(id);
    const statuses = Object.fromEntries(res.body.contacts.map((c: any) => [`${c.side}:${c.id}`, c.status]));
    expect(statuses).toEqual({
      'a:a-1': 'in-sync',
      'a:a-2': 'pending',
      'a:a-3': 'excluded',
      'a:a-4': 'no-email',
      'a:a-5': 'ambiguous',
      'a:a-6': 'failed',
      'a:a-7': 'excluded',
      'a:a-8': 'pending',
      'a:a-10': 'in-sync',
      'b:b-1': 'in-sync',
      'b:b-2': 'in-sync',
      'b:b-3': 'pending',
      'b:b-4': 'failed',
      'b:b-10': 'in-sync',
    });
    expect(res.body.counts).toEqual({ inSync: 5, pending: 3, excluded: 2, noEmail: 1, ambiguous: 1, failed: 2 });
    expect(res.body.nextCursor).toBeNull();
    const filtered = await get(`/connections/${id}/contacts?status=failed&side=b&q=knuth`);
    expect(filtered.body.counts).toEqual(res.body.counts);
  });

  it('explains each status: the link, the rule, the candidates, the failure with its Temporal case', async () => {
    const contacts = byId((await get(`/connections/${id}/contacts`)).body);
    expect(contacts.get('a:a-1')).toEqual({
      side: 'a',
      id: 'a-1',
      name: 'Ada Lovelace',
      email: 'Ada@Example.com',
      status: 'in-sync',
      linkedId: 'b-1',
      rule: null,
      candidates: null,
      failure: null,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(contacts.get('b:b-1').linkedId).toBe('a-1');
    expect(contacts.get('a:a-3').rule).toEqual({ kind: 'rules', direction: 'aToB', index: 0, text: 'IF Company contains "Acme" THEN sync' });
    expect(contacts.get('a:a-7').rule).toMatchObject({ kind: 'stopped', direction: 'aToB', index: null });
    expect(contacts.get('a:a-7').rule.text).toMatch(/deleted/);
    expect(contacts.get('a:a-7').linkedId).toBeNull();
    expect(contacts.get('a:a-5').candidates).toEqual(['b-7', 'b-8']);
    expect(contacts.get('a:a-6').failure).toEqual({
      id: expect.any(String),
      message: 'Beta: Field "Industry" is required',
      step: 'create',
      attempts: 3,
      lastAt: expect.stringMatching(/^\d{4}-/),
      workflowId: `contact-failure:${id}:a:a-6`,
    });
    expect(contacts.get('a:a-10').failure).toBeNull();
    // Names are data, passed as they are: the page renders them as text.
    expect(contacts.get('b:b-3').name).toBe('<img src=x onerror=alert(1)> 100%_sure');
  });

  it('filters by status and by side', async () => {
    const ids = async (qs: string) => (await get(`/connections/${id}/contacts?${qs}`)).body.contacts.map((c: any) => `${c.side}:${c.id}`).sort();
    expect(await ids('status=failed')).toEqual(['a:a-6', 'b:b-4']);
    expect(await ids('status=ambiguous')).toEqual(['a:a-5']);
    expect(await ids('status=excluded')).toEqual(['a:a-3', 'a:a-7']);
    expect(await ids('status=no-email')).toEqual(['a:a-4']);
    expect(await ids('status=pending')).toEqual(['a:a-2', 'a:a-8', 'b:b-3']);
    expect(await ids('status=in-sync&side=b')).toEqual(['b:b-1', 'b:b-10', 'b:b-2']);
    expect(await ids('side=b')).toEqual(['b:b-1', 'b:b-10', 'b:b-2', 'b:b-3', 'b:b-4']);
  });

  it('searches names and emails, case-insensitively, taking % and _ literally', async () => {
    const ids = async (q: string) =>
      (await get(`/connections/${id}/contacts?q=${encodeURIComponent(q)}`)).body.contacts.map((c: any) => `${c.side}:${c.id}`).sort();
    expect(await ids('LOVELACE')).toEqual(['a:a-1', 'b:b-1']);
    expect(await ids('ada lov')).toEqual(['a:a-1', 'b:b-1']);
    expect(await ids('ACME.EXAMPLE')).toEqual(['a:a-5']);
    expect(await ids('knuth@')).toEqual(['b:b-4']);
    expect(await ids('100%_')).toEqual(['b:b-3']);
    expect(await ids('%')).toEqual(['b:b-3']);
    expect(await ids('nobody-has-this')).toEqual([]);
    const both = await get(`/connections/${id}/contacts?q=grace&status=in-sync`);
    expect(both.body.contacts.map((c: any) => c.id)).toEqual(['b-2']);
  });

  it('refuses bad parameters with a 400 naming each', async () => {
    for (const [qs, path] of [
      ['status=broken', 'status'],
      ['side=c', 'side'],
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor!', 'cursor'],
      [`cursor=${Buffer.from('c:x').toString('base64url')}`, 'cursor'],
      ['q=', 'q'],
      ['colour=red', 'colour'],
    ] as const) {
      const res = await get(`/connections/${id}/contacts?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.issues.map((i: any) => i.path), qs).toContain(path);
    }
  });

  it("answers 404 for another workspace's connection and an unknown one", async () => {
    expect((await get(`/connections/${id}/contacts`, keyTwo)).status).toBe(404);
    expect((await get('/connections/con_nope/contacts')).status).toBe(404);
    expect((await server.request('GET', `/connections/${id}/contacts`)).status).toBe(401);
  });
});

describe('paging', () => {
  it('walks every contact exactly once, even while contacts are added during the walk', async () => {
    const id = await newConnection();
    const rows: Rec[] = [];
    for (let i = 0; i < 60; i++) {
      rows.push(person(id, 'a', `c-${String(i).padStart(3, '0')}`, `First${i}`, 'Alpha', `a${i}@example.com`));
      rows.push(person(id, 'b', `c-${String(i * 7)}`, `First${i}`, 'Beta', i % 3 === 0 ? null : `b${i}@example.com`));
    }
    await database.db.insert(records).values(rows);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: any } = await get(`/connections/${id}/contacts?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.contacts.length).toBeLessThanOrEqual(7);
      seen.push(...res.body.contacts.map((c: any) => `${c.side}:${c.id}`));
      cursor = res.body.nextCursor;
      if (++pages === 3) {
        // A contact added behind the walk and one ahead of it: the one ahead shows up, nothing else moves.
        await database.db.insert(records).values([
          person(id, 'a', 'c-000-early', 'Late', 'Comer', 'late@example.com'),
          person(id, 'b', 'zz-last', 'Later', 'Still', 'later@example.com'),
        ]);
      }
    } while (cursor);
    expect(pages).toBeGreaterThan(17);
    expect(new Set(seen).size).toBe(seen.length);
    const expected = rows.map((r) => `${r.side}:${r.extId}`);
    expect(seen.filter((s) => expected.includes(s)).sort()).toEqual(expected.sort());
    expect(seen).toContain('b:zz-last');

    // The same with a filter: the no-email contacts, 20 of them, by pages of 6.
    const filtered: string[] = [];
    cursor = null;
    do {
      const res: { body: any } = await get(`/connections/${id}/contacts?status=no-email&limit=6${cursor ? `&cursor=${cursor}` : ''}`);
      filtered.push(...res.body.contacts.map((c: any) => c.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(filtered.length).toBe(20);
    expect(new Set(filtered).size).toBe(20);
  });
});

describe('the rules verdict the planner records', () => {
  it('marks records no rule lets through, and records of a side the direction keeps back', async () => {
    const id = await newConnection(workspaceOne, connectionSettingsSchema.parse({ ...settings, direction: 'a-to-b' }));
    const rows = [
      person(id, 'a', 'in', 'In', 'Rules', 'in@example.com'),
      person(id, 'a', 'out', 'Out', 'Rules', 'out@example.com', { fields: { first_name: 'Out', company: 'Other' } }),
      person(id, 'b', 'back', 'Kept', 'Back', 'back@example.com'),
    ];
    await database.db.insert(records).values(rows);
    const context = buildPlanContext(
      connectionSettingsSchema.parse({ ...settings, direction: 'a-to-b' }),
      { a: 'sandbox', b: 'sandbox' },
      { a: sandboxFields, b: sandboxFields },
    );
    const snapshots = rows.map((r) => ({ side: r.side, id: r.extId, version: '1', fields: r.fields, deleted: false }));
    const exclusions = exclusionsOf(context, snapshots);
    expect(exclusions).toEqual([
      { side: 'a', id: 'in', excludedBy: null },
      { side: 'a', id: 'out', excludedBy: 'rules' },
      { side: 'b', id: 'back', excludedBy: 'direction' },
    ]);
    await new SyncStore(database.db, id).commitPlan({ batchId: 'b1', ops: [], conflicts: [], ambiguous: [], gone: [], settled: [], exclusions });
    const stored = await database.db
      .select({ extId: records.extId, excludedBy: records.excludedBy })
      .from(records)
      .where(and(eq(records.connectionId, id)));
    expect(Object.fromEntries(stored.map((r) => [r.extId, r.excludedBy]))).toEqual({ in: null, out: 'rules', back: 'direction' });

    const contacts = (await get(`/connections/${id}/contacts`)).body.contacts;
    const back = contacts.find((c: any) => c.id === 'back');
    expect(back.status).toBe('excluded');
    expect(back.rule).toMatchObject({ kind: 'direction', direction: 'bToA', index: null });
    expect(contacts.find((c: any) => c.id === 'in').status).toBe('pending');
  });
});

describe('the counts cache', () => {
  it('reuses a connection’s counts within their time to live, then serves them once more while counting again', async () => {
    const cache = new CountsCache(5_000);
    let computed = 0;
    const compute = async () => {
      computed++;
      return { 'in-sync': computed, pending: 0, excluded: 0, 'no-email': 0, ambiguous: 0, failed: 0 };
    };
    expect((await cache.get('c1', compute, 1_000))['in-sync']).toBe(1);
    expect((await cache.get('c1', compute, 5_999))['in-sync']).toBe(1);
    expect((await cache.get('c2', compute, 5_999))['in-sync']).toBe(2);
    // Expired: the old counts answer at once, and one recount starts however many ask meanwhile.
    let release = () => {};
    const slow = () =>
      new Promise<Awaited<ReturnType<typeof compute>>>((resolve) => {
        release = () => void compute().then(resolve);
      });
    expect((await cache.get('c1', slow, 6_000))['in-sync']).toBe(1);
    expect((await cache.get('c1', slow, 6_001))['in-sync']).toBe(1);
    release();
    await cache.refreshed('c1');
    expect(computed).toBe(3);
    expect((await cache.get('c1', compute, 6_002))['in-sync']).toBe(3);
    // A failed first count is not kept; a failed recount keeps the last counts.
    const failing = () => Promise.reject(new Error('database down'));
    await expect(cache.get('c3', failing, 7_000)).rejects.toThrow('database down');
    expect((await cache.get('c3', compute, 7_001))['in-sync']).toBe(4);
    expect((await cache.get('c3', failing, 20_000))['in-sync']).toBe(4);
    await cache.refreshed('c3');
    expect((await cache.get('c3', compute, 20_001))['in-sync']).toBe(4);
  });
});

describe('the overview: GET /connections and GET /connections/:id', () => {
  it('carry the contacts in sync, the unresolved failures counted per contact, and the workflow status', async () => {
    const ws = await createWorkspace(database.db, 'Overview');
    const key = (await createApiKey(database.db, ws.id, 'overview')).key;
    const id = await newConnection(ws.id);
    const quiet = await newConnection(ws.id);
    await database.db.insert(links).values([
      { connectionId: id, aId: 'a-1', bId: 'b-1' },
      { connectionId: id, aId: 'a-2', bId: 'b-2' },
      { connectionId: id, aId: 'a-3', bId: 'b-3', state: 'deleted-b' },
    ]);
    await database.db.insert(failures).values([
      // one contact failing at two steps is one unresolved contact
      { connectionId: id, side: 'a', extId: 'a-9', step: 'create', kind: 'contact', message: 'required' },
      { connectionId: id, side: 'a', extId: 'a-9', step: 'match', kind: 'ambiguous', message: 'ambiguous' },
      { connectionId: id, side: 'b', extId: 'b-9', step: 'update', kind: 'contact', message: 'invalid' },
      { connectionId: id, side: 'b', extId: 'b-8', step: 'update', kind: 'contact', message: 'fixed', resolvedAt: new Date() },
    ]);
    control.phases.set(id, 'running');

    const list = await server.request('GET', '/connections', { key });
    expect(list.status).toBe(200);
    const [first, second] = list.body.connections;
    expect(first.id).toBe(id);
    expect(first.overview).toEqual({ inSync: 2, unresolvedFailures: 2 });
    expect(first.status).toMatchObject({ phase: 'running', lastCycleAt: expect.any(String), counts: { scanned: { a: 1, b: 2 } } });
    expect(second).toMatchObject({ id: quiet, overview: { inSync: 0, unresolvedFailures: 0 }, status: null });

    const one = await server.request('GET', `/connections/${id}`, { key });
    expect(one.body.overview).toEqual({ inSync: 2, unresolvedFailures: 2 });
    expect(one.body.status.phase).toBe('running');
  });
});
