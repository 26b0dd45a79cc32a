import { and, asc, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { Side, Snapshot } from '../../sync/types';
import { rowsOf, type Db } from '../client';
import { records } from '../schema';
import type { Exclusion } from '../../sync/exclusions';
import { jsonRows, type Fields } from './json';

// The engine's copy of each side. Dirty marks a record to be planned; every path that changes a record's
// content or deletion decides here whether it becomes dirty.

export type RecordRow = typeof records.$inferSelect;

/** A record as the store keeps it: `emails` are its match keys (sync/match.ts emailKeys). */
export interface StoredRecord {
  extId: string;
  version: string;
  fields: Fields;
  emails: string[];
}

/**
 * Where stored records come from. Listed by the app (a scan page, scanId set, or the change feed, scanId
 * null): dirty only when content or deletion changed, so an app that bumps a version without changing
 * anything causes no planning. Written by the engine: current and not dirty, since their echo changes nothing.
 */
export type RecordOrigin = { kind: 'listed'; scanId: string | null } | { kind: 'written' };

export interface ContactRef {
  side: Side;
  extId: string;
}

const ofSide = (connectionId: string, side: Side) => and(eq(records.connectionId, connectionId), eq(records.side, side));
const ofContact = (connectionId: string, c: ContactRef) => and(ofSide(connectionId, c.side), eq(records.extId, c.extId));

export const snapshotOf = (r: RecordRow): Snapshot => ({
  side: r.side,
  id: r.extId,
  version: r.version,
  fields: r.fields,
  deleted: r.deleted,
});

/** The one upsert of records: an app may list a record twice in a page, the last listing wins. */
export async function upsertRecords(
  db: Db,
  connectionId: string,
  side: Side,
  rows: StoredRecord[],
  origin: RecordOrigin,
): Promise<void> {
  if (rows.length === 0) return;
  const unique = [...new Map(rows.map((r) => [r.extId, r])).values()];
  const listed = origin.kind === 'listed';
  const scanId = listed ? origin.scanId : null;
  const changed = sql`${records.deleted} OR ${records.fields} IS DISTINCT FROM excluded.fields`;
  await db
    .insert(records)
    .values(unique.map((r) => ({ connectionId, side, ...r, deleted: false, dirty: listed, scanId })))
    .onConflictDoUpdate({
      target: [records.connectionId, records.side, records.extId],
      set: {
        version: sql`excluded.version`,
        fields: sql`excluded.fields`,
        emails: sql`excluded.emails`,
        deleted: sql`false`,
        ...(listed
          ? {
              dirty: sql`${records.dirty} OR ${changed}`,
              scanId: scanId === null ? sql`${records.scanId}` : sql`excluded.scan_id`,
              updatedAt: sql`CASE WHEN ${changed} THEN now() ELSE ${records.updatedAt} END`,
            }
          : { updatedAt: sql`now()` }),
      },
    });
}

/** Deletions the change feed reported: dirty, so the plan acts on them. */
export async function recordDeletions(db: Db, connectionId: string, side: Side, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(records)
    .set({ deleted: true, dirty: true, updatedAt: sql`now()` })
    .where(and(ofSide(connectionId, side), inArray(records.extId, ids), eq(records.deleted, false)));
}

export async function setRecordFlags(
  db: Db,
  connectionId: string,
  side: Side,
  extIds: string[],
  flags: { deleted?: boolean; dirty?: boolean },
): Promise<void> {
  if (extIds.length === 0) return;
  await db
    .update(records)
    .set({ ...flags, updatedAt: sql`now()` })
    .where(and(ofSide(connectionId, side), inArray(records.extId, extIds)));
}

/** A record the app changed or removed since it was read: kept as it is now, dirty, so the next plan merges again. */
export async function storeStaleRecord(
  db: Db,
  connectionId: string,
  side: Side,
  extId: string,
  current: StoredRecord | null,
): Promise<void> {
  const where = ofContact(connectionId, { side, extId });
  if (current) {
    await upsertRecords(db, connectionId, side, [current], { kind: 'written' });
    await db.update(records).set({ dirty: true }).where(where);
  } else {
    await db.update(records).set({ deleted: true, dirty: true }).where(where);
  }
}

const liveOf = (connectionId: string, side: Side) => and(ofSide(connectionId, side), eq(records.deleted, false));

/** Of the side's live records, how many the full scan saw. */
export async function scanCoverage(
  db: Db,
  connectionId: string,
  side: Side,
  scanId: string,
): Promise<{ live: number; seen: number }> {
  const [counts] = await db
    .select({
      live: sql<number>`count(*)::int`,
      seen: sql<number>`count(*) filter (where ${records.scanId} = ${scanId})::int`,
    })
    .from(records)
    .where(liveOf(connectionId, side));
  return counts;
}

/** After a full scan, what it did not see is gone from the app. */
export async function markUnseenDeleted(db: Db, connectionId: string, side: Side, scanId: string): Promise<number> {
  const gone = await db
    .update(records)
    .set({ deleted: true, dirty: true, updatedAt: sql`now()` })
    .where(and(liveOf(connectionId, side), or(isNull(records.scanId), ne(records.scanId, scanId))))
    .returning({ id: records.extId });
  return gone.length;
}

/** The next dirty records in a stable order, and whether more wait after them. */
export async function takeDirtyBatch(
  db: Db,
  connectionId: string,
  limit: number,
): Promise<{ records: RecordRow[]; remaining: boolean }> {
  const batch = await db
    .select()
    .from(records)
    .where(and(eq(records.connectionId, connectionId), eq(records.dirty, true)))
    .orderBy(asc(records.side), asc(records.extId))
    .limit(limit + 1);
  const remaining = batch.length > limit;
  if (remaining) batch.pop();
  return { records: batch, remaining };
}

export async function recordsByIds(db: Db, connectionId: string, side: Side, ids: string[]): Promise<RecordRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(records)
    .where(and(ofSide(connectionId, side), inArray(records.extId, ids)));
}

/** Live records of the side that share any of the emails. */
export async function recordsByEmails(db: Db, connectionId: string, side: Side, emails: string[]): Promise<RecordRow[]> {
  if (emails.length === 0) return [];
  return db
    .select()
    .from(records)
    .where(and(liveOf(connectionId, side), sql`${records.emails} && ${sql.param(emails)}::text[]`));
}

/** Partners the plan read are settled too: left dirty, they would be planned again from a stale view. */
export async function markSettled(db: Db, connectionId: string, settled: { side: Side; id: string }[]): Promise<void> {
  for (const side of ['a', 'b'] as const) {
    const ids = settled.filter((r) => r.side === side).map((r) => r.id);
    if (ids.length === 0) continue;
    await db
      .update(records)
      .set({ dirty: false })
      .where(and(ofSide(connectionId, side), inArray(records.extId, ids)));
  }
}

/** Every live record, to be planned again (a resync applies changed settings to every contact). */
export async function markAllDirty(db: Db, connectionId: string): Promise<number> {
  const marked = await db
    .update(records)
    .set({ dirty: true })
    .where(and(eq(records.connectionId, connectionId), eq(records.deleted, false)))
    .returning({ id: records.extId });
  return marked.length;
}

/** The brake's cancel: the deletions seen this cycle are taken for an outage and not planned; links stay. */
export async function dropHeldDeletions(db: Db, connectionId: string): Promise<number> {
  const dropped = await db
    .update(records)
    .set({ dirty: false })
    .where(and(eq(records.connectionId, connectionId), eq(records.deleted, true), eq(records.dirty, true)))
    .returning({ id: records.extId });
  return dropped.length;
}

/**
 * Contacts left ambiguous become dirty again when anything sharing their email changed since, since the
 * engine's own writes or the user's edits may have resolved them.
 */
export async function recheckAmbiguous(db: Db, connectionId: string): Promise<number> {
  const marked = await db.execute(sql`
    UPDATE records r SET dirty = true
    FROM failures f
    WHERE f.connection_id = ${connectionId} AND f.kind = 'ambiguous' AND f.resolved_at IS NULL
      AND r.connection_id = f.connection_id AND r.side = f.side AND r.ext_id = f.ext_id AND NOT r.dirty
      AND EXISTS (
        SELECT 1 FROM records o
        WHERE o.connection_id = f.connection_id AND o.emails @> ARRAY[f.contact_email]
          AND o.updated_at > f.last_at
      )
    RETURNING r.ext_id`);
  return rowsOf(marked).length;
}

/** A replayed contact is planned again with its current data. */
export async function markContactDirty(db: Db, connectionId: string, contact: ContactRef): Promise<void> {
  await db.update(records).set({ dirty: true }).where(ofContact(connectionId, contact));
}

/** Whether the contact waits to be planned; null when the store has no such record. */
export async function isContactDirty(db: Db, connectionId: string, contact: ContactRef): Promise<boolean | null> {
  const [rec] = await db.select({ dirty: records.dirty }).from(records).where(ofContact(connectionId, contact));
  return rec ? rec.dirty : null;
}

/** The rules' verdict on each record, set-based; only rows whose verdict changed are written. */
export async function recordExclusions(db: Db, connectionId: string, rows: Exclusion[]): Promise<void> {
  if (rows.length === 0) return;
  await db.execute(sql`
    UPDATE records r SET excluded_by = v."excludedBy"
    FROM jsonb_to_recordset(${jsonRows(rows)}) AS v(side text, id text, "excludedBy" text)
    WHERE r.connection_id = ${connectionId} AND r.side = v.side AND r.ext_id = v.id
      AND r.excluded_by IS DISTINCT FROM v."excludedBy"`);
}
