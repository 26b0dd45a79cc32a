import {
  ADDRESS_PARTS,
  EMAIL_TYPES,
  PHONE_TYPES,
  WRITABLE_PROPERTIES,
  type Address,
  type ApiError,
  type Contact,
  type ContactInput,
  type Email,
  type Phone,
  type WritableProperty,
} from './types';

// Validation of request bodies, with the messages a user would see in a real app's error response: they name
// the property (as a path such as emails[0].value) and quote the offending value where that helps.

const MAX_TEXT = 255;
const MAX_NOTES = 10_000;
const MAX_LIST = 20;
const READ_ONLY = new Set(['id', 'version', 'created_at', 'updated_at']);
const WRITABLE = new Set<string>(WRITABLE_PROPERTIES);
// Deliberately simple, like most apps: one @, no spaces, a dot in the domain, no trailing dot.
const EMAIL_RE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const PHONE_CHARS_RE = /^[0-9+()\-.\s/x#*]+$/i;

export type Validated<T> = { ok: true; value: T } | { ok: false; error: ApiError };

const fail = (field: string | undefined, message: string): { ok: false; error: ApiError } => ({
  ok: false,
  error: { code: 'validation_failed', message, ...(field ? { field } : {}) },
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isValidEmail(value: string): boolean {
  return value.length <= 254 && EMAIL_RE.test(value);
}

function text(value: unknown, field: string, max = MAX_TEXT): Validated<string | null> {
  if (value === null) return { ok: true, value: null };
  if (typeof value !== 'string') return fail(field, `${field} must be a string or null`);
  if (value.length > max) return fail(field, `${field} must be at most ${max} characters`);
  return { ok: true, value };
}

function typedList<T extends string>(
  value: unknown,
  field: string,
  types: readonly T[],
  checkValue: (v: string, path: string) => ApiError | null,
): Validated<{ type: T; value: string }[]> {
  if (!Array.isArray(value)) return fail(field, `${field} must be an array`);
  if (value.length > MAX_LIST) return fail(field, `${field} must have at most ${MAX_LIST} entries`);
  const out: { type: T; value: string }[] = [];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    const path = `${field}[${i}]`;
    if (!isObject(item)) return fail(path, `${path} must be an object with type and value`);
    for (const key of Object.keys(item)) {
      if (key !== 'type' && key !== 'value') return fail(`${path}.${key}`, `${path}.${key} is not a known property`);
    }
    // A missing type is what most apps tolerate; "other" is the neutral bucket.
    const type = item.type ?? 'other';
    if (typeof type !== 'string' || !types.includes(type as T)) {
      return fail(`${path}.type`, `${path}.type must be one of ${types.join(', ')}`);
    }
    if (typeof item.value !== 'string') return fail(`${path}.value`, `${path}.value must be a string`);
    const problem = checkValue(item.value, `${path}.value`);
    if (problem) return { ok: false, error: problem };
    out.push({ type: type as T, value: item.value });
  }
  return { ok: true, value: out };
}

function checkEmail(value: string, path: string): ApiError | null {
  return isValidEmail(value.trim())
    ? null
    : { code: 'validation_failed', message: `${path} ${JSON.stringify(value)} is not a valid email address`, field: path };
}

function checkPhone(value: string, path: string): ApiError | null {
  const digits = value.replace(/\D/g, '').length;
  return PHONE_CHARS_RE.test(value) && digits >= 3 && digits <= 20 && value.length <= 40
    ? null
    : { code: 'validation_failed', message: `${path} ${JSON.stringify(value)} is not a valid phone number`, field: path };
}

function address(value: unknown): Validated<Address | null> {
  if (value === null) return { ok: true, value: null };
  if (!isObject(value)) return fail('address', 'address must be an object or null');
  const out: Address = { street: null, city: null, region: null, postal_code: null, country: null };
  for (const [key, part] of Object.entries(value)) {
    if (!(ADDRESS_PARTS as readonly string[]).includes(key)) {
      return fail(`address.${key}`, `address.${key} is not a known property`);
    }
    const checked = text(part, `address.${key}`);
    if (!checked.ok) return checked;
    out[key as keyof Address] = checked.value;
  }
  return { ok: true, value: out };
}

function tags(value: unknown): Validated<string[]> {
  if (!Array.isArray(value)) return fail('tags', 'tags must be an array of strings');
  if (value.length > 100) return fail('tags', 'tags must have at most 100 entries');
  const seen = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const tag: unknown = value[i];
    if (typeof tag !== 'string' || tag.trim() === '') return fail(`tags[${i}]`, `tags[${i}] must be a non-empty string`);
    if (tag.length > 100) return fail(`tags[${i}]`, `tags[${i}] must be at most 100 characters`);
    seen.add(tag);
  }
  return { ok: true, value: [...seen] };
}

/**
 * Checks a create or update body. Only the properties present are returned, which is what gives PATCH its
 * partial semantics: absent means "keep", null or [] means "clear".
 */
export function validateInput(body: unknown): Validated<ContactInput> {
  if (!isObject(body)) return fail(undefined, 'request body must be a JSON object');
  const out: ContactInput = {};
  for (const [key, value] of Object.entries(body)) {
    if (READ_ONLY.has(key)) return fail(key, `"${key}" is read-only`);
    if (!WRITABLE.has(key)) return fail(key, `"${key}" is not a known contact property`);
    const prop = key as WritableProperty;
    switch (prop) {
      case 'emails': {
        const checked = typedList(value, 'emails', EMAIL_TYPES, checkEmail);
        if (!checked.ok) return checked;
        out.emails = checked.value.map((e): Email => ({ type: e.type, value: e.value.trim() }));
        break;
      }
      case 'phones': {
        const checked = typedList(value, 'phones', PHONE_TYPES, checkPhone);
        if (!checked.ok) return checked;
        out.phones = checked.value as Phone[];
        break;
      }
      case 'address': {
        const checked = address(value);
        if (!checked.ok) return checked;
        out.address = checked.value;
        break;
      }
      case 'tags': {
        const checked = tags(value);
        if (!checked.ok) return checked;
        out.tags = checked.value;
        break;
      }
      case 'unsubscribed':
        if (typeof value !== 'boolean') return fail('unsubscribed', 'unsubscribed must be a boolean');
        out.unsubscribed = value;
        break;
      case 'notes': {
        const checked = text(value, 'notes', MAX_NOTES);
        if (!checked.ok) return checked;
        out.notes = checked.value;
        break;
      }
      default: {
        const checked = text(value, prop);
        if (!checked.ok) return checked;
        out[prop] = checked.value;
      }
    }
  }
  return { ok: true, value: out };
}

function isEmptyProperty(contact: Contact, prop: WritableProperty): boolean {
  const value = contact[prop];
  if (value === null || value === undefined) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.values(value).every((part) => part === null || part.trim() === '');
  return false;
}

/** Required properties are checked on the resulting contact, so an update may not empty them either. */
export function checkRequired(contact: Contact, required: readonly WritableProperty[]): ApiError | null {
  for (const prop of required) {
    if (isEmptyProperty(contact, prop)) return { code: 'validation_failed', message: `"${prop}" is required`, field: prop };
  }
  return null;
}
