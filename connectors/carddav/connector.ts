import { createHash, randomUUID } from 'node:crypto';
import type { AppRecord, FieldDef } from '../../sync/types';
import {
  ConfigError,
  ContactError,
  FeedExpiredError,
  NotFoundError,
  VersionConflictError,
} from '../errors';
import type { Capabilities, Change, ChangeSet, Connector, Page, WriteOp, WriteResult } from '../types';
import { failure, invalidValue } from '../kit/writes';
import { sameResource, type CardDavClient, type Member } from './client';
import { resolveAddressBook } from './discover';
import { MappingError, applyFields, cardFields, carddavFields, newCard, parseCard, printCard, type VCardVersion } from './vcard';

// One CardDAV address book (RFC 6352) as a Connector. Ids are the cards' hrefs as the server writes them
// (paths; not assumed to end in .vcf), versions their ETags. The feed is RFC 6578 sync-collection: the cursor
// is the collection's sync-token, changed hrefs are read with addressbook-multiget and 404 members are deletions.

const MAX_PAGE = 200;
/** Cards read per addressbook-multiget: large enough to be few requests, small enough for any server. */
const MULTIGET_CHUNK = 100;

export const carddavCapabilities: Capabilities = {
  incremental: 'sync-token',
  reportsDeletions: true,
  tags: 'categories',
  unsubscribes: false,
  // No batch endpoint: one PUT or DELETE per card.
  maxBatchWrite: 1,
  maxPageSize: MAX_PAGE,
  // The key names the card's resource, and If-None-Match: * refuses a second create of it.
  idempotencyKeys: true,
  lookupByEmail: true,
  totalCount: true,
};

export interface CardDavSettings {
  serverUrl: string;
  addressBook?: string;
  /** Account key for caches: server, user and book, never the password. */
  cacheKey: string;
  /** The version of the cards this connector creates. */
  createVersion: VCardVersion;
}

// Activities connect afresh for every call, and discovery costs three or four PROPFINDs: the resolved book is
// remembered for a while per server, user and book name. A wrong guess costs only a ConfigError from the book.
const BOOK_TTL_MS = 10 * 60_000;
const books = new Map<string, { url: string; at: number }>();

// A full scan lists the book's hrefs once (PROPFIND Depth 1) and then reads them a page at a time; the list is
// kept here between pages. The cursor also names the last href handed out, so a scan continued in another
// process lists again and carries on after it: CardDAV has no paging of its own.
const LISTING_TTL_MS = 30 * 60_000;
const listings = new Map<string, { hrefs: string[]; at: number }>();

function remember<T extends { at: number }>(map: Map<string, T>, key: string, value: T, ttl: number): void {
  map.set(key, value);
  for (const [k, v] of map) if (Date.now() - v.at > ttl) map.delete(k);
  while (map.size > 50) map.delete(map.keys().next().value as string);
}

interface ListCursor {
  l: string;
  a: string;
}
const encodeCursor = (c: ListCursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decodeCursor(cursor: string): ListCursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as ListCursor;
    if (typeof c.l === 'string' && typeof c.a === 'string') return c;
  } catch {
    // fall through
  }
  throw new ConfigError('the listing cursor is not one this connector made');
}

/** A stable resource name from an idempotency key: a retried create names the same card. */
export function uidFromKey(key: string): string {
  const h = createHash('sha256').update(`rapport-carddav:${key}`).digest('hex');
  // Shaped as an RFC 9562 version-8 (custom) UUID.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** What the server said, for a user: its own text (Radicale's plain messages, or the XML precondition's name). */
function serverSays(status: number, body: string): string {
  const precondition = /<(?:[\w-]+:)?(no-uid-conflict|valid-address-data|supported-address-data|max-resource-size|need-privileges)\b/.exec(body);
  if (precondition) return `${status} ${precondition[1]}`;
  const plain = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
  return plain ? `${status} ${plain}` : String(status);
}

export class CardDavConnector implements Connector {
  readonly capabilities = carddavCapabilities;

  constructor(
    private readonly client: CardDavClient,
    private readonly settings: CardDavSettings,
  ) {}

  private async book(): Promise<string> {
    const hit = books.get(this.settings.cacheKey);
    if (hit && Date.now() - hit.at < BOOK_TTL_MS) return hit.url;
    const found = await resolveAddressBook(this.client, this.settings.serverUrl, this.settings.addressBook);
    const url = found.url.endsWith('/') ? found.url : `${found.url}/`;
    remember(books, this.settings.cacheKey, { url, at: Date.now() }, BOOK_TTL_MS);
    return url;
  }

  /** A read the book refused: the scope is wrong (gone, not ours) rather than one contact. */
  private unexpected(what: string, status: number, body = ''): never {
    books.delete(this.settings.cacheKey);
    throw new ConfigError(`CardDAV ${what}: ${serverSays(status, body)}`, status);
  }

  private toRecord(member: Member): AppRecord | null {
    if (member.status !== 200 || !member.data) return null;
    return { id: member.href, version: member.etag ?? '', fields: cardFields(parseCard(member.data)) };
  }

  async fieldCatalog(): Promise<FieldDef[]> {
    return carddavFields.map((f) => ({ ...f }));
  }

  private async listHrefs(book: string): Promise<string[]> {
    // An initial sync-collection (empty token) lists every member with its ETag, and servers answer it from
    // their sync state: on Radicale about seven times faster than PROPFIND Depth 1, which matters at 10,000 cards.
    const initial = await this.client.syncCollection(book, '');
    if ('members' in initial) return initial.members.filter((m) => m.status === 200).map((m) => m.href).sort();
    // Servers without sync-collection, or refusing an unlimited initial one (Sabre's 507), are listed by PROPFIND.
    const responses = await this.client.propfind(book, { 'd:getetag': {}, 'd:resourcetype': {} }, '1');
    const first = responses[0];
    if (first && typeof first.raw !== 'object') this.unexpected(`listing ${new URL(book).pathname}`, first.status, String(first.raw ?? ''));
    return responses
      .filter((r) => r.href && !sameResource(String(r.href), book) && !String(r.href).endsWith('/') && r.status < 300)
      .map((r) => String(r.href))
      .sort();
  }

  async listPage(cursor: string | null, pageSize: number): Promise<Page> {
    const book = await this.book();
    const size = Math.min(Math.max(1, pageSize), MAX_PAGE);
    let listing: { id: string; hrefs: string[] };
    let after = '';
    if (cursor === null) {
      listing = { id: randomUUID(), hrefs: await this.listHrefs(book) };
      remember(listings, listing.id, { hrefs: listing.hrefs, at: Date.now() }, LISTING_TTL_MS);
    } else {
      const c = decodeCursor(cursor);
      after = c.a;
      const kept = listings.get(c.l);
      listing = { id: c.l, hrefs: kept ? kept.hrefs : await this.listHrefs(book) };
      if (!kept) remember(listings, c.l, { hrefs: listing.hrefs, at: Date.now() }, LISTING_TTL_MS);
    }
    // Sorted, so "after the last one handed out" holds across a listing taken again elsewhere.
    let start = 0;
    if (after) {
      let lo = 0;
      let hi = listing.hrefs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (listing.hrefs[mid] <= after) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    const slice = listing.hrefs.slice(start, start + size);
    const records = await this.read(book, slice);
    const done = start + size >= listing.hrefs.length;
    if (done) listings.delete(listing.id);
    return {
      records,
      nextCursor: done ? null : encodeCursor({ l: listing.id, a: slice[slice.length - 1] }),
      total: listing.hrefs.length,
    };
  }

  /** Cards of some hrefs, in chunks; one deleted meanwhile is simply absent. */
  private async read(book: string, hrefs: string[]): Promise<AppRecord[]> {
    const out: AppRecord[] = [];
    for (let i = 0; i < hrefs.length; i += MULTIGET_CHUNK) {
      const members = await this.client.multiget(book, hrefs.slice(i, i + MULTIGET_CHUNK));
      if (members.length === 1 && members[0].href === '') this.unexpected('addressbook-multiget', members[0].status, members[0].data ?? '');
      for (const m of members) {
        const record = this.toRecord(m);
        if (record) out.push(record);
      }
    }
    return out;
  }

  async currentCursor(): Promise<string> {
    const book = await this.book();
    const responses = await this.client.propfind(book, { 'd:sync-token': {} }, '0');
    const own = responses.find((r) => r.href && sameResource(String(r.href), book)) ?? responses[0];
    const token = own?.props?.syncToken;
    if (token === undefined || token === null || token === '') {
      this.unexpected(`reading the sync-token of ${new URL(book).pathname} (the server may not support sync-collection)`, own?.status ?? 0);
    }
    return String(token);
  }

  /**
   * sync-collection since the token, then the changed cards by multiget. The whole answer is read each call, and a
   * page is the part after the last href already handed out; the cursor keeps the token the pages started from
   * until the last page, which hands out the new one. A change made between pages is reported now or next time.
   */
  async changesSince(cursor: string, pageSize: number): Promise<ChangeSet> {
    const book = await this.book();
    let since = cursor;
    let after = '';
    if (cursor.startsWith('page:')) {
      const c = decodeCursor(cursor.slice(5));
      since = c.l;
      after = c.a;
    }
    const reply = await this.client.syncCollection(book, since);
    if ('status' in reply) {
      // RFC 6578 3.2: an unknown, malformed or expired token is a 403 with DAV:valid-sync-token.
      if (reply.status === 403 && /valid-sync-token/.test(reply.body)) {
        throw new FeedExpiredError('the CardDAV server no longer accepts the sync-token: a full re-scan is needed', 403, 'valid-sync-token');
      }
      this.unexpected(`sync-collection on ${new URL(book).pathname}`, reply.status, reply.body);
    }
    const latest = new Map<string, Member>();
    for (const m of reply.members) latest.set(m.href, m);
    const hrefs = [...latest.keys()].sort().filter((h) => h > after);
    const size = Math.min(Math.max(1, pageSize), MAX_PAGE);
    const page = hrefs.slice(0, size);
    const hasMore = hrefs.length > size;

    const changes: Change[] = [];
    const gone = new Set(page.filter((h) => latest.get(h)!.status === 404 || latest.get(h)!.status === 410));
    const read = await this.read(
      book,
      page.filter((h) => !gone.has(h)),
    );
    const byId = new Map(read.map((r) => [r.id, r]));
    for (const href of page) {
      const record = byId.get(href) ?? [...byId.values()].find((r) => sameResource(r.id, href));
      if (record) changes.push({ deleted: false, record });
      // Gone by the time it was read: a deletion the next sync-collection reports again.
      else changes.push({ deleted: true, id: href });
    }
    return {
      changes,
      nextCursor: hasMore ? `page:${encodeCursor({ l: since, a: page[page.length - 1] })}` : reply.token,
      hasMore,
    };
  }

  async get(id: string): Promise<AppRecord | null> {
    const book = await this.book();
    const reply = await this.client.request(new URL(id, book).href, { method: 'GET', headers: { accept: 'text/vcard' } });
    if (reply.status === 404 || reply.status === 410) return null;
    if (reply.status !== 200) this.unexpected(`GET ${new URL(id, book).pathname}`, reply.status, reply.text);
    const etag = reply.headers.get('etag');
    if (etag) return { id, version: etag, fields: cardFields(parseCard(reply.text)) };
    // No ETag on GET (allowed): multiget carries it.
    const [record] = await this.read(book, [id]);
    return record ?? null;
  }

  async findByEmail(email: string): Promise<AppRecord[]> {
    const book = await this.book();
    const wanted = email.trim().toLowerCase();
    const members = await this.client.queryEmail(book, email.trim());
    if (members.length === 1 && members[0].href === '') this.unexpected('addressbook-query', members[0].status, members[0].data ?? '');
    // The filter is the server's; the check is ours, for servers that match loosely or ignore match-type.
    return members
      .map((m) => this.toRecord(m))
      .filter((r): r is AppRecord => r !== null)
      .filter((r) => ['EMAIL.1', 'EMAIL.2', 'EMAIL.3'].some((k) => String(r.fields[k] ?? '').toLowerCase() === wanted) || false);
  }

  async write(ops: WriteOp[]): Promise<WriteResult[]> {
    const book = await this.book();
    const results: WriteResult[] = [];
    for (const op of ops) {
      try {
        if (op.kind === 'create') results.push(await this.create(book, op));
        else if (op.kind === 'update') results.push(await this.update(book, op, true));
        else results.push(await this.remove(book, op));
      } catch (err) {
        if (!(err instanceof MappingError)) throw err;
        results.push(invalidValue(op.ref, err));
      }
    }
    return results;
  }

  /** A refused write: 412 is a version clash, 404 a vanished card, anything else the server's word on this card. */
  private refused(ref: string, step: string, status: number, body: string): WriteResult {
    const says = serverSays(status, body);
    if (status === 412) return failure(ref, new VersionConflictError(`the card changed on the server (${says})`, status, 'precondition_failed'));
    if (status === 404 || status === 410) return failure(ref, new NotFoundError(`the card no longer exists (${says})`, status, 'not_found'));
    const code = /no-uid-conflict|valid-address-data|supported-address-data|max-resource-size|need-privileges/.exec(body)?.[0] ?? (status === 403 ? 'forbidden' : undefined);
    return failure(ref, new ContactError(`the CardDAV server refused the ${step}: ${says}`, status, code));
  }

  /** The record of a card just written: what we sent, at the ETag the server gave (or read back when it gave none). */
  private async written(id: string, etag: string | null, card: string): Promise<AppRecord | null> {
    // A server that rewrites the card may send no ETag (RFC 6352 6.3.2.3): then its version is read back.
    if (!etag) return this.get(id);
    return { id, version: etag, fields: cardFields(parseCard(card)) };
  }

  private async create(book: string, op: Extract<WriteOp, { kind: 'create' }>): Promise<WriteResult> {
    const uid = op.idempotencyKey ? uidFromKey(op.idempotencyKey) : randomUUID();
    const url = new URL(`${uid}.vcf`, book);
    const id = url.pathname;
    const card = printCard(newCard(uid, op.fields, this.settings.createVersion));
    const reply = await this.client.request(url.href, {
      method: 'PUT',
      headers: { 'if-none-match': '*', 'content-type': 'text/vcard; charset=utf-8' },
      body: card,
    });
    if (reply.status === 201 || reply.status === 204 || reply.status === 200) {
      return { ref: op.ref, ok: true, record: await this.written(id, reply.headers.get('etag'), card) };
    }
    if (reply.status === 412 && op.idempotencyKey) {
      // The resource exists: this create already happened (a retry after a crash). The card is the result.
      const existing = await this.get(id);
      if (existing) return { ref: op.ref, ok: true, record: existing };
    }
    return this.refused(op.ref, 'create', reply.status, reply.text);
  }

  /**
   * Read-modify-write: the card as the server holds it, with only the mapped properties changed, sent with
   * If-Match. With the engine's version a clash is the engine's to resolve; with our own read we read again once.
   */
  private async update(book: string, op: Extract<WriteOp, { kind: 'update' }>, mayRetry: boolean): Promise<WriteResult> {
    const url = new URL(op.id, book);
    const current = await this.client.request(url.href, { method: 'GET', headers: { accept: 'text/vcard' } });
    if (current.status !== 200) return this.refused(op.ref, 'update', current.status, current.text);
    const etag = current.headers.get('etag');
    if (op.version !== undefined && etag && op.version !== etag) {
      return failure(op.ref, new VersionConflictError(`the card is at ETag ${etag}, not ${op.version}`, 412, 'precondition_failed'));
    }
    const comp = parseCard(current.text);
    applyFields(comp, op.fields);
    const card = printCard(comp);
    const ifMatch = op.version ?? etag;
    const reply = await this.client.request(url.href, {
      method: 'PUT',
      headers: { ...(ifMatch ? { 'if-match': ifMatch } : {}), 'content-type': 'text/vcard; charset=utf-8' },
      body: card,
    });
    if (reply.status === 201 || reply.status === 204 || reply.status === 200) {
      return { ref: op.ref, ok: true, record: await this.written(op.id, reply.headers.get('etag'), card) };
    }
    if (reply.status === 412 && op.version === undefined && mayRetry) return this.update(book, op, false);
    return this.refused(op.ref, 'update', reply.status, reply.text);
  }

  private async remove(book: string, op: Extract<WriteOp, { kind: 'delete' }>): Promise<WriteResult> {
    const reply = await this.client.request(new URL(op.id, book).href, {
      method: 'DELETE',
      headers: op.version ? { 'if-match': op.version } : {},
    });
    // Radicale answers 200 with a multistatus, others 204.
    if (reply.status >= 200 && reply.status < 300) return { ref: op.ref, ok: true, record: null };
    return this.refused(op.ref, 'delete', reply.status, reply.text);
  }
}
