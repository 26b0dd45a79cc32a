import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, FeedExpiredError, TransientError } from '../../connectors/errors';
import { googleApp } from '../../connectors/google';
import type { Account, Connector } from '../../connectors/types';
import { startGoogleSandbox, type GoogleAccount, type GoogleSandbox } from '../../sandboxes/google';
import { connectorContract } from '../contract/connector-contract';

let sandbox: GoogleSandbox;
let counter = 0;

beforeAll(async () => {
  sandbox = await startGoogleSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

interface Fresh {
  name: string;
  store: GoogleAccount;
  account: Account;
  saved: Record<string, string>[];
  connector: Connector;
  connect(changes?: Partial<Account>): Connector;
}

/** A fresh, empty Google account per test, with the credentials a user's consent gives. */
function freshAccount(scope: Record<string, unknown> = {}, options: Record<string, unknown> = {}): Fresh {
  const name = `g${++counter}`;
  const store = sandbox.account(name);
  const saved: Record<string, string>[] = [];
  const account: Account = {
    credentials: sandbox.credentials(name),
    scope: { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl, ...scope },
    options,
    saveCredentials: async (changed) => {
      saved.push(changed);
    },
  };
  const connect = (changes: Partial<Account> = {}) => googleApp.connect({ ...account, ...changes });
  return { name, store, account, saved, connector: connect(), connect };
}

connectorContract('Google', async () => {
  const { connector, connect, account, store } = freshAccount();
  store.configure({ pageSizeCap: 5 });
  return {
    connector,
    connectWithBadCredentials: () => {
      const secret = 'rt-revoked-or-never-issued';
      return { connector: connect({ credentials: { ...account.credentials, accessToken: 'at-bogus', refreshToken: secret } }), secret };
    },
    newContact: (i) => ({
      'names.givenName': `Contract${i}`,
      'names.familyName': 'Tester',
      'organizations.name': 'Contract Co',
      'organizations.title': 'Tester',
      'emailAddresses.0': `Contract.Tester.${i}@Example.com`,
      'phoneNumbers.mobile': `+1 555 010 ${String(1000 + i)}`,
    }),
    emailField: 'emailAddresses.0',
    textField: 'organizations.title',
    keptField: 'phoneNumbers.mobile',
    invalidContact: { fields: { 'names.familyName': 'Broken', birthdays: '2023-02-30' }, message: /invalid argument.*birthdays\[0\]\.date: Invalid date/ },
    throttleNext: async () => store.failNext({ status: 429, retryAfterSeconds: 2 }),
    pageSize: 5,
    close: async () => {},
  };
});

describe('Google connector', () => {
  let g: Fresh;
  beforeEach(() => {
    g = freshAccount();
  });

  it('flattens a person onto catalog keys: emails by position, phones by type, labels as tags', async () => {
    const vip = g.store.createGroup('VIP');
    const person = g.store.addPerson({
      names: [{ givenName: 'Ada', familyName: 'Lovelace' }],
      emailAddresses: [
        { value: 'ada@home.example', type: 'home' },
        { value: 'ada@work.example', type: 'work' },
      ],
      phoneNumbers: [
        { value: '+44 20 7946 0958', type: 'work' },
        { value: '555-010-2000', type: 'mobile' },
        { value: '555-010-2001', type: 'pager' },
      ],
      organizations: [{ name: 'Analytical Engines', title: 'Programmer', department: 'R&D' }],
      addresses: [{ type: 'home', city: 'London', country: 'United Kingdom', countryCode: 'GB' }],
      birthdays: [{ date: { year: 1815, month: 12, day: 10 } }],
      biographies: [{ value: 'First programmer', contentType: 'TEXT_PLAIN' }],
      urls: [{ value: 'https://ada.example', type: 'homePage' }],
      memberships: [
        { contactGroupMembership: { contactGroupResourceName: 'contactGroups/myContacts' } },
        { contactGroupMembership: { contactGroupResourceName: `contactGroups/${vip.id}` } },
      ],
    });
    const record = await g.connector.get(`people/${person.id}`);
    expect(record).toEqual({
      id: `people/${person.id}`,
      version: person.etag,
      fields: {
        'names.givenName': 'Ada',
        'names.middleName': null,
        'names.familyName': 'Lovelace',
        'organizations.name': 'Analytical Engines',
        'organizations.title': 'Programmer',
        'organizations.department': 'R&D',
        'emailAddresses.0': 'ada@home.example',
        'emailAddresses.1': 'ada@work.example',
        'emailAddresses.2': null,
        'emailAddresses.3': null,
        'emailAddresses.4': null,
        'phoneNumbers.mobile': '555-010-2000',
        'phoneNumbers.work': '+44 20 7946 0958',
        'phoneNumbers.home': null,
        'phoneNumbers.other': null,
        'phoneNumbers.workFax': null,
        'addresses.streetAddress': null,
        'addresses.city': 'London',
        'addresses.region': null,
        'addresses.postalCode': null,
        'addresses.country': 'United Kingdom',
        'urls.0': 'https://ada.example',
        birthdays: '1815-12-10',
        biographies: 'First programmer',
        memberships: ['VIP'],
      },
    });
  });

  it('writing one email slot, one phone or one address part keeps the rest of each list', async () => {
    const person = g.store.addPerson({
      emailAddresses: [
        { value: 'one@example.com', type: 'work' },
        { value: 'two@example.com', type: 'home' },
        { value: 'three@example.com', type: 'other' },
        { value: 'four@example.com', type: 'other' },
        { value: 'five@example.com', type: 'other' },
        { value: 'six@example.com', type: 'other' },
      ],
      phoneNumbers: [
        { value: '555-010-1000', type: 'mobile' },
        { value: '555-010-1001', type: 'work' },
        { value: '555-010-1002', type: 'pager' },
      ],
      addresses: [
        { type: 'work', streetAddress: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'United States', countryCode: 'US' },
        { type: 'home', city: 'Shelbyville' },
      ],
    });
    const [result] = await g.connector.write([
      {
        kind: 'update',
        ref: 'r',
        id: `people/${person.id}`,
        version: person.etag,
        fields: { 'emailAddresses.1': 'second@example.com', 'phoneNumbers.work': '+1 555 010 9999', 'addresses.country': 'USA' },
      },
    ]);
    expect(result.ok).toBe(true);
    const stored = g.store.find(person.id)!.data;
    expect(stored.emailAddresses!.map((e) => e.value)).toEqual([
      'one@example.com',
      'second@example.com',
      'three@example.com',
      'four@example.com',
      'five@example.com',
      'six@example.com',
    ]);
    expect(stored.emailAddresses![1].type).toBe('home');
    expect(stored.phoneNumbers).toEqual([
      { value: '555-010-1000', type: 'mobile' },
      { value: '+1 555 010 9999', type: 'work' },
      { value: '555-010-1002', type: 'pager' },
    ]);
    // the country changed, so the stale country code is gone; the second address is untouched
    expect(stored.addresses).toEqual([
      { type: 'work', streetAddress: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'USA' },
      { type: 'home', city: 'Shelbyville' },
    ]);
  });

  it('a user edit between the engine’s read and its write is a conflict, not a lost update', async () => {
    const person = g.store.addPerson({ names: [{ givenName: 'Before' }], emailAddresses: [{ value: 'a@example.com' }] });
    g.store.editPerson(person.id, { names: [{ givenName: 'User edit' }] });
    const [result] = await g.connector.write([
      { kind: 'update', ref: 'r', id: `people/${person.id}`, version: person.etag, fields: { 'names.givenName': 'Engine' } },
    ]);
    expect(result).toMatchObject({ ok: false, error: { kind: 'conflict' } });
    expect(g.store.find(person.id)!.data.names).toEqual([{ givenName: 'User edit' }]);
  });

  it('writing tags creates missing contact groups and keeps My Contacts and the other system groups', async () => {
    const person = g.store.addPerson({
      emailAddresses: [{ value: 't@example.com' }],
      memberships: [
        { contactGroupMembership: { contactGroupResourceName: 'contactGroups/myContacts' } },
        { contactGroupMembership: { contactGroupResourceName: 'contactGroups/starred' } },
      ],
    });
    const [result] = await g.connector.write([
      { kind: 'update', ref: 'r', id: `people/${person.id}`, fields: { memberships: ['customer', 'Rapport Trash'] } },
    ]);
    expect(result).toMatchObject({ ok: true, record: { fields: { memberships: ['customer', 'Rapport Trash'] } } });
    const names = g.store.groupList().filter((x) => x.groupType === 'USER_CONTACT_GROUP').map((x) => x.name);
    expect(names.sort()).toEqual(['Rapport Trash', 'customer']);
    const groupIds = g.store.find(person.id)!.data.memberships!.map((m) => (m.contactGroupMembership as any).contactGroupResourceName);
    expect(groupIds).toEqual(expect.arrayContaining(['contactGroups/myContacts', 'contactGroups/starred']));
    expect(groupIds).toHaveLength(4);

    // removing one tag keeps the other and the system groups
    const [again] = await g.connector.write([{ kind: 'update', ref: 'r2', id: `people/${person.id}`, fields: { memberships: ['customer'] } }]);
    expect(again).toMatchObject({ ok: true, record: { fields: { memberships: ['customer'] } } });
    expect(g.store.find(person.id)!.data.memberships).toHaveLength(3);
  });

  it('scoped to a contact group: lists only its members, creates into it (and into My Contacts by default)', async () => {
    const clients = g.store.createGroup('Clients');
    g.store.addPerson({ names: [{ givenName: 'Outside' }], emailAddresses: [{ value: 'out@example.com' }] });
    const inside = g.store.addPerson({
      names: [{ givenName: 'Inside' }],
      emailAddresses: [{ value: 'in@example.com' }],
      memberships: [{ contactGroupMembership: { contactGroupResourceName: `contactGroups/${clients.id}` } }],
    });
    const byName = g.connect({ scope: { ...g.account.scope, contactGroup: 'clients' } });
    const page = await byName.listPage(null, 50);
    expect(page.records.map((r) => r.id)).toEqual([`people/${inside.id}`]);
    expect(page.total).toBe(1);
    // the scope's own group is not a tag
    expect(page.records[0].fields.memberships).toBeNull();

    const [made] = await byName.write([{ kind: 'create', ref: 'c', fields: { 'emailAddresses.0': 'new@example.com' } }]);
    expect(made.ok).toBe(true);
    const created = g.store.people().find((p) => p.data.emailAddresses?.[0].value === 'new@example.com')!;
    expect(created.data.memberships!.map((m) => (m.contactGroupMembership as any).contactGroupResourceName).sort()).toEqual(
      [`contactGroups/${clients.id}`, 'contactGroups/myContacts'].sort(),
    );

    const onlyGroup = g.connect({ scope: { ...g.account.scope, contactGroup: `contactGroups/${clients.id}` }, options: { alsoAddToMyContacts: false } });
    await onlyGroup.write([{ kind: 'create', ref: 'c', fields: { 'emailAddresses.0': 'only@example.com' } }]);
    const only = g.store.people().find((p) => p.data.emailAddresses?.[0].value === 'only@example.com')!;
    expect(only.data.memberships).toEqual([{ contactGroupMembership: { contactGroupResourceName: `contactGroups/${clients.id}` } }]);

    const missing = g.connect({ scope: { ...g.account.scope, contactGroup: 'Nope' } });
    await expect(missing.listPage(null, 10)).rejects.toBeInstanceOf(ConfigError);
  });

  it('a contact that leaves the scope group shows as deleted in the feed', async () => {
    const clients = g.store.createGroup('Clients');
    const member = [{ contactGroupMembership: { contactGroupResourceName: `contactGroups/${clients.id}` } }];
    const person = g.store.addPerson({ emailAddresses: [{ value: 'leaver@example.com' }], memberships: member });
    const scoped = g.connect({ scope: { ...g.account.scope, contactGroup: 'Clients' } });
    const cursor = await scoped.currentCursor();
    g.store.editPerson(person.id, { memberships: [{ contactGroupMembership: { contactGroupResourceName: 'contactGroups/myContacts' } }] });
    const set = await scoped.changesSince(cursor, 100);
    expect(set.changes).toEqual([{ deleted: true, id: `people/${person.id}` }]);
  });

  it('each incremental cycle gets a new sync token: a change is reported once, not again in the next cycle', async () => {
    const cursor = await g.connector.currentCursor();
    const [made] = g.store.seed({ count: 1 });
    const first = await g.connector.changesSince(cursor, 100);
    expect(first.changes.map((c) => (c.deleted ? c.id : c.record.id))).toEqual([`people/${made.id}`]);
    expect(first.nextCursor).not.toBe(cursor);
    const second = await g.connector.changesSince(first.nextCursor, 100);
    expect(second.changes).toEqual([]);
  });

  it('an expired sync token is FeedExpiredError', async () => {
    const cursor = await g.connector.currentCursor();
    g.store.expireSyncTokens();
    await expect(g.connector.changesSince(cursor, 100)).rejects.toBeInstanceOf(FeedExpiredError);
    // a token from a fresh listing works again
    await expect(g.connector.changesSince(await g.connector.currentCursor(), 100)).resolves.toMatchObject({ changes: [] });
  });

  it('the feed pages through a large change set and reports deletions as metadata.deleted', async () => {
    g.store.configure({ pageSizeCap: 3 });
    const cursor = await g.connector.currentCursor();
    const made = g.store.seed({ count: 7 });
    g.store.removePerson(made[0].id);
    const seen: string[] = [];
    const deleted: string[] = [];
    let at = cursor;
    let pages = 0;
    for (;;) {
      const set = await g.connector.changesSince(at, 100);
      pages++;
      for (const ch of set.changes) (ch.deleted ? deleted : seen).push(ch.deleted ? ch.id : ch.record.id);
      at = set.nextCursor;
      if (!set.hasMore) break;
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(deleted).toEqual([`people/${made[0].id}`]);
    expect(seen.sort()).toEqual(made.slice(1).map((p) => `people/${p.id}`).sort());
    expect((await g.connector.changesSince(at, 100)).changes).toEqual([]);
  });

  it('with a propagation delay, a new contact reaches listings only after some reads; get sees it at once', async () => {
    g.store.configure({ propagationReads: 2 });
    const [made] = await g.connector.write([{ kind: 'create', ref: 'c', fields: { 'emailAddresses.0': 'slow@example.com' } }]);
    expect(made.ok).toBe(true);
    const id = made.ok ? made.record!.id : '';
    expect(await g.connector.get(id)).not.toBeNull();
    const sizes: number[] = [];
    for (let i = 0; i < 3; i++) sizes.push((await g.connector.listPage(null, 10)).records.length);
    expect(sizes).toEqual([0, 0, 1]);
  });

  it('an expired access token is refreshed and the renewed token saved; a revoked refresh token is AuthError', async () => {
    g.store.addPerson({ emailAddresses: [{ value: 'x@example.com' }] });
    sandbox.expireAccessTokens(g.name);
    const page = await g.connector.listPage(null, 10);
    expect(page.records).toHaveLength(1);
    expect(g.saved).toHaveLength(1);
    expect(g.saved[0].accessToken).toMatch(/^at-/);
    expect(g.saved[0].accessToken).not.toBe(g.account.credentials.accessToken);
    expect(Date.parse(g.saved[0].expiresAt)).toBeGreaterThan(Date.now());

    sandbox.revoke(g.account.credentials.refreshToken);
    const fresh = g.connect();
    const err = await fresh.listPage(null, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe('invalid_grant');
  });

  it('429 RESOURCE_EXHAUSTED and 503 are transient; the quota error carries Retry-After', async () => {
    g.store.failNext({ status: 429, retryAfterSeconds: 7 });
    const quota = await g.connector.listPage(null, 10).catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(TransientError);
    expect(quota).toMatchObject({ status: 429, retryAfterMs: 7000, code: 'RATE_LIMIT_EXCEEDED' });
    expect((quota as Error).message).toMatch(/Quota exceeded/);
    g.store.failNext({ status: 503 });
    await expect(g.connector.currentCursor()).rejects.toBeInstanceOf(TransientError);
  });

  it('the per-minute quota answers 429 with a Retry-After', async () => {
    g.store.configure({ maxRequestsPerMinute: 3 });
    await g.connector.listPage(null, 10); // groups, list, scope group: the quota is spent
    const err = await g.connector.currentCursor().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429 });
    expect((err as TransientError).retryAfterMs).toBeGreaterThan(0);
  });

  it('one invalid contact in a batch fails alone; a missing contact in a batch delete fails alone', async () => {
    const results = await g.connector.write([
      { kind: 'create', ref: 'a', fields: { 'emailAddresses.0': 'a@example.com' } },
      { kind: 'create', ref: 'bad', fields: { birthdays: '1990-13-01' } },
      { kind: 'create', ref: 'b', fields: { 'emailAddresses.0': 'b@example.com' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ error: { kind: 'contact', status: 400, field: 'person.birthdays[0].date' } });

    const ids = results.flatMap((r) => (r.ok ? [r.record!.id] : []));
    const deleted = await g.connector.write([
      { kind: 'delete', ref: 'd1', id: ids[0] },
      { kind: 'delete', ref: 'gone', id: 'people/c1000000000000000001' },
      { kind: 'delete', ref: 'd2', id: ids[1] },
    ]);
    expect(deleted.map((r) => r.ok)).toEqual([true, false, true]);
    expect(deleted[1]).toMatchObject({ error: { kind: 'not-found' } });
    expect(g.store.people()).toHaveLength(0);
  });

  it('creates more than 200 contacts in several batches', async () => {
    const ops = Array.from({ length: 230 }, (_, i) => ({ kind: 'create' as const, ref: `r${i}`, fields: { 'emailAddresses.0': `p${i}@example.com` } }));
    const results = await g.connector.write(ops);
    expect(results.map((r) => r.ref)).toEqual(ops.map((o) => o.ref));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(g.store.people()).toHaveLength(230);
  });

  it('an unknown field fails only that write; a bad scope or credentials are refused without echoing secrets', () => {
    expect(googleApp.credentials.safeParse({ clientId: 'x', clientSecret: 'y' }).success).toBe(false);
    expect(googleApp.scope.safeParse({ baseUrl: 'ftp://x' }).success).toBe(false);
    expect(googleApp.scope.safeParse({}).success).toBe(true);
    let message = '';
    try {
      googleApp.connect({ credentials: { clientId: 'x', clientSecret: 'very-secret', refreshToken: '' }, scope: {} });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/refreshToken/);
    expect(message).not.toContain('very-secret');
  });

  it('a server that is down is transient', async () => {
    const down = await startGoogleSandbox();
    const { url } = down;
    await down.close();
    const connector = googleApp.connect({
      credentials: { clientId: 'x', clientSecret: 'y', refreshToken: 'z', accessToken: 'a' },
      scope: { baseUrl: url, tokenUrl: `${url}/token` },
    });
    await expect(connector.listPage(null, 10)).rejects.toBeInstanceOf(TransientError);
  });
});
