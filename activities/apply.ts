import { heartbeat, activityInfo, Context } from '@temporalio/activity';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { ErrorInfo } from '../connectors/errors';
import type { WriteOp, WriteResult } from '../connectors/types';
import type { Db } from '../db/client';
import { events, failures, links, operations, records } from '../db/schema';
import { emailKeys } from '../sync/match';
import type { Operation } from '../sync/plan-types';
import { otherSide, type AppRecord, type FieldDef, type FieldValue, type Side } from '../sync/types';
import { catalogOf, loadConnectionRow, openSide, type ActivityDeps, type SideAccess } from './context';
import { describeContact } from './describe';
import { withFailureKinds } from './failure';

export interface ApplyResult {
  created: { a: number; b: number };
  updated: { a: number; b: number };
  deleted: { a: number; b: number };
  failed: number;
  /** writes refused for a stale version: the records were read again and will be merged again */
  replanned: number;
}

type WriteOperation = Extract<Operation, { kind: 'create' | 'update' | 'delete' }>;
type OperationRow = typeof operations.$inferSelect & { payload: WriteOperation };

const pick = (fields: Record<string, FieldValue>, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, fields[k] ?? null]));

const inActivity = () => {
  try {
    return Boolean(activityInfo());
  } catch {
    return false;
  }
};

export function applyActivities(deps: ActivityDeps) {
  const { db } = deps;

  return {
    /** Performs the writes of a planned batch, recording each outcome; safe to run again after a crash. */
    async applyBatch(connectionId: string, batchId: string): Promise<ApplyResult> {
      return withFailureKinds(async () => {
        const row = await loadConnectionRow(db, connectionId);
        if (!row) throw new Error(`connection ${connectionId} not found`);
        const ops = (await db
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
            await applyChunk(connectionId, side, access, catalogs, forSide.slice(i, i + max), result);
            if (inActivity()) heartbeat({ done: i + max });
          }
        }
        return result;
      });
    },
  };

  async function applyChunk(
    connectionId: string,
    side: Side,
    access: SideAccess,
    catalogs: Record<Side, FieldDef[]>,
    chunk: OperationRow[],
    result: ApplyResult,
  ): Promise<void> {
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
        toWrite.push({ kind: 'create', ref, fields: p.fields, idempotencyKey: `rapport-${connectionId}-${op.id}` });
      } else if (p.kind === 'update') {
        toWrite.push({ kind: 'update', ref, id: p.id, version: p.version, fields: p.fields });
      } else {
        toWrite.push({ kind: 'delete', ref, id: p.id, version: p.version });
      }
    }
    const pendingIds = chunk.filter((op) => op.status === 'pending').map((op) => op.id);
    if (pendingIds.length) {
      await db.update(operations).set({ status: 'started', updatedAt: sql`now()` }).where(inArray(operations.id, pendingIds));
    }
    const written = toWrite.length ? await access.connector.write(toWrite) : [];
    const outcomes = new Map<string, WriteResult>([...recovered, ...written.map((w) => [w.ref, w] as const)]);

    for (const op of chunk) {
      const outcome = outcomes.get(String(op.id));
      if (!outcome) continue;
      if (outcome.ok) {
        await recordSuccess(connectionId, side, catalogs, op, outcome.record, result);
      } else {
        await recordFailure(connectionId, side, access, catalogs, op, outcome.error, result);
      }
    }
  }

  async function storeWritten(connectionId: string, side: Side, catalog: FieldDef[], record: AppRecord, tx: Db) {
    await tx
      .insert(records)
      .values({
        connectionId,
        side,
        extId: record.id,
        version: record.version,
        fields: record.fields,
        emails: emailKeys(record.fields, catalog),
        dirty: false,
      })
      .onConflictDoUpdate({
        target: [records.connectionId, records.side, records.extId],
        set: {
          version: record.version,
          fields: record.fields,
          emails: emailKeys(record.fields, catalog),
          deleted: false,
          updatedAt: sql`now()`,
        },
      });
  }

  async function recordSuccess(
    connectionId: string,
    side: Side,
    catalogs: Record<Side, FieldDef[]>,
    op: OperationRow,
    record: AppRecord | null,
    result: ApplyResult,
  ) {
    const p = op.payload;
    const source = otherSide(side);
    await db.transaction(async (txx) => {
      const tx = txx as unknown as Db;
      if (p.kind === 'create') {
        if (!record) throw new Error(`create of operation ${op.id} returned no record`);
        await storeWritten(connectionId, side, catalogs[side], record, tx);
        const targetBaseline = pick(record.fields, Object.keys(p.baselineTarget ?? p.fields));
        const ids = side === 'b' ? { aId: p.sourceId, bId: record.id } : { aId: record.id, bId: p.sourceId };
        const baselines =
          side === 'b'
            ? { baselineA: p.baselineSource, baselineB: targetBaseline }
            : { baselineA: targetBaseline, baselineB: p.baselineSource };
        await tx
          .insert(links)
          .values({ connectionId, ...ids, ...baselines })
          .onConflictDoUpdate({
            target: [links.connectionId, links.aId],
            set: { bId: ids.bId, ...baselines, state: 'active', updatedAt: sql`now()` },
          });
        result.created[side]++;
      } else if (p.kind === 'update') {
        const link = and(eq(links.connectionId, connectionId), eq(links.aId, p.link.a), eq(links.bId, p.link.b));
        const written = record ?? null;
        if (written) await storeWritten(connectionId, side, catalogs[side], written, tx);
        const baseline = written ? { ...p.baseline, ...pick(written.fields, Object.keys(p.baseline)) } : p.baseline;
        const set =
          side === 'a'
            ? { baselineA: baseline, ...(p.otherBaseline ? { baselineB: p.otherBaseline } : {}) }
            : { baselineB: baseline, ...(p.otherBaseline ? { baselineA: p.otherBaseline } : {}) };
        await tx.update(links).set({ ...set, updatedAt: sql`now()` }).where(link);
        result.updated[side]++;
      } else {
        await tx
          .update(records)
          .set({ deleted: true, dirty: false, updatedAt: sql`now()` })
          .where(and(eq(records.connectionId, connectionId), eq(records.side, side), eq(records.extId, p.id)));
        await tx
          .update(links)
          .set({ state: `deleted-${source}`, updatedAt: sql`now()` })
          .where(and(eq(links.connectionId, connectionId), eq(links.aId, p.link.a), eq(links.bId, p.link.b)));
        result.deleted[side]++;
      }
      await tx.update(operations).set({ status: 'done', updatedAt: sql`now()` }).where(eq(operations.id, op.id));
      const sourceId = sourceIdOf(p);
      await tx
        .update(failures)
        .set({ resolvedAt: sql`now()` })
        .where(and(eq(failures.connectionId, connectionId), eq(failures.side, source), eq(failures.extId, sourceId)));
      const fields = record?.fields ?? ('fields' in p ? p.fields : {});
      await tx.insert(events).values({
        connectionId,
        side,
        kind: p.kind === 'create' ? 'created' : p.kind === 'update' ? 'updated' : 'deleted',
        extId: record?.id ?? ('id' in p ? p.id : null),
        contactName: describeContact(fields, catalogs[side]).name,
        detail: p.kind === 'update' ? { changed: Object.keys(p.fields) } : null,
      });
    });
  }

  async function recordFailure(
    connectionId: string,
    side: Side,
    access: SideAccess,
    catalogs: Record<Side, FieldDef[]>,
    op: OperationRow,
    error: ErrorInfo,
    result: ApplyResult,
  ) {
    const p = op.payload;
    if ((error.kind === 'conflict' || error.kind === 'not-found') && p.kind !== 'create') {
      // The target changed (or vanished) since it was read: read it again so the next plan merges again.
      const fresh = await access.connector.get(p.id);
      if (fresh) {
        await storeWritten(connectionId, side, catalogs[side], fresh, db);
        await db
          .update(records)
          .set({ dirty: true })
          .where(and(eq(records.connectionId, connectionId), eq(records.side, side), eq(records.extId, p.id)));
      } else {
        await db
          .update(records)
          .set({ deleted: true, dirty: true })
          .where(and(eq(records.connectionId, connectionId), eq(records.side, side), eq(records.extId, p.id)));
      }
      await db.update(operations).set({ status: 'failed', error, updatedAt: sql`now()` }).where(eq(operations.id, op.id));
      result.replanned++;
      return;
    }
    const source = otherSide(side);
    const sourceId = sourceIdOf(p);
    const [sourceRecord] = await db
      .select()
      .from(records)
      .where(and(eq(records.connectionId, connectionId), eq(records.side, source), eq(records.extId, sourceId)));
    const who = sourceRecord ? describeContact(sourceRecord.fields, catalogs[source]) : { name: null, email: null };
    await db.transaction(async (txx) => {
      const tx = txx as unknown as Db;
      await tx.update(operations).set({ status: 'failed', error, updatedAt: sql`now()` }).where(eq(operations.id, op.id));
      await tx
        .insert(failures)
        .values({
          connectionId,
          side: source,
          extId: sourceId,
          targetId: p.kind === 'create' ? null : p.id,
          step: p.kind,
          kind: error.kind,
          message: error.message,
          status: error.status ?? null,
          code: error.code ?? null,
          contactName: who.name,
          contactEmail: who.email,
        })
        .onConflictDoUpdate({
          target: [failures.connectionId, failures.side, failures.extId, failures.step],
          set: {
            kind: error.kind,
            message: error.message,
            status: error.status ?? null,
            code: error.code ?? null,
            attempts: sql`${failures.attempts} + 1`,
            lastAt: sql`now()`,
            resolvedAt: null,
          },
        });
      await tx.insert(events).values({
        connectionId,
        side,
        kind: 'failed',
        extId: sourceId,
        contactName: who.name,
        detail: { step: p.kind, message: error.message },
      });
    });
    result.failed++;
    if (inActivity()) Context.current().log.info('contact failed', { connectionId, step: p.kind, kind: error.kind });
  }
}

function sourceIdOf(p: WriteOperation): string {
  if (p.kind === 'create') return p.sourceId;
  return p.target === 'a' ? p.link.b : p.link.a;
}
