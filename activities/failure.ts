import { Context, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ConnectorError, TransientError } from '../connectors/errors';

/**
 * Turns a connector error into the failure Temporal should see: transient errors retry (after the app's
 * Retry-After when it gave one); auth and configuration errors do not, so the workflow can change phase.
 */
export function asActivityFailure(err: unknown): unknown {
  if (err instanceof TransientError) {
    return ApplicationFailure.create({
      message: err.message,
      type: 'TransientError',
      nextRetryDelay: err.retryAfterMs,
    });
  }
  if (err instanceof ConnectorError && (err.kind === 'auth' || err.kind === 'config')) {
    return ApplicationFailure.create({ message: err.message, type: err.name, nonRetryable: true });
  }
  return err;
}

const LIVENESS_MS = 3_000;

/** Whether the code runs inside a Temporal activity (tests also call the steps directly). */
export function inActivity(): boolean {
  try {
    Context.current();
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs an activity body: its errors carry their kind, and while it runs it heartbeats, so a worker that dies
 * is noticed within the heartbeat timeout however long one app call takes (a big page, a slow batch).
 */
export async function withFailureKinds<T>(fn: () => Promise<T>): Promise<T> {
  const alive = inActivity() ? setInterval(() => heartbeat(), LIVENESS_MS) : undefined;
  try {
    return await fn();
  } catch (err) {
    throw asActivityFailure(err);
  } finally {
    clearInterval(alive);
  }
}
