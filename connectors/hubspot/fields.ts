import type { SimplePublicObject } from '@hubspot/api-client/lib/codegen/crm/contacts/models/all';
import type { PublicOwner } from '@hubspot/api-client/lib/codegen/crm/owners/models/all';
import type { Option, Property, PropertyModificationMetadata } from '@hubspot/api-client/lib/codegen/crm/properties/models/all';
import type { Assert, OnlyVendorKeys } from '../kit/wire';
import type { AppRecord, FieldDef, FieldType, FieldValue } from '../../sync/types';
import { MappingError } from '../values';

// Between HubSpot's contact objects (every property value a string or null) and the flat records the engine
// works with. Catalog keys are HubSpot's own property names, so a record's fields are the properties themselves,
// typed: booleans for "bool" properties, numbers for "number" ones, lists for multi-checkboxes and tags.

export { MappingError };

export interface WireContact {
  id: string;
  properties: Record<string, string | null | undefined>;
  createdAt: string;
  updatedAt: string;
  archived?: boolean;
  archivedAt?: string;
}

export interface WireOption {
  label: string;
  value: string;
  hidden?: boolean;
}

export interface WireProperty {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  options?: WireOption[];
  hubspotDefined?: boolean;
  calculated?: boolean;
  modificationMetadata?: { readOnlyValue?: boolean };
}

export interface WireOwner {
  id: string;
  email: string;
  firstName?: string;
  lastName?: string;
  userId?: number;
}

// Checked against HubSpot's own models (@hubspot/api-client): a field these declarations name that the models
// lack fails the typecheck. The declarations stay the connector's own: HubSpot sends property values as
// strings or null, which the models type loosely.
export type WireContactChecked = Assert<OnlyVendorKeys<WireContact, SimplePublicObject>>;
export type WirePropertyChecked = Assert<OnlyVendorKeys<WireProperty, Property>>;
export type WireOptionChecked = Assert<OnlyVendorKeys<WireOption, Option>>;
export type WireMetadataChecked = Assert<OnlyVendorKeys<NonNullable<WireProperty['modificationMetadata']>, PropertyModificationMetadata>>;
export type WireOwnerChecked = Assert<OnlyVendorKeys<WireOwner, PublicOwner>>;

/**
 * HubSpot's standard contact properties Rapport syncs. HubSpot requires no property on create, so none is
 * marked required. Notes are engagements in HubSpot, not a property, so there is no notes field; extra emails
 * live in hs_additional_emails, which the API does not let us set (read-only here, and part of no slot).
 */
export const hubspotStandardFields: FieldDef[] = [
  { key: 'firstname', label: 'First Name', type: 'text', canonical: 'firstName' },
  { key: 'lastname', label: 'Last Name', type: 'text', canonical: 'lastName' },
  { key: 'email', label: 'Email', type: 'email', canonical: 'email1' },
  { key: 'hs_additional_emails', label: 'Additional email addresses', type: 'text', readOnly: true },
  { key: 'company', label: 'Company Name', type: 'text', canonical: 'company' },
  { key: 'jobtitle', label: 'Job Title', type: 'text', canonical: 'jobTitle' },
  { key: 'mobilephone', label: 'Mobile Phone Number', type: 'phone', canonical: 'phoneMobile' },
  { key: 'phone', label: 'Phone Number', type: 'phone', canonical: 'phoneWork' },
  { key: 'fax', label: 'Fax Number', type: 'phone', canonical: 'phoneFax' },
  { key: 'address', label: 'Street Address', type: 'address', canonical: 'street' },
  { key: 'city', label: 'City', type: 'address', canonical: 'city' },
  { key: 'state', label: 'State/Region', type: 'address', canonical: 'region' },
  { key: 'zip', label: 'Postal Code', type: 'address', canonical: 'postalCode' },
  { key: 'country', label: 'Country/Region', type: 'address', canonical: 'country' },
  { key: 'website', label: 'Website URL', type: 'text', canonical: 'website' },
  // The owner is an id in HubSpot; the catalog read from the account lists owners with their emails as labels,
  // which is how owner values meet other apps' owner emails.
  { key: 'hubspot_owner_id', label: 'Contact owner', type: 'picklist', canonical: 'owner' },
  // HubSpot computes the opt-out from subscription statuses; the API does not accept it as a written value.
  { key: 'hs_email_optout', label: 'Unsubscribed from all email', type: 'boolean', canonical: 'unsubscribed', readOnly: true },
];

/** Properties that are never written (HubSpot computes them), whatever the account's metadata says. */
export const NEVER_WRITTEN = new Set(['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_email_optout', 'hs_additional_emails']);

/** How one catalog field's values travel: its type, and for choices the option values and labels. */
export interface FieldCodec {
  def: FieldDef;
  /** HubSpot's multi-checkbox: values joined with ";". */
  multi: boolean;
  /** option value → label, for tags (the engine speaks tag names, HubSpot stores option values). */
  labels?: Map<string, string>;
}

export function fieldTypeOf(p: WireProperty): FieldType {
  if (p.type === 'bool') return 'boolean';
  if (p.type === 'number') return 'number';
  if (p.type === 'date' || p.type === 'datetime') return 'date';
  if (p.type === 'enumeration') return p.fieldType === 'checkbox' ? 'multipicklist' : 'picklist';
  if (p.fieldType === 'phonenumber') return 'phone';
  return 'text';
}

const blank = (v: string | null | undefined): string | null => (v === null || v === undefined || v.trim() === '' ? null : v);

/** Epoch milliseconds of a HubSpot time (ISO or epoch-ms string); the record's version. */
export function millis(value: string | null | undefined): number {
  if (!value) return 0;
  const n = Number(value);
  return Number.isFinite(n) ? n : Date.parse(value);
}

export function toRecord(contact: WireContact, codecs: FieldCodec[]): AppRecord {
  const fields: Record<string, FieldValue> = {};
  for (const codec of codecs) {
    const { key, type } = codec.def;
    const raw = blank(contact.properties[key]);
    if (raw === null) {
      fields[key] = type === 'boolean' ? false : null;
    } else if (codec.multi) {
      const list = raw.split(';').filter((v) => v !== '').map((v) => codec.labels?.get(v) ?? v);
      fields[key] = list.length > 0 ? list : null;
    } else if (type === 'boolean') {
      fields[key] = raw === 'true';
    } else if (type === 'number') {
      const n = Number(raw);
      fields[key] = Number.isFinite(n) ? n : raw;
    } else {
      fields[key] = raw;
    }
  }
  return { id: contact.id, version: String(millis(contact.updatedAt)), fields };
}

/** The value HubSpot takes for a property: a string; "" clears it. Tags go by label and come back as option values. */
export function toWire(key: string, value: FieldValue, codec: FieldCodec | undefined): string {
  if (!codec) throw new MappingError(`HubSpot has no contact property "${key}" in this account`, key);
  if (codec.def.readOnly || NEVER_WRITTEN.has(key)) throw new MappingError(`${codec.def.label} (${key}) cannot be written through the API`, key);
  if (value === null) return '';
  if (codec.multi) {
    const list = Array.isArray(value) ? value : String(value).split(/[;,]/);
    const byLabel = new Map([...(codec.labels ?? new Map<string, string>())].map(([v, l]) => [l.toLowerCase(), v]));
    const values = list.map((t) => t.trim()).filter((t) => t !== '').map((t) => byLabel.get(t.toLowerCase()) ?? t);
    return [...new Set(values)].join(';');
  }
  if (Array.isArray(value)) throw new MappingError(`${key} takes a single value, not a list`, key);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value).trim() === '' ? '' : String(value);
}

export function toProperties(fields: Record<string, FieldValue>, codecs: Map<string, FieldCodec>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = toWire(key, value, codecs.get(key));
  return out;
}

/** Catalog field for an account property that is not one of the standard ones (custom fields have no slot). */
export function customField(p: WireProperty): FieldDef {
  const type = fieldTypeOf(p);
  const readOnly = Boolean(p.modificationMetadata?.readOnlyValue || p.calculated);
  const def: FieldDef = { key: p.name, label: p.label, type, ...(readOnly ? { readOnly } : {}) };
  if ((type === 'picklist' || type === 'multipicklist') && p.options?.length) {
    def.values = p.options.filter((o) => !o.hidden).map((o) => ({ value: o.value, label: o.label }));
  }
  return def;
}
