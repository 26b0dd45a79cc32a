import { randomUUID } from 'node:crypto';
import { heartbeat, sleep } from '@temporalio/activity';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ConnectionControl, connectionWorkflowId, endCases, openCase } from '../../client';
import { workflowBundle } from '../../worker/bundle';
import type { contactFailureWorkflow } from '../../workflows/contact-failure';
import type { Activities } from '../../workflows/contract';
import { contactFailureWorkflowId, retrySignal, type FailureCaseInput } from '../../workflows/messages';
import type { RetrySchedule } from '../../workflows/retry-schedule';
import { eventually } from '../support/eventually';
import { dispatchTo, StubConnection } from './stub-activities';

// The real failure case workflow on the suite's dev server (continue-as-new suggested every 120 events), with
// a stub replay: each attempt fails with a numbered message until the stub lets the contact sync. Schedules
// are in milliseconds; every wait is on the workflow's own answers, never on time.

/** How one contact's replays go. */
class StubContact {
  attempts: FailureCaseInput[] = [];
  /** attempts that fail before the contact syncs */
  failuresLeft = Infinity;
  /** each attempt waits (heartbeating) until cancelled, as a replay waits for a cycle that never comes */
  hang = false;
  cancelled = false;

  async replay(input: FailureCaseInput): Promise<'synced' | 'connection-deleted'> {
    this.attempts.push(input);
    if (this.hang) {
      try {
        for (;;) {
          heartbeat();
          await sleep(50);
        }
      } catch (err) {
        this.cancelled = true;
        throw err;
      }
    }
    if (this.failuresLeft-- > 0) {
      throw ApplicationFailure.create({
        message: `"company" is required (attempt ${this.attempts.length})`,
        type: 'ContactStillFails',
        nonRetryable: true,
      });
    }
    return 'synced';
  }
}

const contacts = new Map<string, StubContact>();
const connections = new Map<string, StubConnection>();
const started: string[] = [];
/** what the connection workflow's retryFailureCases does here: replay the contacts the test registered */
const casesOf = new Map<string, FailureCaseInput[]>();
let connection: Connection;
let client: Client;
let control: ConnectionControl;
let native: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;

const fast: RetrySchedule = { everyMs: 100, frequentRetries: 3, nightlyPeriodMs: 400, nightlyAtMs: 0 };
/** a schedule that never fires within a test: only signals wake the case */
const never: RetrySchedule = { everyMs: 3_600_000, frequentRetries: 10, nightlyPeriodMs: 86_400_000, nightlyAtMs: 0 };

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const address = inject('temporalAddress');
  taskQueue = `failure-case-test-${randomUUID()}`;
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  control = new ConnectionControl(client, taskQueue);
  native = await NativeConnection.connect({ address });
  const activities: Activities = {
    ...dispatchTo(connections),
    replayContact: (input) => contacts.get(contactFailureWorkflowId(input.connectionId, input.side, input.extId))!.replay(input),
    retryFailureCases: async (connectionId) => {
      await connections.get(connectionId)!.activities.retryFailureCases(connectionId);
      const inputs = casesOf.get(connectionId) ?? [];
      for (const input of inputs) await openCase(client, taskQueue, input, true);
      return { retried: inputs.length };
    },
  };
  worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
    // Heartbeats go out at once, so a cancelled replay learns of it in a second rather than 24.
    maxHeartbeatThrottleInterval: '1 second',
  });
  running = worker.run();
});

afterAll(async () => {
  for (const id of started) {
    await client.workflow
      .getHandle(id)
      .terminate('test finished')
      .catch(() => undefined);
  }
  worker?.shutdown();
  await running?.catch(() => undefined);
  await native?.close();
  await connection?.close();
});

function inputFor(connectionId: string, retrySchedule: RetrySchedule): FailureCaseInput {
  return { connectionId, side: 'a', extId: `c-${randomUUID()}`, targetApp: 'stub', kind: 'contact', step: 'create', retrySchedule };
}

async function openStubCase(
  schedule: RetrySchedule,
  configure: (c: StubContact) => void = () => {},
  connectionId = `wf-${randomUUID()}`,
): Promise<{ input: FailureCaseInput; contact: StubContact; handle: WorkflowHandle<typeof contactFailureWorkflow> }> {
  const input = inputFor(connectionId, schedule);
  const contact = new StubContact();
  configure(contact);
  const workflowId = contactFailureWorkflowId(input.connectionId, input.side, input.extId);
  contacts.set(workflowId, contact);
  started.push(workflowId);
  await openCase(client, taskQueue, input);
  return { input, contact, handle: client.workflow.getHandle<typeof contactFailureWorkflow>(workflowId) };
}

/** The app's messages of the failed attempts in one run's history, in order. */
async function failedMessages(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) => e.activityTaskFailedEventAttributes?.failure?.message ?? []);
}

async function timersOf(handle: WorkflowHandle): Promise<number[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const timeout = e.timerStartedEventAttributes?.startToFireTimeout;
    return timeout ? [Number(timeout.seconds ?? 0) * 1000 + Math.round((timeout.nanos ?? 0) / 1e6)] : [];
  });
}

describe('a failure case alone, on a stub replay', () => {
  it('retries by itself on its schedule, frequent first, then at each period, until the contact syncs', async () => {
    const { handle, contact } = await openStubCase(fast, (c) => (c.failuresLeft = 5));
    expect(await handle.result()).toBe('synced');
    // The attempt when opened, three frequent retries, then two at the period's boundary.
    expect(contact.attempts).toHaveLength(6);
    expect(await failedMessages(handle)).toEqual([1, 2, 3, 4, 5].map((n) => `"company" is required (attempt ${n})`));
    const timers = await timersOf(handle);
    expect(timers.slice(0, 3)).toEqual([100, 100, 100]);
    expect(timers).toHaveLength(5);
    for (const wait of timers.slice(3)) expect(wait).toBeLessThanOrEqual(400);
  });

  it('continues as new long before its history grows large, carrying the count of automatic retries', async () => {
    const schedule: RetrySchedule = { everyMs: 20, frequentRetries: 100, nightlyPeriodMs: 1000, nightlyAtMs: 0 };
    const { handle, contact } = await openStubCase(schedule, (c) => (c.failuresLeft = 13));
    expect(await handle.result()).toBe('synced');
    expect(contact.attempts).toHaveLength(14);
    // A run carries what the runs before it counted: the attempt that opens a run is retry number i.
    const carried = contact.attempts.map((a) => a.automaticRetries ?? 0);
    const opening = carried.flatMap((n, i) => (i === 0 || n !== carried[i - 1] ? [{ i, n }] : []));
    expect(opening.length).toBeGreaterThan(1);
    for (const { i, n } of opening) expect(n).toBe(i);
    const runs = await eventually(async () => {
      const found = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) found.push(wf.status.name);
      return found.length === opening.length ? found : undefined;
    }, 'every run in the visibility store');
    expect(runs.filter((status) => status === 'CONTINUED_AS_NEW')).toHaveLength(opening.length - 1);
    // The last run opened with an attempt, so its failed attempts' messages are there to read.
    expect((await failedMessages(handle)).at(-1)).toBe('"company" is required (attempt 13)');
  });

  it('a retry signal replays at once and starts the frequent retries over', async () => {
    const { handle, contact } = await openStubCase(never);
    await eventually(async () => (await failedMessages(handle)).length === 1, 'the first failed attempt');
    contact.failuresLeft = 0;
    await handle.signal(retrySignal);
    expect(await handle.result()).toBe('synced');
    expect(contact.attempts).toHaveLength(2);
  });

  it('ends with connection-deleted when its connection is deleted, waiting or in the middle of an attempt', async () => {
    const connectionId = `wf-${randomUUID()}`;
    const waiting = await openStubCase(never, () => {}, connectionId);
    const replaying = await openStubCase(never, (c) => (c.hang = true), connectionId);
    await eventually(async () => (await failedMessages(waiting.handle)).length === 1, 'the waiting case to wait');
    await eventually(() => replaying.contact.attempts.length === 1, 'the other case to be replaying');
    // Found by the visibility store, as DELETE /connections/:id finds them.
    const ended = await eventually(async () => {
      const n = await endCases(client, connectionId);
      return n === 2 ? n : undefined;
    }, 'both cases listed and signalled');
    expect(ended).toBe(2);
    expect(await waiting.handle.result()).toBe('connection-deleted');
    expect(await replaying.handle.result()).toBe('connection-deleted');
    expect(waiting.contact.attempts).toHaveLength(1);
    await eventually(() => replaying.contact.cancelled, 'the hanging replay to be cancelled');
  });
});

describe('the connection workflow and its failure cases', () => {
  it("a settings change makes every open case of the connection replay at once, instead of at its next retry", async () => {
    const stub = new StubConnection();
    connections.set(stub.id, stub);
    started.push(connectionWorkflowId(stub.id));
    await control.start(stub.id);
    await eventually(async () => (await control.status(stub.id))?.cycles === 1, 'the first cycle');

    const one = await openStubCase(never, () => {}, stub.id);
    const two = await openStubCase(never, () => {}, stub.id);
    casesOf.set(stub.id, [one.input, two.input]);
    for (const c of [one, two]) await eventually(async () => (await failedMessages(c.handle)).length === 1, 'a failed attempt');
    one.contact.failuresLeft = 0;
    two.contact.failuresLeft = 0;

    await control.settingsChanged(stub.id);
    expect(await one.handle.result()).toBe('synced');
    expect(await two.handle.result()).toBe('synced');
    expect(stub.callsTo('retryFailureCases')).toEqual([[stub.id]]);
    // The settings were read first, so the replays run with the new ones.
    const names = stub.names();
    expect(names.lastIndexOf('loadConnection')).toBeLessThan(names.indexOf('retryFailureCases'));
  });
});
