import type { Logger } from 'pino';
import type { ConnectionStatus, FailureCaseInput } from '../workflows/messages';
import { errorSummary } from './errors';

/**
 * What the API needs from the connection workflows. The real ConnectionControl (client/connections.ts)
 * satisfies it structurally; tests pass a recording fake.
 */
export interface ConnectionControlPort {
  start(connectionId: string): Promise<void>;
  pause(connectionId: string): Promise<ConnectionStatus>;
  resume(connectionId: string): Promise<ConnectionStatus>;
  syncNow(connectionId: string): Promise<{ cycle: number }>;
  /** Marks every contact to be planned again and starts a cycle; refused when syncNow would be. */
  resync(connectionId: string): Promise<{ cycle: number; contacts: number }>;
  /** Lists both apps in the next cycle to find what the feeds missed; refused when syncNow would be. */
  reconcile(connectionId: string): Promise<{ cycle: number }>;
  /** The safety brake's answers. */
  confirm(connectionId: string): Promise<ConnectionStatus>;
  cancel(connectionId: string): Promise<ConnectionStatus>;
  settingsChanged(connectionId: string): Promise<void>;
  /** null when no workflow runs for the connection */
  status(connectionId: string): Promise<ConnectionStatus | null>;
  stop(connectionId: string): Promise<void>;
  /** Ends the failure cases of a deleted connection; returns how many. */
  endFailureCases(connectionId: string): Promise<number>;
  /** Replays a failed contact in its failure case (started if needed); returns the case's workflow id. */
  retryContact(input: FailureCaseInput): Promise<string>;
}

/** Temporal client errors are told apart by name (the SDK sets it), so a fake control can raise them too. */
export function isWorkflowNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'WorkflowNotFoundError';
}

export function isUpdateRejected(err: unknown): boolean {
  return err instanceof Error && err.name === 'WorkflowUpdateFailedError';
}

export class Timeout extends Error {}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The workflow's status, or null when it does not answer within `ms` (a stuck workflow never fails a read). */
export async function statusWithin(control: ConnectionControlPort, id: string, ms: number, logger: Logger): Promise<ConnectionStatus | null> {
  try {
    return await withTimeout(control.status(id), ms);
  } catch (err) {
    logger.warn({ connectionId: id, error: errorSummary(err) }, 'status unavailable');
    return null;
  }
}
