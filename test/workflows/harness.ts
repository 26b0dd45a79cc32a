import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { expect, inject } from 'vitest';
import { ConnectionControl, connectionWorkflowId } from '../../client';
import { workflowBundle } from '../../worker/bundle';
import type { CarriedState } from '../../workflows/carried-state';
import type { connectionWorkflow } from '../../workflows/connection';
import type { ConnectionStatus } from '../../workflows/messages';
import { eventually } from '../support/eventually';
import { dispatchTo, StubConnection } from './stub-activities';

// The real connection workflow on the suite's dev server (continue-as-new suggested every 120 events) with one
// worker on stub activities, for a test file: no database, no apps; every wait is on the workflow's answers.

export interface WorkflowHarness {
  client: Client;
  control: ConnectionControl;
  newStub(configure?: (stub: StubConnection) => void): StubConnection;
  handleOf(stub: StubConnection): WorkflowHandle<typeof connectionWorkflow>;
  statusWhen(stub: StubConnection, what: string, ok: (s: ConnectionStatus) => boolean): Promise<ConnectionStatus>;
  /** A run continued from a carried state (a short history: no continue-as-new comes in the way). */
  startFrom(stub: StubConnection, state: Partial<CarriedState>): Promise<void>;
  close(): Promise<void>;
}

export async function startWorkflowHarness(): Promise<WorkflowHarness> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const stubs = new Map<string, StubConnection>();
  const started: string[] = [];
  const address = inject('temporalAddress');
  const taskQueue = `workflow-test-${randomUUID()}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const control = new ConnectionControl(client, taskQueue);
  const native = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: dispatchTo(stubs),
  });
  const running = worker.run();

  return {
    client,
    control,
    newStub(configure = () => {}) {
      const stub = new StubConnection();
      configure(stub);
      stubs.set(stub.id, stub);
      started.push(stub.id);
      return stub;
    },
    handleOf: (stub) => client.workflow.getHandle(connectionWorkflowId(stub.id)),
    statusWhen: (stub, what, ok) =>
      eventually(
        async () => {
          const s = await control.status(stub.id);
          return s && ok(s) ? s : undefined;
        },
        what,
        20_000,
        50,
      ),
    async startFrom(stub, state) {
      await client.workflow.start('connectionWorkflow', {
        taskQueue,
        workflowId: connectionWorkflowId(stub.id),
        args: [{ connectionId: stub.id, state: state as CarriedState }],
      });
    },
    async close() {
      for (const id of started) {
        await client.workflow
          .getHandle(connectionWorkflowId(id))
          .terminate('test finished')
          .catch(() => undefined);
      }
      worker.shutdown();
      await running.catch(() => undefined);
      await native.close();
      await connection.close();
    },
  };
}

/** An update the workflow's validator refused, with its message. */
export const refusal = (message: string) => ({ name: 'WorkflowUpdateFailedError', cause: expect.objectContaining({ message }) });
