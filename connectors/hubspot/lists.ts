import { createHash } from 'node:crypto';
import type { FieldValue } from '../../sync/types';
import { isEngineTag } from '../../sync/values';
import { FeedExpiredError } from '../errors';
import { unexpected } from '../kit/statuses';
import { hubspotStatusRules, type HubSpotClient, type Reply } from './client';

// HubSpot lists (Lists API v3, "segments") as a contact's tags: the tags of a contact are the names of the
// contact lists in scope it belongs to. Requests go through the client's public `call`, like every other read.
//
// - Reads: HubSpot tells no contact's lists along with the contact, and asking per contact costs a request per
//   contact. Instead every list in scope is paged once (250 members a page) into a contact → lists index. The
//   index is kept per process for INDEX_TTL_MS, because the engine opens a new connector for every page it
//   reads; Rapport's own membership writes update it in place. What changes in HubSpot meanwhile reaches the
//   engine through the feed, which always reads fresh.
// - Writes: the wanted tags are compared with the contact's current lists; MANUAL and SNAPSHOT lists get the
//   difference through add-and-remove, one request per list for a whole batch. A tag without a list creates a
//   MANUAL list of that name. DYNAMIC lists are computed by HubSpot from their filters and refuse membership
//   writes, so they are read as tags but never written: a tag added or removed for a dynamic list is left out.
// - Feed: adding a contact to a list or removing it does not change the contact's lastmodifieddate (so the
//   search-based feed does not see it). Each cycle therefore ends by comparing memberships: the list search
//   returns each list's size and last added / removed times; only a list whose signature moved is paged again
//   and compared with the members remembered in the cursor. The cursor holds at most MAX_TRACKED_MEMBERS member
//   ids in all; beyond that it holds signatures only, and a list that changed asks for a full re-scan.

export const LISTS_FIELD = 'lists';
export const CONTACT_TYPE = '0-1';
export type ListsScope = 'all' | string[];

const LISTS = '/crm/v3/lists';
const MAX_LIST_SEARCH = 500;
const MAX_MEMBERSHIP_PAGE = 250;
/** Ids per add-and-remove request (HubSpot's documented ceiling is higher; verify). */
const MAX_MEMBERSHIP_CHANGE = 1000;
export const INDEX_TTL_MS = 30_000;
export const MAX_TRACKED_MEMBERS = 5000;

interface WireList {
  listId: string;
  name: string;
  processingType: string;
  objectTypeId: string;
  additionalProperties?: Record<string, string | undefined>;
}

export interface ListInfo {
  id: string;
  name: string;
  /** DYNAMIC: HubSpot computes the members; they cannot be written. */
  dynamic: boolean;
  /** Size and last added / removed times: moves whenever the membership does. */
  sig: string;
}

export interface MembershipIndex {
  lists: Map<string, ListInfo>;
  members: Map<string, Set<string>>;
  byContact: Map<string, Set<string>>;
}

/** Per list: its signature and, while the cursor can hold them, its members (encoded). */
export type ListSnapshot = Record<string, { n: string; s: string; m?: string }>;

const cache = new Map<string, { at: number; index: MembershipIndex }>();
/** Builds under way, so the records of one page (read in parallel) share one build. */
const building = new Map<string, Promise<MembershipIndex>>();

/** Ids in ascending order as base-36 deltas: HubSpot ids are numbers, and deltas keep the cursor small. */
export function encodeMembers(ids: Iterable<string>): string {
  const list = [...ids];
  if (!list.every((id) => /^\d+$/.test(id))) return `r${list.join(',')}`;
  let previous = 0;
  return `d${list
    .map(Number)
    .sort((a, b) => a - b)
    .map((n) => {
      const delta = (n - previous).toString(36);
      previous = n;
      return delta;
    })
    .join('.')}`;
}

export function decodeMembers(encoded: string): Set<string> {
  if (encoded.startsWith('r')) return new Set(encoded.slice(1).split(',').filter(Boolean));
  let n = 0;
  return new Set(
    encoded
      .slice(1)
      .split('.')
      .filter(Boolean)
      .map((d) => String((n += parseInt(d, 36)))),
  );
}

export function tagList(value: FieldValue | undefined): string[] {
  const raw = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[;,]/) : [];
  const out = new Map<string, string>();
  for (const t of raw.map((x) => x.trim()).filter(Boolean)) if (!out.has(t.toLowerCase())) out.set(t.toLowerCase(), t);
  return [...out.values()];
}

export class HubSpotLists {
  private readonly named: Set<string> | null;

  constructor(
    private readonly client: HubSpotClient,
    scope: ListsScope,
    /** Tells apart accounts and scopes in the per-process index cache; never a secret itself. */
    private readonly cacheKey: string,
  ) {
    this.named = scope === 'all' ? null : new Set(scope.map((n) => n.trim().toLowerCase()));
  }

  static cacheKeyOf(baseUrl: string, credential: string, scope: ListsScope): string {
    return createHash('sha256').update(`${baseUrl}\n${credential}\n${JSON.stringify(scope)}`).digest('hex');
  }

  /** The engine's own tags always have a list: they must read back as written whatever the scope names. */
  inScope(name: string): boolean {
    return !this.named || this.named.has(name.trim().toLowerCase()) || isEngineTag(name);
  }

  private unexpected(what: string, reply: Reply<unknown>): never {
    unexpected(what, reply, hubspotStatusRules);
  }

  private info(l: WireList): ListInfo {
    const p = l.additionalProperties ?? {};
    return {
      id: String(l.listId),
      name: l.name,
      dynamic: l.processingType === 'DYNAMIC',
      sig: `${p.hs_list_size ?? ''}:${p.hs_last_record_added_at ?? ''}:${p.hs_last_record_removed_at ?? ''}`,
    };
  }

  private put(path: string, body: unknown): Promise<Reply<unknown>> {
    return this.client.call<unknown>('PUT', path, { body });
  }

  /** Contact lists whose names match `query` (all of them without one), in scope or not. */
  private async search(query?: string): Promise<ListInfo[]> {
    const out: ListInfo[] = [];
    let offset = 0;
    for (let guard = 0; guard < 1000; guard++) {
      const reply = await this.client.call<{ lists: WireList[]; offset: number; hasMore: boolean }>('POST', `${LISTS}/search`, {
        body: { query: query ?? '', count: MAX_LIST_SEARCH, offset },
      });
      if (reply.status !== 200) this.unexpected('searching HubSpot lists', reply);
      for (const l of reply.body.lists) if (l.objectTypeId === CONTACT_TYPE) out.push(this.info(l));
      if (!reply.body.hasMore || reply.body.lists.length === 0) break;
      offset = reply.body.offset;
    }
    return out;
  }

  /** The contact lists in scope, fresh. */
  async definitions(): Promise<ListInfo[]> {
    return (await this.search()).filter((l) => this.inScope(l.name));
  }

  /** Every member of one list, paged. */
  async membersOf(listId: string): Promise<Set<string>> {
    const members = new Set<string>();
    let after: string | undefined;
    for (let guard = 0; guard < 100_000; guard++) {
      const reply: Reply<{ results: { recordId: string }[]; paging?: { next?: { after: string } } }> = await this.client.call('GET', `${LISTS}/${encodeURIComponent(listId)}/memberships`, {
        query: { limit: MAX_MEMBERSHIP_PAGE, after },
      });
      if (reply.status === 404) break;
      if (reply.status !== 200) this.unexpected(`reading the members of HubSpot list ${listId}`, reply);
      for (const m of reply.body.results) members.add(String(m.recordId));
      after = reply.body.paging?.next?.after;
      if (!after) break;
    }
    return members;
  }

  /** The contact → lists index: from this process's cache while it is young, else read whole. */
  async index(fresh = false): Promise<MembershipIndex> {
    const hit = cache.get(this.cacheKey);
    if (!fresh && hit && Date.now() - hit.at < INDEX_TTL_MS) return hit.index;
    const pending = building.get(this.cacheKey);
    if (pending && !fresh) return pending;
    const build = (async () => {
      const defs = await this.definitions();
      const index: MembershipIndex = { lists: new Map(), members: new Map(), byContact: new Map() };
      for (const def of defs) this.setMembers(index, def, await this.membersOf(def.id));
      cache.set(this.cacheKey, { at: Date.now(), index });
      return index;
    })().finally(() => {
      if (building.get(this.cacheKey) === build) building.delete(this.cacheKey);
    });
    building.set(this.cacheKey, build);
    return build;
  }

  private setMembers(index: MembershipIndex, def: ListInfo, members: Set<string>): void {
    for (const id of index.members.get(def.id) ?? []) index.byContact.get(id)?.delete(def.id);
    index.lists.set(def.id, def);
    index.members.set(def.id, members);
    for (const id of members) {
      let lists = index.byContact.get(id);
      if (!lists) index.byContact.set(id, (lists = new Set()));
      lists.add(def.id);
    }
  }

  private dropList(index: MembershipIndex, listId: string): void {
    for (const id of index.members.get(listId) ?? []) index.byContact.get(id)?.delete(listId);
    index.members.delete(listId);
    index.lists.delete(listId);
  }

  /** A contact's tags: the names of its lists in scope, sorted; null for none. */
  tagsOf(index: MembershipIndex, contactId: string): string[] | null {
    const names = [...(index.byContact.get(contactId) ?? [])].map((id) => index.lists.get(id)?.name).filter((n): n is string => Boolean(n));
    return names.length > 0 ? names.sort((a, b) => a.localeCompare(b)) : null;
  }

  /** The MANUAL list a new tag needs; a list of that name made meanwhile (by a user, another worker) is used instead. */
  private async create(index: MembershipIndex, name: string): Promise<ListInfo> {
    const reply = await this.client.call<{ list: WireList }>('POST', LISTS, { body: { name, objectTypeId: CONTACT_TYPE, processingType: 'MANUAL' } });
    if (reply.status === 200 || reply.status === 201) {
      const def = this.info(reply.body.list);
      this.setMembers(index, def, new Set());
      return def;
    }
    if (reply.status === 400 || reply.status === 409) {
      // A name clash is reported as a conflict or a validation error (verify which); either way, look the name up.
      const found = (await this.search(name)).find((l) => l.name.toLowerCase() === name.toLowerCase());
      if (found) {
        this.setMembers(index, found, await this.membersOf(found.id));
        return found;
      }
    }
    return this.unexpected(`creating the HubSpot list "${name}"`, reply);
  }

  /**
   * Makes each contact a member of exactly the lists its tags name, among the lists in scope. Dynamic lists and
   * tags outside the scope are left out: the contact reads back without them, which is what HubSpot holds.
   */
  async write(wanted: Map<string, string[]>): Promise<void> {
    if (wanted.size === 0) return;
    const index = await this.index();
    const byName = new Map([...index.lists.values()].map((l) => [l.name.toLowerCase(), l]));
    const adds = new Map<string, Set<string>>();
    const removes = new Map<string, Set<string>>();
    const push = (m: Map<string, Set<string>>, list: string, contact: string) => {
      let s = m.get(list);
      if (!s) m.set(list, (s = new Set()));
      s.add(contact);
    };
    for (const [contactId, tags] of wanted) {
      const keep = new Set(tags.map((t) => t.toLowerCase()));
      for (const listId of index.byContact.get(contactId) ?? []) {
        const def = index.lists.get(listId);
        if (def && !def.dynamic && !keep.has(def.name.toLowerCase())) push(removes, listId, contactId);
      }
      for (const tag of tags) {
        if (!this.inScope(tag)) continue;
        let def = byName.get(tag.toLowerCase());
        if (!def) {
          def = await this.create(index, tag);
          byName.set(def.name.toLowerCase(), def);
        }
        if (!def.dynamic && !index.members.get(def.id)?.has(contactId)) push(adds, def.id, contactId);
      }
    }
    for (const listId of new Set([...adds.keys(), ...removes.keys()])) {
      const add = [...(adds.get(listId) ?? [])];
      const remove = [...(removes.get(listId) ?? [])];
      for (let s = 0; s < Math.max(add.length, remove.length); s += MAX_MEMBERSHIP_CHANGE) {
        const reply = await this.put(`${LISTS}/${encodeURIComponent(listId)}/memberships/add-and-remove`, {
          recordIdsToAdd: add.slice(s, s + MAX_MEMBERSHIP_CHANGE),
          recordIdsToRemove: remove.slice(s, s + MAX_MEMBERSHIP_CHANGE),
        });
        if (reply.status !== 200) this.unexpected(`changing the members of HubSpot list ${index.lists.get(listId)?.name ?? listId}`, reply);
      }
      const def = index.lists.get(listId)!;
      const members = new Set(index.members.get(listId));
      for (const id of remove) members.delete(id);
      for (const id of add) members.add(id);
      this.setMembers(index, def, members);
    }
  }

  /** What the cursor remembers of the lists in scope, from the index just read. */
  snapshot(index: MembershipIndex): ListSnapshot {
    const total = [...index.members.values()].reduce((n, m) => n + m.size, 0);
    const out: ListSnapshot = {};
    for (const def of index.lists.values()) {
      out[def.id] = total <= MAX_TRACKED_MEMBERS ? { n: def.name, s: def.sig, m: encodeMembers(index.members.get(def.id) ?? []) } : { n: def.name, s: def.sig };
    }
    return out;
  }

  /**
   * The contacts whose lists changed since `before`, and the snapshot to remember next. Lists whose signature
   * did not move are not read. Refreshes this process's index with what it read.
   */
  async changedSince(before: ListSnapshot): Promise<{ contacts: string[]; snapshot: ListSnapshot; index: MembershipIndex }> {
    const cached = cache.get(this.cacheKey)?.index;
    const defs = await this.definitions();
    const index: MembershipIndex = { lists: new Map(), members: new Map(), byContact: new Map() };
    const changed = new Set<string>();
    for (const def of defs) {
      const prev = before[def.id];
      if (prev && prev.s === def.sig) {
        const known = prev.m !== undefined ? decodeMembers(prev.m) : cached?.members.get(def.id);
        const members = known ?? (await this.membersOf(def.id));
        // A renamed list renames the tag of every member.
        if (prev.n !== def.name) for (const id of members) changed.add(id);
        this.setMembers(index, def, members);
        continue;
      }
      if (prev && prev.m === undefined) {
        throw new FeedExpiredError(`the members of HubSpot list "${def.name}" changed, and there are too many list members to compare; a full re-scan is needed`);
      }
      const members = await this.membersOf(def.id);
      const old = prev?.m !== undefined ? decodeMembers(prev.m) : new Set<string>();
      for (const id of members) if (!old.has(id)) changed.add(id);
      for (const id of old) if (!members.has(id)) changed.add(id);
      if (prev && prev.n !== def.name) for (const id of members) changed.add(id);
      this.setMembers(index, def, members);
    }
    const current = new Set(defs.map((d) => d.id));
    for (const [listId, prev] of Object.entries(before)) {
      if (current.has(listId)) continue;
      // A list deleted (or renamed out of scope) takes its tag off every member.
      if (prev.m === undefined) throw new FeedExpiredError('a HubSpot list in scope was deleted or renamed; a full re-scan is needed');
      for (const id of decodeMembers(prev.m)) changed.add(id);
    }
    cache.set(this.cacheKey, { at: Date.now(), index });
    return { contacts: [...changed], snapshot: this.snapshot(index), index };
  }
}
