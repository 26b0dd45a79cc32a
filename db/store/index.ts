import type { Side } from '../../sync/types';
import type { Db } from '../client';
import type { ConnectionRow } from '../queries/connections';
import type { ConnectionPhase } from '../schema';
import * as connection from './connection';
import * as failures from './failures';
import * as links from './links';
import * as operations from './operations';
import * as outcomes from './outcomes';
import * as plan from './plan';
import * as records from './records';

// The sync store: the one owner of a connection's sync memory (records, links and baselines, operations,
// failures, conflicts, events). The engine asks it by name for what it does, the way vdirsyncer's sync asks
// its status; no other code reads or writes these tables except the API's read-only queries (db/queries).
// Each method that must land whole is one transaction; the files beside this one hold the SQL by concern.

export type { ConnectionRow } from '../queries/connections';
export type { ConnectionPhase } from '../schema';
export type { AmbiguousMatch, ContactName, FailureRow } from './failures';
export type { OperationRow, WriteOperation } from './operations';
export type { ContactNamer, WriteOutcome } from './outcomes';
export type { PlanCommit } from './plan';
export type { ContactRef, RecordRow, StoredRecord } from './records';
export { snapshotOf } from './records';

export class SyncStore {
  constructor(
    private readonly db: Db,
    readonly connectionId: string,
  ) {}

  // The connection itself.

  /** The connection's row, deleted or not; undefined when there is none. */
  connection(): Promise<ConnectionRow | undefined> {
    return connection.loadConnection(this.db, this.connectionId);
  }

  saveCredentials(side: Side, envelope: string): Promise<void> {
    return connection.saveCredentials(this.db, this.connectionId, side, envelope);
  }

  /** Mirrors the workflow's phase, where the API lists connections by it. */
  recordPhase(phase: ConnectionPhase): Promise<void> {
    return connection.recordPhase(this.db, this.connectionId, phase);
  }

  // Scanning: what the apps list.

  /** A page of a full scan (scanId) or of the change feed (null). */
  storeScannedPage(side: Side, page: records.StoredRecord[], scanId: string | null): Promise<void> {
    return records.upsertRecords(this.db, this.connectionId, side, page, { kind: 'listed', scanId });
  }

  recordDeletions(side: Side, ids: string[]): Promise<void> {
    return records.recordDeletions(this.db, this.connectionId, side, ids);
  }

  /** How many of the side's live records the full scan saw: the brake's view before finishing it. */
  scanCoverage(side: Side, scanId: string): Promise<{ live: number; seen: number }> {
    return records.scanCoverage(this.db, this.connectionId, side, scanId);
  }

  /** Ends a full scan: live records it did not see are deleted (and dirty). Returns how many. */
  finishScan(side: Side, scanId: string): Promise<number> {
    return records.markUnseenDeleted(this.db, this.connectionId, side, scanId);
  }

  // Planning.

  takeDirtyBatch(limit: number): Promise<{ records: records.RecordRow[]; remaining: boolean }> {
    return records.takeDirtyBatch(this.db, this.connectionId, limit);
  }

  gatherPlanInput(batch: records.RecordRow[]): ReturnType<typeof plan.gatherPlanInput> {
    return plan.gatherPlanInput(this.db, this.connectionId, batch);
  }

  countActiveLinks(): Promise<number> {
    return links.countActiveLinks(this.db, this.connectionId);
  }

  commitPlan(commit: plan.PlanCommit): Promise<{ queued: number }> {
    return plan.commitPlan(this.db, this.connectionId, commit);
  }

  /** For a resync: every live record is planned again. Returns how many. */
  markAllDirty(): Promise<number> {
    return records.markAllDirty(this.db, this.connectionId);
  }

  /** The brake's cancel: deletions waiting to be planned are dropped. Returns how many. */
  dropHeldDeletions(): Promise<number> {
    return records.dropHeldDeletions(this.db, this.connectionId);
  }

  recheckAmbiguous(): Promise<number> {
    return records.recheckAmbiguous(this.db, this.connectionId);
  }

  // Applying: the planned writes and what became of them.

  takeBatchOperations(batchId: string): Promise<operations.OperationRow[]> {
    return operations.takeBatchOperations(this.db, this.connectionId, batchId);
  }

  /** Just before the app is called, so a retry after a crash knows the write may have happened. */
  markStarted(operationIds: number[]): Promise<void> {
    return operations.setOperationStatus(this.db, operationIds, 'started');
  }

  recordWriteOutcomes(side: Side, written: outcomes.WriteOutcome[], nameOf: outcomes.ContactNamer): Promise<void> {
    return outcomes.recordWriteOutcomes(this.db, this.connectionId, side, written, nameOf);
  }

  // Failure cases: a failed contact's execution in Temporal.

  failuresWithoutCase(limit: number): Promise<failures.FailureRow[]> {
    return failures.failuresWithoutCase(this.db, this.connectionId, limit);
  }

  resolvedWithOpenCase(limit: number): Promise<failures.FailureRow[]> {
    return failures.resolvedWithOpenCase(this.db, this.connectionId, limit);
  }

  unresolvedWithOpenCase(afterId: number, limit: number): Promise<failures.FailureRow[]> {
    return failures.unresolvedWithOpenCase(this.db, this.connectionId, afterId, limit);
  }

  setCaseState(failureIds: number[], state: 'open' | 'closed'): Promise<void> {
    return failures.setCaseState(this.db, failureIds, state);
  }

  failuresOf(contact: records.ContactRef, opts: { open?: boolean } = {}): Promise<failures.FailureRow[]> {
    return failures.failuresOf(this.db, this.connectionId, contact, opts);
  }

  /** A replay: the contact is planned again, and its next outcome answers the request made at `at`. */
  async requestReplay(contact: records.ContactRef, at: Date): Promise<void> {
    await records.markContactDirty(this.db, this.connectionId, contact);
    await failures.markReplayRequested(this.db, this.connectionId, contact, at);
  }

  isDirty(contact: records.ContactRef): Promise<boolean | null> {
    return records.isContactDirty(this.db, this.connectionId, contact);
  }

  /** The contact's open failures are stale: planned again, it had nothing left to write. */
  resolveContact(contact: records.ContactRef): Promise<void> {
    return failures.resolveContact(this.db, this.connectionId, contact);
  }
}
