import { and, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import { FeedExpiredError } from '../connectors/errors';
import type { Db } from '../db/client';
import { records } from '../db/schema';
import { brakeCheck } from '../sync/brake';
import { emailKeys } from '../sync/match';
import type { AppRecord, FieldDef, Side } from '../sync/types';
import type { ChangesResult, ScanPageResult } from '../workflows/contract';
import { catalogOf, loadConnectionRow, openSide, type ActivityDeps } from './context';
import { withFailureKinds } from './failure';

/**
 * Stores records as the app listed them. A record becomes dirty (to be planned) only when its content or
 * its deletion changed: an app that bumps a version without changing anything causes no planning.
 */
export async function storeRecords(
  db: Db,
  connectionId: string,
  side: Side,
  list: AppRecord[],
  catalog: FieldDef[],
  scanId: string | null,
): Promise<void> {
  if (list.length === 0) return;
  const rows = dedupeById(list).map((r) => ({
    connectionId,
    side,
    extId: r.id,
    version: r.version,
    fields: r.fields,
    emails: emailKeys(r.fields, catalog),
    deleted: false,
    dirty: true,
    scanId,
  }));
  await db
    .insert(records)
    .values(rows)
    .onConflictDoUpdate({
      target: [records.connectionId, records.side, records.extId],
      set: {
        version: sql`excluded.version`,
        fields: sql`excluded.fields`,
        emails: sql`excluded.emails`,
        deleted: sql`false`,
        dirty: sql`${records.dirty} OR ${records.deleted} OR ${records.fields} IS DISTINCT FROM excluded.fields`,
        scanId: scanId === null ? sql`${records.scanId}` : sql`excluded.scan_id`,
        updatedAt: sql`CASE WHEN ${records.deleted} OR ${records.fields} IS DISTINCT FROM excluded.fields THEN now() ELSE ${records.updatedAt} END`,
      },
    });
}

export async function markDeleted(db: Db, connectionId: string, side: Side, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(records)
    .set({ deleted: true, dirty: true, updatedAt: sql`now()` })
    .where(
      and(
        eq(records.connectionId, connectionId),
        eq(records.side, side),
        inArray(records.extId, ids),
        eq(records.deleted, false),
      ),
    );
}

function dedupeById(list: AppRecord[]): AppRecord[] {
  const byId = new Map<string, AppRecord>();
  for (const r of list) byId.set(r.id, r);
  return [...byId.values()];
}

export function scanActivities(deps: ActivityDeps) {
  const pageSize = deps.pageSize ?? 100;

  async function open(connectionId: string, side: Side) {
    const row = await loadConnectionRow(deps.db, connectionId);
    if (!row) throw new Error(`connection ${connectionId} not found`);
    const access = openSide(deps, row, side);
    return { row, access, catalog: await catalogOf(row, side, access) };
  }

  return {
    /** The feed position at "now", taken before a full scan so changes made during the scan are not missed. */
    async beginScan(connectionId: string, side: Side): Promise<{ feedCursor: string }> {
      return withFailureKinds(async () => {
        const { access } = await open(connectionId, side);
        return { feedCursor: await access.connector.currentCursor() };
      });
    },

    async scanPage(connectionId: string, side: Side, cursor: string | null, scanId: string): Promise<ScanPageResult> {
      return withFailureKinds(async () => {
        const { access, catalog } = await open(connectionId, side);
        const page = await access.connector.listPage(cursor, Math.min(pageSize, access.app.capabilities.maxPageSize));
        await storeRecords(deps.db, connectionId, side, page.records, catalog, scanId);
        return { nextCursor: page.nextCursor, count: page.records.length, total: page.total ?? null };
      });
    },

    /** After a re-scan, what the scan did not see is gone from the app. */
    async finishScan(
      connectionId: string,
      side: Side,
      scanId: string,
      options: { confirmed?: boolean } = {},
    ): Promise<{ missing: number; brake: { reasons: string[] } | null }> {
      const mine = and(eq(records.connectionId, connectionId), eq(records.side, side), eq(records.deleted, false));
      if (!options.confirmed) {
        // An outage or a paging bug looks like an empty account: that must not become a mass deletion.
        const [counts] = await deps.db
          .select({
            live: sql<number>`count(*)::int`,
            seen: sql<number>`count(*) filter (where ${records.scanId} = ${scanId})::int`,
          })
          .from(records)
          .where(mine);
        const verdict = brakeCheck({
          linkedCount: 0,
          ops: [],
          share: 1,
          previousCounts: { a: 0, b: 0, [side]: counts.live },
          currentCounts: { a: 1, b: 1, [side]: counts.seen },
        });
        if (verdict.needsConfirmation) return { missing: 0, brake: { reasons: verdict.reasons } };
      }
      const gone = await deps.db
        .update(records)
        .set({ deleted: true, dirty: true, updatedAt: sql`now()` })
        .where(and(mine, or(isNull(records.scanId), ne(records.scanId, scanId))))
        .returning({ id: records.extId });
      return { missing: gone.length, brake: null };
    },

    async fetchChanges(connectionId: string, side: Side, cursor: string): Promise<ChangesResult> {
      return withFailureKinds(async () => {
        const { access, catalog } = await open(connectionId, side);
        try {
          const set = await access.connector.changesSince(cursor, Math.min(pageSize, access.app.capabilities.maxPageSize));
          const upserts: AppRecord[] = [];
          const deletions: string[] = [];
          for (const change of set.changes) {
            if (change.deleted) deletions.push(change.id);
            else upserts.push(change.record);
          }
          await storeRecords(deps.db, connectionId, side, upserts, catalog, null);
          await markDeleted(deps.db, connectionId, side, deletions);
          return { nextCursor: set.nextCursor, count: set.changes.length, hasMore: set.hasMore, expired: false };
        } catch (err) {
          if (err instanceof FeedExpiredError) return { nextCursor: cursor, count: 0, hasMore: false, expired: true };
          throw err;
        }
      });
    },
  };
}
