import type { ConnectionStatus, FailureCaseInput } from '../workflows/messages';

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
