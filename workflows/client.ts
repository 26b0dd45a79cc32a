import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import {
  pauseUpdate,
  resumeUpdate,
  settingsChangedSignal,
  statusQuery,
  stopUpdate,
  syncNowUpdate,
  retrySignal,
  CONTACT_FAILURE_WORKFLOW_TYPE,
  contactFailureWorkflowId,
  confirmUpdate,
  cancelUpdate,
  type ConnectionStatus,
  type FailureCaseInput,
} from './messages';
import { connectionIdKey, contactAppKey, failureKindKey } from './search-attributes';

// How the API and scripts drive connection workflows. The workflow id is derived from the connection id,
// so every caller finds the same execution.

export const TASK_QUEUE = process.env.RAPPORT_TASK_QUEUE ?? 'rapport';
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

/** The case of a failure row: the contact (its side and id), what failed, and the app the write went to. */
export function caseInput(
  failure: Pick<FailureCaseInput, 'connectionId' | 'side' | 'extId' | 'kind' | 'step'>,
  targetApp: string,
): FailureCaseInput {
  const { connectionId, side, extId, kind, step } = failure;
  return { connectionId, side, extId, targetApp, kind, step };
}

/** Starts (or, with retry, signals) the contact's failure case; an open case is reused, never duplicated. */
export async function openCase(client: Client, taskQueue: string, input: FailureCaseInput, retry = false) {
  const workflowId = contactFailureWorkflowId(input.connectionId, input.side, input.extId);
  const options = {
    taskQueue,
    workflowId,
    args: [input] as [FailureCaseInput],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: connectionIdKey, value: input.connectionId },
      { key: failureKindKey, value: input.kind },
      { key: contactAppKey, value: input.targetApp },
    ]),
    staticSummary: `Contact ${input.side}:${input.extId} of connection ${input.connectionId} failed to ${input.step}`,
  };
  if (retry) {
    await client.workflow.signalWithStart(CONTACT_FAILURE_WORKFLOW_TYPE, { ...options, signal: retrySignal, signalArgs: [] });
  } else {
    await client.workflow.start(CONTACT_FAILURE_WORKFLOW_TYPE, { ...options, workflowIdConflictPolicy: 'USE_EXISTING' });
  }
  return workflowId;
}
