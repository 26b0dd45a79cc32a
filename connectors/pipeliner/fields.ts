import type { AppRecord, CanonicalKey, FieldDef, FieldValue } from '../../sync/types';
import { MappingError } from '../values';

// Between Pipeliner's Contact JSON (REST API v100) and the flat records the engine works with. Catalog keys are
// Pipeliner's own api names, so a custom mapping names fields exactly as the Pipeliner admin sees them.

export { MappingError };

/** The part of a Contact the connector reads; the API returns more (relations as URIs, formatted_name...). */
export interface WireContact {
  id: string;
  is_deleted: boolean;
  modified: string;
  created?: string;
  revision: number;
  owner_id: string | null;
  unit_id: string | null;
  sharing_clients?: { client_id: string; role?: string }[];
  [field: string]: unknown;
}

export interface WireField {
  api_name: string;
  name: string;
  entity_name?: string;
  column_source?: string;
  is_required?: boolean;
  is_deleted?: boolean;
}

export const EMAIL_KEYS = ['email1', 'email2', 'email3', 'email4', 'email5'] as const;
export const PHONE_KEYS = ['phone1', 'phone2', 'phone3', 'phone4', 'phone5'] as const;
type PhoneKey = (typeof PHONE_KEYS)[number];

/** Labels of a space that kept Pipeliner's defaults; each space can rename its phone slots. */
export const DEFAULT_PHONE_LABELS: Record<PhoneKey, string> = {
  phone1: 'Phone',
  phone2: 'Mobile',
  phone3: 'Home Phone',
  phone4: 'Fax',
  phone5: 'Other Phone',
};

const TEXT_FIELDS: FieldDef[] = [
  { key: 'first_name', label: 'First Name', type: 'text', canonical: 'firstName' },
  { key: 'middle_name', label: 'Middle Name', type: 'text', canonical: 'middleName' },
  { key: 'last_name', label: 'Last Name', type: 'text', canonical: 'lastName' },
  // A salutation ("Dr.", "Ms."), not a job title: no canonical slot holds it.
  { key: 'title', label: 'Title', type: 'text' },
  { key: 'position', label: 'Position', type: 'text', canonical: 'jobTitle' },
  // Creates or links the contact's Account by name, the simplest way the API offers to set a company.
  { key: 'quick_account_name', label: 'Account', type: 'text', canonical: 'company' },
  ...EMAIL_KEYS.map((key, i): FieldDef => ({ key, label: i === 0 ? 'Email' : `Email ${i + 1}`, type: 'email', canonical: `email${i + 1}` as CanonicalKey })),
];

const ADDRESS_FIELDS: FieldDef[] = [
  { key: 'address', label: 'Address', type: 'address', canonical: 'street' },
  { key: 'city', label: 'City', type: 'address', canonical: 'city' },
  { key: 'state_province', label: 'State / Province', type: 'address', canonical: 'region' },
  { key: 'zip_code', label: 'ZIP Code', type: 'address', canonical: 'postalCode' },
  { key: 'country', label: 'Country', type: 'address', canonical: 'country' },
  { key: 'comments', label: 'Comments', type: 'text', canonical: 'notes' },
];

/** Owner and sales unit are relations: shown by the owner's email and the unit's name, set only through options. */
const RELATION_FIELDS: FieldDef[] = [
  { key: 'owner', label: 'Owner', type: 'text', canonical: 'owner', readOnly: true },
  { key: 'unit', label: 'Sales Unit', type: 'text', readOnly: true },
];

/** What a phone slot's label says it holds. */
export function phoneSlot(label: string): CanonicalKey {
  const l = label.toLowerCase();
  if (/mobile|cell|handy/.test(l)) return 'phoneMobile';
  if (/fax/.test(l)) return 'phoneFax';
  if (/home|private/.test(l)) return 'phoneHome';
  if (/other|alt/.test(l)) return 'phoneOther';
  return 'phoneWork';
}

/** Phone fields from the space's labels; a second slot with the same meaning has no canonical slot (no partner). */
export function phoneFields(labels: Record<PhoneKey, string>): FieldDef[] {
  const used = new Set<CanonicalKey>();
  return PHONE_KEYS.map((key) => {
    const slot = phoneSlot(labels[key]);
    const free = !used.has(slot);
    used.add(slot);
    return { key, label: labels[key], type: 'phone', ...(free ? { canonical: slot } : {}) };
  });
}

/** The catalog of a space that kept Pipeliner's default fields. */
export const pipelinerFields: FieldDef[] = [...TEXT_FIELDS, ...phoneFields(DEFAULT_PHONE_LABELS), ...ADDRESS_FIELDS, ...RELATION_FIELDS];

const CUSTOM_KEY = /^cf_[a-z0-9_]+$/;

/** The account's catalog from its Contact field metadata: its phone labels, its custom fields, what it requires. */
export function catalogFromMetadata(fields: WireField[]): FieldDef[] {
  const live = fields.filter((f) => !f.is_deleted && (f.entity_name === undefined || f.entity_name === 'Contact'));
  const byName = new Map(live.map((f) => [f.api_name, f]));
  const labels = { ...DEFAULT_PHONE_LABELS };
  for (const key of PHONE_KEYS) if (byName.get(key)?.name) labels[key] = byName.get(key)!.name;
  const required = (key: string) => (byName.get(key)?.is_required ? { requiredOnCreate: true } : {});
  const standard = [...TEXT_FIELDS, ...phoneFields(labels), ...ADDRESS_FIELDS].map((f) => ({ ...f, ...required(f.key) }));
  const custom: FieldDef[] = live
    .filter((f) => CUSTOM_KEY.test(f.api_name))
    .map((f) => ({ key: f.api_name, label: f.name, type: 'text', ...required(f.api_name) }));
  return [...standard, ...RELATION_FIELDS, ...custom];
}

const WRITABLE = new Set([...TEXT_FIELDS, ...PHONE_KEYS.map((key) => ({ key })), ...ADDRESS_FIELDS].map((f) => f.key));
export const isWritable = (key: string) => WRITABLE.has(key) || CUSTOM_KEY.test(key);

const blank = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);

export interface Relations {
  ownerEmail(id: string | null): string | null;
  unitName(id: string | null): string | null;
}

/** The contact on catalog keys; `customKeys` are the custom fields the account has. */
export function toRecord(contact: WireContact, relations: Relations, customKeys: string[] = []): AppRecord {
  const fields: Record<string, FieldValue> = {};
  for (const f of [...TEXT_FIELDS, ...ADDRESS_FIELDS]) fields[f.key] = blank(contact[f.key]);
  for (const key of PHONE_KEYS) fields[key] = blank(contact[key]);
  for (const key of customKeys) fields[key] = blank(contact[key]);
  fields.owner = relations.ownerEmail(contact.owner_id);
  fields.unit = relations.unitName(contact.unit_id);
  return { id: contact.id, version: String(contact.revision), fields };
}

/** The JSON body that writes `fields`: only those fields; an emptied field is sent as an empty string. */
export function toBody(fields: Record<string, FieldValue>): Record<string, string> {
  const body: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!isWritable(key)) throw new MappingError(`Pipeliner's Contact has no writable field "${key}"`, key);
    if (Array.isArray(value)) throw new MappingError(`${key} takes a single value, not a list`, key);
    body[key] = value === null ? '' : String(value).trim();
  }
  return body;
}
