import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rowsOf } from '../../db/client';
import { decryptSecret } from '../../db/crypto';
import { createApiKey, createWorkspace, revokeApiKey } from '../../db/queries/api-keys';
import { connections } from '../../db/schema';
import { openTestDatabase, type OpenTestDatabase } from '../support/pg';
import { capturingLogger, namedError, RecordingControl, serve, type TestServer } from './harness';

// The HTTP API against a real PostgreSQL database, with a recording fake in place of the workflows.

const SECRET_A = `tok-a-${randomBytes(8).toString('hex')}`;
const SECRET_B = `tok-b-${randomBytes(8).toString('hex')}`;

const account = (apiToken: string, instance: string) => ({
  app: 'sandbox',
  credentials: { apiToken },
  scope: { baseUrl: 'http://127.0.0.1:4010', instance },
});
const validBody = () => ({ name: 'Alpha to Beta', a: account(SECRET_A, 'alpha'), b: account(SECRET_B, 'beta') });

let database: OpenTestDatabase;
let server: TestServer;
let control: RecordingControl;
let logLines: string[];
const masterKey = randomBytes(32);
let keyOne: string;
let keyTwo: string;

async function countConnections(): Promise<number> {
  const rows = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from connections`));
  return rows[0].n;
}

async function createConnection(key = keyOne, body: unknown = validBody()): Promise<string> {
  const res = await server.request('POST', '/connections', { key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

beforeAll(async () => {
  database = await openTestDatabase();
  const one = await createWorkspace(database.db, 'One');
  const two = await createWorkspace(database.db, 'Two');
  keyOne = (await createApiKey(database.db, one.id, 'one')).key;
  keyTwo = (await createApiKey(database.db, two.id, 'two')).key;
  control = new RecordingControl();
  const captured = capturingLogger();
  logLines = captured.lines;
  server = await serve({ db: database.db, control, masterKey, logger: captured.logger });
});

afterAll(async () => {
  await server?.close();
  await database?.dispose();
});

beforeEach(() => {
  control.calls = [];
});

describe('authentication', () => {
  it('answers 401 with a JSON error without a key, with a bad key and with a revoked key', async () => {
    const missing = await server.request('GET', '/connections');
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('unauthorized');
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);

    expect((await server.request('GET', '/connections', { key: 'rk_not-a-real-key' })).status).toBe(401);
    expect((await server.request('GET', '/connections', { key: 'garbage' })).status).toBe(401);
    expect((await server.request('GET', '/apps', { key: 'rk_x' })).status).toBe(401);

    const ws = await createWorkspace(database.db, 'Revoked');
    const revoked = await createApiKey(database.db, ws.id, 'soon revoked');
    expect((await server.request('GET', '/connections', { key: revoked.key })).status).toBe(200);
    await revokeApiKey(database.db, revoked.id);
    const after = await server.request('GET', '/connections', { key: revoked.key });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/revoked/);
  });

  it('does not call the workflows for an unauthenticated request', async () => {
    await server.request('POST', '/connections', { body: validBody() });
    expect(control.calls).toEqual([]);
  });
});

describe('POST /connections', () => {
  it('stores the credentials encrypted, starts the workflow and returns the connection without secrets', async () => {
    const res = await server.request('POST', '/connections', { key: keyOne, body: validBody() });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^con_[a-z0-9]{16}$/),
      name: 'Alpha to Beta',
      state: 'initial-scan',
      a: { app: 'sandbox', scope: { baseUrl: 'http://127.0.0.1:4010', instance: 'alpha' }, options: {} },
      b: { app: 'sandbox', scope: { instance: 'beta' } },
      settings: { direction: 'two-way', master: 'a', pollIntervalSeconds: 30 },
      status: null,
    });
    expect(res.headers.get('location')).toBe(`/connections/${res.body.id}`);
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(SECRET_A);
    expect(text).not.toContain(SECRET_B);
    expect(text).not.toContain('credentials');
    expect(control.callsTo('start')).toEqual([res.body.id]);

    const raw = rowsOf<{ credentials_a: string; credentials_b: string; state: string }>(
      await database.db.execute(sql`select credentials_a, credentials_b, state from connections where id = ${res.body.id}`),
    )[0];
    expect(raw.credentials_a).toMatch(/^v1:/);
    expect(raw.credentials_a).not.toContain(SECRET_A);
    expect(raw.credentials_b).not.toContain(SECRET_B);
    expect(decryptSecret(raw.credentials_a, masterKey)).toEqual({ apiToken: SECRET_A });
    expect(decryptSecret(raw.credentials_b, masterKey)).toEqual({ apiToken: SECRET_B });
    expect(raw.state).toBe('initial-scan');
  });

  it('names the app pair when no name is given, and applies the given settings', async () => {
    const body = { ...validBody(), name: undefined, settings: { direction: 'a-to-b', pollIntervalSeconds: 120 } };
    const res = await server.request('POST', '/connections', { key: keyOne, body });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('Sandbox <-> Sandbox');
    expect(res.body.settings).toMatchObject({ direction: 'a-to-b', pollIntervalSeconds: 120, avoidDuplicates: true });
  });

  const invalid: [string, (body: ReturnType<typeof validBody>) => unknown, string[]][] = [
    ['an unknown app', (b) => ({ ...b, a: { ...b.a, app: 'nosuchapp' } }), ['a.app']],
    ['missing credentials', (b) => ({ ...b, b: { ...b.b, credentials: {} } }), ['b.credentials.apiToken']],
    ['an empty credential', (b) => ({ ...b, b: { ...b.b, credentials: { apiToken: '' } } }), ['b.credentials.apiToken']],
    ['no credentials object', (b) => ({ ...b, a: { app: 'sandbox', scope: b.a.scope } }), ['a.credentials']],
    ['a bad scope', (b) => ({ ...b, a: { ...b.a, scope: { baseUrl: 'ftp://x', instance: 'a b' } } }), ['a.scope.baseUrl', 'a.scope.instance']],
    ['a bad setting', (b) => ({ ...b, settings: { direction: 'sideways' } }), ['settings.direction']],
    ['an out-of-range poll interval', (b) => ({ ...b, settings: { pollIntervalSeconds: 0 } }), ['settings.pollIntervalSeconds']],
    ['an unknown field', (b) => ({ ...b, colour: 'red' }), ['colour']],
    [
      'a mapping of a field the app does not have',
      (b) => ({ ...b, settings: { mapping: { custom: [{ a: 'company', b: 'no_such_field' }] } } }),
      ['settings.mapping.custom[0].b'],
    ],
    [
      'a rule on a field the app does not have',
      (b) => ({ ...b, settings: { rules: { aToB: [{ filter: { field: 'shoe_size', operator: 'equals', value: '42' } }] } } }),
      ['settings.rules.aToB[0].filter.field'],
    ],
    [
      'several problems at once',
      (b) => ({ ...b, a: { ...b.a, app: 'nosuchapp' }, b: { ...b.b, credentials: {} }, settings: { master: 'c' } }),
      ['a.app', 'b.credentials.apiToken', 'settings.master'],
    ],
  ];
  for (const [what, mutate, paths] of invalid) {
    it(`refuses ${what} with 400 naming ${paths.join(', ')}, and writes nothing`, async () => {
      const before = await countConnections();
      const res = await server.request('POST', '/connections', { key: keyOne, body: mutate(validBody()) });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      const issuePaths = (res.body.error.issues as { path: string }[]).map((i) => i.path);
      for (const path of paths) expect(issuePaths).toContain(path);
      expect(res.body.error.message).toContain(paths[0]);
      expect(await countConnections()).toBe(before);
      expect(control.callsTo('start')).toEqual([]);
      expect(JSON.stringify(res.body)).not.toContain(SECRET_A);
    });
  }

  it('accepts mapping pairs and rules on fields the apps have', async () => {
    const settings = {
      mapping: { custom: [{ a: 'job_title', b: 'notes' }] },
      rules: { aToB: [{ filter: { field: 'company', operator: 'equals', value: 'Acme' }, tags: ['From A'] }] },
    };
    const res = await server.request('POST', '/connections', { key: keyOne, body: { ...validBody(), settings } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.settings.rules.aToB[0]).toEqual({ filter: { field: 'company', operator: 'equals', value: 'Acme' }, tags: ['From A'] });
  });

  it('names the known apps when the app is unknown', async () => {
    const res = await server.request('POST', '/connections', { key: keyOne, body: { ...validBody(), a: { ...validBody().a, app: 'nope' } } });
    expect(res.body.error.issues[0]).toEqual({ path: 'a.app', message: expect.stringContaining('sandbox') });
  });

  it('refuses malformed JSON and a body that is not an object', async () => {
    const malformed = await server.request('POST', '/connections', { key: keyOne, raw: `{"a": {"credentials": {"apiToken": "${SECRET_A}"` });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
    expect(JSON.stringify(malformed.body)).not.toContain(SECRET_A);
    const list = await server.request('POST', '/connections', { key: keyOne, body: [1, 2] });
    expect(list.status).toBe(400);
    expect(list.body.error.message).toMatch(/JSON object/);
    const none = await fetch(`${server.url}/connections`, { method: 'POST', headers: { authorization: `Bearer ${keyOne}` } });
    expect(none.status).toBe(400);
  });

  it('creates nothing when the workflow cannot be started', async () => {
    const before = await countConnections();
    control.fail('start', new Error('14 UNAVAILABLE: connection refused'));
    const res = await server.request('POST', '/connections', { key: keyOne, body: validBody() });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('workflow_unavailable');
    expect(await countConnections()).toBe(before);
  });
});

describe('reading connections', () => {
  it('lists and shows the connection with its live status and never its credentials', async () => {
    const id = await createConnection();
    const list = await server.request('GET', '/connections', { key: keyOne });
    expect(list.status).toBe(200);
    expect(list.body.connections.map((c: { id: string }) => c.id)).toContain(id);
    const one = await server.request('GET', `/connections/${id}`, { key: keyOne });
    expect(one.status).toBe(200);
    expect(one.body.status).toMatchObject({ connectionId: id, phase: 'initial-scan' });
    for (const body of [list.body, one.body]) {
      const text = JSON.stringify(body);
      expect(text).not.toContain(SECRET_A);
      expect(text).not.toContain('credentials');
      expect(text).not.toContain('v1:');
    }
  });

  it('shows status null when the workflow cannot be asked', async () => {
    const id = await createConnection();
    control.fail('status', new Error('deadline exceeded'));
    const res = await server.request('GET', `/connections/${id}`, { key: keyOne });
    expect(res.status).toBe(200);
    expect(res.body.status).toBeNull();
  });

  it('answers 404 for an unknown id', async () => {
    const res = await server.request('GET', '/connections/con_doesnotexist0000', { key: keyOne });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

describe('workspace isolation', () => {
  it("never shows or changes another workspace's connection (404, not 403)", async () => {
    const id = await createConnection(keyOne);
    control.calls = [];
    const list = await server.request('GET', '/connections', { key: keyTwo });
    expect(list.body.connections).toEqual([]);
    const attempts = [
      ['GET', `/connections/${id}`, undefined],
      ['PATCH', `/connections/${id}`, { name: 'mine now' }],
      ['DELETE', `/connections/${id}`, undefined],
      ['POST', `/connections/${id}/pause`, undefined],
      ['POST', `/connections/${id}/resume`, undefined],
      ['POST', `/connections/${id}/sync`, undefined],
    ] as const;
    for (const [method, path, body] of attempts) {
      const res = await server.request(method, path, { key: keyTwo, body });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect(control.calls).toEqual([]);
    const still = await server.request('GET', `/connections/${id}`, { key: keyOne });
    expect(still.body.name).toBe('Alpha to Beta');
  });
});

describe('PATCH /connections/:id', () => {
  it('merges settings, renames, and tells the workflow', async () => {
    const id = await createConnection(keyOne, { ...validBody(), settings: { direction: 'a-to-b', deletions: { policy: 'trash', protectB: true } } });
    const res = await server.request('PATCH', `/connections/${id}`, {
      key: keyOne,
      body: { name: 'Renamed', settings: { pollIntervalSeconds: 60, deletions: { protectA: true } } },
    });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Renamed');
    expect(res.body.settings).toMatchObject({
      direction: 'a-to-b',
      pollIntervalSeconds: 60,
      deletions: { policy: 'trash', protectA: true, protectB: true },
    });
    expect(control.callsTo('settingsChanged')).toEqual([id]);

    const reset = await server.request('PATCH', `/connections/${id}`, { key: keyOne, body: { settings: { direction: null } } });
    expect(reset.body.settings.direction).toBe('two-way');
  });

  it('keeps both of two concurrent changes to different settings', async () => {
    const id = await createConnection();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        server.request('PATCH', `/connections/${id}`, {
          key: keyOne,
          body: { settings: i % 2 === 0 ? { pollIntervalSeconds: 100 + i } : { safetyBrakeShare: 0.2, unsubscribes: 'tag' } },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const final = await server.request('GET', `/connections/${id}`, { key: keyOne });
    expect(final.body.settings).toMatchObject({ safetyBrakeShare: 0.2, unsubscribes: 'tag' });
    expect([100, 102, 104]).toContain(final.body.settings.pollIntervalSeconds);
  });

  it('re-encrypts new credentials and takes the connection out of needs-reauth', async () => {
    const id = await createConnection();
    await database.db.update(connections).set({ state: 'needs-reauth' }).where(eq(connections.id, id));
    const before = (await database.db.select().from(connections).where(eq(connections.id, id)))[0];
    const res = await server.request('PATCH', `/connections/${id}`, { key: keyOne, body: { b: { credentials: { apiToken: 'tok-new-b' } } } });
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('running');
    expect(JSON.stringify(res.body)).not.toContain('tok-new-b');
    const after = (await database.db.select().from(connections).where(eq(connections.id, id)))[0];
    expect(after.credentialsA).toBe(before.credentialsA);
    expect(after.credentialsB).not.toContain('tok-new-b');
    expect(decryptSecret(after.credentialsB, masterKey)).toEqual({ apiToken: 'tok-new-b' });
    expect(control.callsTo('settingsChanged')).toEqual([id]);
  });

  it('changes a scope after validating it', async () => {
    const id = await createConnection();
    const ok = await server.request('PATCH', `/connections/${id}`, { key: keyOne, body: { a: { scope: { baseUrl: 'http://127.0.0.1:4011', instance: 'gamma' } } } });
    expect(ok.status).toBe(200);
    expect(ok.body.a.scope).toEqual({ baseUrl: 'http://127.0.0.1:4011', instance: 'gamma' });
  });

  it('refuses invalid changes with the field named, and changes nothing', async () => {
    const id = await createConnection();
    const before = (await database.db.select().from(connections).where(eq(connections.id, id)))[0];
    control.calls = [];
    const cases: [unknown, string][] = [
      [{ b: { credentials: { apiToken: '' } } }, 'b.credentials.apiToken'],
      [{ a: { scope: { instance: 'x' } } }, 'a.scope.baseUrl'],
      [{ settings: { master: 'z' } }, 'settings.master'],
      [{ settings: { mapping: { custom: [{ a: '' }] } } }, 'settings.mapping.custom[0].a'],
      [{ a: { app: 'other' } }, 'a.app'],
      [{ name: '' }, 'name'],
    ];
    for (const [body, path] of cases) {
      const res = await server.request('PATCH', `/connections/${id}`, { key: keyOne, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    const after = (await database.db.select().from(connections).where(eq(connections.id, id)))[0];
    expect(after).toEqual(before);
    expect(control.callsTo('settingsChanged')).toEqual([]);
  });
});

describe('DELETE /connections/:id', () => {
  it('stops the workflow, keeps the row marked deleted, and hides it', async () => {
    const id = await createConnection();
    const res = await server.request('DELETE', `/connections/${id}`, { key: keyOne });
    expect(res.status).toBe(204);
    expect(control.callsTo('stop')).toEqual([id]);
    expect(control.callsTo('endFailureCases')).toEqual([id]);
    const row = (await database.db.select().from(connections).where(eq(connections.id, id)))[0];
    expect(row.deletedAt).toBeInstanceOf(Date);
    expect(row.state).toBe('stopped');
    expect((await server.request('GET', `/connections/${id}`, { key: keyOne })).status).toBe(404);
    const list = await server.request('GET', '/connections', { key: keyOne });
    expect(list.body.connections.map((c: { id: string }) => c.id)).not.toContain(id);
    expect((await server.request('DELETE', `/connections/${id}`, { key: keyOne })).status).toBe(404);
  });

  it('is deleted even when its failure cases cannot be reached (each ends at its next attempt)', async () => {
    const id = await createConnection();
    control.fail('endFailureCases', new Error('unavailable'));
    expect((await server.request('DELETE', `/connections/${id}`, { key: keyOne })).status).toBe(204);
    expect((await server.request('GET', `/connections/${id}`, { key: keyOne })).status).toBe(404);
  });

  it('keeps the connection when the workflow cannot be stopped', async () => {
    const id = await createConnection();
    control.fail('stop', new Error('unavailable'));
    const res = await server.request('DELETE', `/connections/${id}`, { key: keyOne });
    expect(res.status).toBe(503);
    expect((await server.request('GET', `/connections/${id}`, { key: keyOne })).status).toBe(200);
  });
});

describe('pause, resume, sync', () => {
  it('drives the workflow and records the state it reports', async () => {
    const id = await createConnection();
    const paused = await server.request('POST', `/connections/${id}/pause`, { key: keyOne });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ connectionId: id, phase: 'paused', paused: true });
    expect((await server.request('GET', `/connections/${id}`, { key: keyOne })).body.state).toBe('paused');

    const resumed = await server.request('POST', `/connections/${id}/resume`, { key: keyOne });
    expect(resumed.status).toBe(200);
    expect(resumed.body.phase).toBe('running');
    expect((await server.request('GET', `/connections/${id}`, { key: keyOne })).body.state).toBe('running');

    const sync = await server.request('POST', `/connections/${id}/sync`, { key: keyOne });
    expect(sync.status).toBe(202);
    expect(sync.body).toEqual({ accepted: true, cycle: 4 });
    expect(control.calls.filter((c) => c.method !== 'status').map((c) => c.method)).toEqual(['start', 'pause', 'resume', 'syncNow']);
  });

  it('answers 409 when the workflow is not running or refuses', async () => {
    const id = await createConnection();
    control.fail('syncNow', namedError('WorkflowNotFoundError', 'workflow not found'));
    const notRunning = await server.request('POST', `/connections/${id}/sync`, { key: keyOne });
    expect(notRunning.status).toBe(409);
    expect(notRunning.body.error.code).toBe('workflow_not_running');
    control.fail('resume', namedError('WorkflowUpdateFailedError', 'update failed'));
    const refused = await server.request('POST', `/connections/${id}/resume`, { key: keyOne });
    expect(refused.status).toBe(409);
  });

  it('asks the workflow to resync and answers with the cycle and the contacts it marked; refusals are 409', async () => {
    const id = await createConnection();
    const resync = await server.request('POST', `/connections/${id}/resync`, { key: keyOne });
    expect(resync.status).toBe(202);
    expect(resync.body).toEqual({ accepted: true, cycle: 4, contacts: 2 });
    expect(control.callsTo('resync')).toEqual([id]);
    control.fail('resync', namedError('WorkflowUpdateFailedError', 'update failed'));
    const refused = await server.request('POST', `/connections/${id}/resync`, { key: keyOne });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('rejected');
    control.fail('resync', namedError('WorkflowNotFoundError', 'workflow not found'));
    const notRunning = await server.request('POST', `/connections/${id}/resync`, { key: keyOne });
    expect(notRunning.status).toBe(409);
    expect(notRunning.body.error.code).toBe('workflow_not_running');
  });
});

describe('catalog, health and unknown routes', () => {
  it('lists the apps with credential field names but no values', async () => {
    const res = await server.request('GET', '/apps', { key: keyOne });
    expect(res.status).toBe(200);
    const sandbox = res.body.apps.find((a: { id: string }) => a.id === 'sandbox');
    expect(sandbox).toMatchObject({ id: 'sandbox', name: 'Sandbox', credentials: ['apiToken'] });
    expect(sandbox.capabilities).toHaveProperty('incremental');
    expect(sandbox.fields.length).toBeGreaterThan(0);
    expect(sandbox.scope).toMatchObject({ type: 'object', properties: { baseUrl: expect.any(Object), instance: expect.any(Object) } });
    // Default mappings to every app of the catalog, the ones a new connection would use.
    expect(Object.keys(sandbox.defaultMappings).sort()).toEqual(res.body.apps.map((a: { id: string }) => a.id).sort());
    expect(sandbox.defaultMappings.sandbox).toContainEqual({ a: 'email_1', b: 'email_1', direction: 'two-way' });
    const outlook = res.body.apps.find((a: { id: string }) => a.id === 'outlook');
    expect(outlook.defaultMappings.pipeliner).toContainEqual(expect.objectContaining({ a: 'emailAddresses[0]' }));
  });

  it('answers /healthz and /readyz without a key', async () => {
    const health = await server.request('GET', '/healthz');
    expect(health).toMatchObject({ status: 200, body: { ok: true } });
    const ready = await server.request('GET', '/readyz');
    expect(ready).toMatchObject({ status: 200, body: { ok: true, checks: { database: 'ok' } } });
  });

  it('answers 503 from /readyz when a check fails', async () => {
    const failing = await serve({
      db: database.db,
      control,
      readiness: async () => ({ ok: false, checks: { database: 'ok', temporal: 'failed: unreachable' } }),
      logger: capturingLogger().logger,
    });
    try {
      const res = await failing.request('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.checks.temporal).toMatch(/failed/);
    } finally {
      await failing.close();
    }
  });

  it('answers 404 JSON for an unknown route, with or without a key', async () => {
    for (const key of [undefined, keyOne]) {
      const res = await server.request('GET', '/nothing/here', { key });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await server.request('GET', '/connections/x/y/z', { key: keyOne })).status).toBe(404);
  });
});

describe('logs', () => {
  it('log every request with method, path, status and duration, and never a secret', async () => {
    logLines.length = 0;
    const id = await createConnection();
    await server.request('PATCH', `/connections/${id}`, { key: keyOne, body: { a: { credentials: { apiToken: 'tok-patched-secret' } } } });
    await server.request('POST', '/connections', { key: keyOne, raw: `{"a": {"credentials": {"apiToken": "${SECRET_B}"` });
    control.fail('start', new Error('boom'));
    await server.request('POST', '/connections', { key: keyOne, body: validBody() });

    const text = logLines.join('');
    for (const secret of [SECRET_A, SECRET_B, 'tok-patched-secret', keyOne]) expect(text).not.toContain(secret);
    const entries = logLines.map((l) => JSON.parse(l));
    const post = entries.find((e) => e.msg === 'request' && e.method === 'POST' && e.status === 201);
    expect(post).toMatchObject({ path: '/connections', durationMs: expect.any(Number) });
    expect(entries.some((e) => e.method === 'PATCH' && e.path === `/connections/${id}` && e.status === 200)).toBe(true);
  });

  it('redacts credentials even when some code logs them', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ credentials: { apiToken: SECRET_A }, req: { headers: { authorization: `Bearer ${keyOne}` } } }, 'oops');
    expect(lines.join('')).not.toContain(SECRET_A);
    expect(lines.join('')).not.toContain(keyOne);
  });
});
