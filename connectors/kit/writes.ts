import { ContactError, NotFoundError, VersionConflictError, errorInfo, type ConnectorError } from '../errors';
import type { WriteOp, WriteResult } from '../types';
import type { MappingError } from '../values';
import type { StatusRules } from './statuses';

// The bookkeeping of write(): results in the order of the ops, batches of at most the app's size, and the
// per-contact failures every connector reports the same way.

/** An item of a batch with its place in the results. */
export interface Indexed<T = WriteOp> {
  op: T;
  index: number;
}

/** A write of one contact that failed, in the form the engine records. */
export const failure = (ref: string, error: ConnectorError): WriteResult => ({ ref, ok: false, error: errorInfo(error) });

/** A value the app cannot hold: that contact's failure, naming the field, never an error thrown from write(). */
export const invalidValue = (ref: string, err: MappingError, code = 'invalid_value'): WriteResult =>
  failure(ref, new ContactError(err.message, undefined, code, err.field));

/**
 * What the app's refusal of one contact's write means, in the app's words: a stale version (412, for an app that
 * checks versions), a contact that is gone (404), or else that contact's own failure.
 */
export function refusal(
  step: string,
  reply: { status: number; body: unknown },
  rules: StatusRules,
  options: { checksVersions: boolean; field?: string },
): ConnectorError {
  const message = rules.message(reply.body, `${step} failed with status ${reply.status}`);
  const code = rules.code(reply.body);
  if (reply.status === 412 && options.checksVersions) return new VersionConflictError(message, 412, code);
  if (reply.status === 404) return new NotFoundError(message, 404, code);
  return new ContactError(message, reply.status, code, options.field);
}

/**
 * Runs `each` on consecutive slices of at most `size` items, one slice after the other: never in parallel,
 * since apps throttle concurrent requests of one account and want one user's writes in sequence.
 */
export async function inChunks<T>(items: readonly T[], size: number, each: (chunk: T[]) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await each(items.slice(start, start + size));
}

/** Ops with their places in the results. */
export const indexed = (ops: readonly WriteOp[]): Indexed[] => ops.map((op, index) => ({ op, index }));

/** write() for an app with a batch endpoint: `writeBatch` fills the results of its batch's ops at their index. */
export async function writeInBatches(
  ops: readonly WriteOp[],
  size: number,
  writeBatch: (batch: Indexed[], results: WriteResult[]) => Promise<void>,
): Promise<WriteResult[]> {
  const results: WriteResult[] = new Array(ops.length);
  await inChunks(indexed(ops), size, (batch) => writeBatch(batch, results));
  return results;
}
