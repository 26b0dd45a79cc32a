import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from './contract';
import {
  connectionDeletedSignal,
  resolvedSignal,
  retrySignal,
  type FailureCaseInput,
  type FailureCaseOutcome,
} from './messages';
import { HUBSPOT_RETRY_SCHEDULE, nextRetryDelay } from './retry-schedule';

const cases = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  // "Still fails" comes back non-retryable; these retries are for the engine's own hiccups.
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
  // A deleted connection ends the case at once; the replay learns of it at its next heartbeat.
  cancellationType: ActivityCancellationType.TRY_CANCEL,
});

/** A case that lives for months stays readable: a new run long before the server's history limits. */
const HISTORY_EVENTS_PER_RUN = 2_000;

/**
 * The story of one contact that does not sync. Each attempt replays the contact with its current data; a
 * failed attempt leaves the app's own message in this history, where ops read it. The case then tries again
 * by itself on its schedule (every 20 minutes ten times, then nightly), at once when ops send `retry` or the
 * connection's settings change, and ends when the contact syncs, by itself or in an attempt, or when its
 * connection is deleted.
 */
export async function contactFailureWorkflow(input: FailureCaseInput): Promise<FailureCaseOutcome> {
  const schedule = input.retrySchedule ?? HUBSPOT_RETRY_SCHEDULE;
  let automaticRetries = input.automaticRetries ?? 0;
  let retryRequested = false;
  let resolved = false;
  let deleted = false;
  setHandler(retrySignal, () => void (retryRequested = true), {
    description: 'Replay this contact with its current data now, after fixing the cause.',
  });
  setHandler(resolvedSignal, () => void (resolved = true), {
    description: 'Sent by the engine when the contact synced in a normal cycle.',
  });
  setHandler(connectionDeletedSignal, () => void (deleted = true), {
    description: 'Sent when the connection is deleted: the case ends without another attempt.',
  });

  /** One replay; a deletion cancels it rather than waiting for a cycle that will never come. */
  async function attempt(): Promise<FailureCaseOutcome | 'failed'> {
    const scope = new CancellationScope();
    let done = false;
    const replay = scope.run(() => cases.replayContact(input)).finally(() => void (done = true));
    void condition(() => deleted || done).then(() => deleted && !done && scope.cancel());
    try {
      return await replay;
    } catch (err) {
      if (deleted && isCancellation(err)) return 'connection-deleted';
      if (err instanceof ActivityFailure) return 'failed';
      throw err;
    }
  }

  // Every run starts with an attempt: a new case, a reset (which ops use to replay) and a continued run alike.
  for (;;) {
    const outcome = await attempt();
    if (outcome !== 'failed') return outcome;
    if (deleted) return 'connection-deleted';

    const delay = nextRetryDelay(schedule, automaticRetries, Date.now());
    setCurrentDetails(
      `Next automatic retry at ${new Date(Date.now() + delay).toISOString()} ` +
        `(${automaticRetries} automatic retries so far; every ${schedule.everyMs / 60_000} min for the first ` +
        `${schedule.frequentRetries}, then nightly). Send \`retry\` to replay now.`,
    );
    const woken = await condition(() => retryRequested || resolved || deleted, delay);
    setCurrentDetails('');
    if (resolved) return 'resolved';
    if (deleted) return 'connection-deleted';
    // A person (or a settings change) tried again: the cause may be fixed, so frequent retries start over.
    automaticRetries = woken ? 0 : automaticRetries + 1;
    retryRequested = false;

    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > HISTORY_EVENTS_PER_RUN) {
      // Just before an attempt, so the new run's history opens with that attempt and its message.
      await continueAsNew<typeof contactFailureWorkflow>({ ...input, automaticRetries });
    }
  }
}
