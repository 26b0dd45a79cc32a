import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rowsOf } from '../../db/client';
import { createApiKey, createWorkspace, revokeApiKey } from '../../db/queries/api-keys';
import { sessions } from '../../db/schema';
import { openTestDatabase, type OpenTestDatabase } from '../support/pg';
import { capturingLogger, insertRouteConnection, RecordingControl, serve, type TestServer } from './harness';

// The dashboard's sign-in: an API key is exchanged for an HttpOnly, SameSite=Strict cookie that every
// bearer-guarded route accepts; state-changing requests made with it need the session's CSRF token.

let database: OpenTestDatabase;
let server: TestServer;
let control: RecordingControl;
let keyOne: string;
let keyTwo: string;
let workspaceOne: string;
let connectionOne: string;
let connectionTwo: string;

const newConnection = (workspaceId: string) => insertRouteConnection(database.db, workspaceId);

interface SignedIn {
  cookie: string;
  csrfToken: string;
  setCookie: string;
  body: any;
}

async function signIn(apiKey: string): Promise<SignedIn> {
  const res = await server.request('POST', '/session', { body: { apiKey } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('rapport_session='));
  expect(setCookie).toBeDefined();
  return { cookie: setCookie!.split(';')[0], csrfToken: res.body.csrfToken, setCookie: setCookie!, body: res.body };
}

const withCookie = (s: SignedIn, extra: Record<string, string> = {}) => ({ headers: { cookie: s.cookie, ...extra } });

beforeAll(async () => {
  database = await openTestDatabase();
  const one = await createWorkspace(database.db, 'One');
  const two = await createWorkspace(database.db, 'Two');
  workspaceOne = one.id;
  keyOne = (await createApiKey(database.db, one.id, 'one')).key;
  keyTwo = (await createApiKey(database.db, two.id, 'two')).key;
  connectionOne = await newConnection(one.id);
  connectionTwo = await newConnection(two.id);
  control = new RecordingControl();
  server = await serve({
    db: database.db,
    control,
    masterKey: randomBytes(32),
    logger: capturingLogger().logger,
    temporalUiUrl: 'http://127.0.0.1:8233',
    temporalNamespace: 'rapport-test',
  });
});

afterAll(async () => {
  await server?.close();
  await database?.dispose();
});

beforeEach(() => {
  control.calls = [];
});

describe('POST /session', () => {
  it('exchanges a key for an HttpOnly, SameSite=Strict cookie and answers the workspace, CSRF token and Temporal UI', async () => {
    const s = await signIn(keyOne);
    expect(s.body).toEqual({
      workspace: { id: workspaceOne, name: 'One' },
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/),
      temporalUiUrl: 'http://127.0.0.1:8233',
      temporalNamespace: 'rapport-test',
    });
    const attributes = s.setCookie.split(';').map((a) => a.trim().toLowerCase());
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=strict');
    expect(attributes).toContain('path=/');
    // Plain http here: a Secure cookie would never be sent back.
    expect(attributes).not.toContain('secure');
    const value = s.cookie.split('=')[1];
    expect(value).not.toContain(keyOne.slice(3));
    // Only the cookie's hash is stored, never the cookie nor the key.
    const stored = await database.db.select().from(sessions);
    for (const row of stored) {
      expect(JSON.stringify(row)).not.toContain(value);
      expect(JSON.stringify(row)).not.toContain(keyOne);
    }
  });

  it('names the "default" Temporal namespace when the API is given none', async () => {
    const plain = await serve({ db: database.db, control, masterKey: randomBytes(32), logger: capturingLogger().logger });
    try {
      const res = await plain.request('POST', '/session', { body: { apiKey: keyOne } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ temporalUiUrl: null, temporalNamespace: 'default' });
    } finally {
      await plain.close();
    }
  });

  it('refuses a bad or revoked key with 401, a missing key with 400 and a body that is not JSON with 415', async () => {
    expect((await server.request('POST', '/session', { body: { apiKey: 'rk_nope' } })).status).toBe(401);
    const ws = await createWorkspace(database.db, 'Revoked');
    const revoked = await createApiKey(database.db, ws.id, 'revoked');
    await revokeApiKey(database.db, revoked.id);
    const refused = await server.request('POST', '/session', { body: { apiKey: revoked.key } });
    expect(refused.status).toBe(401);
    expect(refused.headers.getSetCookie()).toEqual([]);

    const missing = await server.request('POST', '/session', { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues).toEqual([{ path: 'apiKey', message: 'Required' }]);
    const form = await server.request('POST', '/session', {
      raw: `apiKey=${keyOne}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(form.headers.getSetCookie()).toEqual([]);
  });
});

describe('the session cookie', () => {
  it('is accepted where a bearer key is, and GET /session gives a reloaded page the same CSRF token', async () => {
    const s = await signIn(keyOne);
    const list = await server.request('GET', '/connections', withCookie(s));
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body.connections.map((c: any) => c.id)).toEqual([connectionOne]);
    expect((await server.request('GET', `/connections/${connectionOne}/health`, withCookie(s))).status).toBe(200);
    expect((await server.request('GET', '/apps', withCookie(s))).status).toBe(200);

    const again = await server.request('GET', '/session', withCookie(s));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(s.body);
  });

  it('needs the X-CSRF-Token header on state-changing requests: none or a wrong one is refused with 403 csrf', async () => {
    const s = await signIn(keyOne);
    const none = await server.request('POST', `/connections/${connectionOne}/pause`, withCookie(s));
    expect(none.status).toBe(403);
    expect(none.body.error.code).toBe('csrf');
    const wrong = await server.request('POST', `/connections/${connectionOne}/pause`, withCookie(s, { 'x-csrf-token': `${s.csrfToken.slice(0, -2)}xx` }));
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('csrf');
    // Another session's token is no better.
    const other = await signIn(keyOne);
    expect((await server.request('POST', `/connections/${connectionOne}/pause`, withCookie(s, { 'x-csrf-token': other.csrfToken }))).status).toBe(403);
    const patch = await server.request('PATCH', `/connections/${connectionOne}`, { ...withCookie(s), body: { name: 'Renamed' } });
    expect(patch.status).toBe(403);
    const del = await server.request('DELETE', `/connections/${connectionOne}`, withCookie(s));
    expect(del.status).toBe(403);
    expect(control.calls).toEqual([]);

    const ok = await server.request('POST', `/connections/${connectionOne}/pause`, withCookie(s, { 'x-csrf-token': s.csrfToken }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.phase).toBe('paused');
    expect(control.callsTo('pause')).toEqual([connectionOne]);
  });

  it('leaves bearer keys as they were: no CSRF token needed, and a bad bearer key is not rescued by a good cookie', async () => {
    const paused = await server.request('POST', `/connections/${connectionOne}/resume`, { key: keyOne });
    expect(paused.status).toBe(200);
    const s = await signIn(keyOne);
    const mixed = await server.request('GET', '/connections', { ...withCookie(s), key: 'rk_not-a-key' });
    expect(mixed.status).toBe(401);
  });

  it("keeps to its own workspace: another workspace's connection is not found", async () => {
    const s = await signIn(keyTwo);
    const list = await server.request('GET', '/connections', withCookie(s));
    expect(list.body.connections.map((c: any) => c.id)).toEqual([connectionTwo]);
    expect((await server.request('GET', `/connections/${connectionOne}`, withCookie(s))).status).toBe(404);
    expect((await server.request('GET', `/connections/${connectionOne}/contacts`, withCookie(s))).status).toBe(404);
    const pause = await server.request('POST', `/connections/${connectionOne}/pause`, withCookie(s, { 'x-csrf-token': s.csrfToken }));
    expect(pause.status).toBe(404);
    expect(control.callsTo('pause')).toEqual([]);
  });

  it('stops working once its key is revoked', async () => {
    const ws = await createWorkspace(database.db, 'Soon revoked');
    const key = await createApiKey(database.db, ws.id, 'soon revoked');
    const s = await signIn(key.key);
    expect((await server.request('GET', '/connections', withCookie(s))).status).toBe(200);
    await revokeApiKey(database.db, key.id);
    const after = await server.request('GET', '/connections', withCookie(s));
    expect(after.status).toBe(401);
    expect((await server.request('GET', '/session', withCookie(s))).status).toBe(401);
  });

  it('ends after its idle deadline', async () => {
    const s = await signIn(keyOne);
    const { id } = (await server.request('GET', '/session', withCookie(s))).body.workspace;
    expect(id).toBe(workspaceOne);
    const sessionId = rowsOf<{ id: string }>(
      await database.db.execute(sql`select id from sessions order by created_at desc limit 1`),
    )[0].id;
    await database.db.update(sessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(sessions.id, sessionId));
    expect((await server.request('GET', '/connections', withCookie(s))).status).toBe(401);
    expect((await server.request('GET', '/session', withCookie(s))).status).toBe(401);
  });
});

describe('DELETE /session', () => {
  it('signs out on the server: the cookie is cleared and refused from then on, even if the browser kept it', async () => {
    const s = await signIn(keyOne);
    expect((await server.request('DELETE', '/session', withCookie(s))).status).toBe(403);
    const out = await server.request('DELETE', '/session', withCookie(s, { 'x-csrf-token': s.csrfToken }));
    expect(out.status).toBe(204);
    const cleared = out.headers.getSetCookie().find((c) => c.startsWith('rapport_session='));
    expect(cleared).toMatch(/^rapport_session=;/);
    expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);

    const after = await server.request('GET', '/connections', withCookie(s));
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
    expect((await server.request('GET', '/session', withCookie(s))).status).toBe(401);
    // Signing out again is harmless.
    expect((await server.request('DELETE', '/session', withCookie(s))).status).toBe(204);
  });

  it('answers 401 to GET /session without a cookie', async () => {
    expect((await server.request('GET', '/session')).status).toBe(401);
  });
});
