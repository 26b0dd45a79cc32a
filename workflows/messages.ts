import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RetrySchedule } from './retry-schedule';

// Messages of the connection workflow, defined once so the API, the worker and tests share them.

export type ConnectionPhase = 'initial-scan' | 'running' | 'paused' | 'needs-reauth' | 'needs-confirmation' | 'stopped';

export interface SideCounts {
  a: number;
  b: number;
}

export interface ConnectionCounts {
  scanned: SideCounts;
  total: { a: number | null; b: number | null };
  matched: number;
  created: SideCounts;
  updated: SideCounts;
  deleted: SideCounts;
  failed: number;
  conflicts: number;
}

export interface ConnectionStatus {
  connectionId: string;
  phase: ConnectionPhase;
  paused: boolean;
  /** true while a cycle (or the initial scan) is running */
  syncing: boolean;
  cycles: number;
  lastCycleAt: string | null;
  nextCycleAt: string | null;
  lastError: string | null;
  /** why the connection waits in needs-confirmation (the safety brake), else null */
  brake: { reasons: string[] } | null;
  /** the number of the cycle in progress, else null */
  currentCycle: number | null;
  /** what the last finished cycle did */
  lastCycle: CycleResult | null;
  counts: ConnectionCounts;
}

export interface CycleResult {
  cycle: number;
  startedAt: string;
  finishedAt: string;
  created: SideCounts;
  updated: SideCounts;
  deleted: SideCounts;
  failed: number;
  conflicts: number;
}

/** Updates, not signals: the caller learns that the workflow took the pause before any further write. */
export const pauseUpdate = defineUpdate<ConnectionStatus>('pause');
export const resumeUpdate = defineUpdate<ConnectionStatus>('resume');
/** A signal, so ops can send it from the Temporal UI or CLI with no input. */
export const syncNowSignal = defineSignal('syncNow');
/** For the API: returns once the requested cycle has started, with its number; its result shows in status. */
export const syncNowUpdate = defineUpdate<{ cycle: number }>('syncNowAndStart');
/**
 * Marks every contact to be planned again, then starts a cycle as syncNowAndStart does. An update, so the
 * marking happens only when the workflow accepts (not during the initial sync, not while paused).
 */
export const resyncUpdate = defineUpdate<{ cycle: number; contacts: number }>('resync');
/** Settings live in the database; this only tells the workflow to re-read them. */
export const settingsChangedSignal = defineSignal('settingsChanged');
/** Ends the workflow after the step in progress; records are kept. */
export const stopUpdate = defineUpdate<ConnectionStatus>('stop');
export const statusQuery = defineQuery<ConnectionStatus>('status');
/** The safety brake held a cycle: confirm lets its deletions through, cancel drops them (links are kept). */
export const confirmUpdate = defineUpdate<ConnectionStatus>('confirm');
export const cancelUpdate = defineUpdate<ConnectionStatus>('cancel');

// --- failure cases: one workflow execution per contact that does not sync ---

export const CONTACT_FAILURE_WORKFLOW_TYPE = 'contactFailureWorkflow';

/** The same contact always lands on the same execution, so ops find it by connection, side and id. */
export const contactFailureWorkflowId = (connectionId: string, side: 'a' | 'b', extId: string) =>
  `contact-failure:${connectionId}:${side}:${extId}`;

export interface FailureCaseInput {
  connectionId: string;
  /** the side the contact comes from, and its id there */
  side: 'a' | 'b';
  extId: string;
  /** the app the failed write went to */
  targetApp: string;
  kind: string;
  step: string;
  /** when the case tries again by itself; HubSpot's schedule when absent (tests pass a short one) */
  retrySchedule?: RetrySchedule;
  /** carried into a continued run: automatic retries since the case opened or was last retried by hand */
  automaticRetries?: number;
}

/** How a case ends: its replay synced the contact, the contact synced in a cycle, or the connection is gone. */
export type FailureCaseOutcome = 'synced' | 'resolved' | 'connection-deleted';

/** Replays the contact with its current data: what ops send from the Temporal UI after fixing the cause. */
export const retrySignal = defineSignal('retry');
/** The contact synced by itself (it changed, or a cycle got through): the case closes. */
export const resolvedSignal = defineSignal('resolved');
/** The connection was deleted: the case ends, cleanly, with outcome `connection-deleted`. */
export const connectionDeletedSignal = defineSignal('connectionDeleted');
