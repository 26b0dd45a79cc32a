import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, FeedExpiredError, TransientError } from '../../connectors/errors';
import { sandboxApp } from '../../connectors/sandbox';
import type { Connector } from '../../connectors/types';
import { startSandbox, type Sandbox } from '../../sandboxes/sandbox/server';
import { connectorContract } from '../contract/connector-contract';

let sandbox: Sandbox;
let counter = 0;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

/** A fresh, empty instance per test, so tests never see each other's contacts. */
function freshAccount(config: { pageSizeCap?: number } = {}) {
  const name = `t${++counter}`;
  const token = `token-${name}`;
  const instance = sandbox.addInstance(name, { token, ...config });
  const connect = (apiToken: string): Connector =>
    sandboxApp.connect({ credentials: { apiToken }, scope: { baseUrl: sandbox.url, instance: name } });
  return { name, token, instance, connector: connect(token), connect };
}

connectorContract('Sandbox', async () => {
  const { connector, connect, instance } = freshAccount();
  return {
    connector,
    connectWithBadCredentials: () => ({ connector: connect('not-the-token'), secret: 'not-the-token' }),
    newContact: (i) => ({
      first_name: `Contract${i}`,
      last_name: 'Tester',
      company: 'Contract Co',
      job_title: 'Tester',
      email_1: `Contract.Tester.${i}@Example.com`,
      phone_mobile: `+1 555 010 ${String(1000 + i)}`,
    }),
    emailField: 'email_1',
    textField: 'job_title',
    keptField: 'phone_mobile',
    invalidContact: { fields: { last_name: 'Broken', email_1: 'x@' }, message: /email_1|emails\[0\]\.value "x@" is not a valid email address/ },
    throttleNext: async () => instance.failNext({ status: 429, retryAfterSeconds: 2 }),
    pageSize: 5,
    close: async () => {},
  };
});

describe('Sandbox connector', () => {
  let account: ReturnType<typeof freshAccount>;
  beforeEach(() => {
    account = freshAccount();
  });

  it('the cheap listing pages ids and the versions listPage and get report, and nothing else', async () => {
    const { connector, instance } = account;
    const seeded = instance.seed({ count: 7 });
    instance.update(seeded[2].id, { notes: 'changed' });
    const entries = [];
    let cursor: string | null = null;
    do {
      const page = await connector.listVersions!(cursor, 3);
      expect(page.entries.length).toBeLessThanOrEqual(3);
      expect(page.total).toBe(7);
      entries.push(...page.entries);
      cursor = page.nextCursor;
    } while (cursor);
    const full = (await connector.listPage(null, 100)).records;
    expect(entries).toEqual(full.map((r) => ({ id: r.id, version: r.version })));
    expect(entries[2]).toEqual({ id: seeded[2].id, version: (await connector.get(seeded[2].id))!.version });
    expect(entries[2].version).not.toBe(entries[1].version);
  });

  it('flattens a contact onto catalog keys: emails by slot, phones by type, empty values as null', async () => {
    const contact = account.instance.create({
      first_name: 'Ada',
      last_name: '',
      emails: [
        { type: 'home', value: 'ada@home.example' },
        { type: 'work', value: 'ada@work.example' },
      ],
      phones: [
        { type: 'work', value: '+44 20 7946 0958' },
        { type: 'mobile', value: '555-010-2000' },
      ],
      address: { street: null, city: 'London', region: null, postal_code: null, country: 'United Kingdom' },
      tags: [],
    });
    const record = await account.connector.get(contact.id);
    expect(record).toEqual({
      id: contact.id,
      version: '1',
      fields: {
        first_name: 'Ada',
        last_name: null,
        company: null,
        job_title: null,
        email_1: 'ada@home.example',
        email_2: 'ada@work.example',
        email_3: null,
        phone_mobile: '555-010-2000',
        phone_work: '+44 20 7946 0958',
        phone_home: null,
        phone_other: null,
        street: null,
        city: 'London',
        region: null,
        postal_code: null,
        country: 'United Kingdom',
        notes: null,
        tags: null,
        owner: null,
        unsubscribed: false,
      },
    });
  });

  it('writing one email slot, one phone or one address part keeps the rest of that list or address', async () => {
    const contact = account.instance.create({
      emails: [
        { type: 'work', value: 'one@example.com' },
        { type: 'home', value: 'two@example.com' },
        { type: 'other', value: 'three@example.com' },
        { type: 'other', value: 'four@example.com' },
      ],
      phones: [
        { type: 'mobile', value: '555-010-1000' },
        { type: 'work', value: '555-010-1001' },
        { type: 'work', value: '555-010-1002' },
      ],
      address: { street: '1 Main St', city: 'Springfield', region: 'IL', postal_code: '62701', country: 'United States' },
    });
    const [result] = await account.connector.write([
      {
        kind: 'update',
        ref: 'r',
        id: contact.id,
        version: '1',
        fields: { email_2: 'second@example.com', phone_work: '+1 555 010 9999', city: 'Shelbyville' },
      },
    ]);
    expect(result.ok).toBe(true);
    const stored = account.instance.find(contact.id)!;
    expect(stored.emails).toEqual([
      { type: 'work', value: 'one@example.com' },
      { type: 'home', value: 'second@example.com' },
      { type: 'other', value: 'three@example.com' },
      { type: 'other', value: 'four@example.com' },
    ]);
    expect(stored.phones).toEqual([
      { type: 'mobile', value: '555-010-1000' },
      { type: 'work', value: '+1 555 010 9999' },
      { type: 'work', value: '555-010-1002' },
    ]);
    expect(stored.address).toEqual({ street: '1 Main St', city: 'Shelbyville', region: 'IL', postal_code: '62701', country: 'United States' });
  });

  it('a user edit between the engine’s read and its write is a version conflict, not a lost update', async () => {
    const contact = account.instance.create({ emails: [{ type: 'work', value: 'a@example.com' }] });
    account.instance.update(contact.id, { emails: [{ type: 'work', value: 'a@example.com' }, { type: 'home', value: 'user@example.com' }] });
    const [result] = await account.connector.write([
      { kind: 'update', ref: 'r', id: contact.id, version: '1', fields: { email_2: 'engine@example.com' } },
    ]);
    expect(result).toMatchObject({ ok: false, error: { kind: 'conflict' } });
    expect(account.instance.find(contact.id)!.emails[1].value).toBe('user@example.com');
  });

  it('without a version from the engine, a read-modify-write still keeps a concurrent edit', async () => {
    const contact = account.instance.create({ emails: [{ type: 'work', value: 'a@example.com' }] });
    const [result] = await account.connector.write([{ kind: 'update', ref: 'r', id: contact.id, fields: { email_2: 'b@example.com' } }]);
    expect(result.ok).toBe(true);
    expect(account.instance.find(contact.id)!.emails.map((e) => e.value)).toEqual(['a@example.com', 'b@example.com']);
  });

  it('creates from flat fields, with tags, unsubscribed and the address', async () => {
    const [result] = await account.connector.write([
      {
        kind: 'create',
        ref: 'c',
        fields: { first_name: 'Lin', email_1: 'lin@example.com', tags: ['vip', 'Rapport Trash'], unsubscribed: true, country: 'Japan' },
      },
    ]);
    expect(result.ok).toBe(true);
    const stored = account.instance.all()[0];
    expect(stored).toMatchObject({
      first_name: 'Lin',
      emails: [{ type: 'work', value: 'lin@example.com' }],
      tags: ['vip', 'Rapport Trash'],
      unsubscribed: true,
      address: { street: null, city: null, region: null, postal_code: null, country: 'Japan' },
    });
  });

  it('a required field missing on create fails that contact with the app’s message; the catalog marks it required', async () => {
    account.instance.configure({ requiredFields: ['last_name'] });
    const catalog = await account.connector.fieldCatalog();
    expect(catalog.find((f) => f.key === 'last_name')?.requiredOnCreate).toBe(true);
    expect(catalog.find((f) => f.key === 'first_name')?.requiredOnCreate).toBeUndefined();

    const [result] = await account.connector.write([{ kind: 'create', ref: 'c', fields: { first_name: 'No', email_1: 'no@example.com' } }]);
    expect(result).toEqual({
      ref: 'c',
      ok: false,
      error: { kind: 'contact', message: '"last_name" is required', status: 422, code: 'validation_failed', field: 'last_name' },
    });
  });

  it('delete protection fails each delete as a contact error; unknown ids are not-found', async () => {
    const contact = account.instance.create({ first_name: 'Kept' });
    account.instance.configure({ deleteProtected: true });
    const [protectedDelete, missing] = await account.connector.write([
      { kind: 'delete', ref: 'p', id: contact.id },
      { kind: 'update', ref: 'm', id: 'ct_missing', fields: { first_name: 'x' } },
    ]);
    expect(protectedDelete).toMatchObject({ ok: false, error: { kind: 'contact', status: 403, code: 'forbidden' } });
    expect(missing).toMatchObject({ ok: false, error: { kind: 'not-found' } });
  });

  it('an unknown field fails only that write', async () => {
    const [result] = await account.connector.write([{ kind: 'create', ref: 'c', fields: { nickname: 'Bob' } }]);
    expect(result).toMatchObject({ ok: false, error: { kind: 'contact', field: 'nickname' } });
    expect(account.instance.count()).toBe(0);
  });

  it('splits more than 100 writes into several batches', async () => {
    const ops = Array.from({ length: 230 }, (_, i) => ({ kind: 'create' as const, ref: `r${i}`, fields: { email_1: `p${i}@example.com` } }));
    const results = await account.connector.write(ops);
    expect(results.map((r) => r.ref)).toEqual(ops.map((o) => o.ref));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(account.instance.count()).toBe(230);
  });

  it('an expired feed cursor is FeedExpiredError', async () => {
    account.instance.configure({ changeLogLimit: 5 });
    const cursor = await account.connector.currentCursor();
    account.instance.seed({ count: 10 });
    await expect(account.connector.changesSince(cursor, 50)).rejects.toBeInstanceOf(FeedExpiredError);
  });

  it('a 503 is transient; a missing instance is a configuration error', async () => {
    account.instance.failNext({ status: 503 });
    await expect(account.connector.currentCursor()).rejects.toBeInstanceOf(TransientError);
    const missing = sandboxApp.connect({ credentials: { apiToken: 'x' }, scope: { baseUrl: sandbox.url, instance: 'nope' } });
    await expect(missing.listPage(null, 10)).rejects.toBeInstanceOf(ConfigError);
  });

  it('a server that is down is transient', async () => {
    const down = await startSandbox();
    const url = down.url;
    await down.close();
    const connector = sandboxApp.connect({ credentials: { apiToken: 'x' }, scope: { baseUrl: url, instance: 'a' } });
    await expect(connector.listPage(null, 10)).rejects.toBeInstanceOf(TransientError);
  });

  it('validates credentials and scope without echoing the token', () => {
    expect(sandboxApp.credentials.safeParse({ apiToken: '' }).success).toBe(false);
    expect(sandboxApp.scope.safeParse({ baseUrl: 'ftp://x', instance: 'a' }).success).toBe(false);
    expect(sandboxApp.scope.safeParse({ baseUrl: 'http://127.0.0.1:4010', instance: 'alpha' }).success).toBe(true);
    expect(() => sandboxApp.connect({ credentials: { apiToken: '' }, scope: { baseUrl: 'http://x', instance: 'a' } })).toThrow(ConfigError);
  });
});
