import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { quick, io } from './activity-proxies';
import { startingState, type CarriedState, type ConnectionInput } from './carried-state';
import type { connectionWorkflow } from './connection';
import type { ConnectionStatus } from './messages';
import { contactsMatchedKey, contactsScannedKey, syncPhaseKey } from './search-attributes';

type BrakeDecision = 'confirm' | 'cancel';

/**
 * The connection as one run of its workflow holds it: the carried state, what lives only in this run, and
 * the answers to every message. The workflow function wires the handlers; the syncing steps change counts
 * and cursors through `state` and do their I/O through `step`.
 */
export class LiveConnection {
  readonly connectionId: string;
  readonly state: CarriedState;
  /** an activity step is running */
  private busy = false;
  /** a whole cycle or the initial sync, from its first read to its last write */
  private syncing = false;
  stopRequested = false;
  settingsDirty: boolean;
  /** settings changed since the failure cases last replayed */
  private failuresToRetry = false;
  private brakeDecision: BrakeDecision | null = null;

  constructor(input: ConnectionInput) {
    this.connectionId = input.connectionId;
    this.state = startingState(input.state);
    this.settingsDirty = input.state === undefined;
  }

  get phase(): CarriedState['phase'] {
    return this.state.phase;
  }

  // --- answers to messages ---

  status(): ConnectionStatus {
    const { state } = this;
    return {
      connectionId: this.connectionId,
      phase: state.paused ? 'paused' : state.phase,
      paused: state.paused,
      syncing: this.syncing,
      cycles: state.cycles,
      lastCycleAt: state.lastCycleAt,
      nextCycleAt: state.paused || state.phase !== 'running' ? null : this.nextCycleAt(),
      lastError: state.lastError,
      brake: state.brake,
      currentCycle: state.cycleInProgress?.cycle ?? null,
      lastCycle: state.lastCycle,
      counts: state.counts,
    };
  }

  /** Answers only once the step in progress has finished, so its caller knows no write follows. */
  async pause(): Promise<ConnectionStatus> {
    this.state.paused = true;
    await condition(() => !this.busy);
    await this.mirrorPhase();
    return this.status();
  }

  async resume(): Promise<ConnectionStatus> {
    this.state.paused = false;
    await this.mirrorPhase();
    return this.status();
  }

  async stop(): Promise<ConnectionStatus> {
    this.stopRequested = true;
    await condition(() => !this.busy);
    return this.status();
  }

  requestSync(): void {
    this.state.syncRequested = true;
  }

  /** Asks for a cycle and answers once one numbered after those finished when asked is under way (or done). */
  async startCycle(): Promise<{ cycle: number }> {
    const { state } = this;
    const after = state.cycles;
    state.syncRequested = true;
    await condition(() => (state.cycleInProgress?.cycle ?? 0) > after || state.cycles > after || this.stopRequested);
    return { cycle: after + 1 };
  }

  /** Every contact is planned again in the cycle it starts: settings changed since apply to all of them. */
  async resync(): Promise<{ cycle: number; contacts: number }> {
    const { marked } = await quick.markAllDirty(this.connectionId);
    const { cycle } = await this.startCycle();
    return { cycle, contacts: marked };
  }

  /** The validator of the updates that start a cycle: refused before anything is written to history. */
  refuseUnlessCycling(): void {
    if (this.state.phase === 'initial-scan') throw new Error('the initial sync is still running');
    if (this.state.paused) throw new Error('the connection is paused');
  }

  async decide(decision: BrakeDecision): Promise<ConnectionStatus> {
    this.brakeDecision = decision;
    await condition(() => this.state.brake === null || this.stopRequested);
    return this.status();
  }

  refuseUnlessHeld(): void {
    if (!this.state.brake) throw new Error('nothing waits for confirmation');
  }

  settingsChanged(): void {
    this.settingsDirty = true;
    this.failuresToRetry = true;
  }

  // --- what the workflow's loop and the syncing steps use ---

  /** Runs one step of I/O, unless a pause or stop came first. */
  async step<T>(fn: () => Promise<T>): Promise<T | undefined> {
    await condition(() => !this.state.paused || this.stopRequested);
    if (this.stopRequested) return undefined;
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }

  /** Scan progress for the Temporal UI's list; every few pages, so the history stays small. */
  showProgress(): void {
    const { counts } = this.state;
    upsertSearchAttributes([
      { key: contactsScannedKey, value: counts.scanned.a + counts.scanned.b },
      { key: contactsMatchedKey, value: counts.matched },
    ]);
  }

  async mirrorPhase(): Promise<void> {
    const phase = this.state.paused ? 'paused' : this.state.phase;
    upsertSearchAttributes([{ key: syncPhaseKey, value: phase }]);
    this.showProgress();
    await quick.recordPhase(this.connectionId, phase);
  }

  /** Reads the settings from the database; false when the connection is gone. New settings end needs-reauth. */
  async readSettings(): Promise<boolean> {
    const { state } = this;
    this.settingsDirty = false;
    const facts = await quick.loadConnection(this.connectionId);
    if (!facts.exists || facts.deleted) return false;
    state.pollIntervalSeconds = facts.pollIntervalSeconds;
    if (state.phase === 'needs-reauth') {
      state.phase = state.scan.a || state.scan.b ? 'initial-scan' : 'running';
      state.lastError = null;
    }
    return true;
  }

  /** New settings may remove what made contacts fail: their cases replay now, not at their next retry. */
  async retryFailuresAfterNewSettings(): Promise<void> {
    if (!this.failuresToRetry) return;
    this.failuresToRetry = false;
    // Runs that began before this step existed replay without it.
    if (!patched('retry-failure-cases-on-new-settings')) return;
    await this.step(() => io.retryFailureCases(this.connectionId));
  }

  /** Waits out a pause; false when a stop or a settings change came first and the loop must look again. */
  async waitUntilResumed(): Promise<boolean> {
    await condition(() => !this.state.paused || this.stopRequested || this.settingsDirty);
    return !(this.stopRequested || this.settingsDirty);
  }

  /** Needs-reauth makes no calls: only new settings (credentials) or a stop end the wait. */
  async waitForNewSettings(): Promise<void> {
    await condition(() => this.settingsDirty || this.stopRequested);
    if (!this.stopRequested) await this.mirrorPhase();
  }

  /** When the next cycle is due: a poll interval after the last one (none yet: now). */
  private nextCycleAt(): string | null {
    const { lastCycleAt, pollIntervalSeconds } = this.state;
    return lastCycleAt ? new Date(Date.parse(lastCycleAt) + pollIntervalSeconds * 1000).toISOString() : null;
  }

  private nextCycleDue(): number {
    const at = this.nextCycleAt();
    return at ? Date.parse(at) - Date.now() : 0;
  }

  /**
   * Waits for the next cycle's time or a sync request; false when something else (a pause, a stop, new
   * settings) ended the wait. The time is state, so a run that continued as new keeps the rhythm instead
   * of cycling at once.
   */
  async waitUntilCycleDue(): Promise<boolean> {
    const { state } = this;
    const due = state.cycleInProgress ? 0 : this.nextCycleDue();
    if (due <= 0) return true;
    await condition(() => state.syncRequested || this.stopRequested || this.settingsDirty || state.paused, due);
    return state.syncRequested || this.nextCycleDue() <= 0;
  }

  /** Runs the initial sync or a cycle; an auth or configuration failure stops calls until settings change. */
  async sync(pass: () => Promise<void>): Promise<void> {
    this.syncing = true;
    await this.phaseOnFailure(pass).finally(() => void (this.syncing = false));
  }

  /** Turns an activity's final failure into a phase: auth stops calls until credentials change. */
  private async phaseOnFailure(pass: () => Promise<void>): Promise<void> {
    const { state } = this;
    try {
      await pass();
      state.lastError = null;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      const type = cause instanceof ApplicationFailure ? cause.type : undefined;
      if (type === 'AuthError' || type === 'ConfigError') {
        state.lastError = cause instanceof Error ? cause.message : String(cause);
        state.phase = 'needs-reauth';
        await this.mirrorPhase();
        return;
      }
      throw err;
    }
  }

  /** The safety brake: nothing is written until a person confirms or cancels the deletions. */
  async holdForConfirmation(brake: { reasons: string[] }): Promise<BrakeDecision | null> {
    const { state } = this;
    state.brake = brake;
    state.phase = 'needs-confirmation';
    this.brakeDecision = null;
    log.warn('safety brake: waiting for confirmation', { connectionId: this.connectionId, reasons: brake.reasons });
    await this.mirrorPhase();
    await condition(() => this.brakeDecision !== null || this.stopRequested);
    const decision = this.brakeDecision;
    if (decision === 'confirm') state.allowDestructive = true;
    if (decision === 'cancel') await this.step(() => io.dropDeletions(this.connectionId));
    state.brake = null;
    state.phase = 'running';
    await this.mirrorPhase();
    return decision;
  }

  /** Carries the state into a new run once the server suggests it and no step or handler is under way. */
  async continueAsNewIfSuggested(): Promise<void> {
    if (!workflowInfo().continueAsNewSuggested) return;
    await condition(() => !this.busy && allHandlersFinished());
    await continueAsNew<typeof connectionWorkflow>({ connectionId: this.connectionId, state: this.state });
  }

  /** The run ends once every handler has answered; a stop shows in the Temporal UI's list. */
  async finish(): Promise<void> {
    await condition(allHandlersFinished);
    if (this.stopRequested) {
      upsertSearchAttributes([{ key: syncPhaseKey, value: 'stopped' }]);
    }
  }
}
