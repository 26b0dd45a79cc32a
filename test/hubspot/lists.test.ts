import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedExpiredError } from '../../connectors/errors';
import { hubspotApp } from '../../connectors/hubspot';
import { decodeMembers, encodeMembers } from '../../connectors/hubspot/lists';
import type { Change, Connector } from '../../connectors/types';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../sandboxes/hubspot';

// HubSpot lists as tags: a contact's tags are the names of its lists in scope.

let sandbox: HubSpotSandbox;
let counter = 0;
const relaxed = { limits: { tenSecondly: 10_000, searchPerSecond: 1_000 } };

beforeAll(async () => {
  sandbox = await startHubSpotSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

function freshPortal(lists: 'all' | string[] = 'all') {
  const portal = sandbox.addAccount(`l${++counter}`, relaxed);
  const connect = (): Connector =>
    hubspotApp.connect({ credentials: { accessToken: portal.privateAppToken }, scope: { baseUrl: sandbox.url, tagsFrom: { lists } } });
  return { portal, connector: connect(), connect };
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

const ids = (changes: Change[]) => changes.map((c) => (c.deleted ? `x${c.id}` : c.record.id)).sort();

describe('HubSpot lists as tags', () => {
  it('reads the names of a contact’s lists as its tags, from one membership index', async () => {
    const { portal, connector } = freshPortal();
    const [a, b, c] = portal.create([{ email: 'a@example.com', jobtitle: 'Chef' }, { email: 'b@example.com' }, { email: 'c@example.com' }]);
    const vip = portal.createList({ name: 'VIP', objectTypeId: '0-1', processingType: 'MANUAL' });
    const partners = portal.createList({ name: 'Partners', objectTypeId: '0-1', processingType: 'SNAPSHOT' });
    portal.createList({ name: 'Chefs', objectTypeId: '0-1', processingType: 'DYNAMIC' }, (x) => x.properties.jobtitle === 'Chef');
    portal.changeMemberships(vip.listId, [a.id, b.id], []);
    portal.changeMemberships(partners.listId, [a.id], []);

    const catalog = await connector.fieldCatalog();
    expect(catalog.find((f) => f.canonical === 'tags')).toMatchObject({ key: 'lists', type: 'multipicklist' });
    const before = portal.stats.requests;
    const page = await connector.listPage(null, 10);
    const tags = new Map(page.records.map((r) => [r.id, r.fields.lists]));
    expect(tags.get(a.id)).toEqual(['Chefs', 'Partners', 'VIP']);
    expect(tags.get(b.id)).toEqual(['VIP']);
    expect(tags.get(c.id)).toBeNull();
    // list page + total search + one list search + one membership page per list; nothing per contact
    expect(portal.stats.requests - before).toBeLessThanOrEqual(6);
  });

  it('named lists: only those are tags, and the catalog offers only their names', async () => {
    const { portal, connector } = freshPortal(['VIP']);
    const [a] = portal.create([{ email: 'a@example.com' }]);
    for (const name of ['VIP', 'Other']) {
      const l = portal.createList({ name, objectTypeId: '0-1', processingType: 'MANUAL' });
      portal.changeMemberships(l.listId, [a.id], []);
    }
    expect((await connector.get(a.id))?.fields.lists).toEqual(['VIP']);
    expect((await connector.fieldCatalog()).find((f) => f.key === 'lists')?.values).toEqual([{ value: 'VIP', label: 'VIP' }]);
  });

  it('writes tags as memberships: adds, removes, and creates a manual list for a new tag', async () => {
    const { portal, connector } = freshPortal();
    const [a] = portal.create([{ email: 'a@example.com' }]);
    const vip = portal.createList({ name: 'VIP', objectTypeId: '0-1', processingType: 'MANUAL' });
    const old = portal.createList({ name: 'Old', objectTypeId: '0-1', processingType: 'MANUAL' });
    portal.changeMemberships(old.listId, [a.id], []);
    const modified = portal.get(a.id)!.updatedAt;

    const [res] = await connector.write([{ kind: 'update', ref: 'u', id: a.id, fields: { lists: ['vip', 'Rapport Trash'] } }]);
    expect(res).toMatchObject({ ok: true, record: { id: a.id, fields: { lists: ['Rapport Trash', 'VIP'] } } });
    expect(portal.listsOf(a.id)).toEqual(['Rapport Trash', 'VIP']);
    expect(portal.listByName('Rapport Trash')?.processingType).toBe('MANUAL');
    expect(vip.members.has(a.id)).toBe(true);
    expect(old.members.has(a.id)).toBe(false);
    // Only memberships changed: the contact itself was not written.
    expect(portal.get(a.id)!.updatedAt).toBe(modified);

    const [created] = await connector.write([{ kind: 'create', ref: 'c', fields: { email: 'new@example.com', firstname: 'New', lists: ['Rapport Unsubscribes'] } }]);
    expect(created).toMatchObject({ ok: true, record: { fields: { firstname: 'New', lists: ['Rapport Unsubscribes'] } } });
    expect(portal.listsOf(portal.byEmail('new@example.com')!.id)).toEqual(['Rapport Unsubscribes']);
    expect(portal.allLists().filter((l) => l.name === 'Rapport Trash')).toHaveLength(1);
  });

  it('dynamic lists are read but never written', async () => {
    const { portal, connector } = freshPortal();
    const [a, b] = portal.create([{ email: 'a@example.com', jobtitle: 'Chef' }, { email: 'b@example.com' }]);
    const chefs = portal.createList({ name: 'Chefs', objectTypeId: '0-1', processingType: 'DYNAMIC' }, (x) => x.properties.jobtitle === 'Chef');
    const results = await connector.write([
      { kind: 'update', ref: 'drop', id: a.id, fields: { lists: [] } },
      { kind: 'update', ref: 'join', id: b.id, fields: { lists: ['Chefs'] } },
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results[0]).toMatchObject({ record: { fields: { lists: ['Chefs'] } } });
    expect(results[1]).toMatchObject({ record: { fields: { lists: null } } });
    expect([...portal.listById(chefs.listId)!.members.keys()]).toEqual([a.id]);
    // the sandbox refuses such writes as HubSpot does
    expect(() => portal.changeMemberships(chefs.listId, [b.id], [])).toThrow(/DYNAMIC/);
  });

  it('the feed reports membership changes, which do not move lastmodifieddate', async () => {
    const { portal, connector } = freshPortal();
    const [a, b, c] = portal.create([{ email: 'a@example.com' }, { email: 'b@example.com' }, { email: 'c@example.com' }]);
    const vip = portal.createList({ name: 'VIP', objectTypeId: '0-1', processingType: 'MANUAL' });
    portal.changeMemberships(vip.listId, [a.id], []);
    const first = await readFeed(connector, await connector.currentCursor());
    expect(first.changes).toEqual([]);

    const modified = portal.get(b.id)!.updatedAt;
    portal.changeMemberships(vip.listId, [b.id], [a.id]);
    expect(portal.get(b.id)!.updatedAt).toBe(modified);
    const second = await readFeed(connector, first.cursor);
    expect(ids(second.changes)).toEqual([a.id, b.id].sort());
    const byId = new Map(second.changes.map((ch) => (ch.deleted ? [ch.id, null] : [ch.record.id, ch.record.fields.lists])));
    expect(byId.get(a.id)).toBeNull();
    expect(byId.get(b.id)).toEqual(['VIP']);

    // a new list, a renamed one and a deleted one all move tags
    const news = portal.createList({ name: 'News', objectTypeId: '0-1', processingType: 'MANUAL' });
    portal.changeMemberships(news.listId, [c.id], []);
    const third = await readFeed(connector, second.cursor);
    expect(ids(third.changes)).toEqual([c.id]);
    portal.listById(vip.listId)!.name = 'Very Important';
    const fourth = await readFeed(connector, third.cursor);
    expect(fourth.changes).toEqual([{ deleted: false, record: expect.objectContaining({ id: b.id, fields: expect.objectContaining({ lists: ['Very Important'] }) }) }]);
    expect((await readFeed(connector, fourth.cursor)).changes).toEqual([]);
  });

  it('reads only the lists whose size or add/remove times moved', async () => {
    const { portal, connector } = freshPortal();
    const [a] = portal.create([{ email: 'a@example.com' }]);
    for (let i = 0; i < 5; i++) portal.createList({ name: `L${i}`, objectTypeId: '0-1', processingType: 'MANUAL' });
    const cursor = (await readFeed(connector, await connector.currentCursor())).cursor;
    portal.changeMemberships(portal.listByName('L3')!.listId, [a.id], []);
    const before = portal.stats.requests;
    const next = await readFeed(connector, cursor);
    expect(ids(next.changes)).toEqual([a.id]);
    // search, list search, one membership page, batch read
    expect(portal.stats.requests - before).toBe(4);
  });

  it('beyond what a cursor can remember, a changed list asks for a full re-scan', async () => {
    const { portal, connector } = freshPortal();
    const made = portal.create(Array.from({ length: 3 }, (_, i) => ({ email: `m${i}@example.com` })));
    const big = portal.createList({ name: 'Big', objectTypeId: '0-1', processingType: 'MANUAL' });
    portal.changeMemberships(big.listId, made.map((c) => c.id), []);
    const { MAX_TRACKED_MEMBERS } = await import('../../connectors/hubspot/lists');
    // a snapshot without members stands for one above MAX_TRACKED_MEMBERS
    const cursor = await connector.currentCursor();
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    delete state.lists[big.listId].m;
    const trimmed = Buffer.from(JSON.stringify(state)).toString('base64url');
    expect(MAX_TRACKED_MEMBERS).toBeGreaterThan(0);
    portal.changeMemberships(big.listId, [], [made[0].id]);
    await expect(readFeed(connector, trimmed)).rejects.toBeInstanceOf(FeedExpiredError);
  });

  it('encodes member ids compactly and back', () => {
    const members = ['101', '5', '100000', '102'];
    expect([...decodeMembers(encodeMembers(members))].sort()).toEqual([...members].sort());
    expect([...decodeMembers(encodeMembers(['a-1', 'b']))]).toEqual(['a-1', 'b']);
    expect(decodeMembers(encodeMembers([])).size).toBe(0);
  });

  it('the sandbox serves the Lists API shapes over HTTP, within the rate limit', async () => {
    const { portal } = freshPortal();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${sandbox.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${portal.privateAppToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    };
    const [a] = portal.create([{ email: 'a@example.com' }]);
    const made = await call('POST', '/crm/v3/lists', { name: 'Friends', objectTypeId: '0-1', processingType: 'MANUAL' });
    expect(made.status).toBe(200);
    expect(made.body.list).toMatchObject({ name: 'Friends', processingType: 'MANUAL', objectTypeId: '0-1', listId: expect.any(String) });
    expect((await call('POST', '/crm/v3/lists', { name: 'friends', objectTypeId: '0-1', processingType: 'MANUAL' })).status).toBe(409);
    const id = made.body.list.listId as string;
    const changed = await call('PUT', `/crm/v3/lists/${id}/memberships/add-and-remove`, { recordIdsToAdd: [a.id, '999999'], recordIdsToRemove: [] });
    expect(changed.body).toEqual({ recordIdsRemoved: [], recordsIdsAdded: [a.id], recordIdsMissing: ['999999'] });
    const members = await call('GET', `/crm/v3/lists/${id}/memberships?limit=250`);
    expect(members.body.results).toEqual([{ recordId: a.id, membershipTimestamp: expect.any(String) }]);
    expect((await call('GET', `/crm/v3/lists/${id}/memberships?limit=251`)).status).toBe(400);
    const found = await call('POST', '/crm/v3/lists/search', { query: 'fri', count: 10 });
    expect(found.body).toMatchObject({ total: 1, hasMore: false, lists: [{ name: 'Friends', additionalProperties: { hs_list_size: '1' } }] });
    expect(found.headers.get('x-hubspot-ratelimit-max')).toBe('10000');
    expect((await call('GET', '/crm/v3/lists/424242')).status).toBe(404);
    portal.configure({ scopes: ['crm.objects.contacts.read', 'crm.lists.read'] });
    expect((await call('PUT', `/crm/v3/lists/${id}/memberships/add-and-remove`, { recordIdsToAdd: [a.id] })).body).toMatchObject({ category: 'MISSING_SCOPES' });
  });
});
