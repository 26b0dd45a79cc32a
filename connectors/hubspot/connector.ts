import type {
  BatchInputSimplePublicObjectId,
  BatchReadInputSimplePublicObjectId,
  Filter as VendorFilter,
  PublicObjectSearchRequest,
  SimplePublicObjectBatchInput,
  SimplePublicObjectBatchInputUpsert,
  SimplePublicObjectInputForCreate,
} from '@hubspot/api-client/lib/codegen/crm/contacts/models/all';
import type { Assert, OnlyVendorKeys } from '../kit/wire';
import type { AppRecord, FieldDef } from '../../sync/types';
import {
  ConfigError,
  ContactError,
  FeedExpiredError,
  NotFoundError,
  VersionConflictError,
} from '../errors';
import type { Capabilities, Change, ChangeSet, Connector, Page, WriteOp, WriteResult } from '../types';
import { unexpected } from '../kit/statuses';
import { failure, inChunks, invalidValue, type Indexed } from '../kit/writes';
import { hubspotCategory, hubspotMessage, hubspotStatusRules, type HubSpotClient, type HubSpotErrorBody, type Reply } from './client';
import { OVERLAP_MS, decodeFeed, encodeFeed, nextCycle, prune, type FeedState } from './feed';
import { LISTS_FIELD, tagList, type HubSpotLists, type ListsScope } from './lists';
import {
  MappingError,
  customField,
  hubspotStandardFields,
  millis,
  toProperties,
  toRecord,
  type FieldCodec,
  type WireContact,
  type WireOwner,
  type WireProperty,
} from './fields';

const CONTACTS = '/crm/v3/objects/contacts';
const MAX_BATCH = 100;
const MAX_LIST_PAGE = 100;
const MAX_SEARCH_PAGE = 200;

export const hubspotCapabilities: Capabilities = {
  incremental: 'modified-since',
  // Deletions are left to the engine's reconcile. Search never returns archived contacts, and the archived list
  // (GET /crm/v3/objects/contacts?archived=true) cannot be filtered by date, so reading it in every cycle costs
  // as much as the portal has archived contacts (kept 90 days), every few minutes, for what a daily listing of
  // ids finds just as well.
  reportsDeletions: false,
  tags: 'tags',
  unsubscribes: true,
  maxBatchWrite: MAX_BATCH,
  maxPageSize: MAX_LIST_PAGE,
  // HubSpot has no idempotency key, but creates go through batch/upsert keyed by email, so a retried create
  // updates the contact the first attempt made instead of making a second one.
  idempotencyKeys: false,
  lookupByEmail: true,
  totalCount: true,
};

export interface HubSpotScope {
  baseUrl: string;
  /** A multiple-checkboxes property, or contact lists (all of them, or those named); see lists.ts. */
  tagsFrom?: { property: string } | { lists: ListsScope };
  owner: 'mine' | 'all';
}

interface ListBody {
  results: WireContact[];
  paging?: { next?: { after: string } };
}
interface SearchBody extends ListBody {
  total: number;
}
interface BatchBody {
  status?: string;
  results: (WireContact & { new?: boolean })[];
  errors?: { status?: string; category?: string; message?: string; context?: { ids?: string[] } }[];
  numErrors?: number;
}
interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
}
export type FilterChecked = Assert<OnlyVendorKeys<Filter, VendorFilter>>;

/** A request body's keys, checked against HubSpot's model of it (@hubspot/api-client's are classes with enums). */
type BodyOf<T> = Partial<Record<keyof T, unknown>>;

/** The account's properties and owners, read once per connector: they shape every read and write. */
interface Schema {
  catalog: FieldDef[];
  codecs: FieldCodec[];
  byKey: Map<string, FieldCodec>;
  /** What reads ask for: every catalog property. */
  properties: string[];
  tags?: WireProperty;
}

/** The property a HubSpot validation error names, if any. */
function fieldOf(body: unknown): string | undefined {
  const context = (body as HubSpotErrorBody | null)?.errors?.[0]?.context;
  const named = context?.propertyName;
  if (Array.isArray(named) && typeof named[0] === 'string') return named[0];
  const match = /"name":"([^"]+)"/.exec(hubspotMessage(body, ''));
  return match?.[1];
}

function contactError(reply: Reply<unknown>): ContactError {
  return new ContactError(hubspotMessage(reply.body, `HubSpot answered ${reply.status}`), reply.status, hubspotCategory(reply.body), fieldOf(reply.body));
}

export class HubSpotConnector implements Connector {
  readonly capabilities = hubspotCapabilities;
  private schemaLoad: Promise<Schema> | null = null;
  private ownerLoad: Promise<string> | null = null;

  constructor(
    private readonly client: HubSpotClient,
    private readonly scope: HubSpotScope,
    /** For owner "mine": the email of the user who authorized the app (OAuth token info). */
    private readonly whoAmI: () => Promise<string | null>,
    /** Set when tags come from lists. */
    private readonly lists: HubSpotLists | null = null,
  ) {}

  private unexpected(what: string, reply: Reply<unknown>): never {
    unexpected(what, reply, hubspotStatusRules);
  }

  // ---- schema

  private schema(): Promise<Schema> {
    this.schemaLoad ??= this.loadSchema().catch((err: unknown) => {
      this.schemaLoad = null;
      throw err;
    });
    return this.schemaLoad;
  }

  private async loadSchema(): Promise<Schema> {
    const [props, owners] = await Promise.all([
      this.client.call<{ results: WireProperty[] }>('GET', '/crm/v3/properties/contacts'),
      this.client.call<{ results: WireOwner[]; paging?: { next?: { after: string } } }>('GET', '/crm/v3/owners', { query: { limit: 500 } }),
    ]);
    if (props.status !== 200) this.unexpected('reading the contact properties', props);
    if (owners.status !== 200) this.unexpected('reading the owners', owners);
    const byName = new Map(props.body.results.map((p) => [p.name, p]));
    const standardKeys = new Set(hubspotStandardFields.map((f) => f.key));

    const catalog: FieldDef[] = hubspotStandardFields.map((f) =>
      f.key === 'hubspot_owner_id' ? { ...f, values: owners.body.results.map((o) => ({ value: o.id, label: o.email })) } : { ...f },
    );
    let tags: WireProperty | undefined;
    const tagsFrom = this.scope.tagsFrom;
    if (this.lists) {
      // Not a property: the names of the contact's lists. With named lists, the catalog offers only those names,
      // so the engine does not send HubSpot tags it has no list in scope for.
      const named = tagsFrom && 'lists' in tagsFrom && tagsFrom.lists !== 'all' ? tagsFrom.lists : null;
      catalog.push({
        key: LISTS_FIELD,
        label: 'Lists',
        type: 'multipicklist',
        canonical: 'tags',
        ...(named ? { values: named.map((n) => ({ value: n, label: n })) } : {}),
      });
    } else if (tagsFrom && 'property' in tagsFrom) {
      tags = byName.get(tagsFrom.property);
      if (!tags) throw new ConfigError(`HubSpot has no contact property "${tagsFrom.property}" to hold tags`);
      if (tags.type !== 'enumeration' || tags.fieldType !== 'checkbox') {
        throw new ConfigError(`the HubSpot property "${tags.name}" holds tags only if it is a multiple checkboxes property; it is ${tags.type}/${tags.fieldType}`);
      }
      // Free-form, like tags elsewhere: options are added when a write needs a new one.
      catalog.push({ key: tags.name, label: tags.label, type: 'multipicklist', canonical: 'tags' });
    }
    for (const p of props.body.results) {
      if (p.hubspotDefined || standardKeys.has(p.name) || p.name === tags?.name || (this.lists && p.name === LISTS_FIELD)) continue;
      catalog.push(customField(p));
    }
    const codecs: FieldCodec[] = catalog.filter((def) => !(this.lists && def.key === LISTS_FIELD)).map((def) => {
      if (def.key === tags?.name) {
        return { def, multi: true, labels: new Map((tags.options ?? []).map((o) => [o.value, o.label])) };
      }
      return { def, multi: def.type === 'multipicklist' };
    });
    return { catalog, codecs, byKey: new Map(codecs.map((c) => [c.def.key, c])), properties: [...codecs.map((c) => c.def.key), 'lastmodifieddate'], tags };
  }

  /** The owner id of the user behind the credentials, for owner "mine". */
  private myOwnerId(): Promise<string> {
    this.ownerLoad ??= (async () => {
      const email = await this.whoAmI();
      if (!email) throw new ConfigError('owner "mine" needs OAuth credentials: a private-app token belongs to no user');
      const reply = await this.client.call<{ results: WireOwner[] }>('GET', '/crm/v3/owners', { query: { email } });
      if (reply.status !== 200) this.unexpected('reading the owner', reply);
      const owner = reply.body.results[0];
      if (!owner) throw new ConfigError(`the HubSpot user ${email} is not an owner in this account`);
      return owner.id;
    })().catch((err: unknown) => {
      this.ownerLoad = null;
      throw err;
    });
    return this.ownerLoad;
  }

  private async ownerFilters(): Promise<Filter[]> {
    return this.scope.owner === 'mine' ? [{ propertyName: 'hubspot_owner_id', operator: 'EQ', value: await this.myOwnerId() }] : [];
  }

  private async record(contact: WireContact): Promise<AppRecord> {
    const record = toRecord(contact, (await this.schema()).codecs);
    if (this.lists) record.fields[LISTS_FIELD] = this.lists.tagsOf(await this.lists.index(), contact.id);
    return record;
  }

  async fieldCatalog(): Promise<FieldDef[]> {
    return (await this.schema()).catalog.map((f) => ({ ...f }));
  }

  // ---- reads

  private async search(filters: Filter[], sort: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }, limit: number, after?: string): Promise<SearchBody> {
    const { properties } = await this.schema();
    const reply = await this.client.call<SearchBody>('POST', `${CONTACTS}/search`, {
      body: { filterGroups: filters.length > 0 ? [{ filters }] : [], sorts: [sort], properties, limit, ...(after ? { after } : {}) } satisfies BodyOf<PublicObjectSearchRequest>,
    });
    if (reply.status !== 200) this.unexpected('searching contacts', reply);
    return reply.body;
  }

  async listPage(cursor: string | null, pageSize: number): Promise<Page> {
    const { properties } = await this.schema();
    if (this.scope.owner === 'mine') {
      // The list endpoint cannot filter by owner; search can, paged by id so that edits during the scan move nothing.
      const filters = [...(await this.ownerFilters()), ...(cursor ? [{ propertyName: 'hs_object_id', operator: 'GT', value: cursor }] : [])];
      const limit = Math.min(Math.max(1, pageSize), MAX_SEARCH_PAGE);
      const body = await this.search(filters, { propertyName: 'hs_object_id', direction: 'ASCENDING' }, limit);
      const records = await Promise.all(body.results.map((c) => this.record(c)));
      const more = body.results.length === limit && body.total > body.results.length;
      return { records, nextCursor: more ? body.results[body.results.length - 1].id : null, total: cursor ? undefined : body.total };
    }
    const reply = await this.client.call<ListBody>('GET', CONTACTS, {
      query: { limit: Math.min(Math.max(1, pageSize), MAX_LIST_PAGE), after: cursor, properties: properties.join(','), archived: false },
    });
    if (reply.status !== 200) this.unexpected('listing contacts', reply);
    // The list endpoint tells no total; a one-result search does, for progress (approximate while the index lags).
    const total = cursor ? undefined : (await this.search([], { propertyName: 'hs_object_id', direction: 'ASCENDING' }, 1)).total;
    return { records: await Promise.all(reply.body.results.map((c) => this.record(c))), nextCursor: reply.body.paging?.next?.after ?? null, total };
  }

  async get(id: string): Promise<AppRecord | null> {
    const { properties } = await this.schema();
    const reply = await this.client.call<WireContact>('GET', `${CONTACTS}/${encodeURIComponent(id)}`, { query: { properties: properties.join(',') } });
    if (reply.status === 404) return null;
    if (reply.status !== 200) this.unexpected(`reading contact ${id}`, reply);
    return this.record(reply.body);
  }

  async findByEmail(email: string): Promise<AppRecord[]> {
    const wanted = email.trim().toLowerCase();
    const { properties } = await this.schema();
    // The primary email is a unique key HubSpot reads directly (no search index lag), which is what makes a
    // retried create find the contact its first attempt made.
    const direct = await this.client.call<WireContact>('GET', `${CONTACTS}/${encodeURIComponent(wanted)}`, {
      query: { idProperty: 'email', properties: properties.join(',') },
    });
    if (direct.status !== 200 && direct.status !== 404) this.unexpected('looking up by email', direct);
    const found = new Map<string, WireContact>();
    if (direct.status === 200) found.set(direct.body.id, direct.body);
    const extra = await this.search(
      [{ propertyName: 'hs_additional_emails', operator: 'CONTAINS_TOKEN', value: wanted }],
      { propertyName: 'hs_object_id', direction: 'ASCENDING' },
      MAX_SEARCH_PAGE,
    );
    for (const c of extra.results) {
      const listed = (c.properties.hs_additional_emails ?? '').toLowerCase().split(';');
      if (listed.includes(wanted)) found.set(c.id, c);
    }
    return Promise.all([...found.values()].map((c) => this.record(c)));
  }

  // ---- the feed

  async currentCursor(): Promise<string> {
    const owner = await this.ownerFilters();
    const newest = await this.search(owner, { propertyName: 'lastmodifieddate', direction: 'DESCENDING' }, 1);
    const mark = millis(newest.results[0]?.properties.lastmodifieddate ?? newest.results[0]?.updatedAt);
    const from = mark - OVERLAP_MS;

    // Whatever changed within the overlap is known now, so the first cycle does not report it again.
    let state: FeedState = { v: 1, phase: 'search', at: from, mark, archivedFrom: from, seen: [] };
    for (let guard = 0; guard < 100; guard++) {
      const page = await this.searchPage(state, MAX_SEARCH_PAGE);
      state = page.state;
      if (page.done) break;
    }
    const lists = this.lists ? this.lists.snapshot(await this.lists.index(true)) : undefined;
    return encodeFeed({
      v: 1,
      phase: 'search',
      at: from,
      mark,
      archivedFrom: from,
      seen: prune(state.seen, from, from),
      ...(lists ? { lists } : {}),
    });
  }

  async changesSince(cursor: string, pageSize: number): Promise<ChangeSet> {
    let state = decodeFeed(cursor);
    if (state.phase === 'lists') return this.listChanges(state);
    if (state.phase === 'search') {
      const page = await this.searchPage(state, Math.min(Math.max(1, pageSize), MAX_SEARCH_PAGE));
      if (!page.done) return { changes: page.changes, nextCursor: encodeFeed(page.state), hasMore: true };
      state = page.state;
      if (this.lists) return { changes: page.changes, nextCursor: encodeFeed({ ...state, phase: 'lists' }), hasMore: true };
      return { changes: page.changes, nextCursor: encodeFeed(nextCycle(state)), hasMore: false };
    }
    // A cursor of the earlier feed, between its search and its archived listing: that cycle is over.
    if (this.lists) return { changes: [], nextCursor: encodeFeed({ ...state, phase: 'lists', archivedAfter: undefined }), hasMore: true };
    return { changes: [], nextCursor: encodeFeed(nextCycle(state)), hasMore: false };
  }

  /**
   * The end of a cycle with tags from lists: list memberships do not move lastmodifieddate, so the contacts whose
   * lists changed are found by comparing the lists with the cursor's snapshot, and read again.
   */
  private async listChanges(state: FeedState): Promise<ChangeSet> {
    const lists = this.lists!;
    if (!state.lists) {
      // A cursor from before lists were the scope's tags: start comparing from now.
      const snapshot = lists.snapshot(await lists.index(true));
      return { changes: [], nextCursor: encodeFeed(nextCycle({ ...state, lists: snapshot })), hasMore: false };
    }
    const { contacts, snapshot } = await lists.changedSince(state.lists);
    const found = await this.readMany(contacts);
    const changes: Change[] = [];
    for (const id of contacts) {
      const contact = found.get(id);
      // Archived contacts are reported by the archived phase; a contact HubSpot no longer has is not a tag change.
      if (contact) changes.push({ deleted: false, record: await this.record(contact) });
    }
    return { changes, nextCursor: encodeFeed(nextCycle({ ...state, lists: snapshot })), hasMore: false };
  }

  /** One page of "modified at or after state.at", oldest first, without what `seen` already holds. */
  private async searchPage(state: FeedState, limit: number): Promise<{ state: FeedState; changes: Extract<Change, { deleted: false }>[]; done: boolean }> {
    const filters = [...(await this.ownerFilters()), { propertyName: 'lastmodifieddate', operator: 'GTE', value: String(state.at) }];
    const body = await this.search(filters, { propertyName: 'lastmodifieddate', direction: 'ASCENDING' }, limit, state.after);
    const seen = new Set(state.seen);
    const changes: Extract<Change, { deleted: false }>[] = [];
    let last = state.at;
    let mark = state.mark;
    for (const c of body.results) {
      const at = millis(c.properties.lastmodifieddate ?? c.updatedAt);
      last = Math.max(last, at);
      mark = Math.max(mark, at);
      const key = `${c.id}:${at}`;
      if (seen.has(key)) continue;
      seen.add(key);
      changes.push({ deleted: false, record: await this.record(c) });
    }
    const more = Boolean(body.paging?.next?.after);
    let next: FeedState;
    if (!more) {
      next = { ...state, mark, after: undefined, seen: [...seen] };
    } else if (last > state.at) {
      // Keyset step: restart at the newest time read; what was read at that time is in `seen`.
      next = { ...state, at: last, after: undefined, mark, seen: prune([...seen], last - OVERLAP_MS, state.archivedFrom) };
    } else {
      // A whole page within one millisecond: only an offset moves on, and it ends at the 10,000-result cap.
      const after = body.paging!.next!.after;
      if (Number(after) >= 10_000) {
        throw new FeedExpiredError('more than 10,000 HubSpot contacts share one modification time; a full re-scan is needed');
      }
      next = { ...state, after, mark, seen: [...seen] };
    }
    return { state: next, changes, done: !more };
  }

  // ---- writes

  async write(ops: WriteOp[]): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(ops.length);
    const schema = await this.schema();
    await this.ensureTagOptions(ops, schema);
    const items = ops.map((op, index) => ({ op, index }));
    const owner = this.scope.owner === 'mine' ? await this.myOwnerId() : undefined;

    const bodies = new Map<number, Record<string, string>>();
    // Tags from lists are memberships, written once the contacts exist (a create's list needs its id).
    const wantedTags = new Map<number, string[]>();
    for (const { op, index } of items) {
      if (op.kind === 'delete') continue;
      try {
        let fields = op.fields;
        if (this.lists && LISTS_FIELD in fields) {
          const { [LISTS_FIELD]: tags, ...rest } = fields;
          wantedTags.set(index, tagList(tags));
          fields = rest;
        }
        const props = toProperties(fields, schema.byKey);
        if (op.kind === 'create' && owner && !props.hubspot_owner_id) props.hubspot_owner_id = owner;
        bodies.set(index, props);
      } catch (err) {
        if (!(err instanceof MappingError)) throw err;
        results[index] = invalidValue(op.ref, err, 'INVALID_VALUE');
      }
    }
    const open = items.filter((i) => !results[i.index]);
    const writes = open.filter((i) => i.op.kind !== 'delete');
    const deletes = open.filter((i) => i.op.kind === 'delete');

    // HubSpot has no ETag: a version given with an update or delete is checked by reading first (read-compare-write).
    await this.checkVersions(open, results);

    const upserts = writes.filter((i) => !results[i.index] && i.op.kind === 'create' && bodies.get(i.index)?.email);
    const plainCreates = writes.filter((i) => !results[i.index] && i.op.kind === 'create' && !bodies.get(i.index)?.email);
    const written = new Map<number, string>();
    // An update of the lists alone changes no property: nothing to send to the contact itself.
    const listsOnly = writes.filter((i) => !results[i.index] && i.op.kind === 'update' && wantedTags.has(i.index) && Object.keys(bodies.get(i.index) ?? {}).length === 0);
    for (const { op, index } of listsOnly) {
      written.set(index, (op as Extract<WriteOp, { kind: 'update' }>).id);
      results[index] = { ref: op.ref, ok: true, record: null };
    }
    const updates = writes.filter((i) => !results[i.index] && i.op.kind === 'update');

    await inChunks(upserts, MAX_BATCH, (chunk) => this.batch('upsert', chunk, bodies, results, written));
    // Without an email there is nothing to upsert by, and batch results come in no promised order: one at a time.
    for (const item of plainCreates) await this.batch('create', [item], bodies, results, written);
    await inChunks(updates, MAX_BATCH, (chunk) => this.batch('update', chunk, bodies, results, written));
    const liveDeletes = deletes.filter((i) => !results[i.index]);
    await inChunks(liveDeletes, MAX_BATCH, async (chunk) => {
      const reply = await this.client.call<HubSpotErrorBody>('POST', `${CONTACTS}/batch/archive`, {
        body: { inputs: chunk.map((i) => ({ id: (i.op as Extract<WriteOp, { kind: 'delete' }>).id })) } satisfies BodyOf<BatchInputSimplePublicObjectId>,
      });
      if (reply.status !== 204 && reply.status !== 200) this.unexpected('archiving contacts', reply);
      for (const { op, index } of chunk) results[index] = { ref: op.ref, ok: true, record: null };
    });

    // Write answers carry only some properties; the records handed back are read whole.
    const fresh = await this.readMany([...new Set(written.values())]);
    if (this.lists && wantedTags.size > 0) {
      const memberships = new Map<string, string[]>();
      for (const [index, tags] of wantedTags) {
        const id = written.get(index);
        if (id !== undefined && fresh.has(id) && results[index]?.ok) memberships.set(id, tags);
      }
      // Membership changes no contact property: the contacts read above still hold; their tags come from the index.
      await this.lists.write(memberships);
    }
    for (const [index, id] of written) {
      const contact = fresh.get(id);
      const current = results[index];
      if (contact && current?.ok) results[index] = { ref: current.ref, ok: true, record: await this.record(contact) };
      else if (!contact && current?.ok && listsOnly.some((i) => i.index === index)) {
        results[index] = failure(items[index].op.ref, new NotFoundError(`HubSpot contact ${id} does not exist or is archived`, 404, 'OBJECT_NOT_FOUND'));
      }
    }
    return results;
  }

  private async checkVersions(items: Indexed[], results: WriteResult[]): Promise<void> {
    const checked = items.filter((i) => i.op.kind !== 'create' && i.op.version !== undefined && !results[i.index]);
    if (checked.length === 0) return;
    const current = await this.readMany(checked.map((i) => (i.op as { id: string }).id));
    for (const { op, index } of checked) {
      if (op.kind === 'create') continue;
      const contact = current.get(op.id);
      if (!contact) {
        results[index] = failure(op.ref, new NotFoundError(`HubSpot contact ${op.id} does not exist or is archived`, 404, 'OBJECT_NOT_FOUND'));
      } else if (String(millis(contact.updatedAt)) !== op.version) {
        results[index] = failure(
          op.ref,
          new VersionConflictError(`HubSpot contact ${op.id} was modified at ${contact.updatedAt}, after the version Rapport holds`, 409, 'VERSION_MISMATCH'),
        );
      }
    }
  }

  /** Current state of contacts by id, 100 per request; missing ids are simply absent. */
  private async readMany(ids: string[]): Promise<Map<string, WireContact>> {
    const { properties } = await this.schema();
    const found = new Map<string, WireContact>();
    await inChunks(ids, MAX_BATCH, async (chunk) => {
      const reply = await this.client.call<BatchBody>('POST', `${CONTACTS}/batch/read`, {
        body: { properties, inputs: chunk.map((id) => ({ id })) } satisfies BodyOf<BatchReadInputSimplePublicObjectId>,
      });
      if (reply.status !== 200 && reply.status !== 207) this.unexpected('reading contacts', reply);
      for (const c of reply.body.results) found.set(c.id, c);
    });
    return found;
  }

  /**
   * One batch call. HubSpot fails a whole batch for one invalid input (400) or one existing email (409) and
   * does not say which input it was, so a failing batch is halved until the failing contacts stand alone with
   * HubSpot's own message; the others are written.
   */
  private async batch(
    kind: 'upsert' | 'create' | 'update',
    chunk: Indexed[],
    bodies: Map<number, Record<string, string>>,
    results: WriteResult[],
    written: Map<number, string>,
  ): Promise<void> {
    const inputs = chunk.map(({ op, index }) => {
      const properties = bodies.get(index)!;
      if (kind === 'upsert') {
        const { email, ...rest } = properties;
        return { idProperty: 'email', id: email.trim().toLowerCase(), properties: rest } satisfies BodyOf<SimplePublicObjectBatchInputUpsert>;
      }
      if (kind === 'update') return { id: (op as Extract<WriteOp, { kind: 'update' }>).id, properties } satisfies BodyOf<SimplePublicObjectBatchInput>;
      return { properties } satisfies BodyOf<SimplePublicObjectInputForCreate>;
    });
    const reply = await this.client.call<BatchBody>('POST', `${CONTACTS}/batch/${kind}`, { body: { inputs } });
    const { codecs } = await this.schema();
    if (reply.status === 400 || reply.status === 409) {
      if (chunk.length === 1) {
        results[chunk[0].index] = failure(chunk[0].op.ref, contactError(reply));
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      await this.batch(kind, chunk.slice(0, half), bodies, results, written);
      await this.batch(kind, chunk.slice(half), bodies, results, written);
      return;
    }
    if (reply.status !== 200 && reply.status !== 201 && reply.status !== 207) this.unexpected(`${kind} of contacts`, reply);

    const missing = new Set((reply.body.errors ?? []).flatMap((e) => (e.category === 'OBJECT_NOT_FOUND' ? (e.context?.ids ?? []) : [])));
    const byEmail = new Map(reply.body.results.map((c) => [(c.properties.email ?? '').toLowerCase(), c]));
    const byId = new Map(reply.body.results.map((c) => [c.id, c]));
    chunk.forEach(({ op, index }, i) => {
      let contact: WireContact | undefined;
      if (kind === 'upsert') contact = byEmail.get(String(inputs[i].id));
      else if (kind === 'update') contact = byId.get(String(inputs[i].id));
      else contact = reply.body.results[0];
      if (contact) {
        written.set(index, contact.id);
        results[index] = { ref: op.ref, ok: true, record: toRecord(contact, codecs) };
      } else if (kind === 'update' && missing.has(String(inputs[i].id))) {
        results[index] = failure(op.ref, new NotFoundError(`HubSpot contact ${String(inputs[i].id)} does not exist or is archived`, 404, 'OBJECT_NOT_FOUND'));
      } else {
        const message = reply.body.errors?.[0]?.message ?? `HubSpot returned no result for this contact (${kind})`;
        results[index] = failure(op.ref, new ContactError(message, reply.status, reply.body.errors?.[0]?.category));
      }
    });
  }

  /** Adds the tags a write needs to the tags property's options: HubSpot refuses values that are not options. */
  private async ensureTagOptions(ops: WriteOp[], schema: Schema): Promise<void> {
    const tags = schema.tags;
    if (!tags) return;
    const codec = schema.byKey.get(tags.name)!;
    const known = new Set([...(codec.labels ?? new Map<string, string>()).entries()].flatMap(([v, l]) => [v.toLowerCase(), l.toLowerCase()]));
    const wanted = new Map<string, string>();
    for (const op of ops) {
      if (op.kind === 'delete' || !(tags.name in op.fields)) continue;
      const value = op.fields[tags.name];
      const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[;,]/) : [];
      for (const t of list.map((x) => x.trim()).filter(Boolean)) if (!known.has(t.toLowerCase())) wanted.set(t.toLowerCase(), t);
    }
    if (wanted.size === 0) return;
    const options = [...(tags.options ?? []), ...[...wanted.values()].map((t) => ({ label: t, value: t, hidden: false }))];
    const reply = await this.client.call<WireProperty>('PATCH', `/crm/v3/properties/contacts/${encodeURIComponent(tags.name)}`, {
      body: { options: options.map((o, i) => ({ label: o.label, value: o.value, hidden: Boolean(o.hidden), displayOrder: i })) },
    });
    if (reply.status !== 200) this.unexpected(`adding tags to the property ${tags.name}`, reply);
    tags.options = reply.body.options ?? options;
    codec.labels = new Map(tags.options.map((o) => [o.value, o.label]));
  }
}
