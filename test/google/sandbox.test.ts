import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGoogleSandbox, type GoogleSandbox } from '../../sandboxes/google';

// The Google sandbox answers like the People API in everything the connector relies on.

let sandbox: GoogleSandbox;
let counter = 0;

beforeAll(async () => {
  sandbox = await startGoogleSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

function user() {
  const name = `s${++counter}`;
  const { accessToken } = sandbox.grant(name);
  const store = sandbox.account(name);
  const call = async (method: string, path: string, body?: unknown, token = accessToken) => {
    const res = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  return { name, store, call };
}

const FIELDS = 'names,emailAddresses,memberships,metadata';

describe('Google People API sandbox', () => {
  it('requires personFields, caps the page size and pages with page tokens; only the last page has a sync token', async () => {
    const u = user();
    u.store.configure({ pageSizeCap: 4 });
    u.store.seed({ count: 10 });
    const missing = await u.call('GET', '/v1/people/me/connections');
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: expect.stringMatching(/personFields mask is required/) });

    const seen: string[] = [];
    let pageToken: string | undefined;
    let syncToken: string | undefined;
    let pages = 0;
    do {
      const q = new URLSearchParams({ personFields: FIELDS, pageSize: '100', requestSyncToken: 'true', ...(pageToken ? { pageToken } : {}) });
      const page = await u.call('GET', `/v1/people/me/connections?${q}`);
      expect(page.status).toBe(200);
      expect(page.body.totalItems).toBe(10);
      expect(page.body.connections.length).toBeLessThanOrEqual(4);
      seen.push(...page.body.connections.map((p: any) => p.resourceName));
      pageToken = page.body.nextPageToken;
      if (pageToken) expect(page.body.nextSyncToken).toBeUndefined();
      syncToken = page.body.nextSyncToken;
      pages++;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(10);
    expect(syncToken).toBeTruthy();

    // the token works only with the field mask that produced it
    const other = await u.call('GET', `/v1/people/me/connections?personFields=names&syncToken=${syncToken}`);
    expect(other.status).toBe(400);
    const same = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&pageSize=100&requestSyncToken=true&syncToken=${syncToken}`);
    expect(same.status).toBe(200);
    expect(same.body.connections).toBeUndefined();
    expect(same.body.nextSyncToken).toBeTruthy();
  });

  it('an incremental call returns a sync token only when it asks for one, and must repeat the parameters of the first call', async () => {
    const u = user();
    u.store.seed({ count: 2 });
    const full = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&pageSize=50&requestSyncToken=true`);
    const token = full.body.nextSyncToken as string;
    // without requestSyncToken the call is refused: its parameters differ from the call that made the token
    const unasked = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&pageSize=50&syncToken=${token}`);
    expect(unasked.status).toBe(400);
    expect(unasked.body.error).toMatchObject({ status: 'INVALID_ARGUMENT', message: expect.stringMatching(/must match the first call/) });
    const otherSize = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&pageSize=10&requestSyncToken=true&syncToken=${token}`);
    expect(otherSize.status).toBe(400);
    const asked = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&pageSize=50&requestSyncToken=true&syncToken=${token}`);
    expect(asked.status).toBe(200);
    expect(asked.body.nextSyncToken).toBeTruthy();
    // a full listing that does not ask gets none either
    const plain = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}`);
    expect(plain.body.nextSyncToken).toBeUndefined();
  });

  it('refuses a query parameter the method does not define, as Google does', async () => {
    const u = user();
    const res = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&request_sync_token=true`);
    expect(res.status).toBe(400);
    const message = 'Invalid JSON payload received. Unknown name "request_sync_token": Cannot bind query parameter. Field \'request_sync_token\' could not be found in request message.';
    expect(res.body).toEqual({
      error: {
        code: 400,
        message,
        status: 'INVALID_ARGUMENT',
        details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ description: message }] }],
      },
    });
    // the system parameters every Google API takes are accepted
    expect((await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&prettyPrint=false`)).status).toBe(200);
  });

  it('an expired sync token is a 400 with the EXPIRED_SYNC_TOKEN reason', async () => {
    const u = user();
    const full = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&requestSyncToken=true`);
    u.store.expireSyncTokens();
    const res = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&syncToken=${full.body.nextSyncToken}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        code: 400,
        message: 'Sync token is expired. Clear local cache and retry call without the sync token.',
        status: 'FAILED_PRECONDITION',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'EXPIRED_SYNC_TOKEN', domain: 'people.googleapis.com' }],
      },
    });
  });

  it('tokens expire by age too', async () => {
    const u = user();
    u.store.configure({ syncTokenMaxAgeMs: 0 });
    const full = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&requestSyncToken=true`);
    await new Promise((r) => setTimeout(r, 5));
    const res = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&syncToken=${full.body.nextSyncToken}`);
    expect(res.body.error.details[0].reason).toBe('EXPIRED_SYNC_TOKEN');
  });

  it('updates need the current etag: missing is INVALID_ARGUMENT, stale is FAILED_PRECONDITION; only masked fields change', async () => {
    const u = user();
    const created = await u.call('POST', `/v1/people:createContact?personFields=${FIELDS}`, {
      names: [{ givenName: 'Ada', familyName: 'Lovelace' }],
      emailAddresses: [{ value: 'ada@example.com', type: 'work' }],
    });
    expect(created.status).toBe(200);
    expect(created.body.names[0].displayName).toBe('Ada Lovelace');
    expect(created.body.memberships[0].contactGroupMembership.contactGroupResourceName).toBe('contactGroups/myContacts');
    const path = `/v1/${created.body.resourceName}:updateContact?updatePersonFields=names`;

    const noEtag = await u.call('PATCH', path, { names: [{ givenName: 'X' }] });
    expect(noEtag.status).toBe(400);
    expect(noEtag.body.error.message).toMatch(/Request must set person.etag or person.metadata.sources.etag/);

    const ok = await u.call('PATCH', path, { etag: created.body.etag, names: [{ givenName: 'Augusta' }], emailAddresses: [] });
    expect(ok.status).toBe(200);
    expect(ok.body.names[0].givenName).toBe('Augusta');
    expect(ok.body.emailAddresses[0].value).toBe('ada@example.com');
    expect(ok.body.etag).not.toBe(created.body.etag);

    const stale = await u.call('PATCH', path, { etag: created.body.etag, names: [{ givenName: 'Lost' }] });
    expect(stale.status).toBe(400);
    expect(stale.body.error).toMatchObject({
      status: 'FAILED_PRECONDITION',
      message: 'Request person.etag is different than the current person.etag. Clear local cache and get the latest person.',
    });

    const noGroups = await u.call('PATCH', `/v1/${created.body.resourceName}:updateContact?updatePersonFields=memberships`, {
      etag: ok.body.etag,
      memberships: [],
    });
    expect(noGroups.status).toBe(400);
  });

  it('refuses unknown fields, two names and an impossible birthday with google.rpc error bodies', async () => {
    const u = user();
    const unknown = await u.call('POST', '/v1/people:createContact', { nickname: 'x' });
    expect(unknown.body.error.message).toMatch(/Unknown name "nickname"/);
    const twoNames = await u.call('POST', '/v1/people:createContact', { names: [{ givenName: 'a' }, { givenName: 'b' }] });
    expect(twoNames.status).toBe(400);
    const badDate = await u.call('POST', '/v1/people:createContact', { birthdays: [{ date: { year: 2023, month: 2, day: 30 } }] });
    expect(badDate.body.error.details[0].fieldViolations[0].field).toBe('person.birthdays[0].date');
    expect(u.store.people()).toHaveLength(0);
  });

  it('batchCreateContacts is all or nothing and limited to 200 contacts', async () => {
    const u = user();
    const bad = await u.call('POST', '/v1/people:batchCreateContacts', {
      contacts: [{ contactPerson: { names: [{ givenName: 'ok' }] } }, { contactPerson: { birthdays: [{ date: { month: 13, day: 1 } }] } }],
      readMask: 'names',
    });
    expect(bad.status).toBe(400);
    expect(u.store.people()).toHaveLength(0);
    const tooMany = await u.call('POST', '/v1/people:batchCreateContacts', {
      contacts: Array.from({ length: 201 }, () => ({ contactPerson: {} })),
      readMask: 'names',
    });
    expect(tooMany.status).toBe(400);
    const good = await u.call('POST', '/v1/people:batchCreateContacts', {
      contacts: [{ contactPerson: { names: [{ givenName: 'One' }] } }],
      readMask: 'names',
    });
    expect(good.body.createdPeople[0].person.names[0].givenName).toBe('One');
  });

  it('search answers from a cache the previous request refreshed: a warm-up comes first', async () => {
    const u = user();
    u.store.addPerson({ emailAddresses: [{ value: 'Grace@Navy.example' }] });
    const cold = await u.call('GET', '/v1/people:searchContacts?query=grace&readMask=emailAddresses');
    expect(cold.body.results).toBeUndefined();
    const warm = await u.call('GET', '/v1/people:searchContacts?query=grace%40navy&readMask=emailAddresses');
    expect(warm.body.results).toHaveLength(1);
    const tooBig = await u.call('GET', '/v1/people:searchContacts?query=g&readMask=names&pageSize=31');
    expect(tooBig.status).toBe(400);
  });

  it('401 UNAUTHENTICATED for a bad token; the token endpoint refreshes and refuses a revoked grant', async () => {
    const u = user();
    const res = await u.call('GET', `/v1/people/me/connections?personFields=names`, undefined, 'at-nope');
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED', message: expect.stringMatching(/^Request had invalid authentication credentials/) });

    const { refreshToken } = sandbox.grant(u.name);
    const form = (token: string) =>
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: sandbox.client.clientId, client_secret: sandbox.client.clientSecret });
    const refreshed = await fetch(sandbox.tokenUrl, { method: 'POST', body: form(refreshToken) });
    expect(refreshed.status).toBe(200);
    expect(await refreshed.json()).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number) });
    sandbox.revoke(refreshToken);
    const refused = await fetch(sandbox.tokenUrl, { method: 'POST', body: form(refreshToken) });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('429 RESOURCE_EXHAUSTED with Retry-After, then the next request passes', async () => {
    const u = user();
    u.store.failNext({ status: 429, retryAfterSeconds: 3 });
    const limited = await u.call('GET', '/v1/contactGroups');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(limited.body.error.status).toBe('RESOURCE_EXHAUSTED');
    expect((await u.call('GET', '/v1/contactGroups')).status).toBe(200);
  });

  it('contact groups: system groups exist, a duplicate name is 409, deletions show as tombstones in the feed', async () => {
    const u = user();
    const groups = await u.call('GET', '/v1/contactGroups');
    expect(groups.body.contactGroups.map((g: any) => g.resourceName)).toContain('contactGroups/myContacts');
    expect((await u.call('POST', '/v1/contactGroups', { contactGroup: { name: 'Clients' } })).status).toBe(200);
    const dup = await u.call('POST', '/v1/contactGroups', { contactGroup: { name: 'Clients' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.status).toBe('ALREADY_EXISTS');

    const full = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&requestSyncToken=true`);
    const made = u.store.addPerson({ names: [{ givenName: 'Brief' }] });
    const del = await u.call('DELETE', `/v1/people/${made.id}:deleteContact`);
    expect(del).toMatchObject({ status: 200, body: {} });
    const feed = await u.call('GET', `/v1/people/me/connections?personFields=${FIELDS}&requestSyncToken=true&syncToken=${full.body.nextSyncToken}`);
    expect(feed.body.connections).toEqual([
      { resourceName: `people/${made.id}`, etag: expect.any(String), metadata: expect.objectContaining({ deleted: true }) },
    ]);
    expect((await u.call('GET', `/v1/people/${made.id}?personFields=names`)).status).toBe(404);
  });
});
