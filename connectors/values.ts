import type { FieldValue } from '../sync/types';

// Pieces of the value mapping that several apps share word for word. What differs per app (slots, labels,
// how a blank is trimmed, how tags compare) stays in each app's fields.ts.

/** A value the app cannot hold in that field; reported as a per-contact failure, never thrown from write(). */
export class MappingError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** A list value (tags, labels, categories): a list or comma-separated text, trimmed, without blanks or repeats. */
export function asList(value: FieldValue): string[] {
  if (value === null) return [];
  const list = Array.isArray(value) ? value : String(value).split(',');
  return [...new Set(list.map((t) => String(t).trim()).filter((t) => t !== ''))];
}

/** A yes/no value: a boolean, "true"/"false" or 1/0; null is false. */
export function asBoolean(key: string, value: FieldValue): boolean {
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 1) return true;
  if (value === 'false' || value === 0) return false;
  throw new MappingError(`${key} takes true or false, not ${JSON.stringify(value)}`, key);
}
