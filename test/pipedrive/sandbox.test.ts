import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipedriveSandbox, type CompanySettings, type PipedriveSandbox } from '../../sandboxes/pipedrive';

// What the Pipedrive connector relies on, checked against the sandbox over HTTP: the sandbox must answer the way
// Pipedrive does, or the connector's tests prove nothing.

let sandbox: PipedriveSandbox;
let counter = 0;

beforeAll(async () => {
  sandbox = await startPipedriveSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

function fresh(settings: Partial<CompanySettings> = {}) {
  const account = sandbox.addCompany(`Sb${++counter}`, { settings });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(sandbox.url + path, {
      method,
      headers: { 'x-api-token': account.apiToken, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  return { ...account, call };
}

describe('Pipedrive sandbox', () => {
  it('refuses a missing or wrong token with 401 and Pipedrive’s error body', async () => {
    const { call } = fresh();
    const res = await call('GET', '/api/v2/persons', undefined, { 'x-api-token': 'nope' });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ success: false, error: 'unauthorized access', error_info: expect.stringContaining('developers.pipedrive.com') });
    const viaQuery = await fetch(`${sandbox.url}/v1/users/me?api_token=nope`);
    expect(viaQuery.status).toBe(401);
  });

  it('refuses a query parameter the endpoint does not define, and a missing required one, with a 400', async () => {
    const { call } = fresh();
    const unknown = await call('GET', '/api/v2/persons?modified_since=2025-01-01T00:00:00Z');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ success: false, error: 'Parameter "modified_since" is not allowed for this request' });
    // a read's include_fields is not a write's
    expect((await call('POST', '/api/v2/persons?include_fields=marketing_status', { name: 'X' })).status).toBe(400);
    expect((await call('GET', '/api/v1/recents?items=person')).body).toMatchObject({ success: false, error: 'Parameter "since_timestamp" is required' });
    expect((await call('GET', '/api/v2/persons?updated_since=2025-01-01T00:00:00Z&sort_by=update_time')).status).toBe(200);
  });

  it('pages persons with a cursor in the { success, data, additional_data.next_cursor } envelope', async () => {
    const { call, company } = fresh();
    company.seed({ count: 7 });
    const ids: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: any = await call('GET', `/api/v2/persons?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.body.success).toBe(true);
      ids.push(...res.body.data.map((p: any) => p.id));
      cursor = res.body.additional_data.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(ids).toEqual(company.all().map((p) => p.id));
    expect((await call('GET', '/api/v2/persons?limit=501')).status).toBe(400);
  });

  it('filters by update time: updated_since inclusive, updated_until exclusive, at second resolution', async () => {
    const { call, company } = fresh();
    const [a, b] = company.seed({ count: 2 });
    expect(a.update_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const since = await call('GET', `/api/v2/persons?updated_since=${b.update_time}&sort_by=update_time`);
    expect(since.body.data.map((p: any) => p.id)).toContain(b.id);
    const until = await call('GET', `/api/v2/persons?updated_until=${a.update_time}`);
    expect(until.body.data.map((p: any) => p.id)).not.toContain(a.id);
    expect((await call('GET', '/api/v2/persons?updated_since=yesterday')).status).toBe(400);
  });

  it('creates with a name only; refuses a nameless person and fields outside the v2 request schema', async () => {
    const { call } = fresh();
    const nameless = await call('POST', '/api/v2/persons', { emails: [{ value: 'x@example.com', primary: true, label: 'work' }] });
    expect(nameless.status).toBe(400);
    expect(nameless.body).toMatchObject({ success: false, error: 'Name must be given.' });
    const jobTitle = await call('POST', '/api/v2/persons', { name: 'Ada Lovelace', job_title: 'CTO' });
    expect(jobTitle.status).toBe(400);
    const ok = await call('POST', '/api/v2/persons', { name: 'Ada King Lovelace', emails: [{ value: 'ada@example.com', label: 'home' }] });
    expect(ok.body.data).toMatchObject({ first_name: 'Ada', last_name: 'King Lovelace', emails: [{ value: 'ada@example.com', label: 'home', primary: true }] });
    const patched = await call('PATCH', `/api/v2/persons/${ok.body.data.id}`, { phones: [{ value: '+44 1', label: 'fax' }] });
    expect(patched.status).toBe(400);
  });

  it('deletes softly: gone from lists, is_deleted on read, and inactive in recents', async () => {
    const { call, company } = fresh();
    const [p] = company.seed({ count: 1 });
    const since = new Date(Date.now() - 5000).toISOString().slice(0, 19).replace('T', ' ');
    expect((await call('DELETE', `/api/v2/persons/${p.id}`)).body).toEqual({ success: true, data: { id: p.id } });
    expect((await call('GET', '/api/v2/persons')).body.data).toEqual([]);
    expect((await call('GET', `/api/v2/persons/${p.id}`)).body.data.is_deleted).toBe(true);
    const recents = await call('GET', `/api/v1/recents?since_timestamp=${encodeURIComponent(since)}&items=person`);
    expect(recents.body.data).toEqual([{ item: 'person', id: p.id, data: expect.objectContaining({ id: p.id, active_flag: false }) }]);
    expect(recents.body.additional_data.pagination).toMatchObject({ more_items_in_collection: false });
  });

  it('sends x-ratelimit headers, and 429 with Retry-After over the burst limit', async () => {
    const { call } = fresh({ burstLimit: 2 });
    const first = await call('GET', '/api/v1/users/me');
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    await call('GET', '/api/v1/users/me');
    const third = await call('GET', '/api/v1/users/me');
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(third.body).toMatchObject({ success: false, error: 'Request over limit' });
  });

  it('a daily token budget, spent by weight, ends in 429 until midnight UTC', async () => {
    const { call } = fresh({ dailyBudget: 15 });
    expect((await call('GET', '/api/v2/persons')).status).toBe(200);
    const over = await call('GET', '/api/v2/persons');
    expect(over.status).toBe(429);
    expect(over.body.error).toBe('Daily token budget exceeded');
    expect((await call('GET', '/api/v1/users/me')).status).toBe(200);
  });

  it('person fields list custom fields by 40-character hash, and the visibility levels of the plan', async () => {
    const growth = fresh({ plan: 'growth' });
    growth.company.addCustomField('Tier', 'enum', ['Gold']);
    const fields = (await growth.call('GET', '/api/v1/personFields')).body.data;
    expect(fields.find((f: any) => f.name === 'Tier')).toMatchObject({ key: expect.stringMatching(/^[0-9a-f]{40}$/), edit_flag: true, options: [{ label: 'Gold' }] });
    expect(fields.find((f: any) => f.key === 'visible_to').options.map((o: any) => o.id)).toEqual(['1', '3']);
    const premium = fresh({ plan: 'premium' });
    const premiumFields = (await premium.call('GET', '/api/v1/personFields')).body.data;
    expect(premiumFields.find((f: any) => f.key === 'visible_to').options.map((o: any) => o.id)).toEqual(['1', '3', '5', '7']);
    const refused = await growth.call('POST', '/api/v2/persons', { name: 'X Y', visible_to: 7 });
    expect(refused.status).toBe(400);
  });

  it('searches persons by exact email, whatever the case', async () => {
    const { call, company } = fresh();
    const [p] = company.seed({ count: 3 });
    const email = p.emails[0].value.toUpperCase();
    const res = await call('GET', `/api/v2/persons/search?term=${encodeURIComponent(email)}&fields=email&exact_match=true`);
    expect(res.body.data.items.map((i: any) => i.item.id)).toEqual([p.id]);
    expect((await call('GET', '/api/v2/persons/search?term=a')).status).toBe(400);
  });

  it('OAuth: the token endpoint renews access tokens; an expired one is refused with 401', async () => {
    const { name } = fresh().company;
    const granted = sandbox.grantTokens(name);
    const me = (token: string) => fetch(`${sandbox.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await me(granted.accessToken)).status).toBe(200);
    sandbox.expireAccessTokens(name);
    expect((await me(granted.accessToken)).status).toBe(401);
    const basic = Buffer.from(`${sandbox.oauthClient.clientId}:${sandbox.oauthClient.clientSecret}`).toString('base64');
    const renewed = await fetch(`${sandbox.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: granted.refreshToken }),
    });
    const tokens = (await renewed.json()) as { access_token: string };
    expect((await me(tokens.access_token)).status).toBe(200);
  });

  it('OAuth: the token endpoint takes the client only in a Basic header, as Pipedrive documents', async () => {
    const { name } = fresh().company;
    const granted = sandbox.grantTokens(name);
    const inBody = await fetch(`${sandbox.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: granted.refreshToken, client_id: sandbox.oauthClient.clientId, client_secret: sandbox.oauthClient.clientSecret }),
    });
    expect(inBody.status).toBe(400);
    expect(await inBody.json()).toEqual({ error: 'invalid_client', error_description: 'Invalid client: cannot retrieve client credentials' });
    const wrong = Buffer.from(`${sandbox.oauthClient.clientId}:not-the-secret`).toString('base64');
    const refused = await fetch(`${sandbox.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${wrong}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: granted.refreshToken }),
    });
    expect(refused.status).toBe(401);
  });
});
