import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { person } from '../../sandboxes/kit/seed';
import { startSandbox, type Sandbox } from '../../sandboxes/sandbox/server';
import type { SandboxInstance } from '../../sandboxes/sandbox/store';
import type { Contact } from '../../sandboxes/sandbox/types';

// The Sandbox app behaves like a real contacts API: these tests pin the behaviour connectors rely on.

let sandbox: Sandbox;
let counter = 0;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

interface Api {
  name: string;
  token: string;
  instance: SandboxInstance;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
}

function apiFor(server: Sandbox, name: string, token: string): Omit<Api, 'instance'> {
  return {
    name,
    token,
    async call(method, path, body, headers = {}) {
      const res = await fetch(`${server.url}/${name}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    },
  };
}

function fresh(config: Record<string, unknown> = {}): Api {
  const name = `s${++counter}`;
  const token = `tok-${name}`;
  const instance = sandbox.addInstance(name, { token, ...config });
  return { ...apiFor(sandbox, name, token), instance };
}

describe('Sandbox server', () => {
  let api: Api;
  beforeEach(() => {
    api = fresh();
  });

  it('pages through all contacts in id order, never more than the page size cap', async () => {
    api.instance.configure({ pageSizeCap: 7 });
    api.instance.seed({ count: 30 });
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: any } = await api.call('GET', `/v1/contacts?limit=50${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(7);
      expect(res.body.total).toBe(30);
      ids.push(...res.body.data.map((c: Contact) => c.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(ids).toEqual(api.instance.all().map((c) => c.id));
    expect([...ids].sort()).toEqual(ids);
  });

  it('filters by email, case-insensitively', async () => {
    const [a] = api.instance.seed({ count: 3 });
    const res = await api.call('GET', `/v1/contacts?email=${encodeURIComponent(a.emails[0].value.toUpperCase())}`);
    expect(res.body.data.map((c: Contact) => c.id)).toEqual([a.id]);
    expect((await api.call('GET', '/v1/contacts?email=none@example.com')).body).toEqual({ data: [], next_cursor: null, total: 0 });
  });

  it('the changes feed reports creates, updates and deletions after the cursor, the latest state once', async () => {
    const [a, b] = api.instance.seed({ count: 2 });
    const { cursor } = (await api.call('GET', '/v1/changes/latest')).body;
    const created = (await api.call('POST', '/v1/contacts', { first_name: 'New', emails: [{ type: 'work', value: 'new@example.com' }] })).body;
    await api.call('PATCH', `/v1/contacts/${a.id}`, { job_title: 'First edit' });
    await api.call('PATCH', `/v1/contacts/${a.id}`, { job_title: 'Second edit' });
    expect((await api.call('DELETE', `/v1/contacts/${b.id}`)).status).toBe(204);

    const res = await api.call('GET', `/v1/changes?cursor=${cursor}`);
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.changes.map((c: any) => [c.id, c]));
    expect(res.body.changes).toHaveLength(3);
    expect(byId[created.id]).toMatchObject({ type: 'upsert', contact: { first_name: 'New' } });
    expect(byId[a.id]).toMatchObject({ type: 'upsert', contact: { job_title: 'Second edit', version: 3 } });
    expect(byId[b.id]).toEqual({ seq: expect.any(Number), type: 'delete', id: b.id });
    expect(res.body.has_more).toBe(false);

    const after = await api.call('GET', `/v1/changes?cursor=${res.body.next_cursor}`);
    expect(after.body).toMatchObject({ changes: [], has_more: false });
  });

  it('fields projects each listed contact to the named properties (the cheap listing); an unknown one is a 400', async () => {
    const [a] = api.instance.seed({ count: 3 });
    const res = await api.call('GET', '/v1/contacts?fields=id,version&limit=2');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([{ id: a.id, version: 1 }, { id: expect.any(String), version: 1 }]);
    expect(res.body.total).toBe(3);
    const rest = await api.call('GET', `/v1/contacts?fields=id,version&cursor=${res.body.next_cursor}`);
    expect(rest.body).toMatchObject({ data: [{ id: expect.any(String), version: 1 }], next_cursor: null });
    const bad = await api.call('GET', '/v1/contacts?fields=id,secret');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_parameter', field: 'fields' });
  });

  it('test faults: a silent removal and a backdated update never reach the feed; a listing shows both', async () => {
    const [a, b, c] = api.instance.seed({ count: 3 });
    await api.call('PATCH', `/v1/contacts/${c.id}`, { notes: 'logged' });
    const { cursor } = (await api.call('GET', '/v1/changes/latest')).body;
    // c's logged change lies before the cursor; even read from the log's start, a removed contact never shows.
    expect((await api.call('POST', `/_admin/contacts/${c.id}/remove-silently`)).status).toBe(204);
    const backdated = await api.call('POST', `/_admin/contacts/${a.id}/update-backdated`, {
      data: { job_title: 'Backdated' },
      updated_at: '2020-01-01T00:00:00Z',
    });
    expect(backdated.body).toMatchObject({ id: a.id, version: 2, job_title: 'Backdated', updated_at: '2020-01-01T00:00:00.000Z' });
    expect((await api.call('GET', `/v1/changes?cursor=${cursor}`)).body.changes).toEqual([]);
    const [, epoch] = Buffer.from(cursor, 'base64url').toString().split(':');
    const logStart = Buffer.from(`feed:${epoch}:0`).toString('base64url');
    const fromStart = (await api.call('GET', `/v1/changes?cursor=${logStart}`)).body;
    expect(fromStart.changes.map((e: any) => e.id)).not.toContain(c.id);
    const listed = (await api.call('GET', '/v1/contacts?fields=id,version')).body.data;
    expect(listed).toEqual([{ id: a.id, version: 2 }, { id: b.id, version: 1 }]);
    expect((await api.call('POST', `/_admin/contacts/${c.id}/remove-silently`)).status).toBe(404);
  });

  it('stats count the write operations the API received, each batch item and no-op included', async () => {
    const [a] = api.instance.seed({ count: 1 });
    await api.call('PATCH', `/v1/contacts/${a.id}`, { job_title: a.job_title });
    await api.call('POST', '/v1/contacts/batch', { operations: [{ op: 'update', id: a.id, data: { notes: 'x' } }, { op: 'delete', id: 'ct_none' }] });
    api.instance.update(a.id, { notes: 'by a user' });
    expect(api.instance.stats().write_requests).toBe(3);
  });

  it('the feed pages with has_more and loses no change when a contact changes between pages', async () => {
    const { cursor } = (await api.call('GET', '/v1/changes/latest')).body;
    const seeded = api.instance.seed({ count: 10 });
    const first = (await api.call('GET', `/v1/changes?cursor=${cursor}&limit=4`)).body;
    expect(first.changes).toHaveLength(4);
    expect(first.has_more).toBe(true);
    // A contact already delivered changes again, and one not yet delivered changes too.
    api.instance.update(seeded[0].id, { job_title: 'Changed after page 1' });
    api.instance.update(seeded[8].id, { job_title: 'Changed before page 2' });
    const seen = new Map<string, any>(first.changes.map((c: any) => [c.id, c]));
    let at = first.next_cursor;
    for (let more = true; more; ) {
      const page = (await api.call('GET', `/v1/changes?cursor=${at}&limit=4`)).body;
      for (const c of page.changes) seen.set(c.id, c);
      at = page.next_cursor;
      more = page.has_more;
    }
    expect(seen.size).toBe(10);
    expect(seen.get(seeded[0].id).contact.job_title).toBe('Changed after page 1');
    expect(seen.get(seeded[8].id).contact.job_title).toBe('Changed before page 2');
  });

  it('a cursor older than the retained change log is 410 cursor_expired; a recent one still works', async () => {
    api.instance.configure({ changeLogLimit: 5 });
    const old = (await api.call('GET', '/v1/changes/latest')).body.cursor;
    api.instance.seed({ count: 12 });
    const recent = (await api.call('GET', '/v1/changes/latest')).body.cursor;
    const expired = await api.call('GET', `/v1/changes?cursor=${old}`);
    expect(expired.status).toBe(410);
    expect(expired.body.error.code).toBe('cursor_expired');
    expect((await api.call('GET', `/v1/changes?cursor=${recent}`)).status).toBe(200);
    expect((await api.call('GET', '/v1/changes?cursor=garbage')).status).toBe(400);
  });

  it('a reset expires every earlier cursor', async () => {
    const old = (await api.call('GET', '/v1/changes/latest')).body.cursor;
    api.instance.reset();
    expect((await api.call('GET', `/v1/changes?cursor=${old}`)).status).toBe(410);
  });

  it('serves an ETag and refuses a stale If-Match with 412 version_mismatch', async () => {
    const [c] = api.instance.seed({ count: 1 });
    const got = await api.call('GET', `/v1/contacts/${c.id}`);
    expect(got.headers.get('etag')).toBe('"1"');

    const ok = await api.call('PATCH', `/v1/contacts/${c.id}`, { company: 'Next Co' }, { 'if-match': '"1"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');
    expect(ok.body).toMatchObject({ company: 'Next Co', first_name: c.first_name, emails: c.emails });

    const stale = await api.call('PATCH', `/v1/contacts/${c.id}`, { company: 'Lost Co' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('version_mismatch');
    expect((await api.call('DELETE', `/v1/contacts/${c.id}`, undefined, { 'if-match': '"1"' })).status).toBe(412);
    expect(api.instance.find(c.id)?.company).toBe('Next Co');
    expect((await api.call('GET', '/v1/contacts/ct_nope')).status).toBe(404);
  });

  it('an update that changes nothing keeps the version', async () => {
    const [c] = api.instance.seed({ count: 1 });
    const res = await api.call('PATCH', `/v1/contacts/${c.id}`, { first_name: c.first_name });
    expect(res.body.version).toBe(1);
  });

  it('the same Idempotency-Key returns the first contact instead of creating another', async () => {
    const body = { first_name: 'Once', emails: [{ type: 'work', value: 'once@example.com' }] };
    const first = await api.call('POST', '/v1/contacts', body, { 'idempotency-key': 'k-1' });
    const second = await api.call('POST', '/v1/contacts', body, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    const batch = await api.call('POST', '/v1/contacts/batch', { operations: [{ op: 'create', idempotency_key: 'k-1', data: body }] });
    expect(batch.body.results[0]).toMatchObject({ status: 200, contact: { id: first.body.id } });
    expect(api.instance.count()).toBe(1);
  });

  it('answers 429 with Retry-After once requests exceed the configured rate', async () => {
    api.instance.configure({ maxRequestsPerSecond: 3 });
    let limited: { status: number; body: any; headers: Headers } | undefined;
    // However slow the machine, 50 requests cannot all fall in separate seconds at 3 per second.
    for (let i = 0; i < 50 && !limited; i++) {
      const res = await api.call('GET', '/v1/contacts');
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(200);
    }
    expect(limited).toBeDefined();
    expect(limited!.body.error.code).toBe('rate_limited');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await api.call('GET', '/_admin/stats')).body.rate_limited).toBeGreaterThanOrEqual(1);
  });

  it('422 names the malformed email and the missing required field', async () => {
    api.instance.configure({ requiredFields: ['last_name'] });
    const bad = await api.call('POST', '/v1/contacts', { last_name: 'X', emails: [{ type: 'work', value: 'x@' }] });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toEqual({
      code: 'validation_failed',
      message: 'emails[0].value "x@" is not a valid email address',
      field: 'emails[0].value',
    });
    const missing = await api.call('POST', '/v1/contacts', { first_name: 'No last name' });
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatchObject({ message: '"last_name" is required', field: 'last_name' });
    const unknown = await api.call('POST', '/v1/contacts', { nickname: 'x' });
    expect(unknown.body.error).toMatchObject({ code: 'validation_failed', field: 'nickname' });
    const wrongType = await api.call('POST', '/v1/contacts', { last_name: 'Y', unsubscribed: 'yes' });
    expect(wrongType.body.error).toMatchObject({ code: 'validation_failed', field: 'unsubscribed' });
    expect(api.instance.count()).toBe(0);
  });

  it('a batch applies each item on its own: one invalid item does not fail the others', async () => {
    const [c] = api.instance.seed({ count: 1 });
    const res = await api.call('POST', '/v1/contacts/batch', {
      operations: [
        { op: 'create', data: { first_name: 'Good' } },
        { op: 'create', data: { emails: [{ value: 'nope' }] } },
        { op: 'update', id: c.id, if_match: '"1"', data: { notes: 'batched' } },
        { op: 'update', id: c.id, if_match: '"1"', data: { notes: 'stale' } },
        { op: 'delete', id: 'ct_missing' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: any) => r.status)).toEqual([201, 422, 200, 412, 404]);
    expect(res.body.results[1].error.field).toBe('emails[0].value');
    expect(api.instance.find(c.id)?.notes).toBe('batched');
    const tooMany = await api.call('POST', '/v1/contacts/batch', { operations: Array.from({ length: 101 }, () => ({ op: 'create' })) });
    expect(tooMany.status).toBe(422);
  });

  it('refuses deletes with 403 when delete protection is on', async () => {
    const [c] = api.instance.seed({ count: 1 });
    api.instance.configure({ deleteProtected: true });
    const res = await api.call('DELETE', `/v1/contacts/${c.id}`);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    expect(api.instance.count()).toBe(1);
  });

  it('answers 401 to a missing or wrong token, for the API and the admin endpoints', async () => {
    const noToken = await fetch(`${sandbox.url}/${api.name}/v1/contacts`);
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const wrong = apiFor(sandbox, api.name, 'wrong');
    expect((await wrong.call('GET', '/v1/contacts')).status).toBe(401);
    expect((await wrong.call('POST', '/_admin/reset')).status).toBe(401);
  });

  it('keeps instances apart: own token, own contacts, own settings', async () => {
    const other = fresh();
    api.instance.seed({ count: 4 });
    other.instance.configure({ deleteProtected: true });
    expect((await other.call('GET', '/v1/contacts')).body.total).toBe(0);
    expect((await apiFor(sandbox, other.name, api.token).call('GET', '/v1/contacts')).status).toBe(401);
    const [c] = api.instance.all();
    expect((await api.call('DELETE', `/v1/contacts/${c.id}`)).status).toBe(204);
  });

  it('admin endpoints create an instance on first use, seed, report stats, change settings and reset', async () => {
    const admin = apiFor(sandbox, `adm${++counter}`, 'admin-made');
    expect((await admin.call('PUT', '/_admin/config', { pageSizeCap: 10 })).status).toBe(200);
    const seeded = await admin.call('POST', '/_admin/seed', { count: 25, seed: 3 });
    expect(seeded.body).toEqual({ created: 25, total: 25 });
    expect((await admin.call('GET', '/v1/contacts?limit=100')).body.data).toHaveLength(10);
    const stats = (await admin.call('GET', '/_admin/stats')).body;
    expect(stats).toMatchObject({ contacts: 25, requests: 1, rate_limited: 0 });
    expect((await admin.call('PUT', '/_admin/config', { nope: 1 })).status).toBe(422);
    expect((await admin.call('POST', '/_admin/reset')).status).toBe(204);
    expect((await admin.call('GET', '/v1/contacts')).body.total).toBe(0);
  });
});

describe('Sandbox rate limit', () => {
  it('admits maxRequestsPerSecond requests in any sliding second and says when the next one may come', () => {
    const inst = sandbox.addInstance(`rate${++counter}`, { token: 'x', maxRequestsPerSecond: 2 });
    expect(inst.admit(10_000)).toBeNull();
    expect(inst.admit(10_400)).toBeNull();
    const refused = inst.admit(10_500);
    expect(refused).toMatchObject({ status: 429, retryAfterSeconds: 1, error: { code: 'rate_limited' } });
    expect(inst.admit(11_000)).toBeNull(); // the first request left the window
    expect(inst.admit(11_100)?.status).toBe(429);
    expect(inst.admit(11_400)).toBeNull();
    expect(inst.stats()).toMatchObject({ requests: 6, rate_limited: 2 });
  });
});

describe('Sandbox seed', () => {
  it('is deterministic, and two seeds over overlapping ranges share exactly the overlap by email', () => {
    expect(person(5, 1)).toEqual(person(5, 1));
    const a = Array.from({ length: 200 }, (_, i) => person(i, 1));
    const b = Array.from({ length: 200 }, (_, i) => person(100 + i, 2));
    const emailsA = new Set(a.flatMap((p) => p.emails!.map((e) => e.value)));
    const shared = b.filter((p) => p.emails!.some((e) => emailsA.has(e.value)));
    expect(shared).toHaveLength(100);
    expect(new Set(a.map((p) => p.emails![0].value)).size).toBe(200);
    expect(new Set(a.map((p) => p.last_name)).size).toBeGreaterThan(10);
    expect(new Set(a.map((p) => p.phones![0].value.replace(/\d/g, '9'))).size).toBeGreaterThan(1);
  });

  it('seeded people pass the app’s own validation', () => {
    const server = sandbox.addInstance(`seedcheck${++counter}`, { token: 'x' });
    for (let i = 0; i < 300; i++) server.create(person(i, 7));
    expect(server.count()).toBe(300);
  });

  it('continues after earlier seeds unless a start is given', () => {
    const inst = sandbox.addInstance(`seedcont${++counter}`, { token: 'x' });
    inst.seed({ count: 5 });
    inst.seed({ count: 5 });
    const emails = inst.all().map((c) => c.emails[0].value);
    expect(new Set(emails).size).toBe(10);
    inst.seed({ count: 1, start: 0, seed: 9 });
    expect(inst.findByEmail(emails[0])).toHaveLength(2);
  });
});

describe('Sandbox persistence', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rapport-sandbox-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a restarted server with the same data directory continues where it was', async () => {
    const first = await startSandbox({ dataDir: dir, instances: { alpha: { token: 'ta', requiredFields: ['last_name'] } } });
    const alpha = apiFor(first, 'alpha', 'ta');
    first.instance('alpha').seed({ count: 20 });
    const cursor = (await alpha.call('GET', '/v1/changes/latest')).body.cursor;
    const created = (await alpha.call('POST', '/v1/contacts', { last_name: 'Kept' }, { 'idempotency-key': 'persist-1' })).body;
    const [victim] = first.instance('alpha').all();
    await alpha.call('DELETE', `/v1/contacts/${victim.id}`);
    await first.close();

    const second = await startSandbox({ dataDir: dir });
    try {
      const again = apiFor(second, 'alpha', 'ta');
      expect(second.instance('alpha').count()).toBe(20);
      expect(second.instance('alpha').config.requiredFields).toEqual(['last_name']);
      const changes = (await again.call('GET', `/v1/changes?cursor=${cursor}`)).body.changes;
      expect(changes.map((c: any) => [c.type, c.id])).toEqual([
        ['upsert', created.id],
        ['delete', victim.id],
      ]);
      const replay = await again.call('POST', '/v1/contacts', { last_name: 'Kept' }, { 'idempotency-key': 'persist-1' });
      expect(replay.body.id).toBe(created.id);
      const next = (await again.call('POST', '/v1/contacts', { last_name: 'After restart' })).body;
      expect(next.id > created.id).toBe(true);
    } finally {
      await second.close();
    }
  });
});
