import { heartbeat, Context } from '@temporalio/activity';
import type { ErrorInfo } from '../connectors/errors';
import type { WriteOp, WriteResult } from '../connectors/types';
import type { OperationRow, SyncStore, WriteOperation, WriteOutcome } from '../db/store';
import { otherSide, type AppRecord, type FieldDef, type Side } from '../sync/types';
import { catalogOf, openConnection, openSide, type SideAccess, type ActivityDeps } from './context';
import { namerOf, storedRecord } from './describe';
import { inActivity, withFailureKinds } from './failure';
import type { ApplyResult } from '../workflows/contract';

export function applyActivities(deps: ActivityDeps) {
  return {
    /** Performs the writes of a planned batch, recording each outcome; safe to run again after a crash. */
    async applyBatch(connectionId: string, batchId: string): Promise<ApplyResult> {
      return withFailureKinds(async () => {
        const { store, row } = await openConnection(deps, connectionId);
        const ops = await store.takeBatchOperations(batchId);
        const result: ApplyResult = {
          created: { a: 0, b: 0 },
          updated: { a: 0, b: 0 },
          deleted: { a: 0, b: 0 },
          failed: 0,
          replanned: 0,
        };
        for (const side of ['a', 'b'] as const) {
          const forSide = ops.filter((op) => op.payload.target === side);
          if (forSide.length === 0) continue;
          const access = openSide(deps, row, side);
          const catalogs = {
            [side]: await catalogOf(row, side, access),
            [otherSide(side)]: await catalogOf(row, otherSide(side), openSide(deps, row, otherSide(side))),
          } as Record<Side, FieldDef[]>;
          const max = Math.max(1, access.app.capabilities.maxBatchWrite);
          for (let i = 0; i < forSide.length; i += max) {
            const outcomes = await applyChunk(store, side, access, catalogs[side], forSide.slice(i, i + max));
            await store.recordWriteOutcomes(side, outcomes, namerOf(catalogs));
            tally(result, side, outcomes);
            if (inActivity()) heartbeat({ done: i + max });
          }
        }
        return result;
      });
    },
  };
}

/** Calls the app for one chunk of writes; what became of each is recorded by the caller. */
async function applyChunk(
  store: SyncStore,
  side: Side,
  access: SideAccess,
  catalog: FieldDef[],
  chunk: OperationRow[],
): Promise<WriteOutcome[]> {
  const toWrite: WriteOp[] = [];
  const recovered = new Map<string, WriteResult>();
  for (const op of chunk) {
    const ref = String(op.id);
    const p = op.payload;
    if (p.kind === 'create') {
      // A create that was started before a crash may have reached the app: find it instead of creating twice.
      if (op.status === 'started' && !access.app.capabilities.idempotencyKeys && access.app.capabilities.lookupByEmail) {
        const found = p.emails.length ? await access.connector.findByEmail(p.emails[0]) : [];
        if (found.length > 0) {
          recovered.set(ref, { ref, ok: true, record: found[0] });
          continue;
        }
      }
      toWrite.push({ kind: 'create', ref, fields: p.fields, idempotencyKey: `rapport-${store.connectionId}-${op.id}` });
    } else if (p.kind === 'update') {
      toWrite.push({ kind: 'update', ref, id: p.id, version: p.version, fields: p.fields });
    } else {
      toWrite.push({ kind: 'delete', ref, id: p.id, version: p.version });
    }
  }
  await store.markStarted(chunk.filter((op) => op.status === 'pending').map((op) => op.id));
  const written = toWrite.length ? await access.connector.write(toWrite) : [];
  const results = new Map<string, WriteResult>([...recovered, ...written.map((w) => [w.ref, w] as const)]);

  const stored = (record: AppRecord | null) => (record ? storedRecord(record, catalog) : null);
  const outcomes: WriteOutcome[] = [];
  for (const op of chunk) {
    const res = results.get(String(op.id));
    if (!res) continue;
    if (res.ok) {
      outcomes.push({ op, result: 'done', record: stored(res.record) });
    } else if (op.payload.kind === 'delete' && res.error.kind === 'not-found') {
      // Already gone is what a delete wanted.
      outcomes.push({ op, result: 'done', record: null });
    } else if (isStale(op.payload, res.error)) {
      // Read again here: recording the outcomes is one transaction, which holds no app calls.
      outcomes.push({ op, result: 'stale', error: res.error, current: stored(await access.connector.get(op.payload.id)) });
    } else {
      outcomes.push({ op, result: 'failed', error: res.error });
    }
  }
  return outcomes;
}

/** An update refused because its target changed or vanished since it was read. */
const isStale = (p: WriteOperation, error: ErrorInfo): p is Extract<WriteOperation, { kind: 'update' }> =>
  p.kind === 'update' && (error.kind === 'conflict' || error.kind === 'not-found');

function tally(result: ApplyResult, side: Side, outcomes: WriteOutcome[]): void {
  for (const o of outcomes) {
    if (o.result === 'stale') result.replanned++;
    else if (o.result === 'failed') {
      result.failed++;
      if (inActivity()) {
        Context.current().log.info('contact failed', { connectionId: o.op.connectionId, step: o.op.payload.kind, kind: o.error.kind });
      }
    } else {
      const kind = o.op.payload.kind;
      result[kind === 'create' ? 'created' : kind === 'update' ? 'updated' : 'deleted'][side]++;
    }
  }
}
