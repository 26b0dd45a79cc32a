import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ConnectionControl, connectionWorkflowId } from '../../client';
import { workflowBundle } from '../../worker/bundle';
import type { CarriedState } from '../../workflows/carried-state';
import type { connectionWorkflow } from '../../workflows/connection';
import { stopUpdate, type ConnectionStatus } from '../../workflows/messages';
import { syncPhaseKey } from '../../workflows/search-attributes';
import { eventually } from '../support/eventually';
import { dispatchTo, StubConnection } from './stub-activities';

// The real connection workflow on the suite's dev server (continue-as-new suggested every 120 events), with
// stub activities: no database, no apps. Every wait is on the workflow's own answers, never on time.

const stubs = new Map<string, StubConnection>();
const started: string[] = [];
let connection: Connection;
let client: Client;
let control: ConnectionControl;
let native: NativeConnection;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const address = inject('temporalAddress');
  const taskQueue = `workflow-test-${randomUUID()}`;
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  control = new ConnectionControl(client, taskQueue);
  native = await NativeConnection.connect({ address });
  worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: dispatchTo(stubs),
  });
  running = worker.run();
});

afterAll(async () => {
  for (const id of started) {
    await client.workflow
      .getHandle(connectionWorkflowId(id))
      .terminate('test finished')
      .catch(() => undefined);
  }
  worker?.shutdown();
  await running?.catch(() => undefined);
  await native?.close();
  await connection?.close();
});

function newStub(configure: (stub: StubConnection) => void = () => {}): StubConnection {
  const stub = new StubConnection();
  configure(stub);
  stubs.set(stub.id, stub);
  started.push(stub.id);
  return stub;
}

const handleOf = (stub: StubConnection): WorkflowHandle<typeof connectionWorkflow> =>
  client.workflow.getHandle(connectionWorkflowId(stub.id));

async function statusWhen(stub: StubConnection, what: string, ok: (s: ConnectionStatus) => boolean): Promise<ConnectionStatus> {
  return eventually(async () => {
    const s = await control.status(stub.id);
    return s && ok(s) ? s : undefined;
  }, what, 20_000, 50);
}


/**
 * Each read of a feed starts where the one before ended, whichever run made it: the suite's server suggests a
 * continue-as-new every 120 events, and a cycle cut by one reads its feeds again from the carried positions.
 */
function expectFeedsResumed(stub: StubConnection, from: number, atLeast: number): void {
  for (const side of ['a', 'b'] as const) {
    const reads = stub.feedReads(side);
    expect(reads.length).toBeGreaterThanOrEqual(atLeast);
    expect(reads).toEqual(reads.map((_, n) => `feed-${side}-${from + n}`));
  }
}

/** A run continued from a carried state (a short history: no continue-as-new comes in the way). */
async function startFrom(stub: StubConnection, state: Partial<CarriedState>): Promise<void> {
  await client.workflow.start('connectionWorkflow', {
    taskQueue: control.taskQueue,
    workflowId: connectionWorkflowId(stub.id),
    args: [{ connectionId: stub.id, state: state as CarriedState }],
  });
}

/** A running connection's state as code older than the last fields carried it. */
const olderState = (cycles: number): Partial<CarriedState> => ({
  version: 1,
  phase: 'running',
  paused: false,
  pollIntervalSeconds: 3600,
  scan: { a: null, b: null },
  feed: { a: `feed-a-${cycles}`, b: `feed-b-${cycles}` },
  syncRequested: false,
  cycles,
  lastCycleAt: new Date().toISOString(),
  lastError: null,
});

/**
 * A connection past its first cycle, in a run of its own (continued from its carried state): it idles until
 * asked, its poll being an hour. The first test runs the way there from the start.
 */
async function runningConnection(): Promise<StubConnection> {
  const stub = newStub();
  await startFrom(stub, olderState(1));
  await statusWhen(stub, 'the running connection', (s) => s.phase === 'running' && s.cycles === 1);
  await eventually(() => stub.phases().length > 0, 'the phase mirrored', 20_000, 50);
  return stub;
}

const refusal = (message: string) => ({ name: 'WorkflowUpdateFailedError', cause: expect.objectContaining({ message }) });

describe('the connection workflow alone, on stub activities', () => {
  it('scans both sides, runs the initial sync, then a first cycle at once', async () => {
    const stub = newStub();
    await control.start(stub.id);
    await statusWhen(stub, 'the first cycle', (s) => s.phase === 'running' && s.cycles === 1 && !s.syncing);
    const status = (await control.status(stub.id))!;
    expect(status.counts.scanned).toEqual({ a: 6, b: 6 });
    expect(status.counts.total).toEqual({ a: 6, b: 6 });
    expect(status.lastCycle).toMatchObject({ cycle: 1 });
    expect(stub.phases()).toEqual(['initial-scan', 'running']);
    expect(stub.callsTo('planNextBatch')[0][1]).toBe('initial');
    expect(stub.callsTo('planNextBatch').at(-1)?.[1]).toBe('incremental');
    expectFeedsResumed(stub, 0, 1);
  });

  it('pause answers once the step in progress is done, and nothing runs until resume', async () => {
    const stub = newStub();
    const held = stub.hold('scanPage');
    await control.start(stub.id);
    await held.reached;

    let answered = false;
    const pause = control.pause(stub.id).finally(() => (answered = true));
    await statusWhen(stub, 'the pause to be taken', (s) => s.paused);
    expect(answered).toBe(false);
    held.release();
    const paused = await pause;
    expect(paused).toMatchObject({ phase: 'paused', paused: true });
    expect(stub.io().at(-1)).toBe('scanPage');
    expect(stub.phases().at(-1)).toBe('paused');
    const pagesWhenPaused = stub.callsTo('scanPage').length;

    const resumed = await control.resume(stub.id);
    expect(resumed).toMatchObject({ phase: 'initial-scan', paused: false });
    await statusWhen(stub, 'the initial sync after resume', (s) => s.phase === 'running' && s.cycles === 1);
    expect(stub.phases()).toEqual(['initial-scan', 'paused', 'initial-scan', 'running']);
    // The scan went on from the page after the one in progress when paused: no step ran twice or was skipped.
    expect(stub.callsTo('scanPage')[pagesWhenPaused]?.slice(1, 3)).toEqual(['a', 'page-1']);
  });

  it('stop answers after the step in progress and ends the run with SyncPhase stopped; nothing runs after a pause', async () => {
    const stub = newStub();
    const held = stub.hold('scanPage');
    await control.start(stub.id);
    await held.reached;
    const stop = await handleOf(stub).startUpdate(stopUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    held.release();
    await expect(stop.result()).resolves.toMatchObject({ connectionId: stub.id });
    await handleOf(stub).result();
    expect(stub.names().at(-1)).toBe('scanPage');
    expect(stub.callsTo('scanPage')).toHaveLength(1);
    const description = await handleOf(stub).describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(syncPhaseKey)).toBe('stopped');

    const other = await runningConnection();
    await control.pause(other.id);
    const ioWhenPaused = other.io();
    await control.stop(other.id);
    expect(other.io()).toEqual(ioWhenPaused);
  });

  it('sync now runs a cycle: by signal, and by update, which answers with the cycle number', async () => {
    const stub = await runningConnection();
    await handleOf(stub).signal('syncNow');
    await statusWhen(stub, 'the signalled cycle', (s) => s.cycles === 2);
    expectFeedsResumed(stub, 1, 1);

    await expect(control.syncNow(stub.id)).resolves.toEqual({ cycle: 3 });
    const status = await statusWhen(stub, 'the third cycle', (s) => s.cycles === 3);
    expect(status.lastCycle).toMatchObject({ cycle: 3 });
  });

  it('refuses sync now during the initial scan and while paused', async () => {
    const stub = newStub();
    const held = stub.hold('scanPage');
    await control.start(stub.id);
    await held.reached;
    await expect(control.syncNow(stub.id)).rejects.toMatchObject(refusal('the initial sync is still running'));
    held.release();
    await statusWhen(stub, 'the first cycle', (s) => s.phase === 'running' && s.cycles === 1 && !s.syncing);

    await control.pause(stub.id);
    await expect(control.syncNow(stub.id)).rejects.toMatchObject(refusal('the connection is paused'));
    await control.resume(stub.id);
    await expect(control.syncNow(stub.id)).resolves.toEqual({ cycle: 2 });
  });

  it('the brake holds deletions until confirmed; confirm lets them through', async () => {
    const stub = await runningConnection();
    await expect(control.confirm(stub.id)).rejects.toMatchObject(refusal('nothing waits for confirmation'));
    stub.brakeArmed = true;
    await control.syncNow(stub.id);
    const held = await statusWhen(stub, 'the brake', (s) => s.phase === 'needs-confirmation');
    expect(held.brake).toEqual({ reasons: ['the cycle would delete 2 of 3 linked contacts'] });
    await eventually(() => stub.phases().at(-1) === 'needs-confirmation', 'the phase recorded', 20_000, 50);
    expect(stub.callsTo('applyBatch')).toHaveLength(0);
    const plansBefore = stub.callsTo('planNextBatch').length;

    const confirmed = await control.confirm(stub.id);
    expect(confirmed).toMatchObject({ phase: 'running', brake: null });
    const status = await statusWhen(stub, 'the confirmed cycle', (s) => s.cycles === 2);
    expect(status.lastCycle?.deleted).toEqual({ a: 0, b: 2 });
    expect(stub.callsTo('planNextBatch')[plansBefore - 1][2]).toEqual({ allowDestructive: false, destructiveSoFar: 0 });
    expect(stub.callsTo('planNextBatch')[plansBefore][2]).toEqual({ allowDestructive: true, destructiveSoFar: 0 });
    expect(stub.callsTo('applyBatch')).toHaveLength(1);
    expect(stub.callsTo('dropDeletions')).toHaveLength(0);
  });

  it('cancel drops the held deletions and the cycle goes on without them', async () => {
    const stub = await runningConnection();
    stub.brakeArmed = true;
    await control.syncNow(stub.id);
    await statusWhen(stub, 'the brake', (s) => s.phase === 'needs-confirmation');
    await expect(control.cancel(stub.id)).resolves.toMatchObject({ phase: 'running', brake: null });
    const status = await statusWhen(stub, 'the cancelled cycle', (s) => s.cycles === 2);
    expect(stub.callsTo('dropDeletions')).toEqual([[stub.id]]);
    expect(stub.callsTo('applyBatch')).toHaveLength(0);
    expect(status.lastCycle?.deleted).toEqual({ a: 0, b: 0 });
    expect(stub.phases().slice(-2)).toEqual(['needs-confirmation', 'running']);
  });

  it('continues as new carrying counts and cursors: the scan and the feeds resume where they stood', async () => {
    const stub = newStub((s) => (s.pagesPerSide = 25));
    await control.start(stub.id);
    let status = await statusWhen(stub, 'the first cycle', (s) => s.phase === 'running' && s.cycles === 1 && !s.syncing);
    for (let cycle = 2; cycle <= 6; cycle++) {
      await expect(control.syncNow(stub.id)).resolves.toEqual({ cycle });
      status = await statusWhen(stub, `cycle ${cycle}`, (s) => s.cycles === cycle);
    }

    // The run answering now was continued from another, whose last event hands its state on.
    const history = await handleOf(stub).fetchHistory();
    const start = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(start?.continuedExecutionRunId).toBeTruthy();
    const previous = await client.workflow.getHandle(connectionWorkflowId(stub.id), start!.continuedExecutionRunId!).fetchHistory();
    expect(previous.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(status.counts.scanned).toEqual({ a: 75, b: 75 });
    const pagesRead = (side: string) => stub.callsTo('scanPage').filter((args) => args[1] === side).map((args) => args[2]);
    const expectedPages = [null, ...Array.from({ length: 24 }, (_, i) => `page-${i + 1}`)];
    expect(pagesRead('a')).toEqual(expectedPages);
    expect(pagesRead('b')).toEqual(expectedPages);
    // Each read starts where the one before ended, whichever run made it (a cycle cut by a continue-as-new
    // reads its feeds again from the carried positions).
    for (const side of ['a', 'b']) {
      const feedRead = stub.callsTo('fetchChanges').filter((args) => args[1] === side).map((args) => args[2]);
      expect(feedRead.length).toBeGreaterThanOrEqual(6);
      expect(feedRead).toEqual(feedRead.map((_, n) => `feed-${side}-${n}`));
    }
    expect(status.lastCycle).toMatchObject({ cycle: 6 });
  });

  it('fills the fields an older carried state lacks with their defaults', async () => {
    const stub = newStub();
    await startFrom(stub, olderState(40));
    const status = await statusWhen(stub, 'the carried state', (s) => s.cycles === 40);
    expect(status).toMatchObject({ phase: 'running', brake: null, lastCycle: null, currentCycle: null });
    expect(status.counts.scanned).toEqual({ a: 0, b: 0 });
    await expect(control.syncNow(stub.id)).resolves.toEqual({ cycle: 41 });
    await statusWhen(stub, 'cycle 41', (s) => s.cycles === 41);
    expect(stub.feedReads('a')[0]).toBe('feed-a-40');
    expect(stub.feedReads('b')[0]).toBe('feed-b-40');
  });

  it('settingsChanged re-reads the settings: the poll interval follows', async () => {
    const stub = await runningConnection();
    const before = (await control.status(stub.id))!;
    expect(Date.parse(before.nextCycleAt!) - Date.parse(before.lastCycleAt!)).toBe(3600_000);
    const reads = stub.callsTo('loadConnection').length;
    stub.pollIntervalSeconds = 600;
    await control.settingsChanged(stub.id);
    const after = await statusWhen(
      stub,
      'the new poll interval',
      (s) => Date.parse(s.nextCycleAt!) - Date.parse(s.lastCycleAt!) === 600_000,
    );
    expect(after.cycles).toBe(1);
    expect(stub.callsTo('loadConnection').length).toBe(reads + 1);
  });

  it('an auth failure parks the connection in needs-reauth until new settings arrive', async () => {
    const stub = await runningConnection();
    stub.revoked = true;
    await control.syncNow(stub.id);
    const parked = await statusWhen(stub, 'needs-reauth', (s) => s.phase === 'needs-reauth');
    expect(parked.lastError).toBe('the token was revoked');
    expect(parked.currentCycle).toBe(2);

    stub.revoked = false;
    await control.settingsChanged(stub.id);
    const back = await statusWhen(stub, 'the cycle after new credentials', (s) => s.cycles === 2 && !s.syncing);
    expect(back).toMatchObject({ phase: 'running', lastError: null });
    // While parked nothing touched the apps; new settings were read before the cycle went on from where it
    // failed (side a's feed read again from the same position).
    const names = stub.names();
    const failed = names.indexOf('fetchChanges');
    const whileParked = names.slice(failed + 1, names.indexOf('fetchChanges', failed + 1));
    // ...and then the failure cases were asked to replay under the new settings (no app is called for that).
    expect(whileParked.at(-1)).toBe('retryFailureCases');
    expect(whileParked.slice(0, -1).every((name) => name === 'recordPhase' || name === 'loadConnection')).toBe(true);
    expect(whileParked.at(-2)).toBe('loadConnection');
    expect(stub.feedReads('a')).toEqual(['feed-a-1', 'feed-a-1']);
    expect(stub.phases()).toEqual(['running', 'needs-reauth']);
  });

  it('ends when settingsChanged finds the connection gone', async () => {
    const stub = await runningConnection();
    stub.exists = false;
    await control.settingsChanged(stub.id);
    await handleOf(stub).result();
    const description = await handleOf(stub).describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(syncPhaseKey)).toBe('running');
  });

  it('resync marks every contact dirty, then starts a cycle, answering with its number and the contacts', async () => {
    const stub = await runningConnection();
    await expect(control.resync(stub.id)).resolves.toEqual({ cycle: 2, contacts: 7 });
    expect(stub.callsTo('markAllDirty')).toEqual([[stub.id]]);
    await statusWhen(stub, 'the resync cycle', (s) => s.cycles === 2);
  });

  it('refuses resync during the initial scan and while paused, and marks nothing then', async () => {
    const stub = newStub();
    const held = stub.hold('scanPage');
    await control.start(stub.id);
    await held.reached;
    await expect(control.resync(stub.id)).rejects.toMatchObject(refusal('the initial sync is still running'));
    held.release();
    await statusWhen(stub, 'the first cycle', (s) => s.phase === 'running' && s.cycles === 1 && !s.syncing);
    await control.pause(stub.id);
    await expect(control.resync(stub.id)).rejects.toMatchObject(refusal('the connection is paused'));
    expect(stub.callsTo('markAllDirty')).toHaveLength(0);
  });
});
