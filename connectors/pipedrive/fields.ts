import type { AddPersonRequest, Person, PersonItemAddress, PersonItemEmail, UpdatePersonRequest } from 'pipedrive/v2';
import type { Assert, OnlyVendorKeys } from '../kit/wire';
import { createHash } from 'node:crypto';
import type { AppRecord, FieldDef, FieldValue, PicklistValue } from '../../sync/types';
import { MappingError, asBoolean, asList } from '../values';

// Between Pipedrive's person JSON (API v2) and the flat records the engine works with. The connector declares
// the wire shapes itself rather than importing sandboxes/, as it would for any third-party API.

export { MappingError };

export interface WireLabeled {
  value: string;
  primary: boolean;
  label: string;
}

export interface WireAddress {
  value?: string | null;
  route?: string | null;
  street_number?: string | null;
  locality?: string | null;
  admin_area_level_1?: string | null;
  postal_code?: string | null;
  country?: string | null;
}

export interface WirePerson {
  id: number;
  name: string;
  first_name: string | null;
  last_name: string | null;
  owner_id: number | null;
  org_id: number | null;
  add_time: string;
  update_time: string;
  is_deleted?: boolean;
  emails: WireLabeled[] | null;
  phones: WireLabeled[] | null;
  visible_to?: number;
  label_ids?: number[] | null;
  postal_address?: WireAddress | null;
  notes?: string | null;
  job_title?: string | null;
  birthday?: string | null;
  marketing_status?: string | null;
  custom_fields?: Record<string, unknown> | null;
}

/** The body of POST /persons and PATCH /persons/{id}: the v2 request schema, nothing else. */
export interface WireBody {
  name?: string;
  owner_id?: number;
  org_id?: number | null;
  emails?: WireLabeled[];
  phones?: WireLabeled[];
  visible_to?: number;
  label_ids?: number[];
  marketing_status?: string;
  custom_fields?: Record<string, unknown>;
}

// Checked against Pipedrive's own v2 models (the `pipedrive` SDK): a field these declarations name that the
// models lack fails the typecheck. The package's Person lacks marketing_status, which v2 reads return only with
// include_fields=marketing_status; it is added to the vendor side here, as the API reference documents it.
export type WirePersonChecked = Assert<OnlyVendorKeys<WirePerson, Person & { marketing_status?: unknown }>>;
export type WireAddressChecked = Assert<OnlyVendorKeys<WireAddress, PersonItemAddress>>;
export type WireLabeledChecked = Assert<OnlyVendorKeys<WireLabeled, PersonItemEmail>>;
export type WireBodyChecked = Assert<OnlyVendorKeys<WireBody, AddPersonRequest & UpdatePersonRequest>>;

/** A custom person field as /v1/personFields describes it. */
export interface CustomFieldDef {
  key: string;
  name: string;
  field_type: string;
  options?: { id: number | string; label: string }[];
}

/** What reading and writing need to know about the account: its users, labels and custom fields. */
export interface AccountFacts {
  users: { id: number; email: string; name: string; active_flag?: boolean }[];
  labels: { id: number; label: string }[];
  custom: CustomFieldDef[];
}

export const EMAIL_KEYS = ['email_1', 'email_2', 'email_3', 'email_4', 'email_5'] as const;
/** A slot's label when the person holds no email there yet. */
const EMAIL_SLOT_LABELS = ['work', 'home', 'other', 'other', 'other'] as const;
/** Pipedrive's phone labels; it has no fax label, so fax numbers arrive as "other". */
export const PHONE_KEYS = { phone_mobile: 'mobile', phone_work: 'work', phone_home: 'home', phone_other: 'other' } as const;
const ADDRESS_KEYS = {
  postal_address_route: 'route',
  postal_address_locality: 'locality',
  postal_address_admin_area_level_1: 'admin_area_level_1',
  postal_address_postal_code: 'postal_code',
  postal_address_country: 'country',
} as const;

/**
 * The standard person fields. Job title, notes, postal address and birthday are Pipedrive's "contact sync"
 * fields: returned by v2, but not part of its request schema, so they are read (for rules, matching and the
 * other side) and never written.
 */
export const pipedriveFields: FieldDef[] = [
  { key: 'first_name', label: 'First name', type: 'text', canonical: 'firstName' },
  { key: 'last_name', label: 'Last name', type: 'text', canonical: 'lastName' },
  { key: 'org_id', label: 'Organization', type: 'text', canonical: 'company' },
  { key: 'job_title', label: 'Job title', type: 'text', canonical: 'jobTitle', readOnly: true },
  { key: 'email_1', label: 'Email (primary)', type: 'email', canonical: 'email1' },
  { key: 'email_2', label: 'Email 2', type: 'email', canonical: 'email2' },
  { key: 'email_3', label: 'Email 3', type: 'email', canonical: 'email3' },
  { key: 'email_4', label: 'Email 4', type: 'email', canonical: 'email4' },
  { key: 'email_5', label: 'Email 5', type: 'email', canonical: 'email5' },
  { key: 'phone_mobile', label: 'Phone (mobile)', type: 'phone', canonical: 'phoneMobile' },
  { key: 'phone_work', label: 'Phone (work)', type: 'phone', canonical: 'phoneWork' },
  { key: 'phone_home', label: 'Phone (home)', type: 'phone', canonical: 'phoneHome' },
  { key: 'phone_other', label: 'Phone (other)', type: 'phone', canonical: 'phoneOther' },
  { key: 'postal_address_route', label: 'Postal address: street', type: 'address', canonical: 'street', readOnly: true },
  { key: 'postal_address_locality', label: 'Postal address: city', type: 'address', canonical: 'city', readOnly: true },
  { key: 'postal_address_admin_area_level_1', label: 'Postal address: state/county', type: 'address', canonical: 'region', readOnly: true },
  { key: 'postal_address_postal_code', label: 'Postal address: ZIP/postal code', type: 'address', canonical: 'postalCode', readOnly: true },
  { key: 'postal_address_country', label: 'Postal address: country', type: 'address', canonical: 'country', readOnly: true },
  { key: 'birthday', label: 'Birthday', type: 'date', canonical: 'birthday', readOnly: true },
  { key: 'notes', label: 'Notes', type: 'text', canonical: 'notes', readOnly: true },
  // Values are label names, so the engine's own tags ("Rapport Unsubscribes") and other apps' tags pair by name.
  { key: 'label_ids', label: 'Labels', type: 'multipicklist', canonical: 'tags' },
  // Values are user emails: the one identity of a user that other apps also know.
  { key: 'owner_id', label: 'Owner', type: 'picklist', canonical: 'owner' },
  // true when the marketing status is "unsubscribed"; writing true unsubscribes, false never changes consent.
  { key: 'marketing_status', label: 'Unsubscribed (marketing status)', type: 'boolean', canonical: 'unsubscribed' },
];

const STANDARD_KEYS = new Set(pipedriveFields.map((f) => f.key));
const READ_ONLY_KEYS = new Set(pipedriveFields.filter((f) => f.readOnly).map((f) => f.key));

/** How a custom field's type reads in the catalog; types the engine cannot write are scanned only. */
function customType(fieldType: string): { type: FieldDef['type']; readOnly?: boolean } | null {
  switch (fieldType) {
    case 'varchar':
    case 'varchar_auto':
    case 'text':
      return { type: 'text' };
    case 'double':
    case 'int':
      return { type: 'number' };
    case 'monetary':
      return { type: 'number', readOnly: true };
    case 'date':
      return { type: 'date' };
    case 'enum':
      return { type: 'picklist' };
    case 'set':
      return { type: 'multipicklist' };
    case 'phone':
      return { type: 'phone' };
    case 'address':
    case 'time':
    case 'daterange':
    case 'timerange':
      return { type: 'text', readOnly: true };
    default:
      // user, org, people: references to other records, which no other app could fill.
      return null;
  }
}

export function catalogFor(facts: AccountFacts): FieldDef[] {
  const users: PicklistValue[] = facts.users.filter((u) => u.active_flag !== false).map((u) => ({ value: u.email, label: u.name || u.email }));
  const labels: PicklistValue[] = facts.labels.map((l) => ({ value: l.label, label: l.label }));
  const fields = pipedriveFields.map((f) =>
    f.key === 'owner_id' ? { ...f, values: users } : f.key === 'label_ids' ? { ...f, values: labels } : { ...f },
  );
  for (const c of facts.custom) {
    const t = customType(c.field_type);
    if (!t) continue;
    const def: FieldDef = { key: c.key, label: c.name, type: t.type, ...(t.readOnly ? { readOnly: true } : {}) };
    if (c.options && (t.type === 'picklist' || t.type === 'multipicklist')) {
      def.values = c.options.map((o) => ({ value: String(o.id), label: o.label }));
    }
    fields.push(def);
  }
  return fields;
}

const blank = (value: string | null | undefined): string | null =>
  value === null || value === undefined || value.trim() === '' ? null : value.trim();

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Pipedrive has no ETag and its update_time has second resolution, so two changes in one second would carry
 * the same time. The version adds a digest of the person's content, which tells them apart.
 */
export function versionOf(p: WirePerson): string {
  return `${p.update_time}#${contentDigest(p)}`;
}

export function contentDigest(p: WirePerson): string {
  return createHash('sha1').update(stable(p)).digest('base64url').slice(0, 12);
}

/** Emails with the primary one first, which is the order of the slots. */
function orderedEmails(p: Pick<WirePerson, 'emails'>): WireLabeled[] {
  const list = (p.emails ?? []).filter((e) => blank(e.value) !== null);
  const primary = list.findIndex((e) => e.primary);
  return primary > 0 ? [list[primary], ...list.slice(0, primary), ...list.slice(primary + 1)] : list;
}

/** The phone a label slot shows: the primary one when it carries that label, otherwise the first. */
function phoneFor(p: Pick<WirePerson, 'phones'>, label: string): WireLabeled | undefined {
  const list = (p.phones ?? []).filter((x) => x.label === label && blank(x.value) !== null);
  return list.find((x) => x.primary) ?? list[0];
}

function customRead(def: CustomFieldDef, value: unknown): FieldValue {
  if (value === null || value === undefined || value === '') return null;
  switch (def.field_type) {
    case 'double':
    case 'int':
      return typeof value === 'number' ? value : Number.isFinite(Number(value)) ? Number(value) : null;
    case 'monetary': {
      const amount = typeof value === 'object' ? (value as { value?: unknown }).value : value;
      return typeof amount === 'number' ? amount : null;
    }
    case 'enum':
      return String(typeof value === 'object' ? (value as { id?: unknown }).id : value);
    case 'set': {
      const ids = Array.isArray(value) ? value : String(value).split(',');
      const list = ids.map((v) => String(typeof v === 'object' && v !== null ? (v as { id?: unknown }).id : v).trim()).filter(Boolean);
      return list.length ? list : null;
    }
    case 'address':
      return typeof value === 'object' ? blank((value as WireAddress).value) : blank(String(value));
    default:
      return typeof value === 'object' ? blank((value as { value?: string }).value) : blank(String(value));
  }
}

export interface ReadContext {
  facts: AccountFacts;
  orgNames: Map<number, string>;
}

export function toRecord(p: WirePerson, ctx: ReadContext): AppRecord {
  const fields: Record<string, FieldValue> = {};
  fields.first_name = blank(p.first_name);
  fields.last_name = blank(p.last_name);
  fields.org_id = p.org_id ? (ctx.orgNames.get(p.org_id) ?? null) : null;
  fields.job_title = blank(p.job_title);
  const emails = orderedEmails(p);
  EMAIL_KEYS.forEach((key, i) => (fields[key] = blank(emails[i]?.value)));
  for (const [key, label] of Object.entries(PHONE_KEYS)) fields[key] = blank(phoneFor(p, label)?.value);
  const address = p.postal_address ?? null;
  for (const [key, part] of Object.entries(ADDRESS_KEYS)) {
    let value = blank(address?.[part]);
    if (part === 'route' && value && blank(address?.street_number)) value = `${value} ${address!.street_number!.trim()}`;
    fields[key] = value;
  }
  fields.birthday = blank(p.birthday);
  fields.notes = blank(p.notes);
  const labelNames = (p.label_ids ?? []).map((id) => ctx.facts.labels.find((l) => l.id === id)?.label).filter((l): l is string => Boolean(l));
  fields.label_ids = labelNames.length ? labelNames : null;
  fields.owner_id = p.owner_id ? (ctx.facts.users.find((u) => u.id === p.owner_id)?.email ?? null) : null;
  fields.marketing_status = p.marketing_status === 'unsubscribed';
  for (const def of ctx.facts.custom) {
    if (!customType(def.field_type)) continue;
    fields[def.key] = customRead(def, p.custom_fields?.[def.key]);
  }
  return { id: String(p.id), version: versionOf(p), fields };
}

function asText(key: string, value: FieldValue): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return blank(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new MappingError(`${key} takes a single value, not a list`, key);
}

function customWrite(def: CustomFieldDef, value: FieldValue): unknown {
  if (value === null || (typeof value === 'string' && value.trim() === '') || (Array.isArray(value) && value.length === 0)) {
    // Pipedrive clears with null; an empty array is refused for multi-option fields.
    return null;
  }
  const optionId = (raw: string): number | string => {
    const option = def.options?.find((o) => String(o.id) === raw.trim()) ?? def.options?.find((o) => o.label.toLowerCase() === raw.trim().toLowerCase());
    if (!option) throw new MappingError(`${def.name} has no option "${raw}"`, def.key);
    return option.id;
  };
  switch (def.field_type) {
    case 'double':
    case 'int': {
      const n = typeof value === 'number' ? value : Number(String(value).trim());
      if (!Number.isFinite(n)) throw new MappingError(`${def.name} takes a number, not ${JSON.stringify(value)}`, def.key);
      return n;
    }
    case 'date': {
      const text = String(value).trim();
      const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? text.slice(0, 10) : null;
      if (!date) throw new MappingError(`${def.name} takes a date as YYYY-MM-DD, not ${JSON.stringify(value)}`, def.key);
      return date;
    }
    case 'enum':
      return optionId(asText(def.key, value) ?? '');
    case 'set':
      return asList(value).map(optionId);
    default:
      return asText(def.key, value);
  }
}

export interface WriteContext {
  facts: AccountFacts;
}

/**
 * The body that writes `fields`: only the properties they touch. Emails and phones are whole lists in
 * Pipedrive, so changing one slot rebuilds the list from `current`, keeping what the engine did not ask to
 * change (other slots, a sixth email, a second mobile number, their labels and which one is primary).
 * The organization is resolved by the connector (it may need to be created); here it is left out.
 */
export function toBody(fields: Record<string, FieldValue>, current: WirePerson | null, ctx: WriteContext): WireBody {
  const body: WireBody = {};
  const customByKey = new Map(ctx.facts.custom.map((c) => [c.key, c]));
  for (const key of Object.keys(fields)) {
    if (READ_ONLY_KEYS.has(key)) throw new MappingError(`Pipedrive's API does not write ${key}`, key);
    if (!STANDARD_KEYS.has(key) && !customByKey.has(key)) throw new MappingError(`Pipedrive persons have no field "${key}"`, key);
  }

  // v2 takes the full name only; Pipedrive derives first and last name from it.
  if ('first_name' in fields || 'last_name' in fields) {
    const first = 'first_name' in fields ? asText('first_name', fields.first_name) : blank(current?.first_name);
    const last = 'last_name' in fields ? asText('last_name', fields.last_name) : blank(current?.last_name);
    body.name = [first, last].filter(Boolean).join(' ');
  }

  if (EMAIL_KEYS.some((key) => key in fields)) {
    const existing = current ? orderedEmails(current) : [];
    const emails: WireLabeled[] = [];
    EMAIL_KEYS.forEach((key, i) => {
      const value = key in fields ? asText(key, fields[key]) : (existing[i]?.value ?? null);
      if (value !== null) emails.push({ value, label: existing[i]?.label ?? EMAIL_SLOT_LABELS[i], primary: false });
    });
    const all = [...emails, ...existing.slice(EMAIL_KEYS.length).map((e) => ({ ...e, primary: false }))];
    if (all.length) all[0].primary = true;
    body.emails = all;
  }

  if (Object.keys(PHONE_KEYS).some((key) => key in fields)) {
    const phones = (current?.phones ?? []).filter((x) => blank(x.value) !== null).map((x) => ({ ...x }));
    for (const [key, label] of Object.entries(PHONE_KEYS)) {
      if (!(key in fields)) continue;
      const value = asText(key, fields[key]);
      const shown = current ? phoneFor(current, label) : undefined;
      const at = shown ? phones.findIndex((x) => x.value === shown.value && x.label === label) : -1;
      if (value === null) {
        if (at >= 0) phones.splice(at, 1);
      } else if (at >= 0) phones[at] = { ...phones[at], value };
      else phones.push({ value, label, primary: false });
    }
    if (phones.length && !phones.some((x) => x.primary)) phones[0].primary = true;
    body.phones = phones;
  }

  if ('label_ids' in fields) {
    body.label_ids = asList(fields.label_ids).map((name) => {
      const label = ctx.facts.labels.find((l) => l.label.toLowerCase() === name.toLowerCase()) ?? ctx.facts.labels.find((l) => String(l.id) === name);
      if (!label) {
        throw new MappingError(`Pipedrive has no person label "${name}"; add it in Pipedrive (Settings > Data fields > Person > Labels)`, 'label_ids');
      }
      return label.id;
    });
  }

  if ('owner_id' in fields) {
    const owner = asText('owner_id', fields.owner_id);
    if (owner !== null) {
      const user =
        ctx.facts.users.find((u) => u.email.toLowerCase() === owner.toLowerCase() && u.active_flag !== false) ??
        ctx.facts.users.find((u) => String(u.id) === owner);
      if (!user) throw new MappingError(`no active Pipedrive user has the email ${owner}`, 'owner_id');
      body.owner_id = user.id;
    }
  }

  if ('marketing_status' in fields && asBoolean('marketing_status', fields.marketing_status)) body.marketing_status = 'unsubscribed';

  for (const [key, value] of Object.entries(fields)) {
    const def = customByKey.get(key);
    if (!def) continue;
    const t = customType(def.field_type);
    if (!t || t.readOnly) throw new MappingError(`Pipedrive's API does not write ${def.name} (${def.field_type})`, key);
    body.custom_fields = { ...body.custom_fields, [key]: customWrite(def, value) };
  }
  return body;
}
