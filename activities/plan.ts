import { snapshotOf, SyncStore } from '../db/store';
import { buildPlanContext } from '../sync/effective-mapping';
import type { PlanInput } from '../sync/plan-types';
import { planBatch } from '../sync/decide';
import { batchBrake, countDestructive } from '../sync/brake';
import { exclusionsOf } from '../sync/exclusions';
import { catalogOf, openConnection, openSide, settingsOf, type ActivityDeps } from './context';
import { ambiguousMatches } from './describe';
import { withFailureKinds } from './failure';
import type { PlanOptions, PlanResult } from '../workflows/contract';

/** The connection's store, and what the planner knows of it: settings, catalogs and the effective mapping. */
async function openForPlanning(deps: ActivityDeps, connectionId: string) {
  const { store, row } = await openConnection(deps, connectionId);
  const sides = { a: openSide(deps, row, 'a'), b: openSide(deps, row, 'b') };
  const catalogs = { a: await catalogOf(row, 'a', sides.a), b: await catalogOf(row, 'b', sides.b) };
  const settings = settingsOf(row);
  return { store, settings, context: buildPlanContext(settings, { a: row.appA, b: row.appB }, catalogs) };
}

export function planActivities(deps: ActivityDeps) {
  const batchSize = deps.planBatchSize ?? 500;

  return {
    /** Decides the next batch of dirty records: records the links it can, and queues the writes it needs. */
    async planNextBatch(connectionId: string, mode: PlanInput['mode'], options: PlanOptions = {}): Promise<PlanResult> {
      return withFailureKinds(async () => {
        const { store, settings, context } = await openForPlanning(deps, connectionId);
        const batch = await store.takeDirtyBatch(batchSize);
        const batchId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
        if (batch.records.length === 0) return { ...nothingPlanned(batchId), remaining: false, destructive: 0 };

        const changed = batch.records.map(snapshotOf);
        const { links, related } = await store.gatherPlanInput(batch.records);
        const plan = planBatch({ mode, context, changed, links, related });
        const destructive = countDestructive(plan.ops);
        if (destructive > 0 && !options.allowDestructive) {
          // The safety brake: more trash or deletes in one cycle than the set share of linked contacts waits for a person.
          const brake = batchBrake({
            linkedCount: await store.countActiveLinks(),
            share: settings.safetyBrakeShare,
            ops: plan.ops,
            destructiveSoFar: options.destructiveSoFar ?? 0,
          });
          if (brake) return { ...nothingPlanned(batchId), remaining: true, destructive, brake };
        }

        const { queued } = await store.commitPlan({
          batchId,
          ops: plan.ops,
          conflicts: plan.conflicts,
          ambiguous: ambiguousMatches(plan.ambiguous, [...changed, ...related], context.catalogs),
          gone: changed.filter((s) => s.deleted).map((s) => ({ side: s.side, extId: s.id })),
          settled: plan.settled ?? changed,
          exclusions: exclusionsOf(context, changed),
        });
        return {
          batchId,
          planned: changed.length,
          writes: queued,
          linked: plan.ops.filter((op) => op.kind === 'link').length,
          conflicts: plan.conflicts.length,
          ambiguous: plan.ambiguous.length,
          remaining: batch.remaining,
          destructive,
          brake: null,
        };
      });
    },

    /** The brake's cancel: the deletions seen this cycle are taken for an outage, not acted on; links stay. */
    async dropDeletions(connectionId: string): Promise<{ dropped: number }> {
      return { dropped: await new SyncStore(deps.db, connectionId).dropHeldDeletions() };
    },

    /**
     * Contacts left ambiguous are planned again once a cycle when anything sharing their email changed since,
     * since the engine's own writes or the user's edits may have resolved them.
     */
    async recheckAmbiguous(connectionId: string): Promise<{ marked: number }> {
      return { marked: await new SyncStore(deps.db, connectionId).recheckAmbiguous() };
    },
  };
}

const nothingPlanned = (batchId: string) => ({ batchId, planned: 0, writes: 0, linked: 0, conflicts: 0, ambiguous: 0, brake: null });
