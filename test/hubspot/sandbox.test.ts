import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotAccount, type HubSpotSandbox } from '../../sandboxes/hubspot';

// The HubSpot behaviours the connector relies on, checked against the sandbox over HTTP.

let sandbox: HubSpotSandbox;
let portal: HubSpotAccount;

async function call(method: string, path: string, body?: unknown, token = portal.privateAppToken) {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  sandbox = await startHubSpotSandbox();
  portal = sandbox.addAccount('s', { limits: { tenSecondly: 10_000, searchPerSecond: 1_000 } });
  portal.seed({ count: 25 });
});
afterAll(async () => {
  await sandbox.close();
});

describe('HubSpot sandbox', () => {
  it('lists by id with `after` paging, only the asked properties, strings or null', async () => {
    const first = await call('GET', '/crm/v3/objects/contacts?limit=10&properties=email,fax');
    expect(first.status).toBe(200);
    expect(first.body.results).toHaveLength(10);
    expect(Object.keys(first.body.results[0].properties).sort()).toEqual(['email', 'fax']);
    expect(first.body.results[0].properties.fax).toBeNull();
    const second = await call('GET', `/crm/v3/objects/contacts?limit=10&after=${first.body.paging.next.after}`);
    expect(second.body.results[0].id).not.toBe(first.body.results[9].id);
    expect(Object.keys(second.body.results[0].properties)).toContain('lastmodifieddate');
  });

  it('refuses a query parameter the endpoint does not define with a 400 VALIDATION_ERROR', async () => {
    const res = await call('GET', '/crm/v3/objects/contacts?limit=10&updatedSince=2025-01-01');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', message: 'Unknown query parameter: updatedSince', correlationId: expect.any(String) });
    expect((await call('POST', '/crm/v3/objects/contacts/search?archived=true', { limit: 1 })).status).toBe(400);
    expect((await call('GET', '/crm/v3/objects/contacts?limit=1&archived=true&propertiesWithHistory=email')).status).toBe(200);
  });

  it('search filters by lastmodifieddate, sorts, tells the total, and refuses to page past the cap', async () => {
    const from = String(portal.list()[5].updatedAt);
    const body = { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: from }] }], sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }], limit: 5 };
    const res = await call('POST', '/crm/v3/objects/contacts/search', body);
    expect(res.body.total).toBe(20);
    expect(res.body.paging.next.after).toBe('5');
    expect(res.headers.get('x-hubspot-ratelimit-max')).toBeNull();
    expect((await call('POST', '/crm/v3/objects/contacts/search', { ...body, after: '10000' })).status).toBe(400);
    expect((await call('POST', '/crm/v3/objects/contacts/search', { ...body, limit: 201 })).status).toBe(400);
  });

  it('fails a whole batch for one invalid value, 409s a duplicate email, and answers 207 for missing ids', async () => {
    const invalid = await call('POST', '/crm/v3/objects/contacts/batch/create', { inputs: [{ properties: { email: 'ok@example.com' } }, { properties: { email: 'x@' } }] });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', correlationId: expect.any(String) });
    expect(invalid.body.message).toMatch(/^Property values were not valid: .*Email address x@ is invalid/);
    expect(portal.byEmail('ok@example.com')).toBeUndefined();

    const existing = portal.list()[0];
    const dup = await call('POST', '/crm/v3/objects/contacts', { properties: { email: existing.properties.email } });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ category: 'CONFLICT', message: `Contact already exists. Existing ID: ${existing.id}` });

    const partial = await call('POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: existing.id, properties: { jobtitle: 'X' } }, { id: '1', properties: { jobtitle: 'Y' } }] });
    expect(partial.status).toBe(207);
    expect(partial.body).toMatchObject({ numErrors: 1, errors: [{ category: 'OBJECT_NOT_FOUND', context: { ids: ['1'] } }] });

    const upsert = await call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ idProperty: 'email', id: existing.properties.email, properties: { jobtitle: 'Z' } }, { idProperty: 'email', id: 'brand.new@example.com', properties: {} }] });
    expect(upsert.body.results.map((r: any) => r.new)).toEqual([false, true]);
  });

  it('archives: gone from reads and search, listed with archived=true and archivedAt', async () => {
    const doomed = portal.list()[1];
    expect((await call('POST', '/crm/v3/objects/contacts/batch/archive', { inputs: [{ id: doomed.id }] })).status).toBe(204);
    expect((await call('GET', `/crm/v3/objects/contacts/${doomed.id}`)).status).toBe(404);
    const archived = await call('GET', '/crm/v3/objects/contacts?archived=true');
    expect(archived.body.results).toContainEqual(expect.objectContaining({ id: doomed.id, archived: true, archivedAt: expect.any(String) }));
  });

  it('answers bad tokens with 401 INVALID_AUTHENTICATION and sends rate-limit headers', async () => {
    const res = await call('GET', '/crm/v3/objects/contacts', undefined, 'nope');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    const ok = await call('GET', '/crm/v3/objects/contacts?limit=1');
    expect(ok.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
    expect(ok.headers.get('x-hubspot-ratelimit-daily-remaining')).toMatch(/^\d+$/);
  });
});
