import type { AmbiguousMatch, ContactNamer, StoredRecord } from '../db/store';
import { emailKeys } from '../sync/match';
import type { Ambiguous } from '../sync/plan-types';
import type { AppRecord, FieldDef, FieldValue, Side, Snapshot } from '../sync/types';

// How contacts are handed to the store: their match keys, and the names people read in failures and the feed.

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

export const namerOf =
  (catalogs: Record<Side, FieldDef[]>): ContactNamer =>
  (side, fields) =>
    describeContact(fields, catalogs[side]);

/** A record as an app returned it, with its match keys, as the store keeps it. */
export const storedRecord = (record: AppRecord, catalog: FieldDef[]): StoredRecord => ({
  extId: record.id,
  version: record.version,
  fields: record.fields,
  emails: emailKeys(record.fields, catalog),
});

/** The failures ambiguous matches are recorded as; api/health.ts reads the candidates back from the message. */
export function ambiguousMatches(found: Ambiguous[], seen: Snapshot[], catalogs: Record<Side, FieldDef[]>): AmbiguousMatch[] {
  if (found.length === 0) return [];
  const snapshots = new Map(seen.map((s) => [`${s.side}:${s.id}`, s]));
  return found.map((amb) => {
    const snapshot = snapshots.get(`${amb.side}:${amb.id}`);
    const who = snapshot ? describeContact(snapshot.fields, catalogs[amb.side]) : { name: null, email: amb.email };
    return {
      side: amb.side,
      extId: amb.id,
      message: `ambiguous match: ${amb.candidates.length} contacts on the other side share the email ${amb.email} (${amb.candidates.join(', ')})`,
      contactName: who.name,
      contactEmail: amb.email,
    };
  });
}
