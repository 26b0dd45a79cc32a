import { otherSide, type Side } from '../../sync/types';
import type { ErrorInfo } from '../../connectors/errors';
import type { Db, Tx } from '../client';
import { events } from '../schema';
import { recordWriteFailure, resolveFailures, type ContactName } from './failures';
import type { Fields } from './json';
import { setBaselines, setLinkStates, upsertLinks, type BaselineChange, type NewLink } from './links';
import { failOperation, setOperationStatus, sourceIdOf, type OperationRow } from './operations';
import { recordsByIds, setRecordFlags, storeStaleRecord, upsertRecords, type StoredRecord } from './records';

/** What became of one planned write. */
export type WriteOutcome =
  /** written (record: what the app returned; null for a delete, or a delete of a contact already gone) */
  | { op: OperationRow; result: 'done'; record: StoredRecord | null }
  /** refused because the target changed or vanished since it was read; current: the target as it is now */
  | { op: OperationRow; result: 'stale'; error: ErrorInfo; current: StoredRecord | null }
  | { op: OperationRow; result: 'failed'; error: ErrorInfo };

/** Names a contact from its fields on a side, for failures and the activity feed. */
export type ContactNamer = (side: Side, fields: Fields) => ContactName;

/**
 * Records the outcomes of one chunk of writes to `side` in one transaction, with set-based statements: the
 * outcomes become durable together, and a crash before the commit leaves the operations to be retried.
 */
export async function recordWriteOutcomes(
  db: Db,
  connectionId: string,
  side: Side,
  outcomes: WriteOutcome[],
  nameOf: ContactNamer,
): Promise<void> {
  const successes = new Successes(connectionId, side, nameOf);
  await db.transaction(async (tx) => {
    for (const o of outcomes) {
      if (o.result === 'done') {
        successes.add(o.op, o.record);
      } else if (o.result === 'stale') {
        // Only updates are re-read: a create has no target yet, a delete of a vanished contact is done.
        const p = o.op.payload as Exclude<OperationRow['payload'], { kind: 'create' }>;
        await storeStaleRecord(tx, connectionId, side, p.id, o.current);
        await failOperation(tx, o.op.id, o.error);
      } else {
        await recordFailedWrite(tx, connectionId, side, o.op, o.error, nameOf);
      }
    }
    await successes.record(tx);
  });
}

async function recordFailedWrite(
  tx: Tx,
  connectionId: string,
  side: Side,
  op: OperationRow,
  error: ErrorInfo,
  nameOf: ContactNamer,
): Promise<void> {
  const p = op.payload;
  const source = otherSide(side);
  const sourceId = sourceIdOf(p);
  const [sourceRecord] = await recordsByIds(tx, connectionId, source, [sourceId]);
  const who = sourceRecord ? nameOf(source, sourceRecord.fields) : { name: null, email: null };
  await failOperation(tx, op.id, error);
  await recordWriteFailure(tx, connectionId, {
    source: { side: source, extId: sourceId },
    targetId: p.kind === 'create' ? null : p.id,
    step: p.kind,
    error,
    who,
  });
  await tx.insert(events).values({
    connectionId,
    side,
    kind: 'failed',
    extId: sourceId,
    contactName: who.name,
    detail: { step: p.kind, message: error.message },
  });
}

const pick = (fields: Fields, keys: string[]) => Object.fromEntries(keys.map((k) => [k, fields[k] ?? null]));

/** Collects the successful writes of a chunk, then records them all with a few set-based statements. */
class Successes {
  private records: StoredRecord[] = [];
  private newLinks: NewLink[] = [];
  private baselines: BaselineChange[] = [];
  private deleted: string[] = [];
  private stopped: { a: string; b: string; state: string }[] = [];
  private done: number[] = [];
  private resolved: { side: Side; extId: string }[] = [];
  private events: (typeof events.$inferInsert)[] = [];
  private updates: { targetId: string; after: Fields; event: { detail: Record<string, unknown> | null } }[] = [];

  constructor(
    private readonly connectionId: string,
    private readonly side: Side,
    private readonly nameOf: ContactNamer,
  ) {}

  add(op: OperationRow, record: StoredRecord | null): void {
    const { side } = this;
    const p = op.payload;
    const source = otherSide(side);
    if (record) this.records.push(record);
    if (p.kind === 'create') {
      if (!record) throw new Error(`create of operation ${op.id} returned no record`);
      const targetBaseline = pick(record.fields, Object.keys(p.baselineTarget ?? p.fields));
      this.newLinks.push(
        side === 'b'
          ? { a: p.sourceId, b: record.extId, baselineA: p.baselineSource, baselineB: targetBaseline }
          : { a: record.extId, b: p.sourceId, baselineA: targetBaseline, baselineB: p.baselineSource },
      );
    } else if (p.kind === 'update') {
      // What the app returned is the truth for the keys written: it may have normalised them.
      const baseline = record ? { ...p.baseline, ...pick(record.fields, Object.keys(p.baseline)) } : p.baseline;
      this.baselines.push({
        ...p.link,
        ...(side === 'a' ? { baselineA: baseline } : { baselineB: baseline }),
        ...(p.otherBaseline ? (side === 'a' ? { baselineB: p.otherBaseline } : { baselineA: p.otherBaseline }) : {}),
      });
    } else {
      this.deleted.push(p.id);
      this.stopped.push({ ...p.link, state: `deleted-${source}` });
    }
    this.done.push(op.id);
    this.resolved.push({ side: source, extId: sourceIdOf(p) });
    const fields = record?.fields ?? ('fields' in p ? p.fields : {});
    const event = {
      connectionId: this.connectionId,
      side,
      kind: p.kind === 'create' ? 'created' : p.kind === 'update' ? 'updated' : 'deleted',
      extId: record?.extId ?? ('id' in p ? p.id : null),
      contactName: this.nameOf(side, fields).name,
      detail: p.kind === 'update' ? { changed: Object.keys(p.fields) } : null,
    };
    this.events.push(event);
    if (p.kind === 'update') {
      // What the app returned is the value now held (it may have normalised what was written).
      const after = Object.fromEntries(Object.entries(p.fields).map(([k, v]) => [k, record && k in record.fields ? record.fields[k] : v]));
      this.updates.push({ targetId: p.id, after, event });
    }
  }

  /**
   * The activity feed says what each update changed, from what to what: the values before are the engine's
   * copy of the target as it was planned from, read in the same transaction just before it is replaced.
   */
  private async describeChanges(tx: Tx): Promise<void> {
    if (this.updates.length === 0) return;
    const before = await recordsByIds(tx, this.connectionId, this.side, [...new Set(this.updates.map((u) => u.targetId))]);
    const fieldsOf = new Map(before.map((r) => [r.extId, r.fields]));
    for (const u of this.updates) {
      const was = fieldsOf.get(u.targetId) ?? {};
      const changes = Object.entries(u.after).map(([field, to]) => ({ field, from: was[field] ?? null, to: to ?? null }));
      u.event.detail = { ...u.event.detail, changes };
    }
  }

  async record(tx: Tx): Promise<void> {
    const { connectionId, side } = this;
    await this.describeChanges(tx);
    await upsertRecords(tx, connectionId, side, this.records, { kind: 'written' });
    await setRecordFlags(tx, connectionId, side, this.deleted, { deleted: true, dirty: false });
    await upsertLinks(tx, connectionId, this.newLinks);
    await setBaselines(tx, connectionId, this.baselines);
    await setLinkStates(tx, connectionId, this.stopped);
    await setOperationStatus(tx, this.done, 'done');
    await resolveFailures(tx, connectionId, this.resolved);
    if (this.events.length) await tx.insert(events).values(this.events);
  }
}
