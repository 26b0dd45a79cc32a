import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, TransientError } from '../../connectors/errors';
import { hubspotApp } from '../../connectors/hubspot';
import { retryAfterOf } from '../../connectors/hubspot/client';
import { toProperties, toRecord, type FieldCodec } from '../../connectors/hubspot/fields';
import type { Change, Connector } from '../../connectors/types';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../sandboxes/hubspot';
import { connectorContract } from '../contract/connector-contract';

let sandbox: HubSpotSandbox;
let counter = 0;
// Generous limits: these tests poll; the rate-limit tests set their own.
const relaxed = { limits: { tenSecondly: 10_000, searchPerSecond: 1_000 } };

beforeAll(async () => {
  sandbox = await startHubSpotSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

function freshPortal(scope: Record<string, unknown> = {}) {
  const name = `p${++counter}`;
  const portal = sandbox.addAccount(name, relaxed);
  const connect = (credentials: Record<string, string>, extra: Record<string, unknown> = {}): Connector =>
    hubspotApp.connect({ credentials, scope: { baseUrl: sandbox.url, tagsFrom: { property: 'contact_tags' }, ...scope, ...extra } });
  return { name, portal, connector: connect({ accessToken: portal.privateAppToken }), connect };
}

async function readFeed(c: Connector, cursor: string): Promise<{ changes: Change[]; cursor: string }> {
  const changes: Change[] = [];
  let at = cursor;
  for (let guard = 0; guard < 1000; guard++) {
    const set = await c.changesSince(at, 50);
    changes.push(...set.changes);
    at = set.nextCursor;
    if (!set.hasMore) break;
  }
  return { changes, cursor: at };
}

connectorContract('HubSpot', async () => {
  const { connector, connect, name } = freshPortal();
  return {
    connector,
    connectWithBadCredentials: () => ({ connector: connect({ accessToken: 'pat-na1-not-a-token' }), secret: 'pat-na1-not-a-token' }),
    newContact: (i) => ({
      firstname: `Contract${i}`,
      lastname: 'Tester',
      company: 'Contract Co',
      jobtitle: 'Tester',
      email: `contract.tester.${i}@example.com`,
      mobilephone: `+1 555 010 ${String(1000 + i)}`,
    }),
    emailField: 'email',
    textField: 'jobtitle',
    keptField: 'mobilephone',
    invalidContact: { fields: { lastname: 'Broken', email: 'x@' }, message: /Property values were not valid: .*Email address x@ is invalid/ },
    throttleNext: async () => sandbox.failNext(name, 429),
    pageSize: 5,
    close: async () => {},
  };
});

describe('HubSpot mapping', () => {
  const codecs: FieldCodec[] = [
    { def: { key: 'firstname', label: 'First Name', type: 'text' }, multi: false },
    { def: { key: 'hs_email_optout', label: 'Opt-out', type: 'boolean', readOnly: true }, multi: false },
    { def: { key: 'contact_tags', label: 'Tags', type: 'multipicklist' }, multi: true, labels: new Map([['vip_customer', 'VIP']]) },
    { def: { key: 'score', label: 'Score', type: 'number' }, multi: false },
  ];
  const byKey = new Map(codecs.map((c) => [c.def.key, c]));

  it('reads string properties as typed fields, blanks as null, and the modification time as the version', () => {
    const record = toRecord(
      {
        id: '7',
        createdAt: '2024-05-01T10:00:00.000Z',
        updatedAt: '2024-05-02T10:00:00.000Z',
        properties: { firstname: ' ', hs_email_optout: 'true', contact_tags: 'vip_customer;newsletter', score: '12' },
      },
      codecs,
    );
    expect(record).toEqual({
      id: '7',
      version: String(Date.parse('2024-05-02T10:00:00.000Z')),
      fields: { firstname: null, hs_email_optout: true, contact_tags: ['VIP', 'newsletter'], score: 12 },
    });
  });

  it('round-trips: what is written reads back as the same fields; null clears with an empty string', () => {
    const fields = { firstname: 'Ada', contact_tags: ['VIP', 'partner'], score: 3 };
    const wire = toProperties(fields, byKey);
    expect(wire).toEqual({ firstname: 'Ada', contact_tags: 'vip_customer;partner', score: '3' });
    const back = toRecord({ id: '1', createdAt: '', updatedAt: '2024-01-01T00:00:00Z', properties: wire }, codecs);
    expect(back.fields).toMatchObject(fields);
    expect(toProperties({ firstname: null }, byKey)).toEqual({ firstname: '' });
    expect(() => toProperties({ hs_email_optout: true }, byKey)).toThrow(/cannot be written/);
    expect(() => toProperties({ nope: 'x' }, byKey)).toThrow(/no contact property "nope"/);
  });

  it('derives the wait of a 429 from the policy HubSpot names', () => {
    const headers = new Headers({ 'x-hubspot-ratelimit-interval-milliseconds': '10000' });
    expect(retryAfterOf(headers, { policyName: 'TEN_SECONDLY_ROLLING' })).toBe(10_000);
    expect(retryAfterOf(new Headers(), { policyName: 'SECONDLY', message: 'You have reached your secondly limit.' })).toBe(1000);
    expect(retryAfterOf(new Headers({ 'retry-after': '3' }), {})).toBe(3000);
  });
});

describe('HubSpot connector', () => {
  it('lists the catalog with owners by email, the tags property and custom properties', async () => {
    const { portal, connector } = freshPortal();
    portal.addProperty({ name: 'favorite_color', label: 'Favorite color', type: 'enumeration', fieldType: 'select', options: [{ label: 'Red', value: 'red', displayOrder: 0, hidden: false }] });
    const catalog = await connector.fieldCatalog();
    const byKey = new Map(catalog.map((f) => [f.key, f]));
    expect(byKey.get('email')).toMatchObject({ type: 'email', canonical: 'email1' });
    expect(byKey.get('hubspot_owner_id')?.values).toContainEqual({ value: '71000001', label: 'ava@sandbox.test' });
    expect(byKey.get('contact_tags')).toMatchObject({ type: 'multipicklist', canonical: 'tags' });
    expect(byKey.get('hs_email_optout')).toMatchObject({ canonical: 'unsubscribed', readOnly: true });
    expect(byKey.get('favorite_color')).toMatchObject({ type: 'picklist', values: [{ value: 'red', label: 'Red' }] });
    expect(catalog.some((f) => f.requiredOnCreate)).toBe(false);
  });

  it('a retried create updates the contact the first attempt made (upsert by email), never a second one', async () => {
    const { portal, connector } = freshPortal();
    const op = { kind: 'create' as const, ref: 'c', fields: { firstname: 'Once', email: 'Once@Example.com' } };
    const [first] = await connector.write([op]);
    const [again] = await connector.write([op]);
    expect(first.ok && again.ok).toBe(true);
    if (first.ok && again.ok) expect(again.record?.id).toBe(first.record?.id);
    expect(portal.list().filter((c) => c.properties.email === 'once@example.com')).toHaveLength(1);
  });

  it('new tags become options of the tags property; opt-outs read as unsubscribed', async () => {
    const { portal, connector } = freshPortal();
    const [res] = await connector.write([{ kind: 'create', ref: 't', fields: { email: 'tagged@example.com', contact_tags: ['vip', 'Rapport Trash'] } }]);
    expect(res.ok).toBe(true);
    expect(portal.property('contact_tags')?.options.map((o) => o.label)).toContain('Rapport Trash');
    const stored = portal.byEmail('tagged@example.com')!;
    expect(stored.properties.contact_tags).toBe('vip;Rapport Trash');
    portal.edit(stored.id, { hs_email_optout: 'true' });
    expect((await connector.get(stored.id))?.fields).toMatchObject({ contact_tags: ['vip', 'Rapport Trash'], hs_email_optout: true });
  });

  it('a validation error fails only the bad contacts of a batch, with HubSpot’s message; a missing id is not-found', async () => {
    const { portal, connector } = freshPortal();
    const [a, b] = portal.create([{ email: 'a@example.com' }, { email: 'b@example.com' }]);
    const results = await connector.write([
      { kind: 'update', ref: 'ok', id: a.id, fields: { jobtitle: 'Fine' } },
      { kind: 'update', ref: 'bad', id: b.id, fields: { email: 'not-an-email' } },
      { kind: 'update', ref: 'gone', id: '999999', fields: { jobtitle: 'Nobody' } },
      { kind: 'create', ref: 'new', fields: { email: 'c@example.com', lifecyclestage: 'nonsense' } },
    ]);
    expect(results[0]).toMatchObject({ ref: 'ok', ok: true, record: { fields: { jobtitle: 'Fine' } } });
    expect(results[1]).toMatchObject({ ref: 'bad', ok: false, error: { kind: 'contact', status: 400, code: 'VALIDATION_ERROR', field: 'email' } });
    expect((results[1] as { error: { message: string } }).error.message).toMatch(/Email address not-an-email is invalid/);
    expect(results[2]).toMatchObject({ ref: 'gone', ok: false, error: { kind: 'not-found' } });
    // lifecyclestage is no catalog field of this connector: refused before any request
    expect(results[3]).toMatchObject({ ref: 'new', ok: false, error: { kind: 'contact' } });
  });

  it('the feed reports each change once and slides past the 10,000-result cap; archived contacts are left to the reconcile', async () => {
    const { portal, connector } = freshPortal();
    portal.configure({ searchCap: 7 });
    const start = await connector.currentCursor();
    const made = portal.create(Array.from({ length: 20 }, (_, i) => ({ email: `feed${i}@example.com`, firstname: `F${i}` })));
    const first = await readFeed(connector, start);
    expect(first.changes.filter((c) => !c.deleted).map((c) => (c.deleted ? '' : c.record.id)).sort()).toEqual(made.map((c) => c.id).sort());

    portal.edit(made[3].id, { firstname: 'Edited' });
    portal.archive([made[4].id]);
    const second = await readFeed(connector, first.cursor);
    expect(second.changes).toEqual([
      { deleted: false, record: expect.objectContaining({ id: made[3].id, fields: expect.objectContaining({ firstname: 'Edited' }) }) },
    ]);
    expect((await readFeed(connector, second.cursor)).changes).toEqual([]);
  });

  it('a quiet cycle costs one search, however many contacts are archived', async () => {
    const { portal, connector } = freshPortal();
    const made = portal.create(Array.from({ length: 250 }, (_, i) => ({ email: `gone${i}@example.com` })));
    portal.archive(made.map((c) => c.id));
    const cursor = await connector.currentCursor();
    const before = portal.stats.requests;
    expect((await readFeed(connector, cursor)).changes).toEqual([]);
    expect(portal.stats.requests - before).toBe(1);
  });

  it('a change the search index shows late is still reported (the cycle re-reads an overlap)', async () => {
    const { portal, connector } = freshPortal();
    const [early] = portal.create([{ email: 'early@example.com' }]);
    const cursor = await connector.currentCursor();
    portal.configure({ indexLagMs: 400 });
    portal.edit(early.id, { firstname: 'Late' });
    portal.configure({ indexLagMs: 0 });
    const [other] = portal.create([{ email: 'other@example.com' }]);
    const first = await readFeed(connector, cursor);
    expect(first.changes.map((c) => (c.deleted ? c.id : c.record.id))).toEqual([other.id]);
    await new Promise((r) => setTimeout(r, 450));
    const second = await readFeed(connector, first.cursor);
    expect(second.changes).toEqual([{ deleted: false, record: expect.objectContaining({ id: early.id, fields: expect.objectContaining({ firstname: 'Late' }) }) }]);
  });

  it('rate limits: the ten-second window and the search window are TransientErrors with a wait', async () => {
    const { portal, connector } = freshPortal();
    portal.configure({ limits: { tenSecondly: 2, searchPerSecond: 1 } });
    const res = await fetch(`${sandbox.url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${portal.privateAppToken}` } });
    expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('2');
    expect(res.headers.get('x-hubspot-ratelimit-remaining')).toBe('1');
    await fetch(`${sandbox.url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${portal.privateAppToken}` } });
    const limited = await fetch(`${sandbox.url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${portal.privateAppToken}` } });
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING', message: 'You have reached your ten_secondly_rolling limit.' });
    const err = await connector.get('101').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ status: 429, retryAfterMs: 10_000 });

    portal.configure({ limits: { tenSecondly: 10_000 } });
    await connector.fieldCatalog();
    await connector.currentCursor().catch(() => undefined);
    const search = await connector.currentCursor().catch((e: unknown) => e);
    expect(search).toMatchObject({ status: 429, retryAfterMs: 1000 });
  });

  it('a token without the write scope is an AuthError naming the scope; a 5xx is transient', async () => {
    const { portal, connector, name } = freshPortal();
    portal.configure({ scopes: ['crm.objects.contacts.read'] });
    const err = await connector.write([{ kind: 'create', ref: 'x', fields: { email: 'x@example.com' } }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/crm\.objects\.contacts\.write/);
    sandbox.failNext(name, 502);
    expect(await connector.listPage(null, 5).catch((e: unknown) => e)).toBeInstanceOf(TransientError);
  });

  it('OAuth: an expired access token is refreshed and the new one stored; a revoked refresh token is an AuthError', async () => {
    const { name, portal } = freshPortal();
    portal.create([{ email: 'oauth@example.com', hubspot_owner_id: '71000002' }, { email: 'notmine@example.com', hubspot_owner_id: '71000003' }]);
    const grant = sandbox.grantOAuth(name, 'marco@sandbox.test');
    const saved: Record<string, string>[] = [];
    const connect = (owner: 'mine' | 'all') =>
      hubspotApp.connect({
        credentials: { ...grant },
        scope: { baseUrl: sandbox.url, owner },
        saveCredentials: async (changed) => void saved.push(changed),
      });
    const mine = connect('mine');
    const page = await mine.listPage(null, 10);
    expect(page.records.map((r) => r.fields.email)).toEqual(['oauth@example.com']);

    sandbox.expireTokens(name);
    expect((await mine.listPage(null, 10)).records).toHaveLength(1);
    expect(saved.at(-1)?.accessToken).toMatch(/^at-/);
    expect(saved.at(-1)?.accessToken).not.toBe(grant.accessToken);

    sandbox.revoke(grant.refreshToken);
    const err = await connect('all').listPage(null, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).not.toContain(grant.refreshToken);
  });

  it('refuses a private-app token with owner "mine", and lists as tags', () => {
    const { connect, portal } = freshPortal();
    return Promise.all([
      expect(connect({ accessToken: portal.privateAppToken }, { owner: 'mine' }).listPage(null, 5)).rejects.toBeInstanceOf(ConfigError),
      expect(() => connect({ accessToken: portal.privateAppToken }, { tagsFrom: { list: 'x' } })).toThrow(ConfigError),
    ]);
  });
});
