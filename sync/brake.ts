import { sideFlows } from './compile';
import type { Operation } from './plan-types';
import type { ConnectionSettings } from './settings';
import type { Side } from './types';

// The safety brake. API outages and paging bugs make contacts look deleted; before a cycle turns that into
// real deletions, it stops and waits for someone to confirm.

export interface BrakeInput {
  /** active links before the cycle */
  linkedCount: number;
  /** every operation the cycle plans (all batches) */
  ops: Operation[];
  /** contacts each side listed at the previous full scan / cycle, and now */
  previousCounts: { a: number; b: number };
  currentCounts: { a: number; b: number };
  /** share of the linked contacts a cycle may trash or delete (settings.safetyBrakeShare) */
  share: number;
  /** fewest contacts a side must have had for an empty listing to look suspicious; default 5 */
  minPreviousForEmpty?: number;
}

export interface BrakeVerdict {
  needsConfirmation: boolean;
  reasons: string[];
  /** deletes plus trash tags the cycle would write */
  destructive: number;
}

/** Deletes and trash tags: the writes the brake guards. An unlink deletes nothing and never counts. */
export function countDestructive(ops: Operation[]): number {
  let n = 0;
  for (const op of ops) {
    if (op.kind === 'delete' || (op.kind === 'update' && op.purpose === 'trash')) n += 1;
  }
  return n;
}

export function brakeCheck(input: BrakeInput): BrakeVerdict {
  const reasons: string[] = [];
  const minPrevious = input.minPreviousForEmpty ?? 5;
  for (const s of ['a', 'b'] as Side[]) {
    const before = input.previousCounts[s];
    if (input.currentCounts[s] === 0 && before >= minPrevious) {
      reasons.push(emptyListingReason(s, before));
    }
  }
  const destructive = countDestructive(input.ops);
  const allowed = input.share * input.linkedCount;
  if (destructive > 0 && destructive > allowed) {
    const pct = Math.round(input.share * 1000) / 10;
    reasons.push(
      `the cycle would trash or delete ${destructive} of ${input.linkedCount} linked contacts (more than ${pct}%)`,
    );
  }
  return { needsConfirmation: reasons.length > 0, reasons, destructive };
}

/**
 * The brake for a cycle planned batch by batch: the batch's trash and deletes, added to those already planned
 * this cycle, may not exceed the share of linked contacts. Null lets the batch through.
 */
export function batchBrake(input: {
  linkedCount: number;
  share: number;
  ops: Operation[];
  destructiveSoFar: number;
}): { reasons: string[] } | null {
  const { linkedCount, share } = input;
  const verdict = brakeCheck({ linkedCount, ops: input.ops, share, previousCounts: { a: 0, b: 0 }, currentCounts: { a: 0, b: 0 } });
  const total = input.destructiveSoFar + verdict.destructive;
  if (total <= share * linkedCount) return null;
  const pct = Math.round(share * 1000) / 10;
  return { reasons: [`the cycle would trash or delete ${total} of ${linkedCount} linked contacts (more than ${pct}%)`] };
}

const emptyListingReason = (side: Side, before: number) => `side ${side.toUpperCase()} lists no contacts where it had ${before}`;

/**
 * The side a reason says listed no contacts, or null. A listing brake holds deletions the store has not
 * recorded yet (every live contact of that side would be marked deleted), so what it holds is read from the
 * reason; read rather than carried apart, so brakes held before this existed show it too.
 */
export function emptyListingSide(reason: string): Side | null {
  const m = /^side ([AB]) lists no contacts where it had \d+$/.exec(reason);
  return m ? (m[1].toLowerCase() as Side) : null;
}

/** What a deletion the brake holds does to the linked contact: deleted, tagged with the trash tag, or only unlinked. */
export type HeldOutcome = 'delete' | 'tag' | 'unlink';

/**
 * The deletion policy's answer for a linked contact deleted on `gone`, as sync/decide.ts planDeletion gives
 * it from the settings alone. The plan may still only unlink where it reads the contact itself: when the
 * survivor was edited since the two last agreed (an edit beats a deletion), or has no writable tags field.
 */
export function deletionOutcome(
  settings: Pick<ConnectionSettings, 'deletions' | 'direction'>,
  gone: Side,
  partnerDeleted: boolean,
): HeldOutcome {
  const { policy, protectA, protectB } = settings.deletions;
  if (partnerDeleted || policy === 'never' || !sideFlows(settings.direction, gone)) return 'unlink';
  if (policy === 'trash') return 'tag';
  return (gone === 'a' ? protectB : protectA) ? 'unlink' : 'delete';
}
