import type { CanonicalKey, FieldDef, FieldType } from './types';

// Questions asked of a field catalog: which fields may be paired, which field plays a role (tags, owner,
// unsubscribed, emails), and how two picklists' values line up.

/** Types a field of each type may be paired with; text is the lingua franca, booleans pair only with booleans. */
const COMPATIBLE: Record<FieldType, readonly FieldType[]> = {
  text: ['text', 'email', 'phone', 'picklist', 'multipicklist', 'date', 'number', 'address'],
  email: ['email', 'text'],
  phone: ['phone', 'text'],
  picklist: ['picklist', 'text'],
  multipicklist: ['multipicklist', 'text'],
  date: ['date', 'text'],
  number: ['number', 'text'],
  boolean: ['boolean'],
  address: ['address', 'text'],
};

export function compatibleTypes(a: FieldType, b: FieldType): boolean {
  return COMPATIBLE[a]?.includes(b) ?? false;
}

/** null when the two fields may be mapped; otherwise the message shown to the user, naming both fields and types. */
export function checkPair(fieldA: FieldDef, fieldB: FieldDef): string | null {
  if (compatibleTypes(fieldA.type, fieldB.type)) return null;
  return `Field ${fieldA.label} (${fieldA.type}) is not compatible with field ${fieldB.label} (${fieldB.type})`;
}

/** Whether values of this pair of types go through a value map (picklist on either side). */
export function needsValueMap(a: FieldType, b: FieldType): boolean {
  const choice = (t: FieldType) => t === 'picklist' || t === 'multipicklist';
  return (choice(a) || choice(b)) && (choice(a) || a === 'text') && (choice(b) || b === 'text');
}

const labelKey = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\s_-]+/g, ' ')
    .trim()
    .toLowerCase();

export interface ProposedValueMap {
  /** values of field A to values of field B */
  map: Record<string, string>;
  /** values of A with no label or value match in B */
  unmatched: string[];
}

/** Proposes a value map between two picklists by matching labels (then raw values), accent- and case-insensitively. */
export function proposeValueMap(fieldA: FieldDef, fieldB: FieldDef): ProposedValueMap {
  const map: Record<string, string> = {};
  const unmatched: string[] = [];
  const valuesB = fieldB.values ?? [];
  if (!fieldA.values || valuesB.length === 0) return { map, unmatched };
  const byLabel = new Map<string, string>();
  for (const v of valuesB) {
    if (!byLabel.has(labelKey(v.label))) byLabel.set(labelKey(v.label), v.value);
  }
  for (const v of valuesB) {
    if (!byLabel.has(labelKey(v.value))) byLabel.set(labelKey(v.value), v.value);
  }
  for (const v of fieldA.values) {
    const hit = byLabel.get(labelKey(v.label)) ?? byLabel.get(labelKey(v.value));
    if (hit !== undefined) map[v.value] = hit;
    else unmatched.push(v.value);
  }
  return { map, unmatched };
}

export function fieldByKey(catalog: FieldDef[], key: string): FieldDef | undefined {
  return catalog.find((f) => f.key === key);
}

export function fieldsByCanonical(catalog: FieldDef[], slot: CanonicalKey): FieldDef[] {
  return catalog.filter((f) => f.canonical === slot);
}

/** The field that holds the contact's tags / groups / categories, if the app has one. */
export function tagsField(catalog: FieldDef[]): FieldDef | undefined {
  return (
    catalog.find((f) => f.canonical === 'tags' && !f.readOnly) ?? catalog.find((f) => f.canonical === 'tags')
  );
}

export function ownerField(catalog: FieldDef[]): FieldDef | undefined {
  return catalog.find((f) => f.canonical === 'owner');
}

export function unsubscribedField(catalog: FieldDef[]): FieldDef | undefined {
  return catalog.find((f) => f.canonical === 'unsubscribed');
}

/** Every field holding an email address: the match key is built from all of them, mapped or not. */
export function emailFields(catalog: FieldDef[]): FieldDef[] {
  return catalog.filter(
    (f) => f.type === 'email' || (f.canonical !== undefined && f.canonical.startsWith('email')),
  );
}

/** "Sandbox" for "sandbox": messages name the app, and catalogs know only ids. */
export const appDisplayName = (id: string): string => (id.length > 0 ? id[0].toUpperCase() + id.slice(1) : id);
