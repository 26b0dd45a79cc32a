import { sql, type SQL } from 'drizzle-orm';
import type { Side } from '../../sync/types';
import { rowsOf, type Db } from '../client';
import type { Fields } from '../store/json';

// Every contact of a connection with its sync status, for the dashboard's Health tab. The status is derived,
// per record, from what the sync store already keeps, in this order:
//
// | an unresolved failure (not a match) | failed     | the app refused a write of it                      |
// | an unresolved ambiguous match       | ambiguous  | several contacts on the other side share its email |
// | dirty                               | pending    | changed since it was last planned: the next cycle  |
// | an active link                      | in-sync    |                                                    |
// | a stopped link, or excluded_by set  | excluded   | by the rules, the direction, or its pair stopped   |
// | no email, and avoid duplicates on   | no-email   | never matched, never created                       |
// | otherwise                           | pending    | its create is queued or waits for a cycle          |
//
// Pages are keyset-ordered on (side, ext_id), the primary key's order, which never changes for a record, so
// a dashboard walking the pages while the sync runs sees no row twice and skips none that existed throughout.

export const CONTACT_STATUSES = ['in-sync', 'pending', 'excluded', 'no-email', 'ambiguous', 'failed'] as const;
export type ContactStatus = (typeof CONTACT_STATUSES)[number];

export interface ContactCursor {
  side: Side;
  extId: string;
}

export function encodeContactCursor(c: ContactCursor): string {
  return Buffer.from(`${c.side}:${c.extId}`, 'utf8').toString('base64url');
}

/** The cursor a page handed out, or null for anything else. */
export function decodeContactCursor(text: string): ContactCursor | null {
  if (!/^[A-Za-z0-9_-]{1,700}$/.test(text)) return null;
  const m = /^([ab]):(.+)$/s.exec(Buffer.from(text, 'base64url').toString('utf8'));
  return m ? { side: m[1] as Side, extId: m[2] } : null;
}

/** The field keys a side's names are read from (the catalog's canonical firstName, lastName, company). */
export interface NameKeys {
  first?: string;
  last?: string;
  company?: string;
}

export interface ContactQuery {
  status?: ContactStatus;
  side?: Side;
  /** case-insensitive substring of the name or any email */
  q?: string;
  limit: number;
  after?: ContactCursor;
  nameKeys: Record<Side, NameKeys>;
  avoidDuplicates: boolean;
}

export interface ContactRow {
  side: Side;
  extId: string;
  fields: Fields;
  emails: string[];
  updatedAt: Date;
  status: ContactStatus;
  excludedBy: 'rules' | 'direction' | null;
  /** the link's state when the record has one: active, or why it stopped */
  linkState: string | null;
  linkedId: string | null;
  failure: { id: number; kind: string; message: string; step: string; attempts: number; lastAt: Date } | null;
}

export type ContactCounts = Record<ContactStatus, number>;

/** The status of `r` from its link's state, failure summary (f: kind of the worst failure) and flags. */
function statusOf(avoidDuplicates: boolean, linkState: SQL): SQL {
  return sql`CASE
    WHEN f.kind IS NOT NULL AND f.kind <> 'ambiguous' THEN 'failed'
    WHEN f.kind = 'ambiguous' THEN 'ambiguous'
    WHEN r.dirty THEN 'pending'
    WHEN ${linkState} = 'active' THEN 'in-sync'
    WHEN ${linkState} IS NOT NULL OR r.excluded_by IS NOT NULL THEN 'excluded'
    WHEN cardinality(r.emails) = 0 AND ${avoidDuplicates} THEN 'no-email'
    ELSE 'pending'
  END`;
}

/**
 * For the counts, over every record: the record's link on its own side's column, as hash joins (the other
 * join finds nothing).
 */
const linkJoins = (connectionId: string) => sql`
  LEFT JOIN links la ON r.side = 'a' AND la.connection_id = ${connectionId} AND la.a_id = r.ext_id
  LEFT JOIN links lb ON r.side = 'b' AND lb.connection_id = ${connectionId} AND lb.b_id = r.ext_id`;

/**
 * For a page: each record's link looked up by index, one probe per record (the branch of the other side is
 * skipped), which a page of fifty needs rather than hashing every link of the connection.
 */
export const linkOfEach = (connectionId: string) => sql`
  LEFT JOIN LATERAL (
    SELECT state, b_id AS other FROM links WHERE r.side = 'a' AND connection_id = ${connectionId} AND a_id = r.ext_id
    UNION ALL
    SELECT state, a_id FROM links WHERE r.side = 'b' AND connection_id = ${connectionId} AND b_id = r.ext_id
    LIMIT 1
  ) l ON true`;

const likePattern = (q: string) => `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function nameOf(keys: NameKeys): SQL {
  const parts = [keys.first, keys.last, keys.company].filter((k): k is string => !!k).map((k) => sql`r.fields->>${k}`);
  return parts.length ? sql`lower(concat_ws(' ', ${sql.join(parts, sql`, `)}))` : sql`''`;
}

function searchOf(q: string, nameKeys: Record<Side, NameKeys>): SQL {
  const pattern = likePattern(q);
  return sql`(array_to_string(r.emails, ' ') LIKE ${pattern}
    OR (CASE WHEN r.side = 'a' THEN ${nameOf(nameKeys.a)} ELSE ${nameOf(nameKeys.b)} END) LIKE ${pattern})`;
}

/**
 * A condition every record of the status meets, that an index can find: with 100,000 contacts a side, the
 * rare statuses would otherwise be found by judging every record.
 */
function narrowTo(connectionId: string, status: ContactStatus | undefined): SQL | undefined {
  const unresolved = (kind: SQL) => sql`(r.side, r.ext_id) IN (
    SELECT side, ext_id FROM failures WHERE connection_id = ${connectionId} AND resolved_at IS NULL AND ${kind})`;
  switch (status) {
    case 'failed':
      return unresolved(sql`kind <> 'ambiguous'`);
    case 'ambiguous':
      return unresolved(sql`kind = 'ambiguous'`);
    case 'no-email':
      return sql`cardinality(r.emails) = 0`;
    case 'excluded':
      return sql`(r.side, r.ext_id) IN (
        SELECT side, ext_id FROM records WHERE connection_id = ${connectionId} AND excluded_by IS NOT NULL
        UNION ALL SELECT 'a', a_id FROM links WHERE connection_id = ${connectionId} AND state <> 'active'
        UNION ALL SELECT 'b', b_id FROM links WHERE connection_id = ${connectionId} AND state <> 'active')`;
    default:
      return undefined;
  }
}

export async function listContacts(db: Db, connectionId: string, query: ContactQuery): Promise<{ rows: ContactRow[]; next: ContactCursor | null }> {
  const where: SQL[] = [sql`r.connection_id = ${connectionId}`, sql`NOT r.deleted`];
  if (query.side) where.push(sql`r.side = ${query.side}`);
  if (query.after) where.push(sql`(r.side, r.ext_id) > (${query.after.side}, ${query.after.extId})`);
  if (query.q) where.push(searchOf(query.q, query.nameKeys));
  const narrow = narrowTo(connectionId, query.status);
  if (narrow) where.push(narrow);
  const result = await db.execute(sql`
    SELECT * FROM (
      SELECT r.side, r.ext_id AS "extId", r.fields, r.emails, r.updated_at AS "updatedAt", r.excluded_by AS "excludedBy",
        l.state AS "linkState",
        CASE WHEN l.state = 'active' THEN l.other END AS "linkedId",
        f.id AS "failureId", f.kind AS "failureKind", f.message AS "failureMessage", f.step AS "failureStep",
        f.attempts AS "failureAttempts", f.last_at AS "failureLastAt",
        ${statusOf(query.avoidDuplicates, sql`l.state`)} AS status
      FROM records r
      ${linkOfEach(connectionId)}
      LEFT JOIN LATERAL (
        SELECT id, kind, message, step, attempts, last_at FROM failures
        WHERE connection_id = ${connectionId} AND side = r.side AND ext_id = r.ext_id AND resolved_at IS NULL
        ORDER BY kind = 'ambiguous', last_at DESC, id DESC
        LIMIT 1
      ) f ON true
      WHERE ${sql.join(where, sql` AND `)}
    ) c
    ${query.status ? sql`WHERE c.status = ${query.status}` : sql``}
    ORDER BY c.side, c."extId"
    LIMIT ${query.limit + 1}`);
  const raw = rowsOf<Record<string, unknown>>(result);
  const more = raw.length > query.limit;
  const rows = (more ? raw.slice(0, query.limit) : raw).map(toContactRow);
  const last = rows[rows.length - 1];
  return { rows, next: more && last ? { side: last.side, extId: last.extId } : null };
}

function toContactRow(r: Record<string, unknown>): ContactRow {
  const date = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));
  return {
    side: r.side as Side,
    extId: r.extId as string,
    fields: (typeof r.fields === 'string' ? JSON.parse(r.fields) : r.fields) as Fields,
    emails: (r.emails as string[] | null) ?? [],
    updatedAt: date(r.updatedAt),
    status: r.status as ContactStatus,
    excludedBy: (r.excludedBy as ContactRow['excludedBy']) ?? null,
    linkState: (r.linkState as string | null) ?? null,
    linkedId: (r.linkedId as string | null) ?? null,
    failure:
      r.failureId === null || r.failureId === undefined
        ? null
        : {
            id: Number(r.failureId),
            kind: r.failureKind as string,
            message: r.failureMessage as string,
            step: r.failureStep as string,
            attempts: Number(r.failureAttempts),
            lastAt: date(r.failureLastAt),
          },
  };
}

/** How many contacts have each status, over the whole connection: one pass with hash joins. */
export async function countContacts(db: Db, connectionId: string, opts: { avoidDuplicates: boolean }): Promise<ContactCounts> {
  const result = await db.execute(sql`
    SELECT status, count(*)::int AS n FROM (
      SELECT ${statusOf(opts.avoidDuplicates, sql`coalesce(la.state, lb.state)`)} AS status
      FROM records r
      ${linkJoins(connectionId)}
      LEFT JOIN (
        SELECT side, ext_id, CASE WHEN bool_or(kind <> 'ambiguous') THEN 'failed' ELSE 'ambiguous' END AS kind
        FROM failures WHERE connection_id = ${connectionId} AND resolved_at IS NULL
        GROUP BY side, ext_id
      ) f ON f.side = r.side AND f.ext_id = r.ext_id
      WHERE r.connection_id = ${connectionId} AND NOT r.deleted
    ) c GROUP BY status`);
  const counts = Object.fromEntries(CONTACT_STATUSES.map((s) => [s, 0])) as ContactCounts;
  for (const row of rowsOf<{ status: ContactStatus; n: number }>(result)) counts[row.status] = Number(row.n);
  return counts;
}
