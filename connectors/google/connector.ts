import type { people_v1 } from '@googleapis/people';
import type { AppRecord, FieldDef } from '../../sync/types';
import {
  ConfigError,
  ConnectorError,
  ContactError,
  FeedExpiredError,
  NotFoundError,
  VersionConflictError,
} from '../errors';
import type { Capabilities, Change, ChangeSet, Connector, Page, WriteOp, WriteResult } from '../types';
import { allPages } from '../kit/paging';
import { unexpected } from '../kit/statuses';
import { failure, inChunks, indexed, invalidValue, type Indexed } from '../kit/writes';
import { googleField, googleMessage, googleReason, googleStatus, googleStatusRules, type GoogleClient, type Reply } from './client';
import {
  MappingError,
  PERSON_FIELDS,
  TAGS_KEY,
  asTags,
  googleFields,
  groupIdOf,
  memberOf,
  toPatch,
  toRecord,
  type GroupContext,
  type Item,
  type Person,
} from './fields';

// Google Contacts through the People API v1.
//
// Scope: all of My Contacts (members of contactGroups/myContacts), or the members of one contact group.
// people.connections.list returns every contact of the account, so listings and sync results are filtered here;
// a contact that left the scope shows as deleted, which is also what a full re-scan concludes.
//
// The feed is Google's sync token. Google hands one out only at the end of a complete listing made with
// requestSyncToken=true, and a token works only with the parameters of the listing that produced it, so
// currentCursor() walks the whole account once with the connection's field mask and page size. The cursor
// carries the page size and, inside a paginated incremental result, the page token.
//
// Wire types: request parameters and bodies are checked (`satisfies`) against the People API's own types from
// @googleapis/people, so a misspelt parameter or field fails the typecheck; responses are read as those types.
// The Person itself stays the connector's own shape (fields.ts): the package's Schema$Person lists are typed
// per field, while the mapping rebuilds every list generically.

const MAX_PAGE = 1000;
/** people:batchCreateContacts and people:batchGet take at most 200 people; batchDeleteContacts 500. */
const MAX_BATCH = 200;
const MAX_BATCH_DELETE = 500;
const MY_CONTACTS = 'myContacts';

export const googleCapabilities: Capabilities = {
  incremental: 'sync-token',
  reportsDeletions: true,
  tags: 'groups',
  unsubscribes: false,
  maxBatchWrite: MAX_BATCH,
  maxPageSize: MAX_PAGE,
  idempotencyKeys: false,
  lookupByEmail: true,
  totalCount: true,
};

export interface GoogleScope {
  contactGroup?: string;
}

export interface GoogleOptions {
  alsoAddToMyContacts: boolean;
}

interface Group {
  id: string;
  name: string;
  formattedName?: string;
  user: boolean;
  memberCount?: number;
}

type Params = {
  list: people_v1.Params$Resource$People$Connections$List;
  get: people_v1.Params$Resource$People$Get;
  batchGet: people_v1.Params$Resource$People$Getbatchget;
  search: people_v1.Params$Resource$People$Searchcontacts;
  create: people_v1.Params$Resource$People$Createcontact;
  update: people_v1.Params$Resource$People$Updatecontact;
  groupGet: people_v1.Params$Resource$Contactgroups$Get;
  groupList: people_v1.Params$Resource$Contactgroups$List;
};

/** A contact group as Google sends it; Google always sends the resource name. */
type GroupJson = Pick<people_v1.Schema$ContactGroup, 'name' | 'formattedName' | 'groupType' | 'memberCount'> & { resourceName: string };

type ListBody = Pick<people_v1.Schema$ListConnectionsResponse, 'nextPageToken' | 'nextSyncToken' | 'totalItems'> & { connections?: Person[] };

interface FeedCursor {
  /** sync token */
  s: string;
  /** page size of the listing that produced the token */
  n: number;
  /** page token inside a paginated incremental result */
  p?: string;
}

const encodeCursor = (c: FeedCursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');

function decodeCursor(cursor: string): FeedCursor | null {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as FeedCursor;
    return typeof c.s === 'string' && Number.isInteger(c.n) ? c : null;
  } catch {
    return null;
  }
}

/** What a failed write of one contact means for the engine. */
function writeError(reply: Reply<unknown>, step: string): ConnectorError {
  const message = googleMessage(reply.body, `${step} failed with status ${reply.status}`);
  const status = googleStatus(reply.body);
  if (reply.status === 400 && status === 'FAILED_PRECONDITION') return new VersionConflictError(message, 400, status);
  if (reply.status === 412) return new VersionConflictError(message, 412, status);
  if (reply.status === 404) return new NotFoundError(message, 404, status);
  return new ContactError(message, reply.status, googleReason(reply.body) ?? status, googleField(reply.body));
}

export class GoogleConnector implements Connector {
  readonly capabilities = googleCapabilities;
  private groups: Map<string, Group> | null = null;
  private scopeGroupId: string | null = null;

  constructor(
    private readonly client: GoogleClient,
    private readonly scope: GoogleScope,
    private readonly options: GoogleOptions,
  ) {}

  async fieldCatalog(): Promise<FieldDef[]> {
    return googleFields.map((f) => ({ ...f }));
  }

  async listPage(cursor: string | null, pageSize: number): Promise<Page> {
    const ctx = await this.context();
    const [size, pageToken] = cursor ? [Number(cursor.slice(0, cursor.indexOf(':'))), cursor.slice(cursor.indexOf(':') + 1)] : [this.pageSize(pageSize), undefined];
    const reply = await this.list({ pageSize: size, pageToken });
    const records = (reply.connections ?? []).filter((p) => !p.metadata?.deleted && memberOf(p, ctx.scopeGroupId)).map((p) => toRecord(p, ctx));
    const page: Page = { records, nextCursor: reply.nextPageToken ? `${size}:${reply.nextPageToken}` : null };
    if (!cursor) page.total = await this.memberCount(ctx.scopeGroupId);
    return page;
  }

  async currentCursor(): Promise<string> {
    let pageToken: string | undefined;
    for (;;) {
      const reply = await this.list({ pageSize: MAX_PAGE, pageToken, requestSyncToken: true });
      if (reply.nextPageToken) {
        pageToken = reply.nextPageToken;
        continue;
      }
      if (!reply.nextSyncToken) throw new ConfigError('Google listed the contacts but gave no sync token');
      return encodeCursor({ s: reply.nextSyncToken, n: MAX_PAGE });
    }
  }

  async changesSince(cursor: string, _pageSize: number): Promise<ChangeSet> {
    const feed = decodeCursor(cursor);
    if (!feed) throw new FeedExpiredError('the Google sync cursor is unreadable; a full re-scan is needed');
    const ctx = await this.context();
    // With the parameters of the listing that produced the token, requestSyncToken included: without it Google
    // returns no nextSyncToken, and the cursor would never move past the initial scan.
    const reply = await this.list({ pageSize: feed.n, pageToken: feed.p, syncToken: feed.s, requestSyncToken: true });
    const changes: Change[] = (reply.connections ?? []).map((p) =>
      p.metadata?.deleted || !memberOf(p, ctx.scopeGroupId)
        ? { deleted: true as const, id: p.resourceName }
        : { deleted: false as const, record: toRecord(p, ctx) },
    );
    if (reply.nextPageToken) return { changes, nextCursor: encodeCursor({ ...feed, p: reply.nextPageToken }), hasMore: true };
    // Keeping the old token would re-read every change since the scan each cycle, until it expires after 7 days.
    if (!reply.nextSyncToken) throw new ConfigError('Google ended the changes without a new sync token');
    return { changes, nextCursor: encodeCursor({ s: reply.nextSyncToken, n: feed.n }), hasMore: false };
  }

  async get(id: string): Promise<AppRecord | null> {
    const ctx = await this.context();
    const person = await this.fetchOne(id);
    return person && memberOf(person, ctx.scopeGroupId) ? toRecord(person, ctx) : null;
  }

  /**
   * people:searchContacts answers from a cache that a request refreshes, so an empty warm-up query goes first,
   * as Google asks. Search matches prefixes; the exact address is checked here.
   */
  async findByEmail(email: string): Promise<AppRecord[]> {
    const ctx = await this.context();
    const wanted = email.trim().toLowerCase();
    await this.search('');
    const found = await this.search(wanted);
    return found
      .filter((p) => memberOf(p, ctx.scopeGroupId) && (p.emailAddresses ?? []).some((e) => String(e.value ?? '').trim().toLowerCase() === wanted))
      .map((p) => toRecord(p, ctx));
  }

  /** Google asks for one user's mutations to be sent one after another; so they are. */
  async write(ops: WriteOp[]): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(ops.length);
    const all = indexed(ops);
    await this.context();
    await this.ensureTagGroups(ops);
    const ctx = await this.context();

    const creates = all.filter((x) => x.op.kind === 'create');
    await inChunks(creates, MAX_BATCH, (chunk) => this.createChunk(chunk, results, ctx));
    const updates = all.filter((x) => x.op.kind === 'update');
    await inChunks(updates, MAX_BATCH, (chunk) => this.updateChunk(chunk, results, ctx));
    const deletes = all.filter((x) => x.op.kind === 'delete');
    await inChunks(deletes, MAX_BATCH, (chunk) => this.deleteChunk(chunk, results));
    return results;
  }

  // ---- reads -----------------------------------------------------------------------------------------------

  private pageSize(requested: number): number {
    return Math.min(Math.max(1, Math.floor(requested)), MAX_PAGE);
  }

  private async list(q: { pageSize: number; pageToken?: string; syncToken?: string; requestSyncToken?: boolean }): Promise<ListBody> {
    const reply = await this.client.call<ListBody>('GET', '/people/me/connections', {
      query: {
        personFields: PERSON_FIELDS,
        pageSize: q.pageSize,
        pageToken: q.pageToken,
        syncToken: q.syncToken,
        requestSyncToken: q.requestSyncToken || undefined,
      } satisfies Params['list'],
    });
    // Detected by reason, not status: Google has answered an expired token with 400 FAILED_PRECONDITION,
    // 400 INVALID_ARGUMENT and (in older documentation) 410.
    if (q.syncToken && (googleReason(reply.body) === 'EXPIRED_SYNC_TOKEN' || reply.status === 410)) {
      throw new FeedExpiredError(`Google no longer accepts the sync token (${googleMessage(reply.body, 'expired')})`, reply.status, 'EXPIRED_SYNC_TOKEN');
    }
    if (reply.status !== 200) this.unexpected('listing contacts', reply);
    return reply.body;
  }

  private async fetchOne(id: string): Promise<Person | null> {
    const reply = await this.client.call<Person>('GET', `/${this.resourcePath(id)}`, { query: { personFields: PERSON_FIELDS } satisfies Params['get'] });
    if (reply.status === 404) return null;
    if (reply.status !== 200) this.unexpected(`reading contact ${id}`, reply);
    return reply.body;
  }

  /** Current state of up to 200 people in one request. */
  private async fetchMany(ids: string[]): Promise<Map<string, Person>> {
    const found = new Map<string, Person>();
    await inChunks([...new Set(ids)], MAX_BATCH, async (chunk) => {
      const reply = await this.client.call<{ responses?: { requestedResourceName?: string; person?: Person }[] }>('GET', '/people:batchGet', {
        query: { resourceNames: chunk.map((id) => this.resourceName(id)), personFields: PERSON_FIELDS } satisfies Params['batchGet'],
      });
      if (reply.status !== 200) this.unexpected('reading contacts before writing', reply);
      for (const r of reply.body.responses ?? []) if (r.person) found.set(r.person.resourceName, r.person);
    });
    return found;
  }

  /** The scope's size for progress: the group's member count, read when a scan starts. */
  private async memberCount(groupId: string): Promise<number | undefined> {
    const reply = await this.client.call<GroupJson>('GET', `/contactGroups/${encodeURIComponent(groupId)}`, { query: { maxMembers: 0 } satisfies Params['groupGet'] });
    if (reply.status !== 200) this.unexpected('reading the contact group', reply);
    return reply.body.memberCount ?? undefined;
  }

  private async search(query: string): Promise<Person[]> {
    const reply = await this.client.call<{ results?: { person?: Person }[] }>('GET', '/people:searchContacts', {
      query: { query, readMask: PERSON_FIELDS, pageSize: 30 } satisfies Params['search'],
    });
    if (reply.status !== 200) this.unexpected('searching contacts', reply);
    return (reply.body.results ?? []).flatMap((r) => (r.person ? [r.person] : []));
  }

  /** The account's contact groups and the scope's group, read once per connector. */
  private async context(): Promise<GroupContext> {
    if (!this.groups) {
      const listed = await allPages(undefined, async (pageToken: string | undefined) => {
        const reply = await this.client.call<{ contactGroups?: GroupJson[]; nextPageToken?: string }>('GET', '/contactGroups', {
          query: { pageSize: 1000, pageToken } satisfies Params['groupList'],
        });
        if (reply.status !== 200) this.unexpected('reading contact groups', reply);
        return { items: reply.body.contactGroups ?? [], next: reply.body.nextPageToken };
      });
      const groups = new Map<string, Group>();
      for (const g of listed) {
        const id = g.resourceName.replace(/^contactGroups\//, '');
        groups.set(id, { id, name: g.name ?? id, formattedName: g.formattedName ?? undefined, user: g.groupType === 'USER_CONTACT_GROUP', memberCount: g.memberCount ?? undefined });
      }
      this.groups = groups;
      this.scopeGroupId = this.resolveScope(groups);
    }
    const groups = this.groups;
    return {
      scopeGroupId: this.scopeGroupId!,
      userGroupName: (id) => {
        const g = groups.get(id);
        return g?.user ? g.name : undefined;
      },
    };
  }

  private resolveScope(groups: Map<string, Group>): string {
    const wanted = this.scope.contactGroup?.trim();
    if (!wanted) return MY_CONTACTS;
    const id = wanted.replace(/^contactGroups\//, '');
    if (groups.has(id)) return id;
    const lower = wanted.toLowerCase();
    const byName = [...groups.values()].filter((g) => g.name.toLowerCase() === lower || g.formattedName?.toLowerCase() === lower);
    if (byName.length === 1) return byName[0].id;
    if (byName.length > 1) throw new ConfigError(`more than one Google contact group is named "${wanted}": give its resource name`);
    throw new ConfigError(`the Google account has no contact group "${wanted}"`);
  }

  private resourceName(id: string): string {
    return id.startsWith('people/') ? id : `people/${id}`;
  }

  private resourcePath(id: string): string {
    return this.resourceName(id)
      .split('/')
      .map((part) => encodeURIComponent(part))
      .join('/');
  }

  /** Statuses a read does not expect: the scope is wrong or the API changed under us. */
  private unexpected(what: string, reply: Reply<unknown>): never {
    unexpected(what, reply, googleStatusRules);
  }

  // ---- writes ----------------------------------------------------------------------------------------------

  /** Creates the contact groups that tags name and the account lacks, so writing a tag never fails for it. */
  private async ensureTagGroups(ops: WriteOp[]): Promise<void> {
    const wanted = new Map<string, string>();
    for (const op of ops) {
      if (op.kind === 'delete' || !(TAGS_KEY in op.fields)) continue;
      try {
        for (const tag of asTags(op.fields[TAGS_KEY])) wanted.set(tag.toLowerCase(), tag);
      } catch {
        // An unreadable tags value fails its own contact when the patch is built.
      }
    }
    for (const [lower, name] of wanted) {
      if (this.userGroupByName(lower)) continue;
      const reply = await this.client.call<GroupJson>('POST', '/contactGroups', { body: { contactGroup: { name } } satisfies people_v1.Schema$CreateContactGroupRequest });
      if (reply.status === 409) {
        // Created meanwhile (by the user or another worker): read the groups again.
        this.groups = null;
        await this.context();
        continue;
      }
      if (reply.status !== 200) continue; // the contacts that carry it fail with Google's message when written
      const id = reply.body.resourceName.replace(/^contactGroups\//, '');
      this.groups!.set(id, { id, name: reply.body.name ?? name, user: true, memberCount: 0 });
    }
  }

  private userGroupByName(lower: string): Group | undefined {
    return [...(this.groups?.values() ?? [])].find((g) => g.user && g.name.toLowerCase() === lower);
  }

  /**
   * The memberships to write: what the contact keeps (system groups, the scope), plus the groups its tags name.
   * A new contact joins the scope's group, and My Contacts too unless the option says otherwise.
   */
  private memberships(tags: string[] | null, current: Person | null, ctx: GroupContext): Item[] {
    const ids: string[] = [];
    if (current) {
      for (const m of current.memberships ?? []) {
        const id = groupIdOf(m);
        if (id && (tags === null || !this.groups!.get(id)?.user || id === ctx.scopeGroupId)) ids.push(id);
      }
    } else {
      ids.push(ctx.scopeGroupId);
      if (ctx.scopeGroupId !== MY_CONTACTS && this.options.alsoAddToMyContacts) ids.push(MY_CONTACTS);
    }
    for (const tag of tags ?? []) {
      const g = this.userGroupByName(tag.toLowerCase());
      if (g) ids.push(g.id);
    }
    return [...new Set(ids)].map((id) => ({ contactGroupMembership: { contactGroupResourceName: `contactGroups/${id}` } }));
  }

  private async createChunk(chunk: Indexed[], results: WriteResult[], ctx: GroupContext): Promise<void> {
    const pending: { op: WriteOp; index: number; person: Partial<Person> }[] = [];
    for (const { op, index } of chunk) {
      if (op.kind !== 'create') continue;
      try {
        const tags = TAGS_KEY in op.fields ? asTags(op.fields[TAGS_KEY]) : null;
        const { person } = toPatch(op.fields, null);
        person.memberships = this.memberships(tags, null, ctx) as Person['memberships'];
        pending.push({ op, index, person });
      } catch (err) {
        if (!(err instanceof MappingError)) throw err;
        results[index] = invalidValue(op.ref, err);
      }
    }
    if (pending.length === 0) return;

    const reply = await this.client.call<{ createdPeople?: { person?: Person }[] }>('POST', '/people:batchCreateContacts', {
      body: { contacts: pending.map((p) => ({ contactPerson: p.person })), readMask: PERSON_FIELDS } satisfies Partial<Record<keyof people_v1.Schema$BatchCreateContactsRequest, unknown>>,
    });
    const created = reply.body?.createdPeople ?? [];
    if (reply.status === 200 && created.length === pending.length) {
      created.forEach((c, i) => {
        const { op, index } = pending[i];
        results[index] = c.person ? { ref: op.ref, ok: true, record: toRecord(c.person, ctx) } : failure(op.ref, new ContactError('Google created no contact', 200));
      });
      return;
    }
    if (reply.status !== 400) this.unexpected('creating contacts', reply);
    // One invalid contact fails the whole batch: create one at a time, so only that contact fails.
    for (const { op, index, person } of pending) {
      const one = await this.client.call<Person>('POST', '/people:createContact', { query: { personFields: PERSON_FIELDS } satisfies Params['create'], body: person });
      results[index] = one.status === 200 ? { ref: op.ref, ok: true, record: toRecord(one.body, ctx) } : failure(op.ref, writeError(one, 'create'));
    }
  }

  /**
   * Updates are read-modify-write: each touched Person list is rebuilt from the current person and sent with
   * the etag, so nothing written in between is lost. A version from the engine that is not the current etag is
   * a conflict at once, without a write.
   */
  private async updateChunk(chunk: Indexed[], results: WriteResult[], ctx: GroupContext): Promise<void> {
    const current = await this.fetchMany(chunk.flatMap(({ op }) => (op.kind === 'update' ? [op.id] : [])));
    for (const { op, index } of chunk) {
      if (op.kind !== 'update') continue;
      const person = current.get(this.resourceName(op.id));
      if (!person) {
        results[index] = failure(op.ref, new NotFoundError(`contact ${op.id} does not exist`, 404, 'NOT_FOUND'));
        continue;
      }
      if (op.version !== undefined && op.version !== person.etag) {
        results[index] = failure(op.ref, new VersionConflictError(`contact ${op.id} changed since it was read (etag mismatch)`, 400, 'FAILED_PRECONDITION'));
        continue;
      }
      let patch;
      try {
        const tags = TAGS_KEY in op.fields ? asTags(op.fields[TAGS_KEY]) : null;
        patch = toPatch(op.fields, person, this.memberships(tags, person, ctx));
      } catch (err) {
        if (!(err instanceof MappingError)) throw err;
        results[index] = invalidValue(op.ref, err);
        continue;
      }
      if (patch.mask.length === 0) {
        results[index] = { ref: op.ref, ok: true, record: toRecord(person, ctx) };
        continue;
      }
      const reply = await this.client.call<Person>('PATCH', `/${this.resourcePath(op.id)}:updateContact`, {
        query: { updatePersonFields: patch.mask.join(','), personFields: PERSON_FIELDS } satisfies Params['update'],
        body: { ...patch.person, resourceName: person.resourceName, etag: op.version ?? person.etag },
      });
      results[index] = reply.status === 200 ? { ref: op.ref, ok: true, record: toRecord(reply.body, ctx) } : failure(op.ref, writeError(reply, 'update'));
    }
  }

  /**
   * people:deleteContact takes no etag, so a delete that carries a version reads the contact first and refuses
   * when it changed: an edit beats a deletion.
   */
  private async deleteChunk(chunk: Indexed[], results: WriteResult[]): Promise<void> {
    const guarded = chunk.flatMap(({ op }) => (op.kind === 'delete' && op.version !== undefined ? [op.id] : []));
    const current = await this.fetchMany(guarded);
    const doomed: Indexed[] = [];
    for (const { op, index } of chunk) {
      if (op.kind !== 'delete') continue;
      if (op.version !== undefined) {
        const person = current.get(this.resourceName(op.id));
        if (!person) {
          results[index] = failure(op.ref, new NotFoundError(`contact ${op.id} does not exist`, 404, 'NOT_FOUND'));
          continue;
        }
        if (person.etag !== op.version) {
          results[index] = failure(op.ref, new VersionConflictError(`contact ${op.id} changed since it was read (etag mismatch)`, 400, 'FAILED_PRECONDITION'));
          continue;
        }
      }
      doomed.push({ op, index });
    }
    await inChunks(doomed, MAX_BATCH_DELETE, async (part) => {
      const names = part.map(({ op }) => this.resourceName((op as { id: string }).id));
      const reply = await this.client.call('POST', '/people:batchDeleteContacts', { body: { resourceNames: names } satisfies people_v1.Schema$BatchDeleteContactsRequest });
      if (reply.status === 200) {
        for (const { op, index } of part) results[index] = { ref: op.ref, ok: true, record: null };
        return;
      }
      if (reply.status !== 400 && reply.status !== 404) this.unexpected('deleting contacts', reply);
      // One missing contact fails the whole batch: delete one at a time, so only that one fails.
      for (const { op, index } of part) {
        const one = await this.client.call('DELETE', `/${this.resourcePath((op as { id: string }).id)}:deleteContact`);
        results[index] = one.status === 200 ? { ref: op.ref, ok: true, record: null } : failure(op.ref, writeError(one, 'delete'));
      }
    });
  }
}
