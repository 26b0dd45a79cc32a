import { ActivityFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from './contract';
import { resolvedSignal, retrySignal, type FailureCaseInput } from './messages';

const cases = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  // "Still fails" comes back non-retryable; these retries are for the engine's own hiccups.
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/**
 * The story of one contact that does not sync. Each attempt replays the contact with its current data; a
 * failed attempt leaves the app's own message in this history, where ops read it. The case then waits for
 * ops to fix the cause and send `retry` (or reset this execution, which replays too), or for the contact to
 * sync by itself.
 */
export async function contactFailureWorkflow(input: FailureCaseInput): Promise<'synced' | 'resolved'> {
  let retryRequested = false;
  let resolved = false;
  setHandler(retrySignal, () => void (retryRequested = true), {
    description: 'Replay this contact with its current data, after fixing the cause.',
  });
  setHandler(resolvedSignal, () => void (resolved = true), {
    description: 'Sent by the engine when the contact synced in a normal cycle.',
  });

  for (;;) {
    try {
      await cases.replayContact(input);
      return 'synced';
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
    }
    await condition(() => retryRequested || resolved);
    if (resolved) return 'resolved';
    retryRequested = false;
  }
}
