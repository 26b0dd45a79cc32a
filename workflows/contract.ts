import type { ConnectionPhase, FailureCaseInput } from './messages';

// The activities the workflows call, owned by the workflows: activities/ implements this interface, so the
// workflow bundle never imports the Node side, and stub activities in tests are checked against it too.
// Every argument and result goes through workflow history: ids, cursors and counts only, never contacts.

export type Side = 'a' | 'b';

/** What the workflow may know about its connection: no credentials, no contacts. */
export interface ConnectionFacts {
  exists: boolean;
  deleted: boolean;
  pollIntervalSeconds: number;
  apps: { a: string; b: string };
}

export interface ScanPageResult {
  nextCursor: string | null;
  count: number;
  total: number | null;
}

export interface FinishScanResult {
  missing: number;
  /** set when the re-scan found too much gone: nothing was marked deleted */
  brake: { reasons: string[] } | null;
}

export interface ChangesResult {
  nextCursor: string;
  count: number;
  hasMore: boolean;
  /** the app rejected the cursor: the side needs a full re-scan */
  expired: boolean;
}

export type PlanMode = 'initial' | 'incremental';

export interface PlanOptions {
  /** someone confirmed this cycle's deletions */
  allowDestructive?: boolean;
  /** trash and delete operations already planned in this cycle */
  destructiveSoFar?: number;
}

export interface PlanResult {
  batchId: string;
  /** records decided on in this batch */
  planned: number;
  /** operations that write to an app, waiting for applyBatch */
  writes: number;
  linked: number;
  conflicts: number;
  ambiguous: number;
  /** more dirty records wait after this batch */
  remaining: boolean;
  /** trash and delete operations this batch planned */
  destructive: number;
  /** set when the safety brake held the batch: nothing was recorded or queued */
  brake: { reasons: string[] } | null;
}

export interface ApplyResult {
  created: { a: number; b: number };
  updated: { a: number; b: number };
  deleted: { a: number; b: number };
  failed: number;
  /** writes refused for a stale version: the records were read again and will be merged again */
  replanned: number;
}

export interface Activities {
  loadConnection(connectionId: string): Promise<ConnectionFacts>;
  /** Mirrors the workflow's phase into the database, where the API lists connections by phase. */
  recordPhase(connectionId: string, phase: ConnectionPhase): Promise<void>;
  /** Marks every contact of the connection to be planned again (a resync); returns how many. */
  markAllDirty(connectionId: string): Promise<{ marked: number }>;

  /** The feed position at "now", taken before a full scan so changes made during the scan are not missed. */
  beginScan(connectionId: string, side: Side): Promise<{ feedCursor: string }>;
  scanPage(connectionId: string, side: Side, cursor: string | null, scanId: string): Promise<ScanPageResult>;
  /** After a re-scan, what the scan did not see is gone from the app (unless the brake holds it). */
  finishScan(connectionId: string, side: Side, scanId: string, options?: { confirmed?: boolean }): Promise<FinishScanResult>;
  fetchChanges(connectionId: string, side: Side, cursor: string): Promise<ChangesResult>;

  planNextBatch(connectionId: string, mode: PlanMode, options?: PlanOptions): Promise<PlanResult>;
  /** The brake's cancel: the deletions seen this cycle are not acted on; links stay. */
  dropDeletions(connectionId: string): Promise<{ dropped: number }>;
  recheckAmbiguous(connectionId: string): Promise<{ marked: number }>;
  applyBatch(connectionId: string, batchId: string): Promise<ApplyResult>;

  syncFailureCases(connectionId: string): Promise<{ opened: number; closed: number }>;
  /** After a settings change: every open case of the connection replays its contact at once. */
  retryFailureCases(connectionId: string): Promise<{ retried: number }>;
  replayContact(input: FailureCaseInput): Promise<'synced' | 'connection-deleted'>;
}
