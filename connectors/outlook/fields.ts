import type { AppRecord, FieldDef, FieldValue } from '../../sync/types';
import type { Contact, EmailAddress, PhysicalAddress } from '@microsoft/microsoft-graph-types';
import { MappingError, asList } from '../values';

// Between Microsoft Graph's contact JSON and the flat records the engine works with. The wire shape is declared
// here rather than imported from sandboxes/outlook, as it would be for any third-party API.
//
// Catalog keys are Graph's own property paths (businessPhones[1], businessAddress.city), so a user reading a
// mapping sees the names the Graph documentation uses. Slots follow the usual Outlook sync layout: three email
// addresses, two business phones (the second one standing for "other"), one mobile, one home phone and the
// business address.

export { MappingError };

/** Graph's EmailAddress and PhysicalAddress, as @microsoft/microsoft-graph-types publishes them. */
export type GraphEmail = Pick<EmailAddress, 'name' | 'address'>;
export type GraphAddress = Pick<PhysicalAddress, 'street' | 'city' | 'state' | 'postalCode' | 'countryOrRegion'>;

/** The contact properties the connector reads and writes, typed by Graph's own Contact resource. */
type ContactProperty =
  | 'changeKey'
  | 'parentFolderId'
  | 'createdDateTime'
  | 'lastModifiedDateTime'
  | 'displayName'
  | 'givenName'
  | 'middleName'
  | 'surname'
  | 'companyName'
  | 'jobTitle'
  | 'department'
  | 'businessHomePage'
  | 'personalNotes'
  | 'mobilePhone'
  | 'categories';

/**
 * A contact as Graph sends it. Graph's types make every property nullable and `id` optional (Entity); the
 * service always sends an id, and the lists the connector reads as lists. The OData annotation `@odata.etag` is
 * not in the package (annotations are not properties), so it is declared here.
 */
export type GraphContact = Pick<Contact, ContactProperty> & {
  '@odata.etag'?: string;
  id: string;
  emailAddresses?: GraphEmail[];
  businessPhones?: string[];
  homePhones?: string[];
  businessAddress?: GraphAddress | null;
};
export type GraphPatch = Partial<Omit<GraphContact, 'id' | '@odata.etag' | 'changeKey' | 'parentFolderId' | 'createdDateTime' | 'lastModifiedDateTime'>>;

const TEXT_KEYS = ['givenName', 'middleName', 'surname', 'companyName', 'jobTitle', 'department', 'businessHomePage', 'personalNotes', 'mobilePhone'] as const;
const EMAIL_KEYS = ['emailAddresses[0]', 'emailAddresses[1]', 'emailAddresses[2]'] as const;
const BUSINESS_PHONE_KEYS = ['businessPhones[0]', 'businessPhones[1]'] as const;
const HOME_PHONE_KEY = 'homePhones[0]';
const ADDRESS_PARTS = ['street', 'city', 'state', 'postalCode', 'countryOrRegion'] as const;
const ADDRESS_KEYS = ADDRESS_PARTS.map((part) => `businessAddress.${part}`);
const NAME_KEYS = ['givenName', 'middleName', 'surname'] as const;

// Outlook holds up to three email addresses per contact; a fourth is refused by the app.
const MAX_EMAILS = 3;

export const outlookFields: FieldDef[] = [
  { key: 'givenName', label: 'First name', type: 'text', canonical: 'firstName' },
  { key: 'middleName', label: 'Middle name', type: 'text', canonical: 'middleName' },
  { key: 'surname', label: 'Last name', type: 'text', canonical: 'lastName' },
  { key: 'companyName', label: 'Company', type: 'text', canonical: 'company' },
  { key: 'jobTitle', label: 'Job title', type: 'text', canonical: 'jobTitle' },
  { key: 'department', label: 'Department', type: 'text', canonical: 'department' },
  { key: 'emailAddresses[0]', label: 'Email', type: 'email', canonical: 'email1' },
  { key: 'emailAddresses[1]', label: 'Email 2', type: 'email', canonical: 'email2' },
  { key: 'emailAddresses[2]', label: 'Email 3', type: 'email', canonical: 'email3' },
  { key: 'businessPhones[0]', label: 'Business phone', type: 'phone', canonical: 'phoneWork' },
  // Graph v1.0 has no "other" phone; the second business number is where Outlook sync tools put it.
  { key: 'businessPhones[1]', label: 'Business phone 2', type: 'phone', canonical: 'phoneOther' },
  { key: 'mobilePhone', label: 'Mobile phone', type: 'phone', canonical: 'phoneMobile' },
  { key: 'homePhones[0]', label: 'Home phone', type: 'phone', canonical: 'phoneHome' },
  { key: 'businessAddress.street', label: 'Business street', type: 'address', canonical: 'street' },
  { key: 'businessAddress.city', label: 'Business city', type: 'address', canonical: 'city' },
  { key: 'businessAddress.state', label: 'Business state/province', type: 'address', canonical: 'region' },
  { key: 'businessAddress.postalCode', label: 'Business ZIP/postal code', type: 'address', canonical: 'postalCode' },
  { key: 'businessAddress.countryOrRegion', label: 'Business country/region', type: 'address', canonical: 'country' },
  { key: 'businessHomePage', label: 'Web page', type: 'text', canonical: 'website' },
  { key: 'personalNotes', label: 'Notes', type: 'text', canonical: 'notes' },
  // Outlook categories are free strings on the contact (the master list only colours them), so no fixed values.
  { key: 'categories', label: 'Categories', type: 'multipicklist', canonical: 'tags' },
];

const KNOWN_KEYS = new Set(outlookFields.map((f) => f.key));

const blank = (value: string | null | undefined): string | null =>
  value === null || value === undefined || value.trim() === '' ? null : value;

/** The version the engine holds: the change key, which Outlook renews on every change of the item. */
export const versionOf = (contact: GraphContact): string => contact.changeKey ?? contact['@odata.etag'] ?? '';

export function toRecord(contact: GraphContact): AppRecord {
  const fields: Record<string, FieldValue> = {};
  for (const key of TEXT_KEYS) fields[key] = blank(contact[key]);
  EMAIL_KEYS.forEach((key, i) => (fields[key] = blank(contact.emailAddresses?.[i]?.address)));
  BUSINESS_PHONE_KEYS.forEach((key, i) => (fields[key] = blank(contact.businessPhones?.[i])));
  fields[HOME_PHONE_KEY] = blank(contact.homePhones?.[0]);
  ADDRESS_PARTS.forEach((part, i) => (fields[ADDRESS_KEYS[i]] = blank(contact.businessAddress?.[part])));
  const categories = contact.categories ?? [];
  fields.categories = categories.length > 0 ? [...categories] : null;
  return { id: contact.id, version: versionOf(contact), fields };
}

function asText(key: string, value: FieldValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return blank(value)?.trim() ?? null;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new MappingError(`${key} takes a single value, not a list`, key);
}

/** Whether writing these fields needs the contact's current state, because Graph stores them in lists or objects. */
export function needsCurrent(fields: Record<string, FieldValue>): boolean {
  return Object.keys(fields).some(
    (key) =>
      (EMAIL_KEYS as readonly string[]).includes(key) ||
      (BUSINESS_PHONE_KEYS as readonly string[]).includes(key) ||
      key === HOME_PHONE_KEY ||
      ADDRESS_KEYS.includes(key) ||
      (NAME_KEYS as readonly string[]).includes(key),
  );
}

/** The name Outlook would file a contact under when nobody typed one: the name parts, else company, else email. */
export function composeDisplayName(c: Pick<GraphContact, 'givenName' | 'middleName' | 'surname' | 'companyName' | 'emailAddresses'>): string {
  const name = [c.givenName, c.middleName, c.surname].map((p) => blank(p)).filter(Boolean).join(' ');
  return name || blank(c.companyName) || blank(c.emailAddresses?.[0]?.address) || '';
}

/**
 * The PATCH (or POST) body that writes `fields`: only the properties they touch. Graph replaces lists and complex
 * properties whole, so changing one slot rebuilds the property from `current` and keeps everything else in it
 * (other slots, a third business phone, the address parts not mapped). A cleared slot closes the gap, as the
 * list has no holes.
 *
 * displayName is sent whenever a name part changes: Outlook may regenerate it after other edits, so a name the
 * user typed is kept as it is, and one that merely followed the name parts follows the new ones.
 */
export function toPatch(fields: Record<string, FieldValue>, current: GraphContact | null): GraphPatch {
  const patch: GraphPatch = {};
  for (const key of Object.keys(fields)) {
    if (!KNOWN_KEYS.has(key)) throw new MappingError(`Outlook contacts have no field "${key}"`, key);
  }
  for (const key of TEXT_KEYS) if (key in fields) patch[key] = asText(key, fields[key]);
  if ('categories' in fields) patch.categories = asList(fields.categories);

  if (EMAIL_KEYS.some((key) => key in fields)) {
    const existing = current?.emailAddresses ?? [];
    const emails: GraphEmail[] = [];
    EMAIL_KEYS.forEach((key, i) => {
      const was = existing[i];
      const address = key in fields ? asText(key, fields[key]) : blank(was?.address);
      if (address === null) return;
      // The name shown beside an address: keep one the user chose, follow the address when it only repeated it.
      const keepName = was?.name && blank(was.name) !== blank(was.address);
      emails.push({ name: keepName ? was.name : address, address });
    });
    patch.emailAddresses = [...emails, ...existing.slice(MAX_EMAILS)];
  }

  if (BUSINESS_PHONE_KEYS.some((key) => key in fields)) {
    const existing = current?.businessPhones ?? [];
    const phones: string[] = [];
    BUSINESS_PHONE_KEYS.forEach((key, i) => {
      const value = key in fields ? asText(key, fields[key]) : blank(existing[i]);
      if (value !== null) phones.push(value);
    });
    patch.businessPhones = [...phones, ...existing.slice(BUSINESS_PHONE_KEYS.length)];
  }

  if (HOME_PHONE_KEY in fields) {
    const existing = current?.homePhones ?? [];
    const value = asText(HOME_PHONE_KEY, fields[HOME_PHONE_KEY]);
    patch.homePhones = [...(value === null ? [] : [value]), ...existing.slice(1)];
  }

  if (ADDRESS_KEYS.some((key) => key in fields)) {
    const address: GraphAddress = { ...current?.businessAddress };
    ADDRESS_PARTS.forEach((part, i) => {
      if (ADDRESS_KEYS[i] in fields) address[part] = asText(ADDRESS_KEYS[i], fields[ADDRESS_KEYS[i]]);
    });
    patch.businessAddress = address;
  }

  if (NAME_KEYS.some((key) => key in fields) || current === null) {
    const before = current ? composeDisplayName(current) : '';
    const typed = current && blank(current.displayName) !== null && current.displayName !== before;
    patch.displayName = typed ? current.displayName : composeDisplayName({ ...current, ...patch });
  }
  return patch;
}
