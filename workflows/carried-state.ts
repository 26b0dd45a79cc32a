import { uuid4 } from '@temporalio/workflow';
import type { Side } from './contract';
import type { ConnectionCounts, ConnectionPhase, CycleResult } from './messages';

/** Where a full scan of one side stands; carried across continue-as-new. */
export interface ScanProgress {
  scanId: string;
  cursor: string | null;
  done: boolean;
  /** the change feed position taken before the scan started */
  feedCursor: string | null;
  pages?: number;
}

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
  };
}

/** The state a run starts from: a new connection's, or the one carried, whose missing fields get defaults. */
export function startingState(carried: CarriedState | undefined): CarriedState {
  // Runs continued from older code may lack newer fields: defaults fill them.
  return carried ? { ...initialState(), ...carried } : initialState();
}
