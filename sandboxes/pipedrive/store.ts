import { createHash } from 'node:crypto';
import { FaultQueue } from '../kit/faults';
import { FixedWindow } from '../kit/rate-limit';
import { person as seedPerson } from '../kit/seed';
import {
  MARKETING_STATUSES,
  type CompanySettings,
  type CustomField,
  type CustomFieldType,
  type FaultSpec,
  type LabeledValue,
  type MarketingStatus,
  type Organization,
  type PersonInput,
  type PersonLabel,
  type Plan,
  type PostalAddress,
  type StoredPerson,
  type User,
} from './types';

// One Pipedrive company: its users, persons, organizations, person labels and custom fields, with the rules the
// real API enforces on them. The HTTP layer (server.ts) only translates requests and answers.

/** A refusal in Pipedrive's own words; the server sends it as { success: false, error, error_info }. */
export class PipedriveError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const MAX_LIST_LIMIT = 500;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_IDS = 100;

/** RFC 3339 at second resolution, the way v2 shows times: several changes in one second look identical. */
export const v2Time = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
/** "YYYY-MM-DD HH:MM:SS" in UTC, the way v1 shows and takes times. */
export const v1Time = (ms: number): string => v2Time(ms).replace('T', ' ').replace('Z', '');

const VISIBILITY_LOWER: { id: number; label: string }[] = [
  { id: 1, label: 'Owner & followers' },
  { id: 3, label: 'Entire company' },
];
const VISIBILITY_UPPER: { id: number; label: string }[] = [
  { id: 1, label: 'Owner only' },
  { id: 3, label: "Owner's visibility group" },
  { id: 5, label: "Owner's visibility group and sub-groups" },
  { id: 7, label: 'Entire company' },
];
const UPPER_PLANS: Plan[] = ['premium', 'ultimate', 'power', 'enterprise'];

export const DEFAULT_SETTINGS: CompanySettings = {
  plan: 'growth',
  burstLimit: 400,
  dailyBudget: 1_000_000,
  retryAfterHeader: true,
  cursorRequiresAdmin: false,
  recentsWindowDays: 30,
};

/** Token cost of a call, by weight: listings cost more than reads, search the most. */
export type CallWeight = 'read' | 'list' | 'write' | 'search';
const COSTS: Record<CallWeight, number> = { read: 1, list: 10, write: 5, search: 20 };

interface RecentEntry {
  at: number;
  personId: number;
}

export interface ListQuery {
  limit?: number;
  cursor?: string;
  sortBy?: 'id' | 'update_time' | 'add_time';
  sortDirection?: 'asc' | 'desc';
  ownerId?: number;
  orgId?: number;
  ids?: number[];
  updatedSince?: string;
  updatedUntil?: string;
}

const blank = (v: string | null | undefined): string | null => (v === null || v === undefined || v.trim() === '' ? null : v.trim());

function parseRfc3339(value: string, name: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new PipedriveError(400, `Parameter "${name}" must be a valid RFC 3339 date-time, e.g. 2025-01-01T10:20:00Z`);
  return ms;
}

/** Pipedrive derives first and last name from the full name: the first word, and the rest. */
function splitName(name: string): { first_name: string | null; last_name: string | null } {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return { first_name: null, last_name: null };
  return { first_name: words[0], last_name: words.length > 1 ? words.slice(1).join(' ') : null };
}

function customKey(company: string, name: string, n: number): string {
  return createHash('sha1').update(`${company}|${name}|${n}`).digest('hex');
}

export class Company {
  settings: CompanySettings;
  readonly users: User[] = [];
  readonly labels: PersonLabel[] = [
    { id: 1, name: 'Customer', color: 'green' },
    { id: 2, name: 'Hot lead', color: 'red' },
    { id: 3, name: 'Warm lead', color: 'yellow' },
    { id: 4, name: 'Cold lead', color: 'blue' },
  ];
  readonly customFields: CustomField[] = [];
  private persons = new Map<number, StoredPerson>();
  private orgs = new Map<number, Organization>();
  private recents: RecentEntry[] = [];
  private nextPersonId = 1;
  private nextOrgId = 1;
  private nextUserId = 1;
  private nextLabelId = 5;
  private nextOptionId = 1;
  /** Added to the wall clock, so tests can let time pass (the recents window, update times). */
  clockOffsetMs = 0;
  private faults = new FaultQueue<FaultSpec>();
  /** Calls per token in its current 2-second burst window. */
  private burst = new Map<string, FixedWindow>();
  /** Tokens the company spent today (UTC). */
  private spent = new FixedWindow('utc-day');
  requests = 0;
  rateLimited = 0;

  constructor(
    readonly name: string,
    settings: Partial<CompanySettings> = {},
  ) {
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  // ---- users, labels, fields --------------------------------------------------------------------------

  addUser(input: { name: string; email: string; isAdmin?: boolean; canEditOthers?: boolean }): User {
    const user: User = {
      id: this.nextUserId++,
      name: input.name,
      email: input.email,
      is_admin: input.isAdmin ?? this.users.length === 0,
      can_edit_others: input.canEditOthers ?? true,
      active_flag: true,
    };
    this.users.push(user);
    return user;
  }

  user(id: number): User {
    const user = this.users.find((u) => u.id === id);
    if (!user) throw new Error(`company ${this.name} has no user ${id}`);
    return user;
  }

  addLabel(name: string, color = 'gray'): PersonLabel {
    const label = { id: this.nextLabelId++, name, color };
    this.labels.push(label);
    return label;
  }

  /** A custom person field; its key is a 40-character hash, as in the real app. */
  addCustomField(name: string, fieldType: CustomFieldType, options: string[] = []): CustomField {
    const field: CustomField = { key: customKey(this.name, name, this.customFields.length), name, field_type: fieldType };
    if (fieldType === 'enum' || fieldType === 'set') field.options = options.map((label) => ({ id: this.nextOptionId++, label }));
    this.customFields.push(field);
    return field;
  }

  visibilityOptions(): { id: number; label: string }[] {
    return UPPER_PLANS.includes(this.settings.plan) ? VISIBILITY_UPPER : VISIBILITY_LOWER;
  }

  private defaultVisibility(): number {
    return this.visibilityOptions().find((o) => o.label === 'Entire company')!.id;
  }

  // ---- rate limits and injected faults ----------------------------------------------------------------

  failNext(spec: FaultSpec): void {
    this.faults.add(spec, spec.count ?? 1);
  }

  takeFault(): FaultSpec | undefined {
    return this.faults.take();
  }

  /**
   * Counts a call against the token's 2-second burst window and the company's daily budget. Returns the
   * headers to send and, when over a limit, the seconds until it lifts.
   */
  admit(token: string, weight: CallWeight): { headers: Record<string, string>; refusedFor?: number; daily?: boolean } {
    this.requests++;
    const now = Date.now();
    let window = this.burst.get(token);
    if (!window) {
      window = new FixedWindow(2000);
      this.burst.set(token, window);
    }
    window.add(1, now);
    const reset = window.resetsIn(now);
    const headers = {
      'x-ratelimit-limit': String(this.settings.burstLimit),
      'x-ratelimit-remaining': String(Math.max(0, this.settings.burstLimit - window.used(now))),
      'x-ratelimit-reset': String(reset),
    };
    if (this.spent.used(now) + COSTS[weight] > this.settings.dailyBudget) {
      this.rateLimited++;
      return { headers, refusedFor: this.spent.resetsIn(now), daily: true };
    }
    if (window.used(now) > this.settings.burstLimit) {
      this.rateLimited++;
      return { headers, refusedFor: reset };
    }
    this.spent.add(COSTS[weight], now);
    return { headers };
  }

  // ---- organizations ----------------------------------------------------------------------------------

  organization(id: number): Organization | undefined {
    const org = this.orgs.get(id);
    return org && !org.is_deleted ? org : undefined;
  }

  organizations(ids?: number[]): Organization[] {
    return [...this.orgs.values()].filter((o) => !o.is_deleted && (!ids || ids.includes(o.id))).sort((a, b) => a.id - b.id);
  }

  createOrganization(name: unknown, ownerId: number): Organization {
    if (typeof name !== 'string' || name.trim() === '') throw new PipedriveError(400, 'Name must be given.');
    const at = v2Time(this.now());
    const org: Organization = { id: this.nextOrgId++, name: name.trim(), owner_id: ownerId, add_time: at, update_time: at, is_deleted: false };
    this.orgs.set(org.id, org);
    return org;
  }

  searchOrganizations(term: string, exact: boolean): Organization[] {
    const t = term.trim().toLowerCase();
    return this.organizations().filter((o) => (exact ? o.name.toLowerCase() === t : o.name.toLowerCase().includes(t)));
  }

  private orgByName(name: string, ownerId: number): number {
    const found = this.searchOrganizations(name, true)[0];
    return (found ?? this.createOrganization(name, ownerId)).id;
  }

  // ---- persons: reads ---------------------------------------------------------------------------------

  /** Stored persons as the app holds them, deleted ones included (they stay 30 days with is_deleted). */
  all(options: { includeDeleted?: boolean } = {}): StoredPerson[] {
    return [...this.persons.values()].filter((p) => options.includeDeleted || !p.is_deleted).sort((a, b) => a.id - b.id);
  }

  find(id: number): StoredPerson | undefined {
    return this.persons.get(id);
  }

  count(): number {
    return this.all().length;
  }

  list(q: ListQuery): { data: StoredPerson[]; nextCursor: string | null } {
    const limit = q.limit ?? DEFAULT_LIST_LIMIT;
    if (limit > MAX_LIST_LIMIT) throw new PipedriveError(400, `Parameter "limit" must be less than or equal to ${MAX_LIST_LIMIT}`);
    if (q.ids && q.ids.length > MAX_IDS) throw new PipedriveError(400, `Parameter "ids" accepts at most ${MAX_IDS} ids`);
    const sortBy = q.sortBy ?? 'id';
    const desc = q.sortDirection === 'desc';
    const since = q.updatedSince === undefined ? undefined : parseRfc3339(q.updatedSince, 'updated_since');
    const until = q.updatedUntil === undefined ? undefined : parseRfc3339(q.updatedUntil, 'updated_until');
    const key = (p: StoredPerson): string | number => (sortBy === 'id' ? p.id : p[sortBy]);
    const compare = (a: StoredPerson, b: StoredPerson): number => {
      const ka = key(a);
      const kb = key(b);
      const c = ka < kb ? -1 : ka > kb ? 1 : a.id - b.id;
      return desc ? -c : c;
    };

    let rows = this.all().filter(
      (p) =>
        (q.ownerId === undefined || p.owner_id === q.ownerId) &&
        (q.orgId === undefined || p.org_id === q.orgId) &&
        (!q.ids || q.ids.includes(p.id)) &&
        (since === undefined || Date.parse(p.update_time) >= since) &&
        (until === undefined || Date.parse(p.update_time) < until),
    );
    rows.sort(compare);

    // Keyset cursor: the sort key and id of the last row served, so rows that move while a client pages move
    // to where the client will still see them, never into the part it has passed.
    if (q.cursor) {
      let after: { k: string | number; id: number; s: string };
      try {
        after = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8'));
      } catch {
        throw new PipedriveError(400, 'Invalid cursor');
      }
      if (after.s !== `${sortBy}:${desc ? 'desc' : 'asc'}` || typeof after.id !== 'number') throw new PipedriveError(400, 'Invalid cursor');
      const marker = { id: after.id, update_time: after.k, add_time: after.k } as unknown as StoredPerson;
      rows = rows.filter((p) => compare(p, marker) > 0);
    }
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    const nextCursor =
      rows.length > limit && last
        ? Buffer.from(JSON.stringify({ k: key(last), id: last.id, s: `${sortBy}:${desc ? 'desc' : 'asc'}` })).toString('base64url')
        : null;
    return { data, nextCursor };
  }

  search(term: string, fields: string[], exact: boolean): StoredPerson[] {
    const t = term.trim().toLowerCase();
    const hit = (value: string | null | undefined) => {
      const v = (value ?? '').toLowerCase();
      return exact ? v === t : v.includes(t);
    };
    return this.all().filter(
      (p) =>
        (fields.includes('name') && hit(p.name)) ||
        (fields.includes('email') && p.emails.some((e) => hit(e.value))) ||
        (fields.includes('phone') && p.phones.some((e) => hit(e.value))) ||
        (fields.includes('notes') && hit(p.notes)),
    );
  }

  /** The latest state of every person changed at or after `since`, oldest first, within the recents window. */
  recentPersons(since: number): { person: StoredPerson; at: number }[] {
    const horizon = this.now() - this.settings.recentsWindowDays * 86_400_000;
    this.recents = this.recents.filter((r) => r.at >= horizon);
    const latest = new Map<number, number>();
    for (const r of this.recents) if (r.at >= since) latest.set(r.personId, r.at);
    return [...latest.entries()]
      .map(([id, at]) => ({ person: this.persons.get(id)!, at }))
      .filter((e) => e.person)
      .sort((a, b) => a.at - b.at || a.person.id - b.person.id);
  }

  // ---- persons: writes --------------------------------------------------------------------------------

  private touch(person: StoredPerson): void {
    const at = this.now();
    person.update_time = v2Time(at);
    this.persons.set(person.id, person);
    this.recents.push({ at, personId: person.id });
  }

  /** POST /api/v2/persons */
  create(body: unknown, userId: number): StoredPerson {
    const input = this.checkBody(body);
    if (typeof input.name !== 'string' || input.name.trim() === '') throw new PipedriveError(400, 'Name must be given.');
    const at = v2Time(this.now());
    const person: StoredPerson = {
      id: this.nextPersonId++,
      name: '',
      first_name: null,
      last_name: null,
      owner_id: userId,
      org_id: null,
      add_time: at,
      update_time: at,
      is_deleted: false,
      emails: [],
      phones: [],
      visible_to: this.defaultVisibility(),
      label_ids: [],
      postal_address: null,
      notes: null,
      job_title: null,
      birthday: null,
      marketing_status: 'no_consent',
      custom_fields: Object.fromEntries(this.customFields.map((f) => [f.key, null])),
    };
    this.apply(person, input);
    this.touch(person);
    return person;
  }

  /** PATCH /api/v2/persons/{id}: only the given properties change. */
  update(id: number, body: unknown, userId: number): StoredPerson {
    const current = this.persons.get(id);
    if (!current || current.is_deleted) throw new PipedriveError(404, 'Person not found');
    this.mayEdit(current, userId);
    const input = this.checkBody(body);
    if ('name' in input && (typeof input.name !== 'string' || input.name.trim() === '')) throw new PipedriveError(400, 'Name must be given.');
    const next: StoredPerson = structuredClone(current);
    this.apply(next, input);
    this.touch(next);
    return next;
  }

  /** DELETE /api/v2/persons/{id}: marked deleted, purged after 30 days. */
  remove(id: number, userId: number): void {
    const current = this.persons.get(id);
    if (!current || current.is_deleted) throw new PipedriveError(404, 'Person not found');
    this.mayEdit(current, userId);
    this.touch({ ...structuredClone(current), is_deleted: true });
  }

  private mayEdit(person: StoredPerson, userId: number): void {
    const user = this.user(userId);
    if (person.owner_id !== userId && !user.is_admin && !user.can_edit_others) {
      throw new PipedriveError(403, 'You do not have permission to edit this person. It is owned by another user.');
    }
  }

  private static readonly WRITABLE = new Set([
    'name',
    'owner_id',
    'org_id',
    'add_time',
    'update_time',
    'emails',
    'phones',
    'visible_to',
    'label_ids',
    'marketing_status',
    'custom_fields',
  ]);

  private checkBody(body: unknown): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PipedriveError(400, 'Request body must be a JSON object');
    for (const key of Object.keys(body)) {
      // Contact-sync fields (job_title, notes, postal_address, birthday) are not in the v2 request schema.
      if (!Company.WRITABLE.has(key)) throw new PipedriveError(400, `Validation failed: "${key}" is not allowed`);
    }
    return body as Record<string, unknown>;
  }

  private labeled(kind: 'emails' | 'phones', value: unknown): LabeledValue[] {
    const allowed = kind === 'emails' ? ['work', 'home', 'other'] : ['work', 'home', 'mobile', 'other'];
    if (!Array.isArray(value)) throw new PipedriveError(400, `Validation failed: ${kind} must be an array`);
    const list = value.map((item, i) => {
      const v = item as Record<string, unknown>;
      if (typeof v?.value !== 'string' || v.value.trim() === '') throw new PipedriveError(400, `Validation failed: ${kind}[${i}].value must be a non-empty string`);
      const label = v.label === undefined ? 'work' : v.label;
      if (typeof label !== 'string' || !allowed.includes(label)) {
        throw new PipedriveError(400, `Validation failed: ${kind}[${i}].label must be one of ${allowed.join(', ')}`);
      }
      return { value: v.value.trim(), label, primary: v.primary === true };
    });
    const primaries = list.filter((e) => e.primary).length;
    if (primaries > 1) throw new PipedriveError(400, `Validation failed: only one of ${kind} can be primary`);
    if (primaries === 0 && list.length > 0) list[0].primary = true;
    return list;
  }

  private apply(person: StoredPerson, input: Record<string, unknown>): void {
    if (typeof input.name === 'string') {
      person.name = input.name.trim();
      Object.assign(person, splitName(person.name));
    }
    if ('owner_id' in input) {
      if (!this.users.some((u) => u.id === input.owner_id && u.active_flag)) throw new PipedriveError(400, `User with id ${String(input.owner_id)} not found`);
      person.owner_id = input.owner_id as number;
    }
    if ('org_id' in input) {
      if (input.org_id !== null && !this.organization(input.org_id as number)) {
        throw new PipedriveError(400, `Organization with id ${String(input.org_id)} not found`);
      }
      person.org_id = input.org_id as number | null;
    }
    if ('emails' in input) person.emails = this.labeled('emails', input.emails);
    if ('phones' in input) person.phones = this.labeled('phones', input.phones);
    if ('visible_to' in input) {
      if (!this.visibilityOptions().some((o) => o.id === input.visible_to)) {
        throw new PipedriveError(400, `Validation failed: visible_to must be one of ${this.visibilityOptions().map((o) => o.id).join(', ')}`);
      }
      person.visible_to = input.visible_to as number;
    }
    if ('label_ids' in input) {
      const ids = input.label_ids;
      if (!Array.isArray(ids) || ids.some((id) => !this.labels.some((l) => l.id === id))) {
        throw new PipedriveError(400, 'Validation failed: label_ids must be ids of existing person labels');
      }
      person.label_ids = [...new Set(ids as number[])];
    }
    if ('marketing_status' in input) {
      const status = input.marketing_status as MarketingStatus;
      if (!MARKETING_STATUSES.includes(status)) {
        throw new PipedriveError(400, `Validation failed: marketing_status must be one of ${MARKETING_STATUSES.join(', ')}`);
      }
      // Pipedrive lets a status move only once away from where it was; a forbidden change leaves it as it is.
      if (person.marketing_status === 'no_consent' || person.marketing_status === 'subscribed' || status === 'archived') {
        person.marketing_status = status;
      }
    }
    if ('custom_fields' in input) {
      const values = input.custom_fields;
      if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new PipedriveError(400, 'Validation failed: custom_fields must be an object');
      for (const [key, value] of Object.entries(values)) person.custom_fields[key] = this.customValue(key, value);
    }
  }

  private customValue(key: string, value: unknown): unknown {
    const field = this.customFields.find((f) => f.key === key);
    if (!field) throw new PipedriveError(400, `Validation failed: custom field "${key}" does not exist`);
    const bad = (why: string) => new PipedriveError(400, `Validation failed: custom field "${field.name}" ${why}`);
    if (value === null) return null;
    switch (field.field_type) {
      case 'varchar':
      case 'text':
      case 'phone':
        if (typeof value !== 'string') throw bad('takes a string');
        if (field.field_type === 'varchar' && value.length > 255) throw bad('takes at most 255 characters');
        return value;
      case 'double':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('takes a number');
        return value;
      case 'date':
        if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) throw bad('takes a date as YYYY-MM-DD');
        return value;
      case 'enum':
        if (!field.options!.some((o) => o.id === value)) throw bad(`takes the id of one of its options (${field.options!.map((o) => o.id).join(', ')})`);
        return value;
      case 'set':
        if (!Array.isArray(value) || value.length === 0) throw bad('takes a non-empty array of option ids; clear it with null');
        if (value.some((v) => !field.options!.some((o) => o.id === v))) throw bad('takes ids of its options');
        return [...new Set(value)];
    }
  }

  // ---- the user's side: seeding and edits made in the app itself --------------------------------------

  /** What a user does in Pipedrive's UI: everything a person can hold, contact-sync fields included. */
  createAs(input: PersonInput, ownerEmail?: string): StoredPerson {
    const owner = this.users.find((u) => u.email === (input.owner_email ?? ownerEmail)) ?? this.users[0];
    const name = input.name ?? [input.first_name, input.last_name].filter(Boolean).join(' ');
    const person = this.create({ name: name || '(no name)' }, owner.id);
    return this.editAs(person.id, { ...input, name: name || '(no name)' });
  }

  editAs(id: number, input: PersonInput): StoredPerson {
    const current = this.persons.get(id);
    if (!current || current.is_deleted) throw new Error(`no person ${id}`);
    const next = structuredClone(current);
    const name =
      input.name ??
      (input.first_name !== undefined || input.last_name !== undefined
        ? [input.first_name !== undefined ? input.first_name : next.first_name, input.last_name !== undefined ? input.last_name : next.last_name]
            .filter(Boolean)
            .join(' ')
        : undefined);
    const body: Record<string, unknown> = {};
    if (name) body.name = name;
    if (input.emails) body.emails = input.emails;
    if (input.phones) body.phones = input.phones;
    if (input.org_name !== undefined) body.org_id = blank(input.org_name) ? this.orgByName(input.org_name!, next.owner_id) : null;
    if (input.owner_email) {
      const owner = this.users.find((u) => u.email === input.owner_email);
      if (owner) body.owner_id = owner.id;
    }
    if (input.labels) {
      body.label_ids = input.labels.map((n) => (this.labels.find((l) => l.name.toLowerCase() === n.toLowerCase()) ?? this.addLabel(n)).id);
    }
    if (input.custom_fields) body.custom_fields = input.custom_fields;
    this.apply(next, body);
    if (input.marketing_status) next.marketing_status = input.marketing_status;
    if (input.job_title !== undefined) next.job_title = blank(input.job_title);
    if (input.notes !== undefined) next.notes = blank(input.notes);
    if (input.birthday !== undefined) next.birthday = input.birthday;
    if (input.postal_address !== undefined) next.postal_address = input.postal_address === null ? null : addressOf(input.postal_address);
    this.touch(next);
    return next;
  }

  removeAs(id: number): void {
    const current = this.persons.get(id);
    if (!current || current.is_deleted) throw new Error(`no person ${id}`);
    this.touch({ ...structuredClone(current), is_deleted: true });
  }

  /** People from sandboxes/kit/seed.ts, as a Pipedrive company would hold them. */
  seed(options: { count: number; start?: number; seed?: number }): StoredPerson[] {
    const start = options.start ?? this.nextPersonId - 1;
    const out: StoredPerson[] = [];
    for (let i = 0; i < options.count; i++) {
      const p = seedPerson(start + i, options.seed ?? 1);
      const labels = (p.tags ?? []).filter((t) => ['customer', 'vip', 'prospect'].includes(t)).map((t) => (t === 'customer' ? 'Customer' : t === 'vip' ? 'Hot lead' : 'Warm lead'));
      out.push(
        this.createAs({
          first_name: p.first_name,
          last_name: p.last_name,
          emails: (p.emails ?? []).map((e, k) => ({ value: e.value, label: e.type, primary: k === 0 })),
          phones: (p.phones ?? []).map((ph, k) => ({ value: ph.value, label: ph.type, primary: k === 0 })),
          org_name: p.company,
          job_title: p.job_title,
          notes: p.notes,
          postal_address: p.address
            ? {
                route: p.address.street,
                locality: p.address.city,
                admin_area_level_1: p.address.region,
                postal_code: p.address.postal_code,
                country: p.address.country,
              }
            : null,
          labels,
          marketing_status: p.unsubscribed ? 'unsubscribed' : 'subscribed',
        }),
      );
    }
    return out;
  }
}

function addressOf(a: Partial<PostalAddress>): PostalAddress {
  const parts = {
    route: a.route ?? null,
    street_number: a.street_number ?? null,
    locality: a.locality ?? null,
    admin_area_level_1: a.admin_area_level_1 ?? null,
    postal_code: a.postal_code ?? null,
    country: a.country ?? null,
  };
  const street = [parts.route, parts.street_number].filter(Boolean).join(' ');
  const value = a.value ?? ([street, [parts.postal_code, parts.locality].filter(Boolean).join(' '), parts.country].filter(Boolean).join(', ') || null);
  return { value, ...parts };
}
