import { randomUUID } from 'node:crypto';
import { FaultQueue } from '../kit/faults';
import { RollingWindow } from '../kit/rate-limit';
import { person } from '../kit/seed';
import { formatMicros, nowMicros, parseMicros } from './time';

// One Pipeliner space: its users (Clients), sales units, contact field metadata and contacts, with the rules
// the REST API v100 applies to them. Everything the HTTP layer answers comes from here, so tests can also drive
// a space directly, as a Pipeliner user would in the web app.

export const TEXT_FIELDS = [
  'first_name',
  'middle_name',
  'last_name',
  'title',
  'position',
  'quick_account_name',
  'email1',
  'email2',
  'email3',
  'email4',
  'email5',
  'phone1',
  'phone2',
  'phone3',
  'phone4',
  'phone5',
  'address',
  'city',
  'state_province',
  'zip_code',
  'country',
  'comments',
] as const;
export type TextField = (typeof TEXT_FIELDS)[number];

export const STANDARD_LABELS: Record<TextField, string> = {
  first_name: 'First Name',
  middle_name: 'Middle Name',
  last_name: 'Last Name',
  title: 'Title',
  position: 'Position',
  quick_account_name: 'Account',
  email1: 'Email',
  email2: 'Email 2',
  email3: 'Email 3',
  email4: 'Email 4',
  email5: 'Email 5',
  phone1: 'Phone',
  phone2: 'Mobile',
  phone3: 'Home Phone',
  phone4: 'Fax',
  phone5: 'Other Phone',
  address: 'Address',
  city: 'City',
  state_province: 'State / Province',
  zip_code: 'ZIP Code',
  country: 'Country',
  comments: 'Comments',
};

const EMAIL_FIELDS = ['email1', 'email2', 'email3', 'email4', 'email5'] as const;
const PHONE_FIELDS = ['phone1', 'phone2', 'phone3', 'phone4', 'phone5'] as const;
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CUSTOM_KEY = /^cf_[a-z0-9_]{1,60}$/;

export interface Client {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  default_unit_id: string;
  is_deleted: boolean;
}

export interface SalesUnit {
  id: string;
  name: string;
  parent_id: string | null;
  is_deleted: boolean;
}

export interface CustomField {
  api_name: string;
  name: string;
  required: boolean;
}

export interface SharingClient {
  client_id: string;
  role: 'editor' | 'viewer';
}

/** A contact as the space stores it; never mutated once stored, so a reference is a consistent snapshot. */
export interface StoredContact {
  id: string;
  is_deleted: boolean;
  created: number;
  modified: number;
  revision: number;
  owner_id: string;
  unit_id: string;
  values: Record<string, string | null>;
  sharing_clients: SharingClient[];
}

export interface PipelinerErrorBody {
  success: false;
  code: number;
  name: string;
  message: string;
  http_status: number;
  [key: string]: unknown;
}

export class PipelinerError extends Error {
  constructor(
    readonly status: number,
    readonly body: PipelinerErrorBody,
  ) {
    super(body.message);
  }
}

export interface Fault {
  status: number;
  retryAfterSeconds?: number;
}

export interface SpaceConfig {
  apiToken: string;
  apiPassword: string;
  /** Requests per second before 429; unlimited when absent. */
  rateLimitPerSecond?: number;
  /** Labels of phone1..phone5, which each space configures (which slot is the mobile, the fax...). */
  phoneLabels?: Partial<Record<(typeof PHONE_FIELDS)[number], string>>;
}

export const errorBody = (status: number, code: number, name: string, message: string, extra: Record<string, unknown> = {}): PipelinerErrorBody => ({
  code,
  name,
  message,
  ...extra,
  http_status: status,
  success: false,
});

/** Pipeliner's entity validation error (422, code 40000), one field error per offending field. */
function validationError(contactId: string, problems: { field: string; message: string; code?: number; name?: string }[]): PipelinerError {
  const message = problems.map((p) => `\n${p.message}`).join('');
  return new PipelinerError(
    422,
    errorBody(422, 40000, 'ERROR_ENTITY_VALIDATION', message, {
      entity_id: contactId,
      entity_name: 'Contact',
      entity_errors: [],
      field_errors: problems.map((p) => ({
        field_id: fieldId(p.field),
        field_name: p.field,
        name: 'ERROR_FIELD_VALIDATION',
        code: 40002,
        errors: [{ code: p.code ?? 119, name: p.name ?? 'ERROR_PARAMETER_MISSING', message: p.message, field_id: fieldId(p.field), field_name: p.field }],
      })),
      step_checklist_errors: [],
      entity_index: null,
    }),
  );
}

/** Stable ids for field metadata, derived from the api name. */
function fieldId(apiName: string): string {
  let h = 0x811c9dc5;
  for (const ch of apiName) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const hex = h.toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex}${hex.slice(0, 4)}`;
}

const blank = (v: string | null | undefined) => v === undefined || v === null || v.trim() === '';

export class PipelinerSpace {
  readonly clients = new Map<string, Client>();
  readonly units = new Map<string, SalesUnit>();
  readonly customFields = new Map<string, CustomField>();
  private contacts = new Map<string, StoredContact>();
  private faults = new FaultQueue<Fault>();
  private window = new RollingWindow(1000);
  /** Whether the API user may delete contacts (a role right in Pipeliner). */
  canDelete = true;
  requests = 0;
  writes = 0;
  /** The admin who created the space's API access; the first user. */
  readonly admin: Client;
  readonly rootUnit: SalesUnit;

  constructor(
    readonly spaceId: string,
    public config: SpaceConfig,
  ) {
    this.rootUnit = this.addSalesUnit('Company');
    this.admin = this.addUser({ email: `admin@${spaceId.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.pipeliner.test`, first_name: 'Space', last_name: 'Admin' });
  }

  // ---- users, units and metadata (admin portal) ----

  addSalesUnit(name: string, parentId: string | null = this.rootUnit?.id ?? null): SalesUnit {
    const unit: SalesUnit = { id: randomUUID(), name, parent_id: parentId, is_deleted: false };
    this.units.set(unit.id, unit);
    return unit;
  }

  addUser(input: { email: string; first_name?: string; last_name?: string; default_unit_id?: string }): Client {
    const client: Client = {
      id: randomUUID(),
      email: input.email,
      first_name: input.first_name ?? '',
      last_name: input.last_name ?? '',
      default_unit_id: input.default_unit_id ?? this.rootUnit.id,
      is_deleted: false,
    };
    this.clients.set(client.id, client);
    return client;
  }

  /** Adds a custom contact field, or changes whether it is required on the contact form. */
  setCustomField(field: { api_name: string; name: string; required?: boolean }): void {
    if (!CUSTOM_KEY.test(field.api_name)) throw new Error(`custom field api names look like cf_name, not ${field.api_name}`);
    this.customFields.set(field.api_name, { api_name: field.api_name, name: field.name, required: field.required ?? false });
  }

  phoneLabel(field: (typeof PHONE_FIELDS)[number]): string {
    return this.config.phoneLabels?.[field] ?? STANDARD_LABELS[field];
  }

  /** The Contact field metadata, as the Fields entity lists it. */
  fields(): Record<string, unknown>[] {
    const standard = TEXT_FIELDS.map((api) => ({
      id: fieldId(api),
      entity_name: 'Contact',
      api_name: api,
      name: (PHONE_FIELDS as readonly string[]).includes(api) ? this.phoneLabel(api as (typeof PHONE_FIELDS)[number]) : STANDARD_LABELS[api],
      column_source: 'System',
      is_required: false,
      is_deleted: false,
    }));
    const owner = { id: fieldId('owner_id'), entity_name: 'Contact', api_name: 'owner_id', name: 'Owner', column_source: 'System', is_required: true, is_deleted: false };
    const custom = [...this.customFields.values()].map((f) => ({
      id: fieldId(f.api_name),
      entity_name: 'Contact',
      api_name: f.api_name,
      name: f.name,
      column_source: 'Custom',
      is_required: f.required,
      is_deleted: false,
    }));
    return [...standard, owner, ...custom];
  }

  /** A new API password, as "regenerate" in the admin portal does: the old credentials stop working. */
  rotatePassword(apiPassword: string): void {
    this.config = { ...this.config, apiPassword };
  }

  // ---- request admission: faults and rate limit ----

  failNext(fault: { status: number; count?: number; retryAfterSeconds?: number }): void {
    this.faults.add({ status: fault.status, retryAfterSeconds: fault.retryAfterSeconds }, Math.max(1, fault.count ?? 1));
  }

  /** A refusal for this request (an injected fault or the rate limit), or null to serve it. */
  admit(now = Date.now()): { status: number; retryAfterSeconds?: number; body: PipelinerErrorBody } | null {
    this.requests++;
    const fault = this.faults.take();
    if (fault) {
      const retryAfterSeconds = fault.retryAfterSeconds ?? (fault.status === 429 ? 1 : undefined);
      return { status: fault.status, retryAfterSeconds, body: this.statusBody(fault.status) };
    }
    const limit = this.config.rateLimitPerSecond;
    const wait = limit ? this.window.take(limit, now) : null;
    if (wait !== null) return { status: 429, retryAfterSeconds: wait, body: this.statusBody(429) };
    return null;
  }

  private statusBody(status: number): PipelinerErrorBody {
    if (status === 429) return errorBody(429, 429, 'ERROR_TOO_MANY_REQUESTS', 'Too many requests. Retry after the time given in Retry-After.');
    if (status === 401) return errorBody(401, 401, 'ERROR_UNAUTHORIZED', 'Unauthorized: invalid API token or password.');
    if (status >= 500) return errorBody(status, 500, 'ERROR_INTERNAL', 'Internal server error.');
    return errorBody(status, status, 'ERROR_INJECTED', `Injected failure ${status}.`);
  }

  // ---- contacts ----

  find(id: string, includeDeleted = false): StoredContact | undefined {
    const c = this.contacts.get(id);
    return c && (includeDeleted || !c.is_deleted) ? c : undefined;
  }

  all(includeDeleted = false): StoredContact[] {
    return [...this.contacts.values()].filter((c) => includeDeleted || !c.is_deleted);
  }

  count(): number {
    return this.all().length;
  }

  private knownKeys(): Set<string> {
    return new Set<string>([...TEXT_FIELDS, ...this.customFields.keys()]);
  }

  /** Splits a request body into text values and relations; unknown or ill-typed properties are a 400. */
  private parseBody(body: unknown): { values: Record<string, string | null>; owner_id?: string; unit_id?: string; sharing_clients?: SharingClient[] } {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new PipelinerError(400, errorBody(400, 117, 'ERROR_PARAMETER_INVALID', 'Missing or invalid JSON data.'));
    }
    const known = this.knownKeys();
    const values: Record<string, string | null> = {};
    const out: ReturnType<PipelinerSpace['parseBody']> = { values };
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
      if (key === 'id' || key === 'revision' || key === 'modified' || key === 'created' || key === 'is_deleted') continue;
      if (key === 'owner_id' || key === 'unit_id') {
        if (value !== null && typeof value !== 'string') throw this.invalidParam(key);
        out[key] = value ?? '';
      } else if (key === 'sharing_clients') {
        if (!Array.isArray(value)) throw this.invalidParam(key);
        out.sharing_clients = value.map((v: { client_id?: unknown; role?: unknown }) => ({
          client_id: String(v?.client_id ?? ''),
          role: v?.role === 'viewer' ? 'viewer' : 'editor',
        }));
      } else if (known.has(key)) {
        if (value !== null && typeof value !== 'string') throw this.invalidParam(key);
        values[key] = value === null ? null : value;
      } else {
        throw new PipelinerError(400, errorBody(400, 117, 'ERROR_PARAMETER_INVALID', `Unknown field '${key}' of entity 'Contact'.`));
      }
    }
    return out;
  }

  private invalidParam(key: string): PipelinerError {
    return new PipelinerError(400, errorBody(400, 117, 'ERROR_PARAMETER_INVALID', `Invalid value of field '${key}'.`));
  }

  /**
   * The checks of Pipeliner's entity validation. `only` limits them to the fields a request changed
   * (validation-level=2); without it every field of the entity is checked (validation-level=0, the default).
   */
  private validate(id: string, c: Omit<StoredContact, 'id'>, only: Set<string> | null): void {
    const problems: { field: string; message: string; code?: number; name?: string }[] = [];
    const checks = (field: string) => only === null || only.has(field);
    if ((checks('first_name') || checks('last_name')) && blank(c.values.first_name) && blank(c.values.last_name)) {
      problems.push({ field: 'last_name', message: `Non-null field 'Contact'[${id}].last_name' is null or empty.` });
    }
    if (checks('owner_id')) {
      if (blank(c.owner_id)) problems.push({ field: 'owner_id', message: `Non-null field 'Contact'[${id}].owner_id' is null or empty.` });
      else if (!this.clients.get(c.owner_id)) {
        problems.push({ field: 'owner_id', message: `Entity 'Client' with id '${c.owner_id}' does not exist.`, code: 121, name: 'ERROR_ENTITY_NOT_FOUND' });
      }
    }
    // Without an owner there is no default unit either; the missing owner is the error to report.
    if (checks('unit_id') && c.unit_id !== '' && !this.units.get(c.unit_id)) {
      problems.push({ field: 'unit_id', message: `Entity 'SalesUnit' with id '${c.unit_id}' does not exist.`, code: 121, name: 'ERROR_ENTITY_NOT_FOUND' });
    }
    for (const field of EMAIL_FIELDS) {
      const v = c.values[field];
      if (checks(field) && !blank(v) && !EMAIL_SHAPE.test(v!.trim())) {
        problems.push({ field, message: `Field '${field}' contains an invalid email address '${v}'.`, code: 120, name: 'ERROR_INVALID_EMAIL' });
      }
    }
    for (const f of this.customFields.values()) {
      if (f.required && checks(f.api_name) && blank(c.values[f.api_name])) {
        problems.push({ field: f.api_name, message: `Non-null field '${f.api_name}' is null or empty.` });
      }
    }
    if (problems.length > 0) throw validationError(id, problems);
  }

  /** POST /entities/Contacts. `validationLevel` is the API's bit mask; 2 = validate changed fields only. */
  createFromApi(body: unknown, validationLevel = 0): StoredContact {
    const parsed = this.parseBody(body);
    const id = randomUUID();
    const owner = parsed.owner_id ? this.clients.get(parsed.owner_id) : undefined;
    const now = nowMicros();
    const contact: StoredContact = {
      id,
      is_deleted: false,
      created: now,
      modified: now,
      revision: 1,
      owner_id: parsed.owner_id ?? '',
      // Without a sales unit the contact goes to its owner's default unit, as in the web app.
      unit_id: parsed.unit_id || owner?.default_unit_id || '',
      values: this.normalise(parsed.values, null),
      sharing_clients: parsed.sharing_clients ?? [],
    };
    // Validation level 2 on a create still checks what the create sends, which is every field it sets.
    this.validate(id, contact, validationLevel & 2 ? new Set([...Object.keys(parsed.values), 'owner_id', 'unit_id', 'first_name']) : null);
    this.contacts.set(id, contact);
    this.writes++;
    return contact;
  }

  /** PATCH /entities/Contacts/{id}: the given fields change, everything else stays. */
  updateFromApi(id: string, body: unknown, validationLevel = 0): StoredContact {
    const current = this.find(id);
    if (!current) throw notFound(id);
    const parsed = this.parseBody(body);
    const next: StoredContact = {
      ...current,
      owner_id: parsed.owner_id ?? current.owner_id,
      unit_id: parsed.unit_id ?? current.unit_id,
      values: this.normalise(parsed.values, current.values),
      sharing_clients: parsed.sharing_clients ?? current.sharing_clients,
    };
    const changed = new Set([...Object.keys(parsed.values), ...(parsed.owner_id !== undefined ? ['owner_id'] : []), ...(parsed.unit_id !== undefined ? ['unit_id'] : [])]);
    this.validate(id, next, validationLevel & 2 ? changed : null);
    this.writes++;
    return this.store(current, next);
  }

  /** DELETE /entities/Contacts/{id}: a soft delete, refused without the right to delete. */
  deleteFromApi(id: string): void {
    const current = this.find(id);
    if (!current) throw notFound(id);
    if (!this.canDelete) {
      throw new PipelinerError(
        403,
        errorBody(403, 4003, 'ERROR_ACCESS_DENIED', `Access denied: you do not have the right to delete Contact '${id}'.`, { entity_id: id, entity_name: 'Contact' }),
      );
    }
    this.writes++;
    this.store(current, { ...current, is_deleted: true });
  }

  /** Keeps a new state; a write that changes nothing keeps the revision and the modified time. */
  private store(current: StoredContact, next: StoredContact): StoredContact {
    const same =
      current.is_deleted === next.is_deleted &&
      current.owner_id === next.owner_id &&
      current.unit_id === next.unit_id &&
      JSON.stringify(current.values) === JSON.stringify(next.values) &&
      JSON.stringify(current.sharing_clients) === JSON.stringify(next.sharing_clients);
    if (same) return current;
    const stored = { ...next, modified: nowMicros(), revision: current.revision + 1 };
    this.contacts.set(stored.id, stored);
    return stored;
  }

  private normalise(values: Record<string, string | null>, base: Record<string, string | null> | null): Record<string, string | null> {
    const out: Record<string, string | null> = { ...(base ?? {}) };
    for (const [k, v] of Object.entries(values)) out[k] = blank(v) ? null : v;
    return out;
  }

  // ---- acting as a user of the web app (tests and demo): no API validation, no rights ----

  create(values: Record<string, string | null>, relations: { owner_id?: string; unit_id?: string; sharing_clients?: SharingClient[] } = {}): StoredContact {
    const now = nowMicros();
    const owner = this.clients.get(relations.owner_id ?? this.admin.id) ?? this.admin;
    const contact: StoredContact = {
      id: randomUUID(),
      is_deleted: false,
      created: now,
      modified: now,
      revision: 1,
      owner_id: owner.id,
      unit_id: relations.unit_id ?? owner.default_unit_id,
      values: this.normalise(values, null),
      sharing_clients: relations.sharing_clients ?? [],
    };
    this.contacts.set(contact.id, contact);
    return contact;
  }

  update(id: string, values: Record<string, string | null>, relations: { owner_id?: string; unit_id?: string } = {}): StoredContact {
    const current = this.find(id);
    if (!current) throw new Error(`no contact ${id}`);
    return this.store(current, { ...current, ...relations, values: this.normalise(values, current.values) });
  }

  remove(id: string): void {
    const current = this.find(id);
    if (current) this.store(current, { ...current, is_deleted: true });
  }

  /** Realistic people (sandboxes/kit/seed.ts), their details on this space's fields and phone labels. */
  seed(options: { count: number; start?: number; seed?: number; ownerId?: string; unitId?: string }): StoredContact[] {
    const made: StoredContact[] = [];
    const start = options.start ?? 0;
    for (let i = start; i < start + options.count; i++) {
      const p = person(i, options.seed ?? 1);
      const values: Record<string, string | null> = {
        first_name: p.first_name ?? null,
        last_name: p.last_name ?? null,
        quick_account_name: p.company ?? null,
        position: p.job_title ?? null,
        comments: p.notes ?? null,
        address: p.address?.street ?? null,
        city: p.address?.city ?? null,
        state_province: p.address?.region ?? null,
        zip_code: p.address?.postal_code ?? null,
        country: p.address?.country ?? null,
      };
      (p.emails ?? []).slice(0, 5).forEach((e, k) => (values[EMAIL_FIELDS[k]] = e.value));
      for (const phone of p.phones ?? []) {
        const slot = PHONE_FIELDS.find((f) => phoneKind(this.phoneLabel(f)) === phone.type && !values[f]);
        if (slot) values[slot] = phone.value;
      }
      made.push(this.create(values, { owner_id: options.ownerId, unit_id: options.unitId }));
    }
    return made;
  }
}

/** What a phone label means, as people name their slots. */
export function phoneKind(label: string): 'mobile' | 'work' | 'home' | 'fax' | 'other' {
  const l = label.toLowerCase();
  if (/mobile|cell|handy/.test(l)) return 'mobile';
  if (/fax/.test(l)) return 'fax';
  if (/home|private/.test(l)) return 'home';
  if (/other|alt/.test(l)) return 'other';
  return 'work';
}

function notFound(id: string): PipelinerError {
  return new PipelinerError(404, errorBody(404, 2001, 'ERROR_ENTITY_NOT_FOUND', `Entity 'Contact' with id '${id}' not found.`, { entity_id: id, entity_name: 'Contact' }));
}

// ---- wire form ----

export function contactJson(space: PipelinerSpace, c: StoredContact, base: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: c.id,
    is_deleted: c.is_deleted,
    is_delete_protected: false,
    modified: formatMicros(c.modified),
    created: formatMicros(c.created),
    revision: c.revision,
    owner: `${base}/entities/Clients/${c.owner_id}`,
    owner_id: c.owner_id,
    unit: `${base}/entities/SalesUnits/${c.unit_id}`,
    unit_id: c.unit_id,
    share_mode: c.sharing_clients.length > 0 ? 1 : 0,
    sharing_clients: c.sharing_clients,
  };
  // Text fields the contact never had come back as empty strings, as Pipeliner returns them.
  for (const key of TEXT_FIELDS) out[key] = c.values[key] ?? '';
  out.formatted_name = [c.values.first_name, c.values.middle_name, c.values.last_name].filter((v) => !blank(v)).join(' ');
  for (const key of space.customFields.keys()) out[key] = c.values[key] ?? null;
  return out;
}

/** A value of the contact as filters and ordering see it. */
export function fieldValue(c: StoredContact, field: string): string | number | boolean | null {
  switch (field) {
    case 'id':
      return c.id;
    case 'modified':
      return c.modified;
    case 'created':
      return c.created;
    case 'revision':
      return c.revision;
    case 'is_deleted':
      return c.is_deleted;
    case 'owner_id':
      return c.owner_id;
    case 'unit_id':
      return c.unit_id;
    default:
      return c.values[field] ?? null;
  }
}

export { parseMicros };
