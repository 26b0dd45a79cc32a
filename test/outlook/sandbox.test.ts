import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraphSandbox, type GraphSandbox } from '../../sandboxes/outlook';

// The behaviour of Microsoft Graph that the Outlook connector relies on, checked on the sandbox over HTTP.

let sandbox: GraphSandbox;
let counter = 0;

beforeAll(async () => {
  sandbox = await startGraphSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

function user() {
  const name = `box${++counter}`;
  const tokens = sandbox.grant(name);
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(path.startsWith('http') ? path : `${sandbox.graphUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens.accessToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  return { name, tokens, call, mailbox: sandbox.mailbox(name) };
}

const graphError = (code: string) => ({ error: { code, message: expect.any(String), innerError: expect.objectContaining({ 'request-id': expect.any(String) }) } });

describe('Graph sandbox', () => {
  it('refuses a missing or expired token with 401 InvalidAuthenticationToken', async () => {
    const { call, name } = user();
    const none = await fetch(`${sandbox.graphUrl}/me/contacts`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual(graphError('InvalidAuthenticationToken'));
    sandbox.expireAccessTokens(name);
    const expired = await call('GET', '/me/contacts');
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);
  });

  it('renews an access token with the refresh_token grant, and answers invalid_grant once revoked', async () => {
    const { tokens } = user();
    const refresh = () =>
      fetch(sandbox.tokenUrl.replace('/common/', '/contoso.onmicrosoft.com/'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: tokens.refreshToken,
          client_id: sandbox.client.clientId,
          client_secret: sandbox.client.clientSecret,
          scope: 'Contacts.ReadWrite offline_access',
        }),
      });
    const ok = await refresh();
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ token_type: 'Bearer', access_token: expect.stringMatching(/^at-/), expires_in: expect.any(Number) });
    sandbox.revoke(tokens.refreshToken);
    const refused = await refresh();
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('a refresh without scope is refused as the identity platform refuses it (AADSTS90014)', async () => {
    const { tokens } = user();
    const res = await fetch(sandbox.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: sandbox.client.clientId, client_secret: sandbox.client.clientSecret }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request', error_codes: [90014], error_description: expect.stringMatching(/^AADSTS90014: The required field 'scope' is missing/) });
  });

  it('pages a listing with $top and an @odata.nextLink', async () => {
    const { call, mailbox } = user();
    mailbox.seed({ count: 5 });
    const first = await call('GET', '/me/contacts?$top=2');
    expect(first.body.value).toHaveLength(2);
    expect(first.body['@odata.nextLink']).toContain('$skip=2');
    const second = await call('GET', first.body['@odata.nextLink']);
    const third = await call('GET', second.body['@odata.nextLink']);
    expect(third.body.value).toHaveLength(1);
    expect(third.body['@odata.nextLink']).toBeUndefined();
    const ids = [...first.body.value, ...second.body.value, ...third.body.value].map((c: { id: string }) => c.id);
    expect(new Set(ids).size).toBe(5);
  });

  it('creates and lists contact folders; the same name twice is a conflict', async () => {
    const { call } = user();
    const made = await call('POST', '/me/contactFolders', { displayName: 'Rapport' });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ id: expect.stringMatching(/^AAMk/), displayName: 'Rapport' });
    expect((await call('POST', '/me/contactFolders', { displayName: 'rapport' })).body).toEqual(graphError('ErrorFolderExists'));
    expect((await call('GET', '/me/contactFolders')).body.value.map((f: { displayName: string }) => f.displayName)).toEqual(['Rapport']);
    const inFolder = await call('POST', `/me/contactFolders/${made.body.id}/contacts`, { givenName: 'Filed' });
    expect(inFolder.body.parentFolderId).toBe(made.body.id);
    expect((await call('GET', '/me/contacts')).body.value).toEqual([]);
  });

  it('answers Graph error bodies: unknown item, malformed id, unknown property, invalid email', async () => {
    const { call } = user();
    expect(await call('GET', '/me/contacts/AAMkGone')).toMatchObject({ status: 404, body: graphError('ErrorItemNotFound') });
    expect(await call('GET', '/me/contacts/123')).toMatchObject({ status: 400, body: graphError('ErrorInvalidIdMalformed') });
    const unknown = await call('POST', '/me/contacts', { nickname: 'x' });
    expect(unknown).toMatchObject({ status: 400, body: graphError('RequestBodyRead') });
    expect(unknown.body.error.message).toMatch(/The property 'nickname' does not exist/);
    const email = await call('POST', '/me/contacts', { emailAddresses: [{ address: 'x@' }] });
    expect(email).toMatchObject({ status: 400, body: graphError('ErrorInvalidProperty') });
  });

  it('PATCH changes only the given properties, renews the change key, and checks If-Match', async () => {
    const { call } = user();
    const made = (await call('POST', '/me/contacts', { givenName: 'Ada', surname: 'Lovelace', jobTitle: 'CTO' })).body;
    expect(made['@odata.etag']).toBe(`W/"${made.changeKey}"`);
    expect(made.displayName).toBe('Ada Lovelace');
    const patched = await call('PATCH', `/me/contacts/${made.id}`, { surname: 'King' }, { 'if-match': made['@odata.etag'] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ givenName: 'Ada', surname: 'King', jobTitle: 'CTO', displayName: 'Ada King' });
    expect(patched.body.changeKey).not.toBe(made.changeKey);
    const stale = await call('PATCH', `/me/contacts/${made.id}`, { surname: 'Lost' }, { 'if-match': made['@odata.etag'] });
    expect(stale).toMatchObject({ status: 412, body: graphError('ErrorIrresolvableConflict') });
    const staleDelete = await call('DELETE', `/me/contacts/${made.id}`, undefined, { 'if-match': made['@odata.etag'] });
    expect(staleDelete.status).toBe(412);
    expect((await call('DELETE', `/me/contacts/${made.id}`)).status).toBe(204);
  });

  it('delta: an initial round in pages, then only changes with @removed tombstones; an expired token is 410', async () => {
    const { call, mailbox, name } = user();
    const seeded = mailbox.seed({ count: 3 });
    const prefer = { prefer: 'odata.maxpagesize=2' };
    const page1 = await call('GET', `/me/contactFolders/${mailbox.defaultFolderId}/contacts/delta`, undefined, prefer);
    expect(page1.body.value).toHaveLength(2);
    expect(page1.body['@odata.nextLink']).toContain('$skiptoken=');
    const page2 = await call('GET', page1.body['@odata.nextLink'], undefined, prefer);
    expect(page2.body.value).toHaveLength(1);
    const deltaLink = page2.body['@odata.deltaLink'];
    expect(deltaLink).toContain('$deltatoken=');

    mailbox.update(seeded[0].id, { jobTitle: 'Changed' });
    mailbox.remove(seeded[1].id);
    const round = await call('GET', deltaLink);
    expect(round.body.value).toEqual([
      expect.objectContaining({ id: seeded[0].id, jobTitle: 'Changed' }),
      { '@odata.type': '#microsoft.graph.contact', id: seeded[1].id, '@removed': { reason: 'deleted' } },
    ]);
    const next = round.body['@odata.deltaLink'];
    expect((await call('GET', next)).body.value).toEqual([]);

    sandbox.expireDeltaTokens(name);
    expect(await call('GET', next)).toMatchObject({ status: 410, body: graphError('SyncStateNotFound') });
  });

  it('contact delta is served per folder only, as documented; /me/contacts/delta and undocumented options are refused', async () => {
    const { call, mailbox } = user();
    mailbox.seed({ count: 1 });
    const undocumented = await call('GET', '/me/contacts/delta');
    expect(undocumented).toMatchObject({ status: 400, body: graphError('BadRequest') });
    const top = await call('GET', `/me/contactFolders/${mailbox.defaultFolderId}/contacts/delta?$top=5`);
    expect(top).toMatchObject({ status: 400, body: graphError('BadRequest') });
    expect(top.body.error.message).toContain("'$top'");
    const listed = await call('GET', '/me/contacts?$top=1&$select=parentFolderId');
    expect(listed.body.value[0].parentFolderId).toBe(mailbox.defaultFolderId);
    expect((await call('GET', '/me/contacts?$skiptoken=x')).status).toBe(400);
  });

  it('$batch: at most 20 requests, dependsOn fails the rest with 424, throttled items carry Retry-After', async () => {
    const { call, name } = user();
    const tooMany = Array.from({ length: 21 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: '/me/contacts' }));
    expect((await call('POST', '/$batch', { requests: tooMany })).status).toBe(400);

    const chain = await call('POST', '/$batch', {
      requests: [
        { id: '1', method: 'POST', url: '/me/contacts', body: { givenName: 'One' }, headers: { 'Content-Type': 'application/json' } },
        { id: '2', dependsOn: ['1'], method: 'GET', url: '/me/contacts/AAMkMissing' },
        { id: '3', dependsOn: ['2'], method: 'POST', url: '/me/contacts', body: { givenName: 'Three' }, headers: { 'Content-Type': 'application/json' } },
      ],
    });
    expect(chain.status).toBe(200);
    expect(chain.body.responses.map((r: { id: string; status: number }) => [r.id, r.status])).toEqual([
      ['1', 201],
      ['2', 404],
      ['3', 424],
    ]);

    sandbox.failNext(name, { status: 429, retryAfterSeconds: 7 });
    const throttled = await call('POST', '/$batch', { requests: [{ id: '1', method: 'GET', url: '/me/contacts' }] });
    expect(throttled.body.responses[0]).toMatchObject({ status: 429, headers: { 'Retry-After': '7' }, body: graphError('ApplicationThrottled') });
  });

  it('throttles a plain request with 429 and Retry-After', async () => {
    const { call, name } = user();
    sandbox.failNext(name, { status: 429, retryAfterSeconds: 2 });
    const res = await call('GET', '/me/contacts');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.body).toEqual(graphError('ApplicationThrottled'));
    expect((await call('GET', '/me/contacts')).status).toBe(200);
  });
});

describe('Graph sandbox concurrency', () => {
  it('answers 429 ApplicationThrottled beyond the mailbox concurrency limit', async () => {
    const limited = await startGraphSandbox({ maxConcurrentPerMailbox: 1 });
    try {
      const tokens = limited.grant('busy');
      // Two requests at once: the first holds the mailbox while its body is still arriving.
      const slow = new TransformStream<Uint8Array, Uint8Array>();
      const writer = slow.writable.getWriter();
      const first = fetch(`${limited.graphUrl}/me/contacts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.accessToken}`, 'content-type': 'application/json' },
        body: slow.readable,
        duplex: 'half',
      } as RequestInit);
      await writer.write(new TextEncoder().encode('{"givenName":'));
      while (limited.inFlight('busy') < 1) await new Promise((r) => setTimeout(r, 10));
      const second = await fetch(`${limited.graphUrl}/me/contacts`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(((await second.json()) as { error: { code: string } }).error.code).toBe('ApplicationThrottled');
      await writer.write(new TextEncoder().encode('"Slow"}'));
      await writer.close();
      expect((await first).status).toBe(201);
    } finally {
      await limited.close();
    }
  });
});
