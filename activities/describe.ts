import type { FieldDef, FieldValue } from '../sync/types';

/** A contact's name and first email, for failures and the activity feed: found through the canonical slots. */
export function describeContact(
  fields: Record<string, FieldValue>,
  catalog: FieldDef[],
): { name: string | null; email: string | null } {
  const slot = (canonical: string) => {
    const def = catalog.find((f) => f.canonical === canonical);
    const value = def ? fields[def.key] : null;
    return typeof value === 'string' && value.trim() ? value.trim() : null;
  };
  const name = [slot('firstName'), slot('lastName')].filter(Boolean).join(' ') || slot('company');
  return { name: name || null, email: slot('email1') ?? slot('email2') ?? slot('email3') };
}
