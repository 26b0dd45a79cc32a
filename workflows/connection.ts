import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PlanResult } from '../activities/plan';
import {
  pauseUpdate,
  resumeUpdate,
  settingsChangedSignal,
  statusQuery,
  stopUpdate,
  syncNowSignal,
  cancelUpdate,
  confirmUpdate,
  syncNowUpdate,
  type ConnectionCounts,
  type ConnectionStatus,
  type CycleResult,
  type Phase,
} from './messages';
import { contactsMatchedKey, contactsScannedKey, syncPhaseKey } from './search-attributes';

type Side = 'a' | 'b';
const SIDES: Side[] = ['a', 'b'];

/** Where a full scan of one side stands; carried across continue-as-new. */
interface ScanProgress {
  scanId: string;
  cursor: string | null;
  done: boolean;
  /** the change feed position taken before the scan started */
  feedCursor: string | null;
  pages?: number;
}

/** Everything the connection remembers between runs: cursors and counts, never contacts. */
export interface ConnectionState {
  version: 1;
  phase: Exclude<Phase, 'paused'>;
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
  state?: ConnectionState;
}

// Scans and writes are long, so they heartbeat: a worker that dies mid-batch is noticed in seconds and
// another worker takes over where the database says the batch stands.
const io = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
});
const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

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

const newScan = (): ScanProgress => ({ scanId: uuid4(), cursor: null, done: false, feedCursor: null });

function initialState(): ConnectionState {
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

/**
 * The life of one connection: a full scan of both sides that matches and merges, then incremental cycles
 * every poll interval or on "sync now", for as long as the connection exists.
 */
export async function connectionWorkflow(input: ConnectionInput): Promise<void> {
  const { connectionId } = input;
  // Runs continued from older code may lack newer fields: defaults fill them.
  const state: ConnectionState = input.state ? { ...initialState(), ...input.state } : initialState();
  let busy = false;
  /** a whole cycle or the initial sync, from its first read to its last write */
  let syncing = false;
  let stopRequested = false;
  let settingsDirty = input.state === undefined;
  let brakeDecision: 'confirm' | 'cancel' | null = null;

  const status = (): ConnectionStatus => ({
    connectionId,
    phase: state.paused ? 'paused' : state.phase,
    paused: state.paused,
    syncing,
    cycles: state.cycles,
    lastCycleAt: state.lastCycleAt,
    nextCycleAt: state.paused || state.phase !== 'running' ? null : nextCycleAt(),
    lastError: state.lastError,
    brake: state.brake,
    currentCycle: state.cycleInProgress?.cycle ?? null,
    lastCycle: state.lastCycle,
    counts: state.counts,
  });

  // Pause returns only once the step in progress has finished, so its caller knows no write follows.
  setHandler(
    pauseUpdate,
    async () => {
      state.paused = true;
      await condition(() => !busy);
      await mirrorPhase();
      return status();
    },
    { description: 'Stop writing to both apps until resumed.' },
  );
  setHandler(
    resumeUpdate,
    async () => {
      state.paused = false;
      await mirrorPhase();
      return status();
    },
    { description: 'Continue syncing after a pause.' },
  );
  setHandler(
    stopUpdate,
    async () => {
      stopRequested = true;
      await condition(() => !busy);
      return status();
    },
    { description: 'End the connection workflow; its records are kept.' },
  );
  setHandler(syncNowSignal, () => void (state.syncRequested = true), {
    description: 'Run an incremental cycle at once.',
  });
  setHandler(
    syncNowUpdate,
    async () => {
      const after = state.cycles;
      state.syncRequested = true;
      // Started means: a cycle numbered after the ones finished when asked is under way (or done).
      await condition(() => (state.cycleInProgress?.cycle ?? 0) > after || state.cycles > after || stopRequested);
      return { cycle: after + 1 };
    },
    {
      description: 'Run a cycle at once; returns when it has started, with its number (its result shows in status).',
      validator: () => {
        if (state.phase === 'initial-scan') throw new Error('the initial sync is still running');
        if (state.paused) throw new Error('the connection is paused');
      },
    },
  );
  const decide = (decision: 'confirm' | 'cancel') => async () => {
    brakeDecision = decision;
    await condition(() => state.brake === null || stopRequested);
    return status();
  };
  const onlyWhenHeld = () => {
    if (!state.brake) throw new Error('nothing waits for confirmation');
  };
  setHandler(confirmUpdate, decide('confirm'), {
    description: 'Let the deletions the safety brake held go through.',
    validator: onlyWhenHeld,
  });
  setHandler(cancelUpdate, decide('cancel'), {
    description: 'Drop the deletions the safety brake held; links are kept.',
    validator: onlyWhenHeld,
  });
  setHandler(settingsChangedSignal, () => void (settingsDirty = true), {
    description: 'Re-read the connection settings (and credentials) from the database.',
  });
  setHandler(statusQuery, status, { description: 'Phase, counts, last and next cycle.' });

  /** Scan progress for the Temporal UI's list; every few pages, so the history stays small. */
  function showProgress(): void {
    upsertSearchAttributes([
      { key: contactsScannedKey, value: state.counts.scanned.a + state.counts.scanned.b },
      { key: contactsMatchedKey, value: state.counts.matched },
    ]);
  }

  async function mirrorPhase(): Promise<void> {
    const phase = state.paused ? 'paused' : state.phase;
    upsertSearchAttributes([{ key: syncPhaseKey, value: phase }]);
    showProgress();
    await quick.recordPhase(connectionId, phase);
  }

  /** When the next cycle is due: a poll interval after the last one (none yet: now). */
  const nextCycleAt = (): string | null =>
    state.lastCycleAt ? new Date(Date.parse(state.lastCycleAt) + state.pollIntervalSeconds * 1000).toISOString() : null;
  const nextCycleDue = (): number => {
    const at = nextCycleAt();
    return at ? Date.parse(at) - Date.now() : 0;
  };

  /** Runs one step of I/O, unless a pause or stop came first. */
  async function step<T>(fn: () => Promise<T>): Promise<T | undefined> {
    await condition(() => !state.paused || stopRequested);
    if (stopRequested) return undefined;
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
    }
  }

  async function reloadSettings(): Promise<boolean> {
    settingsDirty = false;
    const facts = await quick.loadConnection(connectionId);
    if (!facts.exists || facts.deleted) return false;
    state.pollIntervalSeconds = facts.pollIntervalSeconds;
    if (state.phase === 'needs-reauth') {
      state.phase = state.scan.a || state.scan.b ? 'initial-scan' : 'running';
      state.lastError = null;
    }
    return true;
  }

  async function scanSide(side: Side): Promise<void> {
    const scan = state.scan[side];
    if (!scan) return;
    if (scan.feedCursor === null) {
      const begun = await step(() => io.beginScan(connectionId, side));
      if (!begun) return;
      scan.feedCursor = begun.feedCursor;
    }
    while (!scan.done && !stopRequested) {
      const page = await step(() => io.scanPage(connectionId, side, scan.cursor, scan.scanId));
      if (!page) return;
      state.counts.scanned[side] += page.count;
      if (page.total !== null) state.counts.total[side] = page.total;
      scan.cursor = page.nextCursor;
      scan.done = page.nextCursor === null;
      scan.pages = (scan.pages ?? 0) + 1;
      if (state.phase === 'initial-scan' && (scan.done || scan.pages % 10 === 0)) showProgress();
      await continueAsNewIfSuggested();
    }
    if (scan.done) {
      // The first scan sees everything there is; a re-scan after an expired feed also reveals deletions.
      if (state.phase !== 'initial-scan') {
        const finished = await step(() => io.finishScan(connectionId, side, scan.scanId));
        if (finished?.brake) {
          const decision = await waitForConfirmation(finished.brake);
          if (decision === 'confirm') await step(() => io.finishScan(connectionId, side, scan.scanId, { confirmed: true }));
        }
      }
      state.feed[side] = scan.feedCursor;
      state.scan[side] = null;
    }
  }

  async function fetchSide(side: Side): Promise<void> {
    let more = true;
    while (more && !stopRequested) {
      const cursor = state.feed[side];
      if (cursor === null) {
        state.scan[side] = newScan();
        await scanSide(side);
        return;
      }
      const changes = await step(() => io.fetchChanges(connectionId, side, cursor));
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

  /** Plans and applies until no changed record is left. */
  async function reconcile(mode: 'initial' | 'incremental'): Promise<void> {
    let remaining = true;
    let rechecked = false;
    let destructiveSoFar = 0;
    while (remaining && !stopRequested) {
      const options = { allowDestructive: state.allowDestructive, destructiveSoFar };
      const plan: PlanResult | undefined = await step(() => io.planNextBatch(connectionId, mode, options));
      if (!plan) return;
      if (plan.brake) {
        await waitForConfirmation(plan.brake);
        continue;
      }
      destructiveSoFar += plan.destructive;
      state.counts.matched += plan.linked;
      state.counts.conflicts += plan.conflicts;
      if (plan.writes > 0) {
        const applied = await step(() => io.applyBatch(connectionId, plan.batchId));
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
        const again = await step(() => io.recheckAmbiguous(connectionId));
        remaining = (again?.marked ?? 0) > 0;
      }
      await continueAsNewIfSuggested();
    }
  }

  /** The safety brake: nothing is written until a person confirms or cancels the deletions. */
  async function waitForConfirmation(brake: { reasons: string[] }): Promise<'confirm' | 'cancel' | null> {
    state.brake = brake;
    state.phase = 'needs-confirmation';
    brakeDecision = null;
    log.warn('safety brake: waiting for confirmation', { connectionId, reasons: brake.reasons });
    await mirrorPhase();
    await condition(() => brakeDecision !== null || stopRequested);
    const decision = brakeDecision;
    if (decision === 'confirm') state.allowDestructive = true;
    if (decision === 'cancel') await step(() => io.dropDeletions(connectionId));
    state.brake = null;
    state.phase = 'running';
    await mirrorPhase();
    return decision;
  }

  /** Failed contacts get a case of their own in Temporal; the connection never waits on one. */
  async function updateFailureCases(): Promise<void> {
    await step(() => quick.syncFailureCases(connectionId));
  }

  async function initialSync(): Promise<void> {
    for (const side of SIDES) await scanSide(side);
    if (stopRequested || state.scan.a || state.scan.b) return;
    await reconcile('initial');
    if (stopRequested) return;
    await updateFailureCases();
    // No lastCycleAt yet: the first cycle follows at once, to pick up what changed during the scan.
    state.phase = 'running';
    await mirrorPhase();
  }

  async function cycle(): Promise<void> {
    state.syncRequested = false;
    const current = (state.cycleInProgress ??= {
      cycle: state.cycles + 1,
      startedAt: new Date().toISOString(),
      before: JSON.parse(JSON.stringify(state.counts)) as ConnectionCounts,
    });
    for (const side of SIDES) await fetchSide(side);
    await reconcile('incremental');
    await updateFailureCases();
    if (stopRequested) return;
    state.allowDestructive = false;
    state.cycles = current.cycle;
    state.lastCycleAt = new Date().toISOString();
    const { before } = current;
    const diff = (now: { a: number; b: number }, then: { a: number; b: number }) => ({ a: now.a - then.a, b: now.b - then.b });
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

  async function continueAsNewIfSuggested(): Promise<void> {
    if (!workflowInfo().continueAsNewSuggested) return;
    await condition(() => !busy && allHandlersFinished());
    await continueAsNew<typeof connectionWorkflow>({ connectionId, state });
  }

  /** Turns an activity's final failure into a phase: auth stops calls until credentials change. */
  async function guarded(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      state.lastError = null;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      const type = cause instanceof ApplicationFailure ? cause.type : undefined;
      if (type === 'AuthError' || type === 'ConfigError') {
        state.lastError = cause instanceof Error ? cause.message : String(cause);
        state.phase = 'needs-reauth';
        await mirrorPhase();
        return;
      }
      throw err;
    }
  }

  if (!(await reloadSettings())) return;
  await mirrorPhase();

  while (!stopRequested) {
    if (settingsDirty && !(await reloadSettings())) break;
    await condition(() => !state.paused || stopRequested || settingsDirty);
    if (stopRequested || settingsDirty) continue;

    if (state.phase === 'needs-reauth') {
      await condition(() => settingsDirty || stopRequested);
      if (!stopRequested) await mirrorPhase();
      continue;
    }
    if (state.phase === 'initial-scan') {
      syncing = true;
      await guarded(initialSync).finally(() => void (syncing = false));
    } else {
      // The next cycle's time is state, so a run that continued as new keeps the rhythm instead of cycling at once.
      const due = state.cycleInProgress ? 0 : nextCycleDue();
      if (due > 0) {
        await condition(() => state.syncRequested || stopRequested || settingsDirty || state.paused, due);
        if (!state.syncRequested && nextCycleDue() > 0) continue;
      }
      syncing = true;
      await guarded(cycle).finally(() => void (syncing = false));
    }
    await continueAsNewIfSuggested();
  }
  await condition(allHandlersFinished);
  if (stopRequested) {
    upsertSearchAttributes([{ key: syncPhaseKey, value: 'stopped' }]);
  }
}
