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

export async function withFailureKinds<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asActivityFailure(err);
  }
}
