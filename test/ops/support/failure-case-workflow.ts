import { ApplicationFailure, type ActivityFailure } from '@temporalio/common';
import { condition, defineSignal, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { connectionIdKey, contactAppKey, failureKindKey } from '../../../workflows/search-attributes';

// A stand-in for the engine's per-contact failure workflow, shaped like it where the Temporal UI can see
// it: the same type name and search attributes, an activity that fails with the app's own message, and a
// wait for a `retry` signal. The browser test checks what ops find in the UI; this keeps it independent of
// how the engine decides that a contact failed.

export interface FailureCaseInput {
  connectionId: string;
  kind: string;
  app: string;
}

export interface FailureCaseActivities {
  syncOneContact(): Promise<void>;
}

export const retrySignal = defineSignal('retry');

const { syncOneContact } = proxyActivities<FailureCaseActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 1 },
});

export async function contactFailureWorkflow(input: FailureCaseInput): Promise<string> {
  let retries = 0;
  setHandler(retrySignal, () => {
    retries++;
  });
  upsertSearchAttributes([
    { key: connectionIdKey, value: input.connectionId },
    { key: failureKindKey, value: input.kind },
    { key: contactAppKey, value: input.app },
  ]);
  for (let attempt = 0; ; attempt++) {
    try {
      await syncOneContact();
      return 'synced';
    } catch (err) {
      const cause = (err as ActivityFailure).cause;
      if (!(cause instanceof ApplicationFailure)) throw err;
    }
    // Open until someone replays the contact: a closed case would drop out of the "Running" list ops watch.
    await condition(() => retries > attempt);
  }
}
