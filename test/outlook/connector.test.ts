import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, FeedExpiredError, TransientError } from '../../connectors/errors';
import { outlookApp } from '../../connectors/outlook';
import { toPatch, toRecord, type GraphContact } from '../../connectors/outlook/fields';
import type { Change, Connector } from '../../connectors/types';
import { startGraphSandbox, type GraphSandbox } from '../../sandboxes/outlook';
import type { FieldValue } from '../../sync/types';
import { connectorContract } from '../contract/connector-contract';

let sandbox: GraphSandbox;
let counter = 0;

beforeAll(async () => {
  sandbox = await startGraphSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

type Folder = { id: string } | { name: string; create: true } | undefined;

/** A fresh mailbox per test, so tests never see each other's contacts. */
function freshAccount(folder?: Folder | ((mailbox: string) => Folder)) {
  const name = `user${++counter}`;
  const tokens = sandbox.grant(name);
  const saved: Record<string, string>[] = [];
  const scopeFolder = typeof folder === 'function' ? folder(name) : folder;
  const connect = (credentials: Partial<Record<'accessToken' | 'refreshToken' | 'clientSecret', string>> = {}): Connector =>
    outlookApp.connect({
      credentials: {
        clientId: sandbox.client.clientId,
        clientSecret: credentials.clientSecret ?? sandbox.client.clientSecret,
        refreshToken: credentials.refreshToken ?? tokens.refreshToken,
        accessToken: credentials.accessToken ?? tokens.accessToken,
      },
      scope: { baseUrl: sandbox.graphUrl, tokenUrl: sandbox.tokenUrl, ...(scopeFolder ? { folder: scopeFolder } : {}) },
      saveCredentials: async (changed) => void saved.push(changed),
    });
  return { name, tokens, saved, mailbox: sandbox.mailbox(name), connector: connect(), connect };
}

connectorContract('Microsoft 365 / Outlook', async () => {
  const { connector, connect, name } = freshAccount((mailbox) => ({ id: sandbox.mailbox(mailbox).createFolder('Rapport').id }));
  return {
    connector,
    connectWithBadCredentials: () => ({ connector: connect({ accessToken: 'at-forged', refreshToken: 'rt-forged-secret' }), secret: 'rt-forged-secret' }),
    newContact: (i) => ({
      givenName: `Contract${i}`,
      surname: 'Tester',
      companyName: 'Contract Co',
      jobTitle: 'Tester',
      'emailAddresses[0]': `Contract.Tester.${i}@Example.com`,
      mobilePhone: `+1 555 010 ${String(1000 + i)}`,
    }),
    emailField: 'emailAddresses[0]',
    textField: 'jobTitle',
    keptField: 'mobilePhone',
    invalidContact: { fields: { surname: 'Broken', 'emailAddresses[0]': 'x@' }, message: /The email address 'x@' is not a valid SMTP address/ },
    throttleNext: async () => sandbox.failNext(name, { status: 429, retryAfterSeconds: 2 }),
    pageSize: 5,
    close: async () => {},
  };
});

const full: Record<string, FieldValue> = {
  givenName: 'Ada',
  middleName: 'King',
  surname: 'Lovelace',
  companyName: 'Analytical Engines',
  jobTitle: 'CTO',
  department: 'R&D',
  'emailAddresses[0]': 'ada@engines.example',
  'emailAddresses[1]': 'ada@home.example',
  'emailAddresses[2]': 'countess@lovelace.example',
  'businessPhones[0]': '+44 20 7946 0958',
  'businessPhones[1]': '+44 20 7946 0959',
  mobilePhone: '+44 7700 900123',
  'homePhones[0]': '+44 20 7946 0000',
  'businessAddress.street': '12 St James Square',
  'businessAddress.city': 'London',
  'businessAddress.state': null,
  'businessAddress.postalCode': 'SW1Y 4JH',
  'businessAddress.countryOrRegion': 'United Kingdom',
  businessHomePage: 'https://engines.example',
  personalNotes: 'Wrote the first program.',
  categories: ['customer', 'vip'],
};

describe('Outlook mapping', () => {
  it('every catalog field survives a create and a read, and Graph holds it where Outlook shows it', async () => {
    const { connector, mailbox } = freshAccount();
    const [created] = await connector.write([{ kind: 'create', ref: 'c', fields: full }]);
    expect(created.ok).toBe(true);
    const id = created.ok ? created.record!.id : '';
    expect((await connector.get(id))?.fields).toEqual(full);

    const stored = mailbox.get(id)!;
    expect(stored).toMatchObject({
      displayName: 'Ada King Lovelace',
      emailAddresses: [
        { address: 'ada@engines.example' },
        { address: 'ada@home.example' },
        { address: 'countess@lovelace.example' },
      ],
      businessPhones: ['+44 20 7946 0958', '+44 20 7946 0959'],
      homePhones: ['+44 20 7946 0000'],
      businessAddress: { street: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', countryOrRegion: 'United Kingdom' },
      categories: ['customer', 'vip'],
    });
  });

  it('flattens a contact onto catalog keys, empty values as null', () => {
    const contact: GraphContact = {
      id: 'AAMk1',
      changeKey: 'ck1',
      givenName: 'Grace',
      surname: '',
      emailAddresses: [{ name: 'Grace', address: 'grace@navy.example' }],
      businessPhones: [],
      homePhones: [],
      businessAddress: {},
      categories: [],
    };
    const record = toRecord(contact);
    expect(record.version).toBe('ck1');
    expect(record.fields).toMatchObject({ givenName: 'Grace', surname: null, 'emailAddresses[0]': 'grace@navy.example', 'emailAddresses[1]': null, categories: null });
  });

  it('changing one slot rebuilds the list from the current contact and keeps what was not mapped', () => {
    const current: GraphContact = {
      id: 'AAMk1',
      displayName: 'The Admiral',
      givenName: 'Grace',
      surname: 'Hopper',
      emailAddresses: [
        { name: 'Work', address: 'grace@navy.example' },
        { name: 'grace@home.example', address: 'grace@home.example' },
      ],
      businessPhones: ['+1 555 0100', '+1 555 0101', '+1 555 0102'],
      businessAddress: { street: '1 Navy Way', city: 'Arlington', state: 'VA' },
    };
    const patch = toPatch({ 'emailAddresses[1]': 'grace@new.example', 'businessPhones[0]': null, 'businessAddress.city': 'Washington', givenName: 'G.' }, current);
    expect(patch.emailAddresses).toEqual([
      { name: 'Work', address: 'grace@navy.example' },
      { name: 'grace@new.example', address: 'grace@new.example' },
    ]);
    // the third business phone is not mapped and stays; the cleared first slot closes the gap
    expect(patch.businessPhones).toEqual(['+1 555 0101', '+1 555 0102']);
    expect(patch.businessAddress).toEqual({ street: '1 Navy Way', city: 'Washington', state: 'VA' });
    // a display name someone typed is kept whatever the name parts become
    expect(patch.displayName).toBe('The Admiral');
    expect(toPatch({ givenName: 'G.' }, { ...current, displayName: 'Grace Hopper' }).displayName).toBe('G. Hopper');
  });

  it('a value the app cannot hold fails that contact alone', async () => {
    const { connector } = freshAccount();
    const results = await connector.write([
      { kind: 'create', ref: 'list', fields: { givenName: ['not', 'a', 'name'] } },
      { kind: 'create', ref: 'unknown', fields: { nickname: 'x' } },
      { kind: 'create', ref: 'ok', fields: { givenName: 'Fine' } },
    ]);
    expect(results.map((r) => [r.ref, r.ok])).toEqual([
      ['list', false],
      ['unknown', false],
      ['ok', true],
    ]);
    expect(results[0]).toMatchObject({ error: { kind: 'contact', field: 'givenName' } });
  });
});

describe('Outlook connector', () => {
  it('a folder to create is found by its name first, so it is made once', async () => {
    const account = freshAccount({ name: 'Rapport sync', create: true });
    await account.connector.write([{ kind: 'create', ref: 'a', fields: { givenName: 'In', 'emailAddresses[0]': 'in@folder.example' } }]);
    const again = account.connect();
    await again.write([{ kind: 'create', ref: 'b', fields: { givenName: 'Also', 'emailAddresses[0]': 'also@folder.example' } }]);
    const folders = account.mailbox.listFolders().filter((f) => f.displayName === 'Rapport sync');
    expect(folders).toHaveLength(1);
    expect(account.mailbox.all(folders[0].id).map((c) => c.givenName).sort()).toEqual(['Also', 'In']);
    // the default folder holds other contacts, which this account does not see
    account.mailbox.create({ givenName: 'Outside', emailAddresses: [{ name: null, address: 'in@folder.example' }] });
    expect((await again.listPage(null, 10)).records).toHaveLength(2);
    expect((await again.findByEmail('IN@folder.example')).map((r) => r.fields.givenName)).toEqual(['In']);
  });

  it('an unknown folder is a configuration error', async () => {
    const { connector } = freshAccount({ id: 'AAMkNoSuchFolder' });
    await expect(connector.listPage(null, 10)).rejects.toBeInstanceOf(ConfigError);
  });

  it('the default folder is used when the scope names none', async () => {
    const { connector, mailbox } = freshAccount();
    mailbox.seed({ count: 3 });
    const page = await connector.listPage(null, 10);
    expect(page.records).toHaveLength(3);
    expect(page.nextCursor).toBeNull();
  });

  it('delta: changes come over several pages, a contact moved out of the folder is gone, and the next round is quiet', async () => {
    const { connector, mailbox } = freshAccount((m) => ({ id: sandbox.mailbox(m).createFolder('Synced').id }));
    const folderId = mailbox.listFolders()[0].id;
    const other = mailbox.createFolder('Elsewhere');
    const people = mailbox.seed({ count: 4, folderId });
    const cursor = await connector.currentCursor();

    const fresh = mailbox.seed({ count: 5, folderId });
    mailbox.update(people[0].id, { jobTitle: 'Moved on' });
    mailbox.move(people[1].id, other.id);
    mailbox.remove(people[2].id);

    const changes: Change[] = [];
    let at = cursor;
    let pages = 0;
    for (;;) {
      const set = await connector.changesSince(at, 3);
      changes.push(...set.changes);
      at = set.nextCursor;
      pages++;
      if (!set.hasMore) break;
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    const upserts = changes.flatMap((c) => (c.deleted ? [] : [c.record.id]));
    expect(upserts.sort()).toEqual([...fresh.map((c) => c.id), people[0].id].sort());
    expect(changes.filter((c) => c.deleted).map((c) => (c.deleted ? c.id : '')).sort()).toEqual([people[1].id, people[2].id].sort());
    expect((await connector.changesSince(at, 3)).changes).toEqual([]);
  });

  it('the default folder is tracked by its id on the documented per-folder delta path', async () => {
    const { connector, mailbox } = freshAccount();
    mailbox.seed({ count: 2 });
    const cursor = await connector.currentCursor();
    expect(cursor).toContain(`/me/contactFolders/${mailbox.defaultFolderId}/contacts/delta`);
    const [added] = mailbox.seed({ count: 1 });
    const set = await connector.changesSince(cursor, 10);
    expect(set.changes.map((c) => (c.deleted ? c.id : c.record.id))).toEqual([added.id]);
  });

  it('an empty default folder: its id is learnt once a contact is in it, and that contact is reported', async () => {
    const { connector, mailbox } = freshAccount();
    const cursor = await connector.currentCursor();
    expect(await connector.changesSince(cursor, 10)).toMatchObject({ changes: [], hasMore: false });
    const [added] = mailbox.seed({ count: 1 });
    const set = await connector.changesSince(cursor, 10);
    expect(set.changes.map((c) => (c.deleted ? c.id : c.record.id))).toEqual([added.id]);
    expect(set.nextCursor).toContain('$deltatoken=');
    expect((await connector.changesSince(set.nextCursor, 10)).changes).toEqual([]);
  });

  it('an expired delta token is a FeedExpiredError, so the engine scans again', async () => {
    const { connector, name, mailbox } = freshAccount();
    mailbox.seed({ count: 1 });
    const cursor = await connector.currentCursor();
    sandbox.expireDeltaTokens(name);
    const err = await connector.changesSince(cursor, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeedExpiredError);
    expect((err as FeedExpiredError).code).toBe('SyncStateNotFound');
  });

  it('a delta link of another server is never followed with the token', async () => {
    const { connector } = freshAccount();
    await expect(connector.changesSince('https://evil.example/v1.0/me/contacts/delta?$deltatoken=x', 10)).rejects.toBeInstanceOf(FeedExpiredError);
    await expect(connector.listPage('https://evil.example/v1.0/me/contacts?$skip=10', 10)).rejects.toBeInstanceOf(ConfigError);
  });

  it('without If-Match checks on the server, the read-compare still refuses a stale version', async () => {
    const account = freshAccount();
    sandbox.configure(account.name, { enforceIfMatch: false });
    const [made] = await account.connector.write([{ kind: 'create', ref: 'c', fields: { givenName: 'Old', 'emailAddresses[0]': 'old@x.example' } }]);
    const v1 = made.ok ? made.record! : null;
    account.mailbox.update(v1!.id, { jobTitle: 'Changed in Outlook' });
    const [stale] = await account.connector.write([{ kind: 'update', ref: 'u', id: v1!.id, version: v1!.version, fields: { givenName: 'New' } }]);
    expect(stale).toMatchObject({ ok: false, error: { kind: 'conflict' } });
    expect(account.mailbox.get(v1!.id)?.givenName).toBe('Old');
  });

  it('a write that Outlook throttles is a TransientError for the whole call, carrying Retry-After', async () => {
    const { connector, name } = freshAccount();
    sandbox.failNext(name, { status: 429, retryAfterSeconds: 3 });
    const err = await connector.write([{ kind: 'create', ref: 'c', fields: { givenName: 'Later' } }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ status: 429, retryAfterMs: 3000 });
  });

  it('a 503 of a batch item is transient too, never a failed contact', async () => {
    const { connector, name, mailbox } = freshAccount();
    const [made] = await connector.write([{ kind: 'create', ref: 'c', fields: { givenName: 'Busy' } }]);
    const id = made.ok ? made.record!.id : '';
    // the read before the update passes; the PATCH is answered 503
    sandbox.failNext(name, { status: 503 });
    const err = await connector.write([{ kind: 'update', ref: 'u', id, fields: { jobTitle: 'x' } }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(mailbox.get(id)?.jobTitle).toBeNull();
  });

  it('many writes go in batches of at most 20, one result each, in order', async () => {
    const { connector, mailbox, name } = freshAccount();
    const before = sandbox.requestCount(name);
    const ops = Array.from({ length: 25 }, (_, i) => ({ kind: 'create' as const, ref: `r${i}`, fields: { givenName: `P${i}`, 'emailAddresses[0]': i === 7 ? 'broken@' : `p${i}@x.example` } }));
    const results = await connector.write(ops);
    expect(results.map((r) => r.ref)).toEqual(ops.map((o) => o.ref));
    expect(results.filter((r) => !r.ok).map((r) => r.ref)).toEqual(['r7']);
    expect(mailbox.count()).toBe(24);
    // each item runs exactly once: those after r7 are not run (424) and go again in the next batch
    expect(sandbox.requestCount(name) - before).toBe(25);
  });

  it('an expired access token is renewed (the refresh names its scope) and the renewal stored; a revoked refresh token is an AuthError', async () => {
    const account = freshAccount();
    sandbox.expireAccessTokens(account.name);
    await expect(account.connector.listPage(null, 5)).resolves.toBeTruthy();
    expect(account.saved).toHaveLength(1);
    expect(account.saved[0].accessToken).toMatch(/^at-/);
    expect(account.saved[0].expiresAt).toBeTruthy();

    sandbox.revoke(account.tokens.refreshToken);
    sandbox.expireAccessTokens(account.name);
    const err = await account.connect().listPage(null, 5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe('invalid_grant');
  });

  it('a 401 with a refresh that works retries once and goes on', async () => {
    const account = freshAccount();
    const connector = account.connect({ accessToken: 'at-unknown-to-the-server' });
    await expect(connector.listPage(null, 5)).resolves.toBeTruthy();
    expect(account.saved).toHaveLength(1);
  });

  it('findByEmail quotes the address for the OData filter', async () => {
    const { connector, mailbox } = freshAccount();
    mailbox.create({ givenName: 'Miles', emailAddresses: [{ name: null, address: "miles.o'brien@ds9.example" }] });
    expect((await connector.findByEmail("Miles.O'Brien@DS9.example")).map((r) => r.fields.givenName)).toEqual(['Miles']);
  });

  it('invalid credentials or scope are refused before any request', () => {
    expect(() => outlookApp.connect({ credentials: { clientId: 'x' }, scope: {} })).toThrow(ConfigError);
    expect(() =>
      outlookApp.connect({ credentials: { clientId: 'x', clientSecret: 'y', refreshToken: 'z' }, scope: { folder: { name: 'x' } } }),
    ).toThrow(/folder/);
  });
});
