import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { FieldDef, FieldType, FieldValue } from './types';

// How the engine compares and converts field values. Apps format the same datum differently (phone
// punctuation, e-mail case, tag order), and the planner must see through that or every echo of its own
// writes would look like a user's edit.

/** Tags the engine itself puts on contacts. They stay on the side they were put on: never synced, never removed. */
export const TRASH_TAG = 'Rapport Trash';
export const UNSUBSCRIBES_TAG = 'Rapport Unsubscribes';
const ENGINE_TAGS = new Set([TRASH_TAG.toLowerCase(), UNSUBSCRIBES_TAG.toLowerCase()]);
export const isEngineTag = (tag: string): boolean => ENGINE_TAGS.has(tag.trim().toLowerCase());

/** null, undefined, '', whitespace and [] all mean "no value": an empty value never counts as data. */
export function isEmpty(v: FieldValue | undefined): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return v.trim() === '';
  if (Array.isArray(v)) return v.every((x) => typeof x !== 'string' || x.trim() === '');
  return false;
}

/** A list value as clean strings; a text value holding a list (CardDAV categories) splits on commas. */
export function toList(v: FieldValue | undefined): string[] {
  if (v === null || v === undefined) return [];
  const raw = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [String(v)];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const item of raw) {
    const t = String(item).trim();
    if (t === '' || seen.has(t.toLowerCase())) continue;
    seen.add(t.toLowerCase());
    out.push(t);
  }
  return out;
}

/** A list as the field holds it: a multi-picklist the array, any other field the text joined by commas. */
export const listValue = (def: FieldDef, list: string[]): FieldValue =>
  def.type === 'multipicklist' ? list : list.join(', ');

/** Adds to `list` each tag it lacks (tags compare case-insensitively); whether any was added. */
export function addMissingTags(list: string[], tags: readonly string[]): boolean {
  let added = false;
  for (const t of tags) {
    if (!list.some((x) => x.toLowerCase() === t.toLowerCase())) {
      list.push(t);
      added = true;
    }
  }
  return added;
}

/** Whether an unsubscribed flag is set; anything but a clear yes (true, "true", "yes", "1", a non-zero number) is no. */
export function isTrue(v: FieldValue | undefined): boolean {
  if (v === true) return true;
  if (typeof v === 'string') return ['true', 'yes', '1'].includes(v.trim().toLowerCase());
  return typeof v === 'number' && v !== 0;
}

/** Which comparison a pair of field types uses: the more specific type decides (an email stored as text still compares as an email). */
export type CompareKind = 'text' | 'email' | 'phone' | 'list' | 'number' | 'boolean' | 'date';

export function compareKind(a: FieldType, b: FieldType): CompareKind {
  const kinds = [a, b];
  if (kinds.includes('multipicklist')) return 'list';
  if (kinds.includes('email')) return 'email';
  if (kinds.includes('phone')) return 'phone';
  if (kinds.includes('number')) return 'number';
  if (kinds.includes('boolean')) return 'boolean';
  if (kinds.includes('date')) return 'date';
  return 'text';
}

const phoneCache = new Map<string, string>();

/**
 * The comparable form of a phone number. Digits with a leading "+" already are E.164 in the common case,
 * which spares the (slow) full parse; libphonenumber handles trunk prefixes such as "+44 (0) 20".
 */
export function phoneKey(v: string): string {
  const cached = phoneCache.get(v);
  if (cached !== undefined) return cached;
  let key: string;
  const digits = v.replace(/[^\d]/g, '');
  const plus = v.trim().startsWith('+') || v.trim().startsWith('00');
  if (!plus) key = digits;
  else if (!/\(0\)/.test(v)) key = '+' + (v.trim().startsWith('00') ? digits.slice(2) : digits);
  else key = parsePhoneNumberFromString(v)?.number ?? '+' + digits;
  if (phoneCache.size > 200_000) phoneCache.clear();
  phoneCache.set(v, key);
  return key;
}

function phonesEqual(x: string, y: string): boolean {
  const kx = phoneKey(x);
  const ky = phoneKey(y);
  if (kx === ky) return true;
  // One side without a country code: the national number is the best the engine can compare.
  const px = kx.startsWith('+');
  const py = ky.startsWith('+');
  if (px === py) return false;
  const intl = px ? kx : ky;
  const national = (px ? ky : kx).replace(/^0+/, '');
  const parsed = parsePhoneNumberFromString(intl);
  return national.length >= 6 && parsed !== undefined && parsed.nationalNumber === national;
}

function toBool(v: FieldValue): boolean | null {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', 'yes', '1', 'y', 'on'].includes(s)) return true;
    if (['false', 'no', '0', 'n', 'off'].includes(s)) return false;
  }
  return null;
}

const scalarText = (v: FieldValue): string => (Array.isArray(v) ? v.join(', ') : String(v)).trim();

/**
 * Whether two values (already in the same vocabulary, see translate) hold the same datum.
 * Engine tags are invisible to list comparison because they are side-local.
 */
export function sameValue(x: FieldValue | undefined, y: FieldValue | undefined, kind: CompareKind): boolean {
  if (x === y && typeof x === 'string' && kind !== 'list' && kind !== 'date') return true;
  const ex = isEmpty(x);
  const ey = isEmpty(y);
  if (ex || ey) {
    if (kind === 'list') return listKey(x) === listKey(y);
    return ex && ey;
  }
  const a = x as Exclude<FieldValue, null>;
  const b = y as Exclude<FieldValue, null>;
  switch (kind) {
    case 'list':
      return listKey(a) === listKey(b);
    case 'email':
      return scalarText(a).toLowerCase() === scalarText(b).toLowerCase();
    case 'phone':
      return phonesEqual(scalarText(a), scalarText(b));
    case 'number':
      return Number(a) === Number(b) || scalarText(a) === scalarText(b);
    case 'boolean': {
      const ba = toBool(a);
      const bb = toBool(b);
      return ba !== null && bb !== null ? ba === bb : scalarText(a) === scalarText(b);
    }
    case 'date':
      return dateKey(a) === dateKey(b);
    default:
      return scalarText(a) === scalarText(b);
  }
}

function dateKey(v: FieldValue): string {
  const s = scalarText(v);
  return /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : s;
}

/** Order- and case-insensitive key of a list, without engine tags. */
export function listKey(v: FieldValue | undefined): string {
  return toList(v)
    .filter((t) => !isEngineTag(t))
    .map((t) => t.toLowerCase())
    .sort()
    .join('\u0000');
}

/** A resolved translation of values between two fields (picklist value maps, type conversions). */
export interface Translator {
  kind: CompareKind;
  /** Source value in the target's vocabulary; undefined when it has no counterpart there. */
  aToB(v: FieldValue): FieldValue | undefined;
  bToA(v: FieldValue): FieldValue | undefined;
}

const labelKey = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .trim()
    .toLowerCase();

/** Builds the value conversion of a mapping pair once, so the planner's inner loop only looks things up. */
export function makeTranslator(fa: FieldDef, fb: FieldDef, valueMap?: Record<string, string>): Translator {
  const kind = compareKind(fa.type, fb.type);
  const forward = new Map<string, string>();
  const backward = new Map<string, string>();
  if (valueMap) {
    for (const [va, vb] of Object.entries(valueMap)) {
      forward.set(va, vb);
      if (!backward.has(vb)) backward.set(vb, va);
    }
  }
  return {
    kind,
    aToB: (v) => convert(v, fa, fb, forward),
    bToA: (v) => convert(v, fb, fa, backward),
  };
}

function lookupChoice(raw: string, to: FieldDef): string | undefined {
  if (!to.values || to.values.length === 0) return raw;
  const exact = to.values.find((p) => p.value === raw);
  if (exact) return exact.value;
  const k = labelKey(raw);
  return to.values.find((p) => labelKey(p.label) === k || labelKey(p.value) === k)?.value;
}

function choiceLabel(raw: string, from: FieldDef): string {
  return from.values?.find((p) => p.value === raw)?.label ?? raw;
}

function isChoice(t: FieldType): boolean {
  return t === 'picklist' || t === 'multipicklist';
}

function convertScalar(raw: string, from: FieldDef, to: FieldDef, map: Map<string, string>): string | undefined {
  const mapped = map.get(raw);
  if (mapped !== undefined) return mapped;
  if (isChoice(to.type)) return lookupChoice(isChoice(from.type) ? choiceLabel(raw, from) : raw, to);
  if (isChoice(from.type)) return choiceLabel(raw, from);
  return raw;
}

function convert(v: FieldValue, from: FieldDef, to: FieldDef, map: Map<string, string>): FieldValue | undefined {
  if (isEmpty(v)) return to.type === 'multipicklist' ? [] : null;
  if (to.type === 'multipicklist' || from.type === 'multipicklist') {
    const items: string[] = [];
    for (const item of toList(v)) {
      const c = convertScalar(item, from, to, map);
      if (c !== undefined) items.push(c);
    }
    if (to.type === 'multipicklist') return items;
    return items.join(', ');
  }
  const raw = Array.isArray(v) ? v.join(', ') : v;
  if (to.type === 'number') {
    const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
    return Number.isFinite(n) ? n : undefined;
  }
  if (to.type === 'boolean') return toBool(raw) ?? undefined;
  if (typeof raw !== 'string') return to.type === 'text' || to.type === 'picklist' ? String(raw) : raw;
  return convertScalar(raw, from, to, map);
}
