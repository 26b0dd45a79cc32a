import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client';
import { conflicts, failures, links, operations, records } from '../db/schema';
import { resolveFailures, setBaselines, setLinkStates, upsertLinks } from '../db/queries/sync';
import { buildPlanContext } from '../sync/mapping';
import type { Link, Operation, PlanInput } from '../sync/plan-types';
import { planBatch } from '../sync/planner';
import { brakeCheck, countDestructive } from '../sync/brake';
import type { Side, Snapshot } from '../sync/types';
import type { PlanOptions, PlanResult } from '../workflows/contract';
import { catalogOf, loadConnectionRow, openSide, settingsOf, type ActivityDeps } from './context';
import { describeContact } from './describe';
import { withFailureKinds } from './failure';

type RecordRow = typeof records.$inferSelect;
type LinkRow = typeof links.$inferSelect;

const toSnapshot = (r: RecordRow): Snapshot => ({
  side: r.side,
  id: r.extId,
  version: r.version,
  fields: r.fields,
  deleted: r.deleted,
});

const toLink = (l: LinkRow): Link => ({
  a: l.aId,
  b: l.bId,
  baselineA: l.baselineA ?? null,
  baselineB: l.baselineB ?? null,
  state: l.state,
});

const idsOf = (rows: RecordRow[], side: Side) => rows.filter((r) => r.side === side).map((r) => r.extId);

/** Stopped links too: a record whose link stopped must not look unlinked, or it would be matched again. */
async function linksTouching(db: Db, connectionId: string, aIds: string[], bIds: string[]): Promise<LinkRow[]> {
  if (aIds.length === 0 && bIds.length === 0) return [];
  const touching = [];
  if (aIds.length) touching.push(inArray(links.aId, aIds));
  if (bIds.length) touching.push(inArray(links.bId, bIds));
  return db
    .select()
    .from(links)
    .where(and(eq(links.connectionId, connectionId), or(...touching)));
}

async function recordsByIds(db: Db, connectionId: string, side: Side, ids: string[]): Promise<RecordRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(records)
    .where(and(eq(records.connectionId, connectionId), eq(records.side, side), inArray(records.extId, ids)));
}

async function candidatesByEmail(db: Db, connectionId: string, side: Side, emails: string[]): Promise<RecordRow[]> {
  if (emails.length === 0) return [];
  return db
    .select()
    .from(records)
    .where(
      and(
        eq(records.connectionId, connectionId),
        eq(records.side, side),
        eq(records.deleted, false),
        sql`${records.emails} && ${sql.param(emails)}::text[]`,
      ),
    );
}

/** Gathers what the planner needs about a batch of dirty records: their links, partners and email candidates. */
async function gatherInput(db: Db, connectionId: string, batch: RecordRow[]) {
  const batchLinks = await linksTouching(db, connectionId, idsOf(batch, 'a'), idsOf(batch, 'b'));
  const linkedA = new Set(batchLinks.map((l) => l.aId));
  const linkedB = new Set(batchLinks.map((l) => l.bId));
  const unlinked = batch.filter((r) => !r.deleted && !(r.side === 'a' ? linkedA : linkedB).has(r.extId));
  const emailsOf = (rows: RecordRow[], side: Side) => [
    ...new Set(rows.filter((r) => r.side === side).flatMap((r) => r.emails)),
  ];

  const [partnersA, partnersB, candidatesB, candidatesA] = await Promise.all([
    recordsByIds(db, connectionId, 'a', batchLinks.map((l) => l.aId)),
    recordsByIds(db, connectionId, 'b', batchLinks.map((l) => l.bId)),
    candidatesByEmail(db, connectionId, 'b', emailsOf(unlinked, 'a')),
    candidatesByEmail(db, connectionId, 'a', emailsOf(unlinked, 'b')),
  ]);
  // One hop further: records on the changed record's own side that share an email with a candidate. A match
  // needs each record to be the other's only candidate, so the planner must see same-side rivals.
  const [rivalsA, rivalsB] = await Promise.all([
    candidatesByEmail(db, connectionId, 'a', emailsOf(candidatesB, 'b')),
    candidatesByEmail(db, connectionId, 'b', emailsOf(candidatesA, 'a')),
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
  return { links: [...allLinks.values()].map(toLink), related: [...related.values()].map(toSnapshot) };
}

const WRITE_KINDS = new Set<Operation['kind']>(['create', 'update', 'delete']);

export function planActivities(deps: ActivityDeps) {
  const batchSize = deps.planBatchSize ?? 500;

  return {
    /** Decides the next batch of dirty records: records the links it can, and queues the writes it needs. */
    async planNextBatch(connectionId: string, mode: PlanInput['mode'], options: PlanOptions = {}): Promise<PlanResult> {
      return withFailureKinds(async () => {
        const { db } = deps;
        const row = await loadConnectionRow(db, connectionId);
        if (!row) throw new Error(`connection ${connectionId} not found`);
        const sides = { a: openSide(deps, row, 'a'), b: openSide(deps, row, 'b') };
        const catalogs = { a: await catalogOf(row, 'a', sides.a), b: await catalogOf(row, 'b', sides.b) };
        const settings = settingsOf(row);
        const context = buildPlanContext(settings, { a: row.appA, b: row.appB }, catalogs);

        const batch = await db
          .select()
          .from(records)
          .where(and(eq(records.connectionId, connectionId), eq(records.dirty, true)))
          .orderBy(asc(records.side), asc(records.extId))
          .limit(batchSize + 1);
        const remaining = batch.length > batchSize;
        if (remaining) batch.pop();
        const batchId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
        if (batch.length === 0) {
          return {
            batchId,
            planned: 0,
            writes: 0,
            linked: 0,
            conflicts: 0,
            ambiguous: 0,
            remaining: false,
            destructive: 0,
            brake: null,
          };
        }

        const { links: planLinks, related } = await gatherInput(db, connectionId, batch);
        const plan = planBatch({ mode, context, changed: batch.map(toSnapshot), links: planLinks, related });
        const writes = plan.ops.filter((op) => WRITE_KINDS.has(op.kind));
        const destructive = countDestructive(plan.ops);
        if (destructive > 0 && !options.allowDestructive) {
          const brake = await brakeFor(db, connectionId, settings.safetyBrakeShare, plan.ops, options.destructiveSoFar ?? 0);
          if (brake) {
            return {
              batchId,
              planned: 0,
              writes: 0,
              linked: 0,
              conflicts: 0,
              ambiguous: 0,
              remaining: true,
              destructive,
              brake,
            };
          }
        }
        const snapshots = new Map([...batch.map(toSnapshot), ...related].map((s) => [`${s.side}:${s.id}`, s]));

        await db.transaction(async (tx) => {
          await recordLinkChanges(tx as unknown as Db, connectionId, plan.ops);
          // A contact that no longer exists cannot fail any more.
          await resolveFailures(
            tx as unknown as Db,
            connectionId,
            batch.filter((r) => r.deleted).map((r) => ({ side: r.side, extId: r.extId })),
          );
          if (writes.length) {
            await tx.insert(operations).values(
              writes.map((op) => ({
                connectionId,
                batchId,
                kind: op.kind,
                target: 'target' in op ? op.target : null,
                payload: op,
              })),
            );
          }
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
          for (const amb of plan.ambiguous) {
            const snap = snapshots.get(`${amb.side}:${amb.id}`);
            const who = snap ? describeContact(snap.fields, catalogs[amb.side]) : { name: null, email: amb.email };
            const message = `ambiguous match: ${amb.candidates.length} contacts on the other side share the email ${amb.email} (${amb.candidates.join(', ')})`;
            await tx
              .insert(failures)
              .values({
                connectionId,
                side: amb.side,
                extId: amb.id,
                step: 'match',
                kind: 'ambiguous',
                message,
                contactName: who.name,
                contactEmail: amb.email,
              })
              .onConflictDoUpdate({
                target: [failures.connectionId, failures.side, failures.extId, failures.step],
                set: { message, lastAt: sql`now()`, resolvedAt: null, attempts: sql`${failures.attempts} + 1` },
              });
          }
          // Partners the plan read are settled too: left dirty, they would be planned again from a stale view.
          const settled = plan.settled ?? batch.map(toSnapshot);
          for (const side of ['a', 'b'] as const) {
            const ids = settled.filter((r) => r.side === side).map((r) => r.id);
            if (ids.length === 0) continue;
            await tx
              .update(records)
              .set({ dirty: false })
              .where(and(eq(records.connectionId, connectionId), eq(records.side, side), inArray(records.extId, ids)));
          }
        });

        return {
          batchId,
          planned: batch.length,
          writes: writes.length,
          linked: plan.ops.filter((op) => op.kind === 'link').length,
          conflicts: plan.conflicts.length,
          ambiguous: plan.ambiguous.length,
          remaining,
          destructive,
          brake: null,
        };
      });
    },

    /** The brake's cancel: the deletions seen this cycle are taken for an outage, not acted on; links stay. */
    async dropDeletions(connectionId: string): Promise<{ dropped: number }> {
      const dropped = await deps.db
        .update(records)
        .set({ dirty: false })
        .where(and(eq(records.connectionId, connectionId), eq(records.deleted, true), eq(records.dirty, true)))
        .returning({ id: records.extId });
      return { dropped: dropped.length };
    },

    /**
     * Contacts left ambiguous are planned again once a cycle when anything sharing their email changed since,
     * since the engine's own writes or the user's edits may have resolved them.
     */
    async recheckAmbiguous(connectionId: string): Promise<{ marked: number }> {
      const marked = await deps.db.execute(sql`
        UPDATE records r SET dirty = true
        FROM failures f
        WHERE f.connection_id = ${connectionId} AND f.kind = 'ambiguous' AND f.resolved_at IS NULL
          AND r.connection_id = f.connection_id AND r.side = f.side AND r.ext_id = f.ext_id AND NOT r.dirty
          AND EXISTS (
            SELECT 1 FROM records o
            WHERE o.connection_id = f.connection_id AND o.emails @> ARRAY[f.contact_email]
              AND o.updated_at > f.last_at
          )
        RETURNING r.ext_id`);
      return { marked: rowsOf(marked).length };
    },
  };
}

/** The safety brake: more trash or deletes in one cycle than the set share of linked contacts waits for a person. */
async function brakeFor(
  db: Db,
  connectionId: string,
  share: number,
  ops: Operation[],
  soFar: number,
): Promise<{ reasons: string[] } | null> {
  const [{ linked }] = await db
    .select({ linked: sql<number>`count(*)::int` })
    .from(links)
    .where(and(eq(links.connectionId, connectionId), eq(links.state, 'active')));
  const verdict = brakeCheck({
    linkedCount: linked,
    ops,
    share,
    previousCounts: { a: 0, b: 0 },
    currentCounts: { a: 0, b: 0 },
  });
  const total = soFar + verdict.destructive;
  if (total <= share * linked) return null;
  const pct = Math.round(share * 1000) / 10;
  return { reasons: [`the cycle would trash or delete ${total} of ${linked} linked contacts (more than ${pct}%)`] };
}

/** Operations that change only the engine's memory are recorded at planning time, set-based. */
async function recordLinkChanges(db: Db, connectionId: string, ops: Operation[]): Promise<void> {
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
