import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { links, operations, records } from '../schema';
import type { FieldValue, Side } from '../../sync/types';

// Set-based writes of the engine's memory. A batch of thousands of outcomes costs a handful of statements,
// not thousands: the planner and the apply step both record through these.

type Fields = Record<string, FieldValue>;
const json = (rows: unknown[]) => sql`${JSON.stringify(rows)}::jsonb`;

export interface StoredRecord {
  extId: string;
  version: string;
  fields: Fields;
  emails: string[];
}

/** Records as the engine itself just wrote them: current, and not dirty (their echo changes nothing). */
export async function storeWrittenRecords(db: Db, connectionId: string, side: Side, rows: StoredRecord[]) {
  if (rows.length === 0) return;
  const unique = [...new Map(rows.map((r) => [r.extId, r])).values()];
  await db
    .insert(records)
    .values(unique.map((r) => ({ connectionId, side, ...r, dirty: false })))
    .onConflictDoUpdate({
      target: [records.connectionId, records.side, records.extId],
      set: {
        version: sql`excluded.version`,
        fields: sql`excluded.fields`,
        emails: sql`excluded.emails`,
        deleted: sql`false`,
        updatedAt: sql`now()`,
      },
    });
}

export async function setRecordFlags(
  db: Db,
  connectionId: string,
  side: Side,
  extIds: string[],
  flags: { deleted?: boolean; dirty?: boolean },
) {
  if (extIds.length === 0) return;
  await db
    .update(records)
    .set({ ...flags, updatedAt: sql`now()` })
    .where(and(eq(records.connectionId, connectionId), eq(records.side, side), inArray(records.extId, extIds)));
}

export interface NewLink {
  a: string;
  b: string;
  baselineA: Fields | null;
  baselineB: Fields | null;
}

export async function upsertLinks(db: Db, connectionId: string, rows: NewLink[]) {
  if (rows.length === 0) return;
  await db
    .insert(links)
    .values(rows.map((l) => ({ connectionId, aId: l.a, bId: l.b, baselineA: l.baselineA, baselineB: l.baselineB })))
    .onConflictDoUpdate({
      target: [links.connectionId, links.aId],
      set: {
        bId: sql`excluded.b_id`,
        baselineA: sql`excluded.baseline_a`,
        baselineB: sql`excluded.baseline_b`,
        state: 'active',
        updatedAt: sql`now()`,
      },
    });
}

/** New baselines for existing links; a side left undefined keeps its baseline. */
export async function setBaselines(
  db: Db,
  connectionId: string,
  rows: { a: string; b: string; baselineA?: Fields | null; baselineB?: Fields | null }[],
) {
  if (rows.length === 0) return;
  const data = rows.map((r) => ({
    a: r.a,
    b: r.b,
    ha: r.baselineA !== undefined,
    ba: r.baselineA ?? null,
    hb: r.baselineB !== undefined,
    bb: r.baselineB ?? null,
  }));
  await db.execute(sql`
    UPDATE links l SET
      baseline_a = CASE WHEN v.ha THEN v.ba ELSE l.baseline_a END,
      baseline_b = CASE WHEN v.hb THEN v.bb ELSE l.baseline_b END,
      updated_at = now()
    FROM jsonb_to_recordset(${json(data)}) AS v(a text, b text, ha boolean, ba jsonb, hb boolean, bb jsonb)
    WHERE l.connection_id = ${connectionId} AND l.a_id = v.a AND l.b_id = v.b`);
}

/** Stops (or reactivates) links: the state says why a pair no longer syncs. */
export async function setLinkStates(db: Db, connectionId: string, rows: { a: string; b: string; state: string }[]) {
  if (rows.length === 0) return;
  await db.execute(sql`
    UPDATE links l SET state = v.state, updated_at = now()
    FROM jsonb_to_recordset(${json(rows)}) AS v(a text, b text, state text)
    WHERE l.connection_id = ${connectionId} AND l.a_id = v.a AND l.b_id = v.b`);
}

/** A contact that synced (or matched) is no longer failed, whatever step failed before. */
export async function resolveFailures(
  db: Db,
  connectionId: string,
  contacts: { side: Side; extId: string }[],
  step?: string,
) {
  if (contacts.length === 0) return;
  await db.execute(sql`
    UPDATE failures f SET resolved_at = now()
    FROM jsonb_to_recordset(${json(contacts)}) AS v(side text, "extId" text)
    WHERE f.connection_id = ${connectionId} AND f.resolved_at IS NULL
      AND f.side = v.side AND f.ext_id = v."extId" ${step ? sql`AND f.step = ${step}` : sql``}`);
}

export async function setOperationStatus(
  db: Db,
  ids: number[],
  status: 'pending' | 'started' | 'done' | 'failed',
) {
  if (ids.length === 0) return;
  await db.update(operations).set({ status, updatedAt: sql`now()` }).where(inArray(operations.id, ids));
}

