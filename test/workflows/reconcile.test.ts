import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionWorkflowId } from '../../client';
import { startWorkflowHarness, refusal, type WorkflowHarness } from './harness';
import type { StubConnection } from './stub-activities';

// The reconcile in the connection workflow, on stub activities: when it runs (an interval after the last,
// or on demand), what refuses it, and that a listing cut by a continue-as-new goes on from its page.

let h: WorkflowHarness;

beforeAll(async () => {
  h = await startWorkflowHarness();
});
afterAll(async () => {
  await h?.close();
});

/** A new connection through its initial sync and first cycle. */
async function running(configure?: (stub: StubConnection) => void): Promise<StubConnection> {
  const stub = h.newStub(configure);
  await h.control.start(stub.id);
  await h.statusWhen(stub, 'the first cycle', (s) => s.phase === 'running' && s.cycles === 1 && !s.syncing);
  return stub;
}

const listingOf = (stub: StubConnection, side: 'a' | 'b') =>
  stub.callsTo('reconcilePage').filter((args) => args[1] === side).map((args) => args[2]);

describe('the reconcile in the connection workflow', () => {
  it('is due a day after the initial sync by default: the first cycle lists nothing', async () => {
    const stub = await running();
    const status = (await h.control.status(stub.id))!;
    expect(stub.callsTo('reconcilePage')).toHaveLength(0);
    expect(status.reconcile).toMatchObject({ currentCycle: null, last: null });
    const dueIn = Date.parse(status.reconcile.nextAt!) - Date.parse(status.lastCycleAt!);
    expect(dueIn).toBeGreaterThan(23.9 * 3_600_000);
    expect(dueIn).toBeLessThanOrEqual(24 * 3_600_000);
  });

  it('runs by itself every reconcileIntervalHours, waking a cycle the hour-long poll would not', async () => {
    const stub = await running((s) => (s.reconcileIntervalHours = 0.0005));
    const status = await h.statusWhen(stub, 'a periodic reconcile', (s) => s.reconcile.last !== null && !s.syncing);
    const last = status.reconcile.last!;
    expect(last).toMatchObject({ listed: { a: 6, b: 6 }, changed: { a: 1, b: 1 }, deleted: { a: 0, b: 0 } });
    // The reconcile's cycle planned what it found, as any cycle plans what the feeds bring.
    expect(stub.callsTo('planNextBatch').at(-1)?.[1]).toBe('incremental');
    expect(Date.parse(status.reconcile.nextAt!) - Date.parse(last.startedAt)).toBeCloseTo(1800, 0);
    expect(stub.callsTo('syncFailureCases').length).toBeGreaterThanOrEqual(2);
  });

  it('runs on demand: answers with the cycle it runs in, lists both sides page by page, finishes each listing', async () => {
    const stub = await running((s) => (s.missingOnFinish = 2));
    await expect(h.control.reconcile(stub.id)).resolves.toEqual({ cycle: 2 });
    const status = await h.statusWhen(stub, 'the reconcile', (s) => s.reconcile.last?.cycle === 2 && !s.syncing);
    expect(status.reconcile.last).toMatchObject({ listed: { a: 6, b: 6 }, changed: { a: 1, b: 1 }, deleted: { a: 2, b: 2 } });
    expect(status.reconcile.currentCycle).toBeNull();
    expect(listingOf(stub, 'a')).toEqual([null, 'listing-1']);
    expect(listingOf(stub, 'b')).toEqual([null, 'listing-1']);
    // One listing (one scanId) per reconcile; what it did not see is judged only among records stored before it began.
    const [begun] = stub.callsTo('beginReconcile');
    expect(begun).toEqual([stub.id]);
    const scanIds = new Set(stub.callsTo('reconcilePage').map((args) => args[3]));
    expect(scanIds.size).toBe(1);
    const finishes = stub.callsTo('finishScan');
    expect(finishes.map((args) => args[1])).toEqual(['a', 'b']);
    for (const args of finishes) {
      expect(args[2]).toBe([...scanIds][0]);
      expect(args[3]).toEqual({ touchedBefore: expect.any(String) });
    }
    // The feeds were read first in that cycle; the listing came after them, then the planning.
    const names = stub.io();
    const cycleStart = names.lastIndexOf('fetchChanges', names.indexOf('beginReconcile'));
    expect(names.slice(cycleStart - 1, cycleStart + 2)).toEqual(['fetchChanges', 'fetchChanges', 'beginReconcile']);
    expect(names.lastIndexOf('reconcilePage')).toBeLessThan(names.lastIndexOf('planNextBatch'));
  });

  it('with reconcileIntervalHours 0 runs only on demand', async () => {
    const stub = await running((s) => (s.reconcileIntervalHours = 0));
    expect((await h.control.status(stub.id))!.reconcile.nextAt).toBeNull();
    await expect(h.control.syncNow(stub.id)).resolves.toEqual({ cycle: 2 });
    await h.statusWhen(stub, 'cycle 2', (s) => s.cycles === 2 && !s.syncing);
    expect(stub.callsTo('reconcilePage')).toHaveLength(0);
    await expect(h.control.reconcile(stub.id)).resolves.toEqual({ cycle: 3 });
    await h.statusWhen(stub, 'the reconcile', (s) => s.reconcile.last?.cycle === 3);
  });

  it('is refused during the initial sync and while paused, and then lists nothing', async () => {
    const stub = h.newStub();
    const held = stub.hold('scanPage');
    await h.control.start(stub.id);
    await held.reached;
    await expect(h.control.reconcile(stub.id)).rejects.toMatchObject(refusal('the initial sync is still running'));
    held.release();
    await h.statusWhen(stub, 'the first cycle', (s) => s.phase === 'running' && s.cycles === 1 && !s.syncing);
    await h.control.pause(stub.id);
    await expect(h.control.reconcile(stub.id)).rejects.toMatchObject(refusal('the connection is paused'));
    expect((await h.control.status(stub.id))!.reconcile.nextAt).toBeNull();
    await h.control.resume(stub.id);
    await expect(h.control.syncNow(stub.id)).resolves.toEqual({ cycle: 2 });
    await h.statusWhen(stub, 'cycle 2', (s) => s.cycles === 2 && !s.syncing);
    expect(stub.callsTo('beginReconcile')).toHaveLength(0);
  });

  it('a listing that sees nothing waits for confirmation, as a re-scan does; confirmed, the missing are gone', async () => {
    const stub = await running((s) => {
      s.listingLooksEmpty = true;
      s.missingOnFinish = 6;
    });
    await h.control.reconcile(stub.id);
    const held = await h.statusWhen(stub, 'the brake', (s) => s.phase === 'needs-confirmation');
    expect(held.brake?.reasons).toEqual(['side a suddenly lists no contacts where it had 6']);
    expect(held.reconcile.currentCycle).toBe(2);
    await h.control.confirm(stub.id);
    const status = await h.statusWhen(stub, 'the confirmed reconcile', (s) => s.reconcile.last?.cycle === 2 && !s.syncing);
    expect(status.reconcile.last?.deleted).toEqual({ a: 6, b: 6 });
    const finishes = stub.callsTo('finishScan').map((args) => [args[1], args[3]]);
    expect(finishes).toEqual([
      ['a', { touchedBefore: expect.any(String) }],
      ['a', { touchedBefore: expect.any(String), confirmed: true }],
      ['b', { touchedBefore: expect.any(String) }],
    ]);
  });

  it('a run continued from code that knew no reconcile counts the interval from then, not at once', async () => {
    const stub = h.newStub();
    await h.startFrom(stub, {
      version: 1,
      phase: 'running',
      paused: false,
      pollIntervalSeconds: 3600,
      scan: { a: null, b: null },
      feed: { a: 'feed-a-5', b: 'feed-b-5' },
      syncRequested: false,
      cycles: 5,
      lastCycleAt: new Date().toISOString(),
      lastError: null,
    });
    const status = await h.statusWhen(stub, 'the carried state', (s) => s.cycles === 5 && s.reconcile.nextAt !== null);
    expect(Date.parse(status.reconcile.nextAt!) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    await expect(h.control.syncNow(stub.id)).resolves.toEqual({ cycle: 6 });
    await h.statusWhen(stub, 'cycle 6', (s) => s.cycles === 6 && !s.syncing);
    expect(stub.callsTo('beginReconcile')).toHaveLength(0);
  });

  it('a listing cut by continue-as-new goes on from its page: every page read once, the outcome whole', async () => {
    const stub = await running((s) => (s.reconcilePages = 40));
    await expect(h.control.reconcile(stub.id)).resolves.toEqual({ cycle: 2 });
    const status = await h.statusWhen(stub, 'the long reconcile', (s) => s.reconcile.last?.cycle === 2 && !s.syncing);
    const pages = [null, ...Array.from({ length: 39 }, (_, i) => `listing-${i + 1}`)];
    expect(listingOf(stub, 'a')).toEqual(pages);
    expect(listingOf(stub, 'b')).toEqual(pages);
    expect(status.reconcile.last).toMatchObject({ listed: { a: 120, b: 120 }, changed: { a: 1, b: 1 } });
    expect(stub.callsTo('beginReconcile')).toHaveLength(1);
    // Runs continued one from another while it listed, the reconcile's progress handed on each time.
    const runs = new Set<string>();
    let history = await h.handleOf(stub).fetchHistory();
    for (;;) {
      const previous = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
      if (!previous) break;
      runs.add(previous);
      history = await h.client.workflow.getHandle(connectionWorkflowId(stub.id), previous).fetchHistory();
    }
    expect(runs.size).toBeGreaterThanOrEqual(2);
    // The interval counts from when it began, in the run that carries it now.
    expect(Date.parse(status.reconcile.nextAt!) - Date.parse(status.reconcile.last!.startedAt)).toBe(24 * 3_600_000);
  });
});
