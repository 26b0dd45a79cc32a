import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipelinerSandbox, type PipelinerSandbox, type PipelinerSpace } from '../../sandboxes/pipeliner';

// The Pipeliner sandbox answers the way REST API v100 does in everything the connector relies on: Basic auth,
// cursor paging, filters on modified, include_deleted, soft deletes, validation-level, and the error bodies.

describe('Pipeliner sandbox', () => {
  let sandbox: PipelinerSandbox;
  let space: PipelinerSpace;
  let base: string;
  const auth = { authorization: `Basic ${Buffer.from('tok:pw').toString('base64')}` };

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    sandbox = await startPipelinerSandbox();
    space = sandbox.addSpace('nv1_behaviour', { apiToken: 'tok', apiPassword: 'pw' });
    base = sandbox.baseUrl('nv1_behaviour');
    space.seed({ count: 7 });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('refuses requests without valid Basic credentials with 401 and WWW-Authenticate', async () => {
    const missing = await call('GET', '/entities/Contacts', undefined, {});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Basic realm="restapi"');
    const wrong = await call('GET', '/entities/Contacts', undefined, { authorization: `Basic ${Buffer.from('tok:nope').toString('base64')}` });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ success: false, http_status: 401 });
  });

  it('pages with first/after and the page_info envelope, at most 100 a page', async () => {
    const first = await call('GET', '/entities/Contacts?first=3');
    expect(first.body).toMatchObject({ success: true, total: 7, page_info: { has_next_page: true, has_previous_page: false } });
    expect(first.body.data).toHaveLength(3);
    const ids = first.body.data.map((c: any) => c.id);
    let after = first.body.page_info.end_cursor;
    for (;;) {
      const next = await call('GET', `/entities/Contacts?first=3&after=${encodeURIComponent(after)}`);
      ids.push(...next.body.data.map((c: any) => c.id));
      if (!next.body.page_info.has_next_page) break;
      after = next.body.page_info.end_cursor;
    }
    expect(new Set(ids).size).toBe(7);
    const capped = await call('GET', '/entities/Contacts?first=500');
    expect(capped.body.data).toHaveLength(7);
    const byDefault = await call('GET', '/entities/Contacts');
    expect(byDefault.body.data).toHaveLength(7);
  });

  it('returns contacts with microsecond timestamps, revisions, and relations as ids and URIs', async () => {
    const { body } = await call('GET', '/entities/Contacts?first=1');
    const c = body.data[0];
    expect(c.modified).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    expect(c).toMatchObject({ is_deleted: false, revision: 1, owner_id: space.admin.id });
    expect(c.owner).toBe(`${base}/entities/Clients/${space.admin.id}`);
    expect(c.email1).toMatch(/@/);
  });

  it('filters on modified (gte, either timestamp form), includes soft-deleted rows only when asked, under both spellings', async () => {
    const all = (await call('GET', '/entities/Contacts?first=100&order-by=modified')).body.data;
    const pivot = all[4].modified as string;
    const since = await call('GET', `/entities/Contacts?filter[modified]=${encodeURIComponent(pivot)}&filter-op[modified]=gte&order-by=modified`);
    expect(since.body.data.map((c: any) => c.id)).toEqual(all.slice(4).map((c: any) => c.id));
    const iso = await call('GET', `/entities/Contacts?filter[modified]=2000-01-01T00:00:00Z&filter-op[modified]=gte`);
    expect(iso.body.total).toBe(7);

    const doomed = all[0].id;
    expect((await call('DELETE', `/entities/Contacts/${doomed}`)).body).toEqual({ success: true, data: doomed });
    expect((await call('GET', '/entities/Contacts')).body.total).toBe(6);
    expect((await call('GET', `/entities/Contacts/${doomed}`)).status).toBe(404);
    const withDeleted = await call('GET', `/entities/Contacts?include_deleted=true&filter[modified]=${encodeURIComponent(pivot)}&filter-op[modified]=gte`);
    expect(withDeleted.body.data.find((c: any) => c.id === doomed)).toMatchObject({ is_deleted: true, revision: 2 });
    expect((await call('GET', `/entities/Contacts/${doomed}?include_deleted=true`)).body.data).toMatchObject({ is_deleted: true });
  });

  it('takes only the parameters its parameter table defines: the example URL\'s include-deleted is refused', async () => {
    const dashed = await call('GET', '/entities/Contacts?include-deleted=true');
    expect(dashed.status).toBe(400);
    expect(dashed.body).toMatchObject({ success: false, code: 117, name: 'ERROR_PARAMETER_INVALID', message: "Unknown parameter 'include-deleted'." });
    expect((await call('GET', '/entities/Contacts?limit=5')).status).toBe(400);
    // a get takes no paging, a write no filter
    expect((await call('GET', `/entities/Contacts/${space.create({ first_name: 'P', last_name: 'Q' }).id}?first=1`)).status).toBe(400);
    expect((await call('POST', '/entities/Contacts?include_deleted=true', { first_name: 'A' })).status).toBe(400);
  });

  it('PATCH changes only the given fields; a no-op keeps the revision and the modified time', async () => {
    const c = space.create({ first_name: 'Ann', last_name: 'Lee', email1: 'ann@x.example', position: 'CTO' });
    const patched = await call('PATCH', `/entities/Contacts/${c.id}`, { position: 'CEO' });
    expect(patched.body).toMatchObject({ success: true, data: { position: 'CEO', email1: 'ann@x.example', revision: 2 } });
    const again = await call('PATCH', `/entities/Contacts/${c.id}`, { position: 'CEO' });
    expect(again.body.data).toMatchObject({ revision: 2, modified: patched.body.data.modified });
  });

  it('answers a create without a name or owner with the entity validation error', async () => {
    const res = await call('POST', '/entities/Contacts', { email1: 'x@y.example' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 40000,
      name: 'ERROR_ENTITY_VALIDATION',
      entity_name: 'Contact',
      http_status: 422,
      success: false,
      step_checklist_errors: [],
      entity_index: null,
    });
    expect(res.body.message).toMatch(/Non-null field 'Contact'\[.*\]\.last_name' is null or empty\./);
    expect(res.body.message).toMatch(/owner_id' is null or empty/);
    expect(res.body.field_errors.map((f: any) => f.field_name)).toEqual(['last_name', 'owner_id']);
    expect(res.body.field_errors[0]).toMatchObject({ name: 'ERROR_FIELD_VALIDATION', code: 40002, errors: [{ code: 119, name: 'ERROR_PARAMETER_MISSING' }] });
  });

  it('checks a required custom field on every create, and on updates unless validation-level=2', async () => {
    const s = sandbox.addSpace('nv1_required', { apiToken: 'tok', apiPassword: 'pw' });
    const old = s.create({ last_name: 'Before', email1: 'before@x.example' });
    s.setCustomField({ api_name: 'cf_region_code', name: 'Region code', required: true });
    const at = (p: string) => `${sandbox.baseUrl('nv1_required')}${p}`;
    const send = async (method: string, url: string, body: unknown) => {
      const res = await fetch(url, { method, headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const create = await send('POST', at('/entities/Contacts'), { last_name: 'New', owner_id: s.admin.id });
    expect(create.status).toBe(422);
    expect(create.body.field_errors[0].field_name).toBe('cf_region_code');
    expect(create.body.message.trim()).toBe("Non-null field 'cf_region_code' is null or empty.");
    expect((await send('PATCH', at(`/entities/Contacts/${old.id}`), { position: 'X' })).status).toBe(422);
    expect((await send('PATCH', at(`/entities/Contacts/${old.id}?validation-level=2`), { position: 'X' })).status).toBe(200);
    const fields = await fetch(at('/entities/Fields?filter[entity_name]=Contact&first=100'), { headers: auth }).then((r) => r.json() as Promise<any>);
    expect(fields.data.find((f: any) => f.api_name === 'cf_region_code')).toMatchObject({ name: 'Region code', is_required: true });
  });

  it('refuses a delete without delete rights with 403, bad JSON with 400, unknown entities and URLs with 404', async () => {
    const c = space.create({ last_name: 'Kept' });
    space.canDelete = false;
    const denied = await call('DELETE', `/entities/Contacts/${c.id}`);
    space.canDelete = true;
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ success: false, name: 'ERROR_ACCESS_DENIED', http_status: 403 });
    const bad = await call('POST', '/entities/Contacts', '{"last_name":');
    expect(bad).toMatchObject({ status: 400, body: { code: 117, name: 'ERROR_PARAMETER_INVALID', message: 'Missing or invalid JSON data.' } });
    const entity = await call('GET', '/entities/Contact');
    expect(entity).toMatchObject({ status: 404, body: { code: 2006, name: 'ERROR_UNKNOWN_TYPE', message: 'cannot determine entity type from Contact' } });
    const url = await call('GET', '/nothing/here');
    expect(url).toMatchObject({ status: 404, body: { status: 404, errorcode: null, traceback: null } });
  });

  it('throttles with 429 and Retry-After, injected or past the configured rate', async () => {
    space.failNext({ status: 429, retryAfterSeconds: 3 });
    const injected = await call('GET', '/entities/Contacts');
    expect(injected.status).toBe(429);
    expect(injected.headers.get('retry-after')).toBe('3');
    space.config.rateLimitPerSecond = 1;
    const statuses = await Promise.all([1, 2, 3].map(() => call('GET', '/entities/Clients')));
    space.config.rateLimitPerSecond = undefined;
    const limited = statuses.find((s) => s.status === 429)!;
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body).toMatchObject({ success: false, http_status: 429 });
  });

  it('lists users and sales units, filterable by email and name', async () => {
    const unit = space.addSalesUnit('EMEA');
    space.addUser({ email: 'eve@x.example', default_unit_id: unit.id });
    const users = await call('GET', `/entities/Clients?filter[email]=EVE@x.example`);
    expect(users.body.data).toEqual([expect.objectContaining({ email: 'eve@x.example', default_unit_id: unit.id })]);
    const units = await call('GET', '/entities/SalesUnits?filter[name]=emea');
    expect(units.body.data.map((u: any) => u.id)).toEqual([unit.id]);
  });
});
