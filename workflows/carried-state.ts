import { uuid4 } from '@temporalio/workflow';
import type { Side } from './contract';
import type { ConnectionCounts, ConnectionPhase, CycleResult, ReconcileResult, SideCounts } from './messages';

/** Where a full scan of one side stands; carried across continue-as-new. */
export interface ScanProgress {
  scanId: string;
  cursor: string | null;
  done: boolean;
  /** the change feed position taken before the scan started */
  feedCursor: string | null;
  pages?: number;
}

/** Where a reconcile's listing stands on one side. */
export interface ReconcileSide {
  cursor: string | null;
  /** listed to the end and finished: what it did not see is marked gone */
  done: boolean;
  listed: number;
  changed: number;
  deleted: number;
}

/** A reconcile under way; carried across continue-as-new, so a new run lists on from the page it reached. */
export interface ReconcileProgress {
  scanId: string;
  cycle: number;
  startedAt: string;
  /** the database's time when the listing began: records stored since cannot be judged gone by it */
  listingFrom: string;
  sides: Record<Side, ReconcileSide>;
}

export const newReconcile = (cycle: number, startedAt: string, listingFrom: string): ReconcileProgress => {
  const side = (): ReconcileSide => ({ cursor: null, done: false, listed: 0, changed: 0, deleted: 0 });
  return { scanId: uuid4(), cycle, startedAt, listingFrom, sides: { a: side(), b: side() } };
};

export const reconcileResult = (progress: ReconcileProgress, finishedAt: string): ReconcileResult => {
  const per = (key: 'listed' | 'changed' | 'deleted'): SideCounts => ({ a: progress.sides.a[key], b: progress.sides.b[key] });
  const { cycle, startedAt } = progress;
  return { cycle, startedAt, finishedAt, listed: per('listed'), changed: per('changed'), deleted: per('deleted') };
};

/** Everything the connection remembers between runs: cursors and counts, never contacts. */
export interface CarriedState {
  version: 1;
  phase: Exclude<ConnectionPhase, 'paused'>;
  paused: boolean;
  pollIntervalSeconds: number;
  scan: Record<Side, ScanProgress | null>;
  feed: Record<Side, string | null>;
  syncRequested: boolean;
  cycles: number;
  lastCycleAt: string | null;
  lastError: string | null;
  brake: { reasons: string[] } | null;
  /** a person confirmed the held deletions: the rest of this cycle may trash and delete */
  allowDestructive: boolean;
  lastCycle: CycleResult | null;
  /** a cycle that a continue-as-new interrupted: the next run finishes it first */
  cycleInProgress: { cycle: number; startedAt: string; before: ConnectionCounts } | null;
  counts: ConnectionCounts;
  reconcileIntervalHours: number;
  /** someone asked for a reconcile: the next cycle starts one */
  reconcileRequested: boolean;
  /** when the last reconcile began (the initial sync counts: it lists everything); null: none yet */
  lastReconcileAt: string | null;
  reconcile: ReconcileProgress | null;
  lastReconcile: ReconcileResult | null;
}

export interface ConnectionInput {
  connectionId: string;
  state?: CarriedState;
}

const emptyCounts = (): ConnectionCounts => ({
  scanned: { a: 0, b: 0 },
  total: { a: null, b: null },
  matched: 0,
  created: { a: 0, b: 0 },
  updated: { a: 0, b: 0 },
  deleted: { a: 0, b: 0 },
  failed: 0,
  conflicts: 0,
});

export const newScan = (): ScanProgress => ({ scanId: uuid4(), cursor: null, done: false, feedCursor: null });

function initialState(): CarriedState {
  return {
    version: 1,
    phase: 'initial-scan',
    paused: false,
    pollIntervalSeconds: 30,
    scan: { a: newScan(), b: newScan() },
    feed: { a: null, b: null },
    syncRequested: false,
    cycles: 0,
    lastCycleAt: null,
    lastError: null,
    brake: null,
    allowDestructive: false,
    lastCycle: null,
    cycleInProgress: null,
    counts: emptyCounts(),
    reconcileIntervalHours: 24,
    reconcileRequested: false,
    lastReconcileAt: null,
    reconcile: null,
    lastReconcile: null,
  };
}

/** The state a run starts from: a new connection's, or the one carried, whose missing fields get defaults. */
export function startingState(carried: CarriedState | undefined): CarriedState {
  // Runs continued from older code may lack newer fields: defaults fill them. A connection that never had a
  // reconcile counts its interval from this run, so a deploy does not list every connection's apps at once.
  if (!carried) return initialState();
  const lastReconcileAt = carried.lastReconcileAt === undefined ? new Date().toISOString() : carried.lastReconcileAt;
  return { ...initialState(), ...carried, lastReconcileAt };
}
