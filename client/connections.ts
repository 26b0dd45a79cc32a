import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import {
  cancelUpdate,
  confirmUpdate,
  pauseUpdate,
  resumeUpdate,
  resyncUpdate,
  settingsChangedSignal,
  statusQuery,
  stopUpdate,
  syncNowUpdate,
  type ConnectionStatus,
  type FailureCaseInput,
} from '../workflows/messages';
import { connectionIdKey } from '../workflows/search-attributes';
import { endCases, openCase } from './failure-cases';
import { TASK_QUEUE } from './task-queue';

// How the API and scripts drive connection workflows. The workflow id is derived from the connection id,
// so every caller finds the same execution.

export const connectionWorkflowId = (connectionId: string) => `connection:${connectionId}`;

export class ConnectionControl {
  constructor(
    readonly client: Client,
    readonly taskQueue: string = TASK_QUEUE,
  ) {}

  private handle(connectionId: string): WorkflowHandle {
    return this.client.workflow.getHandle(connectionWorkflowId(connectionId));
  }

  /** Starts the connection's workflow; a running one is left as it is. */
  async start(connectionId: string): Promise<void> {
    await this.client.workflow.start('connectionWorkflow', {
      taskQueue: this.taskQueue,
      workflowId: connectionWorkflowId(connectionId),
      args: [{ connectionId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: new TypedSearchAttributes([{ key: connectionIdKey, value: connectionId }]),
      staticSummary: `Contact sync for connection ${connectionId}`,
    });
  }

  pause(connectionId: string): Promise<ConnectionStatus> {
    return this.handle(connectionId).executeUpdate(pauseUpdate);
  }

  resume(connectionId: string): Promise<ConnectionStatus> {
    return this.handle(connectionId).executeUpdate(resumeUpdate);
  }

  /** Returns once the cycle has started, with its number; status.lastCycle reports it when done. */
  syncNow(connectionId: string): Promise<{ cycle: number }> {
    return this.handle(connectionId).executeUpdate(syncNowUpdate);
  }

  /** Marks every contact to be planned again and starts a cycle; refused like syncNow, and then nothing is marked. */
  resync(connectionId: string): Promise<{ cycle: number; contacts: number }> {
    return this.handle(connectionId).executeUpdate(resyncUpdate);
  }

  confirm(connectionId: string): Promise<ConnectionStatus> {
    return this.handle(connectionId).executeUpdate(confirmUpdate);
  }

  cancel(connectionId: string): Promise<ConnectionStatus> {
    return this.handle(connectionId).executeUpdate(cancelUpdate);
  }

  async settingsChanged(connectionId: string): Promise<void> {
    await this.handle(connectionId).signal(settingsChangedSignal);
  }

  /** Live status, or null when no workflow runs for the connection. */
  async status(connectionId: string): Promise<ConnectionStatus | null> {
    try {
      return await this.handle(connectionId).query(statusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  retryContact(input: FailureCaseInput): Promise<string> {
    return openCase(this.client, this.taskQueue, input, true);
  }

  /** Ends the failure cases of a deleted connection (outcome `connection-deleted`); returns how many. */
  endFailureCases(connectionId: string): Promise<number> {
    return endCases(this.client, connectionId);
  }

  /** Asks the workflow to finish its step and end; terminates it if it does not answer. */
  async stop(connectionId: string): Promise<void> {
    const handle = this.handle(connectionId);
    try {
      await handle.executeUpdate(stopUpdate);
      await handle.result().catch(() => undefined);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      await handle.terminate('connection deleted').catch(() => undefined);
    }
  }
}
