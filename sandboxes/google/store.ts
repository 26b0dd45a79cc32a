import type { people_v1 } from '@googleapis/people';
import { randomBytes } from 'node:crypto';
import { FaultQueue } from '../kit/faults';
import { RollingWindow } from '../kit/rate-limit';
import { person as seedPerson } from '../kit/seed';
import {
  GoogleApiError,
  PERSON_FIELDS,
  SINGLETON_FIELDS,
  WRITABLE_PERSON_FIELDS,
  type AccountConfig,
  type FaultSpec,
  type FieldItem,
  type PersonData,
  type StoredGroup,
  type StoredPerson,
  type Tombstone,
  type WritablePersonField,
} from './types';

// One Google account's contacts and contact groups, in memory.
//
// Two views of the contacts, because Google's own are eventually consistent: `current` is what people.get and
// the write responses show at once; `visible` is what connections.list, sync tokens and search see, and a
// write reaches it only after `propagationReads` later list calls (0 by default: at once). Every change that
// reaches `visible` gets a sequence number in a log, which is what a sync token points into.
//
// Listing pages and incremental results are snapshots: the first call fixes the list of resource names and the
// log position; later pages read those people as they are then. A change after the snapshot lies after the log
// position, so the next sync token reports it.

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;
const MAX_SEARCH_PAGE = 30;
export const MAX_BATCH_CREATE = 200;
export const MAX_BATCH_GET = 200;
export const MAX_BATCH_DELETE = 500;

/** Groups every account has; only myContacts and starred accept new members. */
const SYSTEM_GROUPS: [id: string, name: string, closed: boolean][] = [
  ['myContacts', 'myContacts', false],
  ['starred', 'starred', false],
  ['friends', 'friends', true],
  ['family', 'family', true],
  ['coworkers', 'coworkers', true],
  ['chatBuddies', 'chatBuddies', true],
  ['all', 'all', true],
  ['blocked', 'blocked', true],
];
const SYSTEM_FORMATTED: Record<string, string> = { myContacts: 'My Contacts', starred: 'Starred', chatBuddies: 'Chat contacts' };

const OUTPUT_ONLY_ITEM_KEYS = ['metadata', 'formattedType', 'canonicalForm', 'displayName', 'displayNameLastFirst', 'formattedProtocol'];

const randomTag = (bytes = 12) => randomBytes(bytes).toString('base64url');
const now = () => new Date().toISOString();

function newContactId(): string {
  // Google contact ids are large decimal numbers prefixed with "c".
  return `c${BigInt(`0x${randomBytes(8).toString('hex')}`) % 9_000_000_000_000_000_000n + 1_000_000_000_000_000_000n}`;
}

interface PageState {
  kind: 'full' | 'sync';
  ids: string[];
  offset: number;
  seq: number;
  params: string;
  requestSyncToken: boolean;
  personFields: string;
}

interface SyncTokenState {
  seq: number;
  issuedAt: number;
  generation: number;
  personFields: string;
  /** the other parameters of the listing that produced the token, which every call with it must repeat */
  params: string;
}

export interface ListParams {
  personFields?: string;
  pageSize?: string;
  pageToken?: string;
  syncToken?: string;
  requestSyncToken?: string;
  sortOrder?: string;
  sources?: string;
}

/** connections.list's answer, in the People API's own type (people as the sandbox serialises them). */
export type ListConnectionsBody = Omit<people_v1.Schema$ListConnectionsResponse, 'connections'> & { connections?: Record<string, unknown>[] };

export interface AccountStats {
  requests: number;
  rateLimited: number;
  writes: number;
  listCalls: number;
}

/** The parsed, validated personFields / readMask / updatePersonFields. */
export function parseMask(value: unknown, name: string, method: string, allowed: readonly string[] = PERSON_FIELDS): string[] {
  if (typeof value !== 'string' || value.trim() === '') {
    throw GoogleApiError.invalid(
      `${name} mask is required. Please specify one or more valid paths. Valid paths are documented at https://developers.google.com/people/api/rest/v1/${method}.`,
    );
  }
  const paths = value.split(',').map((p) => p.trim().replace(/^person\./, ''));
  for (const path of paths) {
    if (!allowed.includes(path)) throw GoogleApiError.invalid(`Invalid ${name} mask path: "${path}". Valid paths are documented at https://developers.google.com/people/api/rest/v1/${method}.`);
  }
  return [...new Set(paths)];
}

export class GoogleAccount {
  private current = new Map<string, StoredPerson>();
  private visible = new Map<string, StoredPerson | Tombstone>();
  /** log position of each visible person's latest change, for LAST_MODIFIED order and sync results */
  private lastSeq = new Map<string, number>();
  private log: { seq: number; id: string }[] = [];
  private seq = 0;
  private pending: { id: string; readsLeft: number }[] = [];
  private groups = new Map<string, StoredGroup>();
  private pages = new Map<string, PageState>();
  private syncTokens = new Map<string, SyncTokenState>();
  private tokenGeneration = 0;
  private searchCache: StoredPerson[] | null = null;
  private faults = new FaultQueue<FaultSpec>();
  private window = new RollingWindow(60_000);
  private nextPersonIndex = 0;
  readonly stats: AccountStats = { requests: 0, rateLimited: 0, writes: 0, listCalls: 0 };
  config: Required<Omit<AccountConfig, 'maxRequestsPerMinute'>> & Pick<AccountConfig, 'maxRequestsPerMinute'>;

  constructor(
    readonly name: string,
    config: AccountConfig = {},
  ) {
    this.config = { pageSizeCap: MAX_PAGE_SIZE, propagationReads: 0, syncTokenMaxAgeMs: SEVEN_DAYS_MS, ...config };
    const at = now();
    for (const [id, groupName, closed] of SYSTEM_GROUPS) {
      this.groups.set(id, { id, etag: randomTag(), name: groupName, groupType: 'SYSTEM_CONTACT_GROUP', updateTime: at, closed });
    }
  }

  configure(config: AccountConfig): void {
    Object.assign(this.config, config);
  }

  // ---- test and demo hooks ---------------------------------------------------------------------------------

  failNext(fault: FaultSpec): void {
    this.faults.add(fault, Math.max(1, Math.floor(fault.count ?? 1)));
  }

  /** What passing time does to sync tokens: every token issued so far is refused from now on. */
  expireSyncTokens(): void {
    this.tokenGeneration++;
  }

  /** Contacts as the account stores them (current state, not the eventually consistent view). */
  people(): StoredPerson[] {
    return [...this.current.values()];
  }

  find(id: string): StoredPerson | undefined {
    return this.current.get(id.replace(/^people\//, ''));
  }

  groupList(): StoredGroup[] {
    return [...this.groups.values()];
  }

  /** Realistic people (sandboxes/kit/seed.ts), tags becoming contact groups, as if they had been in the account before. */
  seed(options: { count: number; start?: number; seed?: number }): StoredPerson[] {
    const start = options.start ?? this.nextPersonIndex;
    const made: StoredPerson[] = [];
    for (let i = start; i < start + options.count; i++) {
      const p = seedPerson(i, options.seed ?? 1);
      const memberships = [
        'contactGroups/myContacts',
        ...(p.tags ?? []).map((tag) => this.groupNamed(tag, true)!.id).map((id) => `contactGroups/${id}`),
      ].map((rn) => ({ contactGroupMembership: { contactGroupResourceName: rn } }));
      const data: PersonData = {
        names: [{ givenName: p.first_name ?? undefined, familyName: p.last_name ?? undefined }],
        emailAddresses: (p.emails ?? []).map((e) => ({ value: e.value, type: e.type })),
        phoneNumbers: (p.phones ?? []).map((ph) => ({ value: ph.value, type: ph.type })),
        organizations: p.company || p.job_title ? [{ name: p.company ?? undefined, title: p.job_title ?? undefined }] : [],
        addresses: p.address
          ? [
              {
                type: 'work',
                streetAddress: p.address.street ?? undefined,
                city: p.address.city ?? undefined,
                region: p.address.region ?? undefined,
                postalCode: p.address.postal_code ?? undefined,
                country: p.address.country ?? undefined,
              },
            ]
          : [],
        biographies: p.notes ? [{ value: p.notes, contentType: 'TEXT_PLAIN' }] : [],
        memberships,
      };
      made.push(this.store(newContactId(), compact(data)));
    }
    this.nextPersonIndex = Math.max(this.nextPersonIndex, start + options.count);
    return made;
  }

  /** A user adding a contact in Google Contacts: no API validation, in My Contacts unless memberships say otherwise. */
  addPerson(data: PersonData): StoredPerson {
    return this.store(newContactId(), compact({ memberships: [myContactsMembership()], ...data }));
  }

  /** A user editing a contact: the given fields replace the stored ones. */
  editPerson(id: string, data: PersonData): StoredPerson {
    const existing = this.find(id);
    if (!existing) throw new Error(`no contact ${id}`);
    return this.store(existing.id, compact({ ...existing.data, ...data }));
  }

  removePerson(id: string): void {
    const existing = this.find(id);
    if (!existing) throw new Error(`no contact ${id}`);
    this.drop(existing.id);
  }

  createGroup(name: string): StoredGroup {
    if (this.groupNamed(name, false)) throw new GoogleApiError(409, 'Contact group name already exists.', 'ALREADY_EXISTS');
    return this.groupNamed(name, true)!;
  }

  // ---- request admission -----------------------------------------------------------------------------------

  /** Counts the request; throws the injected fault or the quota error that applies to it. */
  admit(at = Date.now()): void {
    this.stats.requests++;
    const fault = this.faults.take();
    if (fault) {
      if (fault.status === 429) this.stats.rateLimited++;
      throw faultError(fault);
    }
    const max = this.config.maxRequestsPerMinute;
    if (!max) return;
    const retryAfter = this.window.take(max, at);
    if (retryAfter === null) return;
    this.stats.rateLimited++;
    throw quotaError(retryAfter);
  }

  // ---- reads -----------------------------------------------------------------------------------------------

  /** people.connections.list: a full listing, or the changes since a sync token. */
  listConnections(params: ListParams): ListConnectionsBody {
    this.stats.listCalls++;
    this.propagate();
    const fields = parseMask(params.personFields, 'personFields', 'people.connections/list');
    const personFields = [...fields].sort().join(',');
    const requested = params.pageSize === undefined || params.pageSize === '' ? 0 : Number(params.pageSize);
    if (!Number.isInteger(requested) || requested < 0 || requested > MAX_PAGE_SIZE) {
      throw GoogleApiError.invalid(`Invalid pageSize: ${params.pageSize}. The page size must be between 1 and ${MAX_PAGE_SIZE}.`);
    }
    const pageSize = Math.min(requested || DEFAULT_PAGE_SIZE, this.config.pageSizeCap);
    const requestSyncToken = params.requestSyncToken === 'true';
    // "When syncing, all other parameters provided to people.connections.list must match the first call that
    // provided the sync token"; the same holds for page tokens (the syncToken and pageToken fields of
    // https://developers.google.com/people/api/rest/v1/people.connections/list).
    const tokenKey = `${personFields}|${requested}|${requestSyncToken}|${params.sortOrder ?? ''}|${params.sources ?? ''}`;
    const key = `${tokenKey}|${params.syncToken ?? ''}`;

    let state: PageState;
    if (params.pageToken) {
      const known = this.pages.get(params.pageToken);
      if (!known) throw GoogleApiError.invalid('Page token is invalid or has expired.');
      if (known.params !== key) {
        throw GoogleApiError.invalid('Parameters provided to people.connections.list must match the first call that provided the page token.');
      }
      state = known;
    } else if (params.syncToken) {
      const token = this.syncTokens.get(params.syncToken);
      const expired =
        !token || token.generation !== this.tokenGeneration || Date.now() - token.issuedAt > this.config.syncTokenMaxAgeMs;
      if (expired) throw expiredSyncToken();
      if (token.personFields !== personFields) {
        throw GoogleApiError.invalid('personFields must match the request that produced the sync token.');
      }
      if (token.params !== tokenKey) {
        throw GoogleApiError.invalid('Parameters provided to people.connections.list must match the first call that provided the sync token.');
      }
      const changed = new Set<string>();
      for (let i = this.log.length - 1; i >= 0 && this.log[i].seq > token.seq; i--) changed.add(this.log[i].id);
      const ids = [...changed].sort((x, y) => this.lastSeq.get(x)! - this.lastSeq.get(y)!);
      state = { kind: 'sync', ids, offset: 0, seq: this.seq, params: key, requestSyncToken, personFields };
    } else {
      const ids = [...this.visible.entries()]
        .filter(([, p]) => !('deleted' in p))
        .map(([id]) => id)
        .sort((x, y) => this.lastSeq.get(x)! - this.lastSeq.get(y)!);
      if (params.sortOrder === 'LAST_MODIFIED_DESCENDING') ids.reverse();
      state = { kind: 'full', ids, offset: 0, seq: this.seq, params: key, requestSyncToken, personFields };
    }

    const slice = state.ids.slice(state.offset, state.offset + pageSize);
    const connections: Record<string, unknown>[] = [];
    for (const id of slice) {
      const p = this.visible.get(id);
      if (!p) continue;
      if ('deleted' in p) {
        // A full listing skips people deleted after it began; an incremental one reports them as tombstones.
        if (state.kind === 'sync') connections.push(tombstoneJson(p, fields));
      } else {
        connections.push(this.personJson(p, fields));
      }
    }
    const total = [...this.visible.values()].filter((p) => !('deleted' in p)).length;
    const body: ListConnectionsBody = { ...(connections.length ? { connections } : {}), totalPeople: total, totalItems: total };
    const nextOffset = state.offset + pageSize;
    if (nextOffset < state.ids.length) {
      const pageToken = randomTag(18);
      this.pages.set(pageToken, { ...state, offset: nextOffset });
      body.nextPageToken = pageToken;
    } else if (state.requestSyncToken) {
      // Only when asked, on incremental calls too: "Request must set request_sync_token to return the sync
      // token" (nextSyncToken of https://developers.google.com/people/api/rest/v1/people.connections/list).
      const syncToken = randomTag(24);
      const tokenParams = state.params.slice(0, state.params.lastIndexOf('|'));
      this.syncTokens.set(syncToken, { seq: state.seq, issuedAt: Date.now(), generation: this.tokenGeneration, personFields, params: tokenParams });
      body.nextSyncToken = syncToken;
    }
    return body;
  }

  getPerson(id: string, mask: unknown): Record<string, unknown> {
    const fields = parseMask(mask, 'personFields', 'people/get');
    const p = this.find(id);
    if (!p) throw notFound();
    return this.personJson(p, fields);
  }

  batchGet(names: string[], mask: unknown): Record<string, unknown> {
    const fields = parseMask(mask, 'personFields', 'people/getBatchGet');
    if (names.length === 0) throw GoogleApiError.invalid('Request must contain at least one resource name.');
    if (names.length > MAX_BATCH_GET) throw GoogleApiError.invalid(`Too many resource names: at most ${MAX_BATCH_GET} are allowed.`);
    return {
      responses: names.map((requestedResourceName) => {
        const p = this.find(requestedResourceName);
        return p
          ? { httpStatusCode: 200, requestedResourceName, person: this.personJson(p, fields), status: {} }
          : { httpStatusCode: 404, requestedResourceName, status: { code: 5, message: 'Requested entity was not found.' } };
      }),
    };
  }

  /** people.searchContacts: answers from a cache that each request refreshes afterwards, as Google's does. */
  search(query: unknown, readMask: unknown, pageSize: unknown): Record<string, unknown> {
    const fields = parseMask(readMask, 'readMask', 'people/searchContacts');
    const size = pageSize === undefined ? 10 : Number(pageSize);
    if (!Number.isInteger(size) || size < 0 || size > MAX_SEARCH_PAGE) {
      throw GoogleApiError.invalid(`Invalid pageSize: ${String(pageSize)}. The page size must be between 1 and ${MAX_SEARCH_PAGE}.`);
    }
    const cache = this.searchCache;
    this.searchCache = [...this.visible.values()].filter((p): p is StoredPerson => !('deleted' in p));
    const q = typeof query === 'string' ? query.trim().toLowerCase() : '';
    if (!q || !cache) return {};
    const results = cache
      .filter((p) => searchTerms(p).some((t) => t.startsWith(q)))
      .slice(0, size || 10)
      .map((p) => ({ person: this.personJson(p, fields) }));
    return results.length ? { results } : {};
  }

  listGroups(pageSize: unknown, pageToken: unknown): Record<string, unknown> {
    const size = pageSize === undefined ? 30 : Number(pageSize);
    if (!Number.isInteger(size) || size < 0 || size > 1000) throw GoogleApiError.invalid(`Invalid pageSize: ${String(pageSize)}.`);
    const offset = typeof pageToken === 'string' && pageToken ? Number(Buffer.from(pageToken, 'base64url').toString()) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw GoogleApiError.invalid('Page token is invalid.');
    const all = [...this.groups.values()];
    const slice = all.slice(offset, offset + (size || 30));
    const next = offset + (size || 30);
    return {
      contactGroups: slice.map((g) => this.groupJson(g)),
      totalItems: all.length,
      ...(next < all.length ? { nextPageToken: Buffer.from(String(next)).toString('base64url') } : {}),
    };
  }

  getGroup(id: string): Record<string, unknown> {
    const g = this.groups.get(id);
    if (!g) throw notFound();
    return this.groupJson(g);
  }

  // ---- writes ----------------------------------------------------------------------------------------------

  createContact(body: unknown, mask: unknown): Record<string, unknown> {
    const fields = mask === undefined ? PERSON_FIELDS : parseMask(mask, 'personFields', 'people/createContact');
    const data = this.validatePerson(body, 'person');
    if (!data.memberships?.length) data.memberships = [myContactsMembership()];
    this.stats.writes++;
    return this.personJson(this.store(newContactId(), data), fields);
  }

  /** All or nothing: one invalid contact fails the whole request, as a 400 naming its index. */
  batchCreate(body: unknown): Record<string, unknown> {
    const { contacts, readMask } = (body ?? {}) as { contacts?: unknown; readMask?: unknown };
    const fields = parseMask(readMask, 'readMask', 'people/batchCreateContacts');
    if (!Array.isArray(contacts) || contacts.length === 0) throw GoogleApiError.invalid('Request must contain at least one contact.');
    if (contacts.length > MAX_BATCH_CREATE) throw GoogleApiError.invalid(`Too many contacts in the request: at most ${MAX_BATCH_CREATE} are allowed.`);
    const validated = contacts.map((c, i) => {
      const data = this.validatePerson((c as { contactPerson?: unknown } | null)?.contactPerson, `contacts[${i}].contact_person`);
      if (!data.memberships?.length) data.memberships = [myContactsMembership()];
      return data;
    });
    this.stats.writes += validated.length;
    return {
      createdPeople: validated.map((data) => ({
        httpStatusCode: 200,
        person: this.personJson(this.store(newContactId(), data), fields),
        status: {},
      })),
    };
  }

  updateContact(id: string, body: unknown, updateMask: unknown, mask: unknown): Record<string, unknown> {
    const update = parseMask(updateMask, 'updatePersonFields', 'people/updateContact', WRITABLE_PERSON_FIELDS) as WritablePersonField[];
    const fields = mask === undefined ? PERSON_FIELDS : parseMask(mask, 'personFields', 'people/updateContact');
    const existing = this.find(id);
    if (!existing) throw notFound();
    const person = (body ?? {}) as { etag?: unknown; metadata?: { sources?: { etag?: unknown }[] } };
    const etag = typeof person.etag === 'string' ? person.etag : person.metadata?.sources?.find((s) => typeof s.etag === 'string')?.etag;
    if (typeof etag !== 'string' || etag === '') {
      throw GoogleApiError.invalid('Request must set person.etag or person.metadata.sources.etag for the source that is being updated.');
    }
    if (etag !== existing.etag && etag !== existing.sourceEtag) {
      throw new GoogleApiError(
        400,
        'Request person.etag is different than the current person.etag. Clear local cache and get the latest person.',
        'FAILED_PRECONDITION',
      );
    }
    const given = this.validatePerson(body, 'person');
    const data: PersonData = { ...existing.data };
    for (const field of update) {
      if (given[field]?.length) data[field] = given[field];
      else delete data[field];
    }
    if (!data.memberships?.length) {
      throw GoogleApiError.invalid('A contact must belong to at least one contact group.', [
        { field: 'person.memberships', description: 'A contact must belong to at least one contact group.' },
      ]);
    }
    this.stats.writes++;
    const same = JSON.stringify(compact(data)) === JSON.stringify(compact({ ...existing.data }));
    return this.personJson(same ? existing : this.store(existing.id, compact(data)), fields);
  }

  deleteContact(id: string): void {
    const existing = this.find(id);
    if (!existing) throw notFound();
    this.stats.writes++;
    this.drop(existing.id);
  }

  batchDelete(body: unknown): void {
    const names = (body as { resourceNames?: unknown } | null)?.resourceNames;
    if (!Array.isArray(names) || names.length === 0) throw GoogleApiError.invalid('Request must contain at least one resource name.');
    if (names.length > MAX_BATCH_DELETE) throw GoogleApiError.invalid(`Too many resource names: at most ${MAX_BATCH_DELETE} are allowed.`);
    const found = names.map((n) => (typeof n === 'string' ? this.find(n) : undefined));
    if (found.some((p) => !p)) throw notFound();
    this.stats.writes += found.length;
    for (const p of found) this.drop(p!.id);
  }

  createGroupApi(body: unknown): Record<string, unknown> {
    const name = (body as { contactGroup?: { name?: unknown } } | null)?.contactGroup?.name;
    if (typeof name !== 'string' || name.trim() === '') throw GoogleApiError.invalid('Contact group name must be set.');
    return this.groupJson(this.createGroup(name.trim()));
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private store(id: string, data: PersonData): StoredPerson {
    const p: StoredPerson = { id, etag: `%Eg${randomTag()}`, sourceEtag: `#${randomTag(9)}`, updateTime: now(), data };
    this.current.set(id, p);
    this.changed(id);
    return p;
  }

  private drop(id: string): void {
    this.current.delete(id);
    this.changed(id);
  }

  private changed(id: string): void {
    if (this.config.propagationReads > 0) this.pending.push({ id, readsLeft: this.config.propagationReads });
    else this.publish(id);
  }

  /** One list call's worth of propagation: writes whose delay has run out become visible. */
  private propagate(): void {
    const due = this.pending.filter((p) => p.readsLeft <= 0);
    this.pending = this.pending.filter((p) => p.readsLeft > 0);
    for (const p of this.pending) p.readsLeft--;
    for (const { id } of due) this.publish(id);
  }

  private publish(id: string): void {
    const p = this.current.get(id);
    const seen = this.visible.get(id);
    if (!p && (!seen || 'deleted' in seen)) return;
    this.visible.set(id, p ?? { id, etag: `%Eg${randomTag()}`, updateTime: now(), deleted: true });
    this.seq++;
    this.log.push({ seq: this.seq, id });
    this.lastSeq.set(id, this.seq);
  }

  private groupNamed(name: string, create: boolean): StoredGroup | undefined {
    const lower = name.toLowerCase();
    const found = [...this.groups.values()].find((g) => g.groupType === 'USER_CONTACT_GROUP' && g.name.toLowerCase() === lower);
    if (found || !create) return found;
    const g: StoredGroup = { id: randomBytes(8).toString('hex'), etag: randomTag(), name, groupType: 'USER_CONTACT_GROUP', updateTime: now() };
    this.groups.set(g.id, g);
    return g;
  }

  private memberCount(groupId: string): number {
    let n = 0;
    for (const p of this.current.values()) if (groupIds(p.data).includes(groupId)) n++;
    return n;
  }

  /** Validates a Person body and keeps its writable content, without output-only parts. */
  private validatePerson(body: unknown, at: string): PersonData {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new GoogleApiError(400, 'Request must contain a person.');
    const data: PersonData = {};
    for (const [key, value] of Object.entries(body)) {
      if (key === 'resourceName' || key === 'etag' || key === 'metadata') continue;
      if (!(WRITABLE_PERSON_FIELDS as readonly string[]).includes(key)) {
        if (PERSON_FIELDS.includes(key)) continue;
        throw GoogleApiError.invalid(`Invalid JSON payload received. Unknown name "${key}" at '${at}': Cannot find field.`, [
          { field: at, description: `Invalid JSON payload received. Unknown name "${key}" at '${at}': Cannot find field.` },
        ]);
      }
      if (!Array.isArray(value) || value.some((v) => v === null || typeof v !== 'object' || Array.isArray(v))) {
        throw GoogleApiError.invalid(`Invalid value at '${at}.${key}', a list of objects is expected.`);
      }
      if (SINGLETON_FIELDS.includes(key) && value.length > 1) {
        throw GoogleApiError.invalid('Request contains an invalid argument.', [
          { field: `${at}.${key}`, description: `Only one ${key.replace(/s$/, '').replace(/ie$/, 'y')} is allowed for a contact.` },
        ]);
      }
      data[key as WritablePersonField] = (value as FieldItem[]).map(stripOutputOnly);
    }
    data.birthdays?.forEach((b, i) => {
      const date = b.date as { year?: number; month?: number; day?: number } | undefined;
      if (date && !validDate(date)) {
        throw GoogleApiError.invalid('Request contains an invalid argument.', [
          { field: `${at}.birthdays[${i}].date`, description: 'Invalid date.' },
        ]);
      }
    });
    if (data.memberships) {
      data.memberships = data.memberships.map((m, i) => {
        const membership = m.contactGroupMembership as { contactGroupResourceName?: unknown; contactGroupId?: unknown } | undefined;
        const id =
          typeof membership?.contactGroupResourceName === 'string'
            ? membership.contactGroupResourceName.replace(/^contactGroups\//, '')
            : typeof membership?.contactGroupId === 'string'
              ? membership.contactGroupId
              : undefined;
        const group = id === undefined ? undefined : this.groups.get(id);
        if (!group || group.closed) {
          throw GoogleApiError.invalid('Request contains an invalid argument.', [
            { field: `${at}.memberships[${i}]`, description: `Contact group "${String(id)}" does not exist or does not accept members.` },
          ]);
        }
        return { contactGroupMembership: { contactGroupResourceName: `contactGroups/${group.id}` } };
      });
    }
    return compact(data);
  }

  personJson(p: StoredPerson, fields: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = { resourceName: `people/${p.id}`, etag: p.etag };
    const source = { type: 'CONTACT', id: p.id.slice(1) };
    for (const field of fields) {
      if (field === 'metadata') {
        out.metadata = { sources: [{ type: 'CONTACT', id: source.id, etag: p.sourceEtag, updateTime: p.updateTime }], objectType: 'PERSON' };
        continue;
      }
      const items = p.data[field as WritablePersonField];
      if (!items?.length) continue;
      out[field] = items.map((item, i) => decorate(field, item, i === 0, source, this.groups));
    }
    return out;
  }

  private groupJson(g: StoredGroup): Record<string, unknown> {
    return {
      resourceName: `contactGroups/${g.id}`,
      etag: g.etag,
      metadata: { updateTime: g.updateTime },
      groupType: g.groupType,
      name: g.name,
      formattedName: g.groupType === 'SYSTEM_CONTACT_GROUP' ? (SYSTEM_FORMATTED[g.name] ?? g.name[0].toUpperCase() + g.name.slice(1)) : g.name,
      memberCount: this.memberCount(g.id),
    };
  }
}

const myContactsMembership = (): FieldItem => ({ contactGroupMembership: { contactGroupResourceName: 'contactGroups/myContacts' } });

function groupIds(data: PersonData): string[] {
  return (data.memberships ?? []).map((m) =>
    String((m.contactGroupMembership as { contactGroupResourceName?: string } | undefined)?.contactGroupResourceName ?? '').replace(
      /^contactGroups\//,
      '',
    ),
  );
}

function stripOutputOnly(item: FieldItem): FieldItem {
  const out: FieldItem = {};
  for (const [k, v] of Object.entries(item)) {
    if (OUTPUT_ONLY_ITEM_KEYS.includes(k) || v === undefined || v === null || v === '') continue;
    out[k] = v;
  }
  return out;
}

/** Drops empty lists and empty items, which Google never stores or returns. */
function compact(data: PersonData): PersonData {
  const out: PersonData = {};
  for (const [key, items] of Object.entries(data) as [WritablePersonField, FieldItem[] | undefined][]) {
    const kept = (items ?? []).map(stripOutputOnly).filter((item) => Object.keys(item).length > 0);
    if (kept.length) out[key] = kept;
  }
  return out;
}

function validDate(d: { year?: number; month?: number; day?: number }): boolean {
  const { year = 0, month = 0, day = 0 } = d;
  if (![year, month, day].every(Number.isInteger)) return false;
  if (year < 0 || year > 9999 || month < 0 || month > 12 || day < 0 || day > 31) return false;
  if (month === 0) return day === 0 && year > 0;
  if (day === 0) return true;
  const days = new Date(Date.UTC(year || 2000, month, 0)).getUTCDate();
  return day <= days;
}

const TYPE_LABELS: Record<string, string> = {
  home: 'Home',
  work: 'Work',
  other: 'Other',
  mobile: 'Mobile',
  homeFax: 'Home Fax',
  workFax: 'Work Fax',
  otherFax: 'Other Fax',
  pager: 'Pager',
  workMobile: 'Work Mobile',
  workPager: 'Work Pager',
  main: 'Main',
  googleVoice: 'Google Voice',
};

/** The output-only parts Google adds to each field when it answers. */
function decorate(
  field: string,
  item: FieldItem,
  primary: boolean,
  source: { type: string; id: string },
  groups: Map<string, StoredGroup>,
): FieldItem {
  const out: FieldItem = { metadata: { ...(primary ? { primary: true, sourcePrimary: true } : {}), source }, ...item };
  if (typeof item.type === 'string') out.formattedType = TYPE_LABELS[item.type] ?? item.type;
  if (field === 'names') {
    const parts = [item.honorificPrefix, item.givenName, item.middleName, item.familyName, item.honorificSuffix].filter(Boolean);
    const display = parts.length ? parts.join(' ') : (item.unstructuredName as string | undefined);
    if (display) out.displayName = display;
    const lastFirst = [item.familyName, [item.givenName, item.middleName].filter(Boolean).join(' ')].filter(Boolean).join(', ');
    if (lastFirst) out.displayNameLastFirst = lastFirst;
  }
  if (field === 'phoneNumbers' && typeof item.value === 'string' && item.value.trim().startsWith('+')) {
    out.canonicalForm = `+${item.value.replace(/\D/g, '')}`;
  }
  if (field === 'addresses') {
    const line2 = [item.city, item.region, item.postalCode].filter(Boolean).join(' ');
    const formatted = [item.streetAddress, item.extendedAddress, line2, item.country].filter(Boolean).join('\n');
    if (formatted) out.formattedValue = formatted;
  }
  if (field === 'memberships') {
    const rn = String((item.contactGroupMembership as { contactGroupResourceName?: string }).contactGroupResourceName);
    const id = rn.replace(/^contactGroups\//, '');
    out.contactGroupMembership = { contactGroupId: groups.get(id)?.id ?? id, contactGroupResourceName: rn };
  }
  return out;
}

function searchTerms(p: StoredPerson): string[] {
  const terms: string[] = [];
  const add = (v: unknown) => {
    if (typeof v !== 'string' || !v) return;
    terms.push(v.toLowerCase(), ...v.toLowerCase().split(/\s+/));
  };
  for (const n of p.data.names ?? []) [n.givenName, n.familyName, n.middleName, n.unstructuredName].forEach(add);
  for (const e of p.data.emailAddresses ?? []) add(e.value);
  for (const ph of p.data.phoneNumbers ?? []) add(ph.value);
  for (const o of p.data.organizations ?? []) add(o.name);
  for (const n of p.data.nicknames ?? []) add(n.value);
  return terms;
}

function tombstoneJson(t: Tombstone, fields: readonly string[]): Record<string, unknown> {
  return {
    resourceName: `people/${t.id}`,
    etag: t.etag,
    ...(fields.includes('metadata') ? { metadata: { sources: [{ type: 'CONTACT', id: t.id.slice(1), updateTime: t.updateTime }], deleted: true } } : {}),
  };
}

const notFound = () => new GoogleApiError(404, 'Requested entity was not found.', 'NOT_FOUND');

export function expiredSyncToken(): GoogleApiError {
  return new GoogleApiError(
    400,
    'Sync token is expired. Clear local cache and retry call without the sync token.',
    'FAILED_PRECONDITION',
    [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'EXPIRED_SYNC_TOKEN', domain: 'people.googleapis.com' }],
  );
}

export function quotaError(retryAfterSeconds?: number): GoogleApiError {
  return new GoogleApiError(
    429,
    "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'people.googleapis.com' for consumer 'project_number:000000000000'.",
    'RESOURCE_EXHAUSTED',
    [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'RATE_LIMIT_EXCEEDED',
        domain: 'googleapis.com',
        metadata: { service: 'people.googleapis.com', quota_metric: 'people.googleapis.com/read_requests' },
      },
    ],
    retryAfterSeconds,
  );
}

function faultError(fault: FaultSpec): GoogleApiError {
  switch (fault.status) {
    case 429:
      return quotaError(fault.retryAfterSeconds);
    case 401:
      return new GoogleApiError(401, UNAUTHENTICATED_MESSAGE, 'UNAUTHENTICATED');
    case 403:
      return new GoogleApiError(403, 'The caller does not have permission', 'PERMISSION_DENIED');
    case 503:
      return new GoogleApiError(503, 'The service is currently unavailable.', 'UNAVAILABLE', undefined, fault.retryAfterSeconds);
    default:
      return new GoogleApiError(fault.status, 'Internal error encountered.', fault.status === 500 ? 'INTERNAL' : undefined, undefined, fault.retryAfterSeconds);
  }
}

export const UNAUTHENTICATED_MESSAGE =
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
