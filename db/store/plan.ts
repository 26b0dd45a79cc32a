import type { Conflict, Link, Operation } from '../../sync/plan-types';
import type { Exclusion } from '../../sync/exclusions';
import type { Side, Snapshot } from '../../sync/types';
import type { Db } from '../client';
import { conflicts } from '../schema';
import { recordAmbiguous, resolveFailures, type AmbiguousMatch } from './failures';
import { linkOf, linksTouching, setBaselines, setLinkStates, upsertLinks, type LinkRow } from './links';
import { isWrite, queueWrites } from './operations';
import { markSettled, recordExclusions, recordsByEmails, recordsByIds, snapshotOf, type ContactRef, type RecordRow } from './records';

const idsOf = (rows: RecordRow[], side: Side) => rows.filter((r) => r.side === side).map((r) => r.extId);

const emailsOf = (rows: RecordRow[], side: Side) => [...new Set(rows.filter((r) => r.side === side).flatMap((r) => r.emails))];

/** What the planner needs about a batch of dirty records besides the records: their links, partners and email candidates. */
export async function gatherPlanInput(
  db: Db,
  connectionId: string,
  batch: RecordRow[],
): Promise<{ links: Link[]; related: Snapshot[] }> {
  const batchLinks = await linksTouching(db, connectionId, idsOf(batch, 'a'), idsOf(batch, 'b'));
  const linkedA = new Set(batchLinks.map((l) => l.aId));
  const linkedB = new Set(batchLinks.map((l) => l.bId));
  const unlinked = batch.filter((r) => !r.deleted && !(r.side === 'a' ? linkedA : linkedB).has(r.extId));

  const [partnersA, partnersB, candidatesB, candidatesA] = await Promise.all([
    recordsByIds(db, connectionId, 'a', batchLinks.map((l) => l.aId)),
    recordsByIds(db, connectionId, 'b', batchLinks.map((l) => l.bId)),
    recordsByEmails(db, connectionId, 'b', emailsOf(unlinked, 'a')),
    recordsByEmails(db, connectionId, 'a', emailsOf(unlinked, 'b')),
  ]);
  // One hop further: records on the changed record's own side that share an email with a candidate. A match
  // needs each record to be the other's only candidate, so the planner must see same-side rivals.
  const [rivalsA, rivalsB] = await Promise.all([
    recordsByEmails(db, connectionId, 'a', emailsOf(candidatesB, 'b')),
    recordsByEmails(db, connectionId, 'b', emailsOf(candidatesA, 'a')),
  ]);
  const candidateLinks = await linksTouching(
    db,
    connectionId,
    [...candidatesA, ...rivalsA].map((r) => r.extId),
    [...candidatesB, ...rivalsB].map((r) => r.extId),
  );

  const inBatch = new Set(batch.map((r) => `${r.side}:${r.extId}`));
  const related = new Map<string, RecordRow>();
  for (const r of [...partnersA, ...partnersB, ...candidatesA, ...candidatesB, ...rivalsA, ...rivalsB]) {
    const key = `${r.side}:${r.extId}`;
    if (!inBatch.has(key)) related.set(key, r);
  }
  const allLinks = new Map<number, LinkRow>();
  for (const l of [...batchLinks, ...candidateLinks]) allLinks.set(l.id, l);
  return { links: [...allLinks.values()].map(linkOf), related: [...related.values()].map(snapshotOf) };
}

/** A plan of one batch, as the store records it. */
export interface PlanCommit {
  batchId: string;
  /** every operation of the plan: links, baselines and unlinks are recorded, writes are queued */
  ops: Operation[];
  conflicts: Conflict[];
  ambiguous: AmbiguousMatch[];
  /** contacts of the batch that no longer exist: they cannot fail any more */
  gone: ContactRef[];
  /** records whose dirty flag the plan clears */
  settled: { side: Side; id: string }[];
  /** the rules' verdict on the batch's records, for the dashboard's contact statuses */
  exclusions?: Exclusion[];
}

/** Records a plan in one transaction, so a crash leaves either the whole plan or none of it. Returns the writes queued. */
export async function commitPlan(db: Db, connectionId: string, plan: PlanCommit): Promise<{ queued: number }> {
  const writes = plan.ops.filter(isWrite);
  await db.transaction(async (tx) => {
    await recordMemoryOperations(tx, connectionId, plan.ops);
    await resolveFailures(tx, connectionId, plan.gone);
    await queueWrites(tx, connectionId, plan.batchId, writes);
    if (plan.conflicts.length) {
      await tx.insert(conflicts).values(
        plan.conflicts.map((c) => ({
          connectionId,
          aId: c.a,
          bId: c.b,
          fieldA: c.fieldA,
          fieldB: c.fieldB,
          valueA: c.valueA,
          valueB: c.valueB,
          winner: c.winner,
        })),
      );
    }
    for (const amb of plan.ambiguous) await recordAmbiguous(tx, connectionId, amb);
    await markSettled(tx, connectionId, plan.settled);
    await recordExclusions(tx, connectionId, plan.exclusions ?? []);
  });
  return { queued: writes.length };
}

/** Operations that change only the engine's memory are recorded at planning time, set-based. */
async function recordMemoryOperations(db: Db, connectionId: string, ops: Operation[]): Promise<void> {
  const made = ops.filter((op): op is Extract<Operation, { kind: 'link' }> => op.kind === 'link');
  await upsertLinks(db, connectionId, made);
  await resolveFailures(
    db,
    connectionId,
    made.flatMap((l) => [
      { side: 'a' as const, extId: l.a },
      { side: 'b' as const, extId: l.b },
    ]),
    'match',
  );
  await setBaselines(
    db,
    connectionId,
    ops.flatMap((op) => (op.kind === 'baseline' ? [{ a: op.a, b: op.b, baselineA: op.baselineA, baselineB: op.baselineB }] : [])),
  );
  await setLinkStates(
    db,
    connectionId,
    ops.flatMap((op) => (op.kind === 'unlink' ? [{ a: op.a, b: op.b, state: op.reason }] : [])),
  );
}
