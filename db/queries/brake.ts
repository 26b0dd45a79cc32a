import { sql, type SQL } from 'drizzle-orm';
import type { Side } from '../../sync/types';
import { rowsOf, type Db } from '../client';
import type { Fields } from '../store/json';
import { linkOfEach, type ContactCursor } from './contacts';

// The contacts whose deletion the safety brake holds, for its banner: what Confirm would let through.
// While the brake holds a cycle's plan, its deletions are the records stored deleted and not yet planned
// (deleted and dirty, what Cancel drops: db/store/records.ts dropHeldDeletions); while it holds a listing
// that came back empty, they are every live contact of that side, which Confirm would mark deleted. Only
// linked contacts are listed: an unlinked deletion changes nothing on the other side, and the brake never
// counts it. Paged by keyset on (side, ext_id), like the contact-status listing.

export interface HeldQuery {
  /** sides whose listing came back empty: their live contacts are held too */
  emptySides: Side[];
  limit: number;
  after?: ContactCursor;
}

export interface HeldRow {
  side: Side;
  extId: string;
  fields: Fields;
  emails: string[];
  /** its linked contact's id on the other side */
  linkedId: string;
  /** whether that contact is gone too (then the pair only unlinks) */
  partnerDeleted: boolean;
}

function heldWhere(connectionId: string, emptySides: Side[]): SQL {
  const held = emptySides.length
    ? sql`((r.deleted AND r.dirty) OR (NOT r.deleted AND r.side IN (${sql.join(emptySides.map((s) => sql`${s}`), sql`, `)})))`
    : sql`r.deleted AND r.dirty`;
  return sql`r.connection_id = ${connectionId} AND ${held}`;
}

export async function listHeldDeletions(db: Db, connectionId: string, query: HeldQuery): Promise<{ rows: HeldRow[]; next: ContactCursor | null }> {
  const after = query.after ? sql`AND (r.side, r.ext_id) > (${query.after.side}, ${query.after.extId})` : sql``;
  const result = await db.execute(sql`
    SELECT r.side, r.ext_id AS "extId", r.fields, r.emails, l.other AS "linkedId", coalesce(o.deleted, false) AS "partnerDeleted"
    FROM records r
    ${linkOfEach(connectionId)}
    LEFT JOIN records o ON o.connection_id = r.connection_id AND o.side = (CASE WHEN r.side = 'a' THEN 'b' ELSE 'a' END) AND o.ext_id = l.other
    WHERE ${heldWhere(connectionId, query.emptySides)} AND l.state = 'active' ${after}
    ORDER BY r.side, r.ext_id
    LIMIT ${query.limit + 1}`);
  const raw = rowsOf<Record<string, unknown>>(result);
  const more = raw.length > query.limit;
  const rows = (more ? raw.slice(0, query.limit) : raw).map(
    (r): HeldRow => ({
      side: r.side as Side,
      extId: r.extId as string,
      fields: (typeof r.fields === 'string' ? JSON.parse(r.fields) : r.fields) as Fields,
      emails: (r.emails as string[] | null) ?? [],
      linkedId: r.linkedId as string,
      partnerDeleted: r.partnerDeleted === true,
    }),
  );
  const last = rows[rows.length - 1];
  return { rows, next: more && last ? { side: last.side, extId: last.extId } : null };
}

/** How many linked contacts the brake holds, whatever the page. */
export async function countHeldDeletions(db: Db, connectionId: string, emptySides: Side[]): Promise<number> {
  const result = await db.execute(sql`
    SELECT count(*)::int AS n FROM records r
    ${linkOfEach(connectionId)}
    WHERE ${heldWhere(connectionId, emptySides)} AND l.state = 'active'`);
  return Number(rowsOf<{ n: number }>(result)[0]?.n ?? 0);
}
