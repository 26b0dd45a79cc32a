import type { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import {
  CONTACT_FAILURE_WORKFLOW_TYPE,
  contactFailureWorkflowId,
  retrySignal,
  type FailureCaseInput,
} from '../workflows/messages';
import { connectionIdKey, contactAppKey, failureKindKey } from '../workflows/search-attributes';

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
