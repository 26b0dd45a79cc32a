import { and, eq, inArray, or, sql } from 'drizzle-orm';
import type { Link } from '../../sync/plan-types';
import type { Db } from '../client';
import { links } from '../schema';
import { jsonRows, type Fields } from './json';

// Which contacts are the same person, and the baselines: what both sides held when they last agreed.

export type LinkRow = typeof links.$inferSelect;

export const linkOf = (l: LinkRow): Link => ({
  a: l.aId,
  b: l.bId,
  baselineA: l.baselineA ?? null,
  baselineB: l.baselineB ?? null,
  state: l.state,
});

export interface NewLink {
  a: string;
  b: string;
  baselineA: Fields | null;
  baselineB: Fields | null;
}

export async function upsertLinks(db: Db, connectionId: string, rows: NewLink[]): Promise<void> {
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

export interface BaselineChange {
  a: string;
  b: string;
  /** undefined keeps the side's baseline */
  baselineA?: Fields | null;
  baselineB?: Fields | null;
}

export async function setBaselines(db: Db, connectionId: string, rows: BaselineChange[]): Promise<void> {
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
    FROM jsonb_to_recordset(${jsonRows(data)}) AS v(a text, b text, ha boolean, ba jsonb, hb boolean, bb jsonb)
    WHERE l.connection_id = ${connectionId} AND l.a_id = v.a AND l.b_id = v.b`);
}

/** Stops (or reactivates) links: the state says why a pair no longer syncs. */
export async function setLinkStates(db: Db, connectionId: string, rows: { a: string; b: string; state: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.execute(sql`
    UPDATE links l SET state = v.state, updated_at = now()
    FROM jsonb_to_recordset(${jsonRows(rows)}) AS v(a text, b text, state text)
    WHERE l.connection_id = ${connectionId} AND l.a_id = v.a AND l.b_id = v.b`);
}

/** Stopped links too: a record whose link stopped must not look unlinked, or it would be matched again. */
export async function linksTouching(db: Db, connectionId: string, aIds: string[], bIds: string[]): Promise<LinkRow[]> {
  if (aIds.length === 0 && bIds.length === 0) return [];
  const touching = [];
  if (aIds.length) touching.push(inArray(links.aId, aIds));
  if (bIds.length) touching.push(inArray(links.bId, bIds));
  return db
    .select()
    .from(links)
    .where(and(eq(links.connectionId, connectionId), or(...touching)));
}

export async function countActiveLinks(db: Db, connectionId: string): Promise<number> {
  const [{ linked }] = await db
    .select({ linked: sql<number>`count(*)::int` })
    .from(links)
    .where(and(eq(links.connectionId, connectionId), eq(links.state, 'active')));
  return linked;
}
