import { and, count, desc, eq, gte, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client';
import { rowsOf } from '../client';
import { conflicts, events, failures, links, records } from '../schema';

// What ops read about one connection: failures, the activity feed and hourly counts, conflicts.
// Every function takes a connection id the caller has already found in its workspace (findConnection).
//
// Lists are newest first, paged by keyset on (time, id) with a time that never changes once written:
// events' and conflicts' `at`, failures' `first_at` (last_at moves each time the engine tries the contact
// again, so paging on it would skip or repeat rows while a dashboard walks the pages). The cursor carries
// the time in microseconds, PostgreSQL's precision, because a JavaScript Date would round it to
// milliseconds and lose rows written within the same millisecond.

export type FailureRow = typeof failures.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type ConflictRow = typeof conflicts.$inferSelect;

export interface Cursor {
  /** microseconds since the epoch, as digits */
  micros: string;
  id: number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.micros}:${c.id}`).toString('base64url');
}

/** The cursor a page handed out, or null for anything else. */
export function decodeCursor(text: string): Cursor | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(text)) return null;
  const m = /^(-?[0-9]{1,17}):([1-9][0-9]{0,15})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  return m ? { micros: m[1], id: Number(m[2]) } : null;
}

export interface PageQuery {
  limit: number;
  /** the previous page's nextCursor: the next page holds older rows */
  after?: Cursor;
}

export interface Page<T> {
  rows: T[];
  /** the cursor of the next page, or null on the last page */
  next: string | null;
}

type Timed = typeof events.at | typeof conflicts.at | typeof failures.firstAt;
type IdColumn = typeof events.id | typeof conflicts.id | typeof failures.id;

const microsOf = (column: Timed) => sql<string>`(extract(epoch from ${column}) * 1000000)::bigint::text`;

function olderThan(time: Timed, id: IdColumn, after: Cursor | undefined): SQL | undefined {
  if (!after) return undefined;
  return sql`(${time}, ${id}) < (timestamptz 'epoch' + ${after.micros}::bigint * interval '1 microsecond', ${after.id})`;
}

function pageOf<T extends { id: number }>(rows: { row: T; micros: string }[], limit: number): Page<T> {
  // One row more than asked for is fetched, so the last page is known without an empty extra request.
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return { rows: page.map((r) => r.row), next: more ? encodeCursor({ micros: last.micros, id: last.row.id }) : null };
}

export async function listUnresolvedFailures(
  db: Db,
  connectionId: string,
  opts: PageQuery & { kind?: string },
): Promise<Page<FailureRow>> {
  const rows = await db
    .select({ row: failures, micros: microsOf(failures.firstAt) })
    .from(failures)
    .where(
      and(
        eq(failures.connectionId, connectionId),
        isNull(failures.resolvedAt),
        opts.kind === undefined ? undefined : eq(failures.kind, opts.kind),
        olderThan(failures.firstAt, failures.id, opts.after),
      ),
    )
    .orderBy(desc(failures.firstAt), desc(failures.id))
    .limit(opts.limit + 1);
  return pageOf(rows, opts.limit);
}

/** One failure of the connection, resolved or not; null for an id it does not have. */
export async function findFailure(db: Db, connectionId: string, failureId: number): Promise<FailureRow | null> {
  const [row] = await db
    .select()
    .from(failures)
    .where(and(eq(failures.id, failureId), eq(failures.connectionId, connectionId)));
  return row ?? null;
}

/** Up to `limit` unresolved failures, in no particular order: what a retry of every failure replays. */
export function unresolvedFailures(db: Db, connectionId: string, limit: number): Promise<FailureRow[]> {
  return db
    .select()
    .from(failures)
    .where(and(eq(failures.connectionId, connectionId), isNull(failures.resolvedAt)))
    .limit(limit);
}

/** Unresolved failures per kind, whatever filter the listing uses. */
export async function countUnresolvedFailuresByKind(db: Db, connectionId: string): Promise<Record<string, number>> {
  const rows = await db
    .select({ kind: failures.kind, n: count() })
    .from(failures)
    .where(and(eq(failures.connectionId, connectionId), isNull(failures.resolvedAt)))
    .groupBy(failures.kind);
  return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
}

/** Contacts with at least one unresolved failure: what "failed" means to a person, however many attempts or steps. */
export async function countUnresolvedContacts(db: Db, connectionId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<string>`count(distinct (${failures.side}, ${failures.extId}))` })
    .from(failures)
    .where(and(eq(failures.connectionId, connectionId), isNull(failures.resolvedAt)));
  return Number(row?.n ?? 0);
}

export const EVENT_KINDS = ['created', 'updated', 'deleted', 'failed'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface HourlyCount {
  /** hours since the Unix epoch: the bucket, independent of the session's time zone */
  hour: number;
  side: 'a' | 'b';
  kind: EventKind | 'conflict';
  n: number;
}

/**
 * Events and conflicts since `since`, per UTC hour, side and kind. A conflict is counted on the side
 * that was written, the one that lost, like events count the side written.
 */
export async function hourlyCounts(db: Db, connectionId: string, since: Date): Promise<HourlyCount[]> {
  const hourOf = (column: typeof events.at | typeof conflicts.at) => sql<string>`floor(extract(epoch from ${column}) / 3600)::bigint`;
  const fromEvents = await db
    .select({ hour: hourOf(events.at), side: events.side, kind: events.kind, n: count() })
    .from(events)
    .where(and(eq(events.connectionId, connectionId), gte(events.at, since), inArray(events.kind, [...EVENT_KINDS])))
    .groupBy(sql`1`, events.side, events.kind);
  const fromConflicts = await db
    .select({ hour: hourOf(conflicts.at), winner: conflicts.winner, n: count() })
    .from(conflicts)
    .where(and(eq(conflicts.connectionId, connectionId), gte(conflicts.at, since)))
    .groupBy(sql`1`, conflicts.winner);
  const out: HourlyCount[] = [];
  for (const r of fromEvents) {
    // An event without a side is not a write to an app; it has no place in a per-side count.
    if (r.side !== 'a' && r.side !== 'b') continue;
    out.push({ hour: Number(r.hour), side: r.side, kind: r.kind as EventKind, n: Number(r.n) });
  }
  for (const r of fromConflicts) {
    out.push({ hour: Number(r.hour), side: r.winner === 'a' ? 'b' : 'a', kind: 'conflict', n: Number(r.n) });
  }
  return out;
}

export async function listEvents(db: Db, connectionId: string, opts: PageQuery & { since?: Date }): Promise<Page<EventRow>> {
  const rows = await db
    .select({ row: events, micros: microsOf(events.at) })
    .from(events)
    .where(
      and(
        eq(events.connectionId, connectionId),
        opts.since === undefined ? undefined : gte(events.at, opts.since),
        olderThan(events.at, events.id, opts.after),
      ),
    )
    .orderBy(desc(events.at), desc(events.id))
    .limit(opts.limit + 1);
  return pageOf(rows, opts.limit);
}

export async function listConflicts(db: Db, connectionId: string, opts: PageQuery): Promise<Page<ConflictRow>> {
  const rows = await db
    .select({ row: conflicts, micros: microsOf(conflicts.at) })
    .from(conflicts)
    .where(and(eq(conflicts.connectionId, connectionId), olderThan(conflicts.at, conflicts.id, opts.after)))
    .orderBy(desc(conflicts.at), desc(conflicts.id))
    .limit(opts.limit + 1);
  return pageOf(rows, opts.limit);
}

export interface SyncTotals {
  activeLinks: number;
  records: { a: number; b: number };
  unresolvedFailures: number;
}

/** How much of the connection is in sync right now: one round trip, three counts. */
export async function syncTotals(db: Db, connectionId: string): Promise<SyncTotals> {
  const result = await db.execute(sql`
    select
      (select count(*) from ${links} where ${links.connectionId} = ${connectionId} and ${links.state} = 'active')::int as links,
      (select count(*) from ${records} where ${records.connectionId} = ${connectionId} and ${records.side} = 'a' and not ${records.deleted})::int as a,
      (select count(*) from ${records} where ${records.connectionId} = ${connectionId} and ${records.side} = 'b' and not ${records.deleted})::int as b,
      (select count(*) from ${failures} where ${failures.connectionId} = ${connectionId} and ${failures.resolvedAt} is null)::int as failures
  `);
  const [row] = rowsOf<{ links: number; a: number; b: number; failures: number }>(result);
  return {
    activeLinks: Number(row?.links ?? 0),
    records: { a: Number(row?.a ?? 0), b: Number(row?.b ?? 0) },
    unresolvedFailures: Number(row?.failures ?? 0),
  };
}

export interface ConnectionOverview {
  /** linked pairs that sync */
  inSync: number;
  /** contacts with an unresolved failure, each counted once however many steps failed */
  unresolvedFailures: number;
}

/** The overview's figures for several connections in one round trip: two index-backed counts each. */
export async function connectionOverviews(db: Db, connectionIds: string[]): Promise<Map<string, ConnectionOverview>> {
  const out = new Map<string, ConnectionOverview>();
  if (connectionIds.length === 0) return out;
  const result = await db.execute(sql`
    select c.id,
      (select count(*) from ${links} where ${links.connectionId} = c.id and ${links.state} = 'active')::int as in_sync,
      (select count(*) from (
        select distinct ${failures.side}, ${failures.extId} from ${failures}
        where ${failures.connectionId} = c.id and ${failures.resolvedAt} is null
      ) u)::int as unresolved
    from unnest(${sql.param(connectionIds)}::text[]) as c(id)`);
  for (const row of rowsOf<{ id: string; in_sync: number; unresolved: number }>(result)) {
    out.set(row.id, { inSync: Number(row.in_sync), unresolvedFailures: Number(row.unresolved) });
  }
  return out;
}
