import { FeedExpiredError } from '../connectors/errors';
import { SyncStore } from '../db/store';
import { brakeCheck } from '../sync/brake';
import { compareListing, type ListedVersion } from '../sync/reconcile';
import type { AppRecord, Side } from '../sync/types';
import { catalogOf, openConnection, openSide, type ActivityDeps } from './context';
import { storedRecord } from './describe';
import { withFailureKinds } from './failure';
import type { ChangesResult, FinishScanOptions, FinishScanResult, ReconcilePageResult, ScanPageResult } from '../workflows/contract';

export function scanActivities(deps: ActivityDeps) {
  const pageSize = deps.pageSize ?? 100;

  async function open(connectionId: string, side: Side) {
    const { store, row } = await openConnection(deps, connectionId);
    const access = openSide(deps, row, side);
    const catalog = await catalogOf(row, side, access);
    const stored = (list: AppRecord[]) => list.map((r) => storedRecord(r, catalog));
    return { store, access, stored };
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
        const { store, access, stored } = await open(connectionId, side);
        const page = await access.connector.listPage(cursor, Math.min(pageSize, access.app.capabilities.maxPageSize));
        await store.storeScannedPage(side, stored(page.records), scanId);
        return { nextCursor: page.nextCursor, count: page.records.length, total: page.total ?? null };
      });
    },

    /** After a re-scan or a reconcile's listing, what the listing did not see is gone from the app. */
    async finishScan(connectionId: string, side: Side, scanId: string, options: FinishScanOptions = {}): Promise<FinishScanResult> {
      const store = new SyncStore(deps.db, connectionId);
      const touchedBefore = options.touchedBefore === undefined ? undefined : new Date(options.touchedBefore);
      if (!options.confirmed) {
        // An outage or a paging bug looks like an empty account: that must not become a mass deletion.
        const counts = await store.scanCoverage(side, scanId, touchedBefore);
        const verdict = brakeCheck({
          linkedCount: 0,
          ops: [],
          share: 1,
          previousCounts: { a: 0, b: 0, [side]: counts.live },
          currentCounts: { a: 1, b: 1, [side]: counts.seen },
        });
        if (verdict.needsConfirmation) return { missing: 0, brake: { reasons: verdict.reasons } };
      }
      return { missing: await store.finishScan(side, scanId, touchedBefore), brake: null };
    },

    async beginReconcile(connectionId: string): Promise<{ startedAt: string }> {
      return { startedAt: (await new SyncStore(deps.db, connectionId).now()).toISOString() };
    },

    /**
     * A page of the reconcile's listing. Contacts listed at their stored version are in sync and only marked
     * seen; the others are read (the full listing already holds them) and stored like any listed contact, so
     * only a changed content is planned. Retried after a crash, the same page gives the same result.
     */
    async reconcilePage(connectionId: string, side: Side, cursor: string | null, scanId: string): Promise<ReconcilePageResult> {
      return withFailureKinds(async () => {
        const { store, access, stored } = await open(connectionId, side);
        const { connector } = access;
        const size = Math.min(pageSize, access.app.capabilities.maxPageSize);
        let entries: ListedVersion[];
        let read: Map<string, AppRecord> | null = null;
        let next: { nextCursor: string | null; total?: number };
        if (connector.listVersions) {
          const page = await connector.listVersions(cursor, size);
          entries = page.entries;
          next = page;
        } else {
          const page = await connector.listPage(cursor, size);
          entries = page.records.map((r) => ({ id: r.id, version: r.version }));
          read = new Map(page.records.map((r) => [r.id, r]));
          next = page;
        }
        const verdict = compareListing(await store.knownVersions(side, entries.map((e) => e.id)), entries);
        await store.markSeen(side, verdict.unchanged, scanId);
        const fetched: AppRecord[] = [];
        for (const id of verdict.differ) {
          // Gone since it was listed: left unseen, so finishing the listing finds it gone.
          const record = read ? read.get(id) : await connector.get(id);
          if (record) fetched.push(record);
        }
        const changed = await store.storeScannedPage(side, stored(fetched), scanId);
        return { nextCursor: next.nextCursor, listed: entries.length, changed: changed.length, total: next.total ?? null };
      });
    },

    async fetchChanges(connectionId: string, side: Side, cursor: string): Promise<ChangesResult> {
      return withFailureKinds(async () => {
        const { store, access, stored } = await open(connectionId, side);
        try {
          const set = await access.connector.changesSince(cursor, Math.min(pageSize, access.app.capabilities.maxPageSize));
          const upserts: AppRecord[] = [];
          const deletions: string[] = [];
          for (const change of set.changes) {
            if (change.deleted) deletions.push(change.id);
            else upserts.push(change.record);
          }
          await store.storeScannedPage(side, stored(upserts), null);
          await store.recordDeletions(side, deletions);
          return { nextCursor: set.nextCursor, count: set.changes.length, hasMore: set.hasMore, expired: false };
        } catch (err) {
          if (err instanceof FeedExpiredError) return { nextCursor: cursor, count: 0, hasMore: false, expired: true };
          throw err;
        }
      });
    },
  };
}
