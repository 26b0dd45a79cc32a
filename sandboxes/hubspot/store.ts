import { randomUUID } from 'node:crypto';
import { FaultQueue } from '../kit/faults';
import { FixedWindow, RollingWindow } from '../kit/rate-limit';
import { person } from '../kit/seed';

// One HubSpot account ("portal") of the HubSpot sandbox: contacts with string-only properties, the property
// definitions, owners, archived contacts, and the search index with its lag and its 10,000-result cap.
// Shapes and messages follow the CRM v3 API (see /work/shared/reference/connector-apis.md, section 5).

export type PropertyValues = Record<string, string | null>;

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
}

export interface PropertyDef {
  name: string;
  label: string;
  type: 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool';
  fieldType: 'text' | 'textarea' | 'phonenumber' | 'select' | 'checkbox' | 'booleancheckbox' | 'radio' | 'number' | 'date';
  groupName: string;
  options: PropertyOption[];
  hubspotDefined: boolean;
  modificationMetadata: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean };
}

export interface StoredContact {
  id: string;
  properties: PropertyValues;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt?: number;
  /** What search shows until the index catches up with the last write (index lag). */
  indexed: { at: number; previous: StoredContact | null };
}

export interface Owner {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  userId: number;
}

/** The API's error body: { status, message, correlationId, category, errors? }. */
export interface HubSpotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: string;
  errors?: { message: string; code?: string; in?: string; context?: Record<string, string[]> }[];
  [extra: string]: unknown;
}

export class HubSpotError extends Error {
  constructor(
    readonly status: number,
    readonly body: HubSpotErrorBody,
  ) {
    super(body.message);
  }
}

export function errorBody(category: string, message: string, extra: Partial<HubSpotErrorBody> = {}): HubSpotErrorBody {
  return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
}

export interface AccountLimits {
  /** Requests per rolling 10 seconds (search excluded); private apps on Free/Starter get 100. */
  tenSecondly: number;
  /** Search requests per second. */
  searchPerSecond: number;
  daily: number;
}

export interface AccountConfig {
  limits?: Partial<AccountLimits>;
  /** How long a write takes to show up in search (HubSpot's index lags by seconds). */
  indexLagMs?: number;
  /** Results one search query can page through before paging fails with 400. */
  searchCap?: number;
  /** Scopes of the account's tokens; a write without crm.objects.contacts.write is refused with 403. */
  scopes?: string[];
}

export const DEFAULT_LIMITS: AccountLimits = { tenSecondly: 100, searchPerSecond: 5, daily: 250_000 };
export const SEARCH_CAP = 10_000;
export const DEFAULT_SCOPES = [
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.owners.read',
  'crm.schemas.contacts.write',
  'crm.lists.read',
  'crm.lists.write',
];
/** HubSpot's object type id of contacts, which lists name. */
export const CONTACT_TYPE = '0-1';
export const MAX_MEMBERSHIP_PAGE = 250;
export const MAX_LIST_SEARCH = 500;

export type ProcessingType = 'MANUAL' | 'SNAPSHOT' | 'DYNAMIC';

export interface StoredList {
  listId: string;
  name: string;
  processingType: ProcessingType;
  objectTypeId: string;
  createdAt: number;
  updatedAt: number;
  listVersion: number;
  /** contact id → when it joined */
  members: Map<string, number>;
  lastAddedAt?: number;
  lastRemovedAt?: number;
  /** DYNAMIC lists: which contacts belong, re-evaluated whenever the list is read (HubSpot processes them in the background). */
  filter?: (c: StoredContact) => boolean;
}
export const MAX_BATCH = 100;

const READ_ONLY = new Set(['hs_object_id', 'lastmodifieddate', 'createdate', 'hs_email_optout', 'hs_additional_emails']);

function prop(
  name: string,
  label: string,
  type: PropertyDef['type'] = 'string',
  fieldType: PropertyDef['fieldType'] = 'text',
  options: string[] = [],
): PropertyDef {
  return {
    name,
    label,
    type,
    fieldType,
    groupName: 'contactinformation',
    options: options.map((value, i) => ({ label: value, value, displayOrder: i, hidden: false })),
    hubspotDefined: true,
    modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: READ_ONLY.has(name) },
  };
}

function standardProperties(owners: Owner[]): PropertyDef[] {
  const ownerProp = prop('hubspot_owner_id', 'Contact owner', 'enumeration', 'select');
  ownerProp.options = owners.map((o, i) => ({ label: `${o.firstName} ${o.lastName}`, value: o.id, displayOrder: i, hidden: false }));
  return [
    prop('hs_object_id', 'Record ID', 'number', 'number'),
    prop('email', 'Email'),
    prop('hs_additional_emails', 'Additional email addresses'),
    prop('firstname', 'First Name'),
    prop('lastname', 'Last Name'),
    prop('phone', 'Phone Number', 'string', 'phonenumber'),
    prop('mobilephone', 'Mobile Phone Number', 'string', 'phonenumber'),
    prop('fax', 'Fax Number', 'string', 'phonenumber'),
    prop('company', 'Company Name'),
    prop('jobtitle', 'Job Title'),
    prop('address', 'Street Address'),
    prop('city', 'City'),
    prop('state', 'State/Region'),
    prop('zip', 'Postal Code'),
    prop('country', 'Country/Region'),
    prop('website', 'Website URL'),
    prop('lifecyclestage', 'Lifecycle Stage', 'enumeration', 'radio', ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other']),
    ownerProp,
    prop('hs_email_optout', 'Unsubscribed from all email', 'bool', 'booleancheckbox', ['true', 'false']),
    prop('createdate', 'Create Date', 'datetime', 'date'),
    prop('lastmodifieddate', 'Last Modified Date', 'datetime', 'date'),
  ];
}

/** The demo portal's owners: the Sandbox app's owners, so owner values line up between the two. */
export const DEFAULT_OWNERS: Owner[] = [
  { id: '71000001', email: 'ava@sandbox.test', firstName: 'Ava', lastName: 'Lindgren', userId: 9100001 },
  { id: '71000002', email: 'marco@sandbox.test', firstName: 'Marco', lastName: 'Ferri', userId: 9100002 },
  { id: '71000003', email: 'lena@sandbox.test', firstName: 'Lena', lastName: 'Hoffmann', userId: 9100003 },
  { id: '71000004', email: 'sam@sandbox.test', firstName: 'Sam', lastName: 'Okoro', userId: 9100004 },
];

/** Defaults come back when a read names no properties. */
export const DEFAULT_READ_PROPERTIES = ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'];

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

interface InvalidProperty {
  isValid: false;
  message: string;
  error: string;
  name: string;
  localizedErrorMessage: string;
}

export interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
  values?: string[];
  highValue?: string;
}

export interface SearchRequest {
  filterGroups?: { filters?: Filter[] }[];
  sorts?: ({ propertyName: string; direction?: 'ASCENDING' | 'DESCENDING' } | string)[];
  query?: string;
  properties?: string[];
  limit?: number;
  after?: string | number;
}

export class HubSpotAccount {
  readonly portalId: number;
  readonly privateAppToken: string;
  properties: PropertyDef[];
  owners: Owner[];
  config: Required<Omit<AccountConfig, 'limits'>> & { limits: AccountLimits };
  private contacts = new Map<string, StoredContact>();
  private lists = new Map<string, StoredList>();
  private nextListId = 1;
  private nextId = 101;
  private clock = 0;
  /** Statuses of the injected faults to come. */
  private faults = new FaultQueue<number>();
  private tenSeconds = new RollingWindow(10_000);
  private searchSecond = new RollingWindow(1000);
  /** The daily count; no day ends in the sandbox. */
  private day = new FixedWindow(Infinity);
  readonly stats = { requests: 0, searches: 0, rateLimited: 0, writes: 0 };

  constructor(
    readonly name: string,
    portalId: number,
    config: AccountConfig = {},
  ) {
    this.portalId = portalId;
    this.privateAppToken = `pat-na1-${randomUUID()}`;
    this.owners = DEFAULT_OWNERS.map((o) => ({ ...o }));
    this.properties = [
      ...standardProperties(this.owners),
      {
        ...prop('contact_tags', 'Tags', 'enumeration', 'checkbox', ['customer', 'prospect', 'partner', 'vip', 'newsletter', 'event-2024', 'supplier', 'churn-risk']),
        hubspotDefined: false,
        groupName: 'contactinformation',
        modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
      },
    ];
    this.config = { indexLagMs: 0, searchCap: SEARCH_CAP, scopes: [...DEFAULT_SCOPES], limits: { ...DEFAULT_LIMITS } };
    this.configure(config);
  }

  configure(config: AccountConfig): void {
    if (config.indexLagMs !== undefined) this.config.indexLagMs = config.indexLagMs;
    if (config.searchCap !== undefined) this.config.searchCap = config.searchCap;
    if (config.scopes !== undefined) this.config.scopes = [...config.scopes];
    if (config.limits) this.config.limits = { ...this.config.limits, ...config.limits };
  }

  // ---- time: strictly increasing, so every write has its own lastmodifieddate (epoch milliseconds)

  private tick(): number {
    this.clock = Math.max(Date.now(), this.clock + 1);
    return this.clock;
  }

  // ---- properties

  property(name: string): PropertyDef | undefined {
    return this.properties.find((p) => p.name === name);
  }

  addProperty(def: Partial<PropertyDef> & { name: string; label: string; type: PropertyDef['type']; fieldType: PropertyDef['fieldType'] }): PropertyDef {
    if (this.property(def.name)) {
      throw new HubSpotError(409, errorBody('CONFLICT', `Property named '${def.name}' already exists.`));
    }
    const created: PropertyDef = {
      groupName: 'contactinformation',
      options: [],
      hubspotDefined: false,
      modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
      ...def,
    };
    created.options = created.options.map((o, i) => ({ ...o, displayOrder: o.displayOrder ?? i, hidden: o.hidden ?? false }));
    this.properties.push(created);
    return created;
  }

  updateProperty(name: string, patch: Partial<Pick<PropertyDef, 'label' | 'options'>>): PropertyDef {
    const def = this.property(name);
    if (!def) throw new HubSpotError(404, errorBody('OBJECT_NOT_FOUND', `Unable to find property ${name} for object type CONTACT.`));
    if (def.modificationMetadata.readOnlyDefinition) {
      throw new HubSpotError(400, errorBody('VALIDATION_ERROR', `Property ${name} is a HubSpot defined property and cannot be modified.`));
    }
    if (patch.label !== undefined) def.label = patch.label;
    if (patch.options !== undefined) def.options = patch.options.map((o, i) => ({ ...o, displayOrder: o.displayOrder ?? i, hidden: o.hidden ?? false }));
    return def;
  }

  // ---- rate limits and injected faults

  /** Fails the next `count` API requests with `status` and the real body for that status. */
  failNext(status: number, count = 1): void {
    this.faults.add(status, Math.max(1, count));
  }

  /** Whether one request may pass; a refusal carries the status, body and headers to send. */
  admit(search: boolean, now = Date.now()): { status: number; body: HubSpotErrorBody | Record<string, unknown> } | null {
    this.stats.requests++;
    if (search) this.stats.searches++;
    const fault = this.faults.take();
    if (fault !== undefined) {
      if (fault === 429) this.stats.rateLimited++;
      return { status: fault, body: this.faultBody(fault, search) };
    }
    const limits = this.config.limits;
    if (search) {
      if (this.searchSecond.take(limits.searchPerSecond, now) === null) return null;
      this.stats.rateLimited++;
      return { status: 429, body: this.faultBody(429, true) };
    }
    if (this.day.used(now) >= limits.daily || this.tenSeconds.take(limits.tenSecondly, now) !== null) {
      this.stats.rateLimited++;
      return { status: 429, body: this.faultBody(429, false) };
    }
    this.day.add(1, now);
    return null;
  }

  /** The X-HubSpot-RateLimit-* headers HubSpot sends on every response except search's. */
  rateHeaders(now = Date.now()): Record<string, string> {
    const limits = this.config.limits;
    const used = this.tenSeconds.used(now);
    return {
      'X-HubSpot-RateLimit-Daily': String(limits.daily),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, limits.daily - this.day.used(now))),
      'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
      'X-HubSpot-RateLimit-Max': String(limits.tenSecondly),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, limits.tenSecondly - used)),
    };
  }

  private faultBody(status: number, search: boolean): Record<string, unknown> {
    if (status === 429) {
      return search
        ? {
            status: 'error',
            message: 'You have reached your secondly limit.',
            errorType: 'RATE_LIMIT',
            correlationId: randomUUID(),
            policyName: 'SECONDLY',
            groupName: `publicapi:crm-search:${this.portalId}`,
          }
        : {
            status: 'error',
            message: 'You have reached your ten_secondly_rolling limit.',
            errorType: 'RATE_LIMIT',
            correlationId: randomUUID(),
            policyName: 'TEN_SECONDLY_ROLLING',
            groupName: `publicapi:private-app:${this.portalId}`,
          };
    }
    if (status === 401) {
      return errorBody(
        'INVALID_AUTHENTICATION',
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
      );
    }
    if (status === 403) return missingScopes('crm.objects.contacts.write');
    return errorBody('INTERNAL_ERROR', 'internal error');
  }

  // ---- contacts

  private validate(values: Record<string, unknown>, creating: boolean): PropertyValues {
    const invalid: InvalidProperty[] = [];
    const out: PropertyValues = {};
    const bad = (name: string, error: string, message: string) =>
      invalid.push({ isValid: false, message, error, name, localizedErrorMessage: message });
    for (const [name, raw] of Object.entries(values)) {
      const def = this.property(name);
      if (!def) {
        bad(name, 'PROPERTY_DOESNT_EXIST', `Property "${name}" does not exist`);
        continue;
      }
      if (def.modificationMetadata.readOnlyValue) {
        bad(name, 'READ_ONLY_VALUE', `${name} is a read only property; its value cannot be set.`);
        continue;
      }
      // HubSpot takes numbers and booleans too, and stores every value as a string.
      const value = raw === null || raw === undefined ? '' : String(raw);
      if (value === '') {
        out[name] = null;
        continue;
      }
      if (name === 'email' && !EMAIL.test(value.trim())) {
        bad(name, 'INVALID_EMAIL', `Email address ${value} is invalid`);
      } else if (def.type === 'number' && !Number.isFinite(Number(value))) {
        bad(name, 'INVALID_DOUBLE', `${value} was not a valid number.`);
      } else if (def.type === 'bool' && value !== 'true' && value !== 'false') {
        bad(name, 'INVALID_BOOLEAN', `${value} was not a valid boolean.`);
      } else if (def.type === 'enumeration') {
        const allowed = new Set(def.options.map((o) => o.value));
        const chosen = def.fieldType === 'checkbox' ? value.split(';').filter((v) => v !== '') : [value];
        const unknown = chosen.filter((v) => !allowed.has(v));
        if (unknown.length > 0) {
          bad(name, 'INVALID_OPTION', `${unknown[0]} was not one of the allowed options: [${def.options.map((o) => o.value).join(', ')}]`);
        }
      }
      out[name] = name === 'email' ? value.trim().toLowerCase() : value;
    }
    if (invalid.length > 0) {
      throw new HubSpotError(
        400,
        errorBody('VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(invalid)}`, {
          errors: invalid.map((i) => ({ message: i.message, code: i.error, context: { propertyName: [i.name] } })),
        }),
      );
    }
    if (creating && out.email) {
      const existing = this.byEmail(out.email);
      if (existing) {
        throw new HubSpotError(409, errorBody('CONFLICT', `Contact already exists. Existing ID: ${existing.id}`));
      }
    }
    return out;
  }

  byEmail(email: string): StoredContact | undefined {
    const wanted = email.trim().toLowerCase();
    for (const c of this.contacts.values()) if (!c.archived && c.properties.email === wanted) return c;
    return undefined;
  }

  get(id: string, options: { archived?: boolean; idProperty?: string } = {}): StoredContact | undefined {
    const found = options.idProperty === 'email' ? this.byEmail(id) : this.contacts.get(id);
    if (!found || found.archived !== Boolean(options.archived)) return undefined;
    return found;
  }

  /** Validates every input first, then writes them all: one invalid input fails the whole call. */
  create(inputs: Record<string, unknown>[]): StoredContact[] {
    const validated = inputs.map((p) => this.validate(p, true));
    const emails = validated.map((v) => v.email).filter(Boolean);
    if (new Set(emails).size !== emails.length) {
      throw new HubSpotError(400, errorBody('VALIDATION_ERROR', 'Duplicate email addresses in the batch input.'));
    }
    return validated.map((values) => this.insert(values));
  }

  private insert(values: PropertyValues): StoredContact {
    const now = this.tick();
    const id = String(this.nextId++);
    const iso = new Date(now).toISOString();
    const contact: StoredContact = {
      id,
      properties: { ...values, hs_object_id: id, createdate: iso, lastmodifieddate: iso },
      createdAt: now,
      updatedAt: now,
      archived: false,
      indexed: { at: Date.now() + this.config.indexLagMs, previous: null },
    };
    if (contact.properties.hs_email_optout === undefined) contact.properties.hs_email_optout = 'false';
    this.contacts.set(id, contact);
    this.stats.writes++;
    return contact;
  }

  /** Validates every input first; ids that do not exist are reported, the others written. */
  update(inputs: { id: string; properties: Record<string, unknown> }[], idProperty?: string): { done: StoredContact[]; missing: string[] } {
    const validated = inputs.map((i) => ({ id: i.id, values: this.validate(i.properties, false) }));
    const done: StoredContact[] = [];
    const missing: string[] = [];
    for (const { id, values } of validated) {
      const current = this.get(id, { idProperty });
      if (!current) {
        missing.push(id);
        continue;
      }
      if (values.email && values.email !== current.properties.email) {
        const other = this.byEmail(values.email);
        if (other && other.id !== current.id) {
          throw new HubSpotError(409, errorBody('CONFLICT', `Contact already exists. Existing ID: ${other.id}`));
        }
      }
      done.push(this.apply(current, values));
    }
    return { done, missing };
  }

  /** Writes values; a write that changes nothing still bumps lastmodifieddate, as HubSpot does. */
  private apply(current: StoredContact, values: PropertyValues): StoredContact {
    const now = this.tick();
    const next: StoredContact = {
      ...current,
      properties: { ...current.properties, ...values, lastmodifieddate: new Date(now).toISOString() },
      updatedAt: now,
      indexed: { at: Date.now() + this.config.indexLagMs, previous: current.indexed.at > Date.now() ? current.indexed.previous : current },
    };
    this.contacts.set(current.id, next);
    this.stats.writes++;
    return next;
  }

  upsertByEmail(inputs: { id: string; properties: Record<string, unknown> }[]): { contact: StoredContact; isNew: boolean }[] {
    const validated = inputs.map((i) => {
      if (!EMAIL.test(i.id.trim())) {
        const message = `Email address ${i.id} is invalid`;
        const invalid: InvalidProperty = { isValid: false, message, error: 'INVALID_EMAIL', name: 'email', localizedErrorMessage: message };
        throw new HubSpotError(
          400,
          errorBody('VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify([invalid])}`, {
            errors: [{ message, code: 'INVALID_EMAIL', context: { propertyName: ['email'] } }],
          }),
        );
      }
      return { email: i.id.trim().toLowerCase(), values: this.validate(i.properties, false) };
    });
    return validated.map(({ email, values }) => {
      const existing = this.byEmail(email);
      if (existing) return { contact: this.apply(existing, values), isNew: false };
      return { contact: this.insert({ ...values, email }), isNew: true };
    });
  }

  archive(ids: string[]): void {
    for (const id of ids) {
      const c = this.contacts.get(id);
      if (!c || c.archived) continue;
      const now = this.tick();
      this.contacts.set(id, { ...c, archived: true, archivedAt: now, indexed: { at: Date.now() + this.config.indexLagMs, previous: c } });
      for (const list of this.lists.values()) if (list.members.delete(id)) list.lastRemovedAt = now;
      this.stats.writes++;
    }
  }

  /** Active (or archived) contacts in id order. */
  list(archived = false): StoredContact[] {
    return [...this.contacts.values()].filter((c) => c.archived === archived).sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** The list endpoint's page: ids ascending, `after` is the next id to return. */
  page(options: { limit: number; after?: string; archived: boolean }): { results: StoredContact[]; next?: string } {
    const all = this.list(options.archived);
    const from = options.after ? all.findIndex((c) => Number(c.id) >= Number(options.after)) : 0;
    if (from < 0) return { results: [] };
    const results = all.slice(from, from + options.limit);
    const next = all[from + options.limit];
    return { results, next: next?.id };
  }

  // ---- search

  /** What the search index holds now: writes younger than the index lag show their previous state. */
  private indexedContacts(now = Date.now()): StoredContact[] {
    const out: StoredContact[] = [];
    for (const c of this.contacts.values()) {
      let view: StoredContact | null = c;
      while (view && view.indexed.at > now) view = view.indexed.previous;
      if (view && !view.archived) out.push(view);
    }
    return out;
  }

  search(req: SearchRequest): { total: number; results: StoredContact[]; after?: string } {
    const limit = req.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      throw new HubSpotError(400, errorBody('VALIDATION_ERROR', `limit must be between 1 and 200, got ${String(req.limit)}`));
    }
    const groups = req.filterGroups ?? [];
    const filterCount = groups.reduce((n, g) => n + (g.filters?.length ?? 0), 0);
    if (groups.length > 5 || groups.some((g) => (g.filters?.length ?? 0) > 10) || filterCount > 25) {
      throw new HubSpotError(
        400,
        errorBody('VALIDATION_ERROR', 'Search request exceeds the filter limits: at most 5 filterGroups, 10 filters per group and 25 filters in total.'),
      );
    }
    const offset = req.after === undefined || req.after === '' ? 0 : Number(req.after);
    if (!Number.isInteger(offset) || offset < 0) throw new HubSpotError(400, errorBody('VALIDATION_ERROR', `after must be a non-negative integer`));
    if (offset >= this.config.searchCap) {
      throw new HubSpotError(
        400,
        errorBody('VALIDATION_ERROR', `The search API returns at most ${this.config.searchCap} results per query; narrow the filters instead of paging further.`),
      );
    }
    let matches = this.indexedContacts().filter((c) => groups.length === 0 || groups.some((g) => (g.filters ?? []).every((f) => this.matches(c, f))));
    if (req.query) {
      const q = req.query.toLowerCase();
      matches = matches.filter((c) => ['email', 'firstname', 'lastname', 'phone', 'company'].some((p) => c.properties[p]?.toLowerCase().includes(q)));
    }
    const sort = req.sorts?.[0];
    const sortBy = typeof sort === 'string' ? sort : sort?.propertyName;
    const descending = typeof sort === 'object' && sort.direction === 'DESCENDING';
    matches.sort((a, b) => {
      const primary = sortBy ? this.compare(sortBy, a.properties[sortBy] ?? null, b.properties[sortBy] ?? null) : 0;
      return (descending ? -primary : primary) || Number(a.id) - Number(b.id);
    });
    const results = matches.slice(offset, offset + limit);
    const nextOffset = offset + limit;
    const after = nextOffset < matches.length && nextOffset < this.config.searchCap ? String(nextOffset) : undefined;
    return { total: matches.length, results, after };
  }

  private numeric(name: string): boolean {
    const t = this.property(name)?.type;
    return t === 'number' || t === 'datetime' || t === 'date';
  }

  private toComparable(name: string, value: string | null | undefined): number | string | null {
    if (value === null || value === undefined || value === '') return null;
    if (!this.numeric(name)) return value.toLowerCase();
    const n = Number(value);
    return Number.isFinite(n) ? n : Date.parse(value);
  }

  private compare(name: string, a: string | null, b: string | null): number {
    const x = this.toComparable(name, a);
    const y = this.toComparable(name, b);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    return x < y ? -1 : x > y ? 1 : 0;
  }

  private matches(c: StoredContact, f: Filter): boolean {
    const actual = this.toComparable(f.propertyName, c.properties[f.propertyName]);
    const wanted = this.toComparable(f.propertyName, f.value ?? null);
    switch (f.operator) {
      case 'HAS_PROPERTY':
        return actual !== null;
      case 'NOT_HAS_PROPERTY':
        return actual === null;
      case 'EQ':
        return actual !== null && actual === wanted;
      case 'NEQ':
        return actual !== wanted;
      case 'GT':
        return actual !== null && wanted !== null && actual > wanted;
      case 'GTE':
        return actual !== null && wanted !== null && actual >= wanted;
      case 'LT':
        return actual !== null && wanted !== null && actual < wanted;
      case 'LTE':
        return actual !== null && wanted !== null && actual <= wanted;
      case 'IN':
        return actual !== null && (f.values ?? []).some((v) => this.toComparable(f.propertyName, v) === actual);
      case 'CONTAINS_TOKEN': {
        const token = String(f.value ?? '').toLowerCase();
        const raw = c.properties[f.propertyName]?.toLowerCase() ?? '';
        if (token.includes('*')) return raw.includes(token.replace(/\*/g, ''));
        return raw.split(/[;\s,]+/).includes(token);
      }
      default:
        throw new HubSpotError(400, errorBody('VALIDATION_ERROR', `Unknown filter operator ${f.operator}`));
    }
  }

  // ---- lists (segments). Membership changes do not touch the contact's lastmodifieddate.

  private listError(status: number, category: string, message: string, subCategory?: string): HubSpotError {
    return new HubSpotError(status, errorBody(category, message, subCategory ? { subCategory } : {}));
  }

  /** A list as HubSpot holds it now: a dynamic list's members follow its filter. */
  listById(id: string): StoredList | undefined {
    const list = this.lists.get(id);
    if (list?.filter) {
      const now = this.tick();
      const wanted = new Set(this.list(false).filter(list.filter).map((c) => c.id));
      for (const id of [...list.members.keys()]) {
        if (!wanted.has(id)) {
          list.members.delete(id);
          list.lastRemovedAt = now;
        }
      }
      for (const id of wanted) {
        if (!list.members.has(id)) {
          list.members.set(id, now);
          list.lastAddedAt = now;
        }
      }
    }
    return list;
  }

  allLists(): StoredList[] {
    return [...this.lists.keys()].map((id) => this.listById(id)!);
  }

  listByName(name: string): StoredList | undefined {
    const wanted = name.trim().toLowerCase();
    return this.allLists().find((l) => l.name.toLowerCase() === wanted);
  }

  createList(input: { name?: unknown; objectTypeId?: unknown; processingType?: unknown }, filter?: (c: StoredContact) => boolean): StoredList {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (!name) throw this.listError(400, 'VALIDATION_ERROR', 'name is required');
    if (input.objectTypeId !== CONTACT_TYPE) {
      throw this.listError(400, 'VALIDATION_ERROR', `The objectTypeId ${String(input.objectTypeId)} provided for the list is not valid for this portal.`, 'ListError.INVALID_OBJECT_TYPE_FOR_LIST');
    }
    const type = input.processingType;
    if (type !== 'MANUAL' && type !== 'SNAPSHOT' && type !== 'DYNAMIC') {
      throw this.listError(400, 'VALIDATION_ERROR', `processingType must be one of MANUAL, SNAPSHOT, DYNAMIC`);
    }
    if (this.listByName(name)) {
      throw this.listError(409, 'CONFLICT', `A list named "${name}" already exists.`, 'ListError.LIST_NAME_ALREADY_EXISTS');
    }
    const now = this.tick();
    const list: StoredList = {
      listId: String(this.nextListId++),
      name,
      processingType: type,
      objectTypeId: CONTACT_TYPE,
      createdAt: now,
      updatedAt: now,
      listVersion: 1,
      members: new Map(),
      ...(type === 'DYNAMIC' ? { filter: filter ?? (() => false) } : {}),
    };
    this.lists.set(list.listId, list);
    return this.listById(list.listId)!;
  }

  /** POST /crm/v3/lists/search: by name (substring, case-insensitive), offset paging. */
  searchLists(req: { query?: unknown; count?: unknown; offset?: unknown; processingTypes?: unknown; listIds?: unknown }): { lists: StoredList[]; offset: number; hasMore: boolean; total: number } {
    const count = req.count === undefined ? 20 : Number(req.count);
    if (!Number.isInteger(count) || count < 1 || count > MAX_LIST_SEARCH) {
      throw this.listError(400, 'VALIDATION_ERROR', `count must be between 1 and ${MAX_LIST_SEARCH}`);
    }
    const offset = req.offset === undefined ? 0 : Number(req.offset);
    if (!Number.isInteger(offset) || offset < 0) throw this.listError(400, 'VALIDATION_ERROR', 'offset must be a non-negative integer');
    const query = typeof req.query === 'string' ? req.query.trim().toLowerCase() : '';
    const types = Array.isArray(req.processingTypes) && req.processingTypes.length > 0 ? new Set(req.processingTypes.map(String)) : null;
    const ids = Array.isArray(req.listIds) && req.listIds.length > 0 ? new Set(req.listIds.map(String)) : null;
    const all = this.allLists()
      .filter((l) => (!query || l.name.toLowerCase().includes(query)) && (!types || types.has(l.processingType)) && (!ids || ids.has(l.listId)))
      .sort((a, b) => Number(a.listId) - Number(b.listId));
    const lists = all.slice(offset, offset + count);
    return { lists, offset: offset + lists.length, hasMore: offset + lists.length < all.length, total: all.length };
  }

  private requireList(id: string): StoredList {
    const list = this.listById(id);
    if (!list) throw this.listError(404, 'OBJECT_NOT_FOUND', `List does not exist with ID ${id}.`, 'ListError.LIST_DOES_NOT_EXIST');
    return list;
  }

  /** GET /crm/v3/lists/{id}/memberships: record ids ascending, `after` is an opaque offset token. */
  memberships(id: string, options: { limit?: number; after?: string }): { results: { recordId: string; joinedAt: number }[]; after?: string; total: number } {
    const list = this.requireList(id);
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_MEMBERSHIP_PAGE) {
      throw this.listError(400, 'VALIDATION_ERROR', `limit must be between 1 and ${MAX_MEMBERSHIP_PAGE}`);
    }
    let from = 0;
    if (options.after) {
      const decoded = Number(Buffer.from(options.after, 'base64url').toString('utf8'));
      if (!Number.isInteger(decoded) || decoded < 0) throw this.listError(400, 'VALIDATION_ERROR', 'after is not a valid paging token');
      from = decoded;
    }
    const all = [...list.members.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
    const results = all.slice(from, from + limit).map(([recordId, joinedAt]) => ({ recordId, joinedAt }));
    const next = from + limit < all.length ? Buffer.from(String(from + limit)).toString('base64url') : undefined;
    return { results, after: next, total: all.length };
  }

  /** PUT …/memberships/add-and-remove: only MANUAL and SNAPSHOT lists; unknown or archived contacts are "missing". */
  changeMemberships(id: string, add: unknown, remove: unknown): { added: string[]; removed: string[]; missing: string[] } {
    const list = this.requireList(id);
    if (list.processingType === 'DYNAMIC') {
      throw this.listError(
        400,
        'VALIDATION_ERROR',
        `List ${id} has processingType DYNAMIC; memberships can only be changed for MANUAL or SNAPSHOT lists.`,
        'ListError.LIST_PROCESSING_TYPE_NOT_SUPPORTED',
      );
    }
    const ids = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
    const now = this.tick();
    const added: string[] = [];
    const removed: string[] = [];
    const missing: string[] = [];
    for (const contactId of ids(remove)) {
      if (list.members.delete(contactId)) removed.push(contactId);
      else if (!this.get(contactId)) missing.push(contactId);
    }
    for (const contactId of ids(add)) {
      if (!this.get(contactId)) missing.push(contactId);
      else if (!list.members.has(contactId)) {
        list.members.set(contactId, now);
        added.push(contactId);
      }
    }
    if (added.length) list.lastAddedAt = now;
    if (removed.length) list.lastRemovedAt = now;
    if (added.length || removed.length) list.updatedAt = now;
    return { added, removed, missing: [...new Set(missing)] };
  }

  /** Names of the lists a contact belongs to (test helper). */
  listsOf(contactId: string): string[] {
    return this.allLists()
      .filter((l) => l.members.has(contactId))
      .map((l) => l.name)
      .sort();
  }

  // ---- test and demo hooks

  /** People from sandboxes/kit/seed.ts, stored as HubSpot holds them (string properties, owners by id). */
  seed(options: { count: number; start?: number; seed?: number }): StoredContact[] {
    const out: StoredContact[] = [];
    const tags = this.property('contact_tags');
    for (let i = 0; i < options.count; i++) {
      const p = person((options.start ?? 0) + i, options.seed ?? 1);
      const [primary, ...more] = p.emails ?? [];
      const owner = this.owners.find((o) => o.email === p.owner);
      const contact = this.insert({
        email: primary?.value.toLowerCase() ?? null,
        hs_additional_emails: more.length > 0 ? more.map((e) => e.value.toLowerCase()).join(';') : null,
        firstname: p.first_name ?? null,
        lastname: p.last_name ?? null,
        company: p.company ?? null,
        jobtitle: p.job_title ?? null,
        mobilephone: p.phones?.find((ph) => ph.type === 'mobile')?.value ?? null,
        phone: p.phones?.find((ph) => ph.type === 'work')?.value ?? null,
        address: p.address?.street ?? null,
        city: p.address?.city ?? null,
        state: p.address?.region ?? null,
        zip: p.address?.postal_code ?? null,
        country: p.address?.country ?? null,
        hubspot_owner_id: owner?.id ?? null,
        contact_tags: tags && p.tags?.length ? p.tags.filter((t) => tags.options.some((o) => o.value === t)).join(';') || null : null,
        hs_email_optout: p.unsubscribed ? 'true' : 'false',
      });
      out.push(contact);
    }
    return out;
  }

  /** Sets properties as a user in HubSpot's own UI would: read-only ones included (opt-out, extra emails). */
  edit(id: string, values: PropertyValues): StoredContact {
    const current = this.get(id);
    if (!current) throw new Error(`no contact ${id}`);
    return this.apply(current, values);
  }

  /** Stored contacts, archived ones included, with their full properties. */
  all(): StoredContact[] {
    return [...this.list(false), ...this.list(true)];
  }

  reset(): void {
    this.contacts.clear();
    this.lists.clear();
    this.faults.clear();
  }
}

export function missingScopes(scope: string): HubSpotErrorBody {
  return errorBody(
    'MISSING_SCOPES',
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
    { errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: [scope] } }], links: { scopes: 'https://developers.hubspot.com/scopes' } },
  );
}
