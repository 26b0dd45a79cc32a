import ICAL from 'ical.js';
import type { FieldDef, FieldValue } from '../../sync/types';

// Between vCards (3.0 and 4.0) and the flat records the engine works with. Parsing and printing are ical.js's;
// this module only decides which property holds which catalog field. An update edits the parsed card in place
// and prints it again, so every property the catalog does not name (X-…, item1. labels, PHOTO, IMPP, a second
// address, a fourth email) goes back to the server as it came.

export type VCardVersion = '3.0' | '4.0';
type Component = InstanceType<typeof ICAL.Component>;
type Property = InstanceType<typeof ICAL.Property>;

// Keys name the vCard property and, for structured ones, the part (xCard's element names, RFC 6351).
export const carddavFields: FieldDef[] = [
  { key: 'N.given', label: 'First name', type: 'text', canonical: 'firstName' },
  { key: 'N.surname', label: 'Last name', type: 'text', canonical: 'lastName' },
  { key: 'N.additional', label: 'Middle name', type: 'text', canonical: 'middleName' },
  // vCard requires FN; the connector derives it from the name (or company, or email) when nobody sets it.
  { key: 'FN', label: 'Display name', type: 'text' },
  { key: 'ORG.name', label: 'Company', type: 'text', canonical: 'company' },
  { key: 'ORG.unit', label: 'Department', type: 'text', canonical: 'department' },
  { key: 'TITLE', label: 'Job title', type: 'text', canonical: 'jobTitle' },
  { key: 'EMAIL.1', label: 'Email 1', type: 'email', canonical: 'email1' },
  { key: 'EMAIL.2', label: 'Email 2', type: 'email', canonical: 'email2' },
  { key: 'EMAIL.3', label: 'Email 3', type: 'email', canonical: 'email3' },
  { key: 'TEL.cell', label: 'Mobile phone', type: 'phone', canonical: 'phoneMobile' },
  { key: 'TEL.work', label: 'Work phone', type: 'phone', canonical: 'phoneWork' },
  { key: 'TEL.home', label: 'Home phone', type: 'phone', canonical: 'phoneHome' },
  { key: 'TEL.fax', label: 'Fax', type: 'phone', canonical: 'phoneFax' },
  { key: 'TEL.other', label: 'Other phone', type: 'phone', canonical: 'phoneOther' },
  { key: 'ADR.street', label: 'Street', type: 'address', canonical: 'street' },
  { key: 'ADR.locality', label: 'City', type: 'address', canonical: 'city' },
  { key: 'ADR.region', label: 'Region', type: 'address', canonical: 'region' },
  { key: 'ADR.code', label: 'Postal code', type: 'address', canonical: 'postalCode' },
  { key: 'ADR.country', label: 'Country', type: 'address', canonical: 'country' },
  { key: 'URL', label: 'Website', type: 'text', canonical: 'website' },
  { key: 'BDAY', label: 'Birthday', type: 'date', canonical: 'birthday' },
  { key: 'NOTE', label: 'Note', type: 'text', canonical: 'notes' },
  // Free-form, like the app: any category may be added.
  { key: 'CATEGORIES', label: 'Categories', type: 'multipicklist', canonical: 'tags' },
];

const KNOWN = new Set(carddavFields.map((f) => f.key));
const N_PARTS: Record<string, number> = { 'N.surname': 0, 'N.given': 1, 'N.additional': 2 };
const ORG_PARTS: Record<string, number> = { 'ORG.name': 0, 'ORG.unit': 1 };
const ADR_PARTS: Record<string, number> = { 'ADR.street': 2, 'ADR.locality': 3, 'ADR.region': 4, 'ADR.code': 5, 'ADR.country': 6 };
const EMAIL_KEYS = ['EMAIL.1', 'EMAIL.2', 'EMAIL.3'];
const PHONE_CLASSES = ['cell', 'work', 'home', 'fax', 'other'] as const;
type PhoneClass = (typeof PHONE_CLASSES)[number];
const SIMPLE = { TITLE: 'title', NOTE: 'note', URL: 'url', FN: 'fn' } as const;

/** A value the card cannot hold; reported as a per-contact failure, never thrown from write(). */
export class MappingError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export function parseCard(text: string): Component {
  const parsed = ICAL.parse(text);
  // A resource holds one vCard (RFC 6352 5.1); ical.js returns a list only when given several.
  const first = Array.isArray(parsed[0]) ? parsed[0] : parsed;
  const comp = new ICAL.Component(first);
  if (comp.name !== 'vcard') throw new Error(`not a vCard but ${comp.name}`);
  return comp;
}

export const cardVersion = (comp: Component): VCardVersion =>
  String(comp.getFirstPropertyValue('version') ?? '3.0').trim() === '4.0' ? '4.0' : '3.0';

export function printCard(comp: Component): string {
  const text = comp.toString().replace(/\r?\n/g, '\r\n');
  return text.endsWith('\r\n') ? text : `${text}\r\n`;
}

const blank = (value: unknown): string | null => {
  if (value === null || value === undefined) return null;
  const s = String(value).trim();
  return s === '' ? null : s;
};

/** Structured values (N, ORG, ADR) come back as a string when they have one part. */
function parts(prop: Property | null | undefined): string[] {
  if (!prop) return [];
  const value = prop.getFirstValue() as unknown;
  if (Array.isArray(value)) return value.map((v) => (Array.isArray(v) ? v.join(',') : String(v ?? '')));
  return value === null || value === undefined ? [] : [String(value)];
}

/** TYPE parameters, lower-cased and split: 3.0 writes both TYPE=a,b and TYPE=a;TYPE=b. */
function types(prop: Property): string[] {
  const raw = prop.getParameter('type') as string[] | string | undefined | null;
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return list.flatMap((t) => String(t).split(',')).map((t) => t.trim().toLowerCase());
}

function phoneClass(prop: Property): PhoneClass {
  const t = types(prop);
  if (t.includes('fax')) return 'fax';
  if (t.includes('cell') || t.includes('mobile') || t.includes('iphone')) return 'cell';
  if (t.includes('work')) return 'work';
  if (t.includes('home')) return 'home';
  return 'other';
}

const phoneText = (prop: Property): string | null => blank(String(prop.getFirstValue() ?? '').replace(/^tel:/i, ''));

/** The address the catalog means: the first work address, else the first address. */
function mainAddress(comp: Component): Property | null {
  const all = comp.getAllProperties('adr');
  return all.find((p) => types(p).includes('work')) ?? all[0] ?? null;
}

/** BDAY as the engine's date text: YYYY-MM-DD, or --MM-DD when the year is unknown (4.0). */
function birthday(prop: Property | null): string | null {
  if (!prop) return null;
  const json = prop.toJSON() as unknown[];
  const raw = blank(json[3]);
  if (!raw) return null;
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(raw);
  if (compact) return `${compact[1]}-${compact[2]}-${compact[3]}`;
  const dated = /^(\d{4}-\d{2}-\d{2})(T.*)?$/.exec(raw);
  return dated ? dated[1] : raw;
}

/** The catalog's view of a card. */
export function cardFields(comp: Component): Record<string, FieldValue> {
  const fields: Record<string, FieldValue> = {};
  const n = parts(comp.getFirstProperty('n'));
  for (const [key, i] of Object.entries(N_PARTS)) fields[key] = blank(n[i]);
  const org = parts(comp.getFirstProperty('org'));
  fields['ORG.name'] = blank(org[0]);
  fields['ORG.unit'] = blank(org.slice(1).filter((u) => u.trim() !== '').join(', '));
  for (const [key, name] of Object.entries(SIMPLE)) fields[key] = blank(comp.getFirstPropertyValue(name));
  const emails = comp.getAllProperties('email').map((p) => blank(p.getFirstValue()));
  EMAIL_KEYS.forEach((key, i) => (fields[key] = emails[i] ?? null));
  const phones = comp.getAllProperties('tel');
  for (const cls of PHONE_CLASSES) {
    const prop = phones.find((p) => phoneClass(p) === cls);
    fields[`TEL.${cls}`] = prop ? phoneText(prop) : null;
  }
  const adr = parts(mainAddress(comp));
  for (const [key, i] of Object.entries(ADR_PARTS)) fields[key] = blank(adr[i]);
  fields.BDAY = birthday(comp.getFirstProperty('bday'));
  const categories = comp
    .getAllProperties('categories')
    .flatMap((p) => p.getValues().map((v) => String(v).trim()))
    .filter((v) => v !== '');
  fields.CATEGORIES = categories.length > 0 ? [...new Set(categories)] : null;
  return fields;
}

function asText(key: string, value: FieldValue): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return blank(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new MappingError(`${key} takes a single value, not a list`, key);
}

function asList(value: FieldValue): string[] {
  if (value === null || value === undefined) return [];
  const list = Array.isArray(value) ? value : String(value).split(',');
  return [...new Set(list.map((t) => String(t).trim()).filter((t) => t !== ''))];
}

function asBirthday(value: FieldValue): string | null {
  const text = asText('BDAY', value);
  if (text === null) return null;
  const date = /^(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?$/.exec(text);
  if (date) {
    const [, y, m, d] = date;
    const check = new Date(`${y}-${m}-${d}T00:00:00Z`);
    if (!Number.isNaN(check.getTime()) && check.getUTCDate() === Number(d)) return `${y}-${m}-${d}`;
  }
  if (/^--\d{2}-?\d{2}$/.test(text)) return text.replace(/^--(\d{2})-?(\d{2})$/, '--$1-$2');
  throw new MappingError(`BDAY takes a date like 1985-04-12, not "${text}"`, 'BDAY');
}

/** Sets one part of a structured property, creating or dropping the property as it fills or empties. */
function setParts(comp: Component, prop: Property | null, name: string, length: number, changes: Map<number, string | null>, params?: Record<string, string | string[]>): void {
  if (changes.size === 0) return;
  const values = parts(prop);
  while (values.length < length) values.push('');
  for (const [i, v] of changes) values[i] = v ?? '';
  // An emptied last part (ORG's unit) goes rather than leaving "ORG:Acme;".
  while (name === 'org' && values.length > 1 && values[values.length - 1].trim() === '') values.pop();
  const empty = values.every((v) => v.trim() === '');
  if (prop && empty && name !== 'n') {
    comp.removeProperty(prop);
    return;
  }
  if (!prop) {
    if (empty) return;
    prop = new ICAL.Property(name, comp);
    for (const [k, v] of Object.entries(params ?? {})) prop.setParameter(k, v);
    comp.addProperty(prop);
  }
  prop.setValue(values);
}

function setSimple(comp: Component, name: string, value: string | null): void {
  const prop = comp.getFirstProperty(name);
  if (value === null) {
    if (prop) comp.removeProperty(prop);
  } else if (prop) {
    prop.setValue(value);
  } else {
    comp.addPropertyWithValue(name, value);
  }
}

const typeParam = (version: VCardVersion, ...t: string[]): string[] => (version === '3.0' ? t.map((x) => x.toUpperCase()) : t);

/** The display name a card shows when nobody wrote one: the person's name, else the company, else the email. */
function derivedName(fields: Record<string, FieldValue>): string {
  const name = [fields['N.given'], fields['N.additional'], fields['N.surname']].filter((v) => typeof v === 'string' && v !== '').join(' ');
  return name || String(fields['ORG.name'] ?? '') || String(fields['EMAIL.1'] ?? '') || 'Unnamed';
}

/**
 * Writes `fields` into the card, touching only the properties they name. Emails are the card's EMAIL lines in
 * order, so clearing a slot closes the gap; a phone slot is the first TEL of its kind; the address is the work
 * (else first) ADR. FN follows the name when it was the derived one, and is never left empty.
 */
export function applyFields(comp: Component, fields: Record<string, FieldValue>): void {
  for (const key of Object.keys(fields)) {
    if (!KNOWN.has(key)) throw new MappingError(`a vCard has no field "${key}"`, key);
  }
  const version = cardVersion(comp);
  const before = cardFields(comp);
  const fnWasDerived = before.FN === null || before.FN === derivedName(before);

  const nChanges = new Map<number, string | null>();
  for (const [key, i] of Object.entries(N_PARTS)) if (key in fields) nChanges.set(i, asText(key, fields[key]));
  setParts(comp, comp.getFirstProperty('n'), 'n', 5, nChanges);

  const orgChanges = new Map<number, string | null>();
  for (const [key, i] of Object.entries(ORG_PARTS)) if (key in fields) orgChanges.set(i, asText(key, fields[key]));
  setParts(comp, comp.getFirstProperty('org'), 'org', orgChanges.has(1) ? 2 : 1, orgChanges);

  for (const [key, name] of Object.entries(SIMPLE)) if (key in fields) setSimple(comp, name, asText(key, fields[key]));

  if (EMAIL_KEYS.some((k) => k in fields)) {
    const existing = comp.getAllProperties('email');
    EMAIL_KEYS.forEach((key, i) => {
      if (!(key in fields)) return;
      const value = asText(key, fields[key]);
      const prop = existing[i];
      if (value === null) {
        if (prop) comp.removeProperty(prop);
      } else if (prop) {
        prop.setValue(value);
      } else {
        const added = new ICAL.Property('email', comp);
        added.setParameter('type', version === '3.0' ? ['INTERNET', i === 1 ? 'HOME' : 'WORK'] : [i === 1 ? 'home' : 'work']);
        added.setValue(value);
        comp.addProperty(added);
      }
    });
  }

  for (const cls of PHONE_CLASSES) {
    const key = `TEL.${cls}`;
    if (!(key in fields)) continue;
    const value = asText(key, fields[key]);
    const prop = comp.getAllProperties('tel').find((p) => phoneClass(p) === cls);
    if (value === null) {
      if (prop) comp.removeProperty(prop);
    } else if (prop) {
      // 4.0 may hold tel: URIs; the number is written back as text, which both versions accept.
      if (prop.type !== 'text' && prop.type !== 'phone-number') prop.resetType(version === '3.0' ? 'phone-number' : 'text');
      prop.setValue(value);
    } else {
      const added = new ICAL.Property('tel', comp);
      const kind = { cell: ['cell'], work: ['work', 'voice'], home: ['home', 'voice'], fax: ['work', 'fax'], other: ['voice'] }[cls];
      added.setParameter('type', typeParam(version, ...kind));
      added.setValue(value);
      comp.addProperty(added);
    }
  }

  const adrChanges = new Map<number, string | null>();
  for (const [key, i] of Object.entries(ADR_PARTS)) if (key in fields) adrChanges.set(i, asText(key, fields[key]));
  setParts(comp, mainAddress(comp), 'adr', 7, adrChanges, { type: typeParam(version, 'work') });

  if ('BDAY' in fields) {
    const value = asBirthday(fields.BDAY);
    comp.removeAllProperties('bday');
    if (value !== null) {
      const prop = new ICAL.Property('bday', comp);
      // 4.0 allows no VALUE=date on BDAY (RFC 6350 6.2.5): its value type is date-and-or-time.
      const type = version === '3.0' ? 'date' : 'date-and-or-time';
      prop.resetType(type);
      prop.setValue(ICAL.VCardTime.fromDateAndOrTimeString(value, type));
      comp.addProperty(prop);
    }
  }

  if ('CATEGORIES' in fields) {
    const list = asList(fields.CATEGORIES);
    comp.removeAllProperties('categories');
    if (list.length > 0) {
      const prop = new ICAL.Property('categories', comp);
      prop.setValues(list);
      comp.addProperty(prop);
    }
  }

  if (!('FN' in fields) || asText('FN', fields.FN) === null) {
    const after = cardFields(comp);
    if (fnWasDerived || after.FN === null) setSimple(comp, 'fn', derivedName(after));
  }
}

/** A new card holding `fields`; 3.0 unless asked otherwise, since every CardDAV server must take 3.0. */
export function newCard(uid: string, fields: Record<string, FieldValue>, version: VCardVersion = '3.0'): Component {
  const lines = ['BEGIN:VCARD', `VERSION:${version}`, 'PRODID:-//Rapport//CardDAV connector//EN', `UID:${version === '4.0' ? `urn:uuid:${uid}` : uid}`];
  // 3.0 requires N even when empty; 4.0 makes it optional but every address book app reads it.
  lines.push('N:;;;;', 'FN:Unnamed', 'END:VCARD', '');
  const comp = parseCard(lines.join('\r\n'));
  applyFields(comp, fields);
  return comp;
}

export const cardUid = (comp: Component): string | null => blank(comp.getFirstPropertyValue('uid'));
