import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { ErrorInfo } from '../../connectors/errors';
import type { Operation } from '../../sync/plan-types';
import { rowsOf, type Db } from '../client';
import { operations } from '../schema';

// The queue of planned writes. A row is written before the app is called (the intent), marked started just
// before the call, and done or failed after: a retry that finds a started create looks the contact up first.

export type WriteOperation = Extract<Operation, { kind: 'create' | 'update' | 'delete' }>;
export type OperationRow = typeof operations.$inferSelect & { payload: WriteOperation };
export type OperationStatus = OperationRow['status'];

const WRITE_KINDS = new Set<Operation['kind']>(['create', 'update', 'delete']);

/** Operations that call an app; the others change only the engine's memory and are recorded when planned. */
export const isWrite = (op: Operation): op is WriteOperation => WRITE_KINDS.has(op.kind);

export async function queueWrites(db: Db, connectionId: string, batchId: string, writes: WriteOperation[]): Promise<void> {
  if (writes.length === 0) return;
  await db.insert(operations).values(
    writes.map((op) => ({ connectionId, batchId, kind: op.kind, target: op.target, payload: op })),
  );
}

/** The batch's writes not yet done or failed, in the order they were planned. */
export async function takeBatchOperations(db: Db, connectionId: string, batchId: string): Promise<OperationRow[]> {
  return (await db
    .select()
    .from(operations)
    .where(
      and(
        eq(operations.connectionId, connectionId),
        eq(operations.batchId, batchId),
        inArray(operations.status, ['pending', 'started']),
      ),
    )
    .orderBy(asc(operations.id))) as OperationRow[];
}

/**
 * The oldest batch that was planned and never applied, and its writes: a plan recorded by an activity whose
 * worker died before the workflow heard of it, or one that a stop or an auth failure came between plan and
 * apply. A batch an apply has touched (any write started, done or failed) is the apply's own to finish.
 */
export async function oldestUnappliedBatch(db: Db, connectionId: string): Promise<{ batchId: string; writes: number } | null> {
  const result = await db.execute(sql`
    SELECT o.batch_id AS "batchId", count(*)::int AS writes
    FROM operations o
    WHERE o.connection_id = ${connectionId} AND o.status = 'pending'
      AND NOT EXISTS (
        SELECT 1 FROM operations x
        WHERE x.connection_id = o.connection_id AND x.batch_id = o.batch_id AND x.status <> 'pending'
      )
    GROUP BY o.batch_id
    ORDER BY min(o.id)
    LIMIT 1`);
  return rowsOf<{ batchId: string; writes: number }>(result)[0] ?? null;
}

export async function setOperationStatus(db: Db, ids: number[], status: OperationStatus): Promise<void> {
  if (ids.length === 0) return;
  await db.update(operations).set({ status, updatedAt: sql`now()` }).where(inArray(operations.id, ids));
}

export async function failOperation(db: Db, id: number, error: ErrorInfo): Promise<void> {
  await db.update(operations).set({ status: 'failed', error, updatedAt: sql`now()` }).where(eq(operations.id, id));
}

/** The contact a write comes from, on the side opposite its target. */
export function sourceIdOf(p: WriteOperation): string {
  if (p.kind === 'create') return p.sourceId;
  return p.target === 'a' ? p.link.b : p.link.a;
}
