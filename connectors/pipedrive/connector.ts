import type { AppRecord, FieldDef } from '../../sync/types';
import { ConfigError, ContactError, FeedExpiredError, NotFoundError, VersionConflictError } from '../errors';
import type { Capabilities, Change, ChangeSet, Connector, Page, WriteOp, WriteResult } from '../types';
import { allPages } from '../kit/paging';
import { unexpected } from '../kit/statuses';
import { failure, inChunks, invalidValue, refusal } from '../kit/writes';
import { appCode, appMessage, pipedriveStatusRules, type PipedriveClient, type Reply } from './client';
import {
  MappingError,
  catalogFor,
  contentDigest,
  toBody,
  toRecord,
  versionOf,
  type AccountFacts,
  type CustomFieldDef,
  type WirePerson,
} from './fields';

// Pipedrive persons through API v2, with the v1 leftovers v2 has no counterpart for: person fields (labels,
// custom fields, the plan's visibility levels) and users.
//
// Deletions: Pipedrive documents no feed of them that a poller can read. v2 persons lists do not promise to
// return deleted persons, and /v1/recents promises no `active_flag: false` entry for a deleted one (the only
// documented signal is the delete.person webhook, which needs a public endpoint). So the feed reports updates
// only (reportsDeletions: false), and deletions are found by the engine's periodic reconcile, which lists ids.

const MAX_PAGE = 500;
const MAX_IDS = 100;
/**
 * Each read starts this long before the newest update time already read, so that a change stamped slightly in
 * the past (another server's clock, a transaction that committed late) is still met; what was read before
 * inside the window is skipped by its version (id and content digest).
 */
export const OVERLAP_MS = 10_000;
/** Versions kept from the window; beyond it a person may be reported twice, which the engine ignores. */
const MAX_SEEN = 500;
const INCLUDE = 'marketing_status';

export const pipedriveCapabilities: Capabilities = {
  incremental: 'modified-since',
  reportsDeletions: false,
  tags: 'tags',
  unsubscribes: true,
  maxBatchWrite: 1,
  maxPageSize: MAX_PAGE,
  idempotencyKeys: false,
  lookupByEmail: true,
  totalCount: false,
};

export const VISIBLE_TO = ['owner-followers', 'entire-company', 'owner-only', 'owner-role', 'owner-role-below'] as const;
export type VisibleTo = (typeof VISIBLE_TO)[number];

/**
 * visible_to ids by plan. Lite/Growth (and the legacy Essential/Advanced/Professional) offer 1 and 3; Premium
 * and Ultimate offer 1, 3, 5 and 7, where 1 and 3 mean something else. The person fields endpoint lists the
 * ids the company's plan offers; ids, not labels, because labels follow the user's language.
 */
const VISIBILITY = {
  basic: { 'owner-followers': 1, 'entire-company': 3 },
  groups: { 'owner-only': 1, 'owner-role': 3, 'owner-role-below': 5, 'entire-company': 7 },
} as const satisfies Record<string, Partial<Record<VisibleTo, number>>>;

export interface PipedriveSettings {
  ownership: 'own' | 'all';
  visibleTo?: VisibleTo;
}

interface ListBody {
  success: boolean;
  data: WirePerson[] | null;
  additional_data?: { next_cursor?: string | null } | null;
}
interface V1Field {
  key: string;
  name: string;
  field_type: string;
  edit_flag?: boolean;
  options?: { id: number | string; label: string }[] | null;
}
/**
 * The feed position: the newest update time read (Pipedrive's own clock, RFC 3339 at second resolution) and the
 * versions read inside the overlap window before it. A walk over several pages keeps its updated_since (`f`),
 * Pipedrive's cursor, and what it has read so far.
 */
interface FeedState {
  v: 2;
  /** newest update_time read; '' means from the beginning */
  s: string;
  /** [`${id}@${digest}`, update_time] read at or after s - OVERLAP_MS */
  seen: [string, string][];
  /** walk in progress: its updated_since, Pipedrive's cursor, and the versions it read */
  f?: string;
  p?: string;
  w?: [string, string][];
}

const PREFIX = 'pd1.';
const encode = (state: FeedState): string => PREFIX + Buffer.from(JSON.stringify(state)).toString('base64url');

function decode(cursor: string): FeedState {
  try {
    if (!cursor.startsWith(PREFIX)) throw new Error('foreign cursor');
    const state = JSON.parse(Buffer.from(cursor.slice(PREFIX.length), 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof state.s !== 'string') throw new Error('bad cursor');
    // A position of the earlier feed (v1: same-second keys, and a recents half that is gone) goes on from its time.
    if (state.v === 1) return { v: 2, s: state.s, seen: [] };
    if (state.v !== 2 || !Array.isArray(state.seen)) throw new Error('bad cursor');
    return state as unknown as FeedState;
  } catch {
    throw new FeedExpiredError('the Pipedrive feed position is unreadable; a full scan is needed');
  }
}

/** RFC 3339 at whole seconds, as Pipedrive writes update_time. */
const rfc3339 = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const windowStart = (s: string): string => rfc3339(Date.parse(s) - OVERLAP_MS);

/** The versions of `rows` still inside the overlap window of `s`, newest first, at most MAX_SEEN. */
function windowOf(rows: [string, string][], s: string): [string, string][] {
  const from = Date.parse(s) - OVERLAP_MS;
  const kept = new Map<string, string>();
  for (const [key, at] of rows) if (Date.parse(at) >= from) kept.set(key, at);
  return [...kept.entries()].sort((a, b) => Date.parse(b[1]) - Date.parse(a[1])).slice(0, MAX_SEEN);
}

const personKey = (p: WirePerson): string => `${p.id}@${contentDigest(p)}`;

/** An updated person with the marketing status the update set, or else the one it had (the answer has none). */
function withMarketingStatus(written: WirePerson, body: { marketing_status?: unknown }, before: WirePerson): WirePerson {
  if (written.marketing_status !== undefined) return written;
  const set = typeof body.marketing_status === 'string' ? body.marketing_status : undefined;
  return { ...written, marketing_status: set ?? before.marketing_status };
}

export class PipedriveConnector implements Connector {
  readonly capabilities = pipedriveCapabilities;
  private facts: Promise<AccountFacts & { visibilityIds: number[] }> | null = null;
  private me: Promise<number> | null = null;
  private orgNames = new Map<number, string>();

  constructor(
    private readonly client: PipedriveClient,
    private readonly settings: PipedriveSettings,
  ) {}

  /** Statuses a read does not expect: the account cannot be read as configured. */
  private unexpected(what: string, reply: Reply<unknown>): never {
    if (reply.status === 403) {
      throw new ConfigError(`${what}: Pipedrive refused (${appMessage(reply.body, 'forbidden')}); the user may need global admin rights`, 403, appCode(reply.body));
    }
    unexpected(what, reply, pipedriveStatusRules);
  }

  // ---- what the account is like -----------------------------------------------------------------------

  private loadFacts(): Promise<AccountFacts & { visibilityIds: number[] }> {
    this.facts ??= (async () => {
      const fields = await allPages(0, async (start: number) => {
        const reply = await this.client.call<{ data: V1Field[] | null; additional_data?: { pagination?: { more_items_in_collection?: boolean; next_start?: number } } }>(
          'GET',
          '/api/v1/personFields',
          { query: { start, limit: 500 } },
        );
        if (reply.status !== 200) this.unexpected('reading the person fields', reply);
        const pagination = reply.body.additional_data?.pagination;
        return { items: reply.body.data ?? [], next: pagination?.more_items_in_collection ? pagination.next_start : undefined };
      });
      const users = await this.client.call<{ data: AccountFacts['users'] | null }>('GET', '/api/v1/users');
      if (users.status !== 200) this.unexpected('reading the users', users);
      const labelField = fields.find((f) => f.key === 'label_ids') ?? fields.find((f) => f.key === 'label');
      const visibility = fields.find((f) => f.key === 'visible_to');
      const custom: CustomFieldDef[] = fields
        .filter((f) => f.edit_flag === true && /^[0-9a-f]{40}$/.test(f.key))
        .map((f) => ({ key: f.key, name: f.name, field_type: f.field_type, ...(f.options ? { options: f.options } : {}) }));
      return {
        users: users.body.data ?? [],
        labels: (labelField?.options ?? []).map((o) => ({ id: Number(o.id), label: o.label })),
        custom,
        visibilityIds: (visibility?.options ?? []).map((o) => Number(o.id)),
      };
    })().catch((err: unknown) => {
      this.facts = null;
      throw err;
    });
    return this.facts;
  }

  /** The user the credentials belong to, for "contacts I own". */
  private currentUser(): Promise<number> {
    this.me ??= (async () => {
      const reply = await this.client.call<{ data: { id: number } }>('GET', '/api/v1/users/me');
      if (reply.status !== 200) this.unexpected('reading the current user', reply);
      return reply.body.data.id;
    })().catch((err: unknown) => {
      this.me = null;
      throw err;
    });
    return this.me;
  }

  private async ownerFilter(): Promise<number | undefined> {
    return this.settings.ownership === 'own' ? this.currentUser() : undefined;
  }

  /** The visible_to id for created persons, or a ConfigError when the company's plan does not offer it. */
  private async visibleToId(): Promise<number | undefined> {
    const wanted = this.settings.visibleTo;
    if (!wanted) return undefined;
    const offered = (await this.loadFacts()).visibilityIds;
    const tier = offered.includes(7) ? VISIBILITY.groups : VISIBILITY.basic;
    const id = (tier as Partial<Record<VisibleTo, number>>)[wanted];
    if (id === undefined || !offered.includes(id)) {
      const names = Object.entries(tier)
        .filter(([, v]) => offered.includes(v))
        .map(([k]) => k);
      throw new ConfigError(
        `visibleTo "${wanted}" is not offered by this Pipedrive company's plan; it offers ${names.join(', ') || 'no visibility levels'}` +
          (tier === VISIBILITY.basic ? ' (owner-only and the visibility-group levels need Premium or Ultimate)' : ''),
      );
    }
    return id;
  }

  private async orgNamesFor(persons: WirePerson[]): Promise<void> {
    const missing = [...new Set(persons.map((p) => p.org_id).filter((id): id is number => typeof id === 'number' && !this.orgNames.has(id)))];
    await inChunks(missing, MAX_IDS, async (ids) => {
      const reply = await this.client.call<{ data: { id: number; name: string }[] | null }>('GET', '/api/v2/organizations', {
        query: { ids: ids.join(','), limit: MAX_IDS },
      });
      if (reply.status !== 200) this.unexpected('reading organizations', reply);
      for (const org of reply.body.data ?? []) this.orgNames.set(org.id, org.name);
    });
  }

  private async records(persons: WirePerson[]): Promise<AppRecord[]> {
    const facts = await this.loadFacts();
    await this.orgNamesFor(persons);
    return persons.map((p) => toRecord(p, { facts, orgNames: this.orgNames }));
  }

  async fieldCatalog(): Promise<FieldDef[]> {
    return catalogFor(await this.loadFacts());
  }

  // ---- reading ----------------------------------------------------------------------------------------

  private async listPersons(query: Record<string, string | number | undefined>, what: string): Promise<{ persons: WirePerson[]; next: string | null }> {
    const reply = await this.client.call<ListBody>('GET', '/api/v2/persons', {
      query: { ...query, owner_id: await this.ownerFilter(), include_fields: INCLUDE },
    });
    if (reply.status === 400 && /cursor/i.test(appMessage(reply.body, ''))) {
      throw new FeedExpiredError(`Pipedrive no longer accepts the paging cursor (${appMessage(reply.body, 'invalid cursor')})`, 400);
    }
    if (reply.status !== 200) this.unexpected(what, reply);
    return { persons: (reply.body.data ?? []).filter((p) => !p.is_deleted), next: reply.body.additional_data?.next_cursor ?? null };
  }

  async listPage(cursor: string | null, pageSize: number): Promise<Page> {
    const { persons, next } = await this.listPersons(
      { limit: Math.min(Math.max(1, pageSize), MAX_PAGE), cursor: cursor ?? undefined, sort_by: 'id', sort_direction: 'asc' },
      'listing persons',
    );
    return { records: await this.records(persons), nextCursor: next };
  }

  /** "Now" in Pipedrive's own clock: the newest update time, and the versions inside the window before it. */
  async currentCursor(): Promise<string> {
    const newest = await this.client.call<ListBody>('GET', '/api/v2/persons', {
      query: { limit: 1, sort_by: 'update_time', sort_direction: 'desc', owner_id: await this.ownerFilter(), include_fields: INCLUDE },
    });
    if (newest.status !== 200) this.unexpected('reading the newest person', newest);
    const top = newest.body.data?.[0];
    if (!top) return encode({ v: 2, s: '', seen: [] });
    const recent = await allPages(undefined, async (cursor: string | undefined) => {
      const { persons, next } = await this.listPersons(
        { updated_since: windowStart(top.update_time), sort_by: 'update_time', sort_direction: 'asc', limit: MAX_PAGE, cursor },
        'reading the newest persons',
      );
      return { items: persons, next };
    });
    const s = recent.reduce((max, p) => (p.update_time > max ? p.update_time : max), top.update_time);
    return encode({ v: 2, s, seen: windowOf(recent.map((p) => [personKey(p), p.update_time]), s) });
  }

  async changesSince(cursor: string, pageSize: number): Promise<ChangeSet> {
    const state = decode(cursor);
    const limit = Math.min(Math.max(1, pageSize), MAX_PAGE);
    // The walk keeps the updated_since it began with: Pipedrive's cursor belongs to that query.
    const from = state.f ?? (state.s ? windowStart(state.s) : '');
    const { persons, next } = await this.listPersons(
      { updated_since: from || undefined, sort_by: 'update_time', sort_direction: 'asc', limit, cursor: state.p },
      'reading changed persons',
    );
    const seen = new Set(state.seen.map(([key]) => key));
    const read: [string, string][] = [...(state.w ?? [])];
    const fresh: WirePerson[] = [];
    for (const p of persons) {
      const key = personKey(p);
      if (!seen.has(key)) fresh.push(p);
      read.push([key, p.update_time]);
    }
    const newest = read.reduce((max, [, at]) => (at > max ? at : max), state.s);
    const changes: Change[] = (await this.records(fresh)).map((record) => ({ deleted: false, record }));
    if (next) return { changes, nextCursor: encode({ ...state, f: from, p: next, w: windowOf(read, newest) }), hasMore: true };
    return { changes, nextCursor: encode({ v: 2, s: newest, seen: windowOf([...state.seen, ...read], newest) }), hasMore: false };
  }

  private async fetchOne(id: string): Promise<WirePerson | null> {
    if (!/^\d+$/.test(id)) return null;
    const reply = await this.client.call<{ data: WirePerson }>('GET', `/api/v2/persons/${id}`, { query: { include_fields: INCLUDE } });
    if (reply.status === 404) return null;
    if (reply.status !== 200) this.unexpected(`reading person ${id}`, reply);
    return reply.body.data.is_deleted ? null : reply.body.data;
  }

  async get(id: string): Promise<AppRecord | null> {
    const person = await this.fetchOne(id);
    return person ? (await this.records([person]))[0] : null;
  }

  async findByEmail(email: string): Promise<AppRecord[]> {
    const wanted = email.trim().toLowerCase();
    if (wanted.length < 2) return [];
    const reply = await this.client.call<{ data: { items: { item: { id: number } }[] } | null }>('GET', '/api/v2/persons/search', {
      query: { term: wanted, fields: 'email', exact_match: 'true', limit: MAX_IDS },
    });
    if (reply.status !== 200) this.unexpected('searching persons by email', reply);
    const ids = (reply.body.data?.items ?? []).map((i) => i.item.id);
    if (ids.length === 0) return [];
    const { persons } = await this.listPersons({ ids: ids.slice(0, MAX_IDS).join(','), limit: MAX_IDS }, 'reading persons found by email');
    const matching = persons.filter((p) => (p.emails ?? []).some((e) => e.value.trim().toLowerCase() === wanted));
    return this.records(matching.sort((a, b) => a.id - b.id));
  }

  // ---- writing ----------------------------------------------------------------------------------------

  async write(ops: WriteOp[]): Promise<WriteResult[]> {
    const results: WriteResult[] = [];
    for (const op of ops) {
      try {
        results.push(await this.writeOne(op));
      } catch (err) {
        if (err instanceof MappingError) results.push(invalidValue(op.ref, err));
        else if (err instanceof ContactError || err instanceof NotFoundError || err instanceof VersionConflictError) results.push(failure(op.ref, err));
        else throw err;
      }
    }
    return results;
  }

  /** A refusal of one person's write: the app's own message, as a per-contact failure. */
  private refused(step: string, reply: Reply<unknown>): never {
    throw refusal(step, reply, pipedriveStatusRules, { checksVersions: false });
  }

  /**
   * Pipedrive has no version check of its own: the current person is read first and compared with the
   * version the engine holds, which narrows last-write-wins to the moment between that read and the write.
   */
  private async current(op: Extract<WriteOp, { kind: 'update' | 'delete' }>): Promise<WirePerson | null> {
    const person = await this.fetchOne(op.id);
    if (person && op.version !== undefined && op.version !== versionOf(person)) {
      throw new VersionConflictError(`person ${op.id} changed since version ${op.version}`, 412, 'version_mismatch');
    }
    return person;
  }

  private async writeOne(op: WriteOp): Promise<WriteResult> {
    if (op.kind === 'delete') {
      const person = await this.current(op);
      // Already gone is what a delete wants.
      if (!person) return { ref: op.ref, ok: true, record: null };
      const reply = await this.client.call('DELETE', `/api/v2/persons/${person.id}`);
      if (reply.status === 404) return { ref: op.ref, ok: true, record: null };
      if (reply.status !== 200) this.refused('delete', reply);
      return { ref: op.ref, ok: true, record: null };
    }

    const facts = await this.loadFacts();
    if (op.kind === 'create') {
      const visibleTo = await this.visibleToId();
      const body = toBody(op.fields, null, { facts });
      if ('org_id' in op.fields) body.org_id = await this.organizationId(op.fields.org_id);
      if (visibleTo !== undefined) body.visible_to = visibleTo;
      if (body.name === undefined) body.name = '';
      // POST and PATCH /api/v2/persons take no query parameters (include_fields is a read's), so the answer has no
      // marketing_status. A new person's is the account's default, which only a read tells.
      const reply = await this.client.call<{ data: WirePerson }>('POST', '/api/v2/persons', { body });
      if (reply.status !== 200 && reply.status !== 201) this.refused('create', reply);
      const created = (await this.fetchOne(String(reply.body.data.id))) ?? reply.body.data;
      return { ref: op.ref, ok: true, record: (await this.records([created]))[0] };
    }

    const person = await this.current(op);
    if (!person) throw new NotFoundError(`person ${op.id} does not exist`, 404, 'not_found');
    const body = toBody(op.fields, person, { facts });
    if ('org_id' in op.fields) body.org_id = await this.organizationId(op.fields.org_id);
    if (Object.keys(body).length === 0) return { ref: op.ref, ok: true, record: (await this.records([person]))[0] };
    const reply = await this.client.call<{ data: WirePerson }>('PATCH', `/api/v2/persons/${person.id}`, { body });
    if (reply.status !== 200) this.refused('update', reply);
    return { ref: op.ref, ok: true, record: (await this.records([withMarketingStatus(reply.body.data, body, person)]))[0] };
  }

  /** Pipedrive links a person to an organization by id: an existing one of that exact name, or a new one. */
  private async organizationId(value: unknown): Promise<number | null> {
    const name = typeof value === 'string' ? value.trim() : value === null || value === undefined ? '' : String(value).trim();
    if (name === '') return null;
    for (const [id, known] of this.orgNames) if (known.toLowerCase() === name.toLowerCase()) return id;
    if (name.length >= 2) {
      const found = await this.client.call<{ data: { items: { item: { id: number; name: string } }[] } | null }>('GET', '/api/v2/organizations/search', {
        query: { term: name, fields: 'name', exact_match: 'true', limit: 10 },
      });
      if (found.status !== 200) this.unexpected('searching organizations', found);
      const hit = (found.body.data?.items ?? []).map((i) => i.item).find((o) => o.name.trim().toLowerCase() === name.toLowerCase());
      if (hit) {
        this.orgNames.set(hit.id, hit.name);
        return hit.id;
      }
    }
    const created = await this.client.call<{ data: { id: number; name: string } }>('POST', '/api/v2/organizations', { body: { name } });
    if (created.status !== 200 && created.status !== 201) this.refused('creating the organization', created);
    this.orgNames.set(created.body.data.id, created.body.data.name);
    return created.body.data.id;
  }
}
