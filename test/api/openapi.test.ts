import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectionSchema, updateConnectionSchema } from '../../api/schemas';
import { connectionSettingsSchema } from '../../sync/settings';
import { openTestDatabase, type OpenTestDatabase } from '../support/pg';
import { capturingLogger, RecordingControl, serve, type TestServer } from './harness';

let database: OpenTestDatabase;
let server: TestServer;
let doc: any;

beforeAll(async () => {
  database = await openTestDatabase();
  server = await serve({ db: database.db, control: new RecordingControl(), masterKey: randomBytes(32), logger: capturingLogger().logger });
  const res = await server.request('GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});

afterAll(async () => {
  await server?.close();
  await database?.dispose();
});

/** Every "$ref" in the document, with where it was found. */
function refs(node: unknown, at = '#'): { ref: string; at: string }[] {
  if (Array.isArray(node)) return node.flatMap((item, i) => refs(item, `${at}/${i}`));
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === '$ref' && typeof value === 'string' ? [{ ref: value, at }] : refs(value, `${at}/${key}`),
  );
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3 document whose references all resolve', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(10);
    for (const { ref, at } of all) {
      expect(ref, at).toMatch(/^#\/components\/schemas\/[A-Za-z0-9_.-]+$/);
      expect(doc.components.schemas[ref.split('/').pop()!], `${ref} at ${at}`).toBeDefined();
    }
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        for (const param of op.parameters ?? []) {
          expect(['path', 'query']).toContain(param.in);
          if (param.in !== 'path') continue;
          expect(path).toContain(`{${param.name}}`);
          expect(param.required).toBe(true);
        }
      }
    }
  });

  it('lists every route of the API', () => {
    const operations = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'GET /openapi.json',
        'GET /apps',
        'GET /connections',
        'POST /connections',
        'GET /connections/{id}',
        'PATCH /connections/{id}',
        'DELETE /connections/{id}',
        'POST /connections/{id}/pause',
        'POST /connections/{id}/resume',
        'POST /connections/{id}/sync',
        'GET /connections/{id}/health',
        'GET /connections/{id}/contacts',
        'GET /connections/{id}/brake',
        'GET /connections/{id}/activity',
        'GET /connections/{id}/conflicts',
        'POST /connections/{id}/failures/{failureId}/retry',
        'POST /connections/{id}/failures/retry-all',
        'POST /connections/{id}/confirm',
        'POST /connections/{id}/resync',
        'POST /connections/{id}/reconcile',
        'POST /connections/{id}/cancel',
        'POST /session',
        'GET /session',
        'DELETE /session',
      ].sort(),
    );
  });

  it('declares bearer and session-cookie authentication, and no authentication on the probes and sign-in', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'rapport_session' });
    const either = [{ bearerAuth: [] }, { sessionCookie: [] }];
    expect(doc.security).toEqual(either);
    expect(doc.paths['/connections'].post.security).toEqual(either);
    expect(doc.paths['/connections'].post.responses['403']).toBeDefined();
    for (const path of ['/healthz', '/readyz', '/openapi.json']) expect(doc.paths[path].get.security).toEqual([]);
    expect(doc.paths['/session'].post.security).toEqual([]);
    expect(doc.paths['/session'].get.security).toEqual([{ sessionCookie: [] }]);
    expect(doc.paths['/connections'].get.responses['401']).toBeDefined();
  });

  it('has components generated from the schemas that validate the requests', () => {
    const { schemas } = doc.components;
    expect(Object.keys(schemas.CreateConnection.properties).sort()).toEqual(Object.keys(createConnectionSchema.shape).sort());
    expect(schemas.CreateConnection.required.sort()).toEqual(['a', 'b']);
    expect(schemas.CreateConnection.additionalProperties).toBe(false);
    expect(Object.keys(schemas.UpdateConnection.properties).sort()).toEqual(Object.keys(updateConnectionSchema.shape).sort());
    expect(Object.keys(schemas.ConnectionSettings.properties).sort()).toEqual(Object.keys(connectionSettingsSchema.shape).sort());
    expect(schemas.ConnectionSettings.properties.pollIntervalSeconds).toMatchObject({ type: 'integer', minimum: 1, maximum: 86400, default: 30 });
    expect(schemas.AccountInput.required.sort()).toEqual(['app', 'credentials', 'scope']);
    expect(doc.paths['/connections'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateConnection' });
    expect(doc.paths['/connections/{id}'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Connection' });
    expect(schemas.Error.properties.error.properties).toHaveProperty('issues');
    // the apps' own schemas, for clients that check before sending
    expect(schemas.SandboxCredentials).toMatchObject({ type: 'object', required: ['apiToken'] });
    expect(schemas.SandboxScope.properties).toHaveProperty('baseUrl');
  });

  it('never documents credentials in a response', () => {
    for (const name of ['Connection', 'ConnectionSummary', 'Account']) {
      expect(Object.keys(doc.components.schemas[name].properties)).not.toContain('credentials');
    }
  });
});
