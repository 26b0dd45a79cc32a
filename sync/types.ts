// Plain data shared by the pure core, the connectors and the activities.
// Nothing here performs I/O: every type must survive JSON (no Map, Set or Date).

export type Side = 'a' | 'b';
export const otherSide = (side: Side): Side => (side === 'a' ? 'b' : 'a');

export type FieldType =
  | 'text'
  | 'email'
  | 'phone'
  | 'picklist'
  | 'multipicklist'
  | 'date'
  | 'number'
  | 'boolean'
  | 'address';

/** A field value as the engine sees it: a string, number or boolean; a list for multi-picklists and tags. */
export type FieldValue = string | number | boolean | string[] | null;

/**
 * The neutral slots of the canonical contact. An app's catalog field names the slot it fills, which is how
 * default mappings between any two apps are derived: fields of two catalogs that fill the same slot pair up.
 */
export const CANONICAL_KEYS = [
  'firstName',
  'lastName',
  'middleName',
  'company',
  'jobTitle',
  'department',
  'email1',
  'email2',
  'email3',
  'email4',
  'email5',
  'phoneMobile',
  'phoneWork',
  'phoneHome',
  'phoneOther',
  'phoneFax',
  'street',
  'city',
  'region',
  'postalCode',
  'country',
  'website',
  'birthday',
  'notes',
  'tags',
  'owner',
  'unsubscribed',
] as const;
export type CanonicalKey = (typeof CANONICAL_KEYS)[number];

/** The canonical contact: the engine's neutral model, one value per slot, plus custom fields. */
export type CanonicalContact = Partial<Record<CanonicalKey, FieldValue>> & {
  custom?: Record<string, FieldValue>;
};

export interface PicklistValue {
  value: string;
  label: string;
}

/** One entry of an app's field catalog. */
export interface FieldDef {
  /** The app's own key for the field, e.g. "email_1" or "phone1". */
  key: string;
  label: string;
  type: FieldType;
  /** The canonical slot this field fills; custom fields have none. */
  canonical?: CanonicalKey;
  /** Allowed values of a picklist or multi-picklist. */
  values?: PicklistValue[];
  requiredOnCreate?: boolean;
  /** Read-only fields are scanned (for rules and matching) but never written. */
  readOnly?: boolean;
}

/** A contact as one app holds it, flattened onto that app's catalog keys. */
export interface AppRecord {
  id: string;
  /** ETag, version number or modification time: opaque to the engine, handed back on writes. */
  version: string;
  fields: Record<string, FieldValue>;
}

/** A record seen on one side of a connection: the current state, or the fact that it was deleted. */
export interface Snapshot {
  side: Side;
  id: string;
  version: string;
  fields: Record<string, FieldValue>;
  deleted: boolean;
}
