import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carddavApp } from '../../connectors/carddav';
import { AuthError, ConfigError, FeedExpiredError, TransientError } from '../../connectors/errors';
import type { Connector } from '../../connectors/types';
import type { FieldValue } from '../../sync/types';
import { connectorContract } from '../contract/connector-contract';
import { startRadicale, type Radicale } from '../../sandboxes/carddav/radicale';

// The CardDAV connector against a real Radicale 3.1.8: the shared contract, then what the connector relies on
// in the server (sync-collection tokens, ETag preconditions, vCard versions, discovery) and its error mapping.

const USER = 'alice';
const PASSWORD = 'alice-app-password';
// Small, so a card with a long note is refused (Radicale answers 413 to a body over server.max_content_length).
const MAX_BODY = 64 * 1024;

let radicale: Radicale | null = null;
async function server(): Promise<Radicale> {
  if (!radicale) {
    radicale = await startRadicale({ proxy: true, maxContentLength: MAX_BODY });
    radicale.addUser(USER, PASSWORD);
    radicale.addUser('bob', 'bob-password');
  }
  return radicale;
}
afterAll(async () => {
  await radicale?.stop();
});

const auth = (user = USER, password = PASSWORD) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function freshBook(displayName?: string): Promise<string> {
  const r = await server();
  const slug = `book-${randomUUID().slice(0, 8)}`;
  await r.makeAddressBook(USER, PASSWORD, slug, displayName ?? slug);
  return new URL(`/${USER}/${slug}/`, r.url).pathname;
}

function connect(book: string | undefined, password = PASSWORD, options?: Record<string, unknown>): Connector {
  return carddavApp.connect({
    credentials: { username: USER, password },
    scope: { serverUrl: radicale!.url, ...(book ? { addressBook: book } : {}) },
    options,
  });
}

const person = (i: number): Record<string, FieldValue> => ({
  'N.given': `Ada${i}`,
  'N.surname': 'Lovelace',
  'EMAIL.1': `ada.${i}@analytical.example`,
  'ORG.name': 'Analytical Engines',
  TITLE: 'Engineer',
});

connectorContract('CardDAV (Radicale)', async () => {
  const r = await server();
  const book = await freshBook();
  return {
    connector: connect(book),
    connectWithBadCredentials: () => ({ connector: connect(book, 'not-the-password-42'), secret: 'not-the-password-42' }),
    newContact: person,
    emailField: 'EMAIL.1',
    textField: 'TITLE',
    keptField: 'ORG.name',
    invalidContact: { fields: { ...person(99), NOTE: 'x'.repeat(MAX_BODY * 2) }, message: /413 Request body too large/ },
    throttleNext: async () => r.failNext({ status: 429, headers: { 'retry-after': '2' }, body: 'Too Many Requests' }),
    pageSize: 3,
    close: async () => {},
  };
});

async function putRaw(bookPath: string, name: string, vcard: string): Promise<Response> {
  return fetch(new URL(`${bookPath}${name}`, radicale!.url), {
    method: 'PUT',
    headers: { authorization: auth(), 'content-type': 'text/vcard; charset=utf-8' },
    body: vcard,
  });
}
async function getRaw(bookPath: string, id: string): Promise<string> {
  const res = await fetch(new URL(id, new URL(bookPath, radicale!.url)), { headers: { authorization: auth() } });
  return res.text();
}

describe('CardDAV connector on Radicale', () => {
  beforeAll(async () => {
    await server();
  });

  it('reads a vCard 3.0 with Apple labels and unknown properties, and an update keeps them intact', async () => {
    const book = await freshBook();
    const card = [
      'BEGIN:VCARD',
      'VERSION:3.0',
      'PRODID:-//Apple Inc.//iPhone OS 17.0//EN',
      'UID:3f0c-apple-card',
      'N:Hopper;Grace;Brewster;Rear Adm.;',
      'FN:Grace Hopper',
      'ORG:US Navy;Computing',
      'EMAIL;type=INTERNET;type=WORK;type=pref:grace@navy.example',
      'EMAIL;type=INTERNET;type=HOME:grace@home.example',
      'item1.TEL;type=pref:+1 202 555 0100',
      'item1.X-ABLabel:_$!<Main>!$_',
      'TEL;type=CELL;type=VOICE:+1 202 555 0199',
      'TEL;type=WORK;type=FAX:+1 202 555 0111',
      'ADR;type=HOME:;;1 Home Rd;Arlington;VA;22201;USA',
      'ADR;type=WORK:;;Pentagon;Washington;DC;20301;USA',
      'NOTE:Invented the first compiler\\, and more.',
      'CATEGORIES:Pioneers,Navy',
      'BDAY:1906-12-09',
      'URL:https://navy.example/grace',
      'X-SOCIALPROFILE;type=twitter:x-apple:grace',
      'X-CUSTOM-FLAG:keep me',
      'END:VCARD',
      '',
    ].join('\r\n');
    expect((await putRaw(book, 'grace.vcf', card)).status).toBe(201);
    const c = connect(book);
    const [record] = (await c.listPage(null, 10)).records;
    expect(record.id).toBe(`${book}grace.vcf`);
    expect(record.fields).toMatchObject({
      'N.given': 'Grace',
      'N.surname': 'Hopper',
      'N.additional': 'Brewster',
      FN: 'Grace Hopper',
      'ORG.name': 'US Navy',
      'ORG.unit': 'Computing',
      'EMAIL.1': 'grace@navy.example',
      'EMAIL.2': 'grace@home.example',
      'TEL.cell': '+1 202 555 0199',
      'TEL.fax': '+1 202 555 0111',
      'TEL.other': '+1 202 555 0100',
      'ADR.street': 'Pentagon',
      'ADR.locality': 'Washington',
      NOTE: 'Invented the first compiler, and more.',
      CATEGORIES: ['Pioneers', 'Navy'],
      BDAY: '1906-12-09',
      URL: 'https://navy.example/grace',
    });

    const [updated] = await c.write([
      { kind: 'update', ref: 'u', id: record.id, version: record.version, fields: { TITLE: 'Rear Admiral', 'TEL.work': '+1 202 555 0123', 'ADR.locality': 'Washington D.C.' } },
    ]);
    expect(updated.ok).toBe(true);
    const stored = await getRaw(book, record.id);
    expect(stored).toMatch(/^VERSION:3\.0\r?$/m);
    expect(stored).toContain('X-CUSTOM-FLAG:keep me');
    expect(stored).toMatch(/X-SOCIALPROFILE;TYPE=twitter:x-apple:grace/i);
    expect(stored).toMatch(/item1\.X-ABLabel:_\$!<Main>!\$_/i);
    expect(stored).toMatch(/ADR;TYPE=HOME:;;1 Home Rd;Arlington;VA;22201;USA/i);
    expect(stored).toContain('UID:3f0c-apple-card');
    const after = await c.get(record.id);
    expect(after?.fields).toEqual({
      ...record.fields,
      TITLE: 'Rear Admiral',
      'TEL.work': '+1 202 555 0123',
      'ADR.locality': 'Washington D.C.',
    });
  });

  it('reads and writes vCard 4.0, keeping the version, tel: URIs and unknown properties', async () => {
    const book = await freshBook();
    const card = [
      'BEGIN:VCARD',
      'VERSION:4.0',
      'UID:urn:uuid:4c1e5b7a-0000-4000-8000-000000000001',
      'FN:Katherine Johnson',
      'N:Johnson;Katherine;;;',
      'EMAIL;TYPE=work;PREF=1:katherine@nasa.example',
      'TEL;VALUE=uri;TYPE=cell:tel:+1-757-555-0142',
      'BDAY:--0826',
      'GENDER:F',
      'X-ORBIT-CALC:Friendship 7',
      'END:VCARD',
      '',
    ].join('\r\n');
    expect((await putRaw(book, 'kj.vcf', card)).status).toBe(201);
    const c = connect(book);
    const record = (await c.get(`${book}kj.vcf`))!;
    expect(record.fields).toMatchObject({ 'N.given': 'Katherine', 'EMAIL.1': 'katherine@nasa.example', 'TEL.cell': '+1-757-555-0142', BDAY: '--08-26' });

    const [res] = await c.write([{ kind: 'update', ref: 'u', id: record.id, version: record.version, fields: { 'ORG.name': 'NASA', CATEGORIES: ['Hidden Figures'] } }]);
    expect(res.ok).toBe(true);
    const stored = await getRaw(book, record.id);
    expect(stored).toMatch(/^BEGIN:VCARD\r?\nVERSION:4\.0\r?$/m);
    expect(stored).toContain('X-ORBIT-CALC:Friendship 7');
    expect(stored).toContain('GENDER:F');
    expect(stored).toContain('UID:urn:uuid:4c1e5b7a-0000-4000-8000-000000000001');
    expect((await c.get(record.id))?.fields).toEqual({ ...record.fields, 'ORG.name': 'NASA', CATEGORIES: ['Hidden Figures'] });

    // Creates write 3.0 unless the account asks for 4.0.
    const c4 = connect(book, PASSWORD, { vcardVersion: '4.0' });
    const [made] = await c4.write([{ kind: 'create', ref: 'n', fields: { ...person(4), BDAY: '1918-08-26' } }]);
    expect(made.ok).toBe(true);
    if (!made.ok || !made.record) throw new Error('create failed');
    const raw = await getRaw(book, made.record.id);
    expect(raw).toMatch(/^VERSION:4\.0\r?$/m);
    expect(raw).toMatch(/^UID:urn:uuid:/m);
    expect(made.record.fields).toMatchObject({ ...person(4), BDAY: '1918-08-26', FN: 'Ada4 Lovelace' });
  });

  it('finds the address book from the server root: by display name, by href, or the first one', async () => {
    const r = await server();
    r.addUser('carol', 'carol-pw');
    await r.makeAddressBook('carol', 'carol-pw', 'family', 'Family');
    await r.makeAddressBook('carol', 'carol-pw', 'work', 'Work contacts');
    const as = (addressBook?: string) =>
      carddavApp.connect({ credentials: { username: 'carol', password: 'carol-pw' }, scope: { serverUrl: r.url, ...(addressBook ? { addressBook } : {}) } });

    const [viaName] = await as('work contacts').write([{ kind: 'create', ref: 'w', fields: person(1) }]);
    expect(viaName.ok && viaName.record?.id.startsWith('/carol/work/')).toBe(true);
    const [viaHref] = await as('/carol/family/').write([{ kind: 'create', ref: 'f', fields: person(2) }]);
    expect(viaHref.ok && viaHref.record?.id.startsWith('/carol/family/')).toBe(true);
    const first = await as().listPage(null, 10);
    expect(first.total).toBe(1);

    const unknown = await as('Holidays').listPage(null, 10).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ConfigError);
    expect((unknown as Error).message).toMatch(/Family/);
    expect((unknown as Error).message).toMatch(/Work contacts/);
  });

  it('a sync-token the server rejects (malformed or unknown) is a FeedExpiredError', async () => {
    const c = connect(await freshBook());
    await expect(c.changesSince('not-a-token', 10)).rejects.toBeInstanceOf(FeedExpiredError);
    await expect(c.changesSince('http://radicale.org/ns/sync/0000000000000000000000000000000000000000000000000000000000000000', 10)).rejects.toBeInstanceOf(
      FeedExpiredError,
    );
  });

  it('pages a large change set and reports each change once', async () => {
    const c = connect(await freshBook());
    const cursor = await c.currentCursor();
    for (let i = 0; i < 7; i++) await c.write([{ kind: 'create', ref: `c${i}`, fields: person(i) }]);
    const seen: string[] = [];
    let at = cursor;
    let pages = 0;
    for (;;) {
      const set = await c.changesSince(at, 3);
      pages++;
      seen.push(...set.changes.map((ch) => (ch.deleted ? ch.id : ch.record.id)));
      at = set.nextCursor;
      if (!set.hasMore) break;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    expect((await c.changesSince(at, 3)).changes).toEqual([]);
  });

  it('If-Match: a card changed by someone else is a conflict; without a version the connector reads again', async () => {
    const book = await freshBook();
    const c = connect(book);
    const [made] = await c.write([{ kind: 'create', ref: 'a', fields: person(1) }]);
    if (!made.ok || !made.record) throw new Error('create failed');
    const elsewhere = (await getRaw(book, made.record.id)).replace('TITLE:Engineer', 'TITLE:Changed elsewhere');
    const put = await fetch(new URL(made.record.id, radicale!.url), {
      method: 'PUT',
      headers: { authorization: auth(), 'if-match': made.record.version, 'content-type': 'text/vcard' },
      body: elsewhere,
    });
    expect(put.status).toBe(201);

    const [stale] = await c.write([{ kind: 'update', ref: 's', id: made.record.id, version: made.record.version, fields: { 'ORG.name': 'Lost' } }]);
    expect(stale).toMatchObject({ ok: false, error: { kind: 'conflict', status: 412 } });
    const [fresh] = await c.write([{ kind: 'update', ref: 'f', id: made.record.id, fields: { 'ORG.name': 'Kept' } }]);
    expect(fresh.ok).toBe(true);
    expect((await c.get(made.record.id))?.fields).toMatchObject({ TITLE: 'Changed elsewhere', 'ORG.name': 'Kept' });
  });

  it('maps failures: 403 on a write fails that card with the server’s text, 5xx is transient, a bad date fails the card', async () => {
    const r = await server();
    const readonly = r.writeAddressBook(USER, 'readonly-shared', [], 'Shared (read-only)');
    const c = connect(new URL(readonly).pathname);
    const [denied] = await c.write([{ kind: 'create', ref: 'x', fields: person(1) }]);
    expect(denied).toMatchObject({ ok: false, error: { kind: 'contact', status: 403 } });
    if (!denied.ok) expect(denied.error.message).toContain('Access to the requested resource forbidden.');

    const w = connect(await freshBook());
    r.failNext({ status: 503, headers: { 'retry-after': '7' }, body: 'Service Unavailable' });
    const down = await w.listPage(null, 10).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(TransientError);
    expect((down as TransientError).retryAfterMs).toBe(7000);

    const [badDate] = await w.write([{ kind: 'create', ref: 'b', fields: { ...person(2), BDAY: 'next Tuesday' } }]);
    expect(badDate).toMatchObject({ ok: false, error: { kind: 'contact', field: 'BDAY' } });

    r.failNext({ status: 401, body: 'Unauthorized' });
    await expect(w.write([{ kind: 'create', ref: 'c', fields: person(3) }])).rejects.toBeInstanceOf(AuthError);
  });

  it('sees cards written straight into its storage folder (how the benchmark seeds)', async () => {
    const r = await server();
    const cards = [1, 2, 3].map((i) => ({
      name: `seed-${i}.vcf`,
      vcard: `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:seed-${i}\r\nN:Seed;P${i};;;\r\nFN:P${i} Seed\r\nEMAIL:p${i}@seed.example\r\nEND:VCARD\r\n`,
    }));
    const url = r.writeAddressBook(USER, `seeded-${randomUUID().slice(0, 6)}`, cards, 'Seeded');
    const c = connect(new URL(url).pathname);
    const page = await c.listPage(null, 10);
    expect(page.records.map((x) => x.fields['EMAIL.1']).sort()).toEqual(['p1@seed.example', 'p2@seed.example', 'p3@seed.example']);
    const cursor = await c.currentCursor();
    await c.write([{ kind: 'update', ref: 'u', id: page.records[0].id, fields: { TITLE: 'Seeded then edited' } }]);
    const set = await c.changesSince(cursor, 10);
    expect(set.changes).toHaveLength(1);
  });
});
