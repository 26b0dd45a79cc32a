import { log } from '@temporalio/workflow';
import { io, quick } from './activity-proxies';
import { newReconcile, newScan, reconcileResult } from './carried-state';
import type { PlanMode, Side } from './contract';
import type { LiveConnection } from './live-connection';
import type { ConnectionCounts, SideCounts } from './messages';

// The two passes of a connection, the initial sync and an incremental cycle, in activity steps a pause or a
// stop can come between. Pages and contacts stay in the database: the workflow keeps cursors and counts.

const SIDES: Side[] = ['a', 'b'];

/** Both sides scanned whole, then matched and merged; the connection is running after it. */
export async function initialSync(connection: LiveConnection): Promise<void> {
  const { state } = connection;
  for (const side of SIDES) await scanSide(connection, side);
  if (connection.stopRequested || state.scan.a || state.scan.b) return;
  await planAndApply(connection, 'initial');
  if (connection.stopRequested) return;
  await updateFailureCases(connection);
  // No lastCycleAt yet: the first cycle follows at once, to pick up what changed during the scan. The scan
  // listed everything, so the first reconcile is due an interval from now.
  state.phase = 'running';
  state.lastReconcileAt = new Date().toISOString();
  await connection.mirrorPhase();
}

/** What changed on either side since the last cycle, planned and written; its result shows in status. */
export async function cycle(connection: LiveConnection): Promise<void> {
  const { state } = connection;
  state.syncRequested = false;
  const current = (state.cycleInProgress ??= {
    cycle: state.cycles + 1,
    startedAt: new Date().toISOString(),
    before: JSON.parse(JSON.stringify(state.counts)) as ConnectionCounts,
  });
  // A reconcile cut by a continue-as-new lists on first: a re-scan started by the feed meanwhile would
  // re-mark what its listing has seen.
  if (!state.reconcile) for (const side of SIDES) await fetchSide(connection, side);
  if (!state.reconcile && connection.reconcileDue() && !connection.stopRequested) await beginReconcile(connection, current.cycle);
  if (state.reconcile) await listForReconcile(connection);
  await planAndApply(connection, 'incremental');
  await updateFailureCases(connection);
  if (connection.stopRequested) return;
  state.allowDestructive = false;
  state.cycles = current.cycle;
  state.lastCycleAt = new Date().toISOString();
  const { before } = current;
  const diff = (now: SideCounts, then: SideCounts) => ({ a: now.a - then.a, b: now.b - then.b });
  state.lastCycle = {
    cycle: current.cycle,
    startedAt: current.startedAt,
    finishedAt: state.lastCycleAt,
    created: diff(state.counts.created, before.created),
    updated: diff(state.counts.updated, before.updated),
    deleted: diff(state.counts.deleted, before.deleted),
    failed: state.counts.failed - before.failed,
    conflicts: state.counts.conflicts - before.conflicts,
  };
  state.cycleInProgress = null;
}

async function scanSide(connection: LiveConnection, side: Side): Promise<void> {
  const { connectionId, state } = connection;
  const scan = state.scan[side];
  if (!scan) return;
  if (scan.feedCursor === null) {
    const begun = await connection.step(() => io.beginScan(connectionId, side));
    if (!begun) return;
    scan.feedCursor = begun.feedCursor;
  }
  while (!scan.done && !connection.stopRequested) {
    const page = await connection.step(() => io.scanPage(connectionId, side, scan.cursor, scan.scanId));
    if (!page) return;
    state.counts.scanned[side] += page.count;
    if (page.total !== null) state.counts.total[side] = page.total;
    scan.cursor = page.nextCursor;
    scan.done = page.nextCursor === null;
    scan.pages = (scan.pages ?? 0) + 1;
    if (state.phase === 'initial-scan' && (scan.done || scan.pages % 10 === 0)) connection.showProgress();
    await connection.continueAsNewIfSuggested();
  }
  if (scan.done) {
    // The first scan sees everything there is; a re-scan after an expired feed also reveals deletions.
    if (state.phase !== 'initial-scan') {
      const finished = await connection.step(() => io.finishScan(connectionId, side, scan.scanId));
      if (finished?.brake) {
        const decision = await connection.holdForConfirmation(finished.brake);
        if (decision === 'confirm') {
          await connection.step(() => io.finishScan(connectionId, side, scan.scanId, { confirmed: true }));
        }
      }
    }
    state.feed[side] = scan.feedCursor;
    state.scan[side] = null;
  }
}

/** Reads a side's change feed to its end; an expired feed turns into a re-scan of that side. */
async function fetchSide(connection: LiveConnection, side: Side): Promise<void> {
  const { connectionId, state } = connection;
  let more = true;
  while (more && !connection.stopRequested) {
    const cursor = state.feed[side];
    if (cursor === null) {
      state.scan[side] = newScan();
      await scanSide(connection, side);
      return;
    }
    const changes = await connection.step(() => io.fetchChanges(connectionId, side, cursor));
    if (!changes) return;
    if (changes.expired) {
      log.warn('change feed expired: re-scanning', { connectionId, side });
      state.feed[side] = null;
      continue;
    }
    state.feed[side] = changes.nextCursor;
    more = changes.hasMore;
  }
}

async function beginReconcile(connection: LiveConnection, cycle: number): Promise<void> {
  const { state } = connection;
  const begun = await connection.step(() => io.beginReconcile(connection.connectionId));
  if (!begun) return;
  state.reconcile = newReconcile(cycle, new Date().toISOString(), begun.startedAt);
  state.reconcileRequested = false;
  state.lastReconcileAt = state.reconcile.startedAt;
}

/**
 * Lists both sides, ids and versions, page by page: what the feeds missed is stored dirty, and what the
 * listing did not see is gone (the safety brake guards that as it guards a re-scan). The planning that
 * follows treats both like any change the feeds report.
 */
async function listForReconcile(connection: LiveConnection): Promise<void> {
  const { connectionId, state } = connection;
  const progress = state.reconcile!;
  for (const side of SIDES) {
    const listing = progress.sides[side];
    while (!listing.done && !connection.stopRequested) {
      const page = await connection.step(() => io.reconcilePage(connectionId, side, listing.cursor, progress.scanId));
      if (!page) return;
      listing.listed += page.listed;
      listing.changed += page.changed;
      listing.cursor = page.nextCursor;
      if (page.nextCursor === null) {
        const finished = await finishListing(connection, side);
        if (!finished) return;
        listing.deleted = finished.missing;
        listing.done = true;
      }
      await connection.continueAsNewIfSuggested();
    }
  }
  if (connection.stopRequested) return;
  state.lastReconcile = reconcileResult(progress, new Date().toISOString());
  state.reconcile = null;
  log.info('reconcile finished', { connectionId, ...state.lastReconcile });
}

/** What the listing did not see is gone, unless the brake holds it and nobody confirms. */
async function finishListing(connection: LiveConnection, side: Side): Promise<{ missing: number } | undefined> {
  const { connectionId, state } = connection;
  const { scanId, listingFrom } = state.reconcile!;
  const finished = await connection.step(() => io.finishScan(connectionId, side, scanId, { touchedBefore: listingFrom }));
  if (!finished?.brake) return finished;
  const decision = await connection.holdForConfirmation(finished.brake);
  if (decision !== 'confirm') return decision === 'cancel' ? { missing: 0 } : undefined;
  return connection.step(() => io.finishScan(connectionId, side, scanId, { touchedBefore: listingFrom, confirmed: true }));
}

/** Plans and applies until no changed record is left. */
async function planAndApply(connection: LiveConnection, mode: PlanMode): Promise<void> {
  const { connectionId, state } = connection;
  let remaining = true;
  let rechecked = false;
  let destructiveSoFar = 0;
  while (remaining && !connection.stopRequested) {
    const options = { allowDestructive: state.allowDestructive, destructiveSoFar };
    const plan = await connection.step(() => io.planNextBatch(connectionId, mode, options));
    if (!plan) return;
    if (plan.brake) {
      await connection.holdForConfirmation(plan.brake);
      continue;
    }
    destructiveSoFar += plan.destructive;
    state.counts.matched += plan.linked;
    state.counts.conflicts += plan.conflicts;
    if (plan.writes > 0) {
      const applied = await connection.step(() => io.applyBatch(connectionId, plan.batchId));
      if (!applied) return;
      for (const side of SIDES) {
        state.counts.created[side] += applied.created[side];
        state.counts.updated[side] += applied.updated[side];
        state.counts.deleted[side] += applied.deleted[side];
      }
      state.counts.failed += applied.failed;
      // A stale version re-read the record, which is dirty again: plan once more.
      remaining = plan.remaining || applied.replanned > 0;
    } else {
      remaining = plan.remaining;
    }
    if (!remaining && !rechecked) {
      rechecked = true;
      const again = await connection.step(() => io.recheckAmbiguous(connectionId));
      remaining = (again?.marked ?? 0) > 0;
    }
    await connection.continueAsNewIfSuggested();
  }
}

/** Failed contacts get a case of their own in Temporal; the connection never waits on one. */
async function updateFailureCases(connection: LiveConnection): Promise<void> {
  await connection.step(() => quick.syncFailureCases(connection.connectionId));
}
