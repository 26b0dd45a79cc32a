import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import {
  CONTACT_FAILURE_WORKFLOW_TYPE,
  connectionDeletedSignal,
  contactFailureWorkflowId,
  retrySignal,
  type FailureCaseInput,
} from '../workflows/messages';
import type { RetrySchedule } from '../workflows/retry-schedule';
import { connectionIdKey, contactAppKey, failureKindKey } from '../workflows/search-attributes';

/** The case of a failure row: the contact (its side and id), what failed, and the app the write went to. */
export function caseInput(
  failure: Pick<FailureCaseInput, 'connectionId' | 'side' | 'extId' | 'kind' | 'step'>,
  targetApp: string,
  retrySchedule?: RetrySchedule,
): FailureCaseInput {
  const { connectionId, side, extId, kind, step } = failure;
  return { connectionId, side, extId, targetApp, kind, step, ...(retrySchedule && { retrySchedule }) };
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

/** Temporal visibility query for one connection's failure cases (running ones only, when asked); ids are generated, so quoting is enough. */
export function failureCasesQuery(connectionId: string, opts: { running?: boolean } = {}): string {
  const query = `WorkflowType="${CONTACT_FAILURE_WORKFLOW_TYPE}" AND ConnectionId="${connectionId.replace(/["\\]/g, '\\$&')}"`;
  return opts.running ? `${query} AND ExecutionStatus="Running"` : query;
}

/**
 * Ends every running case of a deleted connection. They are found in Temporal's visibility store, the one
 * list of running executions (a case the database thinks closed, or one ops started by hand, is there too);
 * one started too recently to be listed ends by itself at its next attempt, which finds the connection gone.
 */
export async function endCases(client: Client, connectionId: string): Promise<number> {
  let ended = 0;
  for await (const wf of client.workflow.list({ query: failureCasesQuery(connectionId, { running: true }) })) {
    try {
      await client.workflow.getHandle(wf.workflowId).signal(connectionDeletedSignal);
      ended++;
    } catch (err) {
      // It ended between the listing and the signal.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return ended;
}
