import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ambiguousCandidates } from '../../api/health';
import { parseSince } from '../../api/activity';
import { createApiKey, createWorkspace } from '../../db/queries/api-keys';
import { conflicts, events, failures, links, records } from '../../db/schema';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';
import { openTestDatabase, type OpenTestDatabase } from '../support/pg';
import { capturingLogger, insertRouteConnection, RecordingControl, serve, type TestServer } from './harness';

// Ops visibility, read side: Health lists the contacts that fail with the app's own message and their
// Temporal case; Activity counts what the engine wrote per hour and side; Conflicts shows both values and
// the winner. Rows are inserted as the engine writes them, then read back over HTTP.

const HOUR = 3_600_000;

let database: OpenTestDatabase;
let server: TestServer;
let keyOne: string;
let keyTwo: string;
let workspaceOne: string;

const newConnection = (workspaceId = workspaceOne) =>
  insertRouteConnection(database.db, workspaceId, { name: 'Pipeliner <-> Outlook' });

const get = (path: string, key = keyOne) => server.request('GET', path, { key });

beforeAll(async () => {
  database = await openTestDatabase();
  const one = await createWorkspace(database.db, 'One');
  const two = await createWorkspace(database.db, 'Two');
  workspaceOne = one.id;
  keyOne = (await createApiKey(database.db, one.id, 'one')).key;
  keyTwo = (await createApiKey(database.db, two.id, 'two')).key;
  server = await serve({ db: database.db, control: new RecordingControl(), masterKey: randomBytes(32), logger: capturingLogger().logger });
});

afterAll(async () => {
  await server?.close();
  await database?.dispose();
});

describe('GET /connections/:id/health', () => {
  let id: string;
  const ambiguousMessage = 'ambiguous match: 2 contacts on the other side share the email pat@acme.example (b-17, b-18)';

  beforeAll(async () => {
    id = await newConnection();
    const other = await newConnection();
    const t0 = Date.now() - 5 * HOUR;
    await database.db.insert(failures).values([
      {
        connectionId: id,
        side: 'a',
        extId: 'a-1',
        targetId: null,
        step: 'create',
        kind: 'contact',
        message: 'Pipeliner: Field "Industry" is required',
        status: 422,
        code: 'required_field',
        contactName: 'Ada Lovelace',
        contactEmail: 'ada@example.com',
        attempts: 3,
        firstAt: new Date(t0),
        lastAt: new Date(t0 + HOUR),
      },
      {
        connectionId: id,
        side: 'b',
        extId: 'b-2',
        targetId: 'a-2',
        step: 'update',
        kind: 'contact',
        message: 'Invalid value for field "Phone"',
        contactName: 'Grace Hopper',
        contactEmail: 'grace@example.com',
      },
      {
        connectionId: id,
        side: 'a',
        extId: 'a-3',
        step: 'match',
        kind: 'ambiguous',
        message: ambiguousMessage,
        contactName: 'Pat Doe',
        contactEmail: 'pat@acme.example',
      },
      { connectionId: id, side: 'b', extId: 'b-4', step: 'update', kind: 'auth', message: '401 token revoked' },
      // resolved: no longer a failure, and not counted
      { connectionId: id, side: 'a', extId: 'a-5', step: 'create', kind: 'contact', message: 'old', resolvedAt: new Date() },
      // another connection's failure
      { connectionId: other, side: 'a', extId: 'x-1', step: 'create', kind: 'contact', message: 'elsewhere' },
    ]);
  });

  it("lists each unresolved failed contact with the app's own message, step, both ids, contact and times", async () => {
    const res = await get(`/connections/${id}/health`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.connectionId).toBe(id);
    expect(res.body.failures.map((f: any) => f.extId)).toEqual(['b-4', 'a-3', 'b-2', 'a-1']);
    const ada = res.body.failures.find((f: any) => f.extId === 'a-1');
    expect(ada).toEqual({
      id: expect.stringMatching(/^\d+$/),
      kind: 'contact',
      step: 'create',
      message: 'Pipeliner: Field "Industry" is required',
      side: 'a',
      extId: 'a-1',
      targetId: null,
      status: 422,
      code: 'required_field',
      contact: { name: 'Ada Lovelace', email: 'ada@example.com' },
      attempts: 3,
      firstAt: expect.any(String),
      lastAt: expect.any(String),
      candidates: null,
      workflowId: `contact-failure:${id}:a:a-1`,
    });
    expect(Date.parse(ada.lastAt) - Date.parse(ada.firstAt)).toBe(HOUR);
    const grace = res.body.failures.find((f: any) => f.extId === 'b-2');
    expect(grace).toMatchObject({ side: 'b', targetId: 'a-2', step: 'update', workflowId: `contact-failure:${id}:b:b-2` });
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.temporal.failureCasesQuery).toBe(`WorkflowType="contactFailureWorkflow" AND ConnectionId="${id}"`);
  });

  it('shows an ambiguous match with the candidates on the other side', async () => {
    const res = await get(`/connections/${id}/health?kind=ambiguous`);
    expect(res.status).toBe(200);
    expect(res.body.failures).toHaveLength(1);
    expect(res.body.failures[0]).toMatchObject({
      kind: 'ambiguous',
      step: 'match',
      message: ambiguousMessage,
      candidates: ['b-17', 'b-18'],
      contact: { name: 'Pat Doe', email: 'pat@acme.example' },
    });
  });

  it('reads candidates from the message the planner writes, also when the email holds parentheses', () => {
    expect(ambiguousCandidates(ambiguousMessage)).toEqual(['b-17', 'b-18']);
    expect(
      ambiguousCandidates('ambiguous match: 3 contacts on the other side share the email o(dd)@x.example (1, 2, https://dav/x.vcf)'),
    ).toEqual(['1', '2', 'https://dav/x.vcf']);
    expect(ambiguousCandidates('Field "Industry" is required')).toBeNull();
  });

  it('totals unresolved failures per kind, whatever the filter', async () => {
    const res = await get(`/connections/${id}/health?kind=contact`);
    expect(res.body.failures.map((f: any) => f.kind)).toEqual(['contact', 'contact']);
    expect(res.body.totals).toEqual({ unresolved: 4, byKind: { contact: 2, ambiguous: 1, auth: 1 } });
    const none = await get(`/connections/${id}/health?kind=config`);
    expect(none.body.failures).toEqual([]);
    expect(none.body.totals.unresolved).toBe(4);
  });

  it('pages with limit and cursor, every failure once, also across failures recorded at the same instant', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/connections/${id}/health?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.failures.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.failures.map((f: any) => f.extId));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen).toEqual(['b-4', 'a-3', 'b-2', 'a-1']);
  });

  it('refuses bad query parameters with a 400 that names them', async () => {
    for (const [query, path] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=abc', 'cursor'],
      ['kind=DROP%20TABLE', 'kind'],
      ['knd=contact', 'knd'],
    ]) {
      const res = await get(`/connections/${id}/health?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.issues.map((i: any) => i.path), query).toContain(path);
    }
  });
});

describe('GET /connections/:id/activity', () => {
  let id: string;
  const now = Date.now();
  // Minutes into the past: two in one hour, one three hours back, one outside a 24h window.
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);

  beforeAll(async () => {
    id = await newConnection();
    await database.db.insert(events).values([
      { connectionId: id, at: at(5), side: 'b', kind: 'created', extId: 'b-1', contactName: 'Ada Lovelace' },
      { connectionId: id, at: at(6), side: 'b', kind: 'created', extId: 'b-2', contactName: 'Grace Hopper' },
      { connectionId: id, at: at(7), side: 'a', kind: 'created', extId: 'a-3', contactName: 'Alan Turing' },
      {
        connectionId: id,
        at: at(180),
        side: 'a',
        kind: 'updated',
        extId: 'a-3',
        contactName: 'Alan Turing',
        detail: { changed: ['job_title', 'company'] },
      },
      {
        connectionId: id,
        at: at(181),
        side: 'b',
        kind: 'failed',
        extId: 'a-9',
        contactName: 'Pat Doe',
        detail: { step: 'create', message: 'Pipeliner: Field "Industry" is required' },
      },
      { connectionId: id, at: at(182), side: 'b', kind: 'deleted', extId: 'b-7', contactName: 'Gone Person' },
      { connectionId: id, at: at(60 * 30), side: 'a', kind: 'created', extId: 'a-old', contactName: 'Old News' },
    ]);
    await database.db.insert(conflicts).values([
      { connectionId: id, at: at(181), aId: 'a-3', bId: 'b-3', fieldA: 'job_title', fieldB: 'job_title', valueA: 'CEO', valueB: 'CTO', winner: 'a' },
    ]);
    await database.db.insert(records).values([
      ...['a-1', 'a-2', 'a-3'].map((extId) => ({ connectionId: id, side: 'a' as const, extId, version: '1', fields: {} })),
      { connectionId: id, side: 'a', extId: 'a-gone', version: '1', fields: {}, deleted: true },
      ...['b-1', 'b-2'].map((extId) => ({ connectionId: id, side: 'b' as const, extId, version: '1', fields: {} })),
    ]);
    await database.db.insert(links).values([
      { connectionId: id, aId: 'a-1', bId: 'b-1' },
      { connectionId: id, aId: 'a-2', bId: 'b-2' },
      { connectionId: id, aId: 'a-gone', bId: 'b-gone', state: 'deleted-a' },
    ]);
    await database.db.insert(failures).values({ connectionId: id, side: 'a', extId: 'a-9', step: 'create', kind: 'contact', message: 'x' });
  });

  const bucketOf = (body: any, date: Date) =>
    body.hours.find((h: any) => h.hour === new Date(Math.floor(date.getTime() / HOUR) * HOUR).toISOString());

  it('counts contacts created, updated, deleted, failed and conflicts per UTC hour and per side written', async () => {
    const res = await get(`/connections/${id}/activity`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { body } = res;
    // 24 hours back from now touch 25 hour buckets (the first one partly), every one present
    expect(body.hours).toHaveLength(25);
    for (const h of body.hours) expect(h.hour).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00\.000Z$/);
    expect(Date.parse(body.until) - Date.parse(body.since)).toBe(24 * HOUR);

    const recent = bucketOf(body, at(5));
    // at(5) and at(7) may straddle an hour boundary; the two together always add up
    const recentCreated = [bucketOf(body, at(5)), bucketOf(body, at(7))].filter((b, i, all) => all.indexOf(b) === i);
    expect(recentCreated.reduce((s, b) => s + b.created.a + b.created.b, 0)).toBe(3);
    expect(recent.updated).toEqual({ a: 0, b: 0 });

    const earlier = bucketOf(body, at(181));
    expect(bucketOf(body, at(180)).updated).toEqual({ a: 1, b: 0 });
    expect(earlier.failed).toEqual({ a: 0, b: 1 });
    // a won, so b was written
    expect(earlier.conflicts).toEqual({ a: 0, b: 1 });
    expect(bucketOf(body, at(182)).deleted).toEqual({ a: 0, b: 1 });

    expect(body.totals).toEqual({
      created: { a: 1, b: 2 },
      updated: { a: 1, b: 0 },
      deleted: { a: 0, b: 1 },
      failed: { a: 0, b: 1 },
      conflicts: { a: 0, b: 1 },
    });
    const summed = body.hours.reduce((s: number, h: any) => s + h.created.a + h.created.b, 0);
    expect(summed).toBe(3);
  });

  it('reports how much is in sync: active links, contacts per side, open failures', async () => {
    const res = await get(`/connections/${id}/activity`);
    expect(res.body.inSync).toEqual({ activeLinks: 2, records: { a: 3, b: 2 }, unresolvedFailures: 1 });
  });

  it('lists the latest events of the window with contact names and what changed, newest first, paged', async () => {
    const first = await get(`/connections/${id}/activity?limit=4`);
    expect(first.body.events.map((e: any) => e.contactName)).toEqual(['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Alan Turing']);
    const updated = first.body.events[3];
    expect(updated).toMatchObject({ kind: 'updated', side: 'a', extId: 'a-3', changed: ['job_title', 'company'] });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await get(`/connections/${id}/activity?limit=4&cursor=${first.body.nextCursor}`);
    expect(second.body.events.map((e: any) => e.kind)).toEqual(['failed', 'deleted']);
    expect(second.body.events[0]).toMatchObject({
      changed: null,
      detail: { step: 'create', message: 'Pipeliner: Field "Industry" is required' },
    });
    expect(second.body.nextCursor).toBeNull();
    // hourly counts do not depend on the page
    expect(second.body.totals).toEqual(first.body.totals);
  });

  it('takes the window from since (90m, 24h, 7d) and includes older events in a longer one', async () => {
    const short = await get(`/connections/${id}/activity?since=90m`);
    expect(short.status).toBe(200);
    expect(short.body.hours.length).toBeGreaterThanOrEqual(2);
    expect(short.body.hours.length).toBeLessThanOrEqual(3);
    expect(short.body.totals.created).toEqual({ a: 1, b: 2 });
    expect(short.body.totals.updated).toEqual({ a: 0, b: 0 });
    expect(short.body.events).toHaveLength(3);

    const week = await get(`/connections/${id}/activity?since=7d`);
    expect(week.body.hours).toHaveLength(7 * 24 + 1);
    expect(week.body.totals.created).toEqual({ a: 2, b: 2 });
    expect(bucketOf(week.body, at(60 * 30)).created).toEqual({ a: 1, b: 0 });
    expect((await get(`/connections/${id}/activity?since=30d`)).body.hours).toHaveLength(30 * 24 + 1);
  });

  it('refuses a since it cannot read, or longer than 30 days, with a 400 naming since', async () => {
    for (const since of ['abc', '0h', '24', '1w', '31d', '721h', '-1h', '1.5h', '']) {
      const res = await get(`/connections/${id}/activity?since=${encodeURIComponent(since)}`);
      expect(res.status, since).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.issues.map((i: any) => i.path), since).toEqual(['since']);
      expect(res.body.error.message).toMatch(/^Invalid request: since: /);
    }
    expect(parseSince('90m')).toBe(90 * 60_000);
    expect(parseSince('7d')).toBe(7 * 24 * HOUR);
  });
});

describe('GET /connections/:id/conflicts', () => {
  let id: string;
  beforeAll(async () => {
    id = await newConnection();
    const base = Date.now() - 10 * HOUR;
    await database.db.insert(conflicts).values(
      Array.from({ length: 5 }, (_, i) => ({
        connectionId: id,
        at: new Date(base + i * HOUR),
        aId: `a-${i}`,
        bId: `b-${i}`,
        fieldA: 'job_title',
        fieldB: 'jobTitle',
        valueA: `Title A${i}`,
        valueB: i === 4 ? null : `Title B${i}`,
        winner: (i % 2 ? 'b' : 'a') as 'a' | 'b',
      })),
    );
  });

  it('shows field names, both values, the winner and the time, newest first, paged', async () => {
    const first = await get(`/connections/${id}/conflicts?limit=3`);
    expect(first.status).toBe(200);
    expect(first.body.conflicts.map((c: any) => c.aId)).toEqual(['a-4', 'a-3', 'a-2']);
    expect(first.body.conflicts[0]).toEqual({
      id: expect.any(String),
      at: expect.any(String),
      aId: 'a-4',
      bId: 'b-4',
      fieldA: 'job_title',
      fieldB: 'jobTitle',
      valueA: 'Title A4',
      valueB: null,
      winner: 'a',
    });
    expect(first.body.conflicts[1].winner).toBe('b');
    const second = await get(`/connections/${id}/conflicts?limit=3&cursor=${first.body.nextCursor}`);
    expect(second.body.conflicts.map((c: any) => c.aId)).toEqual(['a-1', 'a-0']);
    expect(second.body.nextCursor).toBeNull();
  });
});

describe('workspace scoping and documentation', () => {
  it("answers 404 for another workspace's connection and an unknown id, 401 without a key", async () => {
    const theirs = await newConnection();
    for (const route of ['health', 'activity', 'conflicts']) {
      const foreign = await get(`/connections/${theirs}/${route}`, keyTwo);
      expect(foreign.status, route).toBe(404);
      expect(foreign.body.error.code).toBe('not_found');
      expect((await get(`/connections/con_doesnotexist0000/${route}`)).status).toBe(404);
      expect((await server.request('GET', `/connections/${theirs}/${route}`)).status).toBe(401);
      expect((await get(`/connections/${theirs}/${route}`)).status).toBe(200);
    }
  });

  it('documents the three routes, their query parameters and responses in /openapi.json', async () => {
    const doc = (await server.request('GET', '/openapi.json')).body;
    const params = (path: string) =>
      Object.fromEntries(doc.paths[path].get.parameters.map((p: any) => [p.name, { in: p.in, required: p.required }]));
    expect(params('/connections/{id}/health')).toEqual({
      id: { in: 'path', required: true },
      kind: { in: 'query', required: false },
      limit: { in: 'query', required: false },
      cursor: { in: 'query', required: false },
    });
    expect(Object.keys(params('/connections/{id}/activity')).sort()).toEqual(['cursor', 'id', 'limit', 'since']);
    expect(Object.keys(params('/connections/{id}/conflicts')).sort()).toEqual(['cursor', 'id', 'limit']);
    const ok = (path: string) => doc.paths[path].get.responses[200].content['application/json'].schema.$ref;
    expect(ok('/connections/{id}/health')).toBe('#/components/schemas/ConnectionHealth');
    expect(ok('/connections/{id}/activity')).toBe('#/components/schemas/ConnectionActivity');
    expect(ok('/connections/{id}/conflicts')).toBe('#/components/schemas/ConflictList');
    expect(doc.components.schemas.Failure.required).toEqual(expect.arrayContaining(['workflowId', 'candidates', 'message']));
    for (const path of ['/connections/{id}/health', '/connections/{id}/activity', '/connections/{id}/conflicts']) {
      expect(Object.keys(doc.paths[path].get.responses).sort()).toEqual(['200', '400', '401', '404']);
    }
  });
});

describe('activity of a real connection', () => {
  let stack: Stack;
  const started: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ pageSize: 7, planBatchSize: 10 });
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await stack?.close();
  });

  it('counts what the initial sync of two seeded instances created: 10 on each side', async () => {
    stack.sandbox.instance('alpha').seed({ count: 10, start: 0, seed: 1 });
    stack.sandbox.instance('beta').seed({ count: 10, start: 100, seed: 2 });
    const id = await stack.connect('alpha', 'beta');
    started.push(id);
    const status = await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && s.cycles >= 1 && !s.syncing ? s : undefined;
    }, 'the initial sync to finish');
    expect(status.counts.created).toEqual({ a: 10, b: 10 });

    const res = await stack.request('GET', `/connections/${id}/activity?since=2h&limit=200`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.totals).toEqual({
      created: { a: 10, b: 10 },
      updated: { a: 0, b: 0 },
      deleted: { a: 0, b: 0 },
      failed: { a: 0, b: 0 },
      conflicts: { a: 0, b: 0 },
    });
    const hourly = res.body.hours.reduce((s: any, h: any) => ({ a: s.a + h.created.a, b: s.b + h.created.b }), { a: 0, b: 0 });
    expect(hourly).toEqual({ a: 10, b: 10 });
    expect(res.body.inSync).toEqual({ activeLinks: 20, records: { a: 20, b: 20 }, unresolvedFailures: 0 });
    expect(res.body.events).toHaveLength(20);
    // every contact created on a side is one that exists there now, under the name the app shows
    const alphaNames = new Set(stack.sandbox.instance('alpha').all().map((c) => `${c.first_name} ${c.last_name}`));
    for (const e of res.body.events.filter((e: any) => e.side === 'a')) expect(alphaNames).toContain(e.contactName);

    const health = await stack.request('GET', `/connections/${id}/health`);
    expect(health.status).toBe(200);
    expect(health.body.totals.unresolved).toBe(0);
    const conflictsRes = await stack.request('GET', `/connections/${id}/conflicts`);
    expect(conflictsRes.body.conflicts).toEqual([]);
  });
});
