import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createWorkspace } from '../../db/queries/api-keys';
import { CONTENT_SECURITY_POLICY } from '../../api/static';
import { openTestDatabase, type OpenTestDatabase } from '../support/pg';
import { capturingLogger, RecordingControl, serve, type TestServer } from './harness';

// The dashboard served by the API at `/`: the built files, index.html for client-side routes, a policy
// that allows no inline script on every answer, and JSON 404s kept for the API's own paths.

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-3f9a.js"></script></head><body><div id="root"></div></body></html>';
const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

let database: OpenTestDatabase;
let dist: string;
let built: TestServer;
let unbuilt: TestServer;
let key: string;

beforeAll(async () => {
  database = await openTestDatabase();
  key = (await createApiKey(database.db, (await createWorkspace(database.db, 'One')).id, 'one')).key;
  dist = mkdtempSync(path.join(tmpdir(), 'rapport-web-'));
  mkdirSync(path.join(dist, 'assets'));
  writeFileSync(path.join(dist, 'index.html'), INDEX);
  writeFileSync(path.join(dist, 'assets', 'app-3f9a.js'), 'console.log("dashboard")');
  writeFileSync(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  const deps = { db: database.db, control: new RecordingControl(), masterKey: randomBytes(32), logger: capturingLogger().logger };
  built = await serve({ ...deps, webDist: dist });
  unbuilt = await serve({ ...deps, webDist: path.join(dist, 'missing') });
});

afterAll(async () => {
  await built?.close();
  await unbuilt?.close();
  await database?.dispose();
  rmSync(dist, { recursive: true, force: true });
});

describe('the dashboard at /', () => {
  it('serves index.html with the Content-Security-Policy', async () => {
    expect(CONTENT_SECURITY_POLICY).toBe(CSP);
    const res = await built.request('GET', '/', { headers: html });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.body).toBe(INDEX);
    // `/` is the dashboard whatever the client asks for.
    expect((await built.request('GET', '/')).body).toBe(INDEX);
  });

  it('serves the built files, the hashed bundles as immutable', async () => {
    const js = await built.request('GET', '/assets/app-3f9a.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(js.headers.get('content-security-policy')).toBe(CSP);
    const icon = await built.request('GET', '/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers client-side routes with index.html when a browser navigates to them', async () => {
    for (const route of ['/c/con_0123456789abcdef', '/c/con_0123456789abcdef/health', '/sign-in']) {
      const res = await built.request('GET', route, { headers: html });
      expect(res.status, route).toBe(200);
      expect(res.body, route).toBe(INDEX);
    }
  });

  it('keeps JSON 404s for what is not a page: unknown API paths, other methods, non-HTML requests, missing files', async () => {
    const cases: [string, string, Record<string, string>][] = [
      ['GET', '/connections/con_x/nothing-here', { ...html, authorization: `Bearer ${key}` }],
      ['GET', '/c/con_x', { accept: 'application/json' }],
      ['GET', '/c/con_x', {}],
      ['POST', '/c/con_x', html],
      ['GET', '/assets/missing.js', {}],
    ];
    for (const [method, route, headers] of cases) {
      const res = await built.request(method, route, { headers });
      expect(res.status, `${method} ${route}`).toBe(404);
      expect(res.headers.get('content-type'), `${method} ${route}`).toMatch(/application\/json/);
      expect(res.body.error.code).toBe('not_found');
      expect(res.headers.get('content-security-policy')).toBe(CSP);
    }
    // An API path a browser opens is the API's answer, not the page.
    const api = await built.request('GET', '/connections', { headers: html });
    expect(api.status).toBe(401);
    expect(api.body.error.code).toBe('unauthorized');
    expect((await built.request('GET', '/openapi.json', { headers: html })).body.openapi).toMatch(/^3\./);
  });

  it('does not serve files outside web/dist', async () => {
    for (const route of ['/..%2f..%2fpackage.json', '/assets/..%2f..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json']) {
      const res = await built.request('GET', route);
      expect(res.status, route).not.toBe(200);
      expect(JSON.stringify(res.body)).not.toContain('"devDependencies"');
    }
  });

  it('answers 503 saying how to build it when web/dist is missing, and the API works on', async () => {
    for (const route of ['/', '/c/con_x']) {
      const res = await unbuilt.request('GET', route, { headers: html });
      expect(res.status, route).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.body).toContain('npm run build:web');
      expect(res.headers.get('content-security-policy')).toBe(CSP);
    }
    expect((await unbuilt.request('GET', '/healthz')).status).toBe(200);
    expect((await unbuilt.request('GET', '/connections', { key })).status).toBe(200);
  });
});
