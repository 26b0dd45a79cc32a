import type { AppRecord, FieldDef, FieldValue } from '../../sync/types';
import { MappingError } from '../values';

// Between the People API's Person resource and the flat records the engine works with. The wire shape is
// declared here, not imported from sandboxes/, as for any third-party API.
//
// Every Person field is a list of objects. The catalog reads the first name, organization, address, URL,
// birthday and biography; emails by position (five slots); phones by type. Writes rebuild each touched list
// from the current person so that what the engine does not map (a sixth email, a pager number, a second
// address, a label's metadata) stays as it was.

export { MappingError };

export type Item = Record<string, unknown>;

export interface Person {
  resourceName: string;
  etag?: string;
  metadata?: { deleted?: boolean; previousResourceNames?: string[]; sources?: { type?: string; id?: string; etag?: string }[] };
  names?: Item[];
  emailAddresses?: Item[];
  phoneNumbers?: Item[];
  organizations?: Item[];
  addresses?: Item[];
  biographies?: Item[];
  birthdays?: Item[];
  urls?: Item[];
  memberships?: { contactGroupMembership?: { contactGroupId?: string; contactGroupResourceName?: string } }[];
  [field: string]: unknown;
}

/** The person fields a connection reads; listings, sync tokens, gets and searches all ask for the same mask. */
export const PERSON_FIELDS = 'names,emailAddresses,phoneNumbers,organizations,addresses,biographies,birthdays,urls,memberships,metadata';

const NAME_KEYS = { 'names.givenName': 'givenName', 'names.middleName': 'middleName', 'names.familyName': 'familyName' } as const;
const ORG_KEYS = { 'organizations.name': 'name', 'organizations.title': 'title', 'organizations.department': 'department' } as const;
const EMAIL_KEYS = ['emailAddresses.0', 'emailAddresses.1', 'emailAddresses.2', 'emailAddresses.3', 'emailAddresses.4'] as const;
/** A slot's type when the person has no email there yet. */
const EMAIL_SLOT_TYPES = ['work', 'home', 'other', 'other', 'other'] as const;
const PHONE_KEYS = {
  'phoneNumbers.mobile': 'mobile',
  'phoneNumbers.work': 'work',
  'phoneNumbers.home': 'home',
  'phoneNumbers.other': 'other',
  'phoneNumbers.workFax': 'workFax',
} as const;
const ADDRESS_KEYS = {
  'addresses.streetAddress': 'streetAddress',
  'addresses.city': 'city',
  'addresses.region': 'region',
  'addresses.postalCode': 'postalCode',
  'addresses.country': 'country',
} as const;
export const TAGS_KEY = 'memberships';

export const googleFields: FieldDef[] = [
  { key: 'names.givenName', label: 'First name', type: 'text', canonical: 'firstName' },
  { key: 'names.middleName', label: 'Middle name', type: 'text', canonical: 'middleName' },
  { key: 'names.familyName', label: 'Last name', type: 'text', canonical: 'lastName' },
  { key: 'organizations.name', label: 'Company', type: 'text', canonical: 'company' },
  { key: 'organizations.title', label: 'Job title', type: 'text', canonical: 'jobTitle' },
  { key: 'organizations.department', label: 'Department', type: 'text', canonical: 'department' },
  ...EMAIL_KEYS.map((key, i): FieldDef => ({ key, label: `Email ${i + 1}`, type: 'email', canonical: `email${i + 1}` as FieldDef['canonical'] })),
  { key: 'phoneNumbers.mobile', label: 'Mobile', type: 'phone', canonical: 'phoneMobile' },
  { key: 'phoneNumbers.work', label: 'Work phone', type: 'phone', canonical: 'phoneWork' },
  { key: 'phoneNumbers.home', label: 'Home phone', type: 'phone', canonical: 'phoneHome' },
  { key: 'phoneNumbers.other', label: 'Other phone', type: 'phone', canonical: 'phoneOther' },
  { key: 'phoneNumbers.workFax', label: 'Work fax', type: 'phone', canonical: 'phoneFax' },
  { key: 'addresses.streetAddress', label: 'Street address', type: 'address', canonical: 'street' },
  { key: 'addresses.city', label: 'City', type: 'address', canonical: 'city' },
  { key: 'addresses.region', label: 'Region', type: 'address', canonical: 'region' },
  { key: 'addresses.postalCode', label: 'Postal code', type: 'address', canonical: 'postalCode' },
  { key: 'addresses.country', label: 'Country', type: 'address', canonical: 'country' },
  { key: 'urls.0', label: 'Website', type: 'text', canonical: 'website' },
  { key: 'birthdays', label: 'Birthday', type: 'date', canonical: 'birthday' },
  { key: 'biographies', label: 'Notes', type: 'text', canonical: 'notes' },
  // Google Contacts calls contact groups "labels"; any name may be written, a missing group is created.
  { key: TAGS_KEY, label: 'Labels', type: 'multipicklist', canonical: 'tags' },
];

const KNOWN_KEYS = new Set(googleFields.map((f) => f.key));

/** What the mapping needs to know of the account's contact groups. */
export interface GroupContext {
  /** The group that is the scope (myContacts when the account is not scoped to a label). */
  scopeGroupId: string;
  /** The name of a user group by id; undefined for system groups and unknown ids. */
  userGroupName(id: string): string | undefined;
}

const blank = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);

export const groupIdOf = (m: NonNullable<Person['memberships']>[number]): string | undefined =>
  m.contactGroupMembership?.contactGroupId ?? m.contactGroupMembership?.contactGroupResourceName?.replace(/^contactGroups\//, '');

export function memberOf(person: Person, groupId: string): boolean {
  return (person.memberships ?? []).some((m) => groupIdOf(m) === groupId);
}

function birthdayText(item: Item | undefined): string | null {
  if (!item) return null;
  const date = item.date as { year?: number; month?: number; day?: number } | undefined;
  if (date?.month && date.day) {
    const md = `${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;
    return date.year ? `${String(date.year).padStart(4, '0')}-${md}` : `--${md}`;
  }
  return blank(item.text);
}

const typeOf = (item: Item): string => String(item.type ?? '').toLowerCase();

export function toRecord(person: Person, groups: GroupContext): AppRecord {
  const fields: Record<string, FieldValue> = {};
  const name = person.names?.[0];
  for (const [key, part] of Object.entries(NAME_KEYS)) fields[key] = blank(name?.[part]);
  const org = person.organizations?.[0];
  for (const [key, part] of Object.entries(ORG_KEYS)) fields[key] = blank(org?.[part]);
  EMAIL_KEYS.forEach((key, i) => (fields[key] = blank(person.emailAddresses?.[i]?.value)));
  for (const [key, type] of Object.entries(PHONE_KEYS)) {
    fields[key] = blank(person.phoneNumbers?.find((p) => typeOf(p) === type.toLowerCase())?.value);
  }
  const address = person.addresses?.[0];
  for (const [key, part] of Object.entries(ADDRESS_KEYS)) fields[key] = blank(address?.[part]);
  fields['urls.0'] = blank(person.urls?.[0]?.value);
  fields.birthdays = birthdayText(person.birthdays?.[0]);
  fields.biographies = blank(person.biographies?.[0]?.value);
  const tags = (person.memberships ?? [])
    .map(groupIdOf)
    .filter((id): id is string => id !== undefined && id !== groups.scopeGroupId)
    .map((id) => groups.userGroupName(id))
    .filter((n): n is string => n !== undefined);
  fields[TAGS_KEY] = tags.length ? [...new Set(tags)] : null;
  return { id: person.resourceName, version: person.etag ?? '', fields };
}

function asText(key: string, value: FieldValue): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return blank(value)?.trim() ?? null;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new MappingError(`${key} takes a single value, not a list`, key);
}

/** The tag names of a tags value, trimmed and without duplicates (case-insensitively, as Google's label names). */
export function asTags(value: FieldValue): string[] {
  if (value === null || value === undefined) return [];
  const list = Array.isArray(value) ? value : String(value).split(',');
  const seen = new Set<string>();
  const out: string[] = [];
  for (const t of list.map((x) => String(x).trim()).filter(Boolean)) {
    if (seen.has(t.toLowerCase())) continue;
    seen.add(t.toLowerCase());
    out.push(t);
  }
  return out;
}

/** "1815-12-10", "--12-10" (no year) or "1815-12-10T…" into the People API's Date. */
function asBirthday(value: FieldValue): Item | null {
  const text = asText('birthdays', value);
  if (text === null) return null;
  const full = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|T)/.exec(text);
  const noYear = /^--(\d{1,2})-(\d{1,2})$/.exec(text);
  if (full) return { date: { year: Number(full[1]), month: Number(full[2]), day: Number(full[3]) } };
  if (noYear) return { date: { month: Number(noYear[1]), day: Number(noYear[2]) } };
  // Google keeps a free-form birthday as text, which is better than dropping what the other app holds.
  return { text };
}

/** An item as it may be sent back: without the output-only parts Google adds when it answers. */
function writable(item: Item | undefined): Item {
  const out: Item = {};
  for (const [k, v] of Object.entries(item ?? {})) {
    if (['metadata', 'formattedType', 'canonicalForm', 'displayName', 'displayNameLastFirst', 'formattedValue'].includes(k)) continue;
    out[k] = v;
  }
  return out;
}

const withoutEmpty = (item: Item): Item => Object.fromEntries(Object.entries(item).filter(([, v]) => v !== null && v !== undefined && v !== ''));

/** Whether an item holds something beyond its type. */
const hasContent = (item: Item): boolean => Object.keys(item).some((k) => k !== 'type');

export function unknownKeys(fields: Record<string, FieldValue>): string[] {
  return Object.keys(fields).filter((k) => !KNOWN_KEYS.has(k));
}

export interface PersonPatch {
  person: Partial<Person>;
  /** updatePersonFields: the Person fields the patch replaces */
  mask: string[];
}

/**
 * The Person body that writes `fields`, and its update mask. Each touched list is rebuilt from `current` (null
 * on create). `memberships` is the full membership list to write when tags are among the fields, computed by
 * the caller, which knows the account's groups.
 */
export function toPatch(fields: Record<string, FieldValue>, current: Person | null, memberships?: Item[]): PersonPatch {
  const unknown = unknownKeys(fields);
  if (unknown.length) throw new MappingError(`Google Contacts has no field "${unknown[0]}"`, unknown[0]);
  const person: Partial<Person> = {};
  const mask: string[] = [];
  const touched = (keys: readonly string[]) => keys.some((k) => k in fields);

  if (touched(Object.keys(NAME_KEYS))) {
    // unstructuredName would override the parts we write, so it goes when any part is written.
    const { unstructuredName: _unstructured, ...name } = writable(current?.names?.[0]);
    for (const [key, part] of Object.entries(NAME_KEYS)) if (key in fields) name[part] = asText(key, fields[key]);
    const kept = withoutEmpty(name);
    person.names = Object.keys(kept).length ? [kept] : [];
    mask.push('names');
  }

  if (touched(Object.keys(ORG_KEYS))) {
    const orgs = (current?.organizations ?? []).map(writable);
    const first = { ...(orgs[0] ?? {}) };
    for (const [key, part] of Object.entries(ORG_KEYS)) if (key in fields) first[part] = asText(key, fields[key]);
    const kept = withoutEmpty(first);
    person.organizations = [...(hasContent(kept) ? [kept] : []), ...orgs.slice(1)];
    mask.push('organizations');
  }

  if (touched(EMAIL_KEYS)) {
    const existing = (current?.emailAddresses ?? []).map(writable);
    const emails: Item[] = [];
    EMAIL_KEYS.forEach((key, i) => {
      const value = key in fields ? asText(key, fields[key]) : blank(existing[i]?.value);
      if (value !== null) emails.push({ ...(existing[i] ?? { type: EMAIL_SLOT_TYPES[i] }), value: value.trim() });
    });
    person.emailAddresses = [...emails, ...existing.slice(EMAIL_KEYS.length)];
    mask.push('emailAddresses');
  }

  if (touched(Object.keys(PHONE_KEYS))) {
    const phones = (current?.phoneNumbers ?? []).map(writable);
    for (const [key, type] of Object.entries(PHONE_KEYS)) {
      if (!(key in fields)) continue;
      const value = asText(key, fields[key]);
      const at = phones.findIndex((p) => typeOf(p) === type.toLowerCase());
      if (value === null) {
        if (at >= 0) phones.splice(at, 1);
      } else if (at >= 0) phones[at] = { ...phones[at], value };
      else phones.push({ type, value });
    }
    person.phoneNumbers = phones;
    mask.push('phoneNumbers');
  }

  if (touched(Object.keys(ADDRESS_KEYS))) {
    const addresses = (current?.addresses ?? []).map(writable);
    const first: Item = { ...(addresses[0] ?? { type: 'work' }) };
    for (const [key, part] of Object.entries(ADDRESS_KEYS)) if (key in fields) first[part] = asText(key, fields[key]);
    // A country code left from before would contradict a country written now.
    if ('addresses.country' in fields) delete first.countryCode;
    const kept = withoutEmpty(first);
    person.addresses = [...(hasContent(kept) ? [kept] : []), ...addresses.slice(1)];
    mask.push('addresses');
  }

  if ('urls.0' in fields) {
    const urls = (current?.urls ?? []).map(writable);
    const value = asText('urls.0', fields['urls.0']);
    person.urls = [...(value !== null ? [{ ...(urls[0] ?? { type: 'work' }), value }] : []), ...urls.slice(1)];
    mask.push('urls');
  }

  if ('birthdays' in fields) {
    const birthday = asBirthday(fields.birthdays);
    person.birthdays = birthday ? [birthday] : [];
    mask.push('birthdays');
  }

  if ('biographies' in fields) {
    const value = asText('biographies', fields.biographies);
    person.biographies = value !== null ? [{ value, contentType: 'TEXT_PLAIN' }] : [];
    mask.push('biographies');
  }

  if (TAGS_KEY in fields && memberships) {
    person.memberships = memberships as Person['memberships'];
    mask.push('memberships');
  }
  return { person, mask };
}
