import type { AppRecord, FieldDef, FieldValue } from '../../sync/types';
import { MappingError, asBoolean, asList } from '../values';

// Between the Sandbox app's JSON and the flat records the engine works with. The connector declares the app's
// wire shape itself rather than importing sandboxes/, exactly as it would for a third-party API.

export { MappingError };

export interface WireEmail {
  type: string;
  value: string;
}
export interface WirePhone {
  type: string;
  value: string;
}
export interface WireAddress {
  street: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
}
export interface WireContact {
  id: string;
  version: number;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  job_title: string | null;
  emails: WireEmail[];
  phones: WirePhone[];
  address: WireAddress | null;
  notes: string | null;
  tags: string[];
  owner: string | null;
  unsubscribed: boolean;
  created_at: string;
  updated_at: string;
}
export type WirePatch = Partial<Omit<WireContact, 'id' | 'version' | 'created_at' | 'updated_at'>>;

const TEXT_KEYS = ['first_name', 'last_name', 'company', 'job_title', 'notes', 'owner'] as const;
const EMAIL_KEYS = ['email_1', 'email_2', 'email_3'] as const;
/** A slot's type when the app holds no email there yet: the first address is usually the work one. */
const EMAIL_SLOT_TYPES = ['work', 'home', 'other'] as const;
const PHONE_KEYS = { phone_mobile: 'mobile', phone_work: 'work', phone_home: 'home', phone_other: 'other' } as const;
const ADDRESS_KEYS = ['street', 'city', 'region', 'postal_code', 'country'] as const;

export const sandboxFields: FieldDef[] = [
  { key: 'first_name', label: 'First name', type: 'text', canonical: 'firstName' },
  { key: 'last_name', label: 'Last name', type: 'text', canonical: 'lastName' },
  { key: 'company', label: 'Company', type: 'text', canonical: 'company' },
  { key: 'job_title', label: 'Job title', type: 'text', canonical: 'jobTitle' },
  { key: 'email_1', label: 'Email 1', type: 'email', canonical: 'email1' },
  { key: 'email_2', label: 'Email 2', type: 'email', canonical: 'email2' },
  { key: 'email_3', label: 'Email 3', type: 'email', canonical: 'email3' },
  { key: 'phone_mobile', label: 'Mobile phone', type: 'phone', canonical: 'phoneMobile' },
  { key: 'phone_work', label: 'Work phone', type: 'phone', canonical: 'phoneWork' },
  { key: 'phone_home', label: 'Home phone', type: 'phone', canonical: 'phoneHome' },
  { key: 'phone_other', label: 'Other phone', type: 'phone', canonical: 'phoneOther' },
  { key: 'street', label: 'Street', type: 'address', canonical: 'street' },
  { key: 'city', label: 'City', type: 'address', canonical: 'city' },
  { key: 'region', label: 'Region', type: 'address', canonical: 'region' },
  { key: 'postal_code', label: 'Postal code', type: 'address', canonical: 'postalCode' },
  { key: 'country', label: 'Country', type: 'address', canonical: 'country' },
  { key: 'notes', label: 'Notes', type: 'text', canonical: 'notes' },
  // Tags are free-form in the Sandbox, so the multi-picklist has no fixed values.
  { key: 'tags', label: 'Tags', type: 'multipicklist', canonical: 'tags' },
  { key: 'owner', label: 'Owner', type: 'text', canonical: 'owner' },
  { key: 'unsubscribed', label: 'Unsubscribed', type: 'boolean', canonical: 'unsubscribed', readOnly: false },
];

/** Which catalog key stands for an app property in the app's "required" metadata. */
export const REQUIRED_PROPERTY_KEYS: Record<string, string> = {
  first_name: 'first_name',
  last_name: 'last_name',
  company: 'company',
  job_title: 'job_title',
  emails: 'email_1',
  notes: 'notes',
  owner: 'owner',
};

const KNOWN_KEYS = new Set(sandboxFields.map((f) => f.key));

const blank = (value: string | null | undefined): string | null =>
  value === null || value === undefined || value.trim() === '' ? null : value;

export function toRecord(contact: WireContact): AppRecord {
  const fields: Record<string, FieldValue> = {};
  for (const key of TEXT_KEYS) fields[key] = blank(contact[key]);
  EMAIL_KEYS.forEach((key, i) => (fields[key] = blank(contact.emails[i]?.value)));
  for (const [key, type] of Object.entries(PHONE_KEYS)) {
    fields[key] = blank(contact.phones.find((p) => p.type === type)?.value);
  }
  for (const key of ADDRESS_KEYS) fields[key] = blank(contact.address?.[key]);
  fields.tags = contact.tags.length > 0 ? [...contact.tags] : null;
  fields.unsubscribed = contact.unsubscribed;
  return { id: contact.id, version: String(contact.version), fields };
}

function asText(key: string, value: FieldValue): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return blank(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new MappingError(`${key} takes a single value, not a list`, key);
}

/** Whether writing these fields needs the contact's current state, because the app stores them inside lists. */
export function needsCurrent(fields: Record<string, FieldValue>): boolean {
  return Object.keys(fields).some(
    (key) => (EMAIL_KEYS as readonly string[]).includes(key) || key in PHONE_KEYS || (ADDRESS_KEYS as readonly string[]).includes(key),
  );
}

/**
 * The body that writes `fields`: only the properties they touch. Emails, phones and the address are whole
 * properties in the app, so changing one slot rebuilds the property from `current`, keeping everything the
 * engine did not ask to change (other slots, a fourth email, a fax number, other address parts).
 * Clearing an email slot closes the gap: the app's list has no holes, so later emails move up a slot.
 */
export function toPatch(fields: Record<string, FieldValue>, current: WireContact | null): WirePatch {
  const patch: WirePatch = {};
  for (const key of Object.keys(fields)) {
    if (!KNOWN_KEYS.has(key)) throw new MappingError(`the Sandbox app has no field "${key}"`, key);
  }
  for (const key of TEXT_KEYS) if (key in fields) patch[key] = asText(key, fields[key]);
  if ('tags' in fields) patch.tags = asList(fields.tags);
  if ('unsubscribed' in fields) patch.unsubscribed = asBoolean('unsubscribed', fields.unsubscribed);

  if (EMAIL_KEYS.some((key) => key in fields)) {
    const existing = current?.emails ?? [];
    const emails: WireEmail[] = [];
    EMAIL_KEYS.forEach((key, i) => {
      const value = key in fields ? asText(key, fields[key]) : (existing[i]?.value ?? null);
      if (value !== null) emails.push({ type: existing[i]?.type ?? EMAIL_SLOT_TYPES[i], value: value.trim() });
    });
    patch.emails = [...emails, ...existing.slice(EMAIL_KEYS.length)];
  }

  if (Object.keys(PHONE_KEYS).some((key) => key in fields)) {
    const phones = (current?.phones ?? []).map((p) => ({ ...p }));
    for (const [key, type] of Object.entries(PHONE_KEYS)) {
      if (!(key in fields)) continue;
      const value = asText(key, fields[key]);
      const at = phones.findIndex((p) => p.type === type);
      if (value === null) {
        if (at >= 0) phones.splice(at, 1);
      } else if (at >= 0) phones[at] = { type, value };
      else phones.push({ type, value });
    }
    patch.phones = phones;
  }

  if (ADDRESS_KEYS.some((key) => key in fields)) {
    const address: WireAddress = { street: null, city: null, region: null, postal_code: null, country: null, ...current?.address };
    for (const key of ADDRESS_KEYS) if (key in fields) address[key] = asText(key, fields[key]);
    patch.address = ADDRESS_KEYS.every((key) => address[key] === null) ? null : address;
  }
  return patch;
}
