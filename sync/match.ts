import { emailFields } from './field-catalog';
import type { FieldDef, FieldValue } from './types';

// The match key of "avoid duplicates": every email of a contact, trimmed and lower-cased.

/** Keys from the given email field keys; the planner computes the keys once per catalog and calls this. */
export function emailKeysOf(fields: Record<string, FieldValue>, keys: readonly string[]): string[] {
  const out: string[] = [];
  for (const k of keys) {
    const v = fields[k];
    if (v === null || v === undefined) continue;
    const list = Array.isArray(v) ? v : [v];
    for (const item of list) {
      if (typeof item !== 'string') continue;
      // A field holding "a@x.com, b@y.com" is two addresses, not one odd key.
      for (const part of item.split(/[,;]/)) {
        const e = part.trim().toLowerCase();
        if (e !== '' && e.includes('@') && !out.includes(e)) out.push(e);
      }
    }
  }
  return out;
}

/** Every email field value of a record (mapped or not), trimmed, lower-cased, deduplicated. */
export function emailKeys(fields: Record<string, FieldValue>, catalog: FieldDef[]): string[] {
  return emailKeysOf(
    fields,
    emailFields(catalog).map((f) => f.key),
  );
}
