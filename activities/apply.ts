import { heartbeat, Context } from '@temporalio/activity';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { ErrorInfo } from '../connectors/errors';
import type { WriteOp, WriteResult } from '../connectors/types';
import type { Db } from '../db/client';
import {
  resolveFailures,
  setBaselines,
  setLinkStates,
  setOperationStatus,
  setRecordFlags,
  storeWrittenRecords,
  upsertLinks,
  type NewLink,
  type StoredRecord,
} from '../db/queries/sync';
import { events, failures, operations, records } from '../db/schema';
import { emailKeys } from '../sync/match';
import type { Operation } from '../sync/plan-types';
import { otherSide, type AppRecord, type FieldDef, type FieldValue, type Side } from '../sync/types';
import type { ApplyResult } from '../workflows/contract';
import { catalogOf, loadConnectionRow, openSide, type ActivityDeps, type SideAccess } from './context';
import { describeContact } from './describe';
import { inActivity, withFailureKinds } from './failure';

type WriteOperation = Extract<Operation, { kind: 'create' | 'update' | 'delete' }>;
type OperationRow = typeof operations.$inferSelect & { payload: WriteOperation };
type Fields = Record<string, FieldValue>;

const pick = (fields: Record<string, FieldValue>, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, fields[k] ?? null]));


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
    await setOperationStatus(
      db,
      chunk.filter((op) => op.status === 'pending').map((op) => op.id),
      'started',
    );
    const written = toWrite.length ? await access.connector.write(toWrite) : [];
    const outcomes = new Map<string, WriteResult>([...recovered, ...written.map((w) => [w.ref, w] as const)]);

    // A stale or vanished target is read again before the transaction, which holds no app calls.
    const reread = new Map<number, AppRecord | null>();
    for (const op of chunk) {
      const outcome = outcomes.get(String(op.id));
      if (outcome && !outcome.ok && needsReread(op.payload, outcome.error) && op.payload.kind !== 'create') {
        reread.set(op.id, await access.connector.get(op.payload.id));
      }
    }
    // One transaction a chunk, with set-based statements: the outcomes of a batch become durable together.
    const successes = new Successes(connectionId, side, catalogs);
    await db.transaction(async (txx) => {
      const tx = txx as unknown as Db;
      for (const op of chunk) {
        const outcome = outcomes.get(String(op.id));
        if (!outcome) continue;
        if (outcome.ok) {
          successes.add(op, outcome.record, result);
        } else if (op.payload.kind === 'delete' && outcome.error.kind === 'not-found') {
          // Already gone is what a delete wanted.
          successes.add(op, null, result);
        } else if (reread.has(op.id)) {
          await recordReread(tx, connectionId, side, catalogs, op, outcome.error, reread.get(op.id) ?? null, result);
        } else {
          await recordFailure(tx, connectionId, side, catalogs, op, outcome.error, result);
        }
      }
      await successes.record(tx);
    });
  }

  async function recordReread(
    tx: Db,
    connectionId: string,
    side: Side,
    catalogs: Record<Side, FieldDef[]>,
    op: OperationRow,
    error: ErrorInfo,
    fresh: AppRecord | null,
    result: ApplyResult,
  ) {
    const p = op.payload as Exclude<WriteOperation, { kind: 'create' }>;
    // The target changed (or vanished) since it was read: store what it is now, dirty, so the next plan merges again.
    const where = and(eq(records.connectionId, connectionId), eq(records.side, side), eq(records.extId, p.id));
    if (fresh) {
      await storeWrittenRecords(tx, connectionId, side, [written(fresh, catalogs[side])]);
      await tx.update(records).set({ dirty: true }).where(where);
    } else {
      await tx.update(records).set({ deleted: true, dirty: true }).where(where);
    }
    await tx.update(operations).set({ status: 'failed', error, updatedAt: sql`now()` }).where(eq(operations.id, op.id));
    result.replanned++;
  }

  async function recordFailure(
    tx: Db,
    connectionId: string,
    side: Side,
    catalogs: Record<Side, FieldDef[]>,
    op: OperationRow,
    error: ErrorInfo,
    result: ApplyResult,
  ) {
    const p = op.payload;
    const source = otherSide(side);
    const sourceId = sourceIdOf(p);
    const [sourceRecord] = await tx
      .select()
      .from(records)
      .where(and(eq(records.connectionId, connectionId), eq(records.side, source), eq(records.extId, sourceId)));
    const who = sourceRecord ? describeContact(sourceRecord.fields, catalogs[source]) : { name: null, email: null };
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
    result.failed++;
    if (inActivity()) Context.current().log.info('contact failed', { connectionId, step: p.kind, kind: error.kind });
  }
}

const needsReread = (p: WriteOperation, error: ErrorInfo) =>
  p.kind === 'update' && (error.kind === 'conflict' || error.kind === 'not-found');

const written = (record: AppRecord, catalog: FieldDef[]): StoredRecord => ({
  extId: record.id,
  version: record.version,
  fields: record.fields,
  emails: emailKeys(record.fields, catalog),
});

/** Collects the successful writes of a chunk, then records them all with a few set-based statements. */
class Successes {
  private records: StoredRecord[] = [];
  private newLinks: NewLink[] = [];
  private baselines: { a: string; b: string; baselineA?: Fields; baselineB?: Fields }[] = [];
  private deleted: string[] = [];
  private stopped: { a: string; b: string; state: string }[] = [];
  private done: number[] = [];
  private resolved: { side: Side; extId: string }[] = [];
  private events: (typeof events.$inferInsert)[] = [];

  constructor(
    private readonly connectionId: string,
    private readonly side: Side,
    private readonly catalogs: Record<Side, FieldDef[]>,
  ) {}

  add(op: OperationRow, record: AppRecord | null, result: ApplyResult): void {
    const { side, catalogs } = this;
    const p = op.payload;
    const source = otherSide(side);
    if (record) this.records.push(written(record, catalogs[side]));
    if (p.kind === 'create') {
      if (!record) throw new Error(`create of operation ${op.id} returned no record`);
      const targetBaseline = pick(record.fields, Object.keys(p.baselineTarget ?? p.fields));
      this.newLinks.push(
        side === 'b'
          ? { a: p.sourceId, b: record.id, baselineA: p.baselineSource, baselineB: targetBaseline }
          : { a: record.id, b: p.sourceId, baselineA: targetBaseline, baselineB: p.baselineSource },
      );
      result.created[side]++;
    } else if (p.kind === 'update') {
      // What the app returned is the truth for the keys written: it may have normalised them.
      const baseline = record ? { ...p.baseline, ...pick(record.fields, Object.keys(p.baseline)) } : p.baseline;
      this.baselines.push({
        ...p.link,
        ...(side === 'a' ? { baselineA: baseline } : { baselineB: baseline }),
        ...(p.otherBaseline ? (side === 'a' ? { baselineB: p.otherBaseline } : { baselineA: p.otherBaseline }) : {}),
      });
      result.updated[side]++;
    } else {
      this.deleted.push(p.id);
      this.stopped.push({ ...p.link, state: `deleted-${source}` });
      result.deleted[side]++;
    }
    this.done.push(op.id);
    this.resolved.push({ side: source, extId: sourceIdOf(p) });
    const fields = record?.fields ?? ('fields' in p ? p.fields : {});
    this.events.push({
      connectionId: this.connectionId,
      side,
      kind: p.kind === 'create' ? 'created' : p.kind === 'update' ? 'updated' : 'deleted',
      extId: record?.id ?? ('id' in p ? p.id : null),
      contactName: describeContact(fields, catalogs[side]).name,
      detail: p.kind === 'update' ? { changed: Object.keys(p.fields) } : null,
    });
  }

  async record(tx: Db): Promise<void> {
    const { connectionId, side } = this;
    await storeWrittenRecords(tx, connectionId, side, this.records);
    await setRecordFlags(tx, connectionId, side, this.deleted, { deleted: true, dirty: false });
    await upsertLinks(tx, connectionId, this.newLinks);
    await setBaselines(tx, connectionId, this.baselines);
    await setLinkStates(tx, connectionId, this.stopped);
    await setOperationStatus(tx, this.done, 'done');
    await resolveFailures(tx, connectionId, this.resolved);
    if (this.events.length) await tx.insert(events).values(this.events);
  }
}

function sourceIdOf(p: WriteOperation): string {
  if (p.kind === 'create') return p.sourceId;
  return p.target === 'a' ? p.link.b : p.link.a;
}
