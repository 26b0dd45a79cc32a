import { ContactError, errorInfo, type ConnectorError } from '../errors';
import type { WriteOp, WriteResult } from '../types';
import type { MappingError } from '../values';

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
