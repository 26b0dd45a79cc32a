import type { AppRecord, FieldDef } from '../../sync/types';
import { ConfigError, ConnectorError, FeedExpiredError, NotFoundError, VersionConflictError } from '../errors';
import type { Capabilities, Change, ChangeSet, Connector, Page, WriteOp, WriteResult } from '../types';
import { allPages } from '../kit/paging';
import { unexpected } from '../kit/statuses';
import { failure, invalidValue, refusal } from '../kit/writes';
import { pipelinerStatusRules, type PipelinerClient, type PipelinerErrorBody, type QueryValue, type Reply } from './client';
import { InvalidCursorError, OVERLAP_MICROS, decodeCursor, encodeCursor, formatTimestamp, parseTimestamp, rowHash, windowOf, type FeedCursor } from './feed';
import { MappingError, catalogFromMetadata, toBody, toRecord, type Relations, type WireContact, type WireField } from './fields';

export type Ownership = 'own' | 'own-or-edit' | 'all-visible';

export interface PipelinerScope {
  salesUnit: string;
  ownership: Ownership;
  /** the Pipeliner user (id or email) "own" refers to and who owns created contacts by default */
  user?: string;
}

export interface PipelinerOptions {
  /** owner of created contacts (a Client id or email); by default the scope's user */
  ownerId?: string;
  /** sales unit of created contacts; by default the scope's */
  salesUnitId?: string;
}

interface ListBody<T> {
  success: boolean;
  total: number;
  page_info: { start_cursor: string | null; end_cursor: string | null; has_next_page: boolean; has_previous_page: boolean };
  data: T[];
}
interface ClientRow {
  id: string;
  email: string;
  default_unit_id?: string;
}
interface UnitRow {
  id: string;
  name: string;
}

const MAX_PAGE = 100;

export const pipelinerCapabilities: Capabilities = {
  incremental: 'modified-since',
  reportsDeletions: true,
  // Pipeliner's tags are Tag entities linked by id; this connector does not map them yet.
  tags: 'none',
  unsubscribes: false,
  // One contact per request: the batch endpoint's per-item answers are not documented well enough to rely on.
  maxBatchWrite: 1,
  maxPageSize: MAX_PAGE,
  idempotencyKeys: false,
  lookupByEmail: true,
  totalCount: true,
};

/** Keeps a lookup's answer for the connector's lifetime, but not its failure: a throttled read is tried again. */
function remember<T>(get: () => Promise<T>): () => Promise<T> {
  let kept: Promise<T> | null = null;
  return () => {
    kept ??= get().catch((err: unknown) => {
      kept = null;
      throw err;
    });
    return kept;
  };
}

/** A refused write of one contact, with Pipeliner's own message and the field it names (no If-Match: no 412). */
const refused = (reply: Reply<unknown>, step: string): ConnectorError =>
  refusal(step, reply, pipelinerStatusRules, { checksVersions: false, field: (reply.body as PipelinerErrorBody | null)?.field_errors?.[0]?.field_name });

export class PipelinerConnector implements Connector {
  readonly capabilities = pipelinerCapabilities;
  private customKeys: string[] = [];
  private readonly clients = remember(() =>
    this.listAll<ClientRow>('Clients', 'reading the users').then((rows) => new Map(rows.map((c) => [c.id, c]))),
  );
  private readonly units = remember(() => this.listAll<UnitRow>('SalesUnits', 'reading the sales units'));
  private readonly catalog = remember(() =>
    this.listAll<WireField>('Fields', 'reading the contact fields', { 'filter[entity_name]': 'Contact' }).then((fields) => {
      const catalog = catalogFromMetadata(fields);
      this.customKeys = catalog.filter((f) => f.key.startsWith('cf_')).map((f) => f.key);
      return catalog;
    }),
  );

  constructor(
    private readonly client: PipelinerClient,
    private readonly scope: PipelinerScope,
    private readonly options: PipelinerOptions = {},
  ) {}

  /** Statuses a read does not expect: the space, the scope or the API user's rights are wrong. */
  private unexpected(what: string, reply: Reply<unknown>): never {
    const body = reply.body as PipelinerErrorBody | null;
    if (reply.status === 404 && body?.status === 404) throw new ConfigError(`Pipeliner has no such space (${what})`, 404);
    unexpected(what, reply, pipelinerStatusRules);
  }

  /** Every row of a small entity list (users, sales units, field metadata). */
  private async listAll<T>(entity: string, what: string, query: Record<string, QueryValue> = {}): Promise<T[]> {
    return allPages(null, async (after: string | null) => {
      const reply = await this.client.call<ListBody<T>>('GET', `/entities/${entity}`, { query: { ...query, first: MAX_PAGE, after } });
      if (reply.status !== 200) this.unexpected(what, reply);
      return { items: reply.body.data, next: reply.body.page_info.has_next_page ? reply.body.page_info.end_cursor : null };
    });
  }

  /** A user given by id or email. */
  private async userId(idOrEmail: string, what: string): Promise<string> {
    const wanted = idOrEmail.trim().toLowerCase();
    const found = [...(await this.clients()).values()].find((c) => c.id.toLowerCase() === wanted || c.email.toLowerCase() === wanted);
    if (!found) throw new ConfigError(`${what}: Pipeliner has no user "${idOrEmail}"`);
    return found.id;
  }

  /** A sales unit given by id or name. */
  private async unitId(idOrName: string, what: string): Promise<string> {
    const wanted = idOrName.trim().toLowerCase();
    const units = await this.units();
    const found = units.find((u) => u.id.toLowerCase() === wanted) ?? units.find((u) => u.name.trim().toLowerCase() === wanted);
    if (!found) throw new ConfigError(`${what}: Pipeliner has no sales unit "${idOrName}"`);
    return found.id;
  }

  private async relations(): Promise<Relations> {
    const [clients, units] = await Promise.all([this.clients(), this.units()]);
    const unitNames = new Map(units.map((u) => [u.id, u.name]));
    return {
      ownerEmail: (id) => (id ? (clients.get(id)?.email ?? null) : null),
      unitName: (id) => (id ? (unitNames.get(id) ?? null) : null),
    };
  }

  /** Server-side filters of the scope; "own-or-edit" also needs a check of each row (scopeAdmits). */
  private async scopeFilters(): Promise<Record<string, QueryValue>> {
    const filters: Record<string, QueryValue> = { 'filter[unit_id]': await this.unitId(this.scope.salesUnit, 'scope.salesUnit') };
    if (this.scope.ownership === 'own') filters['filter[owner_id]'] = await this.userId(this.scope.user ?? '', 'scope.user');
    return filters;
  }

  private async scopeAdmits(): Promise<(c: WireContact) => boolean> {
    if (this.scope.ownership !== 'own-or-edit') return () => true;
    const me = await this.userId(this.scope.user ?? '', 'scope.user');
    return (c) => c.owner_id === me || (c.sharing_clients ?? []).some((s) => s.client_id === me && (s.role ?? 'editor') === 'editor');
  }

  private async toRecords(contacts: WireContact[]): Promise<AppRecord[]> {
    const relations = await this.relations();
    return contacts.map((c) => toRecord(c, relations, this.customKeys));
  }

  fieldCatalog(): Promise<FieldDef[]> {
    return this.catalog();
  }

  async listPage(cursor: string | null, pageSize: number): Promise<Page> {
    await this.fieldCatalog();
    const reply = await this.client.call<ListBody<WireContact>>('GET', '/entities/Contacts', {
      query: { ...(await this.scopeFilters()), first: Math.min(Math.max(1, pageSize), MAX_PAGE), after: cursor },
    });
    if (reply.status !== 200) this.unexpected('listing contacts', reply);
    const admits = await this.scopeAdmits();
    const { page_info: info } = reply.body;
    return {
      records: await this.toRecords(reply.body.data.filter(admits)),
      nextCursor: info.has_next_page ? info.end_cursor : null,
      // With "own-or-edit" the server's total counts the whole sales unit, not the scope.
      ...(this.scope.ownership === 'own-or-edit' ? {} : { total: reply.body.total }),
    };
  }

  /** Rows by `modified`, newest or oldest first, deleted ones included. */
  private async byModified(query: Record<string, QueryValue>, what: string): Promise<ListBody<WireContact>> {
    const reply = await this.client.call<ListBody<WireContact>>('GET', '/entities/Contacts', {
      // The parameter table of https://developers.pipelinersales.com/api-docs/core-api-concepts/api-parameters
      // defines include_deleted; the page's example URL spells it include-deleted, which the table does not define.
      query: { ...(await this.scopeFilters()), include_deleted: 'true', ...query },
    });
    if (reply.status !== 200) this.unexpected(what, reply);
    return reply.body;
  }

  private modifiedOf(c: WireContact): number {
    const micros = parseTimestamp(c.modified);
    if (micros === null) throw new ConfigError(`Pipeliner returned a modified time that cannot be read: "${c.modified}"`);
    return micros;
  }

  async currentCursor(): Promise<string> {
    // The server's newest `modified`, not this machine's clock: the two may disagree by more than the overlap.
    const body = await this.byModified({ 'order-by': '-modified', first: MAX_PAGE, 'load-only': 'id,modified' }, 'reading the feed position');
    const rows = body.data.map((c): [string, number] => [rowHash(c.id, this.modifiedOf(c)), this.modifiedOf(c)]);
    const position = rows.length > 0 ? rows[0][1] : 0;
    return encodeCursor({ v: 1, s: position, seen: windowOf(rows, position) });
  }

  async changesSince(cursor: string, pageSize: number): Promise<ChangeSet> {
    let c: FeedCursor;
    try {
      c = decodeCursor(cursor);
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new FeedExpiredError(`the Pipeliner feed cursor cannot be read (${err.message})`);
      throw err;
    }
    await this.fieldCatalog();
    const body = await this.byModified(
      {
        'filter[modified]': formatTimestamp(Math.max(0, c.s - OVERLAP_MICROS)),
        'filter-op[modified]': 'gte',
        'order-by': 'modified',
        first: Math.min(Math.max(1, pageSize), MAX_PAGE),
        after: c.after,
      },
      'reading changes',
    );
    const seen = new Set(c.seen.map(([hash]) => hash));
    const admits = await this.scopeAdmits();
    const relations = await this.relations();
    const changes: Change[] = [];
    let newest = c.m ?? c.s;
    const window: [string, number][] = [...(c.w ?? [])];
    for (const row of body.data) {
      const modified = this.modifiedOf(row);
      const hash = rowHash(row.id, modified);
      newest = Math.max(newest, modified);
      window.push([hash, modified]);
      if (seen.has(hash)) continue;
      if (row.is_deleted) changes.push({ deleted: true, id: row.id });
      // A contact that left the scope (new owner, other unit) is not reported as deleted: leaving a scope must
      // never turn into a deletion on the other side.
      else if (admits(row)) changes.push({ deleted: false, record: toRecord(row, relations, this.customKeys) });
    }
    if (body.page_info.has_next_page && body.page_info.end_cursor) {
      const next: FeedCursor = { ...c, after: body.page_info.end_cursor, m: newest, w: windowOf(window, newest) };
      return { changes, nextCursor: encodeCursor(next), hasMore: true };
    }
    // Rows of earlier cycles still inside the new window were read again by this pass, so `window` holds them.
    const next: FeedCursor = { v: 1, s: newest, seen: windowOf([...c.seen, ...window], newest) };
    return { changes, nextCursor: encodeCursor(next), hasMore: false };
  }

  async get(id: string): Promise<AppRecord | null> {
    await this.fieldCatalog();
    const contact = await this.fetchOne(id);
    return contact ? (await this.toRecords([contact]))[0] : null;
  }

  async findByEmail(email: string): Promise<AppRecord[]> {
    await this.fieldCatalog();
    const wanted = email.trim().toLowerCase();
    if (!wanted) return [];
    // Pipeliner filters combine with AND, so each of the five email slots takes a request of its own.
    const found = new Map<string, WireContact>();
    for (let slot = 1; slot <= 5; slot++) {
      const reply = await this.client.call<ListBody<WireContact>>('GET', '/entities/Contacts', {
        query: { [`filter[email${slot}]`]: wanted, first: MAX_PAGE },
      });
      if (reply.status !== 200) this.unexpected('looking up contacts by email', reply);
      for (const c of reply.body.data) if (String(c[`email${slot}`] ?? '').trim().toLowerCase() === wanted) found.set(c.id, c);
    }
    return this.toRecords([...found.values()]);
  }

  private async fetchOne(id: string): Promise<WireContact | null> {
    const reply = await this.client.call<{ data: WireContact }>('GET', `/entities/Contacts/${encodeURIComponent(id)}`);
    if (reply.status === 404 && (reply.body as PipelinerErrorBody | null)?.status !== 404) return null;
    if (reply.status !== 200) this.unexpected(`reading contact ${id}`, reply);
    return reply.body.data.is_deleted ? null : reply.body.data;
  }

  async write(ops: WriteOp[]): Promise<WriteResult[]> {
    await this.fieldCatalog();
    const results: WriteResult[] = [];
    for (const op of ops) results.push(await this.writeOne(op));
    return results;
  }

  /**
   * Pipeliner has no If-Match: a write that carries the engine's version reads the contact first and refuses
   * when its revision moved on (last write wins otherwise, inside the short gap between read and write).
   */
  private async stale(op: Extract<WriteOp, { kind: 'update' | 'delete' }>): Promise<WriteResult | null> {
    if (op.version === undefined) return null;
    const current = await this.fetchOne(op.id);
    if (!current) return failure(op.ref, new NotFoundError(`contact ${op.id} does not exist in Pipeliner`, 404));
    if (String(current.revision) !== op.version) {
      return failure(op.ref, new VersionConflictError(`contact ${op.id} is at revision ${current.revision}, not ${op.version}`, 412, 'revision_changed'));
    }
    return null;
  }

  private async writeOne(op: WriteOp): Promise<WriteResult> {
    try {
      if (op.kind === 'create') {
        const body: Record<string, string> = toBody(op.fields);
        const owner = this.options.ownerId ?? this.scope.user;
        // Without an owner Pipeliner refuses the create with its own message, which is what the user should see.
        if (owner) body.owner_id = await this.userId(owner, this.options.ownerId ? 'options.ownerId' : 'scope.user');
        body.unit_id = await this.unitId(this.options.salesUnitId ?? this.scope.salesUnit, this.options.salesUnitId ? 'options.salesUnitId' : 'scope.salesUnit');
        const reply = await this.client.call<{ data: WireContact }>('POST', '/entities/Contacts', { body });
        if (reply.status !== 200 && reply.status !== 201) return failure(op.ref, refused(reply, 'create'));
        return { ref: op.ref, ok: true, record: (await this.toRecords([reply.body.data]))[0] };
      }
      if (op.kind === 'update') {
        const body = toBody(op.fields);
        const stale = await this.stale(op);
        if (stale) return stale;
        // validation-level=2 checks only the fields sent: a contact that predates a newly required field can
        // still be updated, as the web app allows.
        const reply = await this.client.call<{ data: WireContact }>('PATCH', `/entities/Contacts/${encodeURIComponent(op.id)}`, {
          query: { 'validation-level': 2 },
          body,
        });
        if (reply.status !== 200) return failure(op.ref, refused(reply, 'update'));
        return { ref: op.ref, ok: true, record: (await this.toRecords([reply.body.data]))[0] };
      }
      const stale = await this.stale(op);
      if (stale) return stale;
      const reply = await this.client.call('DELETE', `/entities/Contacts/${encodeURIComponent(op.id)}`);
      if (reply.status !== 200 && reply.status !== 204) return failure(op.ref, refused(reply, 'delete'));
      return { ref: op.ref, ok: true, record: null };
    } catch (err) {
      if (err instanceof MappingError) return invalidValue(op.ref, err);
      throw err;
    }
  }
}
